import Fluent
import Foundation
import MallCore

/// A bargain activity (砍价): a SKU helpers cut from its price down to `floor_price` in at most
/// `max_cuts` cuts, within `duration_seconds` of the start.
final class BargainActivity: Model, @unchecked Sendable {
    static let schema = "bargain_activities"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "product_id") var productID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "shop_id") var shopID: UUID
    @Field(key: "floor_price") var floorPrice: Int64
    @Field(key: "max_cuts") var maxCuts: Int
    @Field(key: "duration_seconds") var durationSeconds: Int
    @Field(key: "new_member_double") var newMemberDouble: Bool
    /// Cuts per device fingerprint, and per helper, in this activity per China day.
    @Field(key: "daily_cut_limit") var dailyCutLimit: Int
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "ends_at") var endsAt: Date
    @Field(key: "owner") var owner: String
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    @Field(key: "status") var status: String
    @Field(key: "pays_commission") var paysCommission: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// One member's bargain. `current_price` and `cuts_left` move only by conditional updates on the
/// values they were read with, so concurrent cuts never pass the floor.
final class BargainRecord: Model, @unchecked Sendable {
    static let schema = "bargains"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "start_price") var startPrice: Int64
    @Field(key: "floor_price") var floorPrice: Int64
    @Field(key: "current_price") var currentPrice: Int64
    @Field(key: "cuts_left") var cutsLeft: Int
    @Field(key: "helpers") var helpers: Int
    /// open, ordered (an order awaits payment), paid or expired.
    @Field(key: "status") var status: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "order_id") var orderID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var state: BargainState { BargainState(currentPrice: Money(fen: currentPrice), cutsLeft: cutsLeft, helpers: helpers) }
}

final class BargainCut: Model, @unchecked Sendable {
    static let schema = "bargain_cuts"

    @ID(key: .id) var id: UUID?
    @Field(key: "bargain_id") var bargainID: UUID
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "helper_member_id") var helperMemberID: UUID
    /// The helper's device fingerprint (header or cookie).
    @Field(key: "device") var device: String
    /// The China day of the cut, for the daily limits.
    @Field(key: "day") var day: String
    @Field(key: "amount") var amount: Int64
    @Field(key: "counted_double") var countedDouble: Bool
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct CreateBargains: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(BargainActivity.schema)
            .id()
            .field("name", .string, .required)
            .field("product_id", .uuid, .required, .references(Product.schema, .id))
            .field("sku_id", .uuid, .required)
            .field("shop_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("floor_price", .int64, .required)
            .field("max_cuts", .int, .required)
            .field("duration_seconds", .int, .required)
            .field("new_member_double", .bool, .required)
            .field("daily_cut_limit", .int, .required)
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .field("owner", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("status", .string, .required)
            .field("pays_commission", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("bargain_activities_sku", on: BargainActivity.schema, columns: ["sku_id", "status"], db: db)
        try await createIndex("bargain_activities_merchant", on: BargainActivity.schema, columns: ["merchant_id", "created_at"], db: db)
        try await db.schema(BargainRecord.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(BargainActivity.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("sku_id", .uuid, .required)
            .field("start_price", .int64, .required)
            .field("floor_price", .int64, .required)
            .field("current_price", .int64, .required)
            .field("cuts_left", .int, .required)
            .field("helpers", .int, .required)
            .field("status", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("order_id", .uuid, .references(Order.schema, .id))
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("bargains_member", on: BargainRecord.schema, columns: ["activity_id", "member_id", "status"], db: db)
        try await createIndex("bargains_due", on: BargainRecord.schema, columns: ["status", "expires_at"], db: db)
        try await createIndex("bargains_order", on: BargainRecord.schema, columns: ["order_id"], db: db)
        try await db.schema(BargainCut.schema)
            .id()
            .field("bargain_id", .uuid, .required, .references(BargainRecord.schema, .id))
            .field("activity_id", .uuid, .required, .references(BargainActivity.schema, .id))
            .field("helper_member_id", .uuid, .required, .references(Member.schema, .id))
            .field("device", .string, .required)
            .field("day", .string, .required)
            .field("amount", .int64, .required)
            .field("counted_double", .bool, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "bargain_id", "helper_member_id")
            .create()
        try await createIndex("bargain_cuts_device", on: BargainCut.schema, columns: ["activity_id", "device", "day"], db: db)
        try await createIndex("bargain_cuts_helper", on: BargainCut.schema, columns: ["activity_id", "helper_member_id", "day"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(BargainCut.schema).delete()
        try await db.schema(BargainRecord.schema).delete()
        try await db.schema(BargainActivity.schema).delete()
    }
}
