import Fluent
import Foundation
import MallCore

/// A promotion activity as the operator or a shop runs it: 满减/满折 tiers over a scope, or 限时折扣
/// prices on named SKUs. The owner decides who pays: the platform's come from `marketing_cost`, a
/// shop's lower that shop's receivable.
///
/// Limited-time activities pay commission by default (`ActivityKind.limitedTime`): the price is an
/// ordinary markdown on ordinary stock, commission is already taken on what the buyer paid, and
/// unlike a flash sale or a group buy it is no loss leader with an order type of its own.
final class PromotionActivity: Model, @unchecked Sendable {
    static let schema = "promotion_activities"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// `PromotionKind`: full_reduction, limited_time or gift.
    @Field(key: "kind") var kind: String
    /// full_reduction: JSON `[{"thresholdFen":19900,"amountOffFen":2000}]` or with `payRateBp`.
    @Field(key: "tiers_json") var tiersJSON: String
    /// limited_time: JSON `[{"skuId":"…","priceFen":9900}]`.
    @Field(key: "skus_json") var skusJSON: String
    /// limited_time: units per member and SKU at the activity price; nil for no limit.
    @OptionalField(key: "per_member_limit") var perMemberLimit: Int64?
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "ends_at") var endsAt: Date
    /// all, merchant or products.
    @Field(key: "scope") var scope: String
    /// For the merchant scope: the shop; for a shop's activity: the shop too.
    @OptionalField(key: "scope_merchant_id") var scopeMerchantID: UUID?
    /// JSON array of product ids for the products scope.
    @Field(key: "product_ids_json") var productIDsJSON: String
    /// platform or merchant: who pays.
    @Field(key: "owner") var owner: String
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    /// active, paused or stopped.
    @Field(key: "status") var status: String
    @Field(key: "pays_commission") var paysCommission: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

enum PromotionKind: String, Codable, Sendable, CaseIterable {
    case fullReduction = "full_reduction"
    case limitedTime = "limited_time"
    /// 满赠: one threshold tier; the gift SKU and quantity are stored in `skus_json`.
    case gift

    var activityKind: ActivityKind {
        switch self {
        case .fullReduction: .fullReduction
        case .limitedTime: .limitedTime
        case .gift: .gift
        }
    }
}

/// The units a member bought at a limited-time price, per activity and SKU: what the per-member
/// limit counts (orders not cancelled or closed).
final class PromotionPurchase: Model, @unchecked Sendable {
    static let schema = "promotion_purchases"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "units") var units: Int64
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct CreatePromotions: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(PromotionActivity.schema)
            .id()
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("tiers_json", .string, .required)
            .field("skus_json", .string, .required)
            .field("per_member_limit", .int64)
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .field("scope", .string, .required)
            .field("scope_merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("product_ids_json", .string, .required)
            .field("owner", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("status", .string, .required)
            .field("pays_commission", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("promotion_activities_status", on: PromotionActivity.schema, columns: ["status", "ends_at"], db: db)
        try await createIndex("promotion_activities_merchant", on: PromotionActivity.schema, columns: ["merchant_id", "created_at"], db: db)
        try await db.schema(PromotionPurchase.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(PromotionActivity.schema, .id))
            .field("sku_id", .uuid, .required)
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("units", .int64, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "order_line_id", "activity_id")
            .create()
        try await createIndex("promotion_purchases_member", on: PromotionPurchase.schema, columns: ["activity_id", "member_id", "sku_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(PromotionPurchase.schema).delete()
        try await db.schema(PromotionActivity.schema).delete()
    }
}

/// Order lines given free by a 满赠 activity name it.
struct AddOrderLineGifts: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(OrderLine.schema).field("gift_activity_id", .uuid).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(OrderLine.schema).deleteField("gift_activity_id").update()
    }
}
