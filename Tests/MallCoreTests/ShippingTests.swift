import Foundation
import PropertyBased
import Testing
@testable import MallCore

@Suite struct ShippingTests {
    /// ¥10 for the first 2 pieces, ¥3 for each further 3 pieces or part of them; Xinjiang ¥20 + ¥10 per piece; no Tibet.
    static var byCount: ShippingTemplate { get throws { try ShippingTemplate(
        basis: .count,
        defaultRule: ShippingRule(firstUnits: 2, firstFee: Money(fen: 1_000), stepUnits: 3, stepFee: Money(fen: 300)),
        provinceRules: ["650000": ShippingRule(firstUnits: 1, firstFee: Money(fen: 2_000), stepUnits: 1, stepFee: Money(fen: 1_000))],
        undeliverable: ["540000"],
        freeFromAmount: Money(fen: 9_900)
    ) } }

    /// ¥8 for the first kilogram, ¥2 for each further 500 g or part; free from 10 pieces.
    static var byWeight: ShippingTemplate { get throws { try ShippingTemplate(
        basis: .weight,
        defaultRule: ShippingRule(firstUnits: 1_000, firstFee: Money(fen: 800), stepUnits: 500, stepFee: Money(fen: 200)),
        freeFromCount: 10
    ) } }

    static func line(_ quantity: Int64, grams: Int64 = 0, fen: Int64 = 1_000) -> ShippingLine {
        ShippingLine(quantity: quantity, unitWeightGrams: grams, amount: Money(fen: fen))
    }

    /// pieces → fee: 1–2 the first fee; 3–5 one step; 6–8 two steps.
    static let countCases: [([Int64], Int64)] = [
        ([1], 1_000), ([2], 1_000), ([3], 1_300), ([5], 1_300), ([6], 1_600), ([1, 1, 1, 1, 1, 1, 1, 1], 1_600), ([9], 1_900),
    ]

    @Test(arguments: countCases)
    func byCountChargesEachStartedStep(quantities: [Int64], fen: Int64) throws {
        let lines = quantities.map { Self.line($0, fen: 100) }
        #expect(try Self.byCount.fee(to: "440000", lines: lines) == Money(fen: fen))
    }

    @Test(arguments: [
        // grams → fee: up to 1 kg ¥8, then ¥2 per started 500 g
        (Int64(0), Int64(800)), (1, 800), (1_000, 800), (1_001, 1_000), (1_500, 1_000), (1_501, 1_200), (3_200, 1_800), (3_000, 1_600),
    ])
    func byWeightChargesEachStartedStep(grams: Int64, fen: Int64) throws {
        #expect(try Self.byWeight.fee(to: "110000", lines: [Self.line(1, grams: grams)]) == Money(fen: fen))
    }

    @Test func weightAddsUpOverLinesAndQuantities() throws {
        // 3 × 450 g + 2 × 800 g = 2 950 g: ¥8 + 4 × ¥2
        #expect(try Self.byWeight.fee(to: "110000", lines: [Self.line(3, grams: 450), Self.line(2, grams: 800)]) == Money(fen: 1_600))
    }

    @Test func aProvinceWithItsOwnRuleUsesIt() throws {
        #expect(try Self.byCount.fee(to: "650000", lines: [Self.line(3, fen: 100)]) == Money(fen: 4_000))
    }

    @Test func freeShippingFromAnAmountOrACount() throws {
        // ¥99.00 of goods: free, even in a province with its own rule; ¥98.99: charged.
        #expect(try Self.byCount.fee(to: "650000", lines: [Self.line(1, fen: 5_000), Self.line(1, fen: 4_900)]) == .zero)
        #expect(try Self.byCount.fee(to: "440000", lines: [Self.line(1, fen: 5_000), Self.line(1, fen: 4_899)]) == Money(fen: 1_000))
        #expect(try Self.byWeight.fee(to: "110000", lines: [Self.line(9, grams: 2_000)]) == Money(fen: 800 + 34 * 200))
        #expect(try Self.byWeight.fee(to: "110000", lines: [Self.line(9, grams: 2_000), Self.line(1)]) == .zero)
    }

    @Test func noLinesNoParcel() throws {
        #expect(try Self.byCount.fee(to: "440000", lines: []) == .zero)
    }

    @Test func aProvinceNotDeliveredToIsRefusedByName() throws {
        let error = ShippingError.regionNotDelivered(province: "540000", name: "西藏自治区")
        #expect(throws: error) {
            try Self.byCount.fee(to: "540000", provinceName: "西藏自治区", lines: [Self.line(5, fen: 100_000)])
        }
        #expect(error.code == "region_not_delivered")
        #expect(error.localizedMessage(.zhHans) == "商家不配送至西藏自治区")
        #expect(ShippingError.regionNotDelivered(province: "540000", name: nil).localizedMessage(.en) == "The shop does not deliver to 540000")
    }

    @Test func hugeQuantitiesAndWeightsAreRefusedNotTrapped() throws {
        #expect(throws: ShippingError.tooLarge) { try Self.byWeight.fee(to: "1", lines: [Self.line(.max, grams: 2)]) }
        #expect(throws: ShippingError.tooLarge) { try Self.byWeight.fee(to: "1", lines: [Self.line(.max / 2 + 1), Self.line(.max / 2 + 1)]) }
        #expect(throws: ShippingError.tooLarge) { try Self.byCount.fee(to: "1", lines: [Self.line(1, fen: .max), Self.line(1, fen: 1)]) }
        // Steps that fit but whose fee does not.
        #expect(throws: ShippingError.tooLarge) { try Self.byCount.fee(to: "1", lines: [Self.line(.max, fen: 0)]) }
        // The largest count fits when each step is cheap enough: ceil((2^63 − 1 − 2) / 3) steps of 1 fen.
        let cheap = try ShippingTemplate(basis: .count, defaultRule: ShippingRule(firstUnits: 2, firstFee: Money(fen: 0), stepUnits: 3, stepFee: Money(fen: 1)))
        #expect(try cheap.fee(to: "1", lines: [Self.line(.max, fen: 0)]) == Money(fen: (Int64.max - 2) / 3 + 1))
    }

    @Test func refusesLinesThatAreNotParcels() throws {
        #expect(throws: ShippingError.invalidLine(index: 1)) { try Self.byCount.fee(to: "1", lines: [Self.line(1), Self.line(0)]) }
        #expect(throws: ShippingError.invalidLine(index: 0)) { try Self.byCount.fee(to: "1", lines: [Self.line(1, grams: -1)]) }
        #expect(throws: ShippingError.invalidLine(index: 0)) { try Self.byCount.fee(to: "1", lines: [Self.line(1, fen: -1)]) }
    }

    static let good = ShippingRule(firstUnits: 1, firstFee: Money(fen: 500), stepUnits: 1, stepFee: Money(fen: 100))

    @Test func refusesTemplatesThatCannotCharge() throws {
        #expect(throws: ShippingError.invalidRule(province: nil, field: .firstUnits)) {
            try ShippingTemplate(basis: .count, defaultRule: ShippingRule(firstUnits: 0, firstFee: .zero, stepUnits: 1, stepFee: .zero))
        }
        #expect(throws: ShippingError.invalidRule(province: nil, field: .stepUnits)) {
            try ShippingTemplate(basis: .count, defaultRule: ShippingRule(firstUnits: 1, firstFee: .zero, stepUnits: 0, stepFee: .zero))
        }
        #expect(throws: ShippingError.invalidRule(province: "650000", field: .firstFee)) {
            try ShippingTemplate(basis: .count, defaultRule: Self.good, provinceRules: ["650000": ShippingRule(firstUnits: 1, firstFee: Money(fen: -1), stepUnits: 1, stepFee: .zero)])
        }
        #expect(throws: ShippingError.invalidRule(province: nil, field: .stepFee)) {
            try ShippingTemplate(basis: .weight, defaultRule: ShippingRule(firstUnits: 1, firstFee: .zero, stepUnits: 1, stepFee: Money(fen: -5)))
        }
        #expect(throws: ShippingError.provinceBothRuledAndUndeliverable("650000")) {
            try ShippingTemplate(basis: .count, defaultRule: Self.good, provinceRules: ["650000": Self.good], undeliverable: ["650000"])
        }
        #expect(throws: ShippingError.invalidProvinceCode("")) { try ShippingTemplate(basis: .count, defaultRule: Self.good, undeliverable: [""]) }
        #expect(throws: ShippingError.invalidProvinceCode("广东")) { try ShippingTemplate(basis: .count, defaultRule: Self.good, provinceRules: ["广东": Self.good]) }
        #expect(throws: ShippingError.invalidFreeThreshold) { try ShippingTemplate(basis: .count, defaultRule: Self.good, freeFromAmount: .zero) }
        #expect(throws: ShippingError.invalidFreeThreshold) { try ShippingTemplate(basis: .count, defaultRule: Self.good, freeFromCount: 0) }
        #expect(ShippingError.invalidRule(province: nil, field: .stepUnits).localizedMessage(.zhHans) == "默认续件（续重）至少为 1")
    }

    @Test func aRuleUsedAloneIsCheckedToo() throws {
        #expect(throws: ShippingError.invalidRule(province: nil, field: .stepUnits)) {
            try ShippingRule(firstUnits: 1, firstFee: .zero, stepUnits: 0, stepFee: .zero).fee(forUnits: 5)
        }
        #expect(throws: ShippingError.invalidRule(province: nil, field: .firstUnits)) {
            try ShippingRule(firstUnits: .min, firstFee: .zero, stepUnits: 1, stepFee: .zero).fee(forUnits: .max)
        }
        #expect(try Self.good.fee(forUnits: 3) == Money(fen: 700))
    }

    @Test func aStoredTemplateIsCheckedAsItIsRead() throws {
        let data = try JSONEncoder().encode(Self.byCount)
        #expect(try JSONDecoder().decode(ShippingTemplate.self, from: data) == Self.byCount)
        let bad = #"{"basis":"count","defaultRule":{"firstUnits":1,"firstFee":{"fen":0},"stepUnits":0,"stepFee":{"fen":0}}}"#
        #expect(throws: ShippingError.invalidRule(province: nil, field: .stepUnits)) {
            try JSONDecoder().decode(ShippingTemplate.self, from: Data(bad.utf8))
        }
    }

    /// Splitting a parcel's pieces differently over lines never changes its fee, and the fee grows with the pieces.
    @Test func theFeeDependsOnlyOnTheTotalAndNeverFalls() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 1...10_000).array(of: 1...6), Gen.int64(in: 1...50)) { quantities, more throws in
            let lines = quantities.map { Self.line($0, fen: 1) }
            let total = quantities.reduce(0, +)
            let fee = try #require(try? Self.byCount.fee(to: "440000", lines: lines))
            #expect(fee == (try? Self.byCount.fee(to: "440000", lines: [Self.line(total, fen: 1)])))
            let bigger = try #require(try? Self.byCount.fee(to: "440000", lines: lines + [Self.line(more, fen: 1)]))
            #expect(bigger >= fee)
            // first fee + ceil(extra / step) × step fee, computed another way
            let steps = max(total - 2, 0)
            #expect(fee.fen == 1_000 + ((steps + 2) / 3) * 300)
        }
    }
}
