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
        @Argument(name: "step", help: "setup, load, queue or baseline")
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
        /// Bought through the queue (`bench-flash queue`).
        let queueItem: UUID
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
        let startedAt: Date

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
        case "load", "queue", "baseline":
            let setup = try JSONDecoder().decode(Setup.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            let outcome: Outcome
            switch signature.step {
            case "load", "queue":
                guard let url = signature.url else { throw ConfigError("bench-flash \(signature.step) needs --url") }
                if signature.step == "load" {
                    outcome = try await Self.load(app, url: url, setup: setup, attempts: attempts, clients: clients)
                } else {
                    outcome = try await Self.queue(app, url: url, setup: setup, attempts: attempts, clients: clients)
                    // Every ticket's order built by the server: the time from the first attempt to the last order.
                    let built = try await Self.waitForOrders(app, item: setup.queueItem, units: setup.units, startedAt: outcome.startedAt)
                    context.console.print(outcome.line + String(format: " orders_seconds=%.3f orders_per_second=%.1f", built,
                                                                Double(setup.units) / max(built, 0.000_001)))
                }
            default:
                outcome = try await Self.baseline(app, setup: setup, attempts: attempts, clients: clients)
            }
            if signature.step != "queue" { context.console.print(outcome.line) }
            try await Self.check(app, item: signature.step == "baseline" ? setup.sqlItem : signature.step == "queue" ? setup.queueItem : setup.httpItem,
                                 units: setup.units, outcome: outcome,
                                 countOrders: signature.step != "baseline")
        default:
            throw ConfigError("bench-flash: the step is setup, load or baseline")
        }
    }

    static func setup(_ app: Application, buyers: Int, units: Int64) async throws -> Setup {
        let base = try await BenchOrdersCommand.setup(app, buyers: buyers)
        let now = app.clock.now()
        let formatter = ISO8601DateFormatter()
        let input = FlashSaleInput(name: "压测秒杀", sessions: [0, 1, 2].map { _ in
            FlashSaleInput.Session(startsAt: formatter.string(from: now.addingTimeInterval(-60)), endsAt: formatter.string(from: now.addingTimeInterval(6 * 3_600)),
                                   items: [.init(skuId: base.skuID, priceFen: BenchOrdersCommand.unitPrice / 2, stock: units, perMemberLimit: FlashSaleService.maxLimit)])
        }, paysCommission: nil, unpaidMinutes: 30)
        let activity = try await app.writeGate.transaction(on: app.db) { db in
            try await FlashSaleService(db: db, now: now).create(input, merchantID: nil)
        }
        let items = try await FlashSaleItem.query(on: app.db).filter(\.$activityID == activity.requireID()).all()
        let sessions = try await FlashSaleSessionRecord.query(on: app.db).filter(\.$activityID == activity.requireID()).sort(\.$id).all()
        guard sessions.count == 3, let http = items.first(where: { $0.sessionID == sessions[0].id })?.id,
              let sql = items.first(where: { $0.sessionID == sessions[1].id })?.id,
              let queued = items.first(where: { $0.sessionID == sessions[2].id })?.id else {
            throw Abort(.internalServerError, reason: "the benchmark flash sale is missing")
        }
        return Setup(httpItem: http, sqlItem: sql, queueItem: queued, units: units, buyers: base.buyers)
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
                       sellOutSeconds: lastSale.withLockedValue { $0 }.timeIntervalSince(start), startedAt: start)
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

    /// Through the queue (排队下单): 202 the unit is the buyer's, 409 refused; anything else a failure.
    static func queue(_ app: Application, url: String, setup: Setup, attempts: Int, clients: Int) async throws -> Outcome {
        app.http.client.configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = clients
        let client = app.client
        let bodies = setup.buyers.map { buyer in ByteBuffer(string: #"{"addressId":"\#(buyer.addressID)"}"#) }
        let target = URI(string: url + "/api/v1/flash-sales/items/\(setup.queueItem)/tickets")
        let failures = NIOLockedValueBox<[String]>([])
        let outcome = try await fire("queue", attempts: attempts, clients: clients) { index in
            let buyer = setup.buyers[index % setup.buyers.count]
            let headers: HTTPHeaders = ["Authorization": "Bearer \(buyer.token)", "Content-Type": "application/json"]
            let response = try await client.post(target, headers: headers) { $0.body = bodies[index % bodies.count] }
            switch response.status {
            case .accepted: return true
            case .conflict: return false
            default:
                failures.withLockedValue { if $0.count < 5 { $0.append("\(response.status.code) \(response.body.map { String(buffer: $0) } ?? "")") } }
                return nil
            }
        }
        for failure in failures.withLockedValue({ $0 }) { app.logger.warning("bench-flash: \(failure)") }
        return outcome
    }

    /// Waits (at most ten minutes) until the server built an order for every ticket of the item;
    /// seconds from `startedAt` to then. Fails when a ticket failed.
    static func waitForOrders(_ app: Application, item: UUID, units: Int64, startedAt: Date) async throws -> Double {
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            let tickets = try await FlashSaleTicket.query(on: app.db).filter(\.$itemID == item).all()
            if tickets.contains(where: { $0.status == FlashSaleTicketStatus.failed.rawValue }) {
                throw ConfigError("bench-flash: a queued ticket failed: \(tickets.first { $0.status == FlashSaleTicketStatus.failed.rawValue }?.failureEn ?? "")")
            }
            if tickets.count >= units, tickets.allSatisfy({ $0.status == FlashSaleTicketStatus.ordered.rawValue }) {
                return (tickets.map(\.updatedAt).max() ?? Date()).timeIntervalSince(startedAt)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ConfigError("bench-flash: the queued orders were not all built within ten minutes")
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
