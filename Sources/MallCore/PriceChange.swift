import Foundation

/// A line of an unpaid order as it stands: its amount before discounts and what is payable for it now.
public struct PricedLine: Hashable, Sendable {
    public let amount: Money
    public let paid: Money

    public init(amount: Money, paid: Money) {
        self.amount = amount
        self.paid = paid
    }
}

/// The order after a 改价: what changes on each line, in the order the lines were given.
public struct PriceChangeResult: Hashable, Sendable {
    /// Signed, per line: negative lowers the line, positive raises it. Stored with the line as its
    /// price-change allocation so that commission and refunds follow the new paid amounts.
    public let adjustments: [Money]
    public let paid: [Money]
    /// new goods total − old goods total (Σ adjustments).
    public let goodsDelta: Money
    public let shippingFee: Money
    public let shippingDelta: Money
    /// Σ paid + shipping fee.
    public let payable: Money
}

/// 改价: before payment a merchant may set a new goods total for an order, a new shipping fee, or
/// both. Only an order awaiting payment may change its price (`OrderAction.changePrice`).
///
/// The difference to the current goods total is split over the lines with `Allocation.split`,
/// proportionally to what each line costs now (or, when every line is already free, to their
/// amounts, and when those are zero too, equally). The new goods total must be at least 1 fen:
/// an order nobody pays for is cancelled, not repriced. A lowered line never goes below zero.
public enum PriceChange {
    public static func apply(
        lines: [PricedLine],
        shippingFee: Money,
        newGoodsTotal: Money? = nil,
        newShippingFee: Money? = nil
    ) throws(PriceChangeError) -> PriceChangeResult {
        guard !lines.isEmpty else { throw .noLines }
        var current: Int64 = 0
        var amountSum: Int64 = 0
        for (index, line) in lines.enumerated() {
            guard line.amount.fen >= 0, line.paid.fen >= 0 else { throw .invalidLine(index: index) }
            let (sum, o1) = current.addingReportingOverflow(line.paid.fen)
            let (amounts, o2) = amountSum.addingReportingOverflow(line.amount.fen)
            guard !o1, !o2 else { throw .amountTooLarge }
            current = sum
            amountSum = amounts
        }
        guard shippingFee.fen >= 0 else { throw .negativeShipping }
        let target = newGoodsTotal ?? Money(fen: current)
        guard target.fen >= 1 else { throw .goodsTotalTooLow }
        let fee = newShippingFee ?? shippingFee
        guard fee.fen >= 0 else { throw .negativeShipping }

        // Both are non-negative, so neither difference can overflow.
        let delta = Money(fen: target.fen - current)
        let weights: [Int64] = if current > 0 {
            lines.map(\.paid.fen)
        } else if amountSum > 0 {
            lines.map(\.amount.fen)
        } else {
            lines.map { _ in 1 }
        }
        let adjustments: [Money]
        do {
            adjustments = delta == .zero ? lines.map { _ in .zero } : try Allocation.split(delta, byWeights: weights)
        } catch {
            throw .amountTooLarge
        }
        // A lowering part is at most its line's paid amount (the whole is less than the total);
        // a raised line is at most the new total. Either way the sum fits.
        let paid = zip(lines, adjustments).map { Money(fen: $0.paid.fen + $1.fen) }
        let (payable, overflow) = target.fen.addingReportingOverflow(fee.fen)
        guard !overflow else { throw .amountTooLarge }
        return PriceChangeResult(adjustments: adjustments, paid: paid, goodsDelta: delta, shippingFee: fee,
                                 shippingDelta: Money(fen: fee.fen - shippingFee.fen), payable: Money(fen: payable))
    }
}

public enum PriceChangeError: LocalizedRuleError, Equatable {
    case noLines
    case invalidLine(index: Int)
    case goodsTotalTooLow
    case negativeShipping
    case amountTooLarge

    public var code: String {
        switch self {
        case .noLines: "price_change_no_lines"
        case .invalidLine: "price_change_invalid_line"
        case .goodsTotalTooLow: "price_change_total_too_low"
        case .negativeShipping: "price_change_negative_shipping"
        case .amountTooLarge: "price_change_amount_too_large"
        }
    }

    public var kind: RuleErrorKind { .invalid }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .noLines: locale.choose(zh: "订单没有商品", en: "The order has no items")
        case .invalidLine(let index): locale.choose(zh: "第 \(index + 1) 行商品金额无效", en: "Line \(index + 1) has an invalid amount")
        case .goodsTotalTooLow: locale.choose(zh: "改价后商品金额至少为 ¥0.01", en: "The new goods total must be at least CN¥0.01")
        case .negativeShipping: locale.choose(zh: "运费不能为负", en: "A shipping fee cannot be negative")
        case .amountTooLarge: locale.choose(zh: "金额超出范围", en: "The amount is out of range")
        }
    }
}
