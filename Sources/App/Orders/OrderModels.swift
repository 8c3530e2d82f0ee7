import Fluent
import Foundation
import MallCore
import SQLKit

/// One merchant's part of a checkout. The state only moves through `OrderStateMachine`, by a
/// conditional update on the state it was read in, and every move appends an `OrderEvent`.
final class Order: Model, @unchecked Sendable {
    static let schema = "orders"

    @ID(key: .id) var id: UUID?
    /// What the buyer and the merchant quote on the phone: digits only.
    @Field(key: "order_no") var orderNo: String
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "state") var state: String
    @Field(key: "fulfilment") var fulfilment: String
    @OptionalField(key: "pickup_store_id") var pickupStoreID: UUID?
    // The delivery address as it was at checkout (changeable by the merchant before shipment).
    @Field(key: "receiver_name") var receiverName: String
    @Field(key: "phone_cipher") var phoneCipher: String
    @Field(key: "province_code") var provinceCode: String
    @Field(key: "city") var city: String
    @Field(key: "district") var district: String
    @Field(key: "address_detail") var addressDetail: String
    @Field(key: "goods_amount") var goodsAmount: Int64
    @Field(key: "discount_amount") var discountAmount: Int64
    /// Signed: the merchant's price change (改价) spread over the lines.
    @Field(key: "adjustment_amount") var adjustmentAmount: Int64
    @Field(key: "shipping_fee") var shippingFee: Int64
    @Field(key: "payable") var payable: Int64
    @Field(key: "refunded_amount") var refundedAmount: Int64
    /// The merchant's platform service rate when the order was placed, in basis points.
    @Field(key: "service_rate_bp") var serviceRateBP: Int
    /// The platform's fee on the goods, charged at payment; `feeReturned` of it went back with refunds.
    @Field(key: "service_fee") var serviceFee: Int64
    @Field(key: "fee_returned") var feeReturned: Int64
    @Field(key: "buyer_note") var buyerNote: String
    @Field(key: "placed_at") var placedAt: Date
    @OptionalField(key: "paid_at") var paidAt: Date?
    @OptionalField(key: "shipped_at") var shippedAt: Date?
    @OptionalField(key: "received_at") var receivedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @Field(key: "open_after_sales") var openAfterSales: Int
    @Field(key: "reviewed") var reviewed: Bool

    init() {}

    var orderState: OrderState { OrderState(rawValue: state) ?? .closed }
    var fulfilmentKind: FulfilmentKind { FulfilmentKind(rawValue: fulfilment) ?? .express }
}

/// A line as it was bought: title, spec, picture and price are copies, so editing or deleting
/// the product later changes nothing here (hence no foreign key to the SKU).
final class OrderLine: Model, @unchecked Sendable {
    static let schema = "order_lines"

    @ID(key: .id) var id: UUID?
    @Parent(key: "order_id") var order: Order
    @Field(key: "position") var position: Int
    @Field(key: "product_id") var productID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "sku_code") var skuCode: String
    @Field(key: "title") var title: String
    @Field(key: "spec_text") var specText: String
    @Field(key: "image") var image: String
    @Field(key: "unit_price") var unitPrice: Int64
    @Field(key: "quantity") var quantity: Int64
    @Field(key: "weight_grams") var weightGrams: Int64
    @Field(key: "line_amount") var lineAmount: Int64
    @Field(key: "discount_amount") var discountAmount: Int64
    @Field(key: "adjustment_amount") var adjustmentAmount: Int64
    /// What the buyer paid for the line: amount − discounts ± adjustment. Refunds and commission read this.
    @Field(key: "paid_amount") var paidAmount: Int64
    /// JSON of `[DiscountAllocation]`: each discount's share of this line.
    @Field(key: "allocations_json") var allocationsJSON: String
    @Field(key: "refunded_quantity") var refundedQuantity: Int64
    @Field(key: "refunded_amount") var refundedAmount: Int64
    /// The 满赠 activity that gave this line free; nil for a bought line.
    @OptionalField(key: "gift_activity_id") var giftActivityID: UUID?

    init() {}
}

/// Who moved an order, when and why; never updated.
final class OrderEvent: Model, @unchecked Sendable {
    static let schema = "order_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    @OptionalField(key: "from_state") var fromState: String?
    @Field(key: "to_state") var toState: String
    @Field(key: "action") var action: String
    /// member, staff, system or provider.
    @Field(key: "actor_kind") var actorKind: String
    @OptionalField(key: "actor_id") var actorID: UUID?
    @Field(key: "reason") var reason: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// Work that must follow an order event (paid, received, refunded, window closed) and must not be
/// lost in a crash: written in the same transaction as the event, handled and marked later.
final class OutboxMessage: Model, @unchecked Sendable {
    static let schema = "outbox_messages"

    @ID(key: .id) var id: UUID?
    @Field(key: "topic") var topic: String
    @Field(key: "subject_id") var subjectID: UUID
    @Field(key: "payload") var payload: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "handled_at") var handledAt: Date?
    /// Failed hand-overs so far, and the last one's error.
    @Field(key: "attempts") var attempts: Int
    @Field(key: "last_error") var lastError: String

    init() {}
}

/// A checkout request's `Idempotency-Key`: the same key and body return the same payment.
final class CheckoutRequest: Model, @unchecked Sendable {
    static let schema = "checkout_requests"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "idempotency_key") var idempotencyKey: String
    @Field(key: "body_digest") var bodyDigest: String
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "created_at") var createdAt: Date

    init() {}
}
