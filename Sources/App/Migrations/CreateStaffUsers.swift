import Fluent

struct CreateStaffUsers: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(StaffUser.schema)
            .id()
            .field("username", .string, .required)
            .field("password_hash", .string, .required)
            .field("display_name", .string, .required)
            .field("role", .string, .required)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("active", .bool, .required)
            .field("created_at", .datetime)
            .unique(on: "username")
            .create()
        try await createIndex("staff_users_merchant", on: StaffUser.schema, columns: ["merchant_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(StaffUser.schema).delete()
    }
}
