import Foundation
import Testing
@testable import MallCore

@Suite struct MarketingActivityTests {
    typealias F = MarketingFixtures

    // MARK: bargain

    @Test func bargainReachesTheFloorInAtMostNCutsSummingExactly() throws {
        let rule = try BargainRule(startPrice: Money(fen: 10_000), floorPrice: Money(fen: 1_000), maxCuts: 10)
        var rng = SeededGenerator(seed: 7)
        let cuts = Bargain.simulate(rule, helpersAreNew: Array(repeating: false, count: 20), using: &rng)
        #expect(cuts.count == 10)
        #expect(cuts.reduce(0) { $0 + $1.fen } == 9_000)
        #expect(cuts.allSatisfy { $0.fen >= 1 })
        // The first cut is drawn around 9 000 × 2 / 11 = 1 636: between half and one and a half of it.
        #expect((818...2_454).contains(cuts[0].fen))
    }

    @Test func fewerFenThanCutsMeansOneFenEach() throws {
        let rule = try BargainRule(startPrice: Money(fen: 105), floorPrice: Money(fen: 100), maxCuts: 10)
        #expect(rule.effectiveCuts == 5)
        var rng = SeededGenerator(seed: 1)
        #expect(Bargain.simulate(rule, helpersAreNew: Array(repeating: false, count: 9), using: &rng).map(\.fen) == [1, 1, 1, 1, 1])
    }

    @Test func aNewMemberCutsForTwoWhereConfigured() throws {
        let rule = try BargainRule(startPrice: Money(fen: 5_000), floorPrice: .zero, maxCuts: 4, newMemberCountsDouble: true)
        var rng = SeededGenerator(seed: 3)
        let cuts = Bargain.simulate(rule, helpersAreNew: [true, true, false], using: &rng)
        // Two double cuts use all four cuts: the second takes what is left.
        #expect(cuts.count == 2)
        #expect(cuts.reduce(0) { $0 + $1.fen } == 5_000)
        var state = BargainState.start(rule)
        (_, state) = try Bargain.cut(rule, state, helperIsNewMember: true, using: &rng)
        #expect(state.cutsLeft == 2)
        (_, state) = try Bargain.cut(rule, state, helperIsNewMember: false, using: &rng)
        (_, state) = try Bargain.cut(rule, state, helperIsNewMember: false, using: &rng)
        #expect(state.currentPrice == .zero && state.isAtFloor(rule))
        #expect(throws: MarketingError.bargainFinished) { try Bargain.cut(rule, state, using: &rng) }
    }

    @Test func invalidBargains() {
        #expect(throws: MarketingError.bargainFloorNotBelowStart) { try BargainRule(startPrice: Money(fen: 100), floorPrice: Money(fen: 100), maxCuts: 3) }
        #expect(throws: MarketingError.bargainTooManyCuts(max: 1_000)) { try BargainRule(startPrice: Money(fen: 100), floorPrice: .zero, maxCuts: 1_001) }
        #expect(throws: MarketingError.invalidAmount) { try BargainRule(startPrice: Money(fen: 100), floorPrice: Money(fen: -1), maxCuts: 3) }
    }

    // MARK: group buying

    @Test func aGroupSucceedsWhenFull() throws {
        let rule = try GroupBuyRule(size: 3)
        var group = GroupBuy.open(rule, leaderPaidAt: F.now)
        #expect(group.deadline == F.now.addingTimeInterval(86_400))
        group = try GroupBuy.hold(group, now: F.now)
        group = try GroupBuy.hold(group, now: F.now)
        // Two seats held: a third joiner is refused, and a payment without a seat is refunded.
        #expect(GroupBuy.joinRefusal(group, now: F.now) == .full)
        #expect(GroupBuy.payment(group, holdsSeat: false, now: F.now) == .refund(.full))
        guard case .accepted(let one) = GroupBuy.payment(group, holdsSeat: true, now: F.now) else { Issue.record("refused"); return }
        #expect(one.status == .open && one.paid == 2 && one.held == 1)
        guard case .accepted(let two) = GroupBuy.payment(one, holdsSeat: true, now: F.now) else { Issue.record("refused"); return }
        #expect(two.status == .succeeded && two.paid == 3)
        #expect(GroupBuy.payment(two, holdsSeat: false, now: F.now) == .refund(.closed(.succeeded)))
        #expect(GroupBuy.expire(two, rule: rule, now: two.deadline) == .alreadyClosed)
    }

    @Test func aGroupShortAtItsDeadlineFailsOrCompletesVirtually() throws {
        let rule = try GroupBuyRule(size: 3, duration: 3_600)
        var group = GroupBuy.open(rule, leaderPaidAt: F.now)
        group = try GroupBuy.hold(group, now: F.now)
        let deadline = group.deadline
        #expect(GroupBuy.expire(group, rule: rule, now: deadline.addingTimeInterval(-1)) == .stillOpen)
        // A seat-holder's payment arriving at the deadline is refunded.
        #expect(GroupBuy.payment(group, holdsSeat: true, now: deadline) == .refund(.expired))
        guard case .failed(let failed, let refunds) = GroupBuy.expire(group, rule: rule, now: deadline) else { Issue.record("not failed"); return }
        #expect(failed.status == .failed && refunds == 1)
        #expect(GroupBuy.payment(failed, holdsSeat: true, now: deadline) == .refund(.closed(.failed)))
        let virtual = try GroupBuyRule(size: 3, duration: 3_600, virtualCompletion: true)
        guard case .succeeded(let done) = GroupBuy.expire(group, rule: virtual, now: deadline) else { Issue.record("not completed"); return }
        #expect(done.virtualMembers == 2 && done.paid == 1)
        // A released seat is free again.
        #expect(GroupBuy.release(group).held == 0)
        #expect(GroupRefusal.full.localizedMessage(.zhHans).contains("满员"))
    }

    // MARK: flash sale

    @Test func flashSalePageStates() throws {
        let session = try FlashSaleSession(id: "s", window: try ActivityWindow(start: F.now, end: F.now.addingTimeInterval(7_200)))
        #expect(FlashSale.pageState(session, available: 10, now: F.now.addingTimeInterval(-90.5)) == .upcoming(startsInSeconds: 91))
        #expect(FlashSale.pageState(session, available: 10, now: F.now) == .onSale(endsInSeconds: 7_200, remaining: 10))
        #expect(FlashSale.pageState(session, available: 0, now: F.now.addingTimeInterval(7_000)) == .soldOut(endsInSeconds: 200))
        #expect(FlashSale.pageState(session, available: 10, now: F.now.addingTimeInterval(7_200)) == .ended)
    }

    @Test func flashSalePurchaseDecisions() throws {
        let session = try FlashSaleSession(id: "s", window: try ActivityWindow(start: F.now, end: F.now.addingTimeInterval(600)), perMemberLimit: 2)
        #expect(FlashSale.purchaseRefusal(session, quantity: 1, alreadyBought: 0, available: 5, now: F.now.addingTimeInterval(-1)) == .notStarted)
        #expect(FlashSale.purchaseRefusal(session, quantity: 2, alreadyBought: 0, available: 5, now: F.now) == nil)
        #expect(FlashSale.purchaseRefusal(session, quantity: 2, alreadyBought: 1, available: 5, now: F.now) == .memberLimit(limit: 2, left: 1))
        #expect(FlashSale.purchaseRefusal(session, quantity: 1, alreadyBought: 0, available: 0, now: F.now) == .soldOut)
        #expect(FlashSale.purchaseRefusal(session, quantity: 2, alreadyBought: 0, available: 1, now: F.now) == .notEnoughStock(available: 1))
        #expect(FlashSale.purchaseRefusal(session, quantity: 0, alreadyBought: 0, available: 1, now: F.now) == .invalidQuantity)
        #expect(FlashSale.purchaseRefusal(session, quantity: 1, alreadyBought: 0, available: 1, now: F.now.addingTimeInterval(600)) == .ended)
        #expect(FlashSale.purchaseRefusal(session, quantity: 1, alreadyBought: 0, available: 1, now: F.now, paused: true) == .paused)
        #expect(FlashSale.purchaseRefusal(session, quantity: 1, alreadyBought: 0, available: 1, now: F.now.addingTimeInterval(600), paused: true) == .ended)
        #expect(FlashSaleRefusal.paused.localizedMessage(.en) == "The flash sale is paused")
        // Unpaid orders close after the default five minutes.
        #expect(session.unpaidTimeout == 300)
        #expect(!FlashSale.shouldClose(session, placedAt: F.now, now: F.now.addingTimeInterval(299)))
        #expect(FlashSale.shouldClose(session, placedAt: F.now, now: F.now.addingTimeInterval(300)))
        #expect(FlashSaleRefusal.memberLimit(limit: 2, left: 1).localizedMessage(.zhHans) == "每人限购 2 件，你还可以买 1 件")
    }

    @Test func queuedFlashRequestsAreDecidedInArrivalOrder() throws {
        let session = try FlashSaleSession(id: "s", window: try ActivityWindow(start: F.now, end: F.now.addingTimeInterval(600)), perMemberLimit: 2)
        typealias Q = FlashSale.QueuedRequest
        let requests = [Q(member: "a", quantity: 1), Q(member: "b", quantity: 2), Q(member: "a", quantity: 2), Q(member: "c", quantity: 1),
                        Q(member: "d", quantity: 2), Q(member: "c", quantity: 1), Q(member: "e", quantity: 1)]
        // a holds 1 already: its second ask (2) passes the limit; d asks 2 when 1 is left; c's second unit is the last.
        let decisions = FlashSale.allocate(requests, session: session, available: 5, held: ["a": 1], now: F.now)
        #expect(decisions == [nil, nil, .memberLimit(limit: 2, left: 0), nil, .notEnoughStock(available: 1), nil, .soldOut])
        // Before the start, paused and after the end every request is refused alike.
        #expect(FlashSale.allocate(requests, session: session, available: 5, held: [:], now: F.now.addingTimeInterval(-1)).allSatisfy { $0 == .notStarted })
        #expect(FlashSale.allocate(requests, session: session, available: 5, held: [:], now: F.now, paused: true).allSatisfy { $0 == .paused })
        #expect(FlashSale.allocate([], session: session, available: 5, held: [:], now: F.now).isEmpty)
    }

    @Test func queuedFlashGrantsNeverExceedTheUnitsOrTheLimit() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<500 {
            let limit = Int64.random(in: 1...3, using: &rng)
            let session = try FlashSaleSession(id: "s", window: try ActivityWindow(start: F.now, end: F.now.addingTimeInterval(600)), perMemberLimit: limit)
            let available = Int64.random(in: 0...20, using: &rng)
            let members = (0..<6).map { "m\($0)" }
            let held = Dictionary(uniqueKeysWithValues: members.map { ($0, Int64.random(in: 0...limit, using: &rng)) })
            let requests = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                FlashSale.QueuedRequest(member: members.randomElement(using: &rng)!, quantity: Int64.random(in: 1...3, using: &rng))
            }
            let decisions = FlashSale.allocate(requests, session: session, available: available, held: held, now: F.now)
            var granted: [String: Int64] = [:]
            for (request, refusal) in zip(requests, decisions) where refusal == nil { granted[request.member, default: 0] += request.quantity }
            #expect(granted.values.reduce(0, +) <= available)
            for (member, units) in granted { #expect(units + held[member]! <= limit) }
            // "Sold out" only once every unit is granted.
            let left = available - granted.values.reduce(0, +)
            if decisions.contains(.soldOut) { #expect(left == 0) }
        }
    }

    @Test func benchmarkSmoke() {
        let priced = MarketingBenchmark.run(carts: 3)
        #expect(priced.carts == 3)
        #expect(MarketingBenchmark.run(carts: 3) == priced)
        #expect(MarketingBenchmark.baseline(carts: 3).carts == 3)
        #expect(priced.checksum < MarketingBenchmark.baseline(carts: 3).checksum)
    }
}

@Suite struct MarketingMemberTests {
    typealias F = MarketingFixtures

    static let book = try! MemberLevelBook(levels: [
        MemberLevel(id: "v0", name: "普通会员", minimumGrowth: 0),
        MemberLevel(id: "v1", name: "银卡", minimumGrowth: 1_000, discount: BasisPoints(9_800), pointsPerYuan: 2, perks: [.birthdayCoupon]),
        MemberLevel(id: "v2", name: "金卡", minimumGrowth: 5_000, discount: BasisPoints(9_500), pointsPerYuan: 3, perks: [.freeShipping, .priorityShipping]),
    ])

    @Test(arguments: [(Int64(0), "v0"), (999, "v0"), (1_000, "v1"), (4_999, "v1"), (5_000, "v2"), (.max, "v2")])
    func levelByGrowth(_ growth: Int64, _ level: String) {
        #expect(Self.book.level(forGrowth: growth).id == level)
    }

    @Test func growthFromReceivedOrdersAndWhatALevelGives() throws {
        // Whole yuan per order: ¥99.99 counts 99; a fully refunded order counts nothing.
        #expect(Self.book.growth(fromReceivedOrders: [Money(fen: 9_999), Money(fen: 100_000), .zero]) == 1_099)
        let silver = Self.book.levels[1]
        #expect(try silver.memberPrice(Money(fen: 9_999)).fen == 9_799)  // 9 799.02
        #expect(silver.pointsEarned(on: Money(fen: 12_345)) == 246)
        #expect(throws: MarketingError.invalidLevels) { try MemberLevelBook(levels: [MemberLevel(id: "x", name: "x", minimumGrowth: 10)]) }
        #expect(throws: MarketingError.invalidLevels) {
            try MemberLevelBook(levels: [MemberLevel(id: "a", name: "a", minimumGrowth: 0), MemberLevel(id: "b", name: "b", minimumGrowth: 0)])
        }
        #expect(PointsAwards().forReview(withPhotos: true) == 20)
    }

    @Test func pointsExpireAtChinaYearEndOrAfterMonths() {
        // 2025-06-15 12:00 China time.
        let earned = Date(timeIntervalSince1970: 1_749_960_000)
        // 2026-01-01 00:00 China time is 2025-12-31 16:00 UTC.
        #expect(PointsExpiry.yearEnd(yearsAfter: 0).expiresAt(earnedAt: earned) == Date(timeIntervalSince1970: 1_767_196_800))
        #expect(PointsExpiry.yearEnd(yearsAfter: 1).expiresAt(earnedAt: earned) == Date(timeIntervalSince1970: 1_798_732_800))
        #expect(PointsExpiry.months(6).expiresAt(earnedAt: earned) == Date(timeIntervalSince1970: 1_765_771_200))
        #expect(PointsExpiry.never.expiresAt(earnedAt: earned) == nil)
    }

    @Test func pointLotsAreSpentSoonestExpiringFirstAndExpireExactly() throws {
        let day: TimeInterval = 86_400
        var ledger = PointsLedger()
        try ledger.earn(id: "late", points: 300, at: F.now, policy: .months(12))
        try ledger.earn(id: "soon", points: 100, at: F.now, policy: .months(1), reason: .signIn)
        try ledger.earn(id: "forever", points: 50, at: F.now, policy: .never, reason: .review)
        #expect(ledger.balance(at: F.now) == 450)
        let spent = try ledger.spend(150, at: F.now)
        #expect(spent == [PointsMovement(lotID: "soon", delta: -100, reason: .spend), PointsMovement(lotID: "late", delta: -50, reason: .spend)])
        #expect(throws: MarketingError.insufficientPoints(balance: 300, requested: 301)) { try ledger.spend(301, at: F.now) }
        // The refunded order gives its 150 back to the lots they came from.
        #expect(ledger.restore(spent).map(\.delta) == [100, 50])
        let expired = ledger.expire(at: F.now.addingTimeInterval(40 * day))
        #expect(expired == [PointsMovement(lotID: "soon", delta: -100, reason: .expiry)])
        #expect(ledger.balance(at: F.now.addingTimeInterval(40 * day)) == 350)
        // Taking back 400 points of "late" finds only 350: the rest is uncollected, the balance stays at zero.
        let (taken, uncollected) = ledger.clawback(lotID: "late", points: 400, at: F.now.addingTimeInterval(40 * day))
        #expect(taken.map(\.lotID) == ["late", "forever"] && uncollected == 50)
        #expect(ledger.balance(at: F.now.addingTimeInterval(40 * day)) == 0)
        #expect(throws: MarketingError.duplicateLot) { try ledger.earn(id: "late", points: 1, at: F.now, policy: .never) }
        #expect(throws: MarketingError.invalidCount) { try ledger.earn(id: "z", points: 0, at: F.now, policy: .never) }
    }
}
