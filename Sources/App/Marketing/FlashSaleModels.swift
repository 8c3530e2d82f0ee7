import Fluent
import Foundation
import MallCore

/// A flash sale (秒杀) as the operator or a shop runs it: sessions (time slots) with SKUs at a
/// flash price from a stock of their own.
///
/// Stock: an item's units are carved out of the SKU's normal stock when the activity is created
/// (one conditional decrement, refused when the SKU has too few) and belong to the activity from
/// then on: a flash order takes them from `available`, an unpaid close or a cancellation puts them
/// back there, and when the session ends or the activity is stopped whatever is still available
/// goes back to the SKU (`released`). A unit is counted by exactly one of the two stocks at any
/// time. A refund after payment returns nothing to either stock, like any refund here.
final class FlashSaleActivity: Model, @unchecked Sendable {
    static let schema = "flash_sale_activities"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// platform or merchant: who runs it and pays its saving.
    @Field(key: "owner") var owner: String
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    /// active, paused or stopped (`FlashSaleStatus`).
    @Field(key: "status") var status: String
    /// Off by default (`ActivityKind.flashSale`): a flash order pays no commission unless switched on.
    @Field(key: "pays_commission") var paysCommission: Bool
    /// Unpaid flash orders close after this many minutes, and their units go back to the activity.
    @Field(key: "unpaid_minutes") var unpaidMinutes: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

enum FlashSaleStatus: String, Codable, Sendable, CaseIterable {
    case active, paused, stopped

    func name(_ locale: MallLocale) -> String {
        switch self {
        case .active: LocalizedText("进行中", "Active")(locale)
        case .paused: LocalizedText("已暂停", "Paused")(locale)
        case .stopped: LocalizedText("已停止", "Stopped")(locale)
        }
    }
}

final class FlashSaleSessionRecord: Model, @unchecked Sendable {
    static let schema = "flash_sale_sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "ends_at") var endsAt: Date

    init() {}
}

/// One SKU of a session. `available` + `sold` + `released_units` = `activity_stock` always: a
/// purchase moves units from available to sold, a close moves them back (or, once released, to
/// the SKU), the release moves available to the SKU.
final class FlashSaleItem: Model, @unchecked Sendable {
    static let schema = "flash_sale_items"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "session_id") var sessionID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "product_id") var productID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "price") var price: Int64
    /// Units carved out of the SKU for this item.
    @Field(key: "activity_stock") var activityStock: Int64
    /// Units a buyer can still take.
    @Field(key: "available") var available: Int64
    /// Units in orders paid or awaiting payment.
    @Field(key: "sold") var sold: Int64
    @OptionalField(key: "per_member_limit") var perMemberLimit: Int64?
    /// True once the unsold units went back to the SKU (session ended or activity stopped).
    @Field(key: "released") var released: Bool
    @Field(key: "released_units") var releasedUnits: Int64
    @Field(key: "position") var position: Int

    init() {}
}

/// Units a member holds of an item (paid or awaiting payment): the per-member limit is one
/// conditional upsert on this row, so concurrent orders of one member cannot pass it.
final class FlashSaleMemberCount: Model, @unchecked Sendable {
    static let schema = "flash_sale_member_counts"

    @ID(key: .id) var id: UUID?
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "bought") var bought: Int64

    init() {}
}

/// A flash order line: what it took, so a close gives exactly that back, once.
final class FlashSalePurchase: Model, @unchecked Sendable {
    static let schema = "flash_sale_purchases"

    @ID(key: .id) var id: UUID?
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "units") var units: Int64
    @Field(key: "returned") var returned: Bool
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct CreateFlashSales: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(FlashSaleActivity.schema)
            .id()
            .field("name", .string, .required)
            .field("owner", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("status", .string, .required)
            .field("pays_commission", .bool, .required)
            .field("unpaid_minutes", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("flash_sale_activities_merchant", on: FlashSaleActivity.schema, columns: ["merchant_id", "created_at"], db: db)
        try await db.schema(FlashSaleSessionRecord.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(FlashSaleActivity.schema, .id))
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .create()
        try await createIndex("flash_sale_sessions_window", on: FlashSaleSessionRecord.schema, columns: ["ends_at", "starts_at"], db: db)
        try await createIndex("flash_sale_sessions_activity", on: FlashSaleSessionRecord.schema, columns: ["activity_id", "starts_at"], db: db)
        try await db.schema(FlashSaleItem.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(FlashSaleActivity.schema, .id))
            .field("session_id", .uuid, .required, .references(FlashSaleSessionRecord.schema, .id))
            .field("sku_id", .uuid, .required)
            .field("product_id", .uuid, .required)
            .field("merchant_id", .uuid, .required)
            .field("price", .int64, .required)
            .field("activity_stock", .int64, .required)
            .field("available", .int64, .required)
            .field("sold", .int64, .required)
            .field("per_member_limit", .int64)
            .field("released", .bool, .required)
            .field("released_units", .int64, .required)
            .field("position", .int, .required)
            .unique(on: "session_id", "sku_id")
            .create()
        try await createIndex("flash_sale_items_activity", on: FlashSaleItem.schema, columns: ["activity_id", "position"], db: db)
        try await createIndex("flash_sale_items_sku", on: FlashSaleItem.schema, columns: ["sku_id"], db: db)
        try await db.schema(FlashSaleMemberCount.schema)
            .id()
            .field("item_id", .uuid, .required, .references(FlashSaleItem.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("bought", .int64, .required)
            .unique(on: "item_id", "member_id")
            .create()
        try await db.schema(FlashSalePurchase.schema)
            .id()
            .field("item_id", .uuid, .required, .references(FlashSaleItem.schema, .id))
            .field("activity_id", .uuid, .required, .references(FlashSaleActivity.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("units", .int64, .required)
            .field("returned", .bool, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "order_line_id")
            .create()
        try await createIndex("flash_sale_purchases_order", on: FlashSalePurchase.schema, columns: ["order_id"], db: db)
        try await createIndex("flash_sale_purchases_activity", on: FlashSalePurchase.schema, columns: ["activity_id", "item_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(FlashSalePurchase.schema).delete()
        try await db.schema(FlashSaleMemberCount.schema).delete()
        try await db.schema(FlashSaleItem.schema).delete()
        try await db.schema(FlashSaleSessionRecord.schema).delete()
        try await db.schema(FlashSaleActivity.schema).delete()
    }
}
