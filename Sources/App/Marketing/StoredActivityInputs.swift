import Foundation
import MallCore
import Vapor

/// A shop's activity is the shop's to change; the operator may stop it (the console's stop) but
/// not rewrite what the shop runs and pays for.
enum ActivityOwnership {
    static let shopOwned = APIError(.conflict, "activity.shop_owned", .init("这是店铺的活动，由店铺修改；平台可以停止它",
                                                                          "This is a shop's activity: the shop changes it and the operator can stop it"))

    /// The operator (no shop) changing a shop's activity is refused.
    static func requireEditable(activityShop: UUID?, by merchantID: UUID?) throws {
        guard activityShop == merchantID else { throw shopOwned }
    }
}

/// Each activity as the body that would create it again: what an edit starts from, so that a
/// change of the name or the end time sends the rest unchanged.
enum StoredActivityInput {
    static func iso(_ date: Date) -> String { MarketingConsolePageController.isoChina(date) }

    static func promotion(_ activity: PromotionActivity, name: String? = nil, endsAt: String? = nil) -> PromotionInput {
        let kind = PromotionKind(rawValue: activity.kind)
        // A shop's whole-shop activity is stored as the merchant scope; its body says "all".
        let shopWide = activity.scope == "merchant" && activity.merchantID != nil
        var input = PromotionInput(
            name: name ?? activity.name, kind: activity.kind, startsAt: iso(activity.startsAt), endsAt: endsAt ?? iso(activity.endsAt),
            tiers: kind == .limitedTime ? nil : PromotionService.tiers(activity),
            skus: kind == .limitedTime ? PromotionService.skuPrices(activity) : nil,
            perMemberLimit: kind == .limitedTime ? activity.perMemberLimit : nil,
            scope: kind == .limitedTime ? nil : (shopWide ? "all" : activity.scope),
            merchantId: activity.scope == "merchant" && activity.merchantID == nil ? activity.scopeMerchantID : nil,
            productIds: activity.scope == "products" && kind != .limitedTime ? PromotionService.productIDs(activity) : nil,
            paysCommission: activity.paysCommission)
        if let gift = PromotionService.gift(activity) {
            input.giftSkuId = gift.skuId
            input.giftQuantity = gift.quantity
        }
        return input
    }

    static func groupBuy(_ activity: GroupBuyActivity, name: String? = nil, endsAt: String? = nil) -> GroupBuyInput {
        GroupBuyInput(name: name ?? activity.name, skuId: activity.skuID, priceFen: activity.price, size: activity.size,
                      durationMinutes: activity.durationSeconds / 60, virtualCompletion: activity.virtualCompletion,
                      startsAt: iso(activity.startsAt), endsAt: endsAt ?? iso(activity.endsAt), paysCommission: activity.paysCommission)
    }

    static func bargain(_ activity: BargainActivity, name: String? = nil, endsAt: String? = nil) -> BargainInput {
        BargainInput(name: name ?? activity.name, skuId: activity.skuID, floorPriceFen: activity.floorPrice, maxCuts: activity.maxCuts,
                     durationMinutes: activity.durationSeconds / 60, newMemberCountsDouble: activity.newMemberDouble,
                     dailyCutLimit: activity.dailyCutLimit, startsAt: iso(activity.startsAt), endsAt: endsAt ?? iso(activity.endsAt),
                     paysCommission: activity.paysCommission)
    }

    /// Sessions in the order they start, items in their order; `stock` replaces an item's stock by its id.
    static func flashSale(_ activity: FlashSaleActivity, sessions: [FlashSaleSessionRecord], items: [FlashSaleItem], name: String? = nil,
                          stock: [UUID: Int64] = [:]) -> FlashSaleInput {
        let ordered = sessions.sorted { ($0.startsAt, $0.id?.uuidString ?? "") < ($1.startsAt, $1.id?.uuidString ?? "") }
        return FlashSaleInput(
            name: name ?? activity.name,
            sessions: ordered.map { session in
                FlashSaleInput.Session(startsAt: iso(session.startsAt), endsAt: iso(session.endsAt), items: items
                    .filter { $0.sessionID == session.id }.sorted { $0.position < $1.position }
                    .map { item in
                        FlashSaleInput.Item(skuId: item.skuID, priceFen: item.price, stock: item.id.flatMap { stock[$0] } ?? item.activityStock,
                                            perMemberLimit: item.perMemberLimit)
                    })
            },
            paysCommission: activity.paysCommission, unpaidMinutes: activity.unpaidMinutes)
    }
}
