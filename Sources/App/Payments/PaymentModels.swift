import Fluent
import Foundation
import MallCore

/// One payment for one checkout: it pays every order of the checkout at once.
final class Payment: Model, @unchecked Sendable {
    static let schema = "payments"

    @ID(key: .id) var id: UUID?
    /// Our trade number at the provider (out_trade_no): letters and digits, at most 32.
    @Field(key: "payment_no") var paymentNo: String
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "amount") var amount: Int64
    /// created, succeeded or closed (`PaymentStatus`).
    @Field(key: "status") var status: String
    /// sandbox, balance, wechat or alipay; "" until the buyer chooses.
    @Field(key: "provider") var provider: String
    @Field(key: "provider_trade_no") var providerTradeNo: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "paid_at") var paidAt: Date?
    @OptionalField(key: "closed_at") var closedAt: Date?

    init() {}
}

/// The sandbox provider's own record of what the buyer paid on its page: the callback may be
/// lost, and the close job asks the sandbox as it asks WeChat or Alipay.
final class SandboxCharge: Model, @unchecked Sendable {
    static let schema = "sandbox_charges"

    @ID(key: .id) var id: UUID?
    @Field(key: "payment_no") var paymentNo: String
    @Field(key: "trade_no") var tradeNo: String
    @Field(key: "amount") var amount: Int64
    @Field(key: "paid_at") var paidAt: Date

    init() {}
}

struct CreateOrdersAndPayments: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Payment.schema)
            .id()
            .field("payment_no", .string, .required)
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("amount", .int64, .required)
            .field("status", .string, .required)
            .field("provider", .string, .required)
            .field("provider_trade_no", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("paid_at", .datetime)
            .field("closed_at", .datetime)
            .unique(on: "payment_no")
            .create()
        try await createIndex("payments_open", on: Payment.schema, columns: ["status", "expires_at"], db: db)
        try await db.schema(SandboxCharge.schema)
            .id()
            .field("payment_no", .string, .required)
            .field("trade_no", .string, .required)
            .field("amount", .int64, .required)
            .field("paid_at", .datetime, .required)
            .unique(on: "payment_no")
            .create()
        try await db.schema(Order.schema)
            .id()
            .field("order_no", .string, .required)
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("payment_id", .uuid, .required, .references(Payment.schema, .id))
            .field("state", .string, .required)
            .field("fulfilment", .string, .required)
            .field("pickup_store_id", .uuid, .references(Store.schema, .id))
            .field("receiver_name", .string, .required)
            .field("phone_cipher", .string, .required)
            .field("province_code", .string, .required)
            .field("city", .string, .required)
            .field("district", .string, .required)
            .field("address_detail", .string, .required)
            .field("goods_amount", .int64, .required)
            .field("discount_amount", .int64, .required)
            .field("adjustment_amount", .int64, .required)
            .field("shipping_fee", .int64, .required)
            .field("payable", .int64, .required)
            .field("refunded_amount", .int64, .required)
            .field("service_rate_bp", .int, .required)
            .field("service_fee", .int64, .required)
            .field("fee_returned", .int64, .required)
            .field("buyer_note", .string, .required)
            .field("placed_at", .datetime, .required)
            .field("paid_at", .datetime)
            .field("shipped_at", .datetime)
            .field("received_at", .datetime)
            .field("finished_at", .datetime)
            .field("open_after_sales", .int, .required)
            .field("reviewed", .bool, .required)
            .unique(on: "order_no")
            .create()
        try await createIndex("orders_member", on: Order.schema, columns: ["member_id", "placed_at"], db: db)
        try await createIndex("orders_merchant", on: Order.schema, columns: ["merchant_id", "state", "placed_at"], db: db)
        try await createIndex("orders_payment", on: Order.schema, columns: ["payment_id"], db: db)
        try await createIndex("orders_state", on: Order.schema, columns: ["state", "placed_at"], db: db)
        try await db.schema(OrderLine.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("position", .int, .required)
            .field("product_id", .uuid, .required)
            .field("sku_id", .uuid, .required)
            .field("sku_code", .string, .required)
            .field("title", .string, .required)
            .field("spec_text", .string, .required)
            .field("image", .string, .required)
            .field("unit_price", .int64, .required)
            .field("quantity", .int64, .required)
            .field("weight_grams", .int64, .required)
            .field("line_amount", .int64, .required)
            .field("discount_amount", .int64, .required)
            .field("adjustment_amount", .int64, .required)
            .field("paid_amount", .int64, .required)
            .field("allocations_json", .string, .required)
            .field("refunded_quantity", .int64, .required)
            .field("refunded_amount", .int64, .required)
            .create()
        try await createIndex("order_lines_order", on: OrderLine.schema, columns: ["order_id", "position"], db: db)
        try await db.schema(OrderEvent.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("from_state", .string)
            .field("to_state", .string, .required)
            .field("action", .string, .required)
            .field("actor_kind", .string, .required)
            .field("actor_id", .uuid)
            .field("reason", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("order_events_order", on: OrderEvent.schema, columns: ["order_id", "created_at"], db: db)
        try await db.schema(OutboxMessage.schema)
            .id()
            .field("topic", .string, .required)
            .field("subject_id", .uuid, .required)
            .field("payload", .string, .required)
            .field("created_at", .datetime, .required)
            .field("handled_at", .datetime)
            .unique(on: "topic", "subject_id")
            .create()
        try await createIndex("outbox_pending", on: OutboxMessage.schema, columns: ["handled_at", "created_at"], db: db)
        try await db.schema(CheckoutRequest.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("idempotency_key", .string, .required)
            .field("body_digest", .string, .required)
            .field("payment_id", .uuid, .required, .references(Payment.schema, .id))
            .field("created_at", .datetime, .required)
            .unique(on: "member_id", "idempotency_key")
            .create()
    }

    func revert(on db: any Database) async throws {
        for schema in [CheckoutRequest.schema, OutboxMessage.schema, OrderEvent.schema, OrderLine.schema, Order.schema,
                       SandboxCharge.schema, Payment.schema] {
            try await db.schema(schema).delete()
        }
    }
}
