import Fluent
import Foundation

/// A member's points balance, growth value and level; the id is the member's id. The balance is
/// the sum of the remaining points of the lots not yet expired by the job, and it only moves by
/// conditional updates, so it never goes below zero.
final class MemberPointsAccount: Model, @unchecked Sendable {
    static let schema = "member_points"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "balance") var balance: Int64
    @Field(key: "growth") var growth: Int64
    @Field(key: "level_id") var levelID: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// Points earned together (an order, a sign-in, a review), expiring together.
final class PointLotRecord: Model, @unchecked Sendable {
    static let schema = "point_lots"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "earned") var earned: Int64
    @Field(key: "remaining") var remaining: Int64
    @Field(key: "reason") var reason: String
    @Field(key: "earned_at") var earnedAt: Date
    @OptionalField(key: "expires_at") var expiresAt: Date?

    init() {}
}

/// Every change of every lot, with its reason and what caused it (`ref`: the order, the
/// checkout's payment, the refund, the day of a sign-in). (ref, lot) is unique, so a change is
/// never written twice.
final class PointMovementRecord: Model, @unchecked Sendable {
    static let schema = "point_movements"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "lot_id") var lotID: UUID
    @Field(key: "delta") var delta: Int64
    @Field(key: "reason") var reason: String
    @Field(key: "ref") var ref: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// The operator's member settings as one JSON document (`MembersConfig`).
final class MemberSettingsRecord: Model, @unchecked Sendable {
    static let schema = "member_settings"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "config_json") var configJSON: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

struct CreateMemberPoints: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(MemberPointsAccount.schema)
            .id()
            .field("balance", .int64, .required)
            .field("growth", .int64, .required)
            .field("level_id", .string, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await db.schema(PointLotRecord.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("earned", .int64, .required)
            .field("remaining", .int64, .required)
            .field("reason", .string, .required)
            .field("earned_at", .datetime, .required)
            .field("expires_at", .datetime)
            .create()
        try await db.schema(PointMovementRecord.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("lot_id", .uuid, .required, .references(PointLotRecord.schema, .id))
            .field("delta", .int64, .required)
            .field("reason", .string, .required)
            .field("ref", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "ref", "lot_id")
            .create()
        try await db.schema(MemberSettingsRecord.schema)
            .id()
            .field("name", .string, .required)
            .field("config_json", .string, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "name")
            .create()
        try await createIndex("point_lots_member", on: PointLotRecord.schema, columns: ["member_id", "remaining"], db: db)
        try await createIndex("point_lots_expiry", on: PointLotRecord.schema, columns: ["expires_at"], db: db)
        try await createIndex("point_movements_member", on: PointMovementRecord.schema, columns: ["member_id", "created_at"], db: db)
        try await createIndex("point_movements_ref", on: PointMovementRecord.schema, columns: ["ref"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(MemberSettingsRecord.schema).delete()
        try await db.schema(PointMovementRecord.schema).delete()
        try await db.schema(PointLotRecord.schema).delete()
        try await db.schema(MemberPointsAccount.schema).delete()
    }
}
