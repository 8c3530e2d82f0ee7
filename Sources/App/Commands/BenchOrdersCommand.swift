import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// The place-and-pay benchmark (scripts/bench.sh), in three steps on a throw-away database:
/// `bench-orders setup` writes buyers with tokens, addresses and balances and a SKU with stock;
/// `bench-orders load` places and pays orders through a running server over HTTP;
/// `bench-orders baseline` writes the same rows with hand-written SQL in the same two transactions.
struct BenchOrdersCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "step", help: "setup, load or baseline")
        var step: String
        @Option(name: "buyers", help: "Buyers (setup; default 64)")
        var buyers: Int?
        @Option(name: "file", help: "Where setup writes and load reads the buyers")
        var file: String?
        @Option(name: "url", help: "The server (load), e.g. http://127.0.0.1:18090")
        var url: String?
        @Option(name: "seconds", help: "How long to run (default 10)")
        var seconds: Int?
        @Option(name: "concurrency", help: "Buyers placing and paying at once (default 16)")
        var concurrency: Int?
    }

    var help: String { "Benchmarks placing and paying orders over HTTP against a raw-SQL baseline." }

    struct Setup: Codable {
        struct Buyer: Codable { let memberID: UUID; let token: String; let addressID: UUID }
        let skuID: UUID
        let productID: UUID
        let merchantID: UUID
        let buyers: [Buyer]
    }

    static let unitPrice: Int64 = 1_990

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let seconds = Double(max(1, min(signature.seconds ?? 10, 600)))
        let concurrency = max(1, min(signature.concurrency ?? 16, 256))
        let file = signature.file ?? "bench-orders.json"
        switch signature.step {
        case "setup":
            let setup = try await Self.setup(app, buyers: max(1, min(signature.buyers ?? 64, 10_000)))
            try JSONEncoder().encode(setup).write(to: URL(fileURLWithPath: file))
            context.console.print("buyers=\(setup.buyers.count) sku=\(setup.skuID)")
        case "load":
            guard let url = signature.url else { throw ConfigError("bench-orders load needs --url") }
            let setup = try JSONDecoder().decode(Setup.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            let result = try await Self.load(app, url: url, setup: setup, seconds: seconds, concurrency: concurrency)
            context.console.print(result.line)
        case "baseline":
            let setup = try JSONDecoder().decode(Setup.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            let result = try await Self.baseline(app, setup: setup, seconds: seconds, concurrency: concurrency)
            context.console.print(result.line)
        default:
            throw ConfigError("bench-orders: the step is setup, load or baseline")
        }
    }

    // MARK: setup

    static func setup(_ app: Application, buyers count: Int) async throws -> Setup {
        let now = app.clock.now()
        let (cipher, keys) = (app.personalData, app.jwt.keys)
        let product = try await app.writeGate.transaction(on: app.db) { db -> Product in
            let service = CatalogService(db: db, now: now)
            let category = try await service.createCategory(CategoryInput(name: "压测", parentId: nil, icon: "", sortOrder: 0, makeRoot: nil))
            let input = ProductInput(
                title: "压测商品", subtitle: "", description: "", categoryId: try category.requireID(), brandId: nil, kind: "physical",
                validityDays: nil, tags: [], specs: [],
                skus: [SkuInput(specs: [:], code: "BENCH-1", priceFen: unitPrice, memberPriceFen: nil, marketPriceFen: nil, weightGrams: 100,
                                stock: 100_000_000, lowStockThreshold: 0)],
                onShelf: true, sortWeight: 0)
            return try await service.createProduct(input, merchantID: Merchant.selfOperatedID)
        }
        let productID = try product.requireID()
        guard let sku = try await Sku.query(on: app.db).filter(\.$product.$id == productID).first() else {
            throw Abort(.internalServerError, reason: "the benchmark SKU is missing")
        }
        var buyers: [Setup.Buyer] = []
        for index in 0..<count {
            let phone = "170" + String(format: "%08d", index)
            let buyer = try await app.writeGate.transaction(on: app.db) { db -> Setup.Buyer in
                let member = Member()
                member.phoneCipher = try cipher.seal(phone)
                member.phoneHash = cipher.lookupHash(phone)
                member.nickname = "压测\(index)"
                member.userAgreementVersion = "bench"
                member.privacyPolicyVersion = "bench"
                member.agreedAt = now
                member.createdAt = now
                try await member.create(on: db)
                let memberID = try member.requireID()
                let address = try await AddressService(db: db, cipher: cipher, now: now).create(AddressInput(
                    receiverName: "压测", phone: phone, provinceCode: "31", city: "上海市", district: "静安区", detail: "南京西路 1 号", isDefault: true),
                    memberID: memberID)
                // Enough for a million orders each.
                let topUp = Money(fen: unitPrice * 1_000_000)
                _ = try await LedgerService(db: db, now: now, gate: .none).postWithinTransaction(LedgerTransactionDraft(
                    idempotencyKey: "bench-topup:\(memberID)", kind: "member_topup",
                    entries: [.debit(.platform(.paymentClearing), topUp), .credit(try LedgerAccountKey(.memberBalance, .member(memberID)), topUp)]))
                return Setup.Buyer(memberID: memberID, token: "", addressID: try address.requireID())
            }
            let claims = AccessClaims(sub: .init(value: buyer.memberID.uuidString), kind: "member",
                                      exp: .init(value: now.addingTimeInterval(24 * 3600)), iat: .init(value: now))
            buyers.append(Setup.Buyer(memberID: buyer.memberID, token: try await keys.sign(claims), addressID: buyer.addressID))
        }
        return Setup(skuID: try sku.requireID(), productID: productID, merchantID: Merchant.selfOperatedID, buyers: buyers)
    }

    // MARK: measuring

    struct Result {
        let label: String
        let orders: Int
        let failures: Int
        let seconds: Double
        let latencies: [Double]

        var perSecond: Double { Double(orders) / seconds }

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let sorted = latencies.sorted()
            let rank = min(sorted.count - 1, max(0, (CheckedNumber.int(p * Double(sorted.count), rounding: .up) ?? sorted.count) - 1))
            return sorted[rank]
        }

        var line: String {
            String(format: "%@ orders=%d failures=%d orders_per_second=%.1f p50_ms=%.1f p99_ms=%.1f", label, orders, failures, perSecond,
                   percentile(0.50) * 1000, percentile(0.99) * 1000)
        }
    }

    /// Runs `concurrency` loops of `body` for `seconds`; each call is one order placed and paid.
    static func measure(_ label: String, seconds: Double, concurrency: Int, _ body: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Result {
        let start = Date()
        let deadline = start.addingTimeInterval(seconds)
        let results = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var failures = 0
                    var latencies: [Double] = []
                    var round = 0
                    while Date() < deadline {
                        let began = Date()
                        do {
                            try await body(worker, round)
                            latencies.append(Date().timeIntervalSince(began))
                        } catch {
                            failures += 1
                            if failures > 1_000 { throw error }
                        }
                        round += 1
                    }
                    return (failures, latencies)
                }
            }
            return try await group.reduce(into: [(Int, [Double])]()) { $0.append($1) }
        }
        let elapsed = Date().timeIntervalSince(start)
        let latencies = results.flatMap(\.1)
        return Result(label: label, orders: latencies.count, failures: results.map(\.0).reduce(0, +), seconds: elapsed, latencies: latencies)
    }

    // MARK: over HTTP

    static func load(_ app: Application, url: String, setup: Setup, seconds: Double, concurrency: Int) async throws -> Result {
        let client = app.client
        let checkoutBodies = setup.buyers.map { buyer in
            ByteBuffer(string: #"{"items":[{"skuId":"\#(setup.skuID)","quantity":1}],"addressId":"\#(buyer.addressID)"}"#)
        }
        struct Placed: Decodable { struct Payment: Decodable { let id: UUID }; let payment: Payment }
        return try await measure("http", seconds: seconds, concurrency: concurrency) { worker, round in
            // Each worker is its own set of buyers, so no two requests of one buyer overlap.
            let index = (worker + round * concurrency) % setup.buyers.count
            let buyer = setup.buyers[index]
            let headers: HTTPHeaders = ["Authorization": "Bearer \(buyer.token)", "Content-Type": "application/json"]
            let placed = try await client.post(URI(string: url + "/api/v1/checkout"), headers: headers) { $0.body = checkoutBodies[index] }
            guard placed.status == .created else { throw Abort(placed.status, reason: "checkout: \(placed.body.map { String(buffer: $0) } ?? "")") }
            let payment = try placed.content.decode(Placed.self).payment.id
            let paid = try await client.post(URI(string: url + "/api/v1/payments/\(payment)/pay"), headers: headers) {
                $0.body = ByteBuffer(string: #"{"method":"balance"}"#)
            }
            guard paid.status == .ok else { throw Abort(paid.status, reason: "pay: \(paid.body.map { String(buffer: $0) } ?? "")") }
        }
    }

    // MARK: raw SQL

    /// The rows an order of one line writes when placed and when paid from the balance, in the same
    /// two transactions, without HTTP, JSON, reads of the catalog or the models.
    static func baseline(_ app: Application, setup: Setup, seconds: Double, concurrency: Int) async throws -> Result {
        let postgres = app.config.databaseURL != nil
        let ledger = LedgerService(db: app.db, now: Date(), gate: app.writeGate)
        let pending = try LedgerAccountKey(.merchantPending, .merchant(setup.merchantID))
        let fees = LedgerAccountKey.platform(.feeRevenue)
        let keys = try [pending, fees] + setup.buyers.map { try LedgerAccountKey(.memberBalance, .member($0.memberID)) }
        let accounts = try await ledger.openAccounts(keys)
        guard let pendingID = accounts[pending], let feesID = accounts[fees] else { throw Abort(.internalServerError, reason: "no ledger accounts") }
        let balanceIDs = try setup.buyers.map { buyer in
            guard let id = accounts[try LedgerAccountKey(.memberBalance, .member(buyer.memberID))] else { throw Abort(.internalServerError, reason: "no balance") }
            return id
        }
        let filler = String(repeating: "0", count: 64)
        let counter = NIOLockedValueBox(0)
        return try await measure("raw-sql", seconds: seconds, concurrency: concurrency) { worker, round in
            let index = (worker + round * concurrency) % setup.buyers.count
            let buyer = setup.buyers[index]
            let serial = counter.withLockedValue { value -> Int in value += 1; return value }
            let (paymentID, orderID, now) = (UUID(), UUID(), Date())
            let price = unitPrice
            try await app.writeGate.transaction(on: app.db) { tx in
                let sql = try sqlDatabase(tx)
                try await sql.raw("""
                    INSERT INTO payments (id, payment_no, member_id, amount, status, provider, provider_trade_no, created_at, expires_at)
                    VALUES (\(bind: paymentID), \(bind: "BP\(serial)-\(paymentID)"), \(bind: buyer.memberID), \(bind: price), 'created', '', '', \(bind: now), \(bind: now.addingTimeInterval(1800)))
                    """).run()
                try await sql.raw("""
                    INSERT INTO orders (id, order_no, member_id, merchant_id, payment_id, state, fulfilment, receiver_name, phone_cipher, province_code, city,
                      district, address_detail, goods_amount, discount_amount, adjustment_amount, shipping_fee, payable, refunded_amount, service_rate_bp,
                      service_fee, fee_returned, buyer_note, placed_at, open_after_sales, reviewed)
                    VALUES (\(bind: orderID), \(bind: "BO\(serial)-\(orderID)"), \(bind: buyer.memberID), \(bind: setup.merchantID), \(bind: paymentID), 'pending_payment',
                      'express', '压测', \(bind: filler), '31', '上海市', '静安区', '南京西路 1 号', \(bind: price), 0, 0, 0, \(bind: price), 0, 60, 0, 0, '', \(bind: now), 0, \(bind: false))
                    """).run()
                try await sql.raw("""
                    INSERT INTO order_lines (id, order_id, position, product_id, sku_id, sku_code, title, spec_text, image, unit_price, quantity, weight_grams,
                      line_amount, discount_amount, adjustment_amount, paid_amount, allocations_json, refunded_quantity, refunded_amount)
                    VALUES (\(bind: UUID()), \(bind: orderID), 0, \(bind: setup.productID), \(bind: setup.skuID), 'BENCH-1', '压测商品', '', '', \(bind: price), 1, 100,
                      \(bind: price), 0, 0, \(bind: price), '[]', 0, 0)
                    """).run()
                try await sql.raw("""
                    INSERT INTO order_events (id, order_id, to_state, action, actor_kind, actor_id, reason, created_at)
                    VALUES (\(bind: UUID()), \(bind: orderID), 'pending_payment', 'place', 'member', \(bind: buyer.memberID), '', \(bind: now))
                    """).run()
                let taken = try await sql.raw("UPDATE skus SET stock = stock - 1 WHERE id = \(bind: setup.skuID) AND stock >= 1 RETURNING stock").all()
                guard !taken.isEmpty else { throw Abort(.conflict, reason: "sold out") }
                try await sql.raw("UPDATE products SET total_stock = total_stock - 1 WHERE id = \(bind: setup.productID)").run()
            }
            try await app.writeGate.transaction(on: app.db) { tx in
                let sql = try sqlDatabase(tx)
                let fee: Int64 = 12
                let head = try await sql.raw("SELECT sequence, hash FROM ledger_chain_head WHERE id = 1\(unsafeRaw: postgres ? " FOR UPDATE" : "")").first()
                let sequence = try (head?.decode(column: "sequence", as: Int64.self) ?? 0) + 1
                let moved = try await sql.raw("""
                    UPDATE payments SET status = 'succeeded', provider = 'balance', paid_at = \(bind: now) WHERE id = \(bind: paymentID) AND status = 'created' RETURNING id
                    """).all()
                guard !moved.isEmpty else { throw Abort(.conflict) }
                try await sql.raw("UPDATE ledger_accounts SET balance = balance - \(bind: price) WHERE id = \(bind: balanceIDs[index]) AND balance >= \(bind: price)").run()
                try await sql.raw("UPDATE ledger_accounts SET balance = balance + \(bind: price - fee) WHERE id = \(bind: pendingID)").run()
                try await sql.raw("UPDATE ledger_accounts SET balance = balance + \(bind: fee) WHERE id = \(bind: feesID)").run()
                let transactionID = UUID()
                try await sql.raw("""
                    INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
                    VALUES (\(bind: transactionID), \(bind: "payment:BP\(serial)-\(paymentID)"), 'order_payment', 'balance', \(bind: now), \(bind: filler), \(bind: sequence), \(bind: filler), 3)
                    """).run()
                try await sql.raw("""
                    INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at) VALUES
                    (\(bind: UUID()), \(bind: transactionID), \(bind: balanceIDs[index]), 'debit', \(bind: price), \(bind: now)),
                    (\(bind: UUID()), \(bind: transactionID), \(bind: pendingID), 'credit', \(bind: price - fee), \(bind: now)),
                    (\(bind: UUID()), \(bind: transactionID), \(bind: feesID), 'credit', \(bind: fee), \(bind: now))
                    """).run()
                try await sql.raw("UPDATE orders SET service_fee = \(bind: fee) WHERE id = \(bind: orderID)").run()
                try await sql.raw("UPDATE orders SET state = 'paid', paid_at = \(bind: now) WHERE id = \(bind: orderID) AND state = 'pending_payment'").run()
                try await sql.raw("""
                    INSERT INTO order_events (id, order_id, from_state, to_state, action, actor_kind, reason, created_at)
                    VALUES (\(bind: UUID()), \(bind: orderID), 'pending_payment', 'paid', 'pay', 'provider', '', \(bind: now))
                    """).run()
                try await sql.raw("""
                    INSERT INTO outbox_messages (id, topic, subject_id, payload, created_at) VALUES (\(bind: UUID()), 'order.paid', \(bind: orderID), '', \(bind: now))
                    """).run()
                try await sql.raw("UPDATE products SET sales_count = sales_count + 1 WHERE id = \(bind: setup.productID)").run()
            }
        }
    }
}
