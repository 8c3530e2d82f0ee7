import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// The flash sale benchmark (scripts/bench.sh), in three steps on a throw-away database:
/// `bench-flash setup` writes buyers with tokens and addresses and a flash sale of two items of
/// N units each; `bench-flash load` fires purchase attempts at one item through a running server
/// over HTTP, each client its own buyer; `bench-flash baseline` does the same conditional
/// decrement on the other item in raw SQL from as many connections. Both fail unless exactly N
/// units were sold.
struct BenchFlashSaleCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "step", help: "setup, load or baseline")
        var step: String
        @Option(name: "units", help: "Units of each item (setup; default 500)")
        var units: Int?
        @Option(name: "clients", help: "Concurrent clients, each its own buyer (default 32)")
        var clients: Int?
        @Option(name: "attempts", help: "Purchase attempts in all (default 12800)")
        var attempts: Int?
        @Option(name: "file", help: "Where setup writes and the others read the set-up")
        var file: String?
        @Option(name: "url", help: "The server (load), e.g. http://127.0.0.1:18090")
        var url: String?
    }

    var help: String { "Benchmarks flash sale purchases over HTTP against the raw conditional decrement; fails unless exactly N units sell." }

    struct Setup: Codable {
        let httpItem: UUID
        let sqlItem: UUID
        let units: Int64
        let buyers: [BenchOrdersCommand.Setup.Buyer]
    }

    struct Outcome {
        let label: String
        let attempts: Int
        let sold: Int
        let refused: Int
        let failures: Int
        let seconds: Double
        /// From the start to the last unit sold.
        let sellOutSeconds: Double

        var line: String {
            String(format: "%@ attempts=%d sold=%d refused=%d failures=%d seconds=%.3f attempts_per_second=%.1f purchases_per_second=%.1f",
                   label, attempts, sold, refused, failures, seconds, Double(attempts) / max(seconds, 0.000_001),
                   Double(sold) / max(sellOutSeconds, 0.000_001))
        }
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let clients = max(1, min(signature.clients ?? 32, 256))
        let attempts = max(1, min(signature.attempts ?? 12_800, 1_000_000))
        let file = signature.file ?? "bench-flash.json"
        switch signature.step {
        case "setup":
            let setup = try await Self.setup(app, buyers: clients, units: Int64(max(1, min(signature.units ?? 500, 1_000_000))))
            try JSONEncoder().encode(setup).write(to: URL(fileURLWithPath: file))
            context.console.print("buyers=\(setup.buyers.count) units=\(setup.units)")
        case "load", "baseline":
            let setup = try JSONDecoder().decode(Setup.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            let outcome: Outcome
            if signature.step == "load" {
                guard let url = signature.url else { throw ConfigError("bench-flash load needs --url") }
                outcome = try await Self.load(app, url: url, setup: setup, attempts: attempts, clients: clients)
            } else {
                outcome = try await Self.baseline(app, setup: setup, attempts: attempts, clients: clients)
            }
            context.console.print(outcome.line)
            try await Self.check(app, item: signature.step == "load" ? setup.httpItem : setup.sqlItem, units: setup.units, outcome: outcome,
                                 countOrders: signature.step == "load")
        default:
            throw ConfigError("bench-flash: the step is setup, load or baseline")
        }
    }

    static func setup(_ app: Application, buyers: Int, units: Int64) async throws -> Setup {
        let base = try await BenchOrdersCommand.setup(app, buyers: buyers)
        let now = app.clock.now()
        let formatter = ISO8601DateFormatter()
        let input = FlashSaleInput(name: "压测秒杀", sessions: [0, 1].map { _ in
            FlashSaleInput.Session(startsAt: formatter.string(from: now.addingTimeInterval(-60)), endsAt: formatter.string(from: now.addingTimeInterval(6 * 3_600)),
                                   items: [.init(skuId: base.skuID, priceFen: BenchOrdersCommand.unitPrice / 2, stock: units, perMemberLimit: FlashSaleService.maxLimit)])
        }, paysCommission: nil, unpaidMinutes: 30)
        let activity = try await app.writeGate.transaction(on: app.db) { db in
            try await FlashSaleService(db: db, now: now).create(input, merchantID: nil)
        }
        let items = try await FlashSaleItem.query(on: app.db).filter(\.$activityID == activity.requireID()).all()
        let sessions = try await FlashSaleSessionRecord.query(on: app.db).filter(\.$activityID == activity.requireID()).sort(\.$id).all()
        guard sessions.count == 2, let http = items.first(where: { $0.sessionID == sessions[0].id })?.id,
              let sql = items.first(where: { $0.sessionID == sessions[1].id })?.id else {
            throw Abort(.internalServerError, reason: "the benchmark flash sale is missing")
        }
        return Setup(httpItem: http, sqlItem: sql, units: units, buyers: base.buyers)
    }

    /// `clients` loops, each its own buyer, sharing `attempts`.
    static func fire(_ label: String, attempts: Int, clients: Int, _ attempt: @escaping @Sendable (Int) async throws -> Bool?) async throws -> Outcome {
        let start = Date()
        let next = NIOLockedValueBox(0)
        let lastSale = NIOLockedValueBox(start)
        let counts = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var (sold, refused, failures) = (0, 0, 0)
                    while next.withLockedValue({ value -> Bool in value += 1; return value <= attempts }) {
                        switch try await attempt(client) {
                        case true?:
                            sold += 1
                            let now = Date()
                            lastSale.withLockedValue { $0 = max($0, now) }
                        case false?: refused += 1
                        case nil: failures += 1
                        }
                    }
                    return (sold, refused, failures)
                }
            }
            return try await group.reduce(into: (0, 0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1, $0.2 + $1.2) }
        }
        let seconds = Date().timeIntervalSince(start)
        return Outcome(label: label, attempts: attempts, sold: counts.0, refused: counts.1, failures: counts.2, seconds: seconds,
                       sellOutSeconds: lastSale.withLockedValue { $0 }.timeIntervalSince(start))
    }

    /// Through the normal checkout: 201 bought, 409 refused (sold out); anything else a failure.
    static func load(_ app: Application, url: String, setup: Setup, attempts: Int, clients: Int) async throws -> Outcome {
        app.http.client.configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = clients
        let client = app.client
        let bodies = setup.buyers.map { buyer in ByteBuffer(string: #"{"flashSaleItemId":"\#(setup.httpItem)","addressId":"\#(buyer.addressID)"}"#) }
        let failures = NIOLockedValueBox<[String]>([])
        let outcome = try await fire("http", attempts: attempts, clients: clients) { index in
            let buyer = setup.buyers[index % setup.buyers.count]
            let headers: HTTPHeaders = ["Authorization": "Bearer \(buyer.token)", "Content-Type": "application/json"]
            let response = try await client.post(URI(string: url + "/api/v1/checkout"), headers: headers) { $0.body = bodies[index % bodies.count] }
            switch response.status {
            case .created: return true
            case .conflict: return false
            default:
                failures.withLockedValue { if $0.count < 5 { $0.append("\(response.status.code) \(response.body.map { String(buffer: $0) } ?? "")") } }
                return nil
            }
        }
        for failure in failures.withLockedValue({ $0 }) { app.logger.warning("bench-flash: \(failure)") }
        return outcome
    }

    /// The same conditional decrement, alone in its transaction, from `clients` connections at once.
    static func baseline(_ app: Application, setup: Setup, attempts: Int, clients: Int) async throws -> Outcome {
        let item = setup.sqlItem
        return try await fire("raw-sql", attempts: attempts, clients: clients) { _ in
            try await app.writeGate.transaction(on: app.db) { tx in
                let taken = try await sqlDatabase(tx).raw("""
                    UPDATE flash_sale_items SET available = available - 1, sold = sold + 1
                    WHERE id = \(bind: item) AND available >= 1 AND released = \(bind: false) RETURNING available
                    """).all()
                return !taken.isEmpty
            }
        }
    }

    /// Exactly N sold, by the responses and by the rows; otherwise the command fails.
    static func check(_ app: Application, item: UUID, units: Int64, outcome: Outcome, countOrders: Bool) async throws {
        guard let row = try await FlashSaleItem.find(item, on: app.db) else { throw ConfigError("bench-flash: the item is gone") }
        var problems: [String] = []
        if Int64(outcome.sold) != units { problems.append("\(outcome.sold) purchases answered, \(units) units") }
        if row.sold != units || row.available != 0 { problems.append("item sold=\(row.sold) available=\(row.available), \(units) units") }
        if outcome.failures > 0 { problems.append("\(outcome.failures) attempts neither bought nor refused") }
        if countOrders {
            let purchases = try await FlashSalePurchase.query(on: app.db).filter(\.$itemID == item).count()
            if Int64(purchases) != units { problems.append("\(purchases) flash orders, \(units) units") }
        }
        guard problems.isEmpty else {
            throw ConfigError("FLASH SALE OVERSOLD OR UNDERSOLD (\(outcome.label)): " + problems.joined(separator: "; "))
        }
    }
}
