import Foundation

/// The kinds of marketing activity, each with its "pays commission" default.
///
/// Flash sales, bargains and group buys sell below the usual price to draw people in; paying
/// distributors on top of that is the merchant's choice, so the default is off. Coupons and
/// full-reduction activities are ordinary shopping and pay commission by default.
public enum ActivityKind: String, CaseIterable, Codable, Sendable {
    case coupon
    case fullReduction = "full_reduction"
    case gift
    case limitedTime = "limited_time"
    case flashSale = "flash_sale"
    case groupBuy = "group_buy"
    case bargain
    /// Goods redeemed in the points mall (积分 + 现金): the platform's, priced at the cash part.
    case pointsMall = "points_mall"

    public var paysCommissionByDefault: Bool {
        switch self {
        case .coupon, .fullReduction, .gift, .limitedTime: true
        case .flashSale, .groupBuy, .bargain, .pointsMall: false
        }
    }

    /// Activities that set a line's price on their own (a separate order type): no other
    /// promotion or coupon applies to such a line.
    public var isExclusive: Bool {
        switch self {
        case .flashSale, .groupBuy, .bargain, .pointsMall: true
        case .coupon, .fullReduction, .gift, .limitedTime: false
        }
    }

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .coupon: locale.choose(zh: "优惠券", en: "Coupon")
        case .fullReduction: locale.choose(zh: "满减", en: "Spend-and-save")
        case .gift: locale.choose(zh: "满赠", en: "Gift with purchase")
        case .limitedTime: locale.choose(zh: "限时折扣", en: "Limited-time price")
        case .flashSale: locale.choose(zh: "秒杀", en: "Flash sale")
        case .groupBuy: locale.choose(zh: "拼团", en: "Group buy")
        case .bargain: locale.choose(zh: "砍价", en: "Bargain")
        case .pointsMall: locale.choose(zh: "积分兑换", en: "Points mall")
        }
    }
}

/// Who bears the cost of a discount; settlement statements show the merchant's part.
public enum DiscountPayer: Hashable, Codable, Sendable {
    case platform
    case merchant(UUID)
}

/// Which cart lines a coupon or an activity covers. A merchant's coupon or activity is further
/// limited to that merchant's lines whatever its scope says.
public enum MarketingScope: Hashable, Codable, Sendable {
    case all
    case merchant(UUID)
    /// Lines whose category, or any of its ancestors, is in the set.
    case categories(Set<UUID>)
    case products(Set<UUID>)
    case allExceptProducts(Set<UUID>)
    case allExceptCategories(Set<UUID>)

    public func covers(_ line: PricingLine) -> Bool {
        switch self {
        case .all: true
        case .merchant(let merchant): line.merchantID == merchant
        case .categories(let categories): !line.categoryIDs.isDisjoint(with: categories)
        case .products(let products): products.contains(line.productID)
        case .allExceptProducts(let products): !products.contains(line.productID)
        case .allExceptCategories(let categories): line.categoryIDs.isDisjoint(with: categories)
        }
    }

    var isEmptySet: Bool {
        switch self {
        case .categories(let set), .products(let set): set.isEmpty
        case .all, .merchant, .allExceptProducts, .allExceptCategories: false
        }
    }
}

/// A time window, start included and end excluded.
public struct ActivityWindow: Hashable, Codable, Sendable {
    public let start: Date
    public let end: Date

    public init(start: Date, end: Date) throws(MarketingError) {
        guard start < end else { throw .invalidWindow }
        self.start = start
        self.end = end
    }

    public func contains(_ instant: Date) -> Bool { start <= instant && instant < end }
}

/// One source of a saving on a line: what kind, which one, who pays, and whether lines under it
/// pay commission.
public struct DiscountSource: Hashable, Codable, Sendable {
    public let kind: DiscountKind
    /// The caller's id of the coupon or activity ("points" for points).
    public let id: String
    public let payer: DiscountPayer
    public let paysCommission: Bool

    public init(kind: DiscountKind, id: String, payer: DiscountPayer, paysCommission: Bool = true) {
        self.kind = kind
        self.id = id
        self.payer = payer
        self.paysCommission = paysCommission
    }

    /// The id the checkout allocations carry: "<kind>:<id>", unique in one checkout.
    public var discountID: String { "\(kind.rawValue):\(id)" }
}

/// Marketing arithmetic the rules share; every path input can reach is overflow-checked.
enum MarketingMath {
    static func add(_ a: Money, _ b: Money) throws(MarketingError) -> Money {
        do { return try a.adding(b) } catch { throw .amountTooLarge }
    }

    static func multiply(_ a: Money, _ n: Int64) throws(MarketingError) -> Money {
        do { return try a.multiplied(by: n) } catch { throw .amountTooLarge }
    }

    /// `amount × numerator / denominator` rounded down, for non-negative inputs; nil when the
    /// result leaves Int64.
    static func mulDiv(_ amount: Int64, _ numerator: Int64, _ denominator: Int64) -> Int64? {
        guard amount >= 0, numerator >= 0, denominator > 0 else { return nil }
        let product = UInt64(amount).multipliedFullWidth(by: UInt64(numerator))
        guard product.high < UInt64(denominator) else { return nil }
        let (quotient, _) = UInt64(denominator).dividingFullWidth(product)
        return quotient <= UInt64(Int64.max) ? Int64(quotient) : nil
    }

    /// The amount taken off `base` by a rate the buyer pays (8.8折 = 8 800 bp pays 88 %): the
    /// part above the paid share, the paid share rounded half up, so the saving is never more
    /// than the rate promises by a fen.
    static func offByPayRate(_ base: Money, _ payRate: BasisPoints) throws(MarketingError) -> Money {
        do {
            let paid = try base.applying(payRate)
            return Money(fen: base.fen - paid.fen)
        } catch { throw .amountTooLarge }
    }
}

/// A refused marketing configuration or request, ready to show.
public enum MarketingError: LocalizedRuleError, Equatable {
    case amountTooLarge
    case invalidWindow
    case invalidAmount
    case invalidRate
    case emptyScope
    case tiersNotAscending
    case reductionNotBelowThreshold
    case invalidCount
    case invalidPointsRate
    case duplicateCoupon(String)
    case tooManyPlatformCoupons
    case tooManyMerchantCoupons(merchant: UUID)
    case couponNotApplicable(id: String, reason: CouponRejection)
    case duplicateLine(sku: UUID)
    case checkout(CheckoutError)
    case insufficientPoints(balance: Int64, requested: Int64)
    case duplicateLot
    case invalidLevels
    case bargainFloorNotBelowStart
    case bargainFinished
    case bargainTooManyCuts(max: Int)

    public var code: String {
        switch self {
        case .amountTooLarge: "marketing_amount_too_large"
        case .invalidWindow: "marketing_invalid_window"
        case .invalidAmount: "marketing_invalid_amount"
        case .invalidRate: "marketing_invalid_rate"
        case .emptyScope: "marketing_empty_scope"
        case .tiersNotAscending: "marketing_tiers_not_ascending"
        case .reductionNotBelowThreshold: "marketing_reduction_not_below_threshold"
        case .invalidCount: "marketing_invalid_count"
        case .invalidPointsRate: "marketing_invalid_points_rate"
        case .duplicateCoupon: "marketing_duplicate_coupon"
        case .tooManyPlatformCoupons: "marketing_too_many_platform_coupons"
        case .tooManyMerchantCoupons: "marketing_too_many_merchant_coupons"
        case .couponNotApplicable(_, let reason): reason.code
        case .duplicateLine: "marketing_duplicate_line"
        case .checkout(let error): error.code
        case .insufficientPoints: "points_insufficient"
        case .duplicateLot: "points_duplicate_lot"
        case .invalidLevels: "member_levels_invalid"
        case .bargainFloorNotBelowStart: "bargain_floor_not_below_start"
        case .bargainFinished: "bargain_finished"
        case .bargainTooManyCuts: "bargain_too_many_cuts"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .couponNotApplicable, .insufficientPoints, .bargainFinished: .conflict
        case .checkout(let error): error.kind
        default: .invalid
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .amountTooLarge: locale.choose(zh: "金额超出范围", en: "The amount is out of range")
        case .invalidWindow: locale.choose(zh: "活动结束时间应晚于开始时间", en: "An activity must end after it starts")
        case .invalidAmount: locale.choose(zh: "金额应大于零", en: "The amount must be more than zero")
        case .invalidRate: locale.choose(zh: "折扣应在 0.1 折到 9.99 折之间", en: "The discount rate must be between 1 % and 99.99 % of the price")
        case .emptyScope: locale.choose(zh: "请选择适用的商品或类目", en: "Choose the products or categories it applies to")
        case .tiersNotAscending: locale.choose(zh: "各档门槛应逐档升高，优惠也应逐档增加", en: "Each tier needs a higher threshold and a larger saving than the one before")
        case .reductionNotBelowThreshold: locale.choose(zh: "减免金额应小于使用门槛", en: "The amount off must be less than the threshold")
        case .invalidCount: locale.choose(zh: "数量应为正数且在允许范围内", en: "The number must be positive and within range")
        case .invalidPointsRate: locale.choose(zh: "积分抵扣比例设置无效", en: "The points rate is not valid")
        case .duplicateCoupon(let id): locale.choose(zh: "同一张优惠券重复使用：\(id)", en: "The same coupon is used twice: \(id)")
        case .tooManyPlatformCoupons: locale.choose(zh: "每笔结算最多使用一张平台券", en: "At most one platform coupon per checkout")
        case .tooManyMerchantCoupons: locale.choose(zh: "每个店铺最多使用一张店铺券", en: "At most one shop coupon per shop")
        case .couponNotApplicable(_, let reason): reason.localizedMessage(locale)
        case .duplicateLine: locale.choose(zh: "同一规格的商品重复出现", en: "The same item appears twice")
        case .checkout(let error): error.localizedMessage(locale)
        case let .insufficientPoints(balance, requested):
            locale.choose(zh: "积分不足：可用 \(balance)，需要 \(requested)", en: "Not enough points: \(balance) available, \(requested) needed")
        case .duplicateLot: locale.choose(zh: "积分记录重复", en: "This points entry already exists")
        case .invalidLevels: locale.choose(zh: "会员等级应从成长值 0 开始且逐级升高", en: "Member levels must start at 0 growth and rise level by level")
        case .bargainFloorNotBelowStart: locale.choose(zh: "砍价底价应低于原价", en: "The bargain floor must be below the starting price")
        case .bargainFinished: locale.choose(zh: "已砍到底价，无需再砍", en: "The price is already at its floor")
        case .bargainTooManyCuts(let max): locale.choose(zh: "砍价次数应在 1 到 \(max) 之间", en: "The number of cuts must be between 1 and \(max)")
        }
    }
}
