import Fluent
import Foundation
import MallCore

/// An item of the points mall (积分商城), run by the operator: a coupon template redeemed for
/// points, or goods — one SKU of any shop for points plus a cash part (积分 + 现金), bought
/// through the normal checkout as an order of its own. Its stock is its own: `available` + `redeemed` = `stock` always, and a redemption takes
/// a unit by one conditional decrement (`available >= 1`), so concurrent redemptions never take
/// more than there is. (The coupon's own limits — total, per member, per day — hold as well: the
/// coupon is issued through `CouponService.claim`.)
final class PointsMallItem: Model, @unchecked Sendable {
    static let schema = "points_mall_items"

    @ID(key: .id) var id: UUID?
    /// `coupon` or `goods` (`PointsMallItemKind`).
    @Field(key: "kind") var kind: String
    @Field(key: "name") var name: String
    @OptionalField(key: "coupon_template_id") var couponTemplateID: UUID?
    /// Goods: the SKU, and the cash part in fen paid with the points (the SKU's stock is taken too).
    @OptionalField(key: "sku_id") var skuID: UUID?
    @Field(key: "cash_price") var cashPrice: Int64
    @Field(key: "points_price") var pointsPrice: Int64
    @Field(key: "stock") var stock: Int64
    @Field(key: "available") var available: Int64
    @Field(key: "redeemed") var redeemed: Int64
    @OptionalField(key: "per_member_limit") var perMemberLimit: Int64?
    @OptionalField(key: "starts_at") var startsAt: Date?
    @OptionalField(key: "ends_at") var endsAt: Date?
    /// active, paused or stopped (`PointsMallItemStatus`).
    @Field(key: "status") var status: String
    @Field(key: "position") var position: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var itemStatus: PointsMallItemStatus { PointsMallItemStatus(rawValue: status) ?? .stopped }
}

/// One redemption: the points it cost and what it gave — a coupon, or an order. (member,
/// idempotency key) is unique, so a repeated request redeems once (goods are keyed by their order,
/// whose checkout has the request's key). A redemption given back (its order cancelled, closed
/// unpaid or refunded whole) has `returnedAt` set, once, and no longer counts towards the limit.
final class PointsMallRedemption: Model, @unchecked Sendable {
    static let schema = "points_mall_redemptions"

    @ID(key: .id) var id: UUID?
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "points") var points: Int64
    @OptionalField(key: "member_coupon_id") var memberCouponID: UUID?
    @Field(key: "idempotency_key") var idempotencyKey: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "order_id") var orderID: UUID?
    @Field(key: "cash_price") var cashPrice: Int64
    @OptionalField(key: "returned_at") var returnedAt: Date?
    /// cancel, close_unpaid or refund.
    @OptionalField(key: "returned_reason") var returnedReason: String?

    init() {}
}

enum PointsMallItemKind: String, CaseIterable {
    case coupon, goods
}

struct CreatePointsMall: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(PointsMallItem.schema)
            .id()
            .field("kind", .string, .required)
            .field("name", .string, .required)
            .field("coupon_template_id", .uuid, .references(CouponTemplate.schema, .id))
            .field("points_price", .int64, .required)
            .field("stock", .int64, .required)
            .field("available", .int64, .required)
            .field("redeemed", .int64, .required)
            .field("per_member_limit", .int64)
            .field("starts_at", .datetime)
            .field("ends_at", .datetime)
            .field("status", .string, .required)
            .field("position", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("points_mall_items_status", on: PointsMallItem.schema, columns: ["status", "position"], db: db)
        try await db.schema(PointsMallRedemption.schema)
            .id()
            .field("item_id", .uuid, .required, .references(PointsMallItem.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("points", .int64, .required)
            .field("member_coupon_id", .uuid, .references(MemberCouponRecord.schema, .id))
            .field("idempotency_key", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "member_id", "idempotency_key")
            .create()
        try await createIndex("points_mall_redemptions_member", on: PointsMallRedemption.schema, columns: ["member_id", "item_id"], db: db)
        try await createIndex("points_mall_redemptions_item", on: PointsMallRedemption.schema, columns: ["item_id", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(PointsMallRedemption.schema).delete()
        try await db.schema(PointsMallItem.schema).delete()
    }
}

/// Goods for points: an item names a SKU and a cash part; a redemption names its order and is
/// given back at most once.
struct AddPointsMallGoods: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(PointsMallItem.schema).field("sku_id", .uuid).update()
        try await db.schema(PointsMallItem.schema).field("cash_price", .int64, .required, .sql(.default(0))).update()
        try await db.schema(PointsMallRedemption.schema).field("order_id", .uuid).update()
        try await db.schema(PointsMallRedemption.schema).field("cash_price", .int64, .required, .sql(.default(0))).update()
        try await db.schema(PointsMallRedemption.schema).field("returned_at", .datetime).update()
        try await db.schema(PointsMallRedemption.schema).field("returned_reason", .string).update()
        try await createIndex("points_mall_redemptions_order", on: PointsMallRedemption.schema, columns: ["order_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await sqlDatabase(db).drop(index: "points_mall_redemptions_order").run()
        for field: FieldKey in ["returned_reason", "returned_at", "cash_price", "order_id"] {
            try await db.schema(PointsMallRedemption.schema).deleteField(field).update()
        }
        for field: FieldKey in ["cash_price", "sku_id"] {
            try await db.schema(PointsMallItem.schema).deleteField(field).update()
        }
    }
}
