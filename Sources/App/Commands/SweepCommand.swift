import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// `fission sweep`: deletes expired sessions and idle rate counters once.
struct SweepCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Deletes expired sessions and rate counters no longer in any window." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let report = try await Sweeper.run(on: app.db, gate: app.writeGate, now: app.clock.now())
        context.console.print("swept \(report.sessions) expired session(s) and \(report.counters) idle rate counter(s)")
    }
}

/// While `fission serve` runs, the sweep runs every hour (FISSION_JOBS=off turns it off, for
/// instances that leave it to another one or to a timer).
struct ScheduledSweep: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve",
              ProcessInfo.processInfo.environment["FISSION_JOBS"] != "off" else { return }
        let started = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .minutes(1), delay: .hours(1)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do {
                    let report = try await Sweeper.run(on: app.db, gate: app.writeGate, now: app.clock.now())
                    app.logger.info("swept \(report.sessions) expired session(s), \(report.counters) idle rate counter(s)")
                } catch {
                    app.logger.error("sweep failed: \(error)")
                }
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}
