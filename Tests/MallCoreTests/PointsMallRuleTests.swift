import Foundation
import Testing
@testable import MallCore

@Suite struct PointsMallRuleTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test func statusMovesOnlyAlongTheTable() {
        #expect(PointsMallItemStatus.active.after(.pause) == .paused)
        #expect(PointsMallItemStatus.paused.after(.resume) == .active)
        #expect(PointsMallItemStatus.active.after(.stop) == .stopped)
        #expect(PointsMallItemStatus.paused.after(.stop) == .stopped)
        #expect(PointsMallItemStatus.active.after(.resume) == nil)
        #expect(PointsMallItemStatus.paused.after(.pause) == nil)
        for action in PointsMallAction.allCases { #expect(PointsMallItemStatus.stopped.after(action) == nil) }
    }

    @Test func refusalsComeInOrder() {
        func refusal(_ status: PointsMallItemStatus = .active, start: TimeInterval? = nil, end: TimeInterval? = nil, available: Int64 = 1,
                     limit: Int64? = 1, mine: Int64 = 0) -> PointsMallRefusal? {
            PointsMall.refusal(status: status, startsAt: start.map { now.addingTimeInterval($0) }, endsAt: end.map { now.addingTimeInterval($0) },
                               now: now, available: available, perMemberLimit: limit, redeemedByMember: mine)
        }
        #expect(refusal() == nil)
        #expect(refusal(.paused, available: 0) == .paused)
        #expect(refusal(.stopped) == .stopped)
        #expect(refusal(start: 1) == .notStarted)
        #expect(refusal(start: 0, end: 1) == nil)
        #expect(refusal(end: 0) == .ended)
        #expect(refusal(mine: 1) == .memberLimit)
        #expect(refusal(limit: nil, mine: 99) == nil)
        #expect(refusal(available: 0) == .soldOut)
        #expect(refusal(available: 0, mine: 1) == .memberLimit)
    }

    @Test func definitionsAreBounded() {
        #expect(PointsMall.definitionIssues(pointsPrice: 1, stock: 1, perMemberLimit: nil, startsAt: nil, endsAt: nil).isEmpty)
        #expect(PointsMall.definitionIssues(pointsPrice: PointsMall.maxPointsPrice, stock: PointsMall.maxStock, perMemberLimit: PointsMall.maxPerMember,
                                            startsAt: now, endsAt: now.addingTimeInterval(1)).isEmpty)
        let bad = PointsMall.definitionIssues(pointsPrice: 0, stock: .max, perMemberLimit: .min, startsAt: now, endsAt: now)
        #expect(bad.map { $0.field } == ["pointsPrice", "stock", "perMemberLimit", "endsAt"])
        #expect(PointsMall.definitionIssues(pointsPrice: .min, stock: 0, perMemberLimit: 0, startsAt: nil, endsAt: now).map { $0.field }
                == ["pointsPrice", "stock", "perMemberLimit"])
    }

    @Test(arguments: [
        // cash, SKU price, field refused (nil: accepted)
        (Int64(1), Int64(9_900), String?.none),
        (990, 9_900, nil),
        (9_900, 9_900, nil),
        (9_901, 9_900, "cashFen"),
        (0, 9_900, nil),
        (0, 0, nil),
        (-1, 9_900, "cashFen"),
        (.min, 9_900, "cashFen"),
        (.max, 9_900, "cashFen"),
        (1, 0, "cashFen"),
    ])
    func theCashPartIsNothingUpToThePrice(cash: Int64, price: Int64, field: String?) {
        let issues = PointsMall.cashIssues(cashFen: cash, skuPriceFen: price)
        #expect(issues.map(\.field) == (field.map { [$0] } ?? []))
        #expect(issues.allSatisfy { !$0.zh.isEmpty && !$0.en.isEmpty })
    }

    @Test(arguments: [
        // quantity, refunded units, paid, refunded, points back
        (Int64(1), Int64(1), Int64(990), Int64(990), true),
        (1, 1, 990, 500, false),
        (1, 0, 990, 990, false),
        (1, 0, 990, 0, false),
        (2, 1, 1_980, 990, false),
        (2, 2, 1_980, 1_980, true),
        (0, 0, 0, 0, false),
    ])
    func onlyAWholeRefundReturnsThePoints(quantity: Int64, units: Int64, paid: Int64, refunded: Int64, back: Bool) {
        #expect(PointsMall.refundReturnsPoints(quantity: quantity, refundedUnits: units, paid: Money(fen: paid), refunded: Money(fen: refunded)) == back)
    }
}
