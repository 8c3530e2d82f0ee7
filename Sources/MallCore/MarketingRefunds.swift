import Foundation

/// What a refund on a priced line gives back.
public struct MarketingReversal: Hashable, Sendable {
    /// The money refunded now: never more than is left of what was paid.
    public let refund: Money
    /// Per source, the part of its allocation this refund reverses (a merchant's cost of a coupon
    /// on a refunded unit is no longer the merchant's).
    public let reversed: [PricedAllocation]
    /// All units of the line are refunded: every allocation is now fully reversed.
    public let fullyRefunded: Bool
}

/// Refunds against marketing allocations.
///
/// Each source's reversal is its cumulative share after the refund less its share before it:
/// allocation × refunded amount ÷ paid, rounded down, and the whole allocation once every unit is
/// refunded (by units when the line was paid entirely by discounts). So partial refunds never
/// reverse more than the allocation, and a full refund reverses exactly all of it.
public enum MarketingRefunds {
    /// The most that may still be refunded on a line.
    public static func maxRefundable(paid: Money, refunded: Money) -> Money {
        Money(fen: max(0, paid.fen - min(max(refunded.fen, 0), paid.fen)))
    }

    /// - Parameters:
    ///   - line: paid and quantity, with what was refunded before.
    ///   - units: units going back now (0 for a money-only refund).
    ///   - amount: the money refunded now.
    public static func reversal(_ allocations: [PricedAllocation], line: RefundableLine, units: Int64,
                                amount: Money) throws(RefundError) -> MarketingReversal {
        guard units >= 0 else { throw .invalidUnits }
        guard units <= line.remainingUnits else { throw .tooManyUnits(requested: units, remaining: line.remainingUnits) }
        guard amount.fen >= 0 else { throw .invalidAmount }
        guard amount <= line.remainingAmount else { throw .exceedsRefundable(requested: amount, refundable: line.remainingAmount) }
        let afterUnits = line.refundedUnits + units
        let afterAmount = Money(fen: line.refundedAmount.fen + amount.fen)
        func share(_ allocation: Money, units: Int64, amount: Money) -> Int64 {
            if units >= line.quantity { return allocation.fen }
            if line.paid.fen > 0 { return MarketingMath.mulDiv(allocation.fen, amount.fen, line.paid.fen) ?? 0 }
            return MarketingMath.mulDiv(allocation.fen, units, line.quantity) ?? 0
        }
        var reversed: [PricedAllocation] = []
        for allocation in allocations where allocation.amount.fen > 0 {
            let before = share(allocation.amount, units: line.refundedUnits, amount: line.refundedAmount)
            let after = share(allocation.amount, units: afterUnits, amount: afterAmount)
            if after > before { reversed.append(PricedAllocation(source: allocation.source, amount: Money(fen: after - before))) }
        }
        return MarketingReversal(refund: amount, reversed: reversed, fullyRefunded: afterUnits >= line.quantity)
    }

    /// The member coupons an order gives back: those whose every line is fully refunded (or the
    /// order cancelled). Whether each still comes back depends on its end date
    /// (`Coupons.returnsToMember`).
    public static func couponsToReturn(_ lines: [MarketingLine], fullyRefundedSKUs: Set<UUID>) -> [String] {
        var ids: [String] = []
        var blocked = Set<String>()
        for line in lines {
            for allocation in line.allocations where allocation.source.kind == .coupon {
                if !ids.contains(allocation.source.id) { ids.append(allocation.source.id) }
                if !fullyRefundedSKUs.contains(line.skuID) { blocked.insert(allocation.source.id) }
            }
        }
        return ids.filter { !blocked.contains($0) }
    }
}

/// The "pays commission" switch of marketing, read by the distribution engine per line.
public enum MarketingCommission {
    /// An activity's switch: its own setting, or its kind's default.
    public static func paysCommission(_ kind: ActivityKind, setting: Bool? = nil) -> Bool {
        setting ?? kind.paysCommissionByDefault
    }

    /// Whether a line pays commission: not when any activity it is under has its switch off.
    public static func paysCommission(sources: [DiscountSource], exclusive: ExclusiveActivity?) -> Bool {
        (exclusive?.paysCommission ?? true) && sources.allSatisfy(\.paysCommission)
    }

    /// The commission engine's input flag for a priced line.
    public static func marketingExcluded(_ line: MarketingLine) -> Bool { !line.paysCommission }
}
