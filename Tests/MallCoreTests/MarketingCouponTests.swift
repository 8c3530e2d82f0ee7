import Foundation
import Testing
@testable import MallCore

/// A seeded generator for rules that take one, so a case always draws the same numbers.
struct SeededGenerator: RandomNumberGenerator {
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

enum MarketingFixtures {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    static let shopA = uuid(0xA1), shopB = uuid(0xB1)
    static let a1 = uuid(1), a2 = uuid(2), b1 = uuid(3)
    static let productA1 = uuid(0x11), productA2 = uuid(0x12), productB1 = uuid(0x13)
    static let food = uuid(0xC1), drinks = uuid(0xC2)

    static var window: ActivityWindow { try! ActivityWindow(start: now.addingTimeInterval(-86_400), end: now.addingTimeInterval(86_400)) }

    static func line(_ shop: UUID, _ sku: UUID, _ product: UUID, _ price: Int64, _ quantity: Int64 = 1, category: UUID? = nil,
                     exclusive: ExclusiveActivity? = nil) -> PricingLine {
        PricingLine(merchantID: shop, skuID: sku, productID: product, categoryIDs: category.map { [$0] } ?? [], unitPrice: Money(fen: price),
                    quantity: quantity, exclusiveActivity: exclusive)
    }

    static func coupon(_ id: String, _ kind: CouponKind = .fullReduction, threshold: Int64 = 0, _ benefit: CouponBenefit,
                       scope: MarketingScope = .all, payer: DiscountPayer = .platform, validity: CouponValidity? = nil,
                       paysCommission: Bool = true, receivedAt: Date = now, used: Bool = false) throws -> MemberCoupon {
        let coupon = try Coupon(id: id, kind: kind, name: id, threshold: Money(fen: threshold), benefit: benefit, scope: scope,
                                validity: validity ?? .window(window), payer: payer, paysCommission: paysCommission)
        return MemberCoupon(id: id, coupon: coupon, receivedAt: receivedAt, used: used)
    }

    static func off(_ fen: Int64) -> CouponBenefit { .amountOff(Money(fen: fen)) }
}

@Suite struct MarketingCouponTests {
    typealias F = MarketingFixtures
    static let lines = [
        F.line(F.shopA, F.a1, F.productA1, 10_000, 2, category: F.food),
        F.line(F.shopA, F.a2, F.productA2, 5_000, category: F.drinks),
        F.line(F.shopB, F.b1, F.productB1, 8_000, category: F.food),
    ]

    func use(_ coupon: MemberCoupon, now: Date = F.now, isNew: Bool = false, shipping: [UUID: Money] = [:]) -> Result<CouponUse, CouponRejection> {
        Coupons.use(coupon, lines: Self.lines, remaining: Self.lines.map { Money(fen: $0.unitPrice.fen * $0.quantity) },
                    shippingFees: shipping, now: now, isNewMember: isNew)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let coupon: MemberCoupon
        let now: Date
        let isNew: Bool
        let expected: Result<Int64, CouponRejection>
        var testDescription: String { name }
    }

    static let days3 = try! F.coupon("d3", .noThreshold, F.off(500), validity: .daysAfterReceipt(3), receivedAt: F.now.addingTimeInterval(-3 * 86_400))

    static let cases: [Case] = try! [
        Case(name: "满减 reached", coupon: F.coupon("fr", threshold: 30_000, F.off(2_000)), now: F.now, isNew: false, expected: .success(2_000)),
        Case(name: "满减 below: 还差", coupon: F.coupon("fr", threshold: 40_000, F.off(2_000)), now: F.now, isNew: false,
             expected: .failure(.belowThreshold(missing: Money(fen: 7_000)))),
        Case(name: "8.8折 on ¥330", coupon: F.coupon("d", .discount, .payRate(BasisPoints(8_800), maximumOff: nil)), now: F.now, isNew: false,
             expected: .success(3_960)),
        Case(name: "8.8折 capped at ¥30", coupon: F.coupon("d", .discount, .payRate(BasisPoints(8_800), maximumOff: Money(fen: 3_000))),
             now: F.now, isNew: false, expected: .success(3_000)),
        Case(name: "scope: category food only", coupon: F.coupon("c", .discount, .payRate(BasisPoints(9_000), maximumOff: nil), scope: .categories([F.food])),
             now: F.now, isNew: false, expected: .success(2_800)),
        Case(name: "scope: all except product A1", coupon: F.coupon("x", .noThreshold, F.off(20_000), scope: .allExceptProducts([F.productA1])),
             now: F.now, isNew: false, expected: .success(13_000)),
        Case(name: "merchant coupon covers its shop only", coupon: F.coupon("m", threshold: 26_000, F.off(1_000), payer: .merchant(F.shopB)),
             now: F.now, isNew: false, expected: .failure(.belowThreshold(missing: Money(fen: 18_000)))),
        Case(name: "out of scope", coupon: F.coupon("p", .noThreshold, F.off(100), scope: .products([uuid(0x99)])), now: F.now, isNew: false,
             expected: .failure(.outOfScope)),
        Case(name: "new-user coupon for an old member", coupon: F.coupon("n", .newUser, F.off(1_000)), now: F.now, isNew: false,
             expected: .failure(.newMembersOnly)),
        Case(name: "new-user coupon for a new member", coupon: F.coupon("n", .newUser, F.off(1_000)), now: F.now, isNew: true, expected: .success(1_000)),
        Case(name: "used", coupon: F.coupon("u", .noThreshold, F.off(100), used: true), now: F.now, isNew: false, expected: .failure(.alreadyUsed)),
        Case(name: "not started", coupon: F.coupon("s", .noThreshold, F.off(100)), now: F.window.start.addingTimeInterval(-1), isNew: false,
             expected: .failure(.notStarted(startsAt: F.window.start))),
        Case(name: "expired at the end instant", coupon: F.coupon("e", .noThreshold, F.off(100)), now: F.window.end, isNew: false,
             expected: .failure(.expired(endedAt: F.window.end))),
        Case(name: "3 days after receipt: last second", coupon: days3, now: F.now.addingTimeInterval(-1), isNew: false, expected: .success(500)),
        Case(name: "3 days after receipt: over", coupon: days3, now: F.now, isNew: false, expected: .failure(.expired(endedAt: F.now))),
    ]

    @Test(arguments: cases) func applicability(_ c: Case) {
        switch (use(c.coupon, now: c.now, isNew: c.isNew), c.expected) {
        case let (.success(use), .success(saving)): #expect(use.goodsSaving.fen == saving)
        case let (.failure(reason), .failure(expected)): #expect(reason == expected)
        case let (got, expected): Issue.record("\(got) ≠ \(expected)")
        }
    }

    @Test func belowThresholdSaysHowMuchIsMissingInBothLanguages() {
        let reason = CouponRejection.belowThreshold(missing: Money(fen: 7_000))
        #expect(reason.localizedMessage(.zhHans) == "还差 ¥70.00 可用")
        #expect(reason.localizedMessage(.en) == "Add CN¥70.00 more to use it")
        #expect(reason.code == "coupon_below_threshold")
    }

    @Test func shippingCouponTakesOffShippingOnly() throws {
        let free = try F.coupon("s", .shipping, .shippingOff(nil))
        let fees = [F.shopA: Money(fen: 1_000), F.shopB: Money(fen: 600)]
        guard case .success(let all) = use(free, shipping: fees) else { Issue.record("not applicable"); return }
        #expect(all.goodsSaving == .zero)
        #expect(all.shippingSaving == fees)
        let five = try F.coupon("s5", .shipping, .shippingOff(Money(fen: 800)))
        guard case .success(let part) = use(five, shipping: fees) else { Issue.record("not applicable"); return }
        // ¥8 by 1 000 : 600 → 500 and 300.
        #expect(part.shippingSaving == [F.shopA: Money(fen: 500), F.shopB: Money(fen: 300)])
        #expect(use(free, shipping: [:]) == .failure(.noShippingFee))
    }

    @Test func invalidCouponsAreRefused() {
        #expect(throws: MarketingError.reductionNotBelowThreshold) { try F.coupon("x", threshold: 2_000, F.off(2_000)) }
        #expect(throws: MarketingError.invalidRate) { try F.coupon("x", .discount, .payRate(BasisPoints(10_000), maximumOff: nil)) }
        #expect(throws: MarketingError.invalidAmount) { try F.coupon("x", .noThreshold, threshold: 100, F.off(50)) }
        #expect(throws: MarketingError.invalidAmount) { try F.coupon("x", .shipping, F.off(50)) }
        #expect(throws: MarketingError.emptyScope) { try F.coupon("x", .noThreshold, F.off(50), scope: .products([])) }
        #expect(throws: MarketingError.invalidCount) { try F.coupon("x", .noThreshold, F.off(50), validity: .daysAfterReceipt(0)) }
        #expect(throws: MarketingError.invalidWindow) { try ActivityWindow(start: F.now, end: F.now) }
        #expect(MarketingError.invalidRate.localizedMessage(.zhHans).contains("折"))
    }

    @Test func summaries() throws {
        #expect(try F.coupon("a", threshold: 19_900, F.off(2_000)).coupon.summary(.zhHans) == "满199减20")
        #expect(try F.coupon("a", threshold: 19_900, F.off(2_000)).coupon.summary(.en) == "CN¥199.00 or more: CN¥20.00 off")
        #expect(try F.coupon("b", .discount, .payRate(BasisPoints(8_800), maximumOff: Money(fen: 5_000))).coupon.summary(.zhHans) == "8.8折 最多减50")
        #expect(try F.coupon("c", .noThreshold, F.off(550)).coupon.summary(.zhHans) == "无门槛减5.5")
        #expect(try F.coupon("d", .shipping, .shippingOff(nil)).coupon.summary(.zhHans) == "免运费")
    }

    struct ClaimCase: Sendable, CustomTestStringConvertible {
        let name: String
        let limits: CouponClaimLimits
        let counts: CouponClaimCounts
        let expected: CouponRejection?
        var testDescription: String { name }
    }

    static let claimCases: [ClaimCase] = [
        ClaimCase(name: "unlimited", limits: .init(), counts: .init(issued: 1_000_000, byMember: 50), expected: nil),
        ClaimCase(name: "last of the total", limits: .init(total: 100), counts: .init(issued: 99), expected: nil),
        ClaimCase(name: "total gone", limits: .init(total: 100), counts: .init(issued: 100), expected: .soldOut),
        ClaimCase(name: "per member", limits: .init(perMember: 2), counts: .init(issued: 5, byMember: 2), expected: .memberLimitReached(limit: 2)),
        ClaimCase(name: "per member per day", limits: .init(perMember: 5, perMemberPerDay: 1), counts: .init(byMember: 1, byMemberToday: 1),
                  expected: .memberDailyLimitReached(limit: 1)),
        ClaimCase(name: "daily release gone", limits: .init(perDay: 500), counts: .init(issued: 900, issuedToday: 500), expected: .dailySoldOut),
    ]

    @Test(arguments: claimCases) func claimLimits(_ c: ClaimCase) throws {
        let coupon = try Coupon(id: "c", kind: .noThreshold, name: "c", benefit: F.off(100), validity: .window(F.window), limits: c.limits)
        #expect(Coupons.claimRefusal(coupon, counts: c.counts, now: F.now, isNewMember: false) == c.expected)
    }

    @Test func claimingAfterTheEndOrANewUserCouponAsAnOldMember() throws {
        let coupon = try Coupon(id: "n", kind: .newUser, name: "n", benefit: F.off(100), validity: .window(F.window))
        #expect(Coupons.claimRefusal(coupon, counts: .init(), now: F.now, isNewMember: false) == .newMembersOnly)
        #expect(Coupons.claimRefusal(coupon, counts: .init(), now: F.window.end, isNewMember: true) == .claimEnded)
        #expect(Coupons.claimRefusal(coupon, counts: .init(), now: F.now, isNewMember: true) == nil)
    }

    @Test func aCouponComesBackOnlyBeforeItsEnd() throws {
        let coupon = try F.coupon("c", .noThreshold, F.off(100))
        #expect(Coupons.returnsToMember(coupon, now: F.now))
        #expect(!Coupons.returnsToMember(coupon, now: F.window.end))
    }
}
