import Vapor

/// `fission verify-ledger`: recomputes every balance and transaction sum and checks the hash chain;
/// exits non-zero on any difference.
struct VerifyLedgerCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Checks that every ledger transaction balances, every balance matches its postings and the hash chain holds." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let ledger = LedgerService(db: app.db, now: app.clock.now())
        let report = try await ledger.verify()
        let head = try await ledger.chainHead()
        context.console.print("ledger: \(report.transactionCount) transactions, \(report.postingCount) postings, \(report.accountCount) accounts, debits = credits = \(report.totalDebits) fen")
        if report.ok {
            context.console.print("OK: every transaction balances, every balance matches its postings and the hash chain holds.")
            // Kept somewhere the database's owner cannot write, this line shows any later rewrite of the chain.
            context.console.print("chain head: transaction \(head.sequence), hash \(head.hash.isEmpty ? "-" : head.hash)")
        } else {
            for problem in report.problems { context.console.error("PROBLEM: \(problem)") }
            throw LedgerVerificationFailed(count: report.problems.count)
        }
    }
}

struct LedgerVerificationFailed: Error, CustomStringConvertible {
    let count: Int
    var description: String { "ledger verification found \(count) problem(s)" }
}
