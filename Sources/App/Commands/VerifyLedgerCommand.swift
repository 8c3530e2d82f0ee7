import Vapor

/// `fission verify-ledger`: recomputes every balance and transaction sum; exits non-zero on any difference.
struct VerifyLedgerCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Checks that every ledger transaction balances and every balance matches its postings." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let report = try await LedgerService(db: app.db, now: app.clock.now()).verify()
        context.console.print("ledger: \(report.transactionCount) transactions, \(report.postingCount) postings, \(report.accountCount) accounts, debits = credits = \(report.totalDebits) fen")
        if report.ok {
            context.console.print("OK: every transaction balances and every balance matches its postings.")
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
