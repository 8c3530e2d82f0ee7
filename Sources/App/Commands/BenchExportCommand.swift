import Fluent
import Foundation
import Vapor

/// `fission bench-export`: on a catalog made by `bench-catalog`, times the CSV export of a quarter
/// of the self-operated shop's products and of all of them. Linear work gives a ratio near 4; the
/// export it replaced grew with the square (a ratio near 16).
struct BenchExportCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Times the catalog CSV export at a quarter and at all of a bench catalog." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let total = try await Product.query(on: app.db).filter(\.$merchant.$id == Merchant.selfOperatedID).count()
        guard total >= 400 else { throw ConfigError("bench-export needs a catalog from bench-catalog (at least 400 products)") }
        func time(_ products: Int) async throws -> (seconds: Double, bytes: Int) {
            let start = ContinuousClock.now
            let text = try await CatalogCSV.export(merchantID: Merchant.selfOperatedID, on: app.db, products: products)
            let elapsed = ContinuousClock.now - start
            return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, text.utf8.count)
        }
        _ = try await time(total / 4)  // warm the page cache
        let quarter = try await time(total / 4)
        let all = try await time(total)
        context.console.print(String(format: "CSV export: %d products %.3f s (%d KB), %d products %.3f s (%d KB); ratio %.2f (4 = linear, 16 = quadratic)",
                                     total / 4, quarter.seconds, quarter.bytes / 1024, total, all.seconds, all.bytes / 1024, all.seconds / max(quarter.seconds, 1e-9)))
    }
}
