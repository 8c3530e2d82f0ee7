import Foundation

/// 优惠券 kinds as the console names them; the benefit says what each takes off.
public enum CouponKind: String, CaseIterable, Codable, Sendable {
    /// 满减券: an amount off once the covered lines reach the threshold.
    case fullReduction = "full_reduction"
    /// 折扣券: the covered lines at a rate (8.8折), optionally at most some amount off.
    case discount
    /// 无门槛券: an amount off with no threshold.
    case noThreshold = "no_threshold"
    /// 新人券: for members who have not yet paid an order.
    case newUser = "new_user"
    /// 运费券: takes off shipping only, never goods.
    case shipping
}

public enum CouponBenefit: Hashable, Codable, Sendable {
    case amountOff(Money)
    /// The share the buyer pays: 8.8折 is 8 800 bp. `maximumOff` caps the saving.
    case payRate(BasisPoints, maximumOff: Money?)
    /// Off the shipping fee; nil takes off all of it.
    case shippingOff(Money?)
}

public enum CouponValidity: Hashable, Codable, Sendable {
    case window(ActivityWindow)
    /// Usable from receipt for N × 24 hours (领取后 N 天内有效).
    case daysAfterReceipt(Int)

    public static let maxDays = 3_650
}

/// Claim limits; nil is unlimited.
public struct CouponClaimLimits: Hashable, Codable, Sendable {
    /// All coupons ever issued from this template.
    public var total: Int64?
    public var perMember: Int64?
    /// 每人每日限领.
    public var perMemberPerDay: Int64?
    /// 每日限量: all members together on one day.
    public var perDay: Int64?

    public init(total: Int64? = nil, perMember: Int64? = nil, perMemberPerDay: Int64? = nil, perDay: Int64? = nil) {
        self.total = total
        self.perMember = perMember
        self.perMemberPerDay = perMemberPerDay
        self.perDay = perDay
    }
}

/// A coupon as the operator or a merchant defines it (the template every member's coupon comes from).
public struct Coupon: Hashable, Codable, Sendable {
    public let id: String
    public let kind: CouponKind
    public let name: String
    /// The covered lines must cost at least this (after limited-time prices and full-reduction
    /// activities) for the coupon to apply; zero for none.
    public let threshold: Money
    public let benefit: CouponBenefit
    public let scope: MarketingScope
    public let validity: CouponValidity
    /// A merchant's coupon only ever covers that merchant's lines.
    public let payer: DiscountPayer
    public let paysCommission: Bool
    public let limits: CouponClaimLimits

    public init(id: String, kind: CouponKind, name: String, threshold: Money = .zero, benefit: CouponBenefit,
                scope: MarketingScope = .all, validity: CouponValidity, payer: DiscountPayer = .platform,
                paysCommission: Bool = ActivityKind.coupon.paysCommissionByDefault,
                limits: CouponClaimLimits = CouponClaimLimits()) throws(MarketingError) {
        guard threshold.fen >= 0 else { throw .invalidAmount }
        switch (kind, benefit) {
        case (.fullReduction, .amountOff(let off)):
            guard off.fen > 0 else { throw .invalidAmount }
            guard off < threshold else { throw .reductionNotBelowThreshold }
        case (.noThreshold, .amountOff(let off)):
            guard off.fen > 0, threshold == .zero else { throw .invalidAmount }
        case (.newUser, .amountOff(let off)):
            guard off.fen > 0 else { throw .invalidAmount }
            guard threshold == .zero || off < threshold else { throw .reductionNotBelowThreshold }
        case (.discount, .payRate(let rate, let maximum)), (.newUser, .payRate(let rate, let maximum)):
            guard (1...9_999).contains(rate.value) else { throw .invalidRate }
            if let maximum { guard maximum.fen > 0 else { throw .invalidAmount } }
        case (.shipping, .shippingOff(let off)):
            if let off { guard off.fen > 0 else { throw .invalidAmount } }
        default:
            throw .invalidAmount
        }
        guard !scope.isEmptySet else { throw .emptyScope }
        if case .daysAfterReceipt(let days) = validity {
            guard (1...CouponValidity.maxDays).contains(days) else { throw .invalidCount }
        }
        for limit in [limits.total, limits.perMember, limits.perMemberPerDay, limits.perDay] {
            if let limit { guard limit >= 1 else { throw .invalidCount } }
        }
        self.id = id
        self.kind = kind
        self.name = name
        self.threshold = threshold
        self.benefit = benefit
        self.scope = scope
        self.validity = validity
        self.payer = payer
        self.paysCommission = paysCommission
        self.limits = limits
    }

    public var isShipping: Bool { kind == .shipping }

    /// Whether the coupon covers this line: in scope, the payer's own line for a merchant coupon,
    /// and not priced by a flash sale, group buy or bargain.
    public func covers(_ line: PricingLine) -> Bool {
        guard line.exclusiveActivity == nil, scope.covers(line) else { return false }
        if case .merchant(let merchant) = payer { return line.merchantID == merchant }
        return true
    }

    /// The discount source this coupon records on lines.
    public var source: DiscountSource { DiscountSource(kind: .coupon, id: id, payer: payer, paysCommission: paysCommission) }

    /// 「满199减20」, 「8.8折 最多减¥50」, 「无门槛减¥5」, 「免运费」 …
    public func summary(_ locale: MallLocale) -> String {
        let threshold = threshold.fen > 0 ? locale.choose(zh: "满\(Self.yuan(self.threshold))", en: "\(self.threshold.formatted(.en)) or more: ") : ""
        switch benefit {
        case .amountOff(let off):
            return threshold.isEmpty ? locale.choose(zh: "无门槛减\(Self.yuan(off))", en: "\(off.formatted(.en)) off")
                                     : locale.choose(zh: "\(threshold)减\(Self.yuan(off))", en: "\(threshold)\(off.formatted(.en)) off")
        case let .payRate(rate, maximum):
            let cap = maximum.map { locale.choose(zh: " 最多减\(Self.yuan($0))", en: ", at most \($0.formatted(.en)) off") } ?? ""
            return locale.choose(zh: "\(threshold)\(Self.zhe(rate))折\(cap)", en: "\(threshold)\(Self.percentOff(rate))% off\(cap)")
        case .shippingOff(let off):
            return off.map { locale.choose(zh: "\(threshold)运费减\(Self.yuan($0))", en: "\(threshold)\($0.formatted(.en)) off shipping") }
                ?? locale.choose(zh: "\(threshold)免运费", en: "\(threshold)free shipping")
        }
    }

    /// 19 900 fen → "199", 990 → "9.9", 1 → "0.01".
    static func yuan(_ money: Money) -> String {
        let text = money.decimalString
        if text.hasSuffix(".00") { return String(text.dropLast(3)) }
        if text.hasSuffix("0") { return String(text.dropLast()) }
        return text
    }

    /// 8 800 bp → "8.8", 9 500 → "9.5", 7 000 → "7", 8 850 → "8.85".
    static func zhe(_ rate: BasisPoints) -> String { yuan(Money(fen: Int64(rate.value / 10))) + (rate.value % 10 == 0 ? "" : "\(rate.value % 10)") }

    /// 8 800 bp → "12", 8 850 → "11.5".
    static func percentOff(_ rate: BasisPoints) -> String { yuan(Money(fen: Int64(10_000 - rate.value))) }
}

/// One coupon a member holds.
public struct MemberCoupon: Hashable, Codable, Sendable {
    /// The member's coupon's own id (what an order records as used).
    public let id: String
    public let coupon: Coupon
    public let receivedAt: Date
    public let used: Bool

    public init(id: String, coupon: Coupon, receivedAt: Date, used: Bool = false) {
        self.id = id
        self.coupon = coupon
        self.receivedAt = receivedAt
        self.used = used
    }

    /// When this member's coupon can be used, start included and end excluded.
    public var validFrom: Date {
        switch coupon.validity {
        case .window(let window): window.start
        case .daysAfterReceipt: receivedAt
        }
    }

    public var validUntil: Date {
        switch coupon.validity {
        case .window(let window): window.end
        case .daysAfterReceipt(let days): receivedAt.addingTimeInterval(TimeInterval(days) * 86_400)
        }
    }

    /// The source recorded on lines: the member's coupon id, so a refund knows which one comes back.
    public var source: DiscountSource {
        DiscountSource(kind: .coupon, id: id, payer: coupon.payer, paysCommission: coupon.paysCommission)
    }
}

/// Why a coupon cannot be used on this checkout, or claimed.
public enum CouponRejection: LocalizedRuleError, Hashable {
    case alreadyUsed
    case newMembersOnly
    case notStarted(startsAt: Date)
    case expired(endedAt: Date)
    /// No line of the cart is in the coupon's scope.
    case outOfScope
    /// 还差 ¥x 可用.
    case belowThreshold(missing: Money)
    /// A shipping coupon on an order that ships free.
    case noShippingFee
    /// Claiming: the template has issued all it may.
    case soldOut
    case dailySoldOut
    case memberLimitReached(limit: Int64)
    case memberDailyLimitReached(limit: Int64)
    case claimEnded

    public var code: String {
        switch self {
        case .alreadyUsed: "coupon_already_used"
        case .newMembersOnly: "coupon_new_members_only"
        case .notStarted: "coupon_not_started"
        case .expired: "coupon_expired"
        case .outOfScope: "coupon_out_of_scope"
        case .belowThreshold: "coupon_below_threshold"
        case .noShippingFee: "coupon_no_shipping_fee"
        case .soldOut: "coupon_sold_out"
        case .dailySoldOut: "coupon_daily_sold_out"
        case .memberLimitReached: "coupon_member_limit"
        case .memberDailyLimitReached: "coupon_member_daily_limit"
        case .claimEnded: "coupon_claim_ended"
        }
    }

    public var kind: RuleErrorKind { .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .alreadyUsed: locale.choose(zh: "优惠券已使用", en: "This coupon has been used")
        case .newMembersOnly: locale.choose(zh: "仅限新用户首单使用", en: "For new members' first order only")
        case .notStarted(let start):
            locale.choose(zh: "优惠券 \(MarketingText.chinaTime(start)) 起可用", en: "Usable from \(MarketingText.chinaTime(start)) (China time)")
        case .expired: locale.choose(zh: "优惠券已过期", en: "This coupon has expired")
        case .outOfScope: locale.choose(zh: "所选商品不在优惠券适用范围内", en: "No item in the cart is covered by this coupon")
        case .belowThreshold(let missing):
            locale.choose(zh: "还差 \(missing.formatted(.zhHans)) 可用", en: "Add \(missing.formatted(.en)) more to use it")
        case .noShippingFee: locale.choose(zh: "本单免运费，无需运费券", en: "This order ships free")
        case .soldOut: locale.choose(zh: "优惠券已领完", en: "All these coupons have been claimed")
        case .dailySoldOut: locale.choose(zh: "今日优惠券已领完，明天再来", en: "Today's coupons are gone; come back tomorrow")
        case .memberLimitReached(let limit): locale.choose(zh: "每人限领 \(limit) 张", en: "At most \(limit) per member")
        case .memberDailyLimitReached(let limit): locale.choose(zh: "每人每天限领 \(limit) 张", en: "At most \(limit) per member a day")
        case .claimEnded: locale.choose(zh: "优惠券活动已结束", en: "This coupon can no longer be claimed")
        }
    }
}

/// How many of a template have been issued, for the claim decision. "Today" is the China day of
/// the claim; the App counts.
public struct CouponClaimCounts: Hashable, Sendable {
    public var issued: Int64
    public var issuedToday: Int64
    public var byMember: Int64
    public var byMemberToday: Int64

    public init(issued: Int64 = 0, issuedToday: Int64 = 0, byMember: Int64 = 0, byMemberToday: Int64 = 0) {
        self.issued = issued
        self.issuedToday = issuedToday
        self.byMember = byMember
        self.byMemberToday = byMemberToday
    }
}

/// What one coupon would do on a checkout in its current state.
public struct CouponUse: Hashable, Sendable {
    /// Covered line indices.
    public let lines: [Int]
    /// What the covered lines still cost: the threshold's base.
    public let base: Money
    /// Off goods.
    public let goodsSaving: Money
    /// Off shipping, per merchant (a shipping coupon only).
    public let shippingSaving: [UUID: Money]

    public var saving: Money { Money(fen: goodsSaving.fen + shippingSaving.values.reduce(0) { $0 + $1.fen }) }
}

public enum Coupons {
    /// Whether a member may claim one more coupon of this template now; nil when they may.
    ///
    /// The App counts under a row lock (or a conditional update), so the decision holds under
    /// concurrency; this only says what the counts allow.
    public static func claimRefusal(_ coupon: Coupon, counts: CouponClaimCounts, now: Date, isNewMember: Bool) -> CouponRejection? {
        if case .window(let window) = coupon.validity, now >= window.end { return .claimEnded }
        if coupon.kind == .newUser && !isNewMember { return .newMembersOnly }
        let limits = coupon.limits
        if let total = limits.total, counts.issued >= total { return .soldOut }
        if let perDay = limits.perDay, counts.issuedToday >= perDay { return .dailySoldOut }
        if let perMember = limits.perMember, counts.byMember >= perMember { return .memberLimitReached(limit: perMember) }
        if let daily = limits.perMemberPerDay, counts.byMemberToday >= daily { return .memberDailyLimitReached(limit: daily) }
        return nil
    }

    /// What the coupon takes off the checkout as it stands, or why it cannot be used.
    ///
    /// Checks, in this order: used, new members only, not started, expired, scope, threshold (on
    /// what the covered lines still cost, 「还差 ¥x 可用」), and for a shipping coupon a fee to take off.
    public static func use(_ coupon: MemberCoupon, lines: [PricingLine], remaining: [Money], shippingFees: [UUID: Money],
                           now: Date, isNewMember: Bool) -> Result<CouponUse, CouponRejection> {
        if coupon.used { return .failure(.alreadyUsed) }
        if coupon.coupon.kind == .newUser && !isNewMember { return .failure(.newMembersOnly) }
        if now < coupon.validFrom { return .failure(.notStarted(startsAt: coupon.validFrom)) }
        if now >= coupon.validUntil { return .failure(.expired(endedAt: coupon.validUntil)) }
        let covered = lines.indices.filter { coupon.coupon.covers(lines[$0]) }
        guard !covered.isEmpty else { return .failure(.outOfScope) }
        // Every line's remaining is at most its amount and the amounts' sum fits, so this does too.
        let base = Money(fen: covered.reduce(0) { $0 + remaining[$1].fen })
        if base < coupon.coupon.threshold { return .failure(.belowThreshold(missing: Money(fen: coupon.coupon.threshold.fen - base.fen))) }
        switch coupon.coupon.benefit {
        case .amountOff(let off):
            return .success(CouponUse(lines: covered, base: base, goodsSaving: min(off, base), shippingSaving: [:]))
        case let .payRate(rate, maximum):
            // base × rate ≤ base, so this cannot overflow; the error path is unreachable.
            var off = (try? MarketingMath.offByPayRate(base, rate)) ?? .zero
            if let maximum { off = min(off, maximum) }
            return .success(CouponUse(lines: covered, base: base, goodsSaving: off, shippingSaving: [:]))
        case .shippingOff(let limit):
            var merchants: [UUID] = []
            for index in covered where !merchants.contains(lines[index].merchantID) { merchants.append(lines[index].merchantID) }
            let fees = merchants.map { max(shippingFees[$0] ?? .zero, .zero) }
            var feeTotal: Int64 = 0
            for fee in fees {
                let (sum, overflow) = feeTotal.addingReportingOverflow(fee.fen)
                feeTotal = overflow ? Int64.max : sum
            }
            guard feeTotal > 0 else { return .failure(.noShippingFee) }
            let off = Money(fen: min(limit?.fen ?? feeTotal, feeTotal))
            let parts = (try? Allocation.split(off, proportionalTo: fees)) ?? fees.map { _ in .zero }
            var saving: [UUID: Money] = [:]
            for (merchant, part) in zip(merchants, parts) where part.fen > 0 { saving[merchant] = part }
            return .success(CouponUse(lines: covered, base: base, goodsSaving: .zero, shippingSaving: saving))
        }
    }

    /// A coupon used on an order that is cancelled, or fully refunded, comes back to the member if
    /// it is still within its validity; after its end it stays used.
    public static func returnsToMember(_ coupon: MemberCoupon, now: Date) -> Bool { now < coupon.validUntil }
}

enum MarketingText {
    static let chinaCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3_600) ?? .gmt
        return calendar
    }()

    /// "2025-06-18 20:00" in China time.
    static func chinaTime(_ date: Date) -> String {
        let parts = chinaCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute))"
    }
}
