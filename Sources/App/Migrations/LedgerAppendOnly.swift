import Fluent
import SQLKit

/// The database itself refuses to update or delete ledger transactions and postings:
/// corrections are new, reversing transactions.
struct LedgerAppendOnly: AsyncMigration {
    static let tables = ["ledger_transactions", "ledger_postings"]

    func prepare(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("""
                CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'ledger rows are append-only (%)', TG_TABLE_NAME; END $$
                """).run()
            for table in Self.tables {
                try await sql.raw("""
                    CREATE TRIGGER \(unsafeRaw: table)_append_only BEFORE UPDATE OR DELETE ON \(unsafeRaw: table)
                    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
                    """).run()
            }
        } else {
            for table in Self.tables {
                for event in ["UPDATE", "DELETE"] {
                    try await sql.raw("""
                        CREATE TRIGGER \(unsafeRaw: table)_no_\(unsafeRaw: event.lowercased()) BEFORE \(unsafeRaw: event) ON \(unsafeRaw: table)
                        BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END
                        """).run()
                }
            }
        }
    }

    func revert(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            for table in Self.tables {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: table)_append_only ON \(unsafeRaw: table)").run()
            }
            try await sql.raw("DROP FUNCTION IF EXISTS ledger_append_only()").run()
        } else {
            for table in Self.tables {
                for event in ["update", "delete"] {
                    try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: table)_no_\(unsafeRaw: event)").run()
                }
            }
        }
    }
}
