import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// `fission bench`: money-core throughput, each figure beside a baseline measured in the same run.
/// Meant for a release build on a throw-away database (scripts/bench.sh sets one up).
struct BenchCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "transactions", help: "Ledger transactions to post (default 2000)")
        var transactions: Int?
        @Option(name: "allocations", help: "Allocation calls (default 1000000; 0 skips)")
        var allocations: Int?
    }

    var help: String { "Benchmarks allocation and ledger posting against same-run baselines." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let console = context.console
        let app = context.application
        let database = app.config.databaseURL == nil ? "SQLite (\(app.config.sqlitePath))" : "PostgreSQL"

        let calls = signature.allocations ?? 1_000_000
        if calls > 0 { try benchAllocation(calls: calls, console: console) }

        // Ledger posting against a transaction written by hand that writes the same rows: the chain
        // head locked and read, both balances moved, the transaction row (which moves the head) and
        // its two postings. Rounds alternate so that neither side gets the warmer database.
        let count = signature.transactions ?? 2_000
        let postgres = app.config.databaseURL != nil
        let ledger = LedgerService(db: app.db, now: Date(), gate: app.writeGate)
        let clearing = LedgerAccountKey.platform(.paymentClearing)
        let members = try (0..<50).map { _ in try LedgerAccountKey(.memberBalance, .member(UUID())) }
        let ids = try await ledger.openAccounts([clearing] + members)
        guard let clearingID = ids[clearing] else { throw Abort(.internalServerError, reason: "no clearing account") }
        let memberIDs = try members.map { key in
            guard let id = ids[key] else { throw Abort(.internalServerError, reason: "no account for \(key)") }
            return id
        }
        let filler = String(repeating: "0", count: 64)
        var raw = 0.0
        var posting = 0.0
        let rounds = 4
        for round in 0..<rounds {
            let range = (count * round / rounds)..<(count * (round + 1) / rounds)
            raw += try await measureAsync {
                for i in range {
                    let memberID = memberIDs[i % memberIDs.count]
                    try await app.writeGate.transaction(on: app.db) { tx in
                        let sql = try sqlDatabase(tx)
                        let head = try await sql.raw("SELECT sequence, hash FROM ledger_chain_head WHERE id = 1\(unsafeRaw: postgres ? " FOR UPDATE" : "")").first()
                        let sequence = try (head?.decode(column: "sequence", as: Int64.self) ?? 0) + 1
                        try await sql.raw("UPDATE ledger_accounts SET balance = balance + 100 WHERE id IN (\(bind: clearingID), \(bind: memberID))").run()
                        let transactionID = UUID()
                        let now = Date()
                        try await sql.raw("""
                            INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
                            VALUES (\(bind: transactionID), \(bind: "raw:\(transactionID)"), 'bench_topup', '', \(bind: now), \(bind: filler), \(bind: sequence), \(bind: filler), 2)
                            """).run()
                        try await sql.raw("""
                            INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at)
                            VALUES (\(bind: UUID()), \(bind: transactionID), \(bind: clearingID), 'debit', 100, \(bind: now)),
                                   (\(bind: UUID()), \(bind: transactionID), \(bind: memberID), 'credit', 100, \(bind: now))
                            """).run()
                    }
                }
            }
            posting += try await measureAsync {
                for i in range {
                    _ = try await ledger.post(LedgerTransactionDraft(
                        idempotencyKey: "bench:\(UUID().uuidString)", kind: "bench_topup",
                        entries: [.debit(clearing, Money(fen: 100)), .credit(members[i % members.count], Money(fen: 100))]))
                }
            }
        }
        console.print("ledger on \(database): \(count) transactions (\(count * 2) postings) in \(format(posting)) s = \(CheckedNumber.int(Double(count) / posting) ?? 0) transactions/s; the same rows written by hand in one transaction each \(CheckedNumber.int(Double(count) / raw) ?? 0)/s; ratio \(format(raw / posting)) of the hand-written rate")
    }

    /// Allocation against a naive proportional split (no remainder handling) over the same inputs.
    private func benchAllocation(calls: Int, console: any Console) throws {
        let weights: [Int64] = [12_900, 4_990, 99_900, 1, 35_000, 7_777, 150, 60_000, 8_800, 2_345]
        var checksum: Int64 = 0
        let naive = measure {
            for i in 0..<calls {
                let total = Int64(100_000 + i % 997)
                let sum = weights.reduce(0, +)
                for w in weights { checksum &+= total * w / sum }
            }
        }
        let allocation = try measure {
            for i in 0..<calls {
                let parts = try Allocation.split(Money(fen: Int64(100_000 + i % 997)), byWeights: weights)
                checksum &+= parts[0].fen
            }
        }
        console.print("allocation: \(calls) splits of 10 parts in \(format(allocation)) s = \(CheckedNumber.int(Double(calls) / allocation) ?? 0) splits/s; naive floor split \(format(naive)) s; ratio \(format(allocation / naive))× the naive split (checksum \(checksum % 10))")
    }

    private func measure(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return max(seconds(ContinuousClock.now - start), 1e-9)
    }

    private func measureAsync(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        return max(seconds(ContinuousClock.now - start), 1e-9)
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
