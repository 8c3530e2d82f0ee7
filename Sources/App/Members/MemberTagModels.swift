import Fluent
import Foundation
import MallCore

/// 会员标签, the operator's (platform-wide): manual (members added by hand) or by rule (members
/// who meet every set condition, recomputed by the job). Shops may send coupons to a tag but not edit it.
final class MemberTag: Model, @unchecked Sendable {
    static let schema = "member_tags"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    /// manual or rule.
    @Field(key: "kind") var kind: String
    @OptionalField(key: "min_spent_fen") var minSpentFen: Int64?
    @OptionalField(key: "category_id") var categoryID: UUID?
    @OptionalField(key: "inactive_days") var inactiveDays: Int?
    @OptionalField(key: "recomputed_at") var recomputedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var isRule: Bool { kind == "rule" }

    /// The stored rule as MallCore's value; nil for a manual tag (or a stored rule no longer valid).
    var rule: MemberTagRule? {
        guard isRule else { return nil }
        return try? MemberTagRule(minSpent: minSpentFen.map { Money(fen: $0) }, categoryID: categoryID, inactiveDays: inactiveDays)
    }
}

/// A member carrying a tag: added by hand (`manual`) or by the rule's recompute (`rule`).
final class MemberTagMember: Model, @unchecked Sendable {
    static let schema = "member_tag_members"

    @ID(key: .id) var id: UUID?
    @Field(key: "tag_id") var tagID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "added_at") var addedAt: Date
    @Field(key: "source") var source: String

    init() {}
}

/// The birthday a member set (once): month and day, and the year if given.
final class MemberBirthdayRecord: Model, @unchecked Sendable {
    static let schema = "member_birthdays"

    /// The member's id.
    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "month") var month: Int
    @Field(key: "day") var day: Int
    @OptionalField(key: "year") var year: Int?
    @Field(key: "set_at") var setAt: Date

    init() {}
}

/// One birthday coupon per member per year: (member, year) is unique, so a rerun or a second
/// instance issues nothing twice.
final class BirthdayCouponRecord: Model, @unchecked Sendable {
    static let schema = "birthday_coupons"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "year") var year: Int
    @Field(key: "template_id") var templateID: UUID
    @Field(key: "member_coupon_id") var memberCouponID: UUID
    @Field(key: "issued_at") var issuedAt: Date

    init() {}
}

struct CreateMemberTags: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(MemberTag.schema)
            .id()
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("min_spent_fen", .int64)
            .field("category_id", .uuid)
            .field("inactive_days", .int)
            .field("recomputed_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "name")
            .create()
        try await db.schema(MemberTagMember.schema)
            .id()
            .field("tag_id", .uuid, .required, .references(MemberTag.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("added_at", .datetime, .required)
            .field("source", .string, .required)
            .unique(on: "tag_id", "member_id")
            .create()
        try await db.schema(MemberBirthdayRecord.schema)
            .field(.id, .uuid, .identifier(auto: false), .references(Member.schema, .id))
            .field("month", .int, .required)
            .field("day", .int, .required)
            .field("year", .int)
            .field("set_at", .datetime, .required)
            .create()
        try await db.schema(BirthdayCouponRecord.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("year", .int, .required)
            .field("template_id", .uuid, .required)
            .field("member_coupon_id", .uuid, .required)
            .field("issued_at", .datetime, .required)
            .unique(on: "member_id", "year")
            .create()
        try await createIndex("member_tag_members_member", on: MemberTagMember.schema, columns: ["member_id"], db: db)
        try await createIndex("member_birthdays_month", on: MemberBirthdayRecord.schema, columns: ["month"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(BirthdayCouponRecord.schema).delete()
        try await db.schema(MemberBirthdayRecord.schema).delete()
        try await db.schema(MemberTagMember.schema).delete()
        try await db.schema(MemberTag.schema).delete()
    }
}
