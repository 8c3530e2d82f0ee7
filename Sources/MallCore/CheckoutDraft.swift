import Foundation

/// A checkout being priced one discount at a time: what `Checkout.quote` does in one call, opened
/// up so that a rule can read what each line still costs before it decides the next discount
/// (a coupon's threshold is met, or not, after the full-reduction activities).
///
/// It is a value: copying it is how a caller tries one choice of coupons and then another from the
/// same starting point.
public struct CheckoutDraft: Sendable {
    public let lines: [CheckoutLine]
    /// unit price × quantity, per line.
    public let amounts: [Money]
    /// What each line still costs after the discounts applied so far.
    public private(set) var remaining: [Money]
    public private(set) var allocations: [[DiscountAllocation]]
    public let goodsTotal: Money
    /// Merchants in order of first appearance.
    public let merchants: [UUID]
    let skuIndex: [UUID: Int]
    let linesOfMerchant: [UUID: [Int]]
    var shares: [UUID: [AppliedDiscount]] = [:]
    var seenDiscounts = Set<String>()

    public init(lines: [CheckoutLine]) throws(CheckoutError) {
        guard !lines.isEmpty else { throw .noLines }
        guard lines.count <= Checkout.maxLines else { throw .tooManyLines(max: Checkout.maxLines) }
        var amounts: [Money] = []
        var skuIndex: [UUID: Int] = [:]
        var merchants: [UUID] = []
        var linesOfMerchant: [UUID: [Int]] = [:]
        var goodsTotal = Money.zero
        for (index, line) in lines.enumerated() {
            guard (1...Checkout.maxQuantity).contains(line.quantity) else { throw .invalidQuantity(sku: line.skuID) }
            guard line.unitPrice.fen >= 0 else { throw .negativePrice(sku: line.skuID) }
            guard skuIndex.updateValue(index, forKey: line.skuID) == nil else { throw .duplicateLine(sku: line.skuID) }
            let amount = try Checkout.checked { () throws(MoneyError) in try line.unitPrice.multiplied(by: line.quantity) }
            goodsTotal = try Checkout.checked { () throws(MoneyError) in try goodsTotal.adding(amount) }
            amounts.append(amount)
            if linesOfMerchant[line.merchantID] == nil { merchants.append(line.merchantID) }
            linesOfMerchant[line.merchantID, default: []].append(index)
        }
        self.lines = lines
        self.amounts = amounts
        self.remaining = amounts
        self.allocations = [[DiscountAllocation]](repeating: [], count: lines.count)
        self.goodsTotal = goodsTotal
        self.merchants = merchants
        self.skuIndex = skuIndex
        self.linesOfMerchant = linesOfMerchant
    }

    /// The index of the line of this SKU.
    public func index(ofSKU sku: UUID) -> Int? { skuIndex[sku] }

    /// The indices of one merchant's lines, in the order given.
    public func lineIndices(ofMerchant merchant: UUID) -> [Int] { linesOfMerchant[merchant] ?? [] }

    /// What the lines at `indices` still cost together; never more than the goods total, so it fits.
    public func remaining(of indices: [Int]) -> Money {
        Money(fen: indices.reduce(0) { $0 + remaining[$1].fen })
    }

    /// Spreads one discount over the lines of its scope, proportionally to what they still cost,
    /// so a line never pays less than zero. A discount larger than its lines still cost is refused.
    public mutating func apply(_ discount: CheckoutDiscount) throws(CheckoutError) {
        guard !discount.id.isEmpty, seenDiscounts.insert(discount.id).inserted else { throw .duplicateDiscount(id: discount.id) }
        guard discount.amount.fen >= 0 else { throw .negativeDiscount(id: discount.id) }
        // The lines of each merchant the discount covers.
        var targets: [(merchant: UUID, lines: [Int])] = []
        switch discount.scope {
        case .merchant(let merchant):
            guard let indices = linesOfMerchant[merchant] else { throw .unknownMerchant(merchant) }
            targets = [(merchant, indices)]
        case .lines(let skus):
            let indices = try indicesOf(skus, discountID: discount.id)
            let merchant = lines[indices[0]].merchantID
            guard indices.allSatisfy({ lines[$0].merchantID == merchant }) else { throw .discountSpansMerchants(id: discount.id) }
            targets = [(merchant, indices)]
        case .platform:
            targets = merchants.map { ($0, linesOfMerchant[$0] ?? []) }
        case .platformLines(let skus):
            let indices = try indicesOf(skus, discountID: discount.id)
            var byMerchant: [UUID: [Int]] = [:]
            for index in indices { byMerchant[lines[index].merchantID, default: []].append(index) }
            targets = merchants.compactMap { merchant in byMerchant[merchant].map { (merchant, $0) } }
        }
        let bases = targets.map { target in remaining(of: target.lines) }
        let base = Money(fen: bases.reduce(0) { $0 + $1.fen })
        guard discount.amount <= base else { throw .discountExceedsBase(id: discount.id, amount: discount.amount, base: base) }
        // Across merchants by what each still costs, then within each by line. A share never
        // exceeds its weight when the whole does not, so no line goes below zero.
        let merchantShares = try Checkout.split(discount.amount, bases)
        for (target, share) in zip(targets, merchantShares) {
            shares[target.merchant, default: []].append(
                AppliedDiscount(id: discount.id, kind: discount.kind, label: discount.label, amount: share))
            let parts = try Checkout.split(share, target.lines.map { remaining[$0] })
            for (index, part) in zip(target.lines, parts) where part.fen > 0 {
                remaining[index] = Money(fen: remaining[index].fen - part.fen)
                allocations[index].append(DiscountAllocation(discountID: discount.id, kind: discount.kind, amount: part))
            }
        }
    }

    /// Takes one discount off lines in parts the caller has already decided per line (a member
    /// level's rate priced on each line on its own), instead of spreading a total. Each part must
    /// fit what its line still costs; the order of each merchant gets the sum of its lines' parts.
    public mutating func apply(id: String, kind: DiscountKind, label: String, parts: [(line: Int, amount: Money)]) throws(CheckoutError) {
        guard !id.isEmpty, !seenDiscounts.contains(id) else { throw .duplicateDiscount(id: id) }
        var seenLines = Set<Int>()
        for part in parts {
            guard remaining.indices.contains(part.line), seenLines.insert(part.line).inserted else {
                throw .emptyScope(id: id)
            }
            guard part.amount.fen >= 0 else { throw .negativeDiscount(id: id) }
            guard part.amount <= remaining[part.line] else {
                throw .discountExceedsBase(id: id, amount: part.amount, base: remaining[part.line])
            }
        }
        seenDiscounts.insert(id)
        var byMerchant: [UUID: Int64] = [:]
        for part in parts where part.amount.fen > 0 {
            // part ≤ remaining ≤ the goods total: the sums fit.
            remaining[part.line] = Money(fen: remaining[part.line].fen - part.amount.fen)
            allocations[part.line].append(DiscountAllocation(discountID: id, kind: kind, amount: part.amount))
            byMerchant[lines[part.line].merchantID, default: 0] += part.amount.fen
        }
        for merchant in merchants {
            guard let share = byMerchant[merchant] else { continue }
            shares[merchant, default: []].append(AppliedDiscount(id: id, kind: kind, label: label, amount: Money(fen: share)))
        }
    }

    private func indicesOf(_ skus: Set<UUID>, discountID: String) throws(CheckoutError) -> [Int] {
        guard !skus.isEmpty else { throw .emptyScope(id: discountID) }
        var indices: [Int] = []
        for sku in skus {
            guard let index = skuIndex[sku] else { throw .unknownLine(discountID: discountID, sku: sku) }
            indices.append(index)
        }
        return indices.sorted()
    }

    /// The orders, one per merchant, with the shipping fees added.
    ///
    /// - Parameter shippingFees: per merchant; a merchant without an entry ships for free.
    public func quote(shippingFees: [UUID: Money] = [:]) throws(CheckoutError) -> CheckoutQuote {
        for (merchant, fee) in shippingFees {
            guard linesOfMerchant[merchant] != nil else { throw .unknownMerchant(merchant) }
            guard fee.fen >= 0 else { throw .negativeShipping(merchant: merchant) }
        }
        var orders: [OrderQuote] = []
        var shippingTotal = Money.zero
        var total = Money.zero
        for merchant in merchants {
            let indices = linesOfMerchant[merchant] ?? []
            let quoted = indices.map { index in
                QuotedLine(skuID: lines[index].skuID, unitPrice: lines[index].unitPrice, quantity: lines[index].quantity,
                           amount: amounts[index], allocations: allocations[index], paid: remaining[index])
            }
            let goods = Money(fen: indices.reduce(0) { $0 + amounts[$1].fen })
            let paid = remaining(of: indices)
            let fee = shippingFees[merchant] ?? .zero
            let payable = try Checkout.checked { () throws(MoneyError) in try paid.adding(fee) }
            shippingTotal = try Checkout.checked { () throws(MoneyError) in try shippingTotal.adding(fee) }
            total = try Checkout.checked { () throws(MoneyError) in try total.adding(payable) }
            orders.append(OrderQuote(merchantID: merchant, lines: quoted, goodsAmount: goods, discounts: shares[merchant] ?? [],
                                     discountTotal: Money(fen: goods.fen - paid.fen), shippingFee: fee, payable: payable))
        }
        let paidTotal = remaining.reduce(0) { $0 + $1.fen }
        return CheckoutQuote(orders: orders, goodsAmount: goodsTotal, discountTotal: Money(fen: goodsTotal.fen - paidTotal),
                             shippingTotal: shippingTotal, total: total)
    }
}
