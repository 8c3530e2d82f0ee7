import Foundation
import Testing
@testable import MallCore

@Suite struct DistributorGradeTests {
    static let normal = UUID()
    static let senior = UUID()
    static let gold = UUID()

    static func ladder() throws -> GradeLadder {
        try GradeLadder([
            DistributorGrade(id: gold, name: "金牌", honourTitle: "金牌推广官", rank: 3,
                             promotion: [GradeCondition(.ownSales, atLeast: 5_000_000)],
                             minimum: [GradeCondition(.ownSales, atLeast: 500_000, window: .period)]),
            DistributorGrade(id: normal, name: "普通", honourTitle: "推广员", rank: 1),
            DistributorGrade(id: senior, name: "高级", honourTitle: "高级推广员", rank: 2,
                             promotion: [GradeCondition(.ownOrderCount, atLeast: 20), GradeCondition(.ownCommission, atLeast: 100_000)],
                             promotionMatch: .any,
                             minimum: [GradeCondition(.ownOrderCount, atLeast: 2, window: .period)]),
        ])
    }

    static func figures(sales: Int64 = 0, commission: Int64 = 0, orders: Int64 = 0,
                        periodSales: Int64 = 0, periodOrders: Int64 = 0) -> GradeFigures {
        GradeFigures(cumulative: .init(sales: Money(fen: sales), commission: Money(fen: commission), orderCount: orders),
                     period: .init(sales: Money(fen: periodSales), orderCount: periodOrders))
    }

    @Test func theLadderIsOrderedAndCarriesHonourTitles() throws {
        let ladder = try Self.ladder()
        #expect(ladder.grades.map(\.name) == ["普通", "高级", "金牌"])
        #expect(ladder.entryGrade?.id == Self.normal)
        #expect(ladder.grade(Self.gold)?.honourTitle == "金牌推广官")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let current: UUID
        let figures: GradeFigures
        let decision: GradeDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        .init(name: "nothing reached", current: normal, figures: figures(orders: 19, periodOrders: 5), decision: .keep(normal)),
        .init(name: "promoted by own order count (any condition)", current: normal, figures: figures(orders: 20, periodOrders: 5),
              decision: .promote(from: normal, to: senior)),
        .init(name: "promoted by own commission", current: normal, figures: figures(commission: 100_000, periodOrders: 2),
              decision: .promote(from: normal, to: senior)),
        .init(name: "not promoted into a grade whose minimum is not met", current: normal,
              figures: figures(orders: 20, periodOrders: 1), decision: .keep(normal)),
        .init(name: "straight to the top grade", current: normal,
              figures: figures(sales: 5_000_000, periodSales: 600_000, periodOrders: 3), decision: .promote(from: normal, to: gold)),
        .init(name: "gold below its period minimum falls to senior", current: gold,
              figures: figures(sales: 9_000_000, orders: 100, periodSales: 100_000, periodOrders: 3), decision: .demote(from: gold, to: senior)),
        .init(name: "gold below every minimum falls to the entry grade", current: gold,
              figures: figures(sales: 9_000_000, periodSales: 0, periodOrders: 0), decision: .demote(from: gold, to: normal)),
        .init(name: "gold keeps its grade", current: gold,
              figures: figures(sales: 9_000_000, periodSales: 500_000, periodOrders: 0), decision: .keep(gold)),
    ]

    @Test(arguments: cases)
    func promotionAndDemotionFollowOwnResults(_ c: Case) throws {
        #expect(try Self.ladder().evaluate(current: c.current, figures: c.figures) == c.decision)
    }

    @Test func theEntryGradeWithAMinimumLeadsToRemoval() throws {
        let id = UUID()
        let ladder = try GradeLadder([DistributorGrade(id: id, name: "体验官", rank: 0,
                                                       minimum: [GradeCondition(.ownSales, atLeast: 1, window: .period)])])
        #expect(try ladder.evaluate(current: id, figures: GradeFigures()) == .remove(from: id))
        #expect(throws: GradeError.unknownGrade(Self.gold)) { try ladder.evaluate(current: Self.gold, figures: GradeFigures()) }
    }

    @Test(arguments: [GradeMetric.teamSize, .invitations, .downlineCount])
    func headcountConditionsAreRefusedAsACompliance(_ metric: GradeMetric) {
        let grades = [
            DistributorGrade(id: Self.normal, name: "普通", rank: 1),
            DistributorGrade(id: Self.senior, name: "高级", rank: 2, promotion: [GradeCondition(metric, atLeast: 10)]),
        ]
        #expect(throws: GradeError.headcountCondition(metric)) { try GradeLadder(grades) }
        let error = GradeError.headcountCondition(metric)
        #expect(error.isCompliance)
        #expect(error.localizedMessage(.zhHans).hasPrefix("合规限制："))
        #expect(error.localizedMessage(.zhHans).contains(metric.name(.zhHans)))
        // Also as a minimum to keep a grade.
        let asMinimum = [DistributorGrade(id: Self.normal, name: "普通", rank: 1, minimum: [GradeCondition(metric, atLeast: 1, window: .period)])]
        #expect(throws: GradeError.headcountCondition(metric)) { try GradeLadder(asMinimum) }
    }

    @Test func badLaddersAreRefused() {
        #expect(throws: GradeError.emptyLadder) { try GradeLadder([]) }
        #expect(throws: GradeError.emptyName) { try GradeLadder([DistributorGrade(id: Self.normal, name: " ", rank: 1)]) }
        #expect(throws: GradeError.duplicateRank(1)) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1),
                             DistributorGrade(id: Self.senior, name: "b", rank: 1, promotion: [GradeCondition(.ownSales, atLeast: 1)])])
        }
        #expect(throws: GradeError.duplicateName("a")) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1),
                             DistributorGrade(id: Self.senior, name: "a", rank: 2, promotion: [GradeCondition(.ownSales, atLeast: 1)])])
        }
        #expect(throws: GradeError.duplicateGrade(Self.normal)) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1),
                             DistributorGrade(id: Self.normal, name: "b", rank: 2, promotion: [GradeCondition(.ownSales, atLeast: 1)])])
        }
        #expect(throws: GradeError.entryGradeHasPromotion("a")) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1, promotion: [GradeCondition(.ownSales, atLeast: 1)])])
        }
        #expect(throws: GradeError.noPromotionCondition("b")) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1), DistributorGrade(id: Self.senior, name: "b", rank: 2)])
        }
        #expect(throws: GradeError.negativeThreshold(grade: "b")) {
            try GradeLadder([DistributorGrade(id: Self.normal, name: "a", rank: 1),
                             DistributorGrade(id: Self.senior, name: "b", rank: 2, promotion: [GradeCondition(.ownSales, atLeast: -1)])])
        }
    }

    @Test func decodedConfigurationsNamingHeadcountAreStillRefused() throws {
        let json = #"[{"id":"00000000-0000-0000-0000-000000000001","name":"普通","honourTitle":"","rank":1,"promotion":[],"promotionMatch":"all","minimum":[]},{"id":"00000000-0000-0000-0000-000000000002","name":"高级","honourTitle":"","rank":2,"promotion":[{"metric":"invitations","window":"cumulative","threshold":10}],"promotionMatch":"all","minimum":[]}]"#
        let grades = try JSONDecoder().decode([DistributorGrade].self, from: Data(json.utf8))
        #expect(throws: GradeError.headcountCondition(.invitations)) { try GradeLadder(grades) }
    }
}
