import Foundation
import Testing
@testable import MallCore

@Suite struct MarketingPricingTests {
    typealias F = MarketingFixtures

    static let lines = [
        F.line(F.shopA, F.a1, F.productA1, 10_000, 2),
        F.line(F.shopA, F.a2, F.productA2, 5_000),
        F.line(F.shopB, F.b1, F.productB1, 8_000),
    ]

    static func shopTiers(payer: DiscountPayer = .merchant(F.shopA), paysCommission: Bool = true) throws -> FullReductionActivity {
        try FullReductionActivity(id: "fr", name: "店庆", payer: payer, window: F.window,
                                  tiers: [.amountOff(over: Money(fen: 19_900), Money(fen: 2_000)), .amountOff(over: Money(fen: 29_900), Money(fen: 4_000))],
                                  paysCommission: paysCommission)
    }

    static func offer(limit: Int64? = 1) throws -> LimitedTimeOffer {
        try LimitedTimeOffer(id: "lt", name: "限时价", skuID: F.a1, price: Money(fen: 8_000), window: F.window, perMemberLimit: limit,
                             payer: .merchant(F.shopA))
    }

    @Test func everyStepToTheFen() throws {
        // setup
        let input = PricingInput(
            lines: Self.lines, limitedTimeOffers: [try Self.offer()], fullReductions: [try Self.shopTiers()],
            coupons: [
                try F.coupon("platform", .discount, .payRate(BasisPoints(9_000), maximumOff: Money(fen: 3_000))),
                try F.coupon("shipping", .shipping, .shippingOff(Money(fen: 500))),
                try F.coupon("shopA", threshold: 15_000, F.off(1_500), payer: .merchant(F.shopA)),
            ],
            pointsRule: try PointsSpendRule(points: 100, fen: 100, maxShare: BasisPoints(1_000)), pointsBalance: 5_000, pointsRequested: nil,
            shippingFees: [F.shopA: Money(fen: 1_000)], now: F.now)

        // act
        let quote = try Pricing.quote(input)

        // check: the steps in the fixed order, each saving decided after the ones before
        #expect(quote.steps.map(\.source.kind) == [.limitedTime, .fullReduction, .coupon, .coupon, .coupon, .points])
        #expect(quote.steps.map(\.source.id) == ["lt", "fr", "shopA", "platform", "shipping", "points"])
        // one unit at ¥80 (limit 1); ¥230 reaches 满199减20; ¥210 left meets the shop's 满150减15;
        // 9折 of ¥275 is ¥27.50 (under the ¥30 cap); 10 % of ¥247.50 in whole yuan of points is ¥24.
        #expect(quote.steps.map(\.goods.fen) == [2_000, 2_000, 1_500, 2_750, 0, 2_400])
        #expect(quote.steps[4].shipping.fen == 500)
        #expect(quote.steps[1].label == "店庆 满199减20")
        #expect(quote.lines[0].limitedTimeUnits == 1)
        // per line and per source, largest remainder at each step
        #expect(quote.lines[0].allocations.map(\.amount.fen) == [2_000, 1_565, 1_174, 1_526, 1_332])
        #expect(quote.lines[1].allocations.map(\.amount.fen) == [435, 326, 424, 370])
        #expect(quote.lines[2].allocations.map(\.amount.fen) == [800, 698])
        #expect(quote.lines.map(\.paid.fen) == [12_403, 3_445, 6_502])
        #expect(quote.lines[0].allocations[2].source.payer == .merchant(F.shopA))
        #expect(quote.lines[2].allocations[0].source.payer == .platform)
        #expect(quote.shippingSavings[F.shopA]?.map(\.amount.fen) == [500])
        #expect(quote.pointsUsed == 2_400 && quote.pointsValue.fen == 2_400)
        #expect(quote.goodsAmount.fen == 33_000 && quote.shippingAmount.fen == 1_000)
        #expect(quote.savingTotal.fen == 11_150)
        #expect(quote.total.fen == 22_850)
        #expect(quote.checkout.orders.map(\.payable.fen) == [16_348, 6_502])
        #expect(quote.checkout.orders[0].shippingFee.fen == 500)
    }

    struct TierCase: Sendable, CustomTestStringConvertible {
        let base: Int64
        let tiers: [PromotionTier]
        let saving: Int64
        var testDescription: String { "¥\(Money(fen: base))" }
    }

    static let amountTiers: [PromotionTier] = [.amountOff(over: Money(fen: 19_900), Money(fen: 2_000)), .amountOff(over: Money(fen: 29_900), Money(fen: 4_000))]
    static let rateTiers: [PromotionTier] = [.payRate(over: Money(fen: 10_000), BasisPoints(9_500)), .payRate(over: Money(fen: 30_000), BasisPoints(8_800))]
    static let tierCases = [
        TierCase(base: 19_899, tiers: amountTiers, saving: 0),
        TierCase(base: 19_900, tiers: amountTiers, saving: 2_000),
        TierCase(base: 29_899, tiers: amountTiers, saving: 2_000),
        TierCase(base: 29_900, tiers: amountTiers, saving: 4_000),
        TierCase(base: 99_900, tiers: amountTiers, saving: 4_000),
        TierCase(base: 10_000, tiers: rateTiers, saving: 500),
        TierCase(base: 12_345, tiers: rateTiers, saving: 617),  // pays 11 727.75 → 11 728
        TierCase(base: 30_000, tiers: rateTiers, saving: 3_600),
    ]

    @Test(arguments: tierCases) func highestTierReached(_ c: TierCase) throws {
        let activity = try FullReductionActivity(id: "t", name: "t", payer: .platform, window: F.window, tiers: c.tiers)
        #expect(activity.saving(for: Money(fen: c.base)).fen == c.saving)
    }

    @Test func tiersMustRise() {
        #expect(throws: MarketingError.tiersNotAscending) {
            try FullReductionActivity(id: "t", name: "t", payer: .platform, window: F.window,
                                      tiers: [.amountOff(over: Money(fen: 20_000), Money(fen: 3_000)), .amountOff(over: Money(fen: 30_000), Money(fen: 2_000))])
        }
        #expect(throws: MarketingError.tiersNotAscending) {
            try FullReductionActivity(id: "t", name: "t", payer: .platform, window: F.window, tiers: [Self.rateTiers[1], Self.rateTiers[0]])
        }
    }

    @Test func limitedTimeUnitsBeyondTheLimitPayTheNormalPrice() throws {
        let offer = try Self.offer(limit: 3)
        #expect(offer.discountedUnits(quantity: 2, alreadyBought: 0) == 2)
        #expect(offer.discountedUnits(quantity: 5, alreadyBought: 1) == 2)
        #expect(offer.discountedUnits(quantity: 5, alreadyBought: 3) == 0)
        let lines = [F.line(F.shopA, F.a1, F.productA1, 10_000, 5)]
        let quote = try Pricing.quote(PricingInput(lines: lines, limitedTimeOffers: [offer], boughtUnderOffers: ["lt": 1], now: F.now))
        #expect(quote.lines[0].limitedTimeUnits == 2)
        #expect(quote.total.fen == 2 * 8_000 + 3 * 10_000)
        // Outside the window the normal price holds.
        let later = try Pricing.quote(PricingInput(lines: lines, limitedTimeOffers: [offer], now: F.window.end))
        #expect(later.total.fen == 50_000 && later.steps.isEmpty)
    }

    @Test func giftsWhenReachedAndInStock() throws {
        let gift = try GiftActivity(id: "g", name: "满300送杯子", payer: .merchant(F.shopA), window: F.window, threshold: Money(fen: 25_000),
                                    giftSKU: uuid(0x77), giftQuantity: 2)
        func outcome(stock: Int64, lines: [PricingLine] = Self.lines) throws -> GiftOutcome.Status? {
            try Pricing.quote(PricingInput(lines: lines, gifts: [gift], giftStock: [uuid(0x77): stock], now: F.now)).gifts.first?.status
        }
        #expect(try outcome(stock: 2) == .awarded)
        #expect(try outcome(stock: 1) == .outOfStock)
        #expect(try outcome(stock: 9, lines: [Self.lines[1]]) == .belowThreshold(missing: Money(fen: 20_000)))
    }

    @Test func flashSaleLinesTakeNothingElseAndPayNoCommission() throws {
        let flash = ExclusiveActivity(kind: .flashSale, id: "fs")
        let lines = [F.line(F.shopA, F.a1, F.productA1, 9_900, exclusive: flash), F.line(F.shopA, F.a2, F.productA2, 30_000)]
        let quote = try Pricing.quote(PricingInput(lines: lines, fullReductions: [try Self.shopTiers()],
                                                   coupons: [try F.coupon("p", .noThreshold, F.off(1_000))], now: F.now))
        #expect(quote.lines[0].allocations.isEmpty && quote.lines[0].paid.fen == 9_900)
        #expect(!quote.lines[0].paysCommission)
        #expect(quote.lines[1].paid.fen == 30_000 - 4_000 - 1_000)
        #expect(quote.lines[1].paysCommission)
    }

    @Test(arguments: [
        (ActivityKind.groupBuy, "group_buy", Int64(9_900), Int64(6_900), Int64(2), Int64(6_000)),
        (ActivityKind.bargain, "bargain", Int64(9_900), Int64(1), Int64(1), Int64(9_899)),
        (ActivityKind.groupBuy, "group_buy", Int64(9_900), Int64(9_900), Int64(1), Int64(0)),
    ])
    func anActivityPriceIsRecordedAsTheLinesSaving(kind: ActivityKind, sourceKind: String, unit: Int64, price: Int64, quantity: Int64, saving: Int64) throws {
        let activity = ExclusiveActivity(kind: kind, id: "a1", price: Money(fen: price), payer: .merchant(F.shopA), name: "两人团")
        let lines = [PricingLine(merchantID: F.shopA, skuID: F.a1, productID: F.productA1, unitPrice: Money(fen: unit), quantity: quantity,
                                 exclusiveActivity: activity)]
        let quote = try Pricing.quote(PricingInput(lines: lines, fullReductions: [try Self.shopTiers()], now: F.now))
        #expect(quote.lines[0].allocations.map(\.amount.fen) == (saving > 0 ? [saving] : []))
        #expect(quote.lines[0].allocations.allSatisfy { $0.source.kind.rawValue == sourceKind && !$0.source.paysCommission })
        #expect(quote.lines[0].paid.fen == price * quantity)
        #expect(!quote.lines[0].paysCommission)
    }

    struct FlashPriceCase: Sendable, CustomTestStringConvertible {
        let unit: Int64
        let quantity: Int64
        let price: Int64?
        let paysCommission: Bool
        let saving: Int64
        var testDescription: String { "¥\(unit) × \(quantity) at \(price.map(String.init) ?? "nil")" }
    }

    static let flashPriceCases = [
        FlashPriceCase(unit: 9_900, quantity: 1, price: 4_900, paysCommission: false, saving: 5_000),
        FlashPriceCase(unit: 9_900, quantity: 3, price: 1, paysCommission: true, saving: 29_697),
        FlashPriceCase(unit: 9_900, quantity: 2, price: 0, paysCommission: false, saving: 19_800),
        // Not below the normal price (the shop lowered it since): the normal price, no saving.
        FlashPriceCase(unit: 9_900, quantity: 1, price: 9_900, paysCommission: false, saving: 0),
        FlashPriceCase(unit: 9_900, quantity: 1, price: 12_000, paysCommission: false, saving: 0),
        FlashPriceCase(unit: 9_900, quantity: 1, price: nil, paysCommission: false, saving: 0),
    ]

    @Test(arguments: flashPriceCases) func aFlashPriceIsTheLinesSavingUnderItsOwnSource(_ c: FlashPriceCase) throws {
        let flash = ExclusiveActivity(kind: .flashSale, id: "fs/item", paysCommission: c.paysCommission, price: c.price.map { Money(fen: $0) },
                                      payer: .merchant(F.shopA), name: "整点秒杀")
        let lines = [F.line(F.shopA, F.a1, F.productA1, c.unit, c.quantity, exclusive: flash), F.line(F.shopA, F.a2, F.productA2, 30_000)]
        let quote = try Pricing.quote(PricingInput(lines: lines, fullReductions: [try Self.shopTiers()],
                                                   coupons: [try F.coupon("p", .noThreshold, F.off(1_000))], now: F.now))
        #expect(quote.lines[0].paid.fen == c.unit * c.quantity - c.saving)
        let shares = quote.lines[0].allocations
        #expect(shares.map(\.amount.fen) == (c.saving > 0 ? [c.saving] : []))
        #expect(shares.allSatisfy { $0.source == DiscountSource(kind: .flashSale, id: "fs/item", payer: .merchant(F.shopA), paysCommission: c.paysCommission) })
        #expect(quote.lines[0].paysCommission == c.paysCommission)
        #expect(quote.steps.first.map { $0.label } == (c.saving > 0 ? "整点秒杀" : "店庆 满299减40"))
        // The other line keeps its full reduction and coupon, on its own amount.
        #expect(quote.lines[1].paid.fen == 30_000 - 4_000 - 1_000)
    }

    @Test func aLineUnderAnActivityWithItsSwitchOffPaysNoCommission() throws {
        let quote = try Pricing.quote(PricingInput(lines: Self.lines, fullReductions: [try Self.shopTiers(paysCommission: false)], now: F.now))
        #expect(quote.lines.map(\.paysCommission) == [false, false, true])
        #expect(MarketingCommission.marketingExcluded(quote.lines[0]))
        #expect(ActivityKind.allCases.filter(\.paysCommissionByDefault) == [.coupon, .fullReduction, .gift, .limitedTime])
        #expect(MarketingCommission.paysCommission(.groupBuy) == false)
        #expect(MarketingCommission.paysCommission(.bargain, setting: true))
    }

    @Test func oneCouponPerSlot() throws {
        let two = [try F.coupon("p1", .noThreshold, F.off(100)), try F.coupon("p2", .noThreshold, F.off(200))]
        #expect(throws: MarketingError.tooManyPlatformCoupons) { try Pricing.quote(PricingInput(lines: Self.lines, coupons: two, now: F.now)) }
        let shop = [try F.coupon("m1", .noThreshold, F.off(100), payer: .merchant(F.shopA)),
                    try F.coupon("m2", .noThreshold, F.off(200), payer: .merchant(F.shopA))]
        #expect(throws: MarketingError.tooManyMerchantCoupons(merchant: F.shopA)) {
            try Pricing.quote(PricingInput(lines: Self.lines, coupons: shop, now: F.now))
        }
        let below = [try F.coupon("big", threshold: 90_000, F.off(100))]
        #expect(throws: MarketingError.couponNotApplicable(id: "big", reason: .belowThreshold(missing: Money(fen: 57_000)))) {
            try Pricing.quote(PricingInput(lines: Self.lines, coupons: below, now: F.now))
        }
    }

    @Test func pointsRule() throws {
        let rule = try PointsSpendRule(points: 10, fen: 1, maxShare: BasisPoints(5_000), maxAmount: Money(fen: 2_000))
        // 10 points = 1 fen; half of ¥30 is ¥15, under the ¥20 cap; 200 000 points would pay ¥200.
        #expect(rule.redemption(balance: 200_000, requested: nil, payable: Money(fen: 3_000)) == (15_000, Money(fen: 1_500)))
        #expect(rule.redemption(balance: 200_000, requested: nil, payable: Money(fen: 10_000)) == (20_000, Money(fen: 2_000)))
        #expect(rule.redemption(balance: 95, requested: nil, payable: Money(fen: 10_000)) == (90, Money(fen: 9)))
        #expect(rule.redemption(balance: 1_000, requested: 0, payable: Money(fen: 10_000)) == (0, .zero))
        #expect(throws: MarketingError.invalidPointsRate) { try PointsSpendRule(points: 0, fen: 1) }
    }

    @Test func bestCouponCombination() throws {
        // setup: shop A ¥200; a shop coupon that leaves the platform coupon's threshold out of reach loses.
        let lines = [F.line(F.shopA, F.a1, F.productA1, 10_000, 2)]
        let coupons = [
            try F.coupon("m1", threshold: 20_000, F.off(3_000), payer: .merchant(F.shopA)),
            try F.coupon("m2", .noThreshold, F.off(500), payer: .merchant(F.shopA)),
            try F.coupon("p1", threshold: 18_000, F.off(5_000)),
            try F.coupon("p2", threshold: 10_000, F.off(1_000)),
            try F.coupon("x", threshold: 50_000, F.off(10_000)),
            try F.coupon("e", .noThreshold, F.off(9_000), validity: .daysAfterReceipt(1), receivedAt: F.now.addingTimeInterval(-86_400)),
        ]

        // act
        let suggestion = try Pricing.suggestCoupons(PricingInput(lines: lines, now: F.now), from: coupons)

        // check
        #expect(suggestion.chosen == ["m2", "p1"])
        #expect(suggestion.saving.fen == 5_500)
        #expect(suggestion.notChosen.map(\.id) == ["m1", "p2", "x", "e"])
        #expect(suggestion.notChosen[0].reason == .savesLess(withIt: Money(fen: 4_000), best: Money(fen: 5_500)))
        #expect(suggestion.notChosen[1].reason == .savesLess(withIt: Money(fen: 4_000), best: Money(fen: 5_500)))
        #expect(suggestion.notChosen[2].reason == .notApplicable(.belowThreshold(missing: Money(fen: 30_000))))
        #expect(suggestion.notChosen[3].reason == .notApplicable(.expired(endedAt: F.now)))
        #expect(suggestion.notChosen[0].reason.localizedMessage(.zhHans) == "使用此券共省 ¥40.00，比推荐组合少省 ¥15.00")
        // The suggestion prices as it said.
        let chosen = coupons.filter { suggestion.chosen.contains($0.id) }
        #expect(try Pricing.quote(PricingInput(lines: lines, coupons: chosen, now: F.now)).savingTotal.fen == 5_500)
    }

    @Test func onEqualSavingsTheSoonerExpiringCouponIsUsed() throws {
        let lines = [F.line(F.shopA, F.a1, F.productA1, 10_000)]
        let late = try F.coupon("late", .noThreshold, F.off(500))
        let soon = try F.coupon("soon", .noThreshold, F.off(500), validity: .daysAfterReceipt(1), receivedAt: F.now.addingTimeInterval(-3_600))
        let suggestion = try Pricing.suggestCoupons(PricingInput(lines: lines, now: F.now), from: [late, soon])
        #expect(suggestion.chosen == ["soon"])
        #expect(suggestion.notChosen.map(\.reason) == [.sameSaving])
    }

    @Test func platformLinesScopeSplitsAcrossShops() throws {
        var draft = try CheckoutDraft(lines: Self.lines.map(\.checkoutLine))
        try draft.apply(CheckoutDiscount(id: "x", kind: .fullReduction, label: "x", amount: Money(fen: 1_000), scope: .platformLines([F.a2, F.b1])))
        // ¥10 by 5 000 : 8 000 → 384.6 and 615.4.
        #expect(draft.remaining.map(\.fen) == [20_000, 5_000 - 385, 8_000 - 615])
        #expect(throws: CheckoutError.emptyScope(id: "y")) {
            try draft.apply(CheckoutDiscount(id: "y", kind: .coupon, label: "", amount: .zero, scope: .platformLines([])))
        }
    }
}

@Suite struct MarketingRefundTests {
    typealias F = MarketingFixtures
    static let coupon = DiscountSource(kind: .coupon, id: "mc", payer: .merchant(F.shopA))
    static let points = PointsSpendRule.source
    static let allocations = [PricedAllocation(source: coupon, amount: Money(fen: 1_000)), PricedAllocation(source: points, amount: Money(fen: 333))]

    @Test func partialThenFullRefundReversesExactlyTheAllocations() throws {
        // A line of 3 units paid ¥90.00 after ¥13.33 of discounts.
        let line = try RefundableLine(paid: Money(fen: 9_000), quantity: 3)
        let first = try MarketingRefunds.reversal(Self.allocations, line: line, units: 1, amount: Money(fen: 3_000))
        #expect(first.reversed.map(\.amount.fen) == [333, 111])
        #expect(!first.fullyRefunded)
        let after = try RefundableLine(paid: Money(fen: 9_000), quantity: 3, refundedUnits: 1, refundedAmount: Money(fen: 3_000))
        let rest = try MarketingRefunds.reversal(Self.allocations, line: after, units: 2, amount: Money(fen: 6_000))
        #expect(rest.reversed.map(\.amount.fen) == [667, 222])
        #expect(rest.fullyRefunded)
        #expect(throws: RefundError.exceedsRefundable(requested: Money(fen: 6_001), refundable: Money(fen: 6_000))) {
            try MarketingRefunds.reversal(Self.allocations, line: after, units: 0, amount: Money(fen: 6_001))
        }
        #expect(MarketingRefunds.maxRefundable(paid: Money(fen: 9_000), refunded: Money(fen: 3_000)).fen == 6_000)
        #expect(MarketingRefunds.maxRefundable(paid: Money(fen: 9_000), refunded: Money(fen: 12_000)) == .zero)
    }

    @Test func aFullyRefundedOrderGivesItsCouponBack() throws {
        let lines = [MarketingFixtures.line(F.shopA, F.a1, F.productA1, 10_000), MarketingFixtures.line(F.shopA, F.a2, F.productA2, 10_000)]
        let quote = try Pricing.quote(PricingInput(lines: lines, coupons: [try F.coupon("mc", .noThreshold, F.off(1_000))], now: F.now))
        #expect(MarketingRefunds.couponsToReturn(quote.lines, fullyRefundedSKUs: [F.a1]) == [])
        #expect(MarketingRefunds.couponsToReturn(quote.lines, fullyRefundedSKUs: [F.a1, F.a2]) == ["mc"])
    }
}
