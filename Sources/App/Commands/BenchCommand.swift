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

        // Ledger posting against a plain one-row insert transaction on the same database.
        let count = signature.transactions ?? 2_000
        let sql = try sqlDatabase(app.db)
        try await sql.raw("CREATE TABLE IF NOT EXISTS bench_plain (id TEXT PRIMARY KEY, amount BIGINT NOT NULL)").run()
        let plain = try await measureAsync {
            for _ in 0..<count {
                try await app.writeGate.transaction(on: app.db) { tx in
                    try await sqlDatabase(tx).raw("INSERT INTO bench_plain (id, amount) VALUES (\(bind: UUID().uuidString), \(bind: Int64(100)))").run()
                }
            }
        }
        let members = (0..<50).map { _ in UUID() }
        let ledger = LedgerService(db: app.db, now: Date(), gate: app.writeGate)
        let posting = try await measureAsync {
            for i in 0..<count {
                let member = members[i % members.count]
                _ = try await ledger.post(LedgerTransactionDraft(
                    idempotencyKey: "bench:\(UUID().uuidString)", kind: "bench_topup",
                    entries: [
                        .debit(.platform(.paymentClearing), Money(fen: 100)),
                        .credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: 100)),
                    ]))
            }
        }
        let postingsPerSecond = Double(count * 2) / posting
        console.print("ledger on \(database): \(count) transactions (\(count * 2) postings) in \(format(posting)) s = \(Int(postingsPerSecond)) postings/s, \(Int(Double(count) / posting)) transactions/s; plain one-row insert transactions \(Int(Double(count) / plain))/s; ratio \(format(plain / posting)) of the plain insert rate")
        try await sql.raw("DROP TABLE bench_plain").run()
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
        console.print("allocation: \(calls) splits of 10 parts in \(format(allocation)) s = \(Int(Double(calls) / allocation)) splits/s; naive floor split \(format(naive)) s; ratio \(format(allocation / naive))× the naive split (checksum \(checksum % 10))")
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
