import Fluent

struct CreateLedger: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(LedgerAccount.schema)
            .id()
            .field("purpose", .string, .required)
            .field("owner_kind", .string, .required)
            .field("owner_id", .string, .required)
            .field("balance", .int64, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "purpose", "owner_kind", "owner_id")
            .create()
        try await db.schema(LedgerTransactionRecord.schema)
            .id()
            .field("idempotency_key", .string, .required)
            .field("kind", .string, .required)
            .field("memo", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "idempotency_key")
            .create()
        try await db.schema(LedgerPosting.schema)
            .id()
            .field("transaction_id", .uuid, .required, .references(LedgerTransactionRecord.schema, .id))
            .field("account_id", .uuid, .required, .references(LedgerAccount.schema, .id))
            .field("side", .string, .required)
            .field("amount", .int64, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("ledger_postings_account", on: LedgerPosting.schema, columns: ["account_id"], db: db)
        try await createIndex("ledger_postings_transaction", on: LedgerPosting.schema, columns: ["transaction_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(LedgerPosting.schema).delete()
        try await db.schema(LedgerTransactionRecord.schema).delete()
        try await db.schema(LedgerAccount.schema).delete()
    }
}
