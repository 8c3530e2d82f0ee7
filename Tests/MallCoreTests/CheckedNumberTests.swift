import PropertyBased
import Testing
@testable import MallCore

@Suite struct CheckedNumberTests {
    @Test func notANumberAndInfinitiesHaveNoInteger() {
        for x in [Double.nan, -.nan, .signalingNaN, .infinity, -.infinity] {
            #expect(CheckedNumber.int(x) == nil, "\(x)")
            #expect(CheckedNumber.int64(x) == nil, "\(x)")
            #expect(CheckedNumber.int(x, rounding: .towardZero) == nil, "\(x)")
        }
    }

    @Test func theEdgesOfInt64() {
        // Int64.max is not a Double; the nearest one is 2^63, just outside.
        #expect(CheckedNumber.int64(Double(Int64.max)) == nil)
        #expect(CheckedNumber.int64(9_223_372_036_854_775_808.0.nextDown) == 9_223_372_036_854_774_784)
        #expect(CheckedNumber.int64(-9_223_372_036_854_775_808.0) == .min)
        #expect(CheckedNumber.int64((-9_223_372_036_854_775_808.0).nextDown) == nil)
        #expect(CheckedNumber.int(1e300) == nil)
        #expect(CheckedNumber.int(-1e300) == nil)
        #expect(CheckedNumber.int(.greatestFiniteMagnitude) == nil)
    }

    @Test(arguments: [
        (2.5, 3, 2), (-2.5, -3, -2), (0.5, 1, 0), (-0.5, -1, 0), (0.49999999999999994, 0, 0), (1.9, 2, 1), (-1.9, -2, -1),
        (0, 0, 0), (-0.0, 0, 0), (Double.leastNonzeroMagnitude, 0, 0),
    ])
    func roundsHalfAwayFromZeroUnlessToldOtherwise(x: Double, nearest: Int, towardZero: Int) {
        #expect(CheckedNumber.int(x) == nearest)
        #expect(CheckedNumber.int64(x) == Int64(nearest))
        #expect(CheckedNumber.int(x, rounding: .towardZero) == towardZero)
    }

    @Test func agreesWithTheTrappingConversionWhereThatOneWorks() async {
        let anyDouble = Generator<Double, Shrink.None<Double>> { rng in
            Double(bitPattern: UInt64.random(in: .min ... .max, using: &rng))
        }
        await propertyCheck(count: 2_000, input: anyDouble) { x in
            let inRange = x.isFinite && x.rounded() >= -9_223_372_036_854_775_808.0 && x.rounded() < 9_223_372_036_854_775_808.0
            #expect((CheckedNumber.int64(x) != nil) == inRange, "\(x)")
            if inRange {
                #expect(CheckedNumber.int64(x) == Int64(x.rounded()), "\(x)")
                #expect(CheckedNumber.int64(x, rounding: .towardZero) == Int64(x), "\(x)")
            }
        }
    }
}
