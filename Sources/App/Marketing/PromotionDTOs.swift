import Foundation
import MallCore
import Vapor

/// A promotion as the operator or a shop defines it. Dates are ISO 8601 ("2025-06-18T00:00:00+08:00").
struct PromotionInput: Content {
    struct Tier: Content, Equatable {
        let thresholdFen: Int64
        /// 满减: the amount off.
        let amountOffFen: Int64?
        /// 满折: the share paid, 9 000 = 9折.
        let payRateBp: Int?
    }

    struct SkuPrice: Content, Equatable {
        let skuId: UUID
        let priceFen: Int64
    }

    let name: String
    /// full_reduction or limited_time.
    let kind: String
    let startsAt: String
    let endsAt: String
    /// full_reduction: ascending tiers.
    let tiers: [Tier]?
    /// limited_time: the SKUs and their activity prices.
    let skus: [SkuPrice]?
    /// limited_time: units per member and SKU at the activity price.
    let perMemberLimit: Int64?
    /// full_reduction: all (the default), merchant (the operator's, for one shop) or products.
    let scope: String?
    /// The shop of the merchant scope (operator only).
    let merchantId: UUID?
    let productIds: [UUID]?
    /// Default: on for every kind (`ActivityKind.paysCommissionByDefault`).
    let paysCommission: Bool?
    /// gift (shops only): the shop's SKU given, from its own stock, and how many per order.
    var giftSkuId: UUID? = nil
    var giftQuantity: Int64? = nil
}

/// A gift activity's gift as stored in `skus_json`.
struct PromotionGift: Codable, Sendable, Equatable {
    let skuId: UUID
    let quantity: Int64
}

struct PromotionDTO: Content {
    struct Tier: Content, Equatable {
        let thresholdFen: Int64
        let amountOffFen: Int64?
        let payRateBp: Int?
    }

    struct SkuPrice: Content, Equatable {
        let skuId: UUID
        let priceFen: Int64
    }

    let id: UUID
    let name: String
    let kind: String
    let kindLabel: String
    /// 「满199减20 / 满299减40」 or 「限时价」.
    let summary: String
    let startsAt: Date
    let endsAt: Date
    let tiers: [Tier]
    let skus: [SkuPrice]
    let perMemberLimit: Int64?
    let scope: String
    let merchantId: UUID?
    let productIds: [UUID]
    /// platform or merchant: who pays.
    let owner: String
    let status: String
    let statusLabel: String
    let paysCommission: Bool
    /// gift: the SKU given and how many per order.
    let giftSkuId: UUID?
    let giftQuantity: Int64?

    init(_ activity: PromotionActivity, _ locale: MallLocale) throws {
        id = try activity.requireID()
        name = activity.name
        kind = activity.kind
        kindLabel = PromotionKind(rawValue: activity.kind)?.activityKind.name(locale) ?? activity.kind
        let stored = PromotionService.tiers(activity)
        tiers = stored.map { Tier(thresholdFen: $0.thresholdFen, amountOffFen: $0.amountOffFen, payRateBp: $0.payRateBp) }
        skus = PromotionService.skuPrices(activity).map { SkuPrice(skuId: $0.skuId, priceFen: $0.priceFen) }
        summary = PromotionService.summary(activity, locale)
        startsAt = activity.startsAt
        endsAt = activity.endsAt
        perMemberLimit = activity.perMemberLimit
        scope = activity.scope
        merchantId = activity.scopeMerchantID
        productIds = PromotionService.productIDs(activity)
        owner = activity.owner
        status = activity.status
        statusLabel = CouponTemplateStatus(rawValue: activity.status)?.name(locale) ?? activity.status
        paysCommission = activity.paysCommission
        let gift = PromotionService.gift(activity)
        giftSkuId = gift?.skuId
        giftQuantity = gift?.quantity
    }
}
