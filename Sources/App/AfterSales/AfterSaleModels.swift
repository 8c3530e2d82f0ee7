import Fluent
import Foundation
import MallCore

/// A buyer's request about one order line: refund only, or return and refund, for some units
/// (or an agreed amount). Its state moves only through `AfterSaleStateMachine`.
final class AfterSale: Model, @unchecked Sendable {
    static let schema = "after_sales"

    @ID(key: .id) var id: UUID?
    @Field(key: "after_sale_no") var afterSaleNo: String
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "kind") var kind: String
    @Field(key: "state") var state: String
    @Field(key: "units") var units: Int64
    /// What will be refunded for the line, worked out when the request is made.
    @Field(key: "amount") var amount: Int64
    /// Shipping refunded with it: only when the whole order is undone before shipment.
    @Field(key: "shipping_amount") var shippingAmount: Int64
    @Field(key: "by_agreement") var byAgreement: Bool
    @Field(key: "reason") var reason: String
    /// Image keys, comma-separated.
    @Field(key: "photos") var photos: String
    @Field(key: "merchant_note") var merchantNote: String
    @Field(key: "appeal_reason") var appealReason: String
    @Field(key: "return_carrier") var returnCarrier: String
    @Field(key: "return_tracking_no") var returnTrackingNo: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var afterSaleState: AfterSaleState { AfterSaleState(rawValue: state) ?? .closed }
    var afterSaleKind: AfterSaleKind { AfterSaleKind(rawValue: kind) ?? .refundOnly }
}

final class AfterSaleEvent: Model, @unchecked Sendable {
    static let schema = "after_sale_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "after_sale_id") var afterSaleID: UUID
    @OptionalField(key: "from_state") var fromState: String?
    @Field(key: "to_state") var toState: String
    @Field(key: "action") var action: String
    @Field(key: "actor_kind") var actorKind: String
    @OptionalField(key: "actor_id") var actorID: UUID?
    @Field(key: "note") var note: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// Money going back through the payment's own channel. `pending` until the provider confirms
/// (at once for the balance and the sandbox, by callback for WeChat Pay).
final class Refund: Model, @unchecked Sendable {
    static let schema = "refunds"

    @ID(key: .id) var id: UUID?
    @Field(key: "refund_no") var refundNo: String
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "order_id") var orderID: UUID
    @OptionalField(key: "after_sale_id") var afterSaleID: UUID?
    @OptionalField(key: "order_line_id") var orderLineID: UUID?
    @Field(key: "units") var units: Int64
    /// Goods amount refunded for the line.
    @Field(key: "goods_amount") var goodsAmount: Int64
    @Field(key: "shipping_amount") var shippingAmount: Int64
    /// The platform fee given back to the shop with it.
    @Field(key: "fee_reversal") var feeReversal: Int64
    @Field(key: "status") var status: String
    @Field(key: "method") var method: String
    @Field(key: "provider_refund_no") var providerRefundNo: String
    @Field(key: "reason") var reason: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}

    var total: Int64 { goodsAmount + shippingAmount }
}

struct CreateAfterSalesAndRefunds: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(AfterSale.schema)
            .id()
            .field("after_sale_no", .string, .required)
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("kind", .string, .required)
            .field("state", .string, .required)
            .field("units", .int64, .required)
            .field("amount", .int64, .required)
            .field("shipping_amount", .int64, .required)
            .field("by_agreement", .bool, .required)
            .field("reason", .string, .required)
            .field("photos", .string, .required)
            .field("merchant_note", .string, .required)
            .field("appeal_reason", .string, .required)
            .field("return_carrier", .string, .required)
            .field("return_tracking_no", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "after_sale_no")
            .create()
        try await createIndex("after_sales_order", on: AfterSale.schema, columns: ["order_id"], db: db)
        try await createIndex("after_sales_merchant", on: AfterSale.schema, columns: ["merchant_id", "state", "created_at"], db: db)
        try await createIndex("after_sales_member", on: AfterSale.schema, columns: ["member_id", "created_at"], db: db)
        try await db.schema(AfterSaleEvent.schema)
            .id()
            .field("after_sale_id", .uuid, .required, .references(AfterSale.schema, .id))
            .field("from_state", .string)
            .field("to_state", .string, .required)
            .field("action", .string, .required)
            .field("actor_kind", .string, .required)
            .field("actor_id", .uuid)
            .field("note", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("after_sale_events_sale", on: AfterSaleEvent.schema, columns: ["after_sale_id", "created_at"], db: db)
        try await db.schema(Refund.schema)
            .id()
            .field("refund_no", .string, .required)
            .field("payment_id", .uuid, .required, .references(Payment.schema, .id))
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("after_sale_id", .uuid, .references(AfterSale.schema, .id))
            .field("order_line_id", .uuid, .references(OrderLine.schema, .id))
            .field("units", .int64, .required)
            .field("goods_amount", .int64, .required)
            .field("shipping_amount", .int64, .required)
            .field("fee_reversal", .int64, .required)
            .field("status", .string, .required)
            .field("method", .string, .required)
            .field("provider_refund_no", .string, .required)
            .field("reason", .string, .required)
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime)
            .unique(on: "refund_no")
            .unique(on: "after_sale_id")
            .create()
        try await createIndex("refunds_order", on: Refund.schema, columns: ["order_id"], db: db)
        try await db.schema(UploadedImage.schema).field("member_id", .uuid, .references(Member.schema, .id)).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(UploadedImage.schema).deleteField("member_id").update()
        for schema in [Refund.schema, AfterSaleEvent.schema, AfterSale.schema] { try await db.schema(schema).delete() }
    }
}
