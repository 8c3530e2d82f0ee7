import Fluent

struct CreateMerchants: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Merchant.schema)
            .id()
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("status", .string, .required)
            .field("service_rate_bp", .int, .required)
            .field("created_at", .datetime)
            .create()
        // The self-operated shop (自营) exists from the first migration on.
        try await Merchant(id: Merchant.selfOperatedID, name: "裂变商城自营", kind: .selfOperated, serviceRateBP: 0).create(on: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Merchant.schema).delete()
    }
}
