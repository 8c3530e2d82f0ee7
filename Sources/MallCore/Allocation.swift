import Foundation

public enum AllocationError: Error, Equatable, Sendable {
    case noWeights
    case negativeWeight(index: Int)
    case zeroTotalWeight
    case weightOverflow
}

/// Splits money by weights with the largest-remainder method.
///
/// Each part is its exact share rounded down; the fen left over go one each to the parts with
/// the largest remainders, lower index first on a tie. The parts always add up to the total and
/// the same input always gives the same output.
public enum Allocation {
    public static func split(_ total: Money, byWeights weights: [Int64]) throws(AllocationError) -> [Money] {
        guard !weights.isEmpty else { throw .noWeights }
        var weightSum: Int64 = 0
        for (index, weight) in weights.enumerated() {
            guard weight >= 0 else { throw .negativeWeight(index: index) }
            let (sum, overflow) = weightSum.addingReportingOverflow(weight)
            guard !overflow else { throw .weightOverflow }
            weightSum = sum
        }
        guard weightSum > 0 else { throw .zeroTotalWeight }

        let negative = total.fen < 0
        let magnitude = total.fen.magnitude
        let divisor = UInt64(weightSum)
        var floors = [UInt64](repeating: 0, count: weights.count)
        var remainders = [UInt64](repeating: 0, count: weights.count)
        var assigned: UInt64 = 0
        for (index, weight) in weights.enumerated() {
            // magnitude × weight < 2^127 and the quotient ≤ magnitude, so neither step overflows.
            let product = magnitude.multipliedFullWidth(by: UInt64(weight))
            let (quotient, remainder) = divisor.dividingFullWidth(product)
            floors[index] = quotient
            remainders[index] = remainder
            assigned += quotient
        }
        var leftover = magnitude - assigned
        let order = weights.indices.sorted { a, b in
            remainders[a] != remainders[b] ? remainders[a] > remainders[b] : a < b
        }
        for index in order where leftover > 0 {
            floors[index] += 1
            leftover -= 1
        }
        // Each part is at most the magnitude, so it fits: 2^63 occurs only for a total of Int64.min,
        // and then as Int64.min itself.
        return floors.map { part in Money(fen: Int64(bitPattern: negative ? 0 &- part : part)) }
    }

    /// Convenience for splitting by money amounts, e.g. a discount across order lines by their prices.
    public static func split(_ total: Money, proportionalTo amounts: [Money]) throws(AllocationError) -> [Money] {
        try split(total, byWeights: amounts.map(\.fen))
    }
}
