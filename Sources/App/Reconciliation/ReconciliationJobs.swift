import Foundation
import MallCore
import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// `fission reconcile [--date YYYY-MM-DD] [--provider sandbox|wechat|alipay]`: one day (yesterday in
/// China time when no date is given) for every configured provider, or for the one named.
struct ReconcileCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "date", help: "The bill day, YYYY-MM-DD (China time); yesterday when absent.")
        var date: String?
        @Option(name: "provider", help: "sandbox, wechat or alipay; every configured provider when absent.")
        var provider: String?
    }

    var help: String { "Compares payment providers' bills for a day with the ledger and lists the differences for operators." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let now = app.clock.now()
        let day = try signature.date.map { try ReconciliationError.day($0, now: now) } ?? BillDay.containing(now)?.previous
        guard let day else { throw ReconciliationError.badDate(field: "date") }
        let provider = try signature.provider.map { try ReconciliationError.provider($0) }
        let runs = try await ReconciliationService.run(day: day, only: provider, app: app)
        if runs.isEmpty { context.console.print("\(day): no payment provider configured") }
        for run in runs {
            if run.status == ReconciliationRun.Status.failed.rawValue {
                context.console.error("\(run.billDay) \(run.provider): failed — \(run.message)")
            } else {
                context.console.print("\(run.billDay) \(run.provider): \(run.matched) matched, \(run.differences) difference(s); "
                    + "bill \(run.providerPayments) payment(s) \(Money(fen: run.providerPaymentAmount).formatted(.en)), \(run.providerRefunds) refund(s) \(Money(fen: run.providerRefundAmount).formatted(.en)); "
                    + "ledger \(run.ourPayments) payment(s) \(Money(fen: run.ourPaymentAmount).formatted(.en)), \(run.ourRefunds) refund(s) \(Money(fen: run.ourRefundAmount).formatted(.en))")
            }
        }
    }
}

/// While `fission serve` runs, yesterday's bills are reconciled once they are published (checked
/// every half hour; FISSION_JOBS=off turns it off, as for the other jobs).
struct ScheduledReconciliation: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve",
              ProcessInfo.processInfo.environment["FISSION_JOBS"] != "off" else { return }
        let started = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .minutes(2), delay: .minutes(30)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do {
                    for run in try await ReconciliationService.runDue(app) {
                        app.logger.info("reconciliation \(run.provider) \(run.billDay): \(run.status), \(run.differences) difference(s) \(run.message)")
                    }
                } catch {
                    app.logger.error("reconciliation job failed: \(error)")
                }
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}
