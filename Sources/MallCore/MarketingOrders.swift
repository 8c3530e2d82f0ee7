import Foundation

extension PricingQuote {
    /// The checkout's orders when the mall splits one shop's lines into several orders (express
    /// and pickup, or a service product), keeping every line's allocations exactly as priced.
    ///
    /// Pricing works per shop (a shop coupon covers all its lines); an order is a shop's lines
    /// that ship the same way. Each order sums its lines; each discount's share of an order is the
    /// sum of its allocations on that order's lines, so nothing is split twice.
    ///
    /// - Parameters:
    ///   - orderOf: the order key of each line, by SKU.
    ///   - keys: the order keys, in the order the orders are written.
    ///   - shippingFees: per order key, after shipping coupons; a key without an entry ships free.
    public func orders(orderOf: [UUID: UUID], keys: [UUID], shippingFees: [UUID: Money]) throws(CheckoutError) -> CheckoutQuote {
        var labels: [String: (kind: DiscountKind, label: String)] = [:]
        var stepOrder: [String] = []
        for step in steps where labels[step.source.discountID] == nil {
            labels[step.source.discountID] = (step.source.kind, step.label)
            stepOrder.append(step.source.discountID)
        }
        for line in lines where !keys.contains(orderOf[line.skuID] ?? UUID()) {
            throw .unknownLine(discountID: "order", sku: line.skuID)
        }
        var orders: [OrderQuote] = []
        var goodsTotal = Money.zero
        var paidTotal = Money.zero
        var shippingTotal = Money.zero
        var total = Money.zero
        for key in keys {
            let own = lines.filter { orderOf[$0.skuID] == key }
            guard !own.isEmpty else { throw .unknownMerchant(key) }
            var goods = Money.zero
            var paid = Money.zero
            var byDiscount: [String: Money] = [:]
            let quoted = own.map { line in
                QuotedLine(skuID: line.skuID, unitPrice: line.unitPrice, quantity: line.quantity, amount: line.amount,
                           allocations: line.allocations.map { DiscountAllocation(discountID: $0.source.discountID, kind: $0.source.kind, amount: $0.amount) },
                           paid: line.paid)
            }
            for line in own {
                goods = try Checkout.checked { () throws(MoneyError) in try goods.adding(line.amount) }
                paid = try Checkout.checked { () throws(MoneyError) in try paid.adding(line.paid) }
                for allocation in line.allocations {
                    // Allocations are parts of the line amounts, whose sum fits.
                    byDiscount[allocation.source.discountID, default: .zero] = Money(fen: (byDiscount[allocation.source.discountID]?.fen ?? 0) + allocation.amount.fen)
                }
            }
            let discounts = stepOrder.compactMap { id -> AppliedDiscount? in
                guard let amount = byDiscount[id], amount.fen > 0, let label = labels[id] else { return nil }
                return AppliedDiscount(id: id, kind: label.kind, label: label.label, amount: amount)
            }
            let fee = shippingFees[key] ?? .zero
            guard fee.fen >= 0 else { throw .negativeShipping(merchant: key) }
            let payable = try Checkout.checked { () throws(MoneyError) in try paid.adding(fee) }
            orders.append(OrderQuote(merchantID: key, lines: quoted, goodsAmount: goods, discounts: discounts,
                                     discountTotal: Money(fen: goods.fen - paid.fen), shippingFee: fee, payable: payable))
            goodsTotal = try Checkout.checked { () throws(MoneyError) in try goodsTotal.adding(goods) }
            paidTotal = try Checkout.checked { () throws(MoneyError) in try paidTotal.adding(paid) }
            shippingTotal = try Checkout.checked { () throws(MoneyError) in try shippingTotal.adding(fee) }
            total = try Checkout.checked { () throws(MoneyError) in try total.adding(payable) }
        }
        return CheckoutQuote(orders: orders, goodsAmount: goodsTotal, discountTotal: Money(fen: goodsTotal.fen - paidTotal.fen),
                             shippingTotal: shippingTotal, total: total)
    }
}

extension PricedAllocation {
    /// An allocation read back from storage (for refunds of lines priced earlier).
    public init(_ source: DiscountSource, _ amount: Money) {
        self.init(source: source, amount: amount)
    }
}
