import Fluent
import Foundation
import MallCore
import SQLKit

/// Each ledger transaction keeps the digest of the draft it was posted from (so a reused key with a
/// different draft is refused), its number in a hash chain and its hash (so an edit that keeps every
/// sum and balance consistent still shows), and how many postings it has (so none can be added later).
/// The database refuses what the earlier triggers let through: SQLite's `INSERT OR REPLACE`,
/// PostgreSQL's `TRUNCATE`, a posting added to an old transaction, and a balance stored as a float.
struct LedgerIntegrity: AsyncMigration {
    func prepare(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        let postgres = sql.dialect.name == "postgresql"
        for column in ["draft_digest TEXT", "sequence BIGINT", "hash TEXT", "posting_count INTEGER"] {
            try await sql.raw("ALTER TABLE ledger_transactions ADD COLUMN \(unsafeRaw: column)").run()
        }
        try await sql.raw("CREATE TABLE ledger_chain_head (id INTEGER PRIMARY KEY, sequence BIGINT NOT NULL, hash TEXT NOT NULL)").run()
        try await sql.raw("INSERT INTO ledger_chain_head (id, sequence, hash) VALUES (1, 0, '')").run()
        try await backfill(sql, postgres: postgres)
        try await sql.raw("CREATE UNIQUE INDEX ledger_transactions_sequence ON ledger_transactions (sequence)").run()
        if postgres {
            try await createPostgresGuards(sql)
        } else {
            try await createSQLiteGuards(sql)
        }
    }

    func revert(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            for (trigger, table) in Self.postgresTriggers {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: trigger) ON \(unsafeRaw: table)").run()
            }
            for function in ["ledger_transaction_insert_check", "ledger_posting_insert_check", "ledger_chain_head_guard", "ledger_no_truncate"] {
                try await sql.raw("DROP FUNCTION IF EXISTS \(unsafeRaw: function)()").run()
            }
        } else {
            for trigger in Self.sqliteTriggers {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: trigger)").run()
            }
        }
        try await sql.raw("DROP INDEX IF EXISTS ledger_transactions_sequence").run()
        try await sql.raw("DROP TABLE ledger_chain_head").run()
        for column in ["posting_count", "hash", "sequence", "draft_digest"] {
            try await sql.raw("ALTER TABLE ledger_transactions DROP COLUMN \(unsafeRaw: column)").run()
        }
    }

    static let postgresTriggers = [
        ("ledger_transactions_insert_check", "ledger_transactions"),
        ("ledger_postings_insert_check", "ledger_postings"),
        ("ledger_transactions_no_truncate", "ledger_transactions"),
        ("ledger_postings_no_truncate", "ledger_postings"),
        ("ledger_chain_head_guard", "ledger_chain_head"),
        ("ledger_chain_head_no_truncate", "ledger_chain_head"),
    ]

    static let sqliteTriggers = [
        "ledger_transactions_insert_check", "ledger_postings_insert_check",
        "ledger_accounts_integer_balance_insert", "ledger_accounts_integer_balance_update",
        "ledger_chain_head_no_insert", "ledger_chain_head_no_delete", "ledger_chain_head_advance_only",
    ]

    private func createPostgresGuards(_ sql: any SQLDatabase) async throws {
        // A transaction is inserted once, complete, as the next link; inserting it moves the head.
        try await sql.raw("""
            CREATE FUNCTION ledger_transaction_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.sequence IS NULL OR NEW.hash IS NULL OR NEW.draft_digest IS NULL OR NEW.posting_count IS NULL OR NEW.posting_count < 2 THEN
                RAISE EXCEPTION 'ledger transactions carry their draft digest, chain link and posting count';
              END IF;
              UPDATE ledger_chain_head SET sequence = NEW.sequence, hash = NEW.hash WHERE id = 1 AND sequence = NEW.sequence - 1;
              IF NOT FOUND THEN RAISE EXCEPTION 'ledger transaction % is not the next in the chain', NEW.sequence; END IF;
              RETURN NEW;
            END $$
            """).run()
        // Rows processed earlier in the same statement are visible here, so a batch is counted too.
        try await sql.raw("""
            CREATE FUNCTION ledger_posting_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE allowed integer; present bigint;
            BEGIN
              SELECT posting_count INTO allowed FROM ledger_transactions WHERE id = NEW.transaction_id;
              SELECT count(*) INTO present FROM ledger_postings WHERE transaction_id = NEW.transaction_id;
              IF allowed IS NULL OR present >= allowed THEN
                RAISE EXCEPTION 'ledger transaction % already has all its postings', NEW.transaction_id;
              END IF;
              RETURN NEW;
            END $$
            """).run()
        try await sql.raw("""
            CREATE FUNCTION ledger_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.sequence = OLD.sequence + 1 THEN RETURN NEW; END IF;
              RAISE EXCEPTION 'the ledger chain head only moves forward, one transaction at a time';
            END $$
            """).run()
        try await sql.raw("CREATE TRIGGER ledger_transactions_insert_check BEFORE INSERT ON ledger_transactions FOR EACH ROW EXECUTE FUNCTION ledger_transaction_insert_check()").run()
        try await sql.raw("CREATE TRIGGER ledger_postings_insert_check BEFORE INSERT ON ledger_postings FOR EACH ROW EXECUTE FUNCTION ledger_posting_insert_check()").run()
        try await sql.raw("""
            CREATE FUNCTION ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'ledger rows are append-only (%)', TG_TABLE_NAME; END $$
            """).run()
        for table in LedgerAppendOnly.tables + ["ledger_chain_head"] {
            try await sql.raw("CREATE TRIGGER \(unsafeRaw: table)_no_truncate BEFORE TRUNCATE ON \(unsafeRaw: table) FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate()").run()
        }
        try await sql.raw("CREATE TRIGGER ledger_chain_head_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_chain_head FOR EACH ROW EXECUTE FUNCTION ledger_chain_head_guard()").run()
    }

    private func createSQLiteGuards(_ sql: any SQLDatabase) async throws {
        // BEFORE INSERT runs before conflict resolution: `INSERT OR REPLACE` of an existing row is refused
        // here instead of silently deleting the old row (which fires no DELETE trigger).
        try await sql.raw("""
            CREATE TRIGGER ledger_transactions_insert_check BEFORE INSERT ON ledger_transactions
            BEGIN
              SELECT RAISE(ABORT, 'ledger rows are append-only') WHERE EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.id)
                OR EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = NEW.idempotency_key);
              SELECT RAISE(ABORT, 'ledger transactions carry their draft digest, chain link and posting count')
                WHERE NEW.sequence IS NULL OR NEW.hash IS NULL OR NEW.draft_digest IS NULL OR NEW.posting_count IS NULL OR NEW.posting_count < 2;
              SELECT RAISE(ABORT, 'ledger transaction is not the next in the chain')
                WHERE NOT EXISTS (SELECT 1 FROM ledger_chain_head WHERE id = 1 AND sequence = NEW.sequence - 1);
              UPDATE ledger_chain_head SET sequence = NEW.sequence, hash = NEW.hash WHERE id = 1;
            END
            """).run()
        try await sql.raw("""
            CREATE TRIGGER ledger_postings_insert_check BEFORE INSERT ON ledger_postings
            BEGIN
              SELECT RAISE(ABORT, 'ledger rows are append-only') WHERE EXISTS (SELECT 1 FROM ledger_postings WHERE id = NEW.id);
              SELECT RAISE(ABORT, 'ledger transaction already has all its postings')
                WHERE (SELECT COUNT(*) FROM ledger_postings WHERE transaction_id = NEW.transaction_id)
                  >= COALESCE((SELECT posting_count FROM ledger_transactions WHERE id = NEW.transaction_id), 0);
            END
            """).run()
        // SQLite turns an integer sum past Int64 into a float; a balance must stay whole fen.
        for event in ["insert", "update"] {
            let on = event == "insert" ? "INSERT" : "UPDATE OF balance"
            try await sql.raw("""
                CREATE TRIGGER ledger_accounts_integer_balance_\(unsafeRaw: event) BEFORE \(unsafeRaw: on) ON ledger_accounts
                WHEN typeof(NEW.balance) != 'integer'
                BEGIN SELECT RAISE(ABORT, 'ledger balances are whole fen within Int64'); END
                """).run()
        }
        try await sql.raw("CREATE TRIGGER ledger_chain_head_no_insert BEFORE INSERT ON ledger_chain_head BEGIN SELECT RAISE(ABORT, 'the ledger chain head is one row'); END").run()
        try await sql.raw("CREATE TRIGGER ledger_chain_head_no_delete BEFORE DELETE ON ledger_chain_head BEGIN SELECT RAISE(ABORT, 'the ledger chain head is one row'); END").run()
        try await sql.raw("""
            CREATE TRIGGER ledger_chain_head_advance_only BEFORE UPDATE ON ledger_chain_head
            WHEN NEW.id != OLD.id OR NEW.sequence != OLD.sequence + 1
            BEGIN SELECT RAISE(ABORT, 'the ledger chain head only moves forward, one transaction at a time'); END
            """).run()
    }

    /// Links transactions posted before this migration, oldest first.
    private func backfill(_ sql: any SQLDatabase, postgres: Bool) async throws {
        let rows = try await sql.raw("SELECT id, idempotency_key, kind, created_at FROM ledger_transactions ORDER BY created_at, id").all()
        guard !rows.isEmpty else { return }
        // The append-only guard of LedgerAppendOnly is lifted for these updates only.
        if postgres {
            try await sql.raw("ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only").run()
        } else {
            try await sql.raw("DROP TRIGGER ledger_transactions_no_update").run()
        }
        var previous: [UInt8] = []
        var sequence: Int64 = 0
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            let key = try row.decode(column: "idempotency_key", as: String.self)
            let kind = try row.decode(column: "kind", as: String.self)
            let createdAt = try row.decode(column: "created_at", as: Date.self)
            let postingRows = try await sql.raw("""
                SELECT p.account_id AS account_id, p.side AS side, p.amount AS amount, a.purpose AS purpose, a.owner_kind AS owner_kind, a.owner_id AS owner_id
                FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.transaction_id = \(bind: id)
                """).all()
            var entries: [LedgerEntry] = []
            var postings: [LedgerChain.Posting] = []
            for p in postingRows {
                let sideRaw = try p.decode(column: "side", as: String.self)
                let purposeRaw = try p.decode(column: "purpose", as: String.self)
                let kindRaw = try p.decode(column: "owner_kind", as: String.self)
                let ownerID = try p.decode(column: "owner_id", as: String.self)
                guard let side = LedgerSide(rawValue: sideRaw), let purpose = LedgerAccountPurpose(rawValue: purposeRaw),
                      let ownerKind = LedgerOwnerKind(rawValue: kindRaw), let owner = LedgerOwner(kind: ownerKind, ownerID: ownerID) else {
                    throw LedgerMigrationError(description: "ledger transaction \(id) has a posting that cannot be read")
                }
                let amount = try p.decode(column: "amount", as: Int64.self)
                entries.append(LedgerEntry(side, try LedgerAccountKey(purpose, owner), Money(fen: amount)))
                postings.append((LedgerHashing.text(try p.decode(column: "account_id", as: UUID.self)), side, amount))
            }
            let digest = LedgerHashing.digest(of: LedgerTransactionDraft(idempotencyKey: key, kind: kind, entries: entries))
            let hash = LedgerHashing.sha256(LedgerChain.link(
                previousHash: previous, transactionID: LedgerHashing.text(id), idempotencyKey: key, kind: kind,
                createdAtMicros: LedgerHashing.micros(createdAt), postings: postings))
            sequence += 1
            try await sql.raw("""
                UPDATE ledger_transactions SET draft_digest = \(bind: digest), sequence = \(bind: sequence), hash = \(bind: LedgerHashing.hex(hash)),
                    posting_count = \(bind: postings.count) WHERE id = \(bind: id)
                """).run()
            previous = hash
        }
        try await sql.raw("UPDATE ledger_chain_head SET sequence = \(bind: sequence), hash = \(bind: LedgerHashing.hex(previous)) WHERE id = 1").run()
        if postgres {
            try await sql.raw("ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_append_only").run()
        } else {
            try await sql.raw("CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END").run()
        }
    }
}

struct LedgerMigrationError: Error, CustomStringConvertible {
    let description: String
}
