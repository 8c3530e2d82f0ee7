import Fluent

struct CreateSmsCodes: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(SmsCode.schema)
            .id()
            .field("phone_hash", .string, .required)
            .field("purpose", .string, .required)
            .field("code_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("consumed_at", .datetime)
            .field("failed_attempts", .int, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("sms_codes_phone", on: SmsCode.schema, columns: ["phone_hash", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(SmsCode.schema).delete()
    }
}
