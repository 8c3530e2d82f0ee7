import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Posts balanced transactions and answers balances. Callers that change business data pass
/// their own transaction's database so that the money and the change commit together.
struct LedgerService {
    let db: any Database
    let now: Date
    /// Queues `post`'s own transactions where the database needs it (see `WriteGate`).
    var gate: WriteGate = .none

    struct Posted: Sendable, Equatable {
        let transactionID: UUID
        /// True when the idempotency key had already been used: nothing new was posted.
        let replayed: Bool
    }

    /// Posts in a transaction of its own.
    func post(_ draft: LedgerTransactionDraft) async throws -> Posted {
        let draft = try draft.validated()
        if let existing = try await existingTransactionID(for: draft.idempotencyKey, on: db) {
            return Posted(transactionID: existing, replayed: true)
        }
        let now = self.now
        return try await gate.transaction(on: db) { tx in
            try await LedgerService(db: tx, now: now).postWithinTransaction(draft)
        }
    }

    /// Posts on `db`, which must already be inside a transaction.
    func postWithinTransaction(_ draft: LedgerTransactionDraft) async throws -> Posted {
        let draft = try draft.validated()
        let sql = try sqlDatabase(db)
        let transactionID = UUID()
        // The insert comes first: it claims the key (a concurrent twin waits on the unique index)
        // and, on SQLite, takes the write lock before anything is read.
        let inserted = try await sql.raw("""
            INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at)
            VALUES (\(bind: transactionID), \(bind: draft.idempotencyKey), \(bind: draft.kind), \(bind: draft.memo), \(bind: now))
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """).all()
        if inserted.isEmpty {
            guard let existing = try await existingTransactionID(for: draft.idempotencyKey, on: db) else {
                throw Abort(.internalServerError, reason: "idempotency key conflict without a row")
            }
            return Posted(transactionID: existing, replayed: true)
        }

        let accountIDs = try await accountIDs(for: Set(draft.entries.map(\.account)))
        // Lock order by account id so that two transactions never wait on each other in a circle.
        func id(of key: LedgerAccountKey) throws -> UUID {
            guard let id = accountIDs[key] else { throw Abort(.internalServerError, reason: "no ledger account for \(key)") }
            return id
        }
        let deltas = try draft.balanceDeltas
            .map { (id: try id(of: $0.key), key: $0.key, delta: $0.value) }
            .sorted { $0.id.uuidString < $1.id.uuidString }
        for change in deltas where change.delta != 0 {
            let guardClause: SQLQueryString = change.key.purpose.mayGoNegative ? "" : " AND balance + \(bind: change.delta) >= 0"
            let updated = try await sql.raw("""
                UPDATE ledger_accounts SET balance = balance + \(bind: change.delta)
                WHERE id = \(bind: change.id)\(guardClause) RETURNING balance
                """).all()
            if updated.isEmpty {
                throw LedgerError.insufficientFunds(account: change.key.description)
            }
        }

        let insert = sql.insert(into: LedgerPosting.schema)
            .columns("id", "transaction_id", "account_id", "side", "amount", "created_at")
        for entry in draft.entries {
            insert.values(SQLBind(UUID()), SQLBind(transactionID), SQLBind(try id(of: entry.account)), SQLBind(entry.side.rawValue), SQLBind(entry.amount.fen), SQLBind(now))
        }
        try await insert.run()
        return Posted(transactionID: transactionID, replayed: false)
    }

    /// The account's balance, in its normal direction, as the postings say.
    func balance(of key: LedgerAccountKey) async throws -> Money {
        let sql = try sqlDatabase(db)
        let rows = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN p.side = 'debit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS debits,
                   CAST(COALESCE(SUM(CASE WHEN p.side = 'credit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS credits
            FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id
            WHERE a.purpose = \(bind: key.purpose.rawValue) AND a.owner_kind = \(bind: key.owner.kind.rawValue) AND a.owner_id = \(bind: key.owner.ownerID)
            """).all()
        guard let row = rows.first else { return .zero }
        let debits = try row.decode(column: "debits", as: Int64.self)
        let credits = try row.decode(column: "credits", as: Int64.self)
        return Money(fen: key.purpose.normalSide == .debit ? debits - credits : credits - debits)
    }

    /// Recomputes every transaction's sum and every account's balance from the postings.
    func verify() async throws -> LedgerVerificationReport {
        let sql = try sqlDatabase(db)
        let transactionRows = try await sql.raw("""
            SELECT t.id AS id,
                   CAST(COALESCE(SUM(CASE WHEN p.side = 'debit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS debits,
                   CAST(COALESCE(SUM(CASE WHEN p.side = 'credit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS credits
            FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
            GROUP BY t.id
            """).all()
        let transactions = try transactionRows.map { row in
            LedgerVerification.TransactionTotals(
                transactionID: try row.decode(column: "id", as: UUID.self).uuidString,
                debits: try row.decode(column: "debits", as: Int64.self),
                credits: try row.decode(column: "credits", as: Int64.self))
        }
        let accountRows = try await sql.raw("""
            SELECT a.id AS id, a.purpose AS purpose, a.owner_kind AS owner_kind, a.owner_id AS owner_id, a.balance AS balance,
                   CAST(COALESCE(SUM(CASE WHEN p.side = 'debit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS debits,
                   CAST(COALESCE(SUM(CASE WHEN p.side = 'credit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS credits
            FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
            GROUP BY a.id, a.purpose, a.owner_kind, a.owner_id, a.balance
            """).all()
        let accounts = try accountRows.map { row in
            let purposeRaw = try row.decode(column: "purpose", as: String.self)
            guard let purpose = LedgerAccountPurpose(rawValue: purposeRaw) else {
                throw Abort(.internalServerError, reason: "unknown ledger account purpose \(purposeRaw)")
            }
            let owner = "\(try row.decode(column: "owner_kind", as: String.self)):\(try row.decode(column: "owner_id", as: String.self))"
            return LedgerVerification.AccountBalances(
                accountID: try row.decode(column: "id", as: UUID.self).uuidString,
                label: "\(purposeRaw)@\(owner)",
                purpose: purpose,
                cached: try row.decode(column: "balance", as: Int64.self),
                debits: try row.decode(column: "debits", as: Int64.self),
                credits: try row.decode(column: "credits", as: Int64.self))
        }
        let postingCount = try await LedgerPosting.query(on: db).count()
        return LedgerVerificationReport(
            transactionCount: transactions.count,
            accountCount: accounts.count,
            postingCount: postingCount,
            totalDebits: transactions.reduce(0) { $0 + $1.debits },
            problems: LedgerVerification.problems(transactions: transactions, accounts: accounts).map(\.description))
    }

    private func existingTransactionID(for key: String, on db: any Database) async throws -> UUID? {
        try await LedgerTransactionRecord.query(on: db).filter(\.$idempotencyKey == key).first()?.id
    }

    /// Opens accounts ahead of their first posting (for example when a merchant is approved).
    func openAccounts(_ keys: [LedgerAccountKey]) async throws -> [LedgerAccountKey: UUID] {
        try await accountIDs(for: Set(keys))
    }

    /// Creates missing accounts and returns the id of each.
    private func accountIDs(for keys: Set<LedgerAccountKey>) async throws -> [LedgerAccountKey: UUID] {
        let sql = try sqlDatabase(db)
        var ids: [LedgerAccountKey: UUID] = [:]
        for key in keys {
            let rows = try await sql.raw("""
                INSERT INTO ledger_accounts (id, purpose, owner_kind, owner_id, balance, created_at)
                VALUES (\(bind: UUID()), \(bind: key.purpose.rawValue), \(bind: key.owner.kind.rawValue), \(bind: key.owner.ownerID), \(bind: Int64(0)), \(bind: now))
                ON CONFLICT (purpose, owner_kind, owner_id) DO NOTHING RETURNING id
                """).all()
            if let row = rows.first {
                ids[key] = try row.decode(column: "id", as: UUID.self)
            } else {
                let existing = try await sql.raw("""
                    SELECT id FROM ledger_accounts
                    WHERE purpose = \(bind: key.purpose.rawValue) AND owner_kind = \(bind: key.owner.kind.rawValue) AND owner_id = \(bind: key.owner.ownerID)
                    """).first()
                guard let existing else { throw Abort(.internalServerError, reason: "ledger account \(key) vanished") }
                ids[key] = try existing.decode(column: "id", as: UUID.self)
            }
        }
        return ids
    }
}

struct LedgerVerificationReport: Content, Equatable {
    let transactionCount: Int
    let accountCount: Int
    let postingCount: Int
    let totalDebits: Int64
    let problems: [String]
    var ok: Bool { problems.isEmpty }
}

func sqlDatabase(_ db: any Database) throws -> any SQLDatabase {
    guard let sql = db as? any SQLDatabase else { throw Abort(.internalServerError, reason: "the database does not speak SQL") }
    return sql
}

extension Request {
    var ledger: LedgerService { LedgerService(db: db, now: now, gate: application.writeGate) }
}
