import Fluent
import Foundation
import MallCore

/// A coupon as the operator or a shop defines it (优惠券模板); members' coupons are issued from it.
/// `issued` only grows by a conditional update (`issued < total_count`), so the last coupon is
/// never issued twice.
final class CouponTemplate: Model, @unchecked Sendable {
    static let schema = "coupon_templates"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// `CouponKind`.
    @Field(key: "kind") var kind: String
    @Field(key: "threshold") var threshold: Int64
    /// amount_off, pay_rate or shipping_off.
    @Field(key: "benefit") var benefit: String
    /// amount_off and shipping_off (0: all shipping).
    @Field(key: "amount_off") var amountOff: Int64
    @Field(key: "pay_rate_bp") var payRateBP: Int
    /// pay_rate's cap; 0 for none.
    @Field(key: "maximum_off") var maximumOff: Int64
    /// all, merchant, categories, products, all_except_products, all_except_categories.
    @Field(key: "scope") var scope: String
    /// JSON array of UUID strings for the set scopes.
    @Field(key: "scope_ids") var scopeIDs: String
    /// window or days.
    @Field(key: "validity") var validity: String
    @OptionalField(key: "starts_at") var startsAt: Date?
    @OptionalField(key: "ends_at") var endsAt: Date?
    @Field(key: "valid_days") var validDays: Int
    @OptionalField(key: "total_count") var totalCount: Int64?
    @OptionalField(key: "per_member") var perMember: Int64?
    @OptionalField(key: "per_member_per_day") var perMemberPerDay: Int64?
    @OptionalField(key: "per_day") var perDay: Int64?
    @Field(key: "issued") var issued: Int64
    /// platform or merchant.
    @Field(key: "payer") var payer: String
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    /// active, paused or stopped.
    @Field(key: "status") var status: String
    /// Whether lines under it pay distributors (on by default for coupons).
    @Field(key: "pays_commission") var paysCommission: Bool
    /// Listed in the coupon centre for members to claim; otherwise only sent.
    @Field(key: "claimable") var claimable: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

enum CouponTemplateStatus: String, Codable, Sendable, CaseIterable {
    case active, paused, stopped

    func name(_ locale: MallLocale) -> String {
        switch self {
        case .active: LocalizedText("进行中", "Active")(locale)
        case .paused: LocalizedText("已暂停", "Paused")(locale)
        case .stopped: LocalizedText("已停止", "Stopped")(locale)
        }
    }
}

/// One coupon a member holds. `available` → `used` when an order is placed with it, back to
/// `available` (with `returned_at`) when that order is cancelled unpaid or fully refunded before the
/// coupon ends; `expired` is how lists show an available coupon past its end.
final class MemberCouponRecord: Model, @unchecked Sendable {
    static let schema = "member_coupons"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "template_id") var templateID: UUID
    @Field(key: "state") var state: String
    @Field(key: "valid_from") var validFrom: Date
    @Field(key: "valid_until") var validUntil: Date
    @OptionalField(key: "used_payment_id") var usedPaymentID: UUID?
    @OptionalField(key: "used_order_id") var usedOrderID: UUID?
    @OptionalField(key: "used_at") var usedAt: Date?
    @OptionalField(key: "returned_at") var returnedAt: Date?
    @Field(key: "claimed_at") var claimedAt: Date
    /// The China day of the claim ("2025-06-18"), for the per-day limits.
    @Field(key: "claim_day") var claimDay: String
    /// claim, send or registration.
    @Field(key: "source") var source: String

    init() {}
}

enum MemberCouponState: String, Codable, Sendable, CaseIterable {
    case available, used, expired, returned
}

/// One discount's share of one order line, by source: what refunds, settlement statements and
/// commission read. Written with the order; `reversed_amount` grows as refunds reverse it.
final class OrderLineDiscount: Model, @unchecked Sendable {
    static let schema = "order_line_discounts"

    @ID(key: .id) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "order_line_id") var orderLineID: UUID
    /// `DiscountKind`: coupon, full_reduction, points …
    @Field(key: "source_kind") var sourceKind: String
    /// The member coupon's id for a coupon.
    @Field(key: "source_id") var sourceID: String
    /// platform or merchant.
    @Field(key: "payer") var payer: String
    @OptionalField(key: "payer_merchant_id") var payerMerchantID: UUID?
    @Field(key: "amount") var amount: Int64
    @Field(key: "reversed_amount") var reversedAmount: Int64
    @Field(key: "pays_commission") var paysCommission: Bool

    init() {}
}

struct CreateCoupons: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(CouponTemplate.schema)
            .id()
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("threshold", .int64, .required)
            .field("benefit", .string, .required)
            .field("amount_off", .int64, .required)
            .field("pay_rate_bp", .int, .required)
            .field("maximum_off", .int64, .required)
            .field("scope", .string, .required)
            .field("scope_ids", .string, .required)
            .field("validity", .string, .required)
            .field("starts_at", .datetime)
            .field("ends_at", .datetime)
            .field("valid_days", .int, .required)
            .field("total_count", .int64)
            .field("per_member", .int64)
            .field("per_member_per_day", .int64)
            .field("per_day", .int64)
            .field("issued", .int64, .required)
            .field("payer", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("status", .string, .required)
            .field("pays_commission", .bool, .required)
            .field("claimable", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("coupon_templates_merchant", on: CouponTemplate.schema, columns: ["merchant_id", "created_at"], db: db)
        try await db.schema(MemberCouponRecord.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("template_id", .uuid, .required, .references(CouponTemplate.schema, .id))
            .field("state", .string, .required)
            .field("valid_from", .datetime, .required)
            .field("valid_until", .datetime, .required)
            .field("used_payment_id", .uuid)
            .field("used_order_id", .uuid)
            .field("used_at", .datetime)
            .field("returned_at", .datetime)
            .field("claimed_at", .datetime, .required)
            .field("claim_day", .string, .required)
            .field("source", .string, .required)
            .create()
        try await createIndex("member_coupons_member", on: MemberCouponRecord.schema, columns: ["member_id", "state"], db: db)
        try await createIndex("member_coupons_template", on: MemberCouponRecord.schema, columns: ["template_id", "member_id", "claim_day"], db: db)
        try await createIndex("member_coupons_template_day", on: MemberCouponRecord.schema, columns: ["template_id", "claim_day"], db: db)
        try await createIndex("member_coupons_payment", on: MemberCouponRecord.schema, columns: ["used_payment_id"], db: db)
        try await db.schema(OrderLineDiscount.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("source_kind", .string, .required)
            .field("source_id", .string, .required)
            .field("payer", .string, .required)
            .field("payer_merchant_id", .uuid)
            .field("amount", .int64, .required)
            .field("reversed_amount", .int64, .required)
            .field("pays_commission", .bool, .required)
            .unique(on: "order_line_id", "source_kind", "source_id")
            .create()
        try await createIndex("order_line_discounts_order", on: OrderLineDiscount.schema, columns: ["order_id"], db: db)
        try await createIndex("order_line_discounts_source", on: OrderLineDiscount.schema, columns: ["source_kind", "source_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(OrderLineDiscount.schema).delete()
        try await db.schema(MemberCouponRecord.schema).delete()
        try await db.schema(CouponTemplate.schema).delete()
    }
}
