import Fluent
import Foundation
import MallCore
import Vapor

/// Demo data for the console's reconciliation page: two sandbox charges from yesterday whose
/// notifications never reached the mall (their checkouts do not exist here), and yesterday's
/// sandbox run, which lists them as payments extra at the provider for an operator to resolve.
enum ReconciliationDemo {
    static func seed(app: Application) async throws {
        guard app.paymentGateways[.sandbox] != nil, let day = BillDay.containing(app.clock.now())?.previous else { return }
        let noon = day.window.start.addingTimeInterval(12 * 3600)
        try await app.writeGate.transaction(on: app.db) { db in
            for (index, fen) in [Int64(12_800), 3_990].enumerated() {
                let charge = SandboxCharge()
                charge.paymentNo = "PDEMO\(day.compact)\(index + 1)"
                charge.tradeNo = "SBXDEMO\(day.compact)\(index + 1)"
                charge.amount = fen
                charge.paidAt = noon.addingTimeInterval(Double(index) * 600)
                try await charge.create(on: db)
            }
        }
        try await ReconciliationService.run(.sandbox, day: day, app: app)
    }
}
