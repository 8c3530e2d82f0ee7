import PropertyBased
import Testing
@testable import MallCore

@Suite struct AllocationTests {
    @Test func splitsAWholeByLargestRemainder() throws {
        // 100 fen in thirds: 33.33 each, the leftover fen goes to the first on a tie.
        #expect(try Allocation.split(Money(fen: 100), byWeights: [1, 1, 1]).map(\.fen) == [34, 33, 33])
        // A ¥10 discount over lines of ¥59.90, ¥19.90 and ¥0.10.
        #expect(try Allocation.split(Money(fen: 1_000), byWeights: [5_990, 1_990, 10]).map(\.fen) == [750, 249, 1])
        #expect(try Allocation.split(Money(fen: 7), byWeights: [0, 3, 0, 4]).map(\.fen) == [0, 3, 0, 4])
        #expect(try Allocation.split(Money(fen: -100), byWeights: [1, 1, 1]).map(\.fen) == [-34, -33, -33])
        #expect(try Allocation.split(Money(fen: 0), byWeights: [5, 5]).map(\.fen) == [0, 0])
    }

    @Test func refusesWeightsThatCannotSplit() {
        #expect(throws: AllocationError.noWeights) { try Allocation.split(Money(fen: 1), byWeights: []) }
        #expect(throws: AllocationError.zeroTotalWeight) { try Allocation.split(Money(fen: 1), byWeights: [0, 0]) }
        #expect(throws: AllocationError.negativeWeight(index: 1)) { try Allocation.split(Money(fen: 1), byWeights: [1, -1]) }
        #expect(throws: AllocationError.weightOverflow) { try Allocation.split(Money(fen: 1), byWeights: [.max, 1]) }
    }

    @Test func extremeAmountsDoNotOverflow() throws {
        let parts = try Allocation.split(Money(fen: .max), byWeights: [.max / 2, .max / 2])
        #expect(parts.reduce(Int128(0)) { $0 + Int128($1.fen) } == Int128(Int64.max))
    }

    @Test func theMostNegativeTotalSplitsWithoutTrapping() throws {
        // Its magnitude, 2^63, does not fit in Int64 as a positive number; one part may take all of it.
        #expect(try Allocation.split(Money(fen: .min), byWeights: [1]).map(\.fen) == [.min])
        #expect(try Allocation.split(Money(fen: .min), byWeights: [0, 7, 0]).map(\.fen) == [0, .min, 0])
        #expect(try Allocation.split(Money(fen: .min), byWeights: [1, 1]).map(\.fen) == [.min / 2, .min / 2])
        #expect(try Allocation.split(Money(fen: .min), byWeights: [1, .max - 1]).map(\.fen) == [-1, .min + 1])
        #expect(try Allocation.split(Money(fen: .max), byWeights: [1]).map(\.fen) == [.max])
    }

    static let anyWeights = Generator<Int64, Shrink.None<Int64>> { rng in
        Bool.random(using: &rng) ? [0, 1, .max / 12].randomElement(using: &rng)! : Int64.random(in: 0...(.max / 12), using: &rng)
    }.array(of: 1...12)

    @Test func splitsOverTheWholeRangeAddUpAndStayFair() async {
        await propertyCheck(count: 1_000, input: Edgy.int64(), Self.anyWeights) { total, weights throws in
            guard weights.contains(where: { $0 > 0 }) else { return }
            let parts = try Allocation.split(Money(fen: total), byWeights: weights)
            #expect(parts.reduce(Int128(0)) { $0 + Int128($1.fen) } == Int128(total))
            let weightSum = weights.reduce(Int128(0)) { $0 + Int128($1) }
            for (part, weight) in zip(parts, weights) {
                let distance = Int128(part.fen) * weightSum - Int128(total) * Int128(weight)
                #expect(distance.magnitude < weightSum.magnitude)
            }
        }
    }

    static let amounts = Gen.int64(in: -10_000_000_000...10_000_000_000)
    static let weights = Gen.int64(in: 0...1_000_000).array(of: 1...12)

    @Test func partsAlwaysAddUpToTheWhole() async {
        await propertyCheck(count: 500, input: Self.amounts, Self.weights) { total, weights in
            guard weights.contains(where: { $0 > 0 }) else { return }
            let parts = try #require(try? Allocation.split(Money(fen: total), byWeights: weights))
            #expect(parts.reduce(0) { $0 + $1.fen } == total)
            #expect(parts.count == weights.count)
        }
    }

    @Test func eachPartIsWithinOneFenOfItsExactShare() async {
        await propertyCheck(count: 500, input: Self.amounts, Self.weights) { total, weights in
            guard weights.contains(where: { $0 > 0 }) else { return }
            let parts = try #require(try? Allocation.split(Money(fen: total), byWeights: weights))
            let weightSum = Int128(weights.reduce(0, +))
            for (part, weight) in zip(parts, weights) {
                // |part × W − total × w| < W  ⇔  the part is less than one fen from the exact share.
                let distance = Int128(part.fen) * weightSum - Int128(total) * Int128(weight)
                #expect(distance.magnitude < weightSum.magnitude)
                if weight == 0 { #expect(part.fen == 0) }
            }
        }
    }

    @Test func theSameInputGivesTheSameOutput() async {
        await propertyCheck(count: 200, input: Self.amounts, Self.weights) { total, weights in
            guard weights.contains(where: { $0 > 0 }) else { return }
            let first = try? Allocation.split(Money(fen: total), byWeights: weights)
            let second = try? Allocation.split(Money(fen: total), byWeights: weights)
            #expect(first == second)
        }
    }
}
