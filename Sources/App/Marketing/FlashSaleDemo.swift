import Fluent
import Foundation
import MallCore

/// The demo mall's flash sale: the onboarded shop's first two SKUs at half price, in a session
/// running now and one after it, one unit per member.
enum FlashSaleDemo {
    static func seed(on db: any Database, now: Date, shop: UUID) async throws {
        let skus = try await Sku.query(on: db).filter(\.$merchantID == shop).filter(\.$stock >= 40).filter(\.$price >= 200)
            .sort(\.$code).limit(2).all()
        guard !skus.isEmpty else { return }
        let formatter = ISO8601DateFormatter()
        func items(_ stock: Int64) -> [FlashSaleInput.Item] {
            skus.compactMap { sku in sku.id.map { FlashSaleInput.Item(skuId: $0, priceFen: sku.price / 2, stock: stock, perMemberLimit: 1) } }
        }
        let first = now.addingTimeInterval(-300)
        let second = now.addingTimeInterval(3 * 3_600)
        _ = try await FlashSaleService(db: db, now: now).create(FlashSaleInput(
            name: "整点秒杀", sessions: [
                .init(startsAt: formatter.string(from: first), endsAt: formatter.string(from: second), items: items(20)),
                .init(startsAt: formatter.string(from: second), endsAt: formatter.string(from: second.addingTimeInterval(2 * 3_600)), items: items(10)),
            ], paysCommission: nil, unpaidMinutes: nil), merchantID: shop)
    }
}
