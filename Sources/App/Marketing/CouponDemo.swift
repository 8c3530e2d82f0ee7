import Fluent
import Foundation
import MallCore

/// The demo mall's coupons, both in the coupon centre: the platform's 满199减20 and the
/// onboarded shop's 9折 (at most ¥50 off); and the platform's 无门槛5元, not in the centre but in
/// the points mall for 500 points (at most 2 per member). Beside it in the points mall, one of the
/// shop's SKUs for 1 000 points + ¥9.90 (one per member).
enum CouponDemo {
    static func seed(on db: any Database, now: Date, shop: UUID) async throws {
        let service = CouponService(db: db, now: now)
        _ = try await service.create(CouponTemplateInput(
            name: "平台满199减20", kind: CouponKind.fullReduction.rawValue, thresholdFen: 19_900, amountOffFen: 2_000, payRateBp: nil, maximumOffFen: nil,
            scope: "all", scopeIds: nil, startsAt: nil, endsAt: nil, validDays: 30, totalCount: 10_000, perMember: 1, perMemberPerDay: nil, perDay: nil,
            paysCommission: true, claimable: true), merchantID: nil)
        _ = try await service.create(CouponTemplateInput(
            name: "暖暖母婴 9折券", kind: CouponKind.discount.rawValue, thresholdFen: 0, amountOffFen: nil, payRateBp: 9_000, maximumOffFen: 5_000,
            scope: "all", scopeIds: nil, startsAt: nil, endsAt: nil, validDays: 30, totalCount: 5_000, perMember: 1, perMemberPerDay: nil, perDay: nil,
            paysCommission: true, claimable: true), merchantID: shop)
        let forPoints = try await service.create(CouponTemplateInput(
            name: "积分兑换 无门槛5元", kind: CouponKind.noThreshold.rawValue, thresholdFen: 0, amountOffFen: 500, payRateBp: nil, maximumOffFen: nil,
            scope: "all", scopeIds: nil, startsAt: nil, endsAt: nil, validDays: 30, totalCount: nil, perMember: nil, perMemberPerDay: nil, perDay: nil,
            paysCommission: true, claimable: false), merchantID: nil)
        _ = try await PointsMallService(db: db, now: now).create(PointsMallItemInput(
            kind: "coupon", name: "无门槛5元券", couponTemplateId: try forPoints.requireID(), pointsPrice: 500, stock: 1_000, perMemberLimit: 2,
            startsAt: nil, endsAt: nil))
        // The last goods SKU by code of the shop's well-stocked ones over ¥9.90 (the flash sale takes the first two): one that ships.
        let candidates = try await Sku.query(on: db).filter(\.$merchantID == shop).filter(\.$stock >= 20).filter(\.$price > 990)
            .sort(\.$code, .descending).limit(50).with(\.$product).all()
        if let sku = candidates.first(where: { $0.product.kind != Product.Kind.service.rawValue && $0.product.onShelf }), let skuID = sku.id {
            let product = sku.product
            _ = try await PointsMallService(db: db, now: now).create(PointsMallItemInput(
                kind: PointsMallItemKind.goods.rawValue, name: String(("积分换购 " + product.title).prefix(PointsMallService.maxName)), couponTemplateId: nil,
                pointsPrice: 1_000, stock: 50, perMemberLimit: 1, startsAt: nil, endsAt: nil, skuId: skuID, cashFen: 990))
        }
    }
}
