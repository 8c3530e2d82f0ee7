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
        let now = self.now
        return try await gate.transaction(on: db) { tx in
            try await LedgerService(db: tx, now: now).postWithinTransaction(draft)
        }
    }

    /// Posts on `db`, which must already be inside a transaction (on SQLite, one begun with
    /// `BEGIN IMMEDIATE` through the write gate).
    ///
    /// Four statements when every account exists: lock the chain head, move the balances (which
    /// also finds the account ids and sees whether the key was used), insert the transaction,
    /// insert its postings.
    func postWithinTransaction(_ draft: LedgerTransactionDraft) async throws -> Posted {
        let draft = try draft.validated()
        let sql = try sqlDatabase(db)
        let digest = LedgerHashing.digest(of: draft)
        let deltas = try draft.balanceDeltas
        let keys = deltas.keys.sorted(by: LedgerAccountKey.storageOrder)

        // The chain head is every posting's first lock, held to commit: links are appended one at a
        // time, and since nothing in the ledger is locked before it, no two postings wait in a circle.
        let head = try await sql.raw("""
            SELECT sequence, hash FROM ledger_chain_head WHERE id = 1\(unsafeRaw: sql.dialect.name == "postgresql" ? " FOR UPDATE" : "")
            """).first()
        guard let head else { throw Abort(.internalServerError, reason: "the ledger chain head is missing") }
        let sequence = try head.decode(column: "sequence", as: Int64.self) + 1
        guard let previousHash = LedgerHashing.bytes(hex: try head.decode(column: "hash", as: String.self)) else {
            throw Abort(.internalServerError, reason: "the ledger chain head is not a hash")
        }

        var ids = try await applyDeltas(keys, deltas, unlessKeyUsed: draft.idempotencyKey, sql)
        if ids.count < keys.count {
            let existing = try await sql.raw("""
                SELECT id, draft_digest FROM ledger_transactions WHERE idempotency_key = \(bind: draft.idempotencyKey)
                """).first()
            if let existing {
                guard try existing.decode(column: "draft_digest", as: String?.self) == digest else { throw LedgerError.idempotencyKeyReused }
                return Posted(transactionID: try existing.decode(column: "id", as: UUID.self), replayed: true)
            }
            // First postings to some accounts, or a balance bound refused the change.
            let missing = keys.filter { ids[$0] == nil }
            try await createAccounts(missing, sql)
            let created = try await applyDeltas(missing, deltas, unlessKeyUsed: nil, sql)
            ids.merge(created) { first, _ in first }
            if let refused = keys.first(where: { ids[$0] == nil }) {
                let delta = deltas[refused] ?? 0
                throw delta < 0 && !refused.purpose.mayGoNegative ? LedgerError.insufficientFunds(account: refused.description) : LedgerError.overflow
            }
        }

        let transactionID = UUID()
        let createdAt = LedgerHashing.storedTime(now)
        var postings: [(id: UUID, account: UUID, side: LedgerSide, amount: Int64)] = []
        for entry in draft.entries {
            guard let account = ids[entry.account] else { throw Abort(.internalServerError, reason: "no ledger account for \(entry.account)") }
            postings.append((UUID(), account, entry.side, entry.amount.fen))
        }
        let hash = LedgerHashing.sha256(LedgerChain.link(
            previousHash: previousHash, transactionID: LedgerHashing.text(transactionID), idempotencyKey: draft.idempotencyKey,
            kind: draft.kind, createdAtMicros: LedgerHashing.micros(createdAt),
            postings: postings.map { (LedgerHashing.text($0.account), $0.side, $0.amount) }))
        try await sql.raw("""
            INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
            VALUES (\(bind: transactionID), \(bind: draft.idempotencyKey), \(bind: draft.kind), \(bind: draft.memo), \(bind: createdAt),
                    \(bind: digest), \(bind: sequence), \(bind: LedgerHashing.hex(hash)), \(bind: postings.count))
            """).run()
        let values = postings.map { p -> SQLQueryString in
            "(\(bind: p.id), \(bind: transactionID), \(bind: p.account), \(bind: p.side.rawValue), \(bind: p.amount), \(bind: createdAt))"
        }
        try await sql.raw("""
            INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at) VALUES \(values.joined(separator: ", "))
            """).run()
        return Posted(transactionID: transactionID, replayed: false)
    }

    /// Moves each account's balance by its delta where the result stays within the account's
    /// bounds, in one statement, and returns the ids of the accounts it moved. With `unlessKeyUsed`
    /// it moves nothing once a transaction holds that key.
    private func applyDeltas(_ keys: [LedgerAccountKey], _ deltas: [LedgerAccountKey: Int64], unlessKeyUsed key: String?,
                             _ sql: any SQLDatabase) async throws -> [LedgerAccountKey: UUID] {
        guard !keys.isEmpty else { return [:] }
        let rows = keys.map { account -> SQLQueryString in
            let delta = deltas[account] ?? 0
            let range = account.purpose.balanceRange(beforeApplying: delta)
            return "(\(bind: account.purpose.rawValue), \(bind: account.owner.kind.rawValue), \(bind: account.owner.ownerID), \(bind: delta), \(bind: range.lowerBound), \(bind: range.upperBound))"
        }
        let keyGuard: SQLQueryString = key.map { key -> SQLQueryString in " AND NOT EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = \(bind: key))" } ?? ""
        let moved = try await sql.raw("""
            UPDATE ledger_accounts SET balance = balance + v.column4
            FROM (VALUES \(rows.joined(separator: ", "))) AS v
            WHERE ledger_accounts.purpose = v.column1 AND ledger_accounts.owner_kind = v.column2 AND ledger_accounts.owner_id = v.column3
              AND ledger_accounts.balance BETWEEN v.column5 AND v.column6\(keyGuard)
            RETURNING ledger_accounts.id AS id, ledger_accounts.purpose AS purpose, ledger_accounts.owner_kind AS owner_kind, ledger_accounts.owner_id AS owner_id
            """).all()
        return try accountIDs(from: moved)
    }

    /// Inserts the accounts that do not exist yet, in storage order.
    private func createAccounts(_ keys: [LedgerAccountKey], _ sql: any SQLDatabase) async throws {
        guard !keys.isEmpty else { return }
        let rows = keys.sorted(by: LedgerAccountKey.storageOrder).map { key -> SQLQueryString in
            "(\(bind: UUID()), \(bind: key.purpose.rawValue), \(bind: key.owner.kind.rawValue), \(bind: key.owner.ownerID), \(bind: Int64(0)), \(bind: now))"
        }
        try await sql.raw("""
            INSERT INTO ledger_accounts (id, purpose, owner_kind, owner_id, balance, created_at) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (purpose, owner_kind, owner_id) DO NOTHING
            """).run()
    }

    private func accountIDs(from rows: [any SQLRow]) throws -> [LedgerAccountKey: UUID] {
        var ids: [LedgerAccountKey: UUID] = [:]
        for row in rows {
            let purposeRaw = try row.decode(column: "purpose", as: String.self)
            let kindRaw = try row.decode(column: "owner_kind", as: String.self)
            guard let purpose = LedgerAccountPurpose(rawValue: purposeRaw), let kind = LedgerOwnerKind(rawValue: kindRaw),
                  let owner = LedgerOwner(kind: kind, ownerID: try row.decode(column: "owner_id", as: String.self)) else {
                throw Abort(.internalServerError, reason: "unreadable ledger account \(purposeRaw)")
            }
            ids[try LedgerAccountKey(purpose, owner)] = try row.decode(column: "id", as: UUID.self)
        }
        return ids
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

    /// Opens accounts ahead of their first posting (for example when a merchant is approved).
    func openAccounts(_ keys: [LedgerAccountKey]) async throws -> [LedgerAccountKey: UUID] {
        let keys = Set(keys).sorted(by: LedgerAccountKey.storageOrder)
        guard !keys.isEmpty else { return [:] }
        let sql = try sqlDatabase(db)
        try await createAccounts(keys, sql)
        let rows = keys.map { key -> SQLQueryString in
            "(\(bind: key.purpose.rawValue), \(bind: key.owner.kind.rawValue), \(bind: key.owner.ownerID))"
        }
        let found = try await sql.raw("""
            SELECT a.id AS id, a.purpose AS purpose, a.owner_kind AS owner_kind, a.owner_id AS owner_id
            FROM ledger_accounts a JOIN (VALUES \(rows.joined(separator: ", "))) AS v
              ON a.purpose = v.column1 AND a.owner_kind = v.column2 AND a.owner_id = v.column3
            """).all()
        return try accountIDs(from: found)
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
