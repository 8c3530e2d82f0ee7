import Foundation
import Testing
@testable import MallCore

@Suite struct CommissionRulesTests {
    typealias W = CommissionWorld

    @Test func aFourthLevelIsRefusedAsACompliance() throws {
        #expect(throws: CommissionConfigError.tooManyLevels(4)) { try CommissionLevel(4) }
        #expect(throws: CommissionConfigError.invalidLevel(0)) { try CommissionLevel(0) }
        #expect(throws: CommissionConfigError.tooManyLevels(4)) {
            try CommissionRule(scope: .global, levels: [1: W.rate(100), 4: W.rate(100)])
        }
        #expect(throws: CommissionConfigError.tooManyLevels(5)) { try CommissionSettings(levelCount: 5).validate() }
        #expect(throws: CommissionConfigError.tooManyLevels(4)) {
            try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(levelCount: 4))
        }
        let error = CommissionConfigError.tooManyLevels(4)
        #expect(error.isCompliance)
        #expect(error.code == "commission_too_many_levels")
        #expect(error.localizedMessage(.zhHans).hasPrefix("合规限制："))
        #expect(error.localizedMessage(.zhHans).contains("最多三级"))
        #expect(error.localizedMessage(.en).hasPrefix("Compliance limit:"))
        #expect(try CommissionRule(scope: .global, levels: [2: W.rate(100)]).level2 == W.rate(100))
    }

    struct CapCase: Sendable, CustomTestStringConvertible {
        let name: String
        let rules: [CommissionRule]
        let levelCount: Int
        let refusedAt: CommissionRuleScope?
        var testDescription: String { name }
    }

    static let capCases: [CapCase] = [
        .init(name: "global at the cap", rules: [CommissionRule(scope: .global, level1: W.rate(3_000), level2: W.rate(1_500), level3: W.rate(500))],
              levelCount: 3, refusedAt: nil),
        .init(name: "global above the cap", rules: [CommissionRule(scope: .global, level1: W.rate(3_000), level2: W.rate(1_500), level3: W.rate(501))],
              levelCount: 3, refusedAt: .global),
        .init(name: "an unpaid level does not count", rules: [CommissionRule(scope: .global, level1: W.rate(3_000), level2: W.rate(2_000), level3: W.rate(4_000))],
              levelCount: 2, refusedAt: nil),
        .init(name: "a tier counts with its rate",
              rules: [CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1_000), tiers: [
                  CommissionTier(minimumPeriodSales: Money(fen: 1), formula: .rate(6_000))]))],
              levelCount: 3, refusedAt: .global),
        .init(name: "a SKU rule counts the levels it leaves to the global rule",
              rules: [CommissionRule(scope: .global, level1: W.rate(1_000), level2: W.rate(1_000)),
                      CommissionRule(scope: .sku(W.sku), level1: W.rate(4_001))],
              levelCount: 3, refusedAt: .sku(W.sku)),
        .init(name: "two grades mixed across levels",
              rules: [CommissionRule(scope: .global, level1: W.rate(100)),
                      CommissionRule(scope: .grade(W.gold), level1: W.rate(3_000), level2: W.rate(500)),
                      CommissionRule(scope: .grade(W.normal), level1: W.rate(1_000), level2: W.rate(2_500))],
              levelCount: 3, refusedAt: .grade(W.normal)),
        .init(name: "a child category inherits its parent's levels",
              rules: [CommissionRule(scope: .category(W.babies), level2: W.rate(3_000)),
                      CommissionRule(scope: .category(W.formula), level1: W.rate(2_500))],
              levelCount: 3, refusedAt: .category(W.formula)),
    ]

    @Test(arguments: capCases)
    func ratesAboveTheCapAreRefusedWhenConfigured(_ c: CapCase) throws {
        let settings = CommissionSettings(levelCount: c.levelCount)
        if let scope = c.refusedAt {
            do {
                _ = try CommissionRuleBook(rules: c.rules, settings: settings, categoryParents: W.parents)
                Issue.record("accepted")
            } catch {
                guard case .ratesExceedCap(let refused, _, let cap) = error else {
                    Issue.record("wrong error \(error)")
                    return
                }
                #expect(refused == scope)
                #expect(cap == BasisPoints(5_000))
                #expect(error.isCompliance)
                #expect(error.localizedMessage(.zhHans).contains("合规"))
            }
        } else {
            _ = try CommissionRuleBook(rules: c.rules, settings: settings, categoryParents: W.parents)
        }
    }

    @Test func badFormulasAndTiersAreRefused() {
        #expect(throws: CommissionConfigError.rateOutOfRange(level: 2, rate: BasisPoints(10_001))) {
            try CommissionRule(scope: .global, level2: W.rate(10_001)).validate()
        }
        #expect(throws: CommissionConfigError.rateOutOfRange(level: 1, rate: BasisPoints(-1))) {
            try CommissionRule(scope: .global, level1: W.rate(-1)).validate()
        }
        #expect(throws: CommissionConfigError.negativeAmount(level: 3)) {
            try CommissionRule(scope: .global, level3: CommissionLevelRule(.perUnit(Money(fen: -1)))).validate()
        }
        #expect(throws: CommissionConfigError.tiersNotAscending(level: 1)) {
            try CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1), tiers: [
                CommissionTier(minimumPeriodSales: Money(fen: 500), formula: .rate(2)),
                CommissionTier(minimumPeriodSales: Money(fen: 500), formula: .rate(3)),
            ])).validate()
        }
        #expect(throws: CommissionConfigError.tiersNotAscending(level: 1)) {
            try CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1), tiers: [
                CommissionTier(minimumPeriodSales: .zero, formula: .rate(2)),
            ])).validate()
        }
        #expect(throws: CommissionConfigError.noLevelSet) { try CommissionRule(scope: .global).validate() }
        #expect(throws: CommissionConfigError.capOutOfRange(BasisPoints(10_001))) {
            try CommissionSettings(capRate: BasisPoints(10_001)).validate()
        }
    }

    @Test func twoRulesForOneScopeAndCategoryCyclesAreRefused() {
        #expect(throws: CommissionConfigError.duplicateScope(.product(W.product))) {
            try CommissionRuleBook(rules: [CommissionRule(scope: .product(W.product), level1: W.rate(1)),
                                           CommissionRule(scope: .product(W.product), level2: W.rate(1))])
        }
        #expect(throws: CommissionConfigError.duplicateScope(.global)) {
            try CommissionRuleBook(rules: [W.globalRule, W.globalRule])
        }
        #expect(throws: CommissionConfigError.categoryCycle(W.babies)) {
            try CommissionRuleBook(rules: [CommissionRule(scope: .category(W.formula), level1: W.rate(1))],
                                   categoryParents: [W.formula: W.babies, W.babies: W.formula])
        }
    }

    @Test func merchantRulesStayWithinThePlatformsBounds() throws {
        let bounds = CommissionMerchantBounds(maxLevelRate: BasisPoints(2_000), maxTotalRate: BasisPoints(3_000),
                                              maxPerUnit: Money(fen: 1_000), maxPerOrder: Money(fen: 5_000))
        let settings = CommissionSettings()
        try bounds.validate(CommissionRule(scope: .sku(W.sku), level1: W.rate(2_000), level2: W.rate(1_000)), settings: settings)
        try bounds.validate(CommissionRule(scope: .product(W.product), level1: CommissionLevelRule(.perUnit(Money(fen: 1_000)))),
                            settings: settings)
        #expect(throws: CommissionConfigError.scopeNotAllowedForMerchant(.category)) {
            try bounds.validate(CommissionRule(scope: .category(W.formula), level1: W.rate(1)), settings: settings)
        }
        #expect(throws: CommissionConfigError.scopeNotAllowedForMerchant(.global)) {
            try bounds.validate(W.globalRule, settings: settings)
        }
        #expect(throws: CommissionConfigError.aboveMerchantBound(level: 1, limit: .levelRate(BasisPoints(2_000)))) {
            try bounds.validate(CommissionRule(scope: .sku(W.sku), level1: W.rate(2_001)), settings: settings)
        }
        #expect(throws: CommissionConfigError.aboveMerchantBound(level: 2, limit: .levelRate(BasisPoints(2_000)))) {
            try bounds.validate(CommissionRule(scope: .sku(W.sku), level2: CommissionLevelRule(.rate(10), tiers: [
                CommissionTier(minimumPeriodSales: Money(fen: 1), formula: .rate(2_500))])), settings: settings)
        }
        #expect(throws: CommissionConfigError.aboveMerchantBound(level: nil, limit: .totalRate(BasisPoints(3_000)))) {
            try bounds.validate(CommissionRule(scope: .sku(W.sku), level1: W.rate(2_000), level2: W.rate(1_001)), settings: settings)
        }
        #expect(throws: CommissionConfigError.aboveMerchantBound(level: 3, limit: .perUnit(Money(fen: 1_000)))) {
            try bounds.validate(CommissionRule(scope: .sku(W.sku), level3: CommissionLevelRule(.perUnit(Money(fen: 1_001)))),
                                settings: settings)
        }
        #expect(throws: CommissionConfigError.aboveMerchantBound(level: 1, limit: .perOrder(Money(fen: 5_000)))) {
            try bounds.validate(CommissionRule(scope: .sku(W.sku), level1: CommissionLevelRule(.perOrder(Money(fen: 5_001)))),
                                settings: settings)
        }
        // A level the platform does not pay is not counted.
        try bounds.validate(CommissionRule(scope: .sku(W.sku), level1: W.rate(2_000), level3: W.rate(2_000)),
                            settings: CommissionSettings(levelCount: 2))
    }

    @Test func everyConfigErrorHasACodeAndBothLanguages() {
        let errors: [CommissionConfigError] = [
            .tooManyLevels(4), .invalidLevel(0), .rateOutOfRange(level: 1, rate: BasisPoints(10_001)), .negativeAmount(level: 1),
            .tiersNotAscending(level: 1), .noLevelSet, .capOutOfRange(BasisPoints(-1)),
            .ratesExceedCap(scope: .global, total: BasisPoints(5_050), cap: BasisPoints(5_000)), .duplicateScope(.global),
            .tooManyRules, .categoryCycle(W.formula), .scopeNotAllowedForMerchant(.grade),
            .aboveMerchantBound(level: 1, limit: .perUnit(Money(fen: 100))),
        ]
        for error in errors {
            #expect(error.code.allSatisfy { $0.isLowercase || $0 == "_" })
            #expect(!error.localizedMessage(.zhHans).isEmpty)
            #expect(error.localizedMessage(.zhHans) != error.localizedMessage(.en))
        }
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(CommissionConfigError.ratesExceedCap(scope: .global, total: BasisPoints(5_050), cap: BasisPoints(5_000))
            .localizedMessage(.zhHans) == "合规限制：全局默认各级比例合计可达 50.5%，超过佣金总上限 50%。")
    }
}
