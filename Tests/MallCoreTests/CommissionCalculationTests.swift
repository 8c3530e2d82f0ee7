import Foundation
import Testing
@testable import MallCore

/// A small fixed world: one SKU of one product in 奶粉 under 母婴, two grades, three distributors.
struct CommissionWorld {
    static let sku = UUID(uuidString: "00000000-0000-0000-0000-00000000005a")!
    static let otherSku = UUID(uuidString: "00000000-0000-0000-0000-00000000005b")!
    static let product = UUID(uuidString: "00000000-0000-0000-0000-0000000000b0")!
    static let otherProduct = UUID(uuidString: "00000000-0000-0000-0000-0000000000b1")!
    static let formula = UUID(uuidString: "00000000-0000-0000-0000-0000000000c1")! // 奶粉
    static let babies = UUID(uuidString: "00000000-0000-0000-0000-0000000000c0")!  // 母婴
    static let normal = UUID(uuidString: "00000000-0000-0000-0000-0000000000d0")!
    static let gold = UUID(uuidString: "00000000-0000-0000-0000-0000000000d1")!
    static let buyer = UUID(uuidString: "00000000-0000-0000-0000-0000000000e0")!
    static let a = UUID(uuidString: "00000000-0000-0000-0000-0000000000a1")!
    static let b = UUID(uuidString: "00000000-0000-0000-0000-0000000000a2")!
    static let c = UUID(uuidString: "00000000-0000-0000-0000-0000000000a3")!
    static let line = UUID(uuidString: "00000000-0000-0000-0000-0000000000f0")!
    static let line2 = UUID(uuidString: "00000000-0000-0000-0000-0000000000f1")!

    static let parents = [formula: babies]

    static func rate(_ bp: Int) -> CommissionLevelRule { CommissionLevelRule(.rate(bp)) }

    static func chain(_ statuses: [DistributorStatus] = [.active, .active, .active], grades: [UUID?] = [nil, nil, nil])
        -> [DistributorSnapshot] {
        zip([a, b, c], zip(statuses, grades)).map { DistributorSnapshot(id: $0, status: $1.0, gradeID: $1.1) }
    }

    static func member(_ upline: [DistributorSnapshot] = chain()) -> CommissionParticipants {
        CommissionParticipants(buyerID: buyer, upline: upline)
    }

    static func line(sku: UUID = sku, product: UUID = product, category: UUID? = formula, quantity: Int64 = 2,
                     list: Int64 = 10_000, paid: Int64 = 18_000, excluded: Bool = false, id: UUID = line) -> CommissionLineInput {
        CommissionLineInput(lineID: id, skuID: sku, productID: product, categoryID: category, quantity: quantity,
                            unitListPrice: Money(fen: list), paidAmount: Money(fen: paid), marketingExcluded: excluded)
    }

    static let globalRule = CommissionRule(scope: .global, level1: rate(1_000), level2: rate(500), level3: rate(200))
}

@Suite struct CommissionCalculationTests {
    typealias W = CommissionWorld

    func amounts(_ book: CommissionRuleBook, _ participants: CommissionParticipants = W.member(),
                 _ line: CommissionLineInput = W.line()) throws -> [Int64] {
        try book.calculate(participants, lines: [line]).lines[0].levels.map(\.amount.fen)
    }

    // MARK: precedence

    struct PrecedenceCase: Sendable, CustomTestStringConvertible {
        let name: String
        let rules: [CommissionRule]
        let grades: [UUID?]
        let expected: [Int64]
        let sources: [CommissionRuleSource?]
        var testDescription: String { name }
    }

    static let precedenceCases: [PrecedenceCase] = [
        .init(name: "global only", rules: [W.globalRule], grades: [nil, nil, nil],
              expected: [1_800, 900, 360], sources: [.global, .global, .global]),
        .init(name: "grade over global, per beneficiary",
              rules: [W.globalRule, CommissionRule(scope: .grade(W.gold), level1: W.rate(1_500), level2: W.rate(800))],
              grades: [W.gold, W.normal, W.gold], expected: [2_700, 900, 360], sources: [.grade, .global, .global]),
        .init(name: "category (through its parent) over grade",
              rules: [W.globalRule, CommissionRule(scope: .grade(W.gold), level1: W.rate(1_500)),
                      CommissionRule(scope: .category(W.babies), level1: W.rate(1_200))],
              grades: [W.gold, nil, nil], expected: [2_160, 900, 360], sources: [.category, .global, .global]),
        .init(name: "own category over parent category, level by level",
              rules: [W.globalRule, CommissionRule(scope: .category(W.babies), level1: W.rate(1_200), level2: W.rate(600)),
                      CommissionRule(scope: .category(W.formula), level1: W.rate(1_300))],
              grades: [nil, nil, nil], expected: [2_340, 1_080, 360], sources: [.category, .category, .global]),
        .init(name: "product over category",
              rules: [W.globalRule, CommissionRule(scope: .category(W.formula), level1: W.rate(1_300), level2: W.rate(700)),
                      CommissionRule(scope: .product(W.product), level2: W.rate(100))],
              grades: [nil, nil, nil], expected: [2_340, 180, 360], sources: [.category, .product, .global]),
        .init(name: "SKU over product, other levels fall through",
              rules: [W.globalRule, CommissionRule(scope: .product(W.product), level1: W.rate(1_400), level3: W.rate(0)),
                      CommissionRule(scope: .sku(W.sku), level1: W.rate(2_000))],
              grades: [nil, nil, nil], expected: [3_600, 900, 0], sources: [.sku, .global, .product]),
        .init(name: "a rule for another SKU does not apply",
              rules: [W.globalRule, CommissionRule(scope: .sku(W.otherSku), level1: W.rate(3_000))],
              grades: [nil, nil, nil], expected: [1_800, 900, 360], sources: [.global, .global, .global]),
        .init(name: "no rule at all", rules: [CommissionRule(scope: .sku(W.otherSku), level1: W.rate(3_000))],
              grades: [nil, nil, nil], expected: [0, 0, 0], sources: [nil, nil, nil]),
    ]

    @Test(arguments: precedenceCases)
    func precedenceIsSkuProductCategoryGradeGlobal(_ c: PrecedenceCase) throws {
        // setup
        let book = try CommissionRuleBook(rules: c.rules, categoryParents: W.parents)
        // act
        let line = try book.calculate(W.member(W.chain(grades: c.grades)), lines: [W.line()]).lines[0]
        // check
        #expect(line.base == Money(fen: 18_000))
        #expect(line.levels.map(\.amount.fen) == c.expected)
        #expect(line.levels.map(\.source) == c.sources)
        if c.sources == [nil, nil, nil] { #expect(line.levels.allSatisfy { $0.unpaidReason == .noRule }) }
    }

    // MARK: rule kinds and tiers

    struct KindCase: Sendable, CustomTestStringConvertible {
        let name: String
        let formula: CommissionFormula
        let expected: Int64
        let kind: CommissionFormulaKind
        var testDescription: String { name }
    }

    static let kindCases: [KindCase] = [
        .init(name: "rate, floored", formula: .rate(333), expected: 599, kind: .rate),  // 18 000 × 3.33 % = 599.4
        .init(name: "per unit", formula: .perUnit(Money(fen: 250)), expected: 500, kind: .perUnit),
        .init(name: "per order", formula: .perOrder(Money(fen: 300)), expected: 300, kind: .perOrder),
        .init(name: "rate plus per unit", formula: .init(rate: BasisPoints(100), perUnit: Money(fen: 50)), expected: 280, kind: .combined),
        .init(name: "rate plus per order", formula: .init(rate: BasisPoints(100), perOrder: Money(fen: 7)), expected: 187, kind: .combined),
        .init(name: "nothing", formula: .none, expected: 0, kind: .none),
    ]

    @Test(arguments: kindCases)
    func eachRuleKindPaysWhatItSays(_ c: KindCase) throws {
        let book = try CommissionRuleBook(rules: [CommissionRule(scope: .global, level1: CommissionLevelRule(c.formula))])
        let level = try book.calculate(W.member(), lines: [W.line()]).lines[0].level1
        #expect(level.amount.fen == c.expected)
        #expect(c.formula.kind == c.kind)
        if c.expected == 0 { #expect(level.unpaidReason == .ruleGivesZero) }
    }

    @Test(arguments: [(Int64(0), Int64(900), 0), (99_999, 900, 0), (100_000, 1_800, 1), (499_999, 1_800, 1), (500_000, 3_600, 2)])
    func tiersFollowTheBeneficiarysPeriodSales(_ sales: Int64, _ expected: Int64, _ tier: Int) throws {
        let tiered = CommissionLevelRule(.rate(500), tiers: [
            CommissionTier(minimumPeriodSales: Money(fen: 100_000), formula: .rate(1_000)),
            CommissionTier(minimumPeriodSales: Money(fen: 500_000), formula: .rate(2_000)),
        ])
        let book = try CommissionRuleBook(rules: [CommissionRule(scope: .global, level1: tiered)])
        let seller = DistributorSnapshot(id: W.a, periodSales: Money(fen: sales))
        let level = try book.calculate(W.member([seller]), lines: [W.line()]).lines[0].level1
        #expect(level.amount.fen == expected)
        #expect(level.tier == tier)
    }

    // MARK: who earns

    @Test func selfPurchaseOnPaysTheBuyerAtLevelOne() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(selfPurchaseCommission: true))
        let me = DistributorSnapshot(id: W.buyer)
        let result = try book.calculate(CommissionParticipants(buyerID: W.buyer, buyerAsDistributor: me, upline: W.chain()),
                                        lines: [W.line()]).lines[0]
        #expect(result.levels.map(\.beneficiaryID) == [W.buyer, W.a, W.b])
        #expect(result.levels.map(\.amount.fen) == [1_800, 900, 360])
    }

    @Test func selfPurchaseOffPaysTheBuyersParentAtLevelOne() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(selfPurchaseCommission: false))
        let me = DistributorSnapshot(id: W.buyer)
        let result = try book.calculate(CommissionParticipants(buyerID: W.buyer, buyerAsDistributor: me, upline: W.chain()),
                                        lines: [W.line()]).lines[0]
        #expect(result.levels.map(\.beneficiaryID) == [W.a, W.b, W.c])
        #expect(result.levels.map(\.amount.fen) == [1_800, 900, 360])

        let orphan = try book.calculate(CommissionParticipants(buyerID: W.buyer, buyerAsDistributor: me), lines: [W.line()]).lines[0]
        #expect(orphan.levels.map(\.unpaidReason) == [.selfPurchaseOff, .selfPurchaseOff, .selfPurchaseOff])
        #expect(orphan.total == .zero)
    }

    @Test func aFrozenOrRemovedBeneficiaryIsUnpaidAndTheLevelIsNotPassedUp() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let result = try book.calculate(W.member(W.chain([.active, .frozen, .removed])), lines: [W.line()]).lines[0]
        #expect(result.levels.map(\.amount.fen) == [1_800, 0, 0])
        #expect(result.levels.map(\.beneficiaryID) == [W.a, W.b, W.c])
        #expect(result.levels.map(\.unpaidReason) == [nil, .beneficiaryFrozen, .beneficiaryRemoved])

        let frozenFirst = try book.calculate(W.member(W.chain([.frozen, .active, .active])), lines: [W.line()]).lines[0]
        #expect(frozenFirst.levels.map(\.amount.fen) == [0, 900, 360])
    }

    @Test func emptySeatsSayWhy() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let nobody = try book.calculate(W.member([]), lines: [W.line()]).lines[0]
        #expect(nobody.levels.map(\.unpaidReason) == [.noBoundDistributor, .noBoundDistributor, .noBoundDistributor])
        let short = try book.calculate(W.member(Array(W.chain().prefix(1))), lines: [W.line()]).lines[0]
        #expect(short.levels.map(\.unpaidReason) == [nil, .noUpline, .noUpline])
        let selfBound = try book.calculate(W.member([DistributorSnapshot(id: W.buyer)] + W.chain()), lines: [W.line()]).lines[0]
        #expect(selfBound.level1.unpaidReason == .selfBinding)
        #expect(selfBound.level1.amount == .zero)
        let looped = try book.calculate(W.member([DistributorSnapshot(id: W.a), DistributorSnapshot(id: W.b), DistributorSnapshot(id: W.a)]),
                                        lines: [W.line()]).lines[0]
        #expect(looped.levels.map(\.unpaidReason) == [nil, nil, .networkCycle])
    }

    @Test func disabledLevelsPayNothing() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(levelCount: 2))
        let result = try book.calculate(W.member(), lines: [W.line()]).lines[0]
        #expect(result.levels.map(\.amount.fen) == [1_800, 900, 0])
        #expect(result.level3.unpaidReason == .levelDisabled)
    }

    @Test func marketingOrdersPayOnlyWhenTheActivitySaysSo() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let excluded = try book.calculate(W.member(), lines: [W.line(excluded: true)]).lines[0]
        #expect(excluded.total == .zero)
        #expect(excluded.levels.allSatisfy { $0.unpaidReason == .marketingExcluded })
        #expect(try amounts(book, W.member(), W.line(excluded: false)) == [1_800, 900, 360])
    }

    // MARK: base, cap, per-order split

    @Test func theBaseIsThePaidAmountOrTheListPriceBySetting() throws {
        let paid = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(base: .paidAmount))
        let list = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(base: .listPrice))
        #expect(try amounts(paid) == [1_800, 900, 360])
        #expect(try amounts(list) == [2_000, 1_000, 400])
        #expect(try list.calculate(W.member(), lines: [W.line()]).lines[0].base == Money(fen: 20_000))
    }

    @Test func onTheListPriceTheCapStillCountsWhatTheBuyerPaid() throws {
        // List 2 × ¥100 but ¥20 paid after discounts: 10 % / 5 % / 2 % of ¥200 is ¥34, the cap 50 % of ¥20 is ¥10.
        let list = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(base: .listPrice))
        let result = try list.calculate(W.member(), lines: [W.line(paid: 2_000)]).lines[0]
        #expect(result.base == Money(fen: 20_000))
        #expect(result.cap == Money(fen: 1_000))
        #expect(result.levels.map(\.amount.fen) == [1_000, 0, 0])
        #expect(result.level2.unpaidReason == .reducedByCap)
        // A refund of half the units recomputes under the same rule: ¥10 paid left, cap ¥5.
        let after = try result.recompute(remainingPaidAmount: Money(fen: 1_000), remainingQuantity: 1)
        #expect(after.cap == Money(fen: 500))
        #expect(after.levels.map(\.after.fen) == [500, 0, 0])
    }

    @Test func fixedAmountsAboveTheCapAreCutFromTheDeepestLevel() throws {
        // Base ¥180, cap 50 % = ¥90: ¥60 + ¥25 fit, level 3 gets the ¥5 left of its ¥20.
        let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.perUnit(Money(fen: 3_000))),
                                  level2: CommissionLevelRule(.perOrder(Money(fen: 2_500))),
                                  level3: CommissionLevelRule(.perUnit(Money(fen: 1_000))))
        let book = try CommissionRuleBook(rules: [rule])
        let result = try book.calculate(W.member(), lines: [W.line()]).lines[0]
        #expect(result.cap == Money(fen: 9_000))
        #expect(result.levels.map(\.beforeCap.fen) == [6_000, 2_500, 2_000])
        #expect(result.levels.map(\.amount.fen) == [6_000, 2_500, 500])
        #expect(result.level3.capReduction == Money(fen: 1_500))
        #expect(result.level3.unpaidReason == nil)

        let tight = try CommissionRuleBook(rules: [rule], settings: CommissionSettings(capRate: BasisPoints(3_000)))
        let cut = try tight.calculate(W.member(), lines: [W.line()]).lines[0]
        #expect(cut.levels.map(\.amount.fen) == [5_400, 0, 0])
        #expect(cut.levels.map(\.unpaidReason) == [nil, .reducedByCap, .reducedByCap])
    }

    @Test func aPerOrderAmountIsSplitOverTheLinesByBase() throws {
        let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.perOrder(Money(fen: 1_000))))
        let sku = CommissionRule(scope: .sku(W.otherSku), level1: CommissionLevelRule(.perOrder(Money(fen: 100))))
        let book = try CommissionRuleBook(rules: [rule, sku])
        let lines = [
            W.line(paid: 6_000, id: UUID()), W.line(paid: 3_000, id: UUID()), W.line(paid: 1_000, id: UUID()),
            W.line(sku: W.otherSku, paid: 5_000, id: UUID()),
        ]
        let result = try book.calculate(W.member(), lines: lines)
        #expect(result.lines.map(\.level1.amount.fen) == [600, 300, 100, 100])
        #expect(result.lines.map(\.level1.perOrderShare.fen) == [600, 300, 100, 100])

        let thirds = try book.calculate(W.member(), lines: [W.line(paid: 100, id: UUID()), W.line(paid: 100, id: UUID()),
                                                             W.line(paid: 100, id: UUID())])
        // Each line's cap is ¥0.50, so ¥3.34 / ¥3.33 / ¥3.33 are cut to the cap.
        #expect(thirds.lines.map(\.level1.perOrderShare.fen) == [334, 333, 333])
        #expect(thirds.lines.map(\.level1.amount.fen) == [50, 50, 50])
    }

    @Test func aFreeOrderSplitsAPerOrderAmountIntoNothing() throws {
        let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.perOrder(Money(fen: 1_000))))
        let book = try CommissionRuleBook(rules: [rule])
        let result = try book.calculate(W.member(), lines: [W.line(paid: 0), W.line(paid: 0, id: W.line2)])
        #expect(result.total == .zero)
        #expect(result.lines.allSatisfy { $0.level1.unpaidReason == .ruleGivesZero })
    }

    @Test func badLinesAreRefused() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        #expect(throws: CommissionCalculationError.negativeQuantity(lineID: W.line)) {
            try book.calculate(W.member(), lines: [W.line(quantity: -1)])
        }
        #expect(throws: CommissionCalculationError.negativeAmount(lineID: W.line)) {
            try book.calculate(W.member(), lines: [W.line(paid: -1)])
        }
        let list = try CommissionRuleBook(rules: [W.globalRule], settings: CommissionSettings(base: .listPrice))
        #expect(throws: CommissionCalculationError.overflow(lineID: W.line)) {
            try list.calculate(W.member(), lines: [W.line(quantity: .max, list: 2)])
        }
        let perUnit = try CommissionRuleBook(rules: [CommissionRule(scope: .global, level1: CommissionLevelRule(.perUnit(Money(fen: 10))))])
        #expect(throws: CommissionCalculationError.overflow(lineID: W.line)) {
            try perUnit.calculate(W.member(), lines: [W.line(quantity: .max)])
        }
    }

    @Test func totalsAddUpByBeneficiary() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let result = try book.calculate(W.member(), lines: [W.line(), W.line(paid: 2_000, id: W.line2)])
        #expect(result.total == Money(fen: 1_800 + 900 + 360 + 200 + 100 + 40))
        #expect(result.totalsByBeneficiary[W.a] == Money(fen: 2_000))
    }

    // MARK: recompute after refunds

    @Test func aRefundRecomputesOnWhatRemains() throws {
        let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1_000)),
                                  level2: CommissionLevelRule(.perUnit(Money(fen: 300))),
                                  level3: CommissionLevelRule(.perOrder(Money(fen: 200))))
        let book = try CommissionRuleBook(rules: [rule])
        let paid = try book.calculate(W.member(), lines: [W.line()]).lines[0]
        #expect(paid.levels.map(\.amount.fen) == [1_800, 600, 200])

        // One of two units refunded, ¥90 of ¥180.
        let half = try paid.recompute(remainingPaidAmount: Money(fen: 9_000), remainingQuantity: 1)
        #expect(half.amounts.map(\.fen) == [900, 300, 100])
        #expect(half.levels.map(\.delta.fen) == [-900, -300, -100])

        // A money-only partial refund keeps the per-unit part.
        let priceOnly = try paid.recompute(remainingPaidAmount: Money(fen: 17_000), remainingQuantity: 2)
        #expect(priceOnly.amounts.map(\.fen) == [1_700, 600, 188])

        let full = try paid.recompute(remainingPaidAmount: .zero, remainingQuantity: 0)
        #expect(full.amounts == [.zero, .zero, .zero])
        #expect(full.levels.map(\.delta.fen) == [-1_800, -600, -200])
    }

    @Test func aRecomputedAmountNeverRisesEvenWhenTheCapLoosens() throws {
        // Level 1 is fixed per unit, level 2 a rate cut by the cap at payment.
        let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.perUnit(Money(fen: 2_000))),
                                  level2: CommissionLevelRule(.rate(3_000)))
        let book = try CommissionRuleBook(rules: [rule])
        let paid = try book.calculate(W.member(), lines: [W.line(quantity: 2, paid: 10_000)]).lines[0]
        #expect(paid.levels.map(\.amount.fen) == [4_000, 1_000, 0])
        // A unit returned for little money: level 1 falls to ¥20, the room for level 2 grows, yet it stays ¥10.
        let after = try paid.recompute(remainingPaidAmount: Money(fen: 9_000), remainingQuantity: 1)
        #expect(after.amounts.map(\.fen) == [2_000, 1_000, 0])
        let later = try paid.recompute(remainingPaidAmount: Money(fen: 8_000), remainingQuantity: 1, currentAmounts: after.amounts)
        #expect(later.levels.map(\.before.fen) == [2_000, 1_000, 0])
        #expect(later.levels.allSatisfy { $0.delta.fen <= 0 })
    }

    @Test func aRecomputeRefusesMoreThanWasBought() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let paid = try book.calculate(W.member(), lines: [W.line()]).lines[0]
        #expect(throws: CommissionCalculationError.remainingAboveOriginal(lineID: W.line)) {
            try paid.recompute(remainingPaidAmount: Money(fen: 18_001), remainingQuantity: 2)
        }
        #expect(throws: CommissionCalculationError.remainingAboveOriginal(lineID: W.line)) {
            try paid.recompute(remainingPaidAmount: Money(fen: 1), remainingQuantity: 3)
        }
        #expect(throws: CommissionCalculationError.negativeAmount(lineID: W.line)) {
            try paid.recompute(remainingPaidAmount: Money(fen: -1), remainingQuantity: 1)
        }
        #expect(throws: CommissionCalculationError.wrongLevelCount) {
            try paid.recompute(remainingPaidAmount: .zero, remainingQuantity: 0, currentAmounts: [.zero])
        }
    }

    @Test func theSnapshotSurvivesJSON() throws {
        let book = try CommissionRuleBook(rules: [W.globalRule])
        let paid = try book.calculate(W.member(), lines: [W.line()])
        let decoded = try JSONDecoder().decode(CommissionCalculation.self, from: JSONEncoder().encode(paid))
        #expect(decoded == paid)
        #expect(try decoded.lines[0].recompute(remainingPaidAmount: Money(fen: 9_000), remainingQuantity: 1).amounts.map(\.fen)
                == [900, 450, 180])
    }

    // MARK: preview

    @Test func thePreviewExplainsEachLevel() throws {
        let tiered = CommissionLevelRule(.rate(500), tiers: [CommissionTier(minimumPeriodSales: Money(fen: 1), formula: .rate(1_000))])
        let rule = CommissionRule(scope: .sku(W.sku), level1: tiered, level2: CommissionLevelRule(.perUnit(Money(fen: 4_000))))
        let book = try CommissionRuleBook(rules: [rule, W.globalRule])
        let seller = DistributorSnapshot(id: W.a, periodSales: Money(fen: 5))
        let frozen = DistributorSnapshot(id: W.c, status: .frozen)
        let line = try book.calculate(W.member([seller, DistributorSnapshot(id: W.b), frozen]), lines: [W.line()]).lines[0]
        #expect(line.explanation(.zhHans) == [
            "第 1 级：¥18.00（SKU 规则，阶梯 1，比例 10% × 基数 ¥180.00）",
            "第 2 级：¥72.00（SKU 规则，每件 ¥40.00 × 2，超出单行上限扣减 ¥8.00）",
            "第 3 级：不计佣金——分销员已冻结",
        ])
        #expect(line.explanation(.en)[2] == "Level 3: nothing, because the distributor is frozen")
    }
}
