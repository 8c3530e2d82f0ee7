import Foundation

/// A flash sale, group buy or bargain that priced a line on its own: such a line takes no other
/// promotion, coupon or points (its price is already the activity's floor).
public struct ExclusiveActivity: Hashable, Codable, Sendable {
    public let kind: ActivityKind
    public let id: String
    public let paysCommission: Bool
    /// The activity's unit price when the line carries the normal price: the difference is the
    /// activity's saving, recorded per line like any other (nil: the line's price is already the
    /// activity's and nothing is recorded).
    public let price: Money?
    public let payer: DiscountPayer
    public let name: String

    public init(kind: ActivityKind, id: String, paysCommission: Bool? = nil, price: Money? = nil, payer: DiscountPayer = .platform, name: String = "") {
        self.kind = kind
        self.id = id
        self.paysCommission = paysCommission ?? kind.paysCommissionByDefault
        self.price = price
        self.payer = payer
        self.name = name
    }

    /// The source its saving is recorded under: the activity kind's discount kind.
    public var source: DiscountSource {
        DiscountSource(kind: DiscountKind(rawValue: kind.rawValue) ?? .other, id: id, payer: payer, paysCommission: paysCommission)
    }
}

/// One cart line as marketing sees it: the checkout line plus what scopes test.
public struct PricingLine: Hashable, Sendable {
    public let merchantID: UUID
    public let skuID: UUID
    public let productID: UUID
    /// The line's category and all its ancestors.
    public let categoryIDs: Set<UUID>
    /// The normal unit price for this member (member price already applied by the caller).
    public let unitPrice: Money
    public let quantity: Int64
    public let exclusiveActivity: ExclusiveActivity?

    public init(merchantID: UUID, skuID: UUID, productID: UUID, categoryIDs: Set<UUID> = [], unitPrice: Money, quantity: Int64,
                exclusiveActivity: ExclusiveActivity? = nil) {
        self.merchantID = merchantID
        self.skuID = skuID
        self.productID = productID
        self.categoryIDs = categoryIDs
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.exclusiveActivity = exclusiveActivity
    }

    var checkoutLine: CheckoutLine { CheckoutLine(merchantID: merchantID, skuID: skuID, unitPrice: unitPrice, quantity: quantity) }
}

/// Points at checkout: every `points` points pay `fen` fen, spent in whole steps, at most a share
/// of what the goods still cost after coupons and/or an absolute amount per order.
public struct PointsSpendRule: Hashable, Codable, Sendable {
    public let points: Int64
    public let fen: Int64
    public let maxShare: BasisPoints?
    public let maxAmount: Money?

    /// E.g. `PointsSpendRule(points: 100, fen: 100, maxShare: BasisPoints(5_000))`: 100 points = ¥1, at most half the order.
    public init(points: Int64, fen: Int64, maxShare: BasisPoints? = nil, maxAmount: Money? = nil) throws(MarketingError) {
        guard points >= 1, fen >= 1 else { throw .invalidPointsRate }
        if let maxShare { guard (1...10_000).contains(maxShare.value) else { throw .invalidPointsRate } }
        if let maxAmount { guard maxAmount.fen >= 0 else { throw .invalidPointsRate } }
        self.points = points
        self.fen = fen
        self.maxShare = maxShare
        self.maxAmount = maxAmount
    }

    /// The most points this rule lets a member with `balance` spend on goods still costing `payable`,
    /// and what they pay. `requested` nil spends as many as allowed.
    public func redemption(balance: Int64, requested: Int64?, payable: Money) -> (points: Int64, value: Money) {
        var cap = max(payable.fen, 0)
        if let maxShare { cap = min(cap, MarketingMath.mulDiv(cap, Int64(maxShare.value), 10_000) ?? 0) }
        if let maxAmount { cap = min(cap, maxAmount.fen) }
        let wanted = max(0, min(balance, requested ?? balance))
        let steps = min(cap / fen, wanted / points)
        // steps × fen ≤ cap and steps × points ≤ wanted: both fit.
        return (steps * points, Money(fen: steps * fen))
    }

    public static let source = DiscountSource(kind: .points, id: "points", payer: .platform)
}

/// A member's level as checkout prices it (会员价 / 会员包邮): the level's rate on every line no
/// activity prices, and its free shipping. The platform pays both, like points: the shop is paid
/// the full price and its shipping through `marketing_cost`.
public struct MemberPricing: Hashable, Sendable {
    public let levelID: String
    public let levelName: String
    /// The share of the price the member pays: 9 800 bp = 98折; 10 000 for none.
    public let discount: BasisPoints
    public let freeShipping: Bool

    public init(levelID: String, levelName: String, discount: BasisPoints, freeShipping: Bool = false) {
        self.levelID = levelID
        self.levelName = levelName
        self.discount = discount
        self.freeShipping = freeShipping
    }

    public init(_ level: MemberLevel) {
        self.init(levelID: level.id, levelName: level.name, discount: level.discount, freeShipping: level.perks.contains(.freeShipping))
    }

    /// Whether the level changes a checkout at all.
    public var isEffective: Bool { discount.value < 10_000 || freeShipping }

    /// Under source kind `member`, id the level's; it pays commission like a coupon (the member's
    /// price is the ordinary price of a regular customer, not a loss leader).
    public var source: DiscountSource { DiscountSource(kind: .member, id: levelID, payer: .platform, paysCommission: true) }
    /// The waived shipping, recorded per order (not per line).
    public var shippingSource: DiscountSource { DiscountSource(kind: .member, id: levelID + ":shipping", payer: .platform) }

    /// What the level takes off a line: the line's amount less the member's payable, which is the
    /// amount at the level's rate rounded half up to the fen. Never negative, never more than the
    /// line; 0 for a rate outside 1–10 000 bp (the level book refuses those).
    public func lineDiscount(_ amount: Money) -> Money {
        guard amount.fen > 0, (1...10_000).contains(discount.value),
              let off = try? MarketingMath.offByPayRate(amount, discount) else { return .zero }
        return Money(fen: min(max(off.fen, 0), amount.fen))
    }

    /// 9 800 → "98", 9 550 → "95.5", 8 875 → "88.75".
    public var zhe: String {
        let whole = discount.value / 100, rest = discount.value % 100
        if rest == 0 { return "\(whole)" }
        return rest % 10 == 0 ? "\(whole).\(rest / 10)" : "\(whole).\(rest < 10 ? "0" : "")\(rest)"
    }

    /// 「会员折扣（白银会员 98折）」.
    public func discountLabel(_ locale: MallLocale) -> String {
        locale.choose(zh: "会员折扣（\(levelName) \(zhe)折）", en: "Member discount (\(levelName), \(Coupon.percentOff(discount))% off)")
    }

    public func shippingLabel(_ locale: MallLocale) -> String {
        locale.choose(zh: "会员包邮", en: "Member free shipping")
    }
}

/// Everything the stacking needs for one checkout. Time comes in; nothing reads the clock.
public struct PricingInput: Sendable {
    public var lines: [PricingLine]
    public var limitedTimeOffers: [LimitedTimeOffer]
    /// Units the member bought before under each limited-time offer id (paid or awaiting payment).
    public var boughtUnderOffers: [String: Int64]
    public var fullReductions: [FullReductionActivity]
    public var gifts: [GiftActivity]
    /// Stock of each gift SKU.
    public var giftStock: [UUID: Int64]
    /// The coupons the member chose: at most one goods coupon and one shipping coupon per payer
    /// (the platform, each merchant).
    public var coupons: [MemberCoupon]
    public var pointsRule: PointsSpendRule?
    public var pointsBalance: Int64
    /// Points the member asks to spend; nil spends as many as allowed, 0 none.
    public var pointsRequested: Int64?
    public var shippingFees: [UUID: Money]
    public var now: Date
    public var isNewMember: Bool
    /// The member's level: its discount and free shipping (nil: none).
    public var member: MemberPricing?
    public var locale: MallLocale

    public init(lines: [PricingLine], limitedTimeOffers: [LimitedTimeOffer] = [], boughtUnderOffers: [String: Int64] = [:],
                fullReductions: [FullReductionActivity] = [], gifts: [GiftActivity] = [], giftStock: [UUID: Int64] = [:],
                coupons: [MemberCoupon] = [], pointsRule: PointsSpendRule? = nil, pointsBalance: Int64 = 0, pointsRequested: Int64? = 0,
                shippingFees: [UUID: Money] = [:], now: Date, isNewMember: Bool = false, member: MemberPricing? = nil,
                locale: MallLocale = .zhHans) {
        self.lines = lines
        self.limitedTimeOffers = limitedTimeOffers
        self.boughtUnderOffers = boughtUnderOffers
        self.fullReductions = fullReductions
        self.gifts = gifts
        self.giftStock = giftStock
        self.coupons = coupons
        self.pointsRule = pointsRule
        self.pointsBalance = pointsBalance
        self.pointsRequested = pointsRequested
        self.shippingFees = shippingFees
        self.now = now
        self.isNewMember = isNewMember
        self.member = member
        self.locale = locale
    }
}

/// One saving as the checkout page lists it, in stacking order.
public struct PricingStep: Hashable, Sendable {
    public let source: DiscountSource
    public let label: String
    public let goods: Money
    public let shipping: Money
    public var amount: Money { Money(fen: goods.fen + shipping.fen) }
}

public struct PricedAllocation: Hashable, Sendable {
    public let source: DiscountSource
    public let amount: Money
}

public struct MarketingLine: Hashable, Sendable {
    public let merchantID: UUID
    public let skuID: UUID
    public let unitPrice: Money
    public let quantity: Int64
    /// unit price × quantity, before any saving.
    public let amount: Money
    /// Units that got the limited-time price.
    public let limitedTimeUnits: Int64
    /// Per source, in stacking order; a source that left the line nothing is not listed.
    public let allocations: [PricedAllocation]
    /// amount − allocations: the base of commission and refunds.
    public let paid: Money
    /// False when the line is under any activity whose commission switch is off.
    public let paysCommission: Bool
    /// The flash sale, group buy or bargain the line was bought under, also when its price saved
    /// nothing (the normal price fell to it): its commission switch still holds for the line.
    public var exclusiveSource: DiscountSource? = nil
}

public struct PricingQuote: Hashable, Sendable {
    /// The orders per merchant, with the shipping fees after shipping coupons.
    public let checkout: CheckoutQuote
    /// In the order of the input lines.
    public let lines: [MarketingLine]
    /// Limited-time → member level → full-reduction → coupons (shop, platform, shipping) → points.
    public let steps: [PricingStep]
    /// Shipping coupons' parts and the member's waived shipping per merchant.
    public let shippingSavings: [UUID: [PricedAllocation]]
    /// Shipping the member's level waived, per merchant: the platform pays it to the shop.
    public let shippingWaived: [UUID: Money]
    /// What the member's level took off the goods, in all.
    public let memberDiscount: Money
    /// The level the checkout was priced for (nil: none that changes anything).
    public let member: MemberPricing?
    public let gifts: [GiftOutcome]
    public let pointsUsed: Int64
    public let pointsValue: Money
    public let goodsAmount: Money
    /// Shipping before shipping coupons.
    public let shippingAmount: Money
    /// Σ steps.
    public let savingTotal: Money
    /// What the buyer pays in all.
    public let total: Money
}

/// The fixed stacking order, shown to the buyer: limited-time price → member level → full-reduction
/// → coupons → points. The member level's rate is a price, like the activity price before it, so
/// it only prices lines no activity priced (活动价与会员价不叠加); its free shipping waives every
/// shop's fee before shipping coupons look at it. Each saving is decided on what the lines still cost after the steps before it (a
/// coupon's threshold is met after full reduction; the points cap is a share of what is left),
/// then spread over the lines it covers with `CheckoutDraft` (largest remainder), so every
/// allocation adds up to its saving and no line goes below zero.
///
/// Shop coupons come before the platform coupon, whose threshold counts what is left after them;
/// shipping coupons only ever reduce shipping. Lines priced by a flash sale, group buy or bargain
/// take none of it.
public enum Pricing {
    public static func quote(_ input: PricingInput) throws(MarketingError) -> PricingQuote {
        var stage = try promotions(input)
        let ordered = try orderedCoupons(input.coupons, stage: stage)
        for coupon in ordered {
            switch Coupons.use(coupon, lines: input.lines, remaining: stage.draft.remaining, shippingFees: stage.shippingFees,
                               now: input.now, isNewMember: input.isNewMember) {
            case .failure(let reason): throw .couponNotApplicable(id: coupon.id, reason: reason)
            case .success(let use): try stage.apply(coupon, use, input: input)
            }
        }
        try stage.applyPoints(input)
        return try stage.finish(input)
    }

    /// Limited-time prices, full reductions and gifts: the state coupons start from.
    static func promotions(_ input: PricingInput) throws(MarketingError) -> Stage {
        var stage: Stage
        do { stage = Stage(draft: try CheckoutDraft(lines: input.lines.map(\.checkoutLine)), lines: input.lines, shippingFees: input.shippingFees) }
        catch { throw .checkout(error) }
        for (merchant, fee) in input.shippingFees {
            guard stage.draft.merchants.contains(merchant) else { throw .checkout(.unknownMerchant(merchant)) }
            guard fee.fen >= 0 else { throw .checkout(.negativeShipping(merchant: merchant)) }
        }
        // Goods and shipping together must fit: every saving and every sum of savings is below it.
        var grand = stage.draft.goodsTotal
        for fee in input.shippingFees.values { grand = try MarketingMath.add(grand, fee) }

        // 0. An exclusive activity's price (a flash sale's): the whole line at that price, nothing else on it.
        for (index, line) in input.lines.enumerated() {
            guard let exclusive = line.exclusiveActivity, let price = exclusive.price, price.fen >= 0, price < line.unitPrice else { continue }
            let saving = try MarketingMath.multiply(Money(fen: line.unitPrice.fen - price.fen), line.quantity)
            try stage.spread(exclusive.source, label: exclusive.name.isEmpty ? exclusive.kind.name(input.locale) : exclusive.name,
                             amount: saving, lines: [index])
        }

        // 1. Limited-time prices: the first active offer for each line's SKU.
        for (index, line) in input.lines.enumerated() where line.exclusiveActivity == nil {
            guard let offer = input.limitedTimeOffers.first(where: { $0.skuID == line.skuID && $0.window.contains(input.now) }),
                  offer.price < line.unitPrice else { continue }
            let units = offer.discountedUnits(quantity: line.quantity, alreadyBought: input.boughtUnderOffers[offer.id] ?? 0)
            guard units > 0 else { continue }
            // (price − offer) × units ≤ price × quantity, which fits.
            let saving = Money(fen: (line.unitPrice.fen - offer.price.fen) * units)
            stage.limitedTimeUnits[index] = units
            try stage.spread(offer.source, label: offer.name, amount: saving, lines: [index])
        }

        // 1b. The member level's price, on each line no activity priced, each line on its own.
        if let member = input.member {
            var parts: [(line: Int, amount: Money)] = []
            for (index, line) in input.lines.enumerated() where line.exclusiveActivity == nil && stage.limitedTimeUnits[index] == nil {
                let off = member.lineDiscount(stage.draft.remaining[index])
                if off.fen > 0 { parts.append((index, off)) }
            }
            if !parts.isEmpty { try stage.spread(member.source, label: member.discountLabel(input.locale), parts: parts) }
            if member.freeShipping { stage.waiveShipping(member.shippingSource, label: member.shippingLabel(input.locale)) }
        }

        // 2. Full reductions (judged on the prices after 1 and 1b): each line joins the first active activity that covers it.
        var taken = Set<Int>()
        for activity in input.fullReductions where activity.window.contains(input.now) {
            let covered = input.lines.indices.filter { !taken.contains($0) && activity.covers(input.lines[$0]) }
            guard !covered.isEmpty else { continue }
            taken.formUnion(covered)
            let base = stage.draft.remaining(of: covered)
            let saving = activity.saving(for: base)
            guard saving.fen > 0, let tier = activity.tier(for: base) else { continue }
            let label = "\(activity.name) \(Self.tierSummary(activity.tiers[tier], input.locale))"
            try stage.spread(activity.source, label: label, amount: saving, lines: covered)
        }

        // Gifts: on the same base as full reduction (after limited-time prices), never changing money.
        var giftStock = input.giftStock
        for gift in input.gifts where gift.window.contains(input.now) {
            let covered = input.lines.indices.filter { gift.covers(input.lines[$0]) }
            guard !covered.isEmpty else { continue }
            var base = Money.zero
            for index in covered {
                // Before full reduction: the amount less the limited-time and member savings.
                base = Money(fen: base.fen + stage.draft.amounts[index].fen - stage.priceSaving(index).fen)
            }
            let status: GiftOutcome.Status
            if base < gift.threshold {
                status = .belowThreshold(missing: Money(fen: gift.threshold.fen - base.fen))
            } else if (giftStock[gift.giftSKU] ?? 0) >= gift.giftQuantity {
                status = .awarded
                giftStock[gift.giftSKU, default: 0] -= gift.giftQuantity
            } else {
                status = .outOfStock
            }
            stage.gifts.append(GiftOutcome(activityID: gift.id, giftSKU: gift.giftSKU, quantity: gift.giftQuantity, status: status))
        }
        return stage
    }

    static func tierSummary(_ tier: PromotionTier, _ locale: MallLocale) -> String {
        switch tier.benefit {
        case .amountOff(let off):
            locale.choose(zh: "满\(Coupon.yuan(tier.threshold))减\(Coupon.yuan(off))", en: "\(off.formatted(.en)) off \(tier.threshold.formatted(.en))")
        case .payRate(let rate):
            locale.choose(zh: "满\(Coupon.yuan(tier.threshold))打\(Coupon.zhe(rate))折",
                          en: "\(Coupon.percentOff(rate))% off \(tier.threshold.formatted(.en))")
        }
    }

    /// Where a coupon sits: one goods coupon and one shipping coupon per payer.
    struct Slot: Hashable {
        let payer: DiscountPayer
        let shipping: Bool
    }

    static func slot(_ coupon: MemberCoupon) -> Slot { Slot(payer: coupon.coupon.payer, shipping: coupon.coupon.isShipping) }

    /// Checks the one-per-slot rule and puts the coupons in application order: shop goods coupons
    /// (by shop order), the platform goods coupon, then shipping coupons the same way.
    static func orderedCoupons(_ coupons: [MemberCoupon], stage: Stage) throws(MarketingError) -> [MemberCoupon] {
        var ids = Set<String>()
        var slots = Set<Slot>()
        for coupon in coupons {
            guard ids.insert(coupon.id).inserted else { throw .duplicateCoupon(coupon.id) }
            guard slots.insert(slot(coupon)).inserted else {
                if case .merchant(let merchant) = coupon.coupon.payer { throw .tooManyMerchantCoupons(merchant: merchant) }
                throw .tooManyPlatformCoupons
            }
        }
        return coupons.sorted { order(slot($0), stage.draft.merchants) < order(slot($1), stage.draft.merchants) }
    }

    static func order(_ slot: Slot, _ merchants: [UUID]) -> Int {
        let payer: Int
        switch slot.payer {
        case .merchant(let merchant): payer = merchants.firstIndex(of: merchant) ?? merchants.count
        case .platform: payer = merchants.count + 1
        }
        return (slot.shipping ? 1 << 20 : 0) + payer
    }

    /// Pricing as it stands between steps.
    struct Stage: Sendable {
        var draft: CheckoutDraft
        let lines: [PricingLine]
        var shippingFees: [UUID: Money]
        var steps: [PricingStep] = []
        var sources: [String: DiscountSource] = [:]
        /// Per line, the sources that cover it, whether or not they left it a fen.
        var covering: [[DiscountSource]]
        var limitedTimeUnits: [Int: Int64] = [:]
        var shippingSavings: [UUID: [PricedAllocation]] = [:]
        var shippingWaived: [UUID: Money] = [:]
        var gifts: [GiftOutcome] = []
        var pointsUsed: Int64 = 0
        var pointsValue = Money.zero

        init(draft: CheckoutDraft, lines: [PricingLine], shippingFees: [UUID: Money]) {
            self.draft = draft
            self.lines = lines
            self.shippingFees = shippingFees
            self.covering = [[DiscountSource]](repeating: [], count: lines.count)
        }

        /// What the price stages (limited-time price, member level) took off a line.
        func priceSaving(_ index: Int) -> Money {
            Money(fen: draft.allocations[index].filter { $0.kind == .limitedTime || $0.kind == .member }.reduce(0) { $0 + $1.amount.fen })
        }

        /// Per-line parts decided by the caller, as one saving.
        mutating func spread(_ source: DiscountSource, label: String, parts: [(line: Int, amount: Money)]) throws(MarketingError) {
            do { try draft.apply(id: source.discountID, kind: source.kind, label: label, parts: parts) } catch { throw .checkout(error) }
            sources[source.discountID] = source
            for part in parts { covering[part.line].append(source) }
            steps.append(PricingStep(source: source, label: label, goods: Money(fen: parts.reduce(0) { $0 + $1.amount.fen }), shipping: .zero))
        }

        /// Every shop's shipping fee, waived (member free shipping).
        mutating func waiveShipping(_ source: DiscountSource, label: String) {
            var total: Int64 = 0
            for merchant in draft.merchants {
                guard let fee = shippingFees[merchant], fee.fen > 0 else { continue }
                shippingFees[merchant] = .zero
                shippingWaived[merchant] = fee
                shippingSavings[merchant, default: []].append(PricedAllocation(source: source, amount: fee))
                // Checked with the goods in `promotions`: the fees together fit.
                total += fee.fen
            }
            guard total > 0 else { return }
            sources[source.discountID] = source
            steps.append(PricingStep(source: source, label: label, goods: .zero, shipping: Money(fen: total)))
        }

        mutating func spread(_ source: DiscountSource, label: String, amount: Money, lines indices: [Int]) throws(MarketingError) {
            let skus = Set(indices.map { lines[$0].skuID })
            do {
                try draft.apply(CheckoutDiscount(id: source.discountID, kind: source.kind, label: label, amount: amount, scope: .platformLines(skus)))
            } catch { throw .checkout(error) }
            sources[source.discountID] = source
            for index in indices { covering[index].append(source) }
            steps.append(PricingStep(source: source, label: label, goods: amount, shipping: .zero))
        }

        mutating func apply(_ coupon: MemberCoupon, _ use: CouponUse, input: PricingInput) throws(MarketingError) {
            let source = coupon.source
            if coupon.coupon.isShipping {
                for merchant in draft.merchants {
                    guard let part = use.shippingSaving[merchant] else { continue }
                    shippingFees[merchant] = Money(fen: (shippingFees[merchant] ?? .zero).fen - part.fen)
                    shippingSavings[merchant, default: []].append(PricedAllocation(source: source, amount: part))
                }
                sources[source.discountID] = source
                steps.append(PricingStep(source: source, label: coupon.coupon.name, goods: .zero, shipping: use.saving))
            } else {
                try spread(source, label: coupon.coupon.name, amount: use.goodsSaving, lines: use.lines)
            }
        }

        mutating func applyPoints(_ input: PricingInput) throws(MarketingError) {
            guard let rule = input.pointsRule else { return }
            let eligible = lines.indices.filter { lines[$0].exclusiveActivity == nil }
            guard !eligible.isEmpty else { return }
            let redemption = rule.redemption(balance: input.pointsBalance, requested: input.pointsRequested, payable: draft.remaining(of: eligible))
            guard redemption.points > 0 else { return }
            try spread(PointsSpendRule.source, label: input.locale.choose(zh: "积分抵扣", en: "Points"), amount: redemption.value, lines: eligible)
            pointsUsed = redemption.points
            pointsValue = redemption.value
        }

        func finish(_ input: PricingInput) throws(MarketingError) -> PricingQuote {
            let checkout: CheckoutQuote
            do { checkout = try draft.quote(shippingFees: shippingFees) } catch { throw .checkout(error) }
            var priced: [MarketingLine] = []
            for (index, line) in lines.enumerated() {
                let allocations = draft.allocations[index].compactMap { allocation in
                    sources[allocation.discountID].map { PricedAllocation(source: $0, amount: allocation.amount) }
                }
                let paysCommission = MarketingCommission.paysCommission(sources: covering[index], exclusive: line.exclusiveActivity)
                priced.append(MarketingLine(merchantID: line.merchantID, skuID: line.skuID, unitPrice: line.unitPrice, quantity: line.quantity,
                                         amount: draft.amounts[index], limitedTimeUnits: limitedTimeUnits[index] ?? 0,
                                         allocations: allocations, paid: draft.remaining[index], paysCommission: paysCommission,
                                         exclusiveSource: line.exclusiveActivity?.source))
            }
            // Checked with the goods in `promotions`.
            let shippingAmount = Money(fen: input.shippingFees.values.reduce(0) { $0 + $1.fen })
            let saving = steps.reduce(Int64(0)) { $0 + $1.amount.fen }
            let memberDiscount = steps.reduce(Int64(0)) { $0 + ($1.source == input.member?.source ? $1.goods.fen : 0) }
            return PricingQuote(checkout: checkout, lines: priced, steps: steps, shippingSavings: shippingSavings,
                                shippingWaived: shippingWaived, memberDiscount: Money(fen: memberDiscount), member: input.member, gifts: gifts,
                                pointsUsed: pointsUsed, pointsValue: pointsValue, goodsAmount: draft.goodsTotal, shippingAmount: shippingAmount,
                                savingTotal: Money(fen: saving), total: checkout.total)
        }
    }
}
