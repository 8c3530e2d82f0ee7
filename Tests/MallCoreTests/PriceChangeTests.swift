import PropertyBased
import Testing
@testable import MallCore

@Suite struct PriceChangeTests {
    static let lines = [PricedLine(amount: Money(fen: 11_980), paid: Money(fen: 10_132)), PricedLine(amount: Money(fen: 1_990), paid: Money(fen: 1_684))]

    @Test func loweringTheGoodsTotalFollowsEachLine() throws {
        // ¥118.16 → ¥100.00: −1 816 by 10 132 : 1 684 → −1 557.19 and −258.81
        let result = try PriceChange.apply(lines: Self.lines, shippingFee: Money(fen: 1_000), newGoodsTotal: Money(fen: 10_000))
        #expect(result.adjustments.map(\.fen) == [-1_557, -259])
        #expect(result.paid.map(\.fen) == [8_575, 1_425])
        #expect(result.goodsDelta.fen == -1_816)
        #expect(result.payable.fen == 11_000)
        #expect(result.shippingDelta == .zero)
    }

    @Test func raisingThePriceAndTheShipping() throws {
        // ¥118.16 → ¥120.00: +184 by 10 132 : 1 684 → 157.78 and 26.22
        let result = try PriceChange.apply(lines: Self.lines, shippingFee: Money(fen: 1_000), newGoodsTotal: Money(fen: 12_000), newShippingFee: .zero)
        #expect(result.adjustments.map(\.fen) == [158, 26])
        #expect(result.paid.map(\.fen) == [10_290, 1_710])
        #expect(result.shippingFee == .zero)
        #expect(result.shippingDelta.fen == -1_000)
        #expect(result.payable.fen == 12_000)
    }

    @Test func onlyTheShipping() throws {
        let result = try PriceChange.apply(lines: Self.lines, shippingFee: Money(fen: 1_000), newShippingFee: Money(fen: 500))
        #expect(result.adjustments == [.zero, .zero])
        #expect(result.paid.map(\.fen) == [10_132, 1_684])
        #expect(result.payable.fen == 12_316)
    }

    @Test func linesThatCostNothingShareARaiseByTheirAmountsOrEqually() throws {
        let free = [PricedLine(amount: Money(fen: 300), paid: .zero), PricedLine(amount: Money(fen: 100), paid: .zero)]
        #expect(try PriceChange.apply(lines: free, shippingFee: .zero, newGoodsTotal: Money(fen: 100)).paid.map(\.fen) == [75, 25])
        let gifts = [PricedLine(amount: .zero, paid: .zero), PricedLine(amount: .zero, paid: .zero)]
        #expect(try PriceChange.apply(lines: gifts, shippingFee: .zero, newGoodsTotal: Money(fen: 3)).paid.map(\.fen) == [2, 1])
    }

    @Test func refusesWhatNobodyShouldPay() {
        #expect(throws: PriceChangeError.goodsTotalTooLow) { try PriceChange.apply(lines: Self.lines, shippingFee: .zero, newGoodsTotal: .zero) }
        #expect(throws: PriceChangeError.goodsTotalTooLow) { try PriceChange.apply(lines: Self.lines, shippingFee: .zero, newGoodsTotal: Money(fen: -5)) }
        #expect(throws: PriceChangeError.negativeShipping) { try PriceChange.apply(lines: Self.lines, shippingFee: .zero, newShippingFee: Money(fen: -1)) }
        #expect(throws: PriceChangeError.noLines) { try PriceChange.apply(lines: [], shippingFee: .zero, newGoodsTotal: Money(fen: 1)) }
        #expect(throws: PriceChangeError.invalidLine(index: 0)) {
            try PriceChange.apply(lines: [PricedLine(amount: Money(fen: 1), paid: Money(fen: -1))], shippingFee: .zero, newGoodsTotal: Money(fen: 1))
        }
        #expect(throws: PriceChangeError.amountTooLarge) {
            try PriceChange.apply(lines: [PricedLine(amount: .zero, paid: Money(fen: .max)), PricedLine(amount: .zero, paid: Money(fen: 1))], shippingFee: .zero, newGoodsTotal: Money(fen: 1))
        }
        #expect(throws: PriceChangeError.amountTooLarge) {
            try PriceChange.apply(lines: Self.lines, shippingFee: Money(fen: 1), newGoodsTotal: Money(fen: .max))
        }
        #expect(PriceChangeError.goodsTotalTooLow.localizedMessage(.zhHans) == "改价后商品金额至少为 ¥0.01")
    }

    static let pricedLines = Generator<PricedLine, Shrink.None<PricedLine>> { rng in
        let amount = Int64.random(in: 0...1_000_000, using: &rng)
        let paid = Bool.random(using: &rng) ? Int64.random(in: 0...amount, using: &rng) : [0, 1, amount].randomElement(using: &rng) ?? 0
        return PricedLine(amount: Money(fen: amount), paid: Money(fen: paid))
    }.array(of: 1...10)

    @Test func theNewTotalIsMetExactlyAndNoLineGoesNegative() async {
        await propertyCheck(count: 400, input: Self.pricedLines, Gen.int64(in: 1...20_000_000)) { lines, target throws in
            let result = try PriceChange.apply(lines: lines, shippingFee: Money(fen: 800), newGoodsTotal: Money(fen: target))
            #expect(result.paid.reduce(0) { $0 + $1.fen } == target)
            #expect(result.adjustments.reduce(0) { $0 + $1.fen } == result.goodsDelta.fen)
            #expect(result.goodsDelta.fen == target - lines.reduce(0) { $0 + $1.paid.fen })
            for (line, (adjustment, paid)) in zip(lines, zip(result.adjustments, result.paid)) {
                #expect(paid.fen >= 0)
                #expect(paid.fen == line.paid.fen + adjustment.fen)
                // Every line moves the same way as the whole.
                #expect(adjustment.fen == 0 || (adjustment.fen > 0) == (result.goodsDelta.fen > 0))
            }
            #expect(result.payable.fen == target + 800)
        }
    }
}
