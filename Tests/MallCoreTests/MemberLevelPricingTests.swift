import Foundation
import PropertyBased
import Testing
@testable import MallCore

/// The member level at checkout: its rate on lines no activity priced, right after the activity
/// prices, and its free shipping.
@Suite struct MemberLevelPricingTests {
    typealias F = MarketingFixtures

    static let silver = MemberPricing(levelID: "silver", levelName: "白银会员", discount: BasisPoints(9_800))
    static let gold = MemberPricing(levelID: "gold", levelName: "黄金会员", discount: BasisPoints(9_500), freeShipping: true)

    static let lines = [
        F.line(F.shopA, F.a1, F.productA1, 10_000, 2),
        F.line(F.shopA, F.a2, F.productA2, 5_000),
        F.line(F.shopB, F.b1, F.productB1, 8_000),
    ]

    struct RoundingCase: Sendable, CustomTestStringConvertible {
        let amount: Int64
        let rate: Int
        let off: Int64
        var testDescription: String { "\(amount) fen at \(rate) bp → \(off) off" }
    }

    /// The member pays the amount at the rate rounded half up; the discount is the rest.
    @Test(arguments: [
        RoundingCase(amount: 20_000, rate: 9_800, off: 400),
        RoundingCase(amount: 1_999, rate: 9_800, off: 40),     // pays 1 959.02 → 1 959
        RoundingCase(amount: 1_999, rate: 9_500, off: 100),    // pays 1 899.05 → 1 899
        RoundingCase(amount: 30, rate: 9_500, off: 1),         // pays 28.5 → 29 (half up)
        RoundingCase(amount: 10, rate: 9_500, off: 0),         // pays 9.5 → 10: nothing off
        RoundingCase(amount: 1, rate: 1, off: 1),              // pays 0.0001 → 0
        RoundingCase(amount: 0, rate: 9_500, off: 0),
        RoundingCase(amount: 12_345, rate: 10_000, off: 0),
        RoundingCase(amount: Int64.max, rate: 9_999, off: 922_337_203_685_478),
        RoundingCase(amount: 500, rate: 0, off: 0),            // a rate the level book refuses takes nothing
        RoundingCase(amount: 500, rate: 10_001, off: 0),
    ])
    func lineDiscountRoundsThePayableHalfUp(_ c: RoundingCase) {
        let member = MemberPricing(levelID: "x", levelName: "x", discount: BasisPoints(c.rate))
        #expect(member.lineDiscount(Money(fen: c.amount)).fen == c.off)
    }

    @Test func labelsNameTheLevelAndTheRate() {
        #expect(Self.silver.discountLabel(.zhHans) == "会员折扣（白银会员 98折）")
        #expect(Self.silver.discountLabel(.en) == "Member discount (白银会员, 2% off)")
        #expect(MemberPricing(levelID: "x", levelName: "x", discount: BasisPoints(9_550)).zhe == "95.5")
        #expect(MemberPricing(levelID: "x", levelName: "x", discount: BasisPoints(8_805)).zhe == "88.05")
        #expect(Self.gold.shippingLabel(.zhHans) == "会员包邮")
    }

    @Test func eachLineAtTheRateOnItsOwnPaidByThePlatform() throws {
        // act
        let quote = try Pricing.quote(PricingInput(lines: Self.lines, shippingFees: [F.shopA: Money(fen: 1_000)], now: F.now, member: Self.silver))

        // check: 2 % of each line, per line, one step
        #expect(quote.steps.map(\.source.kind) == [.member])
        #expect(quote.steps[0].label == "会员折扣（白银会员 98折）")
        #expect(quote.steps[0].goods.fen == 660)
        #expect(quote.lines.map { $0.allocations.map(\.amount.fen) } == [[400], [100], [160]])
        #expect(quote.lines.map(\.paid.fen) == [19_600, 4_900, 7_840])
        #expect(quote.lines.allSatisfy { $0.allocations.allSatisfy { $0.source.payer == .platform && $0.source.paysCommission } })
        #expect(quote.lines.allSatisfy { $0.paysCommission })
        #expect(quote.memberDiscount.fen == 660)
        #expect(quote.checkout.orders.map(\.discountTotal.fen) == [500, 160])
        // silver has no free shipping
        #expect(quote.checkout.shippingTotal.fen == 1_000 && quote.shippingWaived.isEmpty)
        #expect(quote.total.fen == 33_000 - 660 + 1_000)
    }

    @Test func fullReductionIsJudgedAfterTheMemberPrice() throws {
        // setup: ¥200 of shop A's a1 reaches 满199减20 at the list price, but not at 98折 (¥196)
        let activity = try FullReductionActivity(id: "fr", name: "店庆", payer: .merchant(F.shopA), window: F.window,
                                                 tiers: [.amountOff(over: Money(fen: 19_900), Money(fen: 2_000))])
        let lines = [Self.lines[0]]

        // act
        let regular = try Pricing.quote(PricingInput(lines: lines, fullReductions: [activity], now: F.now))
        let silver = try Pricing.quote(PricingInput(lines: lines, fullReductions: [activity], now: F.now, member: Self.silver))
        let gold = try Pricing.quote(PricingInput(lines: [F.line(F.shopA, F.a1, F.productA1, 10_000, 3)], fullReductions: [activity], now: F.now,
                                                  member: Self.gold))

        // check
        #expect(regular.steps.map(\.source.kind) == [.fullReduction] && regular.total.fen == 18_000)
        #expect(silver.steps.map(\.source.kind) == [.member] && silver.total.fen == 19_600)
        // ¥300 at 95折 is ¥285, which still reaches ¥199: ¥20 off what is left
        #expect(gold.steps.map(\.source.kind) == [.member, .fullReduction])
        #expect(gold.steps.map(\.goods.fen) == [1_500, 2_000] && gold.total.fen == 26_500)
    }

    @Test func activityPricedLinesKeepTheirPriceAndGetNoMemberDiscount() throws {
        // setup: a limited-time price on a1 (no limit), a group buy on b1
        let offer = try LimitedTimeOffer(id: "lt", name: "限时价", skuID: F.a1, price: Money(fen: 8_000), window: F.window, perMemberLimit: nil,
                                         payer: .merchant(F.shopA))
        var lines = Self.lines
        lines[2] = F.line(F.shopB, F.b1, F.productB1, 8_000, exclusive: ExclusiveActivity(kind: .groupBuy, id: "g", price: Money(fen: 6_900)))

        // act
        let quote = try Pricing.quote(PricingInput(lines: lines, limitedTimeOffers: [offer], now: F.now, member: Self.gold))

        // check: only a2 carries the member discount
        #expect(quote.steps.map(\.source.kind) == [.groupBuy, .limitedTime, .member])
        #expect(quote.lines[0].allocations.map(\.source.kind) == [.limitedTime])
        #expect(quote.lines[1].allocations.map(\.source.kind) == [.member])
        #expect(quote.lines[1].allocations.map(\.amount.fen) == [250])
        #expect(quote.lines[2].allocations.map(\.source.kind) == [.groupBuy])
        #expect(quote.lines.map(\.paid.fen) == [16_000, 4_750, 6_900])
    }

    @Test func aLimitedTimeOfferUsedUpLeavesTheLineToTheMemberPrice() throws {
        let offer = try LimitedTimeOffer(id: "lt", name: "限时价", skuID: F.a2, price: Money(fen: 4_000), window: F.window, perMemberLimit: 1,
                                         payer: .merchant(F.shopA))
        let quote = try Pricing.quote(PricingInput(lines: Self.lines, limitedTimeOffers: [offer], boughtUnderOffers: ["lt": 1], now: F.now,
                                                   member: Self.silver))
        #expect(quote.lines[1].allocations.map(\.source.kind) == [.member])
        #expect(quote.lines[1].paid.fen == 4_900)
    }

    @Test func freeShippingWaivesEveryShopsFeeBeforeShippingCoupons() throws {
        // setup
        let input = PricingInput(lines: Self.lines, coupons: [try F.coupon("ship", .shipping, .shippingOff(nil))],
                                 shippingFees: [F.shopA: Money(fen: 1_000), F.shopB: Money(fen: 600)], now: F.now, member: Self.gold)

        // act: the shipping coupon finds nothing to take off
        #expect(throws: MarketingError.couponNotApplicable(id: "ship", reason: .noShippingFee)) { try Pricing.quote(input) }
        var without = input
        without.coupons = []
        let quote = try Pricing.quote(without)

        // check
        #expect(quote.steps.map(\.label) == ["会员折扣（黄金会员 95折）", "会员包邮"])
        #expect(quote.steps[1].shipping.fen == 1_600 && quote.steps[1].goods.fen == 0)
        #expect(quote.steps[1].source.payer == .platform)
        #expect(quote.shippingWaived == [F.shopA: Money(fen: 1_000), F.shopB: Money(fen: 600)])
        #expect(quote.checkout.orders.map(\.shippingFee.fen) == [0, 0])
        #expect(quote.shippingAmount.fen == 1_600 && quote.checkout.shippingTotal.fen == 0)
        #expect(quote.total.fen == 33_000 - 1_650)
        #expect(quote.savingTotal.fen == 1_650 + 1_600)
        // the suggestion leaves the shipping coupon out, with its reason
        let suggestion = try Pricing.suggestCoupons(without, from: input.coupons)
        #expect(suggestion.chosen.isEmpty)
    }

    @Test func couponsAndPointsComeAfterTheMemberPrice() throws {
        // setup: a platform 满100减10 coupon and points for at most half of what is left
        let input = PricingInput(lines: [Self.lines[1], Self.lines[2]], coupons: [try F.coupon("p", threshold: 10_000, F.off(1_000))],
                                 pointsRule: try PointsSpendRule(points: 100, fen: 100, maxShare: BasisPoints(5_000)), pointsBalance: 100_000,
                                 pointsRequested: nil, now: F.now, member: Self.silver)

        // act
        let quote = try Pricing.quote(input)

        // check: ¥130 → ¥127.40 at 98折; the coupon's threshold ¥100 is met; ¥10 off leaves ¥117.40; half in whole yuan is ¥58
        #expect(quote.steps.map(\.source.kind) == [.member, .coupon, .points])
        #expect(quote.steps.map(\.goods.fen) == [260, 1_000, 5_800])
        #expect(quote.total.fen == 13_000 - 260 - 1_000 - 5_800)
    }

    struct Cart: Sendable, CustomStringConvertible {
        let price: Int64, quantity: Int64, rate: Int, exclusive: Bool
        var description: String { "\(price) × \(quantity) at \(rate) bp\(exclusive ? " + bargain" : "")" }
    }

    @Test func memberPartsNeverExceedTheLineAndAddUp() async {
        let cases = Generator<Cart, Shrink.None<Cart>> { rng in
            Cart(price: Int64.random(in: 0...1_000_000_000, using: &rng), quantity: Int64.random(in: 1...99_999, using: &rng),
                 rate: Int.random(in: 1...10_000, using: &rng), exclusive: Bool.random(using: &rng))
        }
        await propertyCheck(count: 300, input: cases) { cart in
            let (price, quantity, rate, exclusive) = (cart.price, cart.quantity, cart.rate, cart.exclusive)
            let member = MemberPricing(levelID: "m", levelName: "m", discount: BasisPoints(rate), freeShipping: true)
            let lines = [F.line(F.shopA, F.a1, F.productA1, price, quantity),
                         F.line(F.shopB, F.b1, F.productB1, price / 3, 1, exclusive: exclusive ? ExclusiveActivity(kind: .bargain, id: "b") : nil)]
            let quote = try Pricing.quote(PricingInput(lines: lines, shippingFees: [F.shopA: Money(fen: 800)], now: F.now, member: member))
            for (index, line) in quote.lines.enumerated() {
                let part = line.allocations.filter { $0.source.kind == .member }.reduce(0) { $0 + $1.amount.fen }
                #expect(part >= 0 && part <= line.amount.fen && line.paid.fen >= 0)
                if lines[index].exclusiveActivity == nil {
                    #expect(part == member.lineDiscount(line.amount).fen)
                    // The member pays the rate's share rounded half up: within half a fen of it.
                    let exact = line.amount.fen * Int64(rate)
                    #expect(line.paid.fen * 10_000 > exact - 5_000 && line.paid.fen * 10_000 <= exact + 5_000)
                } else {
                    #expect(part == 0)
                }
            }
            #expect(quote.memberDiscount.fen == quote.lines.flatMap(\.allocations).filter { $0.source.kind == .member }.reduce(0) { $0 + $1.amount.fen })
            #expect(quote.total.fen == quote.goodsAmount.fen + quote.shippingAmount.fen - quote.savingTotal.fen)
            #expect(quote.checkout.shippingTotal.fen == 0)
        }
    }
}
