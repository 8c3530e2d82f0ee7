import Foundation
import PropertyBased
import Testing
@testable import MallCore

/// Random rule books, orders and refunds: what must hold whatever the operator and the buyers do.
@Suite struct CommissionPropertyTests {
    struct Scenario: Sendable, CustomStringConvertible {
        let rules: [CommissionRule]
        let settings: CommissionSettings
        let participants: CommissionParticipants
        let lines: [CommissionLineInput]
        /// Two cumulative refunds per line: (remaining paid, remaining units), the second no more than the first.
        let refunds: [((Money, Int64), (Money, Int64))]

        var description: String { "\(settings) \(rules.count) rules, \(lines.count) lines" }

        /// Refusing a generated configuration is itself a failure: rates stay within a third of the cap per level.
        var book: CommissionRuleBook {
            get throws { try CommissionRuleBook(rules: rules, settings: settings, categoryParents: CommissionPropertyTests.parents) }
        }
    }

    static let skus = (0..<4).map { _ in UUID() }
    static let products = (0..<3).map { _ in UUID() }
    static let categories = (0..<3).map { _ in UUID() }
    static let grades = (0..<2).map { _ in UUID() }
    static let people = (0..<5).map { _ in UUID() }
    static let parents = [categories[1]: categories[0], categories[2]: categories[1]]

    static func formula(_ rng: inout any SeededRandomNumberGenerator, maxRate: Int) -> CommissionFormula {
        func amount(_ rng: inout any SeededRandomNumberGenerator) -> Money {
            Int.random(in: 0..<3, using: &rng) == 0 ? Money(fen: Int64.random(in: 0...200_000, using: &rng)) : .zero
        }
        let rate = BasisPoints(Int.random(in: 0...maxRate, using: &rng))
        return CommissionFormula(rate: rate, perUnit: amount(&rng), perOrder: amount(&rng))
    }

    static func levelRule(_ rng: inout any SeededRandomNumberGenerator, maxRate: Int) -> CommissionLevelRule? {
        guard Bool.random(using: &rng) else { return nil }
        var tiers: [CommissionTier] = []
        var threshold: Int64 = 0
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            threshold += Int64.random(in: 1...1_000_000, using: &rng)
            tiers.append(CommissionTier(minimumPeriodSales: Money(fen: threshold), formula: formula(&rng, maxRate: maxRate)))
        }
        return CommissionLevelRule(formula(&rng, maxRate: maxRate), tiers: tiers)
    }

    static let scenarios = Generator<Scenario, Shrink.None<Scenario>> { rng in
        let cap = [0, 1_000, 3_000, 5_000, 5_000, 10_000].randomElement(using: &rng) ?? 5_000
        let settings = CommissionSettings(levelCount: Int.random(in: 1...3, using: &rng), selfPurchaseCommission: Bool.random(using: &rng),
                                          base: Bool.random(using: &rng) ? .paidAmount : .listPrice, capRate: BasisPoints(cap))
        // A third of the cap per level, so every combination of rates passes the configuration check.
        let maxRate = cap / 3
        var scopes: [CommissionRuleScope] = [.global]
        scopes += skus.map { .sku($0) } + products.map { .product($0) } + categories.map { .category($0) } + grades.map { .grade($0) }
        var rules: [CommissionRule] = []
        for scope in scopes where Int.random(in: 0..<3, using: &rng) > 0 {
            let rule = CommissionRule(scope: scope, level1: levelRule(&rng, maxRate: maxRate), level2: levelRule(&rng, maxRate: maxRate),
                                      level3: levelRule(&rng, maxRate: maxRate))
            if rule.level1 != nil || rule.level2 != nil || rule.level3 != nil { rules.append(rule) }
        }
        let statuses: [DistributorStatus] = [.active, .active, .active, .frozen, .removed]
        func person(_ id: UUID, _ rng: inout any SeededRandomNumberGenerator) -> DistributorSnapshot {
            DistributorSnapshot(id: id, status: statuses.randomElement(using: &rng) ?? .active,
                                gradeID: Bool.random(using: &rng) ? grades.randomElement(using: &rng) : nil,
                                periodSales: Money(fen: Int64.random(in: 0...3_000_000, using: &rng)))
        }
        let buyer = people[0]
        let upline = (0..<Int.random(in: 0...4, using: &rng)).map { _ in person(people.randomElement(using: &rng) ?? buyer, &rng) }
        let participants = CommissionParticipants(buyerID: buyer, buyerAsDistributor: Bool.random(using: &rng) ? person(buyer, &rng) : nil,
                                                  upline: upline)
        var lines: [CommissionLineInput] = []
        var refunds: [((Money, Int64), (Money, Int64))] = []
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let index = Int.random(in: 0..<skus.count, using: &rng)
            let quantity = Int64.random(in: 0...50, using: &rng)
            let unit = Int64.random(in: 0...2_000_000, using: &rng)
            let paid = Int64.random(in: 0...(unit * max(quantity, 1)), using: &rng)
            lines.append(CommissionLineInput(
                lineID: UUID(), skuID: skus[index], productID: products[index % products.count],
                categoryID: Bool.random(using: &rng) ? categories.randomElement(using: &rng) : nil, quantity: quantity,
                unitListPrice: Money(fen: unit), paidAmount: Money(fen: paid), marketingExcluded: Int.random(in: 0..<8, using: &rng) == 0))
            let firstPaid = Int64.random(in: 0...paid, using: &rng)
            let firstUnits = Int64.random(in: 0...quantity, using: &rng)
            let secondPaid = Int64.random(in: 0...firstPaid, using: &rng)
            let secondUnits = Int64.random(in: 0...firstUnits, using: &rng)
            refunds.append(((Money(fen: firstPaid), firstUnits), (Money(fen: secondPaid), secondUnits)))
        }
        return Scenario(rules: rules, settings: settings, participants: participants, lines: lines, refunds: refunds)
    }

    @Test func amountsAreNeverNegativeAndNeverAboveTheCap() async {
        await propertyCheck(count: 400, input: Self.scenarios) { scenario in
            let result = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            #expect(result.lines.count == scenario.lines.count)
            for line in result.lines {
                #expect(line.levels.allSatisfy { $0.amount.fen >= 0 && $0.amount <= $0.beforeCap })
                #expect(line.total <= line.cap)
                #expect(Int128(line.cap.fen) * 10_000 <= Int128(line.base.fen) * Int128(line.capRate.value))
                for level in line.levels where level.amount.fen > 0 {
                    #expect(level.beneficiaryID != nil && level.unpaidReason == nil && level.formula != nil)
                    #expect(level.level <= scenario.settings.levelCount)
                }
                for level in line.levels where level.unpaidReason == .reducedByCap { #expect(level.beforeCap.fen > 0) }
            }
        }
    }

    @Test func eachLevelIsFlooredBelowItsExactShare() async {
        await propertyCheck(count: 400, input: Self.scenarios) { scenario in
            let result = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            for line in result.lines {
                for level in line.levels {
                    guard let formula = level.formula else {
                        #expect(level.amount == .zero)
                        continue
                    }
                    // The rate part is at most base × rate, and less than one fen below it.
                    let ratePart = Int128(level.beforeCap.fen) - Int128(formula.perUnit.fen) * Int128(line.quantity) - Int128(level.perOrderShare.fen)
                    let exact = Int128(line.base.fen) * Int128(formula.rate.value)
                    #expect(ratePart * 10_000 <= exact)
                    #expect(exact - ratePart * 10_000 < 10_000)
                }
            }
        }
    }

    @Test func perOrderAmountsAddUpOverTheirLines() async {
        await propertyCheck(count: 300, input: Self.scenarios) { scenario in
            let result = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            for level in 1...3 {
                var sums: [CommissionRuleScope: (Int64, Int64, Bool)] = [:]
                for line in result.lines {
                    let entry = line.levels[level - 1]
                    guard let scope = entry.scope, let formula = entry.formula, formula.perOrder.fen > 0 else { continue }
                    let previous = sums[scope] ?? (0, formula.perOrder.fen, false)
                    sums[scope] = (previous.0 + entry.perOrderShare.fen, formula.perOrder.fen, previous.2 || line.base.fen > 0)
                }
                for (_, (sum, amount, anyBase)) in sums { #expect(sum == (anyBase ? amount : 0)) }
            }
        }
    }

    @Test func refundsNeverRaiseAndAFullRefundLeavesZero() async {
        await propertyCheck(count: 400, input: Self.scenarios) { scenario in
            let result = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            for (line, refund) in zip(result.lines, scenario.refunds) {
                let first = try line.recompute(remainingPaidAmount: refund.0.0, remainingQuantity: refund.0.1)
                let second = try line.recompute(remainingPaidAmount: refund.1.0, remainingQuantity: refund.1.1, currentAmounts: first.amounts)
                for (original, (after, later)) in zip(line.levels, zip(first.levels, second.levels)) {
                    #expect(after.after.fen >= 0 && after.after <= original.amount)
                    #expect(later.after <= after.after)
                    #expect(after.delta.fen <= 0 && later.delta.fen <= 0)
                }
                #expect(first.amounts.reduce(0) { $0 + $1.fen } <= first.cap.fen)
                let full = try line.recompute(remainingPaidAmount: .zero, remainingQuantity: 0)
                #expect(full.amounts.allSatisfy { $0 == .zero })
                let nothingRefunded = try line.recompute(remainingPaidAmount: line.paidAmount, remainingQuantity: line.quantity)
                #expect(nothingRefunded.amounts == line.levels.map(\.amount) || line.paidAmount == .zero || line.quantity == 0)
            }
        }
    }

    @Test func theSameOrderAlwaysGivesTheSameCommission() async {
        await propertyCheck(count: 200, input: Self.scenarios) { scenario in
            let once = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            let twice = try scenario.book.calculate(scenario.participants, lines: scenario.lines)
            #expect(once == twice)
        }
    }

    @Test func theBenchmarkIsDeterministic() {
        let first = CommissionBenchmark.run(lines: 5_000)
        #expect(first.lines >= 5_000)
        #expect(first == CommissionBenchmark.run(lines: 5_000))
        #expect(first.checksum > 0)
        #expect(CommissionBenchmark.run(lines: 0) == (0, 0))
    }
}
