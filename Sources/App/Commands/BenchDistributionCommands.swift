import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// `fission bench-commission`: the pure commission calculation in order lines per second, beside
/// the bare arithmetic of three rates over the same number of lines, measured in the same run.
struct BenchCommissionCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "lines", help: "Order lines to calculate (default 2,000,000)")
        var lines: Int?
    }

    var help: String { "Times MallCore's commission calculation against a bare floor(amount × rate) loop over as many lines." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let lines = max(1, min(signature.lines ?? 2_000_000, 100_000_000))
        _ = CommissionBenchmark.run(lines: 10_000)  // warm up
        let engineStart = DispatchTime.now().uptimeNanoseconds
        let result = CommissionBenchmark.run(lines: lines)
        let engineSeconds = Double(DispatchTime.now().uptimeNanoseconds - engineStart) / 1e9
        // The baseline: three floored rates per line on amounts from the same kind of generator.
        var generator = SplitMix(seed: 42)
        let amounts = (0..<lines).map { _ in Int64(generator.next() % 1_000_000) }
        let bareStart = DispatchTime.now().uptimeNanoseconds
        var checksum: Int64 = 0
        for amount in amounts {
            checksum &+= amount * 1_000 / 10_000 &+ amount * 500 / 10_000 &+ amount * 200 / 10_000
        }
        let bareSeconds = Double(DispatchTime.now().uptimeNanoseconds - bareStart) / 1e9
        let engineRate = Double(result.lines) / engineSeconds
        let bareRate = Double(lines) / max(bareSeconds, 1e-9)
        context.console.print(String(format: "commission engine: %d lines in %.3f s = %.0f lines/s (checksum %lld)", result.lines, engineSeconds, engineRate, result.checksum))
        context.console.print(String(format: "bare arithmetic:   %d lines in %.4f s = %.0f lines/s (checksum %lld)", lines, bareSeconds, bareRate, checksum))
        context.console.print(String(format: "ratio engine/bare: %.4f", engineRate / bareRate))
    }
}

/// A small deterministic generator for benchmark data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `fission bench-settlement --count N`: N frozen commissions of one shop over 1,000
/// distributors, with the ledger holding them, settled as one batch (bulk update and one ledger
/// transaction per distributor); the baseline is the bare UPDATE of the same rows to settled,
/// timed in the same run and undone before the settlement.
struct BenchSettlementCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "count", help: "Frozen commissions to settle (default 100,000)")
        var count: Int?
    }

    var help: String { "Times settling N frozen commissions with their ledger transactions, beside a bare UPDATE of as many rows." }

    static let distributors = 1_000

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let count = max(3, min(signature.count ?? 100_000, 5_000_000))
        let now = app.clock.now()
        var config = DistributionConfig()
        config.settlement.schedule = "daily"
        try await config.save(on: app.db, now: now)

        let setupStart = Date()
        let measured = try await Self.fill(app, count: count, now: now, label: "measured")
        context.console.print(String(format: "setup: %d frozen commissions in %.1f s", count, Date().timeIntervalSince(setupStart)))

        // Baseline: the one statement any settlement must run, on the same rows, then undone.
        let bareStart = DispatchTime.now().uptimeNanoseconds
        try await app.writeGate.transaction(on: app.db) { db in
            try await sqlDatabase(db).raw("""
                UPDATE commissions SET state = 'settled', settled_at = \(bind: now), updated_at = \(bind: now)
                WHERE merchant_id = \(bind: measured) AND state = 'frozen' AND held = \(bind: false)
                """).run()
        }
        let bareSeconds = Double(DispatchTime.now().uptimeNanoseconds - bareStart) / 1e9
        try await app.writeGate.transaction(on: app.db) { db in
            try await sqlDatabase(db).raw("""
                UPDATE commissions SET state = 'frozen', settled_at = NULL WHERE merchant_id = \(bind: measured)
                """).run()
        }

        let start = DispatchTime.now().uptimeNanoseconds
        let report = try await CommissionSettlement.run(app, force: true)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let settled = try await Commission.query(on: app.db).filter(\.$merchantID == measured).filter(\.$state == "settled").count()
        guard settled == count else { throw Abort(.internalServerError, reason: "settled \(settled) of \(count)") }
        context.console.print(String(format: "settlement: %d commissions, %d batches, %d ledger transactions in %.2f s = %.0f /s, %.2f s per 100k",
                                     report.settled, report.batches, Self.distributors, seconds, Double(count) / seconds, seconds * 100_000 / Double(count)))
        context.console.print(String(format: "bare UPDATE: %d rows in %.2f s; ratio bare/settlement %.2f", count, bareSeconds, bareSeconds / seconds))
    }

    /// A shop with one paid order of count/3 lines, three frozen settleable commissions per line
    /// over the distributors, and the ledger's frozen balances to match. Returns the shop's id.
    static func fill(_ app: Application, count: Int, now: Date, label: String) async throws -> UUID {
        let merchantID = UUID()
        let memberID = UUID()
        let paymentID = UUID()
        let orderID = UUID()
        let distributors = (0..<distributors).map { _ in UUID() }
        let lines = (count + 2) / 3
        try await app.writeGate.transaction(on: app.db) { db in
            let sql = try sqlDatabase(db)
            try await sql.raw("""
                INSERT INTO merchants (id, name, kind, status, service_rate_bp, created_at) VALUES (\(bind: merchantID), \(bind: "压测店 \(label)"), 'onboarded', 'active', 0, \(bind: now))
                """).run()
            try await sql.raw("""
                INSERT INTO members (id, phone_cipher, phone_hash, nickname, user_agreement_version, privacy_policy_version, agreed_at, created_at)
                VALUES (\(bind: memberID), '', \(bind: "bench-\(memberID)"), '压测买家', 'bench', 'bench', \(bind: now), \(bind: now))
                """).run()
            try await sql.raw("""
                INSERT INTO payments (id, payment_no, member_id, amount, status, provider, provider_trade_no, created_at, expires_at)
                VALUES (\(bind: paymentID), \(bind: "BS-\(paymentID)"), \(bind: memberID), 0, 'succeeded', 'balance', '', \(bind: now), \(bind: now))
                """).run()
            try await sql.raw("""
                INSERT INTO orders (id, order_no, member_id, merchant_id, payment_id, state, fulfilment, receiver_name, phone_cipher, province_code, city,
                  district, address_detail, goods_amount, discount_amount, adjustment_amount, shipping_fee, payable, refunded_amount, service_rate_bp,
                  service_fee, fee_returned, buyer_note, placed_at, open_after_sales, reviewed)
                VALUES (\(bind: orderID), \(bind: "BS-\(orderID)"), \(bind: memberID), \(bind: merchantID), \(bind: paymentID), 'completed',
                  'express', '压测', '', '31', '上海市', '静安区', '南京西路 1 号', 0, 0, 0, 0, 0, 0, 0, 0, 0, '', \(bind: now), 0, \(bind: false))
                """).run()
        }
        var frozen = [Int64](repeating: 0, count: distributors.count)
        let chunk = 500
        var index = 0
        while index < lines {
            let upper = min(index + chunk, lines)
            var lineRows: [SQLQueryString] = []
            var commissionRows: [SQLQueryString] = []
            for line in index..<upper {
                let lineID = UUID()
                lineRows.append("""
                    (\(bind: lineID), \(bind: orderID), \(bind: line), \(bind: UUID()), \(bind: UUID()), 'B', '压测商品', '', '', 10000, 1, 0, 10000, 0, 0, 10000, '[]', 0, 0)
                    """)
                for level in 1...3 where line * 3 + level - 1 < count {
                    let who = (line * 3 + level) % distributors.count
                    let amount = Int64(1_000 / level)
                    frozen[who] += amount
                    commissionRows.append("""
                        (\(bind: UUID()), \(bind: orderID), 'BS', \(bind: lineID), \(bind: merchantID), \(bind: memberID), \(bind: distributors[who]), \(bind: level),
                         'frozen', \(bind: false), \(bind: amount), \(bind: amount), 0, 10000, 'global', 0, 0, '压测商品', \(bind: now), \(bind: now), \(bind: now), '', \(bind: now))
                        """)
                }
            }
            let (lineValues, commissionValues) = (lineRows.joined(separator: ", "), commissionRows.joined(separator: ", "))
            try await app.writeGate.transaction(on: app.db) { db in
                let sql = try sqlDatabase(db)
                try await sql.raw("""
                    INSERT INTO order_lines (id, order_id, position, product_id, sku_id, sku_code, title, spec_text, image, unit_price, quantity, weight_grams,
                      line_amount, discount_amount, adjustment_amount, paid_amount, allocations_json, refunded_quantity, refunded_amount)
                    VALUES \(lineValues)
                    """).run()
                try await sql.raw("""
                    INSERT INTO commissions (id, order_id, order_no, order_line_id, merchant_id, buyer_id, beneficiary_id, level, state, held, amount,
                      original_amount, clawed_back, base, rule_source, tier, cap_reduction, product_title, created_at, received_at, settleable_at, hold_reason, updated_at)
                    VALUES \(commissionValues)
                    """).run()
            }
            index = upper
        }
        // The frozen money the commissions stand for, from the provider's clearing.
        let ledger = LedgerService(db: app.db, now: now, gate: app.writeGate)
        for (offset, distributor) in distributors.enumerated() where frozen[offset] > 0 {
            _ = try await ledger.post(LedgerTransactionDraft(
                idempotencyKey: "bench-frozen:\(distributor.uuidString.lowercased())", kind: "commission_frozen", memo: label,
                entries: [.debit(.platform(.paymentClearing), Money(fen: frozen[offset])),
                          .credit(try LedgerAccountKey(.commissionFrozen, .member(distributor)), Money(fen: frozen[offset]))]))
        }
        return merchantID
    }
}

/// `fission bench-pricing`: checkout pricing of 20-line carts with three promotions and a coupon
/// in carts per second, beside the same carts priced by the plain checkout, in the same run.
struct BenchPricingCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "carts", help: "Carts to price (default 200,000)")
        var carts: Int?
    }

    var help: String { "Times MallCore's marketing pricing (stacking and allocation) against the plain checkout of the same carts." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let carts = max(1, min(signature.carts ?? 200_000, 50_000_000))
        _ = MarketingBenchmark.run(carts: 1_000)  // warm up
        _ = MarketingBenchmark.baseline(carts: 1_000)
        let pricingStart = DispatchTime.now().uptimeNanoseconds
        let priced = MarketingBenchmark.run(carts: carts)
        let pricingSeconds = Double(DispatchTime.now().uptimeNanoseconds - pricingStart) / 1e9
        let plainStart = DispatchTime.now().uptimeNanoseconds
        let plain = MarketingBenchmark.baseline(carts: carts)
        let plainSeconds = Double(DispatchTime.now().uptimeNanoseconds - plainStart) / 1e9
        let pricingRate = Double(priced.carts) / max(pricingSeconds, 1e-9)
        let plainRate = Double(plain.carts) / max(plainSeconds, 1e-9)
        context.console.print(String(format: "marketing pricing: %d carts of %d lines in %.3f s = %.0f carts/s (checksum %lld)",
                                     priced.carts, MarketingBenchmark.linesPerCart, pricingSeconds, pricingRate, priced.checksum))
        context.console.print(String(format: "plain checkout:    %d carts in %.3f s = %.0f carts/s (checksum %lld, baseline)",
                                     plain.carts, plainSeconds, plainRate, plain.checksum))
        context.console.print(String(format: "ratio pricing/plain: %.4f", pricingRate / plainRate))
    }
}
