import Fluent
import Foundation
import MallCore
import Vapor

/// A 满赠 gift at one checkout: which order carries it, the SKU and the engine's verdict.
struct CheckoutGift: Sendable {
    let activityID: UUID
    let activityName: String
    /// The checkout group (shop and delivery) whose order carries the gift.
    let groupKey: UUID
    let sku: Sku
    let product: Product
    let quantity: Int64
    let status: GiftOutcome.Status

    var isAwarded: Bool { if case .awarded = status { true } else { false } }

    /// 「赠 润唇膏 ×1」, 「还差 ¥12.00 送 润唇膏」 or 「赠品 润唇膏 已送完」.
    func text(_ locale: MallLocale) -> String {
        let title = product.title
        return switch status {
        case .awarded: LocalizedText("赠 \(title) ×\(quantity)", "Gift: \(title) ×\(quantity)")(locale)
        case .belowThreshold(let missing):
            LocalizedText("还差 \(missing.formatted(.zhHans)) 送 \(title)", "Add \(missing.formatted(.en)) more for a free \(title)")(locale)
        case .outOfStock: LocalizedText("赠品 \(title) 已送完", "The gift \(title) has run out")(locale)
        }
    }
}

/// Gifts at checkout. A shop's gift goes with that shop's delivered order, or its pickup order when
/// it has no delivered one, and comes out of the stock that order ships from.
enum GiftCheckout {
    static func carrier(merchantID: UUID, groups: [CheckoutPlan.Group]) -> CheckoutPlan.Group? {
        groups.first { $0.merchant.id == merchantID && $0.fulfilment == .express } ?? groups.first { $0.merchant.id == merchantID }
    }

    /// What each gift SKU can still give: the carrying order's stock less the units the cart buys of it there.
    static func stock(for gifts: [GiftActivity], groups: [CheckoutPlan.Group], on db: any Database) async throws -> [UUID: Int64] {
        var result: [UUID: Int64] = [:]
        for gift in gifts {
            guard result[gift.giftSKU] == nil, case .merchant(let merchantID) = gift.payer,
                  let group = carrier(merchantID: merchantID, groups: groups) else { continue }
            let held: Int64
            if group.fulfilment == .pickup, let storeID = group.store?.id {
                held = try await StoreStock.query(on: db).filter(\.$store.$id == storeID).filter(\.$sku.$id == gift.giftSKU).first()?.stock ?? 0
            } else {
                held = try await Sku.find(gift.giftSKU, on: db)?.stock ?? 0
            }
            let bought = group.lines.filter { $0.sku.sku.id == gift.giftSKU }.reduce(Int64(0)) { $0 + $1.quantity }
            result[gift.giftSKU] = max(0, held - bought)
        }
        return result
    }

    /// The engine's outcomes with what the pages and the order need.
    static func resolve(_ outcomes: [GiftOutcome], groups: [CheckoutPlan.Group], on db: any Database) async throws -> [CheckoutGift] {
        var gifts: [CheckoutGift] = []
        for outcome in outcomes {
            guard let activityID = UUID(uuidString: outcome.activityID),
                  let activity = try await PromotionActivity.find(activityID, on: db), let merchantID = activity.merchantID,
                  let group = carrier(merchantID: merchantID, groups: groups),
                  let sku = try await Sku.find(outcome.giftSKU, on: db),
                  let product = try await Product.find(sku.$product.id, on: db) else { continue }
            gifts.append(CheckoutGift(activityID: activityID, activityName: activity.name, groupKey: group.key, sku: sku, product: product,
                                      quantity: outcome.quantity, status: outcome.status))
        }
        return gifts
    }
}
