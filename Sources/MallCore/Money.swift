import Foundation

/// An amount of Chinese yuan held as whole fen (1 yuan = 100 fen). Never a floating-point value.
public struct Money: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let fen: Int64

    public init(fen: Int64) { self.fen = fen }

    public static let zero = Money(fen: 0)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }

    public var isNegative: Bool { fen < 0 }

    /// Adds, refusing overflow instead of trapping.
    public func adding(_ other: Money) throws(MoneyError) -> Money {
        let (sum, overflow) = fen.addingReportingOverflow(other.fen)
        if overflow { throw .overflow }
        return Money(fen: sum)
    }

    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        let (diff, overflow) = fen.subtractingReportingOverflow(other.fen)
        if overflow { throw .overflow }
        return Money(fen: diff)
    }

    public func multiplied(by count: Int64) throws(MoneyError) -> Money {
        let (product, overflow) = fen.multipliedReportingOverflow(by: count)
        if overflow { throw .overflow }
        return Money(fen: product)
    }

    /// The share of this amount at `rate`, rounded half away from zero to the fen.
    public func applying(_ rate: BasisPoints) throws(MoneyError) -> Money {
        let product = fen.multipliedFullWidth(by: Int64(rate.value))
        // |fen × rate| fits in 128 bits; dividing by 10 000 brings it back into range or we refuse.
        let wide = WideInt(high: product.high, low: product.low)
        guard let result = wide.divideRoundingHalfAwayFromZero(by: 10_000) else { throw .overflow }
        return Money(fen: result)
    }

    /// Parses "99.90", "¥99.90", "￥99.9", "99" and "1,299.00". At most two decimals.
    ///
    /// A comma is only a thousands separator: "10,50" or "1,05" (a decimal comma elsewhere) is
    /// refused rather than read as ¥1,050.00 or ¥105.00.
    public static func parse(_ text: String, allowNegative: Bool = false) throws(MoneyError) -> Money {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var negative = false
        if s.hasPrefix("-") { negative = true; s.removeFirst() }
        if s.hasPrefix("¥") || s.hasPrefix("￥") { s.removeFirst() }
        if !negative, s.hasPrefix("-") { negative = true; s.removeFirst() }
        guard !s.isEmpty else { throw .invalidFormat }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw .invalidFormat }
        guard let whole = ungrouped(parts[0]) else { throw .invalidFormat }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty || !fraction.isEmpty else { throw .invalidFormat }
        guard whole.allSatisfy({ $0.isASCII && $0.isNumber }),
              fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .invalidFormat }
        if parts.count == 2 && fraction.isEmpty { throw .invalidFormat }
        guard fraction.count <= 2 else { throw .tooManyDecimals }
        if negative && !allowNegative { throw .negativeNotAllowed }
        guard let yuan = Int64(whole.isEmpty ? "0" : String(whole)) else { throw .overflow }
        let paddedFraction = fraction.padding(toLength: 2, withPad: "0", startingAt: 0)
        guard let cents = Int64(paddedFraction) else { throw .invalidFormat }
        let (scaled, o1) = yuan.multipliedReportingOverflow(by: 100)
        let (total, o2) = scaled.addingReportingOverflow(cents)
        if o1 || o2 { throw .overflow }
        return Money(fen: negative ? -total : total)
    }

    /// The whole part without its thousands separators, or nil when commas are present but do not
    /// group it in threes: "1,050" and "12,345,678" pass; "10,50", ",100", "1,,000", "1000,000" and
    /// "0,500" (a decimal comma) do not.
    private static func ungrouped(_ whole: Substring) -> Substring? {
        guard whole.contains(",") else { return whole }
        let groups = whole.split(separator: ",", omittingEmptySubsequences: false)
        guard let lead = groups.first, (1...3).contains(lead.count), lead.first != "0",
              groups.dropFirst().allSatisfy({ $0.count == 3 }) else { return nil }
        return Substring(groups.joined())
    }

    /// "¥1,299.00" in both locales; English spells the currency out as "CN¥".
    public func formatted(_ locale: MallLocale = .zhHans) -> String {
        let magnitude = fen.magnitude
        let yuan = magnitude / 100
        let cents = magnitude % 100
        var digits = String(yuan)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        grouped = digits + grouped
        let symbol = locale == .zhHans ? "¥" : "CN¥"
        let sign = fen < 0 ? "-" : ""
        return "\(sign)\(symbol)\(grouped).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Plain decimal yuan without symbol or grouping, as APIs and CSV files carry it: "1299.00".
    public var decimalString: String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return "\(fen < 0 ? "-" : "")\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    public var description: String { decimalString }
}

public enum MoneyError: Error, Equatable, Sendable {
    case invalidFormat
    case tooManyDecimals
    case negativeNotAllowed
    case overflow
}

/// A rate in basis points: 10 000 bp = 100 %.
public struct BasisPoints: Hashable, Comparable, Codable, Sendable {
    public let value: Int
    public init(_ value: Int) { self.value = value }
    public static let full = BasisPoints(10_000)
    public static func < (lhs: BasisPoints, rhs: BasisPoints) -> Bool { lhs.value < rhs.value }
    public var isValidShare: Bool { value >= 0 && value <= 10_000 }

    /// "6" → 600 bp, "6.5%" → 650 bp, "0.25" → 25 bp; at most two decimals, never negative.
    public static func parsePercent(_ text: String) -> BasisPoints? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") { trimmed.removeLast() }
        // A percentage with two decimals has the same digits as an amount in yuan and fen.
        guard !trimmed.hasPrefix("¥"), !trimmed.hasPrefix("￥"), !trimmed.contains(","),
              let hundredths = try? Money.parse(trimmed), hundredths.fen <= 1_000_000 else { return nil }
        return BasisPoints(Int(hundredths.fen))
    }
}

/// The two locales every user-facing text is written in.
public enum MallLocale: String, CaseIterable, Codable, Sendable {
    case zhHans = "zh-Hans"
    case en = "en"
}

/// A signed 128-bit value, only as wide as money arithmetic needs.
struct WideInt {
    var high: Int64
    var low: UInt64

    /// Divides by a small positive divisor, rounding half away from zero; nil when the quotient leaves Int64.
    func divideRoundingHalfAwayFromZero(by divisor: Int64) -> Int64? {
        guard divisor > 0 else { return nil }
        let negative = high < 0
        // Magnitude as (hi, lo) unsigned.
        var hi = UInt64(bitPattern: high)
        var lo = low
        if negative {
            lo = ~lo &+ 1
            hi = ~hi &+ (lo == 0 ? 1 : 0)
        }
        let d = UInt64(divisor)
        guard hi < d else { return nil }
        let (q, r) = d.dividingFullWidth((high: hi, low: lo))
        // r*2 >= d without overflow; rounding up from UInt64.max is itself out of range.
        let (quotient, carry) = q.addingReportingOverflow(r >= d - r ? 1 : 0)
        guard !carry else { return nil }
        // A negative result reaches one further than a positive one: 2^63 is Int64.min.
        guard quotient <= (negative ? Int64.min.magnitude : UInt64(Int64.max)) else { return nil }
        return negative ? Int64(bitPattern: 0 &- quotient) : Int64(quotient)
    }
}
