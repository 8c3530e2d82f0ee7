import Foundation
import MallCore
import SQLKit
import Vapor

/// `fission bench-ledger-verify --transactions N`: fills a throw-away database with N linked
/// top-up transactions in batched raw SQL, then times `verify` and reports its peak memory.
struct BenchLedgerVerifyCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "transactions", help: "Transactions to write before verifying (default 100000)")
        var transactions: Int?
        @Option(name: "members", help: "Member accounts the top-ups go to (default 1000)")
        var members: Int?
    }

    var help: String { "Fills a throw-away ledger, then times verify-ledger and reports its peak RSS." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let count = signature.transactions ?? 100_000
        let memberCount = max(signature.members ?? 1_000, 1)
        let ledger = LedgerService(db: app.db, now: Date(), gate: app.writeGate)
        let fillStart = ContinuousClock.now
        try await LedgerFill(app: app, ledger: ledger).fill(transactions: count, members: memberCount)
        let fill = ContinuousClock.now - fillStart

        let before = MemoryStatus.read()
        MemoryStatus.resetPeak()
        let start = ContinuousClock.now
        let report = try await ledger.verify()
        let elapsed = ContinuousClock.now - start
        let after = MemoryStatus.read()
        let database = app.config.databaseURL == nil ? "SQLite" : "PostgreSQL"
        context.console.print("verify-ledger on \(database): \(report.transactionCount) transactions, \(report.postingCount) postings, \(report.accountCount) accounts in \(seconds(elapsed)) s (filled in \(seconds(fill)) s); \(report.ok ? "OK" : "\(report.problems.count) problems")")
        context.console.print("  RSS before verify \(before?.rssKiB ?? 0) KiB; peak during verify (VmHWM) \(after?.peakKiB ?? 0) KiB")
        guard report.ok else { throw LedgerVerificationFailed(count: report.problems.count) }
    }

    private func seconds(_ d: Duration) -> String {
        String(format: "%.2f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

/// `fission ledger-load --from I --count N`: posts top-ups with keys `load:<i>` to a fixed set of
/// members, as a second process would. Two runs over overlapping ranges must post each key once.
struct LedgerLoadCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "from", help: "First key number (default 0)")
        var from: Int?
        @Option(name: "count", help: "Keys to post (default 1000)")
        var count: Int?
        @Option(name: "members", help: "Members the top-ups go to (default 10)")
        var members: Int?
    }

    var help: String { "Posts ledger top-ups with numbered keys; for load and two-process tests on a throw-away database." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let from = signature.from ?? 0
        let count = max(signature.count ?? 1_000, 0)
        let members = max(signature.members ?? 10, 1)
        var posted = 0
        var replayed = 0
        for i in from..<(from + count) {
            let result = try await LedgerService(db: app.db, now: Date(), gate: app.writeGate).post(try Self.topUp(i, members: members))
            if result.replayed { replayed += 1 } else { posted += 1 }
        }
        context.console.print("posted=\(posted) replayed=\(replayed)")
    }

    /// Key `load:<i>`, 100 + i % 7 fen to member number i % members.
    static func topUp(_ i: Int, members: Int) throws -> LedgerTransactionDraft {
        LedgerTransactionDraft(idempotencyKey: "load:\(i)", kind: "member_topup", entries: [
            .debit(.platform(.paymentClearing), Money(fen: Int64(100 + i % 7))),
            .credit(try LedgerAccountKey(.memberBalance, .member(member(i % members))), Money(fen: Int64(100 + i % 7))),
        ])
    }

    static func member(_ number: Int) -> UUID {
        UUID(uuidString: String(format: "00000000-0000-4000-8000-%012ld", number))!
    }
}

/// Writes linked transactions in batches of raw SQL, computing the chain as posting does.
struct LedgerFill {
    let app: Application
    let ledger: LedgerService

    func fill(transactions count: Int, members memberCount: Int, batch: Int = 500) async throws {
        let clearing = LedgerAccountKey.platform(.paymentClearing)
        let members = try (0..<memberCount).map { try LedgerAccountKey(.memberBalance, .member(LedgerLoadCommand.member($0))) }
        let ids = try await ledger.openAccounts([clearing] + members)
        guard let clearingID = ids[clearing] else { throw Abort(.internalServerError, reason: "no clearing account") }
        let memberIDs = try members.map { key in
            guard let id = ids[key] else { throw Abort(.internalServerError, reason: "no account \(key)") }
            return id
        }
        let head = try await ledger.chainHead()
        var previous = LedgerHashing.bytes(hex: head.hash) ?? []
        var sequence = head.sequence
        var balances = [Int64](repeating: 0, count: memberCount)
        var clearingBalance: Int64 = 0
        let start = Date(timeIntervalSince1970: 1_767_225_600)
        var written = 0
        while written < count {
            let n = min(batch, count - written)
            var transactions: [SQLQueryString] = []
            var postings: [SQLQueryString] = []
            for j in 0..<n {
                let i = written + j
                let member = i % memberCount
                let amount = Int64(100 + i % 97)
                let id = UUID()
                let key = "fill:\(i)"
                let createdAt = LedgerHashing.storedTime(start.addingTimeInterval(Double(i) / 1_000))
                let draft = LedgerTransactionDraft(idempotencyKey: key, kind: "member_topup", entries: [
                    .debit(clearing, Money(fen: amount)), .credit(members[member], Money(fen: amount)),
                ])
                let hash = LedgerHashing.sha256(LedgerChain.link(
                    previousHash: previous, transactionID: LedgerHashing.text(id), idempotencyKey: key, kind: draft.kind,
                    createdAtMicros: LedgerHashing.micros(createdAt),
                    postings: [(LedgerHashing.text(clearingID), .debit, amount), (LedgerHashing.text(memberIDs[member]), .credit, amount)]))
                sequence += 1
                previous = hash
                balances[member] += amount
                clearingBalance += amount
                transactions.append("(\(bind: id), \(bind: key), 'member_topup', '', \(bind: createdAt), \(bind: LedgerHashing.digest(of: draft)), \(bind: sequence), \(bind: LedgerHashing.hex(hash)), 2)")
                postings.append("(\(bind: UUID()), \(bind: id), \(bind: clearingID), 'debit', \(bind: amount), \(bind: createdAt))")
                postings.append("(\(bind: UUID()), \(bind: id), \(bind: memberIDs[member]), 'credit', \(bind: amount), \(bind: createdAt))")
            }
            let transactionRows = transactions.joined(separator: ", ")
            let postingRows = postings.joined(separator: ", ")
            try await app.writeGate.transaction(on: app.db) { tx in
                let sql = try sqlDatabase(tx)
                try await sql.raw("""
                    INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
                    VALUES \(transactionRows)
                    """).run()
                try await sql.raw("INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at) VALUES \(postingRows)").run()
            }
            written += n
        }
        let finalBalances = balances
        let finalClearing = clearingBalance
        try await app.writeGate.transaction(on: app.db) { tx in
            let sql = try sqlDatabase(tx)
            try await sql.raw("UPDATE ledger_accounts SET balance = balance + \(bind: finalClearing) WHERE id = \(bind: clearingID)").run()
            for (index, id) in memberIDs.enumerated() where finalBalances[index] != 0 {
                try await sql.raw("UPDATE ledger_accounts SET balance = balance + \(bind: finalBalances[index]) WHERE id = \(bind: id)").run()
            }
        }
    }
}

/// This process's resident memory from /proc/self/status (Linux); nil elsewhere.
enum MemoryStatus {
    struct Reading { let rssKiB: Int; let peakKiB: Int }

    static func read() -> Reading? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        func value(_ field: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        }
        guard let rss = value("VmRSS"), let peak = value("VmHWM") else { return nil }
        return Reading(rssKiB: rss, peakKiB: peak)
    }

    /// Sets the peak (VmHWM) back to the current RSS, so that the next reading covers what follows.
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
