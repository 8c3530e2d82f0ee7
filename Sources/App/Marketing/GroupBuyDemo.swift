import Fluent
import Foundation
import MallCore

/// The demo mall's group buy (a 2-person group of the cheapest SKU from ¥10 at about 70 % of its
/// price in whole yuan, 24 h to fill) and bargain (the next SKU cut to about half its price in at
/// most 5 cuts), for 90 days.
enum GroupBuyDemo {
    static func seed(on db: any Database, now: Date) async throws {
        let formatter = ISO8601DateFormatter()
        let (start, end) = (formatter.string(from: now), formatter.string(from: now.addingTimeInterval(90 * 86_400)))
        let skus = try await Sku.query(on: db).filter(\.$price >= 1_000).sort(\.$price).sort(\.$id).limit(2).all()
        if let sku = skus.first, let id = sku.id {
            _ = try await GroupBuyService(db: db, now: now).create(GroupBuyInput(
                name: "两人拼团", skuId: id, priceFen: max(1, sku.price * 7 / 10 / 100 * 100), size: 2, durationMinutes: 1_440, virtualCompletion: false,
                startsAt: start, endsAt: end, paysCommission: nil), merchantID: nil)
        }
        if let sku = skus.last, let id = sku.id {
            _ = try await BargainService(db: db, now: now).create(BargainInput(
                name: "好友帮砍", skuId: id, floorPriceFen: sku.price / 2 / 100 * 100, maxCuts: 5, durationMinutes: 1_440, newMemberCountsDouble: true,
                dailyCutLimit: 3, startsAt: start, endsAt: end, paysCommission: nil), merchantID: nil)
        }
    }
}
