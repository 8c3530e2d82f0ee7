import Foundation
import PropertyBased
import Testing
@testable import MallCore

/// Random carts, activities, coupons and refunds: what must hold whatever merchants and buyers do.
@Suite struct MarketingPropertyTests {
    typealias F = MarketingFixtures

    struct Scenario: Sendable, CustomStringConvertible {
        let input: PricingInput
        let available: [MemberCoupon]
        var description: String { "\(input.lines.count) lines, \(available.count) coupons" }
    }

    static let shops = [F.shopA, F.shopB]
    static let categories = [F.food, F.drinks]

    static let scenarios = Generator<Scenario, Shrink.None<Scenario>> { rng in
        let skus = (0..<6).map { uuid(UInt8(0x40 + $0)) }
        let lineCount = Int.random(in: 1...6, using: &rng)
        let big = Bool.random(using: &rng)
        let lines = (0..<lineCount).map { index in
            F.line(shops[Int.random(in: 0...1, using: &rng)], skus[index], uuid(UInt8(0x60 + index)),
                   Int64.random(in: 0...(big ? 1_000_000_000 : 50_000), using: &rng), Int64.random(in: 1...(big ? 99_999 : 5), using: &rng),
                   category: categories.randomElement(using: &rng),
                   exclusive: Int.random(in: 0..<8, using: &rng) == 0 ? ExclusiveActivity(kind: .groupBuy, id: "g") : nil)
        }
        func money(_ upTo: Int64) -> Money { Money(fen: Int64.random(in: 1...upTo, using: &rng)) }
        let offers = lines.filter { _ in Bool.random(using: &rng) }.map { line in
            try! LimitedTimeOffer(id: "lt-\(line.skuID)", name: "lt", skuID: line.skuID, price: Money(fen: Int64.random(in: 0...line.unitPrice.fen, using: &rng)),
                                  window: F.window, perMemberLimit: Bool.random(using: &rng) ? Int64.random(in: 1...3, using: &rng) : nil,
                                  payer: .merchant(line.merchantID))
        }
        var activities: [FullReductionActivity] = []
        for shop in shops where Bool.random(using: &rng) {
            let threshold = money(100_000)
            let tiers: [PromotionTier] = Bool.random(using: &rng)
                ? [.amountOff(over: threshold, Money(fen: Int64.random(in: 1..<max(2, threshold.fen), using: &rng)))]
                : [.payRate(over: threshold, BasisPoints(Int.random(in: 1...9_999, using: &rng)))]
            activities.append(try! FullReductionActivity(id: "fr-\(shop)", name: "fr", payer: .merchant(shop), window: F.window, tiers: tiers,
                                                         paysCommission: Bool.random(using: &rng)))
        }
        if Bool.random(using: &rng) {
            activities.append(try! FullReductionActivity(id: "fr-all", name: "fr", scope: .categories([F.food]), payer: .platform, window: F.window,
                                                         tiers: [.payRate(over: money(50_000), BasisPoints(Int.random(in: 5_000...9_999, using: &rng)))]))
        }
        var coupons: [MemberCoupon] = []
        for index in 0..<Int.random(in: 0...6, using: &rng) {
            let payer: DiscountPayer = Bool.random(using: &rng) ? .platform : .merchant(shops.randomElement(using: &rng)!)
            let threshold = money(200_000)
            let coupon: MemberCoupon
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: coupon = try! F.coupon("c\(index)", threshold: threshold.fen, F.off(Int64.random(in: 1..<max(2, threshold.fen), using: &rng)), payer: payer)
            case 1: coupon = try! F.coupon("c\(index)", .discount, .payRate(BasisPoints(Int.random(in: 1...9_999, using: &rng)),
                                                                            maximumOff: Bool.random(using: &rng) ? money(10_000) : nil), payer: payer)
            case 2: coupon = try! F.coupon("c\(index)", .noThreshold, F.off(money(1_000_000).fen), payer: payer,
                                           paysCommission: Bool.random(using: &rng))
            default: coupon = try! F.coupon("c\(index)", .shipping, .shippingOff(Bool.random(using: &rng) ? money(2_000) : nil), payer: payer)
            }
            coupons.append(coupon)
        }
        var fees: [UUID: Money] = [:]
        for line in lines where Bool.random(using: &rng) { fees[line.merchantID] = Money(fen: Int64.random(in: 0...2_000, using: &rng)) }
        let rule = try! PointsSpendRule(points: Int64.random(in: 1...1_000, using: &rng), fen: Int64.random(in: 1...100, using: &rng),
                                        maxShare: Bool.random(using: &rng) ? BasisPoints(Int.random(in: 1...10_000, using: &rng)) : nil,
                                        maxAmount: Bool.random(using: &rng) ? money(100_000) : nil)
        let member = Bool.random(using: &rng)
            ? MemberPricing(levelID: "m", levelName: "m", discount: BasisPoints(Int.random(in: 1...10_000, using: &rng)), freeShipping: Bool.random(using: &rng))
            : nil
        let input = PricingInput(lines: lines, limitedTimeOffers: offers, fullReductions: activities, pointsRule: rule,
                                 pointsBalance: Int64.random(in: 0...10_000_000, using: &rng), pointsRequested: nil, shippingFees: fees, now: F.now,
                                 member: member)
        return Scenario(input: input, available: coupons)
    }

    /// The suggested coupons, priced: every rule below must hold for them.
    static func priced(_ scenario: Scenario) throws -> (PricingQuote, CouponSuggestion) {
        let suggestion = try Pricing.suggestCoupons(scenario.input, from: scenario.available)
        var input = scenario.input
        input.coupons = scenario.available.filter { suggestion.chosen.contains($0.id) }
        return (try Pricing.quote(input), suggestion)
    }

    @Test func linesNeverGoNegativeAndAllocationsAddUp() async {
        await propertyCheck(count: 300, input: Self.scenarios) { scenario in
            let (quote, suggestion) = try Self.priced(scenario)
            var bySource: [String: Int64] = [:]
            for line in quote.lines {
                #expect(line.paid.fen >= 0)
                #expect(line.allocations.allSatisfy { $0.amount.fen > 0 })
                #expect(line.amount.fen - line.allocations.reduce(0) { $0 + $1.amount.fen } == line.paid.fen)
                // A line carrying any part of an activity whose switch is off pays no commission.
                if line.allocations.contains(where: { !$0.source.paysCommission }) { #expect(!line.paysCommission) }
                for allocation in line.allocations { bySource[allocation.source.discountID, default: 0] += allocation.amount.fen }
            }
            for step in quote.steps {
                #expect(step.goods.fen >= 0 && step.shipping.fen >= 0)
                #expect((bySource[step.source.discountID] ?? 0) == step.goods.fen)
            }
            #expect(quote.total.fen == quote.goodsAmount.fen + quote.shippingAmount.fen - quote.savingTotal.fen)
            #expect(quote.checkout.orders.allSatisfy { $0.shippingFee.fen >= 0 })
            // What the suggestion promised is what the coupons save.
            #expect(quote.steps.filter { $0.source.kind == .coupon }.reduce(0) { $0 + $1.amount.fen } == suggestion.saving.fen)
            for (index, line) in quote.lines.enumerated() where scenario.input.lines[index].exclusiveActivity != nil {
                #expect(line.allocations.isEmpty && !line.paysCommission)
            }
        }
    }

    @Test func aRefundNeverReturnsMoreThanWasPaidAndAFullRefundReversesEverything() async {
        await propertyCheck(count: 300, input: Self.scenarios) { scenario in
            let (quote, _) = try Self.priced(scenario)
            var rng = SeededGenerator(seed: UInt64(truncatingIfNeeded: quote.total.fen))
            for line in quote.lines {
                var state = try RefundableLine(paid: line.paid, quantity: line.quantity)
                var refunded: Int64 = 0
                var reversed: [String: Int64] = [:]
                while state.remainingUnits > 0 {
                    let units = Int64.random(in: 0...state.remainingUnits, using: &rng)
                    let last = units == state.remainingUnits
                    let amount = last ? state.remainingAmount : Money(fen: Int64.random(in: 0...state.remainingAmount.fen, using: &rng))
                    #expect(amount <= MarketingRefunds.maxRefundable(paid: line.paid, refunded: state.refundedAmount))
                    let reversal = try MarketingRefunds.reversal(line.allocations, line: state, units: units, amount: amount)
                    refunded += reversal.refund.fen
                    for part in reversal.reversed { reversed[part.source.discountID, default: 0] += part.amount.fen }
                    state = try RefundableLine(paid: line.paid, quantity: line.quantity, refundedUnits: state.refundedUnits + units,
                                               refundedAmount: Money(fen: state.refundedAmount.fen + amount.fen))
                    for allocation in line.allocations { #expect((reversed[allocation.source.discountID] ?? 0) <= allocation.amount.fen) }
                }
                #expect(refunded == line.paid.fen)
                for allocation in line.allocations { #expect(reversed[allocation.source.discountID] == allocation.amount.fen) }
            }
        }
    }

    struct BargainCase: Sendable, CustomStringConvertible {
        let start: Int64
        let floor: Int64
        let cuts: Int
        let double: Bool
        let helpers: [Bool]
        let seed: UInt64
        var description: String { "\(start)→\(floor) in \(cuts)" }
    }

    static let bargains = Generator<BargainCase, Shrink.None<BargainCase>> { rng in
        let start = Bool.random(using: &rng) ? Int64.random(in: 1 ... .max, using: &rng) : Int64.random(in: 1...100_000, using: &rng)
        let floor = Int64.random(in: 0..<start, using: &rng)
        let cuts = Bool.random(using: &rng) ? Int.random(in: 1...1_000, using: &rng) : Int.random(in: 1...30, using: &rng)
        return BargainCase(start: start, floor: floor, cuts: cuts, double: Bool.random(using: &rng),
                           helpers: (0..<(cuts + 5)).map { _ in Int.random(in: 0..<4, using: &rng) == 0 }, seed: rng.next())
    }

    @Test func bargainCutsArePositiveFewEnoughAndSumExactly() async {
        await propertyCheck(count: 500, input: Self.bargains) { c in
            let rule = try BargainRule(startPrice: Money(fen: c.start), floorPrice: Money(fen: c.floor), maxCuts: c.cuts, newMemberCountsDouble: c.double)
            var rng = SeededGenerator(seed: c.seed)
            let cuts = Bargain.simulate(rule, helpersAreNew: c.helpers, using: &rng)
            #expect(cuts.allSatisfy { $0.fen >= 1 })
            #expect(cuts.count <= c.cuts)
            // Enough helpers always reach the floor, exactly.
            var sum: Int64 = 0
            for cut in cuts { sum += cut.fen }
            #expect(sum == c.start - c.floor)
        }
    }

    @Test func pointsNeverGoBelowZero() async {
        let operations = Generator<[Int64], Shrink.None<[Int64]>> { rng in
            (0..<40).map { _ in Int64.random(in: -500...500, using: &rng) }
        }
        await propertyCheck(count: 200, input: operations) { steps in
            var ledger = PointsLedger()
            var expected: Int64 = 0
            for (index, step) in steps.enumerated() {
                let at = F.now.addingTimeInterval(TimeInterval(index) * 86_400)
                _ = ledger.expire(at: at)
                expected = ledger.balance(at: at)
                if step > 0 {
                    try ledger.earn(id: "l\(index)", points: step, at: at, policy: .months(Int(step % 3) + 1))
                    expected += step
                } else if step < 0 {
                    if -step <= expected {
                        _ = try ledger.spend(-step, at: at)
                        expected += step
                    } else {
                        #expect(throws: MarketingError.self) { try ledger.spend(-step, at: at) }
                    }
                }
                #expect(ledger.balance(at: at) == expected)
                #expect(ledger.lots.allSatisfy { $0.remaining >= 0 && $0.remaining <= $0.earned })
            }
        }
    }
}
