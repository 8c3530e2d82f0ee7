import Fluent

struct CreateAuditLogs: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(AuditLogEntry.schema)
            .id()
            .field("actor_id", .uuid)
            .field("actor_name", .string, .required)
            .field("action", .string, .required)
            .field("target", .string, .required)
            .field("detail", .string, .required)
            .field("ip", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("audit_logs_created", on: AuditLogEntry.schema, columns: ["created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(AuditLogEntry.schema).delete()
    }
}
