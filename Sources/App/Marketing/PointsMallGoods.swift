import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// What a checkout takes from a goods item of the points mall (积分 + 现金): read and judged
/// before the order is written (the cheap refusals), taken in the order's transaction (`take`).
/// The line is priced at the cash part as an exclusive activity of the platform's: the rest of
/// the SKU's price is the platform's saving on the line (kind `points_mall`), paid to the shop
/// through `marketing_cost` like a platform flash sale, and the line pays no commission.
struct PointsMallPurchase: Sendable {
    let itemID: UUID
    let skuID: UUID
    let name: String
    let points: Int64
    let cash: Money
    let exclusive: ExclusiveActivity
}

extension PointsMallService {
    /// The item a checkout asks for, or the refusal: no such goods item (422); paused, stopped,
    /// not started, ended, over the member's limit, sold out, too few points (409).
    func purchase(_ itemID: UUID, memberID: UUID) async throws -> PointsMallPurchase {
        guard let item = try await PointsMallItem.find(itemID, on: db), item.kind == PointsMallItemKind.goods.rawValue, let skuID = item.skuID else {
            throw APIError.validation([.init("pointsMallItemId", .init("积分商城没有这件兑换商品", "No such goods item in the points mall"))])
        }
        try await judge(item, memberID: memberID)
        let balance = try await PointsService(db: db, now: now).usableBalance(memberID)
        guard balance >= item.pointsPrice else { throw MarketingError.insufficientPoints(balance: balance, requested: item.pointsPrice) }
        let cash = Money(fen: item.cashPrice)
        let exclusive = ExclusiveActivity(kind: .pointsMall, id: itemID.uuidString.lowercased(), paysCommission: false, price: cash,
                                          payer: .platform, name: item.name)
        return PointsMallPurchase(itemID: itemID, skuID: skuID, name: item.name, points: item.pointsPrice, cash: cash, exclusive: exclusive)
    }

    private func judge(_ item: PointsMallItem, memberID: UUID) async throws {
        let mine = try await Self.heldBy(memberID, itemID: item.requireID(), on: db)
        if let refusal = PointsMall.refusal(status: item.itemStatus, startsAt: item.startsAt, endsAt: item.endsAt, now: now, available: item.available,
                                            perMemberLimit: item.perMemberLimit, redeemedByMember: mine) {
            throw refusal
        }
    }

    /// In the order's transaction, with the member's row already locked (so the member's count is
    /// exact): the item's unit by one conditional decrement, the redemption row, the points by
    /// `PointsService.spend`'s conditional update. Any refusal rolls the whole order back.
    func take(_ purchase: PointsMallPurchase, memberID: UUID, orderID: UUID) async throws {
        guard let item = try await PointsMallItem.find(purchase.itemID, on: db) else { throw APIError.notFound }
        try await judge(item, memberID: memberID)
        let taken = try await sqlDatabase(db).raw("""
            UPDATE points_mall_items SET available = available - 1, redeemed = redeemed + 1, updated_at = \(bind: now)
            WHERE id = \(bind: purchase.itemID) AND status = 'active' AND available >= 1 RETURNING available
            """).all()
        guard !taken.isEmpty else { throw PointsMallRefusal.soldOut }
        let redemption = PointsMallRedemption()
        redemption.id = UUID()
        redemption.itemID = purchase.itemID
        redemption.memberID = memberID
        redemption.points = item.pointsPrice
        redemption.memberCouponID = nil
        redemption.idempotencyKey = "order:" + orderID.uuidString.lowercased()
        redemption.createdAt = now
        redemption.orderID = orderID
        redemption.cashPrice = item.cashPrice
        try await redemption.create(on: db)
        try await PointsService(db: db, now: now).spend(memberID, points: item.pointsPrice, ref: Self.spendRef(try redemption.requireID()),
                                                        reason: .mallRedeem)
    }

    /// The order's redemption given back, exactly once: its points (「积分兑换退回」, into the lots
    /// they came from; points of a lot that expired meanwhile stay expired) and, when the order
    /// closed unpaid or was cancelled, the item's unit. A refund returns no unit, as it returns no
    /// stock. Returns the points given back.
    @discardableResult
    func giveBack(orderID: UUID, reason: String) async throws -> Int64 {
        let sql = try sqlDatabase(db)
        var given: Int64 = 0
        for row in try await PointsMallRedemption.query(on: db).filter(\.$orderID == orderID).filter(\.$returnedAt == nil).all() {
            let id = try row.requireID()
            let won = try await sql.raw("""
                UPDATE points_mall_redemptions SET returned_at = \(bind: now), returned_reason = \(bind: reason)
                WHERE id = \(bind: id) AND returned_at IS NULL RETURNING id
                """).all()
            guard !won.isEmpty else { continue }
            if reason != "refund" {
                try await sql.raw("""
                    UPDATE points_mall_items SET available = available + 1, redeemed = redeemed - 1, updated_at = \(bind: now)
                    WHERE id = \(bind: row.itemID) AND redeemed >= 1
                    """).run()
            }
            let spendRef = Self.spendRef(id)
            given += try await PointsService(db: db, now: now).giveBack(spendRef: spendRef, points: row.points, returnRef: spendRef + ":return:" + reason,
                                                                         reason: .mallReturn)
        }
        return given
    }

    /// A refund of the line succeeded: once the redeemed line is refunded whole (every unit and
    /// fen, before or after shipping), the points come back (`PointsMall.refundReturnsPoints`).
    func refunded(orderLineID: UUID) async throws {
        guard let line = try await OrderLine.find(orderLineID, on: db),
              try await PointsMallRedemption.query(on: db).filter(\.$orderID == line.$order.id).filter(\.$returnedAt == nil).first() != nil,
              PointsMall.refundReturnsPoints(quantity: line.quantity, refundedUnits: line.refundedQuantity, paid: Money(fen: line.paidAmount),
                                             refunded: Money(fen: line.refundedAmount)) else { return }
        try await giveBack(orderID: line.$order.id, reason: "refund")
    }
}

/// The points-mall part of a checkout: 「积分兑换 1000 积分 + ¥9.90」.
struct CheckoutPointsMallDTO: Content {
    let itemId: UUID
    let name: String
    let points: Int64
    /// What the line costs in cash (the cash part, or the SKU's price if lower now).
    let cash: MoneyDTO
    let label: String

    init(_ purchase: PointsMallPurchase, plan: CheckoutPlan, _ locale: MallLocale) {
        itemId = purchase.itemID
        name = purchase.name
        points = purchase.points
        let paid = plan.quote.orders.flatMap(\.lines).first { $0.skuID == purchase.skuID }?.paid ?? purchase.cash
        cash = MoneyDTO(paid, locale)
        label = LocalizedText("积分兑换 ", "Points mall: ")(locale) + PointsMallQueries.priceText(points: purchase.points, cash: paid, locale)
    }
}
