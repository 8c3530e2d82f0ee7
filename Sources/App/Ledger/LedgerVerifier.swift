import Foundation
import MallCore
import SQLKit
import Vapor

extension LedgerService {
    /// Recomputes every transaction's sum and every account's balance from the postings and checks
    /// the hash chain, a page at a time in chain order (keyset on the sequence number), so memory
    /// stays flat however long the ledger is. Reports at most `maxProblems` problems.
    func verify(pageSize: Int = 2_000, maxProblems: Int = 100) async throws -> LedgerVerificationReport {
        let sql = try sqlDatabase(db)
        var problems: [LedgerVerification.Problem] = []
        var more = 0
        func report(_ found: [LedgerVerification.Problem]) {
            for problem in found {
                if problems.count < maxProblems { problems.append(problem) } else { more += 1 }
            }
        }

        var transactionCount = 0
        var postingCount = 0
        var totalDebits: Int64 = 0
        var previousHash: [UInt8] = []
        var lastSequence: Int64 = 0
        var chainBroken = false
        // The head is read first: transactions posted while this runs come after it and are left out.
        let head = try await chainHead()
        while true {
            let page = try await sql.raw("""
                SELECT id, idempotency_key, kind, created_at, sequence, hash FROM ledger_transactions
                WHERE sequence > \(bind: lastSequence) AND sequence <= \(bind: head.sequence) ORDER BY sequence LIMIT \(literal: pageSize)
                """).all()
            guard let last = page.last else { break }
            let upper = try last.decode(column: "sequence", as: Int64.self)
            let postingRows = try await sql.raw("""
                SELECT p.transaction_id AS transaction_id, p.account_id AS account_id, p.side AS side, p.amount AS amount
                FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
                WHERE t.sequence > \(bind: lastSequence) AND t.sequence <= \(bind: upper)
                """).all()
            var postings: [UUID: [LedgerChain.Posting]] = [:]
            for row in postingRows {
                let sideRaw = try row.decode(column: "side", as: String.self)
                guard let side = LedgerSide(rawValue: sideRaw) else { throw Abort(.internalServerError, reason: "unknown posting side \(sideRaw)") }
                postings[try row.decode(column: "transaction_id", as: UUID.self), default: []]
                    .append((LedgerHashing.text(try row.decode(column: "account_id", as: UUID.self)), side, try row.decode(column: "amount", as: Int64.self)))
            }
            postingCount += postingRows.count

            var chain: [LedgerChain.Row] = []
            var totals: [LedgerVerification.TransactionTotals] = []
            for row in page {
                let id = try row.decode(column: "id", as: UUID.self)
                let own = postings[id] ?? []
                var debits: Int64 = 0
                var credits: Int64 = 0
                for posting in own {
                    // Sums past Int64 are corrupt anyway: they saturate and fail the balance check.
                    if posting.side == .debit {
                        let (sum, overflow) = debits.addingReportingOverflow(posting.amount)
                        debits = overflow ? .max : sum
                    } else {
                        let (sum, overflow) = credits.addingReportingOverflow(posting.amount)
                        credits = overflow ? .max : sum
                    }
                }
                let (total, overflow) = totalDebits.addingReportingOverflow(debits)
                totalDebits = overflow ? .max : total
                totals.append(.init(transactionID: LedgerHashing.text(id), debits: debits, credits: credits))
                chain.append(LedgerChain.Row(
                    transactionID: LedgerHashing.text(id),
                    idempotencyKey: try row.decode(column: "idempotency_key", as: String.self),
                    kind: try row.decode(column: "kind", as: String.self),
                    createdAtMicros: LedgerHashing.micros(try row.decode(column: "created_at", as: Date.self)),
                    postings: own,
                    hash: LedgerHashing.bytes(hex: try row.decode(column: "hash", as: String.self)) ?? []))
            }
            report(LedgerVerification.problems(transactions: totals, accounts: []))
            if !chainBroken {
                // A missing number is a removed transaction: the link after it cannot hold.
                if let chainBreak = LedgerChain.firstBreak(in: chain, after: previousHash, hash: LedgerHashing.sha256) {
                    report([.brokenChain(transactionID: chainBreak.transactionID)])
                    chainBroken = true
                } else if upper - lastSequence != Int64(page.count) {
                    report([.brokenChain(transactionID: chain[0].transactionID)])
                    chainBroken = true
                }
            }
            transactionCount += page.count
            previousHash = chain.last?.hash ?? []
            lastSequence = upper
        }

        if head.sequence != lastSequence {
            report([.chainHeadMismatch(headSequence: head.sequence, lastSequence: lastSequence)])
        } else if !chainBroken, LedgerHashing.hex(previousHash) != head.hash {
            report([.chainHeadMismatch(headSequence: head.sequence, lastSequence: lastSequence)])
        }
        let unlinked = try await sql.raw("SELECT COUNT(*) AS n FROM ledger_transactions WHERE sequence IS NULL")
            .first()?.decode(column: "n", as: Int.self) ?? 0
        if unlinked > 0 {
            transactionCount += unlinked
            report([.brokenChain(transactionID: "(\(unlinked) without a chain number)")])
        }

        // Accounts in pages by their unique key, each page joined to its postings through the account index.
        var accountCount = 0
        var after: (String, String, String)? = nil
        while true {
            let position: SQLQueryString = after.map { after -> SQLQueryString in
                "WHERE (purpose, owner_kind, owner_id) > (\(bind: after.0), \(bind: after.1), \(bind: after.2))"
            } ?? ""
            let page = try await sql.raw("""
                SELECT a.purpose AS purpose, a.owner_kind AS owner_kind, a.owner_id AS owner_id, a.id AS id, a.balance AS balance,
                  CAST(COALESCE(SUM(CASE WHEN p.side = 'debit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS debits,
                  CAST(COALESCE(SUM(CASE WHEN p.side = 'credit' THEN p.amount ELSE 0 END), 0) AS BIGINT) AS credits
                FROM (SELECT id, purpose, owner_kind, owner_id, balance FROM ledger_accounts \(position)
                      ORDER BY purpose, owner_kind, owner_id LIMIT \(literal: pageSize)) a
                LEFT JOIN ledger_postings p ON p.account_id = a.id
                GROUP BY a.purpose, a.owner_kind, a.owner_id, a.id, a.balance
                ORDER BY a.purpose, a.owner_kind, a.owner_id
                """).all()
            guard let last = page.last else { break }
            let accounts = try page.map { row in
                let purposeRaw = try row.decode(column: "purpose", as: String.self)
                guard let purpose = LedgerAccountPurpose(rawValue: purposeRaw) else {
                    throw Abort(.internalServerError, reason: "unknown ledger account purpose \(purposeRaw)")
                }
                let owner = "\(try row.decode(column: "owner_kind", as: String.self)):\(try row.decode(column: "owner_id", as: String.self))"
                return LedgerVerification.AccountBalances(
                    accountID: LedgerHashing.text(try row.decode(column: "id", as: UUID.self)),
                    label: "\(purposeRaw)@\(owner)",
                    purpose: purpose,
                    cached: try row.decode(column: "balance", as: Int64.self),
                    debits: try row.decode(column: "debits", as: Int64.self),
                    credits: try row.decode(column: "credits", as: Int64.self))
            }
            report(LedgerVerification.problems(transactions: [], accounts: accounts))
            accountCount += page.count
            after = (try last.decode(column: "purpose", as: String.self), try last.decode(column: "owner_kind", as: String.self),
                     try last.decode(column: "owner_id", as: String.self))
        }

        var descriptions = problems.map(\.description)
        if more > 0 { descriptions.append("… and \(more) more") }
        return LedgerVerificationReport(
            transactionCount: transactionCount, accountCount: accountCount, postingCount: postingCount,
            totalDebits: totalDebits, problems: descriptions)
    }

    /// The number and hash of the last linked transaction, as the head row says.
    func chainHead() async throws -> (sequence: Int64, hash: String) {
        guard let row = try await sqlDatabase(db).raw("SELECT sequence, hash FROM ledger_chain_head WHERE id = 1").first() else {
            throw Abort(.internalServerError, reason: "the ledger chain head is missing")
        }
        return (try row.decode(column: "sequence", as: Int64.self), try row.decode(column: "hash", as: String.self))
    }
}
