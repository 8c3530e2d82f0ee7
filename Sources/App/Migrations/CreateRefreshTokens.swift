import Fluent

struct CreateRefreshTokens: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(RefreshToken.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("subject_kind", .string, .required)
            .field("subject_id", .uuid, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("created_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(RefreshToken.schema).delete()
    }
}
