import PropertyBased
import Testing
@testable import MallCore

@Suite struct MoneyTests {
    @Test(arguments: [
        ("99.90", Int64(9990)), ("¥99.90", 9990), ("￥99.9", 9990), ("99", 9900), (" 0.01 ", 1),
        ("1,299.00", 129_900), (".5", 50), ("0", 0), ("92233720368547758.07", Int64.max),
    ])
    func parsesWhatPeopleType(text: String, fen: Int64) throws {
        #expect(try Money.parse(text) == Money(fen: fen))
    }

    @Test(arguments: [
        ("99.999", MoneyError.tooManyDecimals), ("-1.00", .negativeNotAllowed), ("¥-5", .negativeNotAllowed),
        ("abc", .invalidFormat), ("", .invalidFormat), ("1.2.3", .invalidFormat), ("99.", .invalidFormat),
        ("１２", .invalidFormat), ("92233720368547758.08", .overflow), ("99999999999999999999", .overflow), ("1e5", .invalidFormat),
    ])
    func refusesWhatIsNotMoney(text: String, error: MoneyError) {
        #expect(throws: error) { try Money.parse(text) }
    }

    @Test(arguments: [
        ("1,050.00", Int64(105_000)), ("12,345,678", 1_234_567_800), ("¥1,299", 129_900), ("999,999.99", 99_999_999),
        ("1,000", 100_000), ("92,233,720,368,547,758.07", Int64.max),
    ])
    func acceptsCommasThatGroupThousands(text: String, fen: Int64) throws {
        #expect(try Money.parse(text) == Money(fen: fen))
    }

    @Test(arguments: [
        "10,50", "1,05", ",100", "1,,000", "1000,000", "0,500", "1,000,", "1,0000", "¥10,50", "1.000,50", ",", ",.50",
    ])
    func refusesCommasThatDoNotGroupThousands(text: String) {
        // Read as a decimal comma, "10,50" would otherwise become ¥1,050.00.
        #expect(throws: MoneyError.invalidFormat) { try Money.parse(text) }
    }

    @Test func formattedAmountsParseBack() async {
        await propertyCheck(count: 500, input: Gen.int64(in: (Int64.min + 1)...Int64.max)) { fen throws in
            #expect(try Money.parse(Money(fen: fen).formatted(), allowNegative: true) == Money(fen: fen))
        }
    }

    /// Digits with commas at random places parse only when the commas fall every three digits from the right.
    @Test func commasAreAcceptedOnlyWhereTheyGroupThousands() async {
        let placement = Gen.int(in: 0...2) // 0: none, 1: thousands, 2: random
        await propertyCheck(count: 500, input: Gen.int64(in: 0...(Int64.max / 100)), placement, Gen.uint64()) { yuan, kind, mask throws in
            let digits = Array(String(yuan))
            let thousands = Set((1..<digits.count).filter { (digits.count - $0) % 3 == 0 })
            let commas: Set<Int> = switch kind {
            case 0: []
            case 1: thousands
            default: Set((1..<digits.count).filter { mask & (1 << UInt64($0 % 64)) != 0 })
            }
            var text = ""
            for (index, digit) in digits.enumerated() {
                if commas.contains(index) { text.append(",") }
                text.append(digit)
            }
            if commas.isEmpty || commas == thousands {
                #expect(try Money.parse(text) == Money(fen: yuan * 100), "\(text)")
            } else {
                #expect(throws: MoneyError.invalidFormat, "\(text)") { try Money.parse(text) }
            }
        }
    }

    @Test func negativesParseWhenAllowed() throws {
        #expect(try Money.parse("-12.30", allowNegative: true) == Money(fen: -1230))
    }

    @Test(arguments: [
        (Int64(129_900), "¥1,299.00", "CN¥1,299.00"), (5, "¥0.05", "CN¥0.05"), (-1230, "-¥12.30", "-CN¥12.30"),
        (100_000_000, "¥1,000,000.00", "CN¥1,000,000.00"), (0, "¥0.00", "CN¥0.00"),
    ])
    func formatsForBothLocales(fen: Int64, zh: String, en: String) {
        #expect(Money(fen: fen).formatted(.zhHans) == zh)
        #expect(Money(fen: fen).formatted(.en) == en)
    }

    @Test func decimalStringRoundTrips() throws {
        for fen: Int64 in [0, 1, 99, 100, 12_345, 9_999_999] {
            #expect(try Money.parse(Money(fen: fen).decimalString) == Money(fen: fen))
        }
    }

    @Test func arithmeticRefusesOverflow() throws {
        #expect(throws: MoneyError.overflow) { try Money(fen: .max).adding(Money(fen: 1)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .min).subtracting(Money(fen: 1)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .max / 2 + 1).multiplied(by: 2) }
        #expect(try Money(fen: 150).adding(Money(fen: 250)) == Money(fen: 400))
    }

    @Test(arguments: [
        (Int64(10_000), 1_000, Int64(1_000)), (999, 1_000, 100), (995, 1_000, 100), (994, 1_000, 99),
        (-995, 1_000, -100), (1, 5_000, 1), (1, 4_999, 0), (Int64.max, 10_000, Int64.max), (12_345, 0, 0),
    ])
    func appliesBasisPointsRoundingHalfAwayFromZero(fen: Int64, bp: Int, expected: Int64) throws {
        #expect(try Money(fen: fen).applying(BasisPoints(bp)) == Money(fen: expected))
    }

    @Test func applyingNeverTrapsAtTheEdges() throws {
        // 9 222 449 791 875 588 249 × 20 002 / 10 000 is UInt64.max and a remainder above one half.
        let huge: Int64 = 9_222_449_791_875_588_249
        #expect(throws: MoneyError.overflow) { try Money(fen: huge).applying(BasisPoints(20_002)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: -huge).applying(BasisPoints(20_002)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: huge).applying(BasisPoints(-20_002)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: 9_222_910_891_310_210_297).applying(BasisPoints(20_001)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .min).applying(BasisPoints(.min)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .min).applying(BasisPoints(.max)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .min).applying(BasisPoints(-10_000)) }
        #expect(throws: MoneyError.overflow) { try Money(fen: .max).applying(BasisPoints(.max)) }
        #expect(try Money(fen: .min).applying(.full) == Money(fen: .min))
        #expect(try Money(fen: .min).applying(BasisPoints(5_000)) == Money(fen: .min / 2))
        #expect(try Money(fen: .max).applying(BasisPoints(-10_000)) == Money(fen: -.max))
    }

    @Test func wideDivisionAtTheUInt64Boundary() {
        // 10 000 × 2^64 − 5 000: the quotient is UInt64.max and the remainder rounds it up past 2^64.
        #expect(WideInt(high: 9_999, low: .max - 4_999).divideRoundingHalfAwayFromZero(by: 10_000) == nil)
        #expect(WideInt(high: -10_000, low: 5_000).divideRoundingHalfAwayFromZero(by: 10_000) == nil)
        // 2^63 × 10 000 is out of range as a positive result and exactly Int64.min as a negative one.
        #expect(WideInt(high: 5_000, low: 0).divideRoundingHalfAwayFromZero(by: 10_000) == nil)
        #expect(WideInt(high: -5_000, low: 0).divideRoundingHalfAwayFromZero(by: 10_000) == .min)
        #expect(WideInt(high: 0, low: 5_000).divideRoundingHalfAwayFromZero(by: 10_000) == 1)
        #expect(WideInt(high: -1, low: .max - 4_999).divideRoundingHalfAwayFromZero(by: 10_000) == -1)
        #expect(WideInt(high: 0, low: 5_000).divideRoundingHalfAwayFromZero(by: 0) == nil)
        #expect(WideInt(high: 0, low: 5_000).divideRoundingHalfAwayFromZero(by: -10_000) == nil)
    }

    /// The exact share, rounded half away from zero, or nil when it does not fit in Int64.
    static func exactShare(_ fen: Int64, _ bp: Int) -> Int64? {
        let product = Int128(fen) * Int128(bp)
        var (quotient, remainder) = product.quotientAndRemainder(dividingBy: 10_000)
        if remainder.magnitude * 2 >= 10_000 { quotient += product < 0 ? -1 : 1 }
        return Int64(exactly: quotient)
    }

    @Test func applyingIsExactOrRefusedOverTheWholeRange() async {
        await propertyCheck(count: 2_000, input: Edgy.int64(), Edgy.int()) { fen, bp throws in
            if let expected = Self.exactShare(fen, bp) {
                #expect(try Money(fen: fen).applying(BasisPoints(bp)) == Money(fen: expected), "\(fen) × \(bp) bp")
            } else {
                #expect(throws: MoneyError.overflow, "\(fen) × \(bp) bp") { try Money(fen: fen).applying(BasisPoints(bp)) }
            }
        }
    }

    @Test func percentagesParseToBasisPoints() {
        #expect(BasisPoints.parsePercent("6")?.value == 600)
        #expect(BasisPoints.parsePercent("6.5%")?.value == 650)
        #expect(BasisPoints.parsePercent(" 0.25 ")?.value == 25)
        for bad in ["-1", "6.555", "abc", "", "¥6", "1,000"] { #expect(BasisPoints.parsePercent(bad) == nil, "\(bad)") }
    }

    @Test func rateOverOneHundredPercentCanOverflow() {
        #expect(throws: MoneyError.overflow) { try Money(fen: .max).applying(BasisPoints(20_000)) }
    }
}
