import Fluent
import Foundation
import MallCore
import Vapor

/// One new-user coupon taken or one bargain cut made (`farm_events`): who, under which phone hash,
/// from which device and client address. The farming guard counts these rows; the operator's
/// report groups them. Never a raw phone number: the keyed look-up hash only.
final class FarmEvent: Model, @unchecked Sendable {
    static let schema = "farm_events"

    enum Kind: String, Codable, Sendable, CaseIterable {
        case newUserCoupon = "new_user_coupon"
        case bargainCut = "bargain_cut"
    }

    @ID(key: .id) var id: UUID?
    /// `new_user_coupon` or `bargain_cut`.
    @Field(key: "kind") var kind: String
    @Field(key: "member_id") var memberID: UUID
    /// The member's keyed phone hash at the time (it outlives a later change of the member row).
    @Field(key: "phone_hash") var phoneHash: String
    /// `h:<X-Device-Id>` or `c:<visitor cookie>`; empty when the client named none.
    @Field(key: "device") var device: String
    /// The client address as the rate limits see it; empty when unknown.
    @Field(key: "ip") var ip: String
    /// The China day, `2026-11-27`.
    @Field(key: "day") var day: String
    /// claim, registration, send or cut.
    @Field(key: "source") var source: String
    /// The member coupon's or the cut's id.
    @Field(key: "ref_id") var refID: UUID
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct CreateFarmEvents: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(FarmEvent.schema)
            .id()
            .field("kind", .string, .required)
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("phone_hash", .string, .required)
            .field("device", .string, .required)
            .field("ip", .string, .required)
            .field("day", .string, .required)
            .field("source", .string, .required)
            .field("ref_id", .uuid, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "kind", "ref_id")
            .create()
        // The guard's look-ups: members per device, per address and day, per phone; cuts per device and per address and day.
        try await createIndex("farm_events_device", on: FarmEvent.schema, columns: ["kind", "device", "day", "member_id"], db: db)
        try await createIndex("farm_events_ip", on: FarmEvent.schema, columns: ["kind", "ip", "day", "member_id"], db: db)
        try await createIndex("farm_events_phone", on: FarmEvent.schema, columns: ["kind", "phone_hash", "member_id"], db: db)
        // The report: a time window, then grouped by device or address.
        try await createIndex("farm_events_time_device", on: FarmEvent.schema, columns: ["created_at", "device", "member_id"], db: db)
        try await createIndex("farm_events_time_ip", on: FarmEvent.schema, columns: ["created_at", "ip", "member_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(FarmEvent.schema).delete()
    }
}

/// The operator's farming limits (`member_settings` under `farming`).
struct FarmingSettings: Content, Equatable, StoredSettings {
    static let recordName = "farming"
    var limits: FarmingLimits

    init() { limits = FarmingLimits() }
    init(_ limits: FarmingLimits) { self.limits = limits }

    init(from decoder: any Decoder) throws { limits = try FarmingLimits(from: decoder) }
    func encode(to encoder: any Encoder) throws { try limits.encode(to: encoder) }

    func validate() throws {
        let wrong = limits.fieldsOutOfBounds
        guard wrong.isEmpty else {
            throw APIError.validation(wrong.map { bound in
                .init(bound.field, .init("应为 \(bound.range.lowerBound) 到 \(bound.range.upperBound) 的整数",
                                         "Must be a whole number from \(bound.range.lowerBound) to \(bound.range.upperBound)"))
            })
        }
    }
}
