import Fluent
import Foundation
import MallCore

/// The demo mall's distribution: settings as shipped, three grades with honour titles, and
/// rules of 10 % and 5 % over two levels (金牌 earns 15 % at level 1).
enum DistributionDemo {
    static let standardGrade = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0x0D, 1))
    static let seniorGrade = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0x0D, 2))
    static let goldGrade = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0x0D, 3))

    static func seed(on db: any Database, now: Date) async throws {
        try await DistributionConfig().save(on: db, now: now)
        let grades = [
            DistributorGrade(id: standardGrade, name: "普通", honourTitle: "推广员", rank: 1),
            DistributorGrade(id: seniorGrade, name: "高级", honourTitle: "优秀推广官", rank: 2,
                             promotion: [GradeCondition(.ownSales, atLeast: 500_000, window: .cumulative)]),
            DistributorGrade(id: goldGrade, name: "金牌", honourTitle: "金牌推广官", rank: 3,
                             promotion: [GradeCondition(.ownSales, atLeast: 2_000_000, window: .cumulative),
                                         GradeCondition(.ownOrderCount, atLeast: 50, window: .cumulative)]),
        ]
        _ = try GradeLadder(grades)
        let encoder = JSONEncoder()
        for grade in grades {
            let record = DistributorGradeRecord()
            record.id = grade.id
            record.name = grade.name
            record.rank = grade.rank
            record.definitionJSON = String(decoding: try encoder.encode(grade), as: UTF8.self)
            record.updatedAt = now
            try await record.create(on: db)
        }
        let rules = [
            CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1_000)), level2: CommissionLevelRule(.rate(500))),
            CommissionRule(scope: .grade(goldGrade), level1: CommissionLevelRule(.rate(1_500))),
        ]
        _ = try CommissionRuleBook(rules: rules, settings: try DistributionConfig().commissionSettings())
        for rule in rules {
            let record = CommissionRuleRecord()
            record.scopeKey = rule.scope.storageKey
            record.merchantID = nil
            record.ruleJSON = String(decoding: try encoder.encode(rule), as: UTF8.self)
            record.updatedAt = now
            try await record.create(on: db)
        }
    }
}
