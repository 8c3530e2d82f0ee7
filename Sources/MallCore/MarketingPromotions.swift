import Foundation

/// What one tier of a full-reduction activity takes off.
public enum PromotionBenefit: Hashable, Codable, Sendable {
    /// 满减: an amount off.
    case amountOff(Money)
    /// 满折: the buyer pays this share (9 000 bp = 9折).
    case payRate(BasisPoints)
}

public struct PromotionTier: Hashable, Codable, Sendable {
    public let threshold: Money
    public let benefit: PromotionBenefit

    public init(threshold: Money, benefit: PromotionBenefit) {
        self.threshold = threshold
        self.benefit = benefit
    }

    public static func amountOff(over threshold: Money, _ off: Money) -> PromotionTier { .init(threshold: threshold, benefit: .amountOff(off)) }
    public static func payRate(over threshold: Money, _ rate: BasisPoints) -> PromotionTier { .init(threshold: threshold, benefit: .payRate(rate)) }
}

/// 满减 / 满折 with tiers (满199减20, 满299减40): the highest tier the covered lines reach applies,
/// once, to the whole of them; tiers do not add up and do not repeat ("每满" is not offered).
///
/// A line takes part in at most one full-reduction activity: the first one in the list the
/// caller gives that covers it (so the caller lists product activities before shop-wide ones).
public struct FullReductionActivity: Hashable, Codable, Sendable {
    public let id: String
    public let name: String
    public let scope: MarketingScope
    public let payer: DiscountPayer
    public let window: ActivityWindow
    public let tiers: [PromotionTier]
    public let paysCommission: Bool

    public init(id: String, name: String, scope: MarketingScope = .all, payer: DiscountPayer, window: ActivityWindow,
                tiers: [PromotionTier], paysCommission: Bool = ActivityKind.fullReduction.paysCommissionByDefault) throws(MarketingError) {
        guard !tiers.isEmpty, !scope.isEmptySet else { throw tiers.isEmpty ? .invalidCount : .emptyScope }
        var previous: PromotionTier?
        for tier in tiers {
            guard tier.threshold.fen > 0 else { throw .invalidAmount }
            switch tier.benefit {
            case .amountOff(let off):
                guard off.fen > 0 else { throw .invalidAmount }
                guard off < tier.threshold else { throw .reductionNotBelowThreshold }
            case .payRate(let rate):
                guard (1...9_999).contains(rate.value) else { throw .invalidRate }
            }
            if let previous {
                guard tier.threshold > previous.threshold else { throw .tiersNotAscending }
                switch (previous.benefit, tier.benefit) {
                case let (.amountOff(a), .amountOff(b)): guard b > a else { throw .tiersNotAscending }
                case let (.payRate(a), .payRate(b)): guard b < a else { throw .tiersNotAscending }
                default: throw .tiersNotAscending
                }
            }
            previous = tier
        }
        self.id = id
        self.name = name
        self.scope = scope
        self.payer = payer
        self.window = window
        self.tiers = tiers
        self.paysCommission = paysCommission
    }

    public func covers(_ line: PricingLine) -> Bool {
        guard line.exclusiveActivity == nil, scope.covers(line) else { return false }
        if case .merchant(let merchant) = payer { return line.merchantID == merchant }
        return true
    }

    /// The highest tier `base` reaches, as an index into `tiers`.
    public func tier(for base: Money) -> Int? { tiers.lastIndex { base >= $0.threshold } }

    /// What the activity takes off lines costing `base` together.
    public func saving(for base: Money) -> Money {
        guard let index = tier(for: base) else { return .zero }
        switch tiers[index].benefit {
        case .amountOff(let off): return min(off, base)
        case .payRate(let rate): return (try? MarketingMath.offByPayRate(base, rate)) ?? .zero
        }
    }

    /// What is missing to reach the next tier, for 「再买 ¥x 减 ¥y」 hints; nil at the top tier.
    public func missingForNextTier(from base: Money) -> (missing: Money, tier: Int)? {
        guard let next = tiers.firstIndex(where: { base < $0.threshold }) else { return nil }
        return (Money(fen: tiers[next].threshold.fen - base.fen), next)
    }

    public var source: DiscountSource { DiscountSource(kind: .fullReduction, id: id, payer: payer, paysCommission: paysCommission) }
}

/// 满赠: lines covering at least the threshold earn a gift SKU (its own stock, price zero).
public struct GiftActivity: Hashable, Codable, Sendable {
    public let id: String
    public let name: String
    public let scope: MarketingScope
    public let payer: DiscountPayer
    public let window: ActivityWindow
    public let threshold: Money
    public let giftSKU: UUID
    public let giftQuantity: Int64

    public init(id: String, name: String, scope: MarketingScope = .all, payer: DiscountPayer, window: ActivityWindow,
                threshold: Money, giftSKU: UUID, giftQuantity: Int64 = 1) throws(MarketingError) {
        guard threshold.fen > 0 else { throw .invalidAmount }
        guard (1...Checkout.maxQuantity).contains(giftQuantity) else { throw .invalidCount }
        guard !scope.isEmptySet else { throw .emptyScope }
        self.id = id
        self.name = name
        self.scope = scope
        self.payer = payer
        self.window = window
        self.threshold = threshold
        self.giftSKU = giftSKU
        self.giftQuantity = giftQuantity
    }

    public func covers(_ line: PricingLine) -> Bool {
        guard line.exclusiveActivity == nil, scope.covers(line) else { return false }
        if case .merchant(let merchant) = payer { return line.merchantID == merchant }
        return true
    }
}

/// The outcome of a gift activity on a cart.
public struct GiftOutcome: Hashable, Sendable {
    public enum Status: Hashable, Sendable {
        /// Add `giftQuantity` of `giftSKU` at price zero.
        case awarded
        /// 「还差 ¥x 送赠品」.
        case belowThreshold(missing: Money)
        /// Reached, but the gift's stock does not cover the quantity: no gift, said so.
        case outOfStock
    }

    public let activityID: String
    public let giftSKU: UUID
    public let quantity: Int64
    public let status: Status
}

/// 限时折扣: one SKU at an activity price during a window, up to a number of units per member.
///
/// Units beyond the member's limit (counting what they bought under the offer before) are sold at
/// the normal price in the same line, not refused: the buyer sees how many units got the price.
public struct LimitedTimeOffer: Hashable, Codable, Sendable {
    public let id: String
    public let name: String
    public let skuID: UUID
    public let price: Money
    public let window: ActivityWindow
    public let perMemberLimit: Int64?
    public let payer: DiscountPayer
    public let paysCommission: Bool

    public init(id: String, name: String, skuID: UUID, price: Money, window: ActivityWindow, perMemberLimit: Int64? = nil,
                payer: DiscountPayer, paysCommission: Bool = ActivityKind.limitedTime.paysCommissionByDefault) throws(MarketingError) {
        guard price.fen >= 0 else { throw .invalidAmount }
        if let perMemberLimit { guard perMemberLimit >= 1 else { throw .invalidCount } }
        self.id = id
        self.name = name
        self.skuID = skuID
        self.price = price
        self.window = window
        self.perMemberLimit = perMemberLimit
        self.payer = payer
        self.paysCommission = paysCommission
    }

    /// How many of `quantity` units get the activity price, given what the member bought under it before.
    public func discountedUnits(quantity: Int64, alreadyBought: Int64) -> Int64 {
        guard quantity > 0 else { return 0 }
        guard let limit = perMemberLimit else { return quantity }
        return max(0, min(quantity, limit - max(0, alreadyBought)))
    }

    public var source: DiscountSource { DiscountSource(kind: .limitedTime, id: id, payer: payer, paysCommission: paysCommission) }
}
