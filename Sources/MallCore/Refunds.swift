import Foundation

/// A paid order line and what has been refunded on it so far, checked to be consistent.
public struct RefundableLine: Hashable, Sendable {
    /// What the buyer paid for the line (its paid amount after discounts and price changes).
    public let paid: Money
    public let quantity: Int64
    public let refundedUnits: Int64
    public let refundedAmount: Money

    public init(paid: Money, quantity: Int64, refundedUnits: Int64 = 0, refundedAmount: Money = .zero) throws(RefundError) {
        guard paid.fen >= 0, quantity >= 1, (0...quantity).contains(refundedUnits),
              (0...paid.fen).contains(refundedAmount.fen) else { throw .invalidLine }
        self.paid = paid
        self.quantity = quantity
        self.refundedUnits = refundedUnits
        self.refundedAmount = refundedAmount
    }

    public var remainingUnits: Int64 { quantity - refundedUnits }
    public var remainingAmount: Money { Money(fen: paid.fen - refundedAmount.fen) }
}

/// How much of what was paid goes back.
///
/// A line's paid amount P is shared over its n units as `Allocation.split(P, byWeights: n × [1])`
/// does: ⌊P / n⌋ each, and the first P mod n units one fen more (¥100.00 over 3 units: 3 334,
/// 3 333, 3 333). Units are refunded in that order, so the first unit ever refunded on a line takes
/// the larger share; however the units are grouped, refunding all of them returns exactly P.
/// The shares are computed in closed form, so a line of many units needs no array.
public enum Refunds {
    /// The shares of units `from ..< from + count` of a line paid `paid` for `quantity` units.
    public static func shareOfUnits(paid: Money, quantity: Int64, from: Int64, count: Int64) throws(RefundError) -> Money {
        guard paid.fen >= 0, quantity >= 1, from >= 0, count >= 0, from <= quantity, count <= quantity - from else { throw .invalidUnits }
        let base = paid.fen / quantity
        let extra = paid.fen % quantity // the first `extra` units carry one fen more
        let withExtra = max(0, min(from + count, extra) - min(from, extra))
        // base × count ≤ paid, so this fits.
        return Money(fen: base * count + withExtra)
    }

    /// What refunding `units` more units of `line` returns: their shares, never more than is left,
    /// and everything that is left when they are the last units (earlier refunds by agreement may
    /// have taken more or less than their units' shares).
    public static func refundable(units: Int64, of line: RefundableLine) throws(RefundError) -> Money {
        guard units >= 1 else { throw .invalidUnits }
        guard units <= line.remainingUnits else { throw .tooManyUnits(requested: units, remaining: line.remainingUnits) }
        if units == line.remainingUnits { return line.remainingAmount }
        let share = try shareOfUnits(paid: line.paid, quantity: line.quantity, from: line.refundedUnits, count: units)
        return min(share, line.remainingAmount)
    }

    /// 协商退款: an amount the merchant and the buyer agreed on, with or without units going back.
    /// It must be at least 1 fen and at most what is left on the line.
    public static func agreed(_ amount: Money, units: Int64 = 0, of line: RefundableLine) throws(RefundError) -> Money {
        guard units >= 0 else { throw .invalidUnits }
        guard units <= line.remainingUnits else { throw .tooManyUnits(requested: units, remaining: line.remainingUnits) }
        guard amount.fen >= 1 else { throw .invalidAmount }
        guard amount <= line.remainingAmount else { throw .exceedsRefundable(requested: amount, refundable: line.remainingAmount) }
        return amount
    }

    /// Shipping goes back only when nothing was shipped and this refund leaves no line with
    /// anything paid: the whole order is undone before it cost the merchant a parcel.
    public static func shipping(fee: Money, refundedBefore: Money, shipped: Bool, orderFullyRefundedAfter: Bool) throws(RefundError) -> Money {
        guard fee.fen >= 0, (0...fee.fen).contains(refundedBefore.fen) else { throw .invalidAmount }
        guard !shipped, orderFullyRefundedAfter else { return .zero }
        return Money(fen: fee.fen - refundedBefore.fen)
    }

    /// Whether an order is refunded in full: everything it paid went back, or, for an order that
    /// paid nothing (零元订单), every unit of every line did.
    public static func orderWhollyRefunded(paid: Money, refunded: Money, unitsLeft: Int64) -> Bool {
        paid.fen > 0 ? refunded >= paid : unitsLeft <= 0
    }

    /// The last guard before money moves: all refunds of an order never exceed what it paid
    /// (goods and shipping).
    public static func checkOrderTotal(paid: Money, refundedBefore: Money, refunding: Money) throws(RefundError) {
        guard paid.fen >= 0, refundedBefore.fen >= 0, refunding.fen >= 0 else { throw .invalidAmount }
        let (after, overflow) = refundedBefore.fen.addingReportingOverflow(refunding.fen)
        guard !overflow, after <= paid.fen else {
            throw .exceedsRefundable(requested: refunding, refundable: Money(fen: max(paid.fen - refundedBefore.fen, 0)))
        }
    }
}

/// The platform's service fee (平台抽佣) on a merchant's sales, and its return on refunds.
public enum ServiceFee {
    /// `base` × `rate`, rounded half away from zero to the fen as `Money.applying` does.
    public static func charge(on base: Money, rate: BasisPoints) throws(RefundError) -> Money {
        guard base.fen >= 0, rate.isValidShare else { throw .invalidAmount }
        do { return try base.applying(rate) } catch { throw .invalidAmount }
    }

    /// The part of `fee` (charged on `base`) that goes back to the merchant when `refunding` more
    /// is refunded after `refundedBefore`.
    ///
    /// The fee returned after refunds R in all is ⌊fee × R / base⌋, and each refund returns the
    /// growth of that figure. It depends only on the running total, not on how the refunds were
    /// grouped (by units or by agreement), never exceeds the fee, and a full refund returns the
    /// fee exactly. The rounding down keeps any fraction with the platform until the last refund.
    /// `base` and the refunds must be measured alike: if the fee was charged on goods and
    /// shipping, refunded shipping counts too.
    public static func reversal(fee: Money, base: Money, refundedBefore: Money, refunding: Money) throws(RefundError) -> Money {
        guard fee.fen >= 0, base.fen >= 0, refundedBefore.fen >= 0, refunding.fen >= 0 else { throw .invalidAmount }
        let (after, overflow) = refundedBefore.fen.addingReportingOverflow(refunding.fen)
        guard !overflow, after <= base.fen else {
            throw .exceedsRefundable(requested: refunding, refundable: Money(fen: max(base.fen - refundedBefore.fen, 0)))
        }
        guard base.fen > 0 else { return .zero }
        return Money(fen: returned(fee: fee, base: base, refunded: after) - returned(fee: fee, base: base, refunded: refundedBefore.fen))
    }

    /// ⌊fee × refunded / base⌋ for 0 ≤ refunded ≤ base, base > 0: at most `fee`, so it fits.
    static func returned(fee: Money, base: Money, refunded: Int64) -> Int64 {
        let product = UInt64(fee.fen).multipliedFullWidth(by: UInt64(refunded))
        return Int64(UInt64(base.fen).dividingFullWidth(product).quotient)
    }
}

public enum RefundError: LocalizedRuleError, Equatable {
    /// Refunded units or amounts that do not fit the line.
    case invalidLine
    case invalidUnits
    case invalidAmount
    case tooManyUnits(requested: Int64, remaining: Int64)
    case exceedsRefundable(requested: Money, refundable: Money)

    public var code: String {
        switch self {
        case .invalidLine: "refund_invalid_line"
        case .invalidUnits: "refund_invalid_units"
        case .invalidAmount: "refund_invalid_amount"
        case .tooManyUnits: "refund_too_many_units"
        case .exceedsRefundable: "refund_exceeds_refundable"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .invalidLine, .invalidUnits, .invalidAmount: .invalid
        case .tooManyUnits, .exceedsRefundable: .conflict
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .invalidLine:
            locale.choose(zh: "订单行的已退数量或金额有误", en: "The line's refunded units or amount are inconsistent")
        case .invalidUnits:
            locale.choose(zh: "退款数量无效", en: "Invalid number of units to refund")
        case .invalidAmount:
            locale.choose(zh: "退款金额无效", en: "Invalid refund amount")
        case let .tooManyUnits(requested, remaining):
            locale.choose(zh: "申请退款 \(requested) 件，最多可退 \(remaining) 件", en: "\(requested) units requested; at most \(remaining) can be refunded")
        case let .exceedsRefundable(requested, refundable):
            locale.choose(zh: "退款金额 \(requested.formatted(.zhHans)) 超过可退金额 \(refundable.formatted(.zhHans))",
                          en: "The refund of \(requested.formatted(.en)) exceeds the \(refundable.formatted(.en)) that can be refunded")
        }
    }
}
