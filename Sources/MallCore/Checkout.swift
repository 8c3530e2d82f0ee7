import Foundation

/// One cart line brought to checkout. Prices are what the buyer pays per unit before discounts
/// (member or activity prices already applied by the caller).
public struct CheckoutLine: Hashable, Sendable {
    public let merchantID: UUID
    public let skuID: UUID
    public let unitPrice: Money
    public let quantity: Int64

    public init(merchantID: UUID, skuID: UUID, unitPrice: Money, quantity: Int64) {
        self.merchantID = merchantID
        self.skuID = skuID
        self.unitPrice = unitPrice
        self.quantity = quantity
    }
}

/// Where a discount comes from; the label the buyer reads comes with the discount.
public enum DiscountKind: String, CaseIterable, Codable, Sendable {
    case coupon
    case fullReduction = "full_reduction"
    case limitedTime = "limited_time"
    case member
    case points
    /// A merchant's 改价 before payment (see `PriceChange`).
    case priceChange = "price_change"
    /// The part of a line's price a flash sale, group buy or bargain took off.
    case flashSale = "flash_sale"
    case groupBuy = "group_buy"
    case bargain
    /// What the platform pays on a line redeemed in the points mall (price less the cash part).
    case pointsMall = "points_mall"
    case other
}

/// Which lines a discount is taken from.
public enum DiscountScope: Hashable, Sendable {
    /// Every line of one merchant's order.
    case merchant(UUID)
    /// Some lines, by SKU, all of one merchant.
    case lines(Set<UUID>)
    /// Every line of every merchant (a platform coupon, points): split across the merchants first.
    case platform
    /// Some lines, by SKU, of any merchants (a platform activity or coupon limited to some
    /// products): split across their merchants first, like `platform`.
    case platformLines(Set<UUID>)
}

/// A discount as the caller has decided it (coupon rules, points rate, activity rules live
/// elsewhere); checkout only spreads it over lines.
public struct CheckoutDiscount: Hashable, Sendable {
    /// The caller's id, unique in one checkout, e.g. "coupon:<uuid>"; it names the allocations.
    public let id: String
    public let kind: DiscountKind
    public let label: String
    public let amount: Money
    public let scope: DiscountScope

    public init(id: String, kind: DiscountKind, label: String, amount: Money, scope: DiscountScope) {
        self.id = id
        self.kind = kind
        self.label = label
        self.amount = amount
        self.scope = scope
    }
}

/// The part of one discount a line carries.
public struct DiscountAllocation: Hashable, Codable, Sendable {
    public let discountID: String
    public let kind: DiscountKind
    public let amount: Money

    public init(discountID: String, kind: DiscountKind, amount: Money) {
        self.discountID = discountID
        self.kind = kind
        self.amount = amount
    }
}

public struct QuotedLine: Hashable, Sendable {
    public let skuID: UUID
    public let unitPrice: Money
    public let quantity: Int64
    /// unit price × quantity
    public let amount: Money
    /// In the order the discounts were given; a discount that left this line nothing is not listed.
    public let allocations: [DiscountAllocation]
    /// amount − allocations: what the buyer pays for this line, the base of commission and refunds.
    public let paid: Money
}

/// One discount as it lands on one merchant's order.
public struct AppliedDiscount: Hashable, Sendable {
    public let id: String
    public let kind: DiscountKind
    public let label: String
    /// This order's share of the discount.
    public let amount: Money
}

/// One merchant's order in a checkout.
public struct OrderQuote: Hashable, Sendable {
    public let merchantID: UUID
    public let lines: [QuotedLine]
    public let goodsAmount: Money
    /// The discounts whose scope touches this order, in the order given.
    public let discounts: [AppliedDiscount]
    public let discountTotal: Money
    public let shippingFee: Money
    /// Σ line paid + shipping fee.
    public let payable: Money
}

public struct CheckoutQuote: Hashable, Sendable {
    /// One order per merchant, in the order each merchant first appears in the lines.
    public let orders: [OrderQuote]
    public let goodsAmount: Money
    public let discountTotal: Money
    public let shippingTotal: Money
    /// Σ order payable: what the buyer pays in all.
    public let total: Money
}

/// Splits a checkout into one order per merchant and spreads every discount over the lines it
/// covers, to the fen.
///
/// Discounts apply one after another in the order given (the usual order is merchant activities
/// and coupons, then platform coupons, then points). Each is split with `Allocation.split`
/// proportionally to what its lines still cost at that point, so a line never pays less than
/// zero. A discount larger than what its lines still cost is refused, not capped: the caller
/// computed it from rules that did not hold, and quietly paying less than promised would hide that.
/// Discounts never touch shipping; free shipping is the template's business.
/// `CheckoutDraft` does the same one discount at a time, for rules that read the lines between them.
public enum Checkout {
    public static let maxLines = 200
    public static let maxQuantity: Int64 = 99_999

    /// - Parameter shippingFees: per merchant; a merchant without an entry ships for free (e.g. only
    ///   pickup or virtual lines).
    public static func quote(
        lines: [CheckoutLine],
        discounts: [CheckoutDiscount] = [],
        shippingFees: [UUID: Money] = [:]
    ) throws(CheckoutError) -> CheckoutQuote {
        var draft = try CheckoutDraft(lines: lines)
        for discount in discounts { try draft.apply(discount) }
        return try draft.quote(shippingFees: shippingFees)
    }

    /// `Allocation.split`, with nothing to split when the amount is zero (the weights may all be
    /// zero then, e.g. lines already paid in full by earlier discounts).
    static func split(_ amount: Money, _ weights: [Money]) throws(CheckoutError) -> [Money] {
        if amount == .zero { return weights.map { _ in .zero } }
        do {
            return try Allocation.split(amount, proportionalTo: weights)
        } catch {
            // Unreachable after the checks above: weights are non-negative, their sum fits and covers the amount.
            throw .amountTooLarge
        }
    }

    static func checked<T>(_ body: () throws(MoneyError) -> T) throws(CheckoutError) -> T {
        do { return try body() } catch { throw .amountTooLarge }
    }
}

public enum CheckoutError: LocalizedRuleError, Equatable {
    case noLines
    case tooManyLines(max: Int)
    case invalidQuantity(sku: UUID)
    case negativePrice(sku: UUID)
    case duplicateLine(sku: UUID)
    case amountTooLarge
    case duplicateDiscount(id: String)
    case negativeDiscount(id: String)
    case emptyScope(id: String)
    case unknownMerchant(UUID)
    case unknownLine(discountID: String, sku: UUID)
    case discountSpansMerchants(id: String)
    case discountExceedsBase(id: String, amount: Money, base: Money)
    case negativeShipping(merchant: UUID)

    public var code: String {
        switch self {
        case .noLines: "checkout_no_lines"
        case .tooManyLines: "checkout_too_many_lines"
        case .invalidQuantity: "checkout_invalid_quantity"
        case .negativePrice: "checkout_negative_price"
        case .duplicateLine: "checkout_duplicate_line"
        case .amountTooLarge: "checkout_amount_too_large"
        case .duplicateDiscount: "checkout_duplicate_discount"
        case .negativeDiscount: "checkout_negative_discount"
        case .emptyScope: "checkout_discount_empty_scope"
        case .unknownMerchant: "checkout_unknown_merchant"
        case .unknownLine: "checkout_discount_unknown_line"
        case .discountSpansMerchants: "checkout_discount_spans_merchants"
        case .discountExceedsBase: "checkout_discount_exceeds_base"
        case .negativeShipping: "checkout_negative_shipping"
        }
    }

    public var kind: RuleErrorKind { .invalid }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .noLines:
            locale.choose(zh: "请选择要结算的商品", en: "Choose something to check out")
        case .tooManyLines(let max):
            locale.choose(zh: "一次最多结算 \(max) 种商品", en: "At most \(max) items per checkout")
        case .invalidQuantity:
            locale.choose(zh: "购买数量应在 1 到 \(Checkout.maxQuantity) 之间", en: "The quantity must be between 1 and \(Checkout.maxQuantity)")
        case .negativePrice:
            locale.choose(zh: "商品价格不能为负", en: "A price cannot be negative")
        case .duplicateLine:
            locale.choose(zh: "同一规格的商品重复出现", en: "The same item appears twice")
        case .amountTooLarge:
            locale.choose(zh: "订单金额超出范围", en: "The order amount is out of range")
        case .duplicateDiscount(let id):
            locale.choose(zh: "优惠重复或缺少编号：\(id)", en: "Discount repeated or without id: \(id)")
        case .negativeDiscount(let id):
            locale.choose(zh: "优惠金额不能为负：\(id)", en: "A discount cannot be negative: \(id)")
        case .emptyScope(let id):
            locale.choose(zh: "优惠未指定适用商品：\(id)", en: "The discount applies to no item: \(id)")
        case .unknownMerchant:
            locale.choose(zh: "结算中没有该商家的商品", en: "The checkout has no item of this shop")
        case .unknownLine(let id, _):
            locale.choose(zh: "优惠适用的商品不在本次结算中：\(id)", en: "The discount names an item not in this checkout: \(id)")
        case .discountSpansMerchants(let id):
            locale.choose(zh: "按商品适用的优惠只能属于一个商家：\(id)", en: "An item discount must belong to one shop: \(id)")
        case let .discountExceedsBase(id, amount, base):
            locale.choose(zh: "优惠 \(id) 的金额 \(amount.formatted(.zhHans)) 超过适用商品金额 \(base.formatted(.zhHans))",
                          en: "Discount \(id) of \(amount.formatted(.en)) exceeds the \(base.formatted(.en)) it applies to")
        case .negativeShipping:
            locale.choose(zh: "运费不能为负", en: "A shipping fee cannot be negative")
        }
    }
}
