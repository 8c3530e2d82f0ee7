import Fluent
import Foundation
import MallCore
import Vapor

/// The coupons of one checkout: which were used, which the member holds, and why each other one
/// was not chosen.
struct CouponChoice: Sendable {
    struct Offered: Sendable {
        let id: UUID
        let name: String
        let summary: String
        let payer: DiscountPayer
        let validUntil: Date
        let chosen: Bool
        /// Why it is not in the combination; nil when chosen.
        let reason: String?
    }

    /// Member coupon ids, in application order.
    let chosen: [UUID]
    /// True when the buyer named none and the best combination was taken.
    let suggested: Bool
    let offered: [Offered]

    static let none = CouponChoice(chosen: [], suggested: false, offered: [])
}

/// Points at one checkout: what the member holds, the most this checkout lets them spend, and what
/// was spent and what it paid.
struct PointsChoice: Sendable {
    let balance: Int64
    let usable: Int64
    let used: Int64
    let value: Money

    static let none = PointsChoice(balance: 0, usable: 0, used: 0, value: .zero)
}

/// Prices a checkout with the engine: the lines as marketing sees them (shop, product, category
/// and its ancestors), the shipping per shop, the member's coupons; `Pricing.quote` decides.
struct CouponCheckout {
    let db: any Database
    let memberID: UUID
    let now: Date
    let locale: MallLocale

    /// `exclusive`: per SKU, the flash sale, group buy or bargain pricing that line alone.
    func price(groups: [CheckoutPlan.Group], shippingFees: [UUID: Money], couponIds: [UUID]?,
               points requested: Int64? = nil,
               exclusive: [UUID: ExclusiveActivity] = [:]) async throws -> (PricingQuote, CouponChoice, PointsChoice) {
        if let requested, !(0...MembersConfig.maxPoints).contains(requested) {
            throw APIError.validation([.init("points", .init("积分数应为 0-\(MembersConfig.maxPoints)", "Points are 0–\(MembersConfig.maxPoints)"))])
        }
        if let couponIds, couponIds.count > CouponService.maxPerCheckout {
            throw APIError.validation([.init("couponIds", .init("一次最多使用 \(CouponService.maxPerCheckout) 张优惠券",
                                                                "At most \(CouponService.maxPerCheckout) coupons per checkout"))])
        }
        // Lines all priced by exclusive activities take no promotion, coupon or points: nothing to read for them.
        let onlyExclusive = !exclusive.isEmpty && groups.allSatisfy { $0.lines.allSatisfy { line in line.sku.sku.id.map { exclusive[$0] != nil } ?? false } }
        let ancestors = onlyExclusive ? [:] : try await categoryAncestors()
        var lines: [PricingLine] = []
        var fees: [UUID: Money] = [:]
        for group in groups {
            let merchantID = try group.merchant.requireID()
            if let fee = shippingFees[group.key] { fees[merchantID] = fee }
            for line in group.lines {
                let categoryID = line.sku.product.$category.id
                lines.append(PricingLine(merchantID: merchantID, skuID: try line.sku.sku.requireID(), productID: try line.sku.product.requireID(),
                                         categoryIDs: ancestors[categoryID] ?? [categoryID], unitPrice: Money(fen: line.sku.sku.price),
                                         quantity: line.quantity, exclusiveActivity: line.sku.sku.id.flatMap { exclusive[$0] }))
            }
        }
        let service = CouponService(db: db, now: now)
        // The member's level: its discount on lines no activity priced, its free shipping on every order.
        let config = try await MembersConfig.load(on: db)
        let member = try await MemberCheckout(db: db, now: now).pricing(memberID, config: config)
        if onlyExclusive, couponIds?.isEmpty ?? true {
            return (try Pricing.quote(PricingInput(lines: lines, shippingFees: fees, now: now, member: member, locale: locale)), .none, .none)
        }
        let isNew = try await service.isNewMember(memberID)
        var input = PricingInput(lines: lines, shippingFees: fees, now: now, isNewMember: isNew, member: member, locale: locale)
        // Promotions come first in the stacking: limited-time price → member level → full reduction → coupons → points.
        let promotions = PromotionService(db: db, now: now)
        let (fullReductions, offers, gifts) = try await promotions.engineInputs()
        input.fullReductions = fullReductions
        input.limitedTimeOffers = offers
        input.gifts = gifts
        input.giftStock = try await GiftCheckout.stock(for: gifts, groups: groups, on: db)
        input.boughtUnderOffers = try await promotions.boughtUnder(offers, memberID: memberID, skus: Set(lines.map(\.skuID)))
        let usable = try await service.usable(memberID: memberID)
        let offered = try usable.map { try CouponService.memberCoupon($0.record, $0.template) }

        var chosen: [MemberCoupon] = []
        var reasons: [String: String] = [:]
        if !offered.isEmpty {
            let suggestion = try Pricing.suggestCoupons(input, from: offered)
            for (id, reason) in suggestion.notChosen { reasons[id] = reason.localizedMessage(locale) }
            if couponIds == nil { chosen = suggestion.chosen.compactMap { id in offered.first { $0.id == id } } }
        }
        if let couponIds, !couponIds.isEmpty {
            let records = try await MemberCouponRecord.query(on: db).filter(\.$memberID == memberID).filter(\.$id ~~ couponIds).all()
            for (index, id) in couponIds.enumerated() {
                guard let record = records.first(where: { $0.id == id }),
                      let template = try await CouponTemplate.find(record.templateID, on: db) else { throw CouponFailure.notYours(field: "couponIds[\(index)]") }
                guard template.status != CouponTemplateStatus.stopped.rawValue else { throw CouponStopped.stopped(field: "couponIds[\(index)]") }
                chosen.append(try CouponService.memberCoupon(record, template))
            }
        }
        input.coupons = chosen
        // Points come last: a share of what the goods still cost after coupons.
        let pointsService = PointsService(db: db, now: now)
        let balance = try await pointsService.usableBalance(memberID)
        let rule = try config.spendRule()
        input.pointsRule = rule
        input.pointsBalance = balance
        input.pointsRequested = requested ?? 0
        let quote = try Pricing.quote(input)
        let beforePoints = try quote.lines.reduce(Money.zero) { try $0.adding($1.paid) }.adding(quote.pointsValue)
        let points = PointsChoice(balance: balance, usable: rule.redemption(balance: balance, requested: nil, payable: beforePoints).points,
                                  used: quote.pointsUsed, value: quote.pointsValue)
        let chosenIDs = Set(chosen.map(\.id))
        let list = zip(usable, offered).map { pair, coupon in
            CouponChoice.Offered(id: pair.record.id ?? UUID(), name: pair.template.name, summary: coupon.coupon.summary(locale),
                                 payer: coupon.coupon.payer, validUntil: coupon.validUntil, chosen: chosenIDs.contains(coupon.id),
                                 reason: chosenIDs.contains(coupon.id) ? nil : reasons[coupon.id])
        }
        let ordered = quote.steps.compactMap { step -> UUID? in step.source.kind == .coupon ? UUID(uuidString: step.source.id) : nil }
        // Coupons chosen but saving nothing are still used (the buyer named them): keep them all.
        let used = ordered + chosen.compactMap { UUID(uuidString: $0.id) }.filter { !ordered.contains($0) }
        return (quote, CouponChoice(chosen: used, suggested: couponIds == nil, offered: list), points)
    }

    /// Each category with all its ancestors, for category scopes.
    private func categoryAncestors() async throws -> [UUID: Set<UUID>] {
        let parents = Category.parents(try await Category.query(on: db).all())
        var result: [UUID: Set<UUID>] = [:]
        for id in parents.keys {
            var chain: Set<UUID> = [id]
            var current = parents[id] ?? nil
            while let parent = current, chain.insert(parent).inserted { current = parents[parent] ?? nil }
            result[id] = chain
        }
        return result
    }
}
