import Fluent
import Foundation
import MallCore

/// A group-buy activity (拼团): one SKU at a group price for groups of `size` members who pay
/// within `duration_seconds` of the leader. A shop's activity is paid by the shop (its
/// receivable is the group price); the platform's by the platform's marketing cost.
final class GroupBuyActivity: Model, @unchecked Sendable {
    static let schema = "group_buy_activities"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "product_id") var productID: UUID
    @Field(key: "sku_id") var skuID: UUID
    /// The product's shop.
    @Field(key: "shop_id") var shopID: UUID
    @Field(key: "price") var price: Int64
    @Field(key: "size") var size: Int
    @Field(key: "duration_seconds") var durationSeconds: Int
    @Field(key: "virtual_completion") var virtualCompletion: Bool
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "ends_at") var endsAt: Date
    /// platform or merchant: who pays the saving.
    @Field(key: "owner") var owner: String
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    /// active, paused or stopped.
    @Field(key: "status") var status: String
    @Field(key: "pays_commission") var paysCommission: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    func rule() throws(MarketingError) -> GroupBuyRule {
        try GroupBuyRule(size: size, duration: TimeInterval(durationSeconds), virtualCompletion: virtualCompletion)
    }
}

/// One group: opened when its leader pays; `paid` and `held` move only by conditional updates.
final class GroupBuyGroup: Model, @unchecked Sendable {
    static let schema = "group_buy_groups"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @Field(key: "leader_member_id") var leaderMemberID: UUID
    @Field(key: "size") var size: Int
    @Field(key: "paid") var paid: Int
    @Field(key: "held") var held: Int
    @Field(key: "virtual_members") var virtualMembers: Int
    /// `GroupStatus`: open, succeeded or failed.
    @Field(key: "status") var status: String
    @Field(key: "deadline") var deadline: Date
    @Field(key: "opened_at") var openedAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}

    var state: GroupState {
        GroupState(status: GroupStatus(rawValue: status) ?? .failed, deadline: deadline, size: size, paid: paid, held: held, virtualMembers: virtualMembers)
    }
}

/// A member's order in a group-buy activity: the leader's (no group until paid) or a joiner's.
final class GroupBuyMember: Model, @unchecked Sendable {
    static let schema = "group_buy_members"

    @ID(key: .id) var id: UUID?
    @Field(key: "activity_id") var activityID: UUID
    @OptionalField(key: "group_id") var groupID: UUID?
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "member_id") var memberID: UUID
    /// leader or joiner.
    @Field(key: "role") var role: String
    /// `GroupMemberStatus`.
    @Field(key: "status") var status: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "paid_at") var paidAt: Date?

    init() {}
}

enum GroupMemberStatus: String, Codable, Sendable {
    /// The leader's order awaits payment (no group yet).
    case pending
    /// A joiner's order awaits payment and holds a seat.
    case held
    case paid
    /// Closed unpaid: the seat is free again.
    case released
    /// Paid, then refunded in full (the group failed, or the payment came too late).
    case refunded
}

struct CreateGroupBuys: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(GroupBuyActivity.schema)
            .id()
            .field("name", .string, .required)
            .field("product_id", .uuid, .required, .references(Product.schema, .id))
            .field("sku_id", .uuid, .required)
            .field("shop_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("price", .int64, .required)
            .field("size", .int, .required)
            .field("duration_seconds", .int, .required)
            .field("virtual_completion", .bool, .required)
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .field("owner", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("status", .string, .required)
            .field("pays_commission", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("group_buy_activities_sku", on: GroupBuyActivity.schema, columns: ["sku_id", "status"], db: db)
        try await createIndex("group_buy_activities_merchant", on: GroupBuyActivity.schema, columns: ["merchant_id", "created_at"], db: db)
        try await db.schema(GroupBuyGroup.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(GroupBuyActivity.schema, .id))
            .field("leader_member_id", .uuid, .required, .references(Member.schema, .id))
            .field("size", .int, .required)
            .field("paid", .int, .required)
            .field("held", .int, .required)
            .field("virtual_members", .int, .required)
            .field("status", .string, .required)
            .field("deadline", .datetime, .required)
            .field("opened_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
        try await createIndex("group_buy_groups_due", on: GroupBuyGroup.schema, columns: ["status", "deadline"], db: db)
        try await createIndex("group_buy_groups_activity", on: GroupBuyGroup.schema, columns: ["activity_id", "status"], db: db)
        try await db.schema(GroupBuyMember.schema)
            .id()
            .field("activity_id", .uuid, .required, .references(GroupBuyActivity.schema, .id))
            .field("group_id", .uuid, .references(GroupBuyGroup.schema, .id))
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("role", .string, .required)
            .field("status", .string, .required)
            .field("created_at", .datetime, .required)
            .field("paid_at", .datetime)
            .unique(on: "order_id")
            .create()
        try await createIndex("group_buy_members_group", on: GroupBuyMember.schema, columns: ["group_id", "status"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(GroupBuyMember.schema).delete()
        try await db.schema(GroupBuyGroup.schema).delete()
        try await db.schema(GroupBuyActivity.schema).delete()
    }
}
