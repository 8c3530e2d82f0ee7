import Fluent

struct CreateMembers: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Member.schema)
            .id()
            .field("phone_cipher", .string, .required)
            .field("phone_hash", .string, .required)
            .field("password_hash", .string)
            .field("nickname", .string, .required)
            .field("user_agreement_version", .string, .required)
            .field("privacy_policy_version", .string, .required)
            .field("agreed_at", .datetime, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "phone_hash")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Member.schema).delete()
    }
}
