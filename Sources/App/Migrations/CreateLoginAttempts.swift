import Fluent

struct CreateLoginAttempts: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(LoginAttempt.schema)
            .id()
            .field("account_key", .string, .required)
            .field("ip", .string, .required)
            .field("succeeded", .bool, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("login_attempts_account", on: LoginAttempt.schema, columns: ["account_key", "created_at"], db: db)
        try await createIndex("login_attempts_ip", on: LoginAttempt.schema, columns: ["ip", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(LoginAttempt.schema).delete()
    }
}
