import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// The member level at checkout (会员折扣, 会员包邮): what the level gives the pricing, and the
/// shipping it waived, which the platform pays the shop like any platform saving.
///
/// The level's discount is recorded per order line under source kind `member` (payer platform),
/// so `CouponService.platformShare` pays it to the shop at payment and `reverseDiscounts` takes it
/// back in proportion on refunds. The waived shipping has no line: it is kept on the order
/// (`orders.shipping_subsidy`), paid to the shop with the platform's share, and taken back when
/// the whole order is refunded before it ships (when the buyer would have got the shipping back).
struct MemberCheckout {
    let db: any Database
    let now: Date

    private var sql: any SQLDatabase { get throws { try sqlDatabase(db) } }

    /// The member's level as pricing takes it, or nil when the level changes nothing.
    func pricing(_ memberID: UUID, config: MembersConfig) async throws -> MemberPricing? {
        let (_, level) = try await PointsService(db: db, now: now).level(memberID, config: config)
        let pricing = MemberPricing(level)
        return pricing.isEffective ? pricing : nil
    }

    /// Records the shipping the level waived on an order just placed.
    func recordWaivedShipping(orderID: UUID, amount: Money) async throws {
        guard amount.fen > 0 else { return }
        try await sql.raw("UPDATE orders SET shipping_subsidy = \(bind: amount.fen) WHERE id = \(bind: orderID)").run()
    }

    /// The waived shipping the platform owes the shop and has not taken back.
    func shippingSubsidy(orderID: UUID) async throws -> Money {
        let row = try await sql.raw("""
            SELECT CAST(shipping_subsidy - shipping_subsidy_returned AS BIGINT) AS subsidy FROM orders WHERE id = \(bind: orderID)
            """).first()
        return Money(fen: max(try row?.decode(column: "subsidy", as: Int64.self) ?? 0, 0))
    }

    /// After a refund: when it leaves an order that never shipped refunded in full, the waived
    /// shipping goes back to the platform, once (a conditional update). Returns what went back.
    func takeBackShipping(_ order: Order) async throws -> Money {
        guard order.orderState == .paid, try await OrderService(db: db, now: now).whollyRefunded(order) else { return .zero }
        let rows = try await sql.raw("""
            UPDATE orders SET shipping_subsidy_returned = shipping_subsidy
            WHERE id = \(bind: order.requireID()) AND shipping_subsidy > shipping_subsidy_returned
            RETURNING CAST(shipping_subsidy AS BIGINT) AS subsidy
            """).all()
        // Only a fresh subsidy is ever returned whole: nothing else moves `shipping_subsidy_returned`.
        return Money(fen: try rows.first?.decode(column: "subsidy", as: Int64.self) ?? 0)
    }
}

/// The shipping a member level waived on each order, and how much of it went back.
struct AddOrderShippingSubsidy: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Order.schema).field("shipping_subsidy", .int64, .required, .sql(.default(0))).update()
        try await db.schema(Order.schema).field("shipping_subsidy_returned", .int64, .required, .sql(.default(0))).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Order.schema).deleteField("shipping_subsidy_returned").update()
        try await db.schema(Order.schema).deleteField("shipping_subsidy").update()
    }
}

extension MemberCheckout {
    /// 「会员价 ¥97.02（白银会员 98折）」 on a product page, for a signed-in member whose level has a
    /// discount: the lowest price at the level's rate, as checkout would price one unit.
    static func priceBadge(_ req: Request, lowest: Money) async throws -> [PromotionBadge] {
        guard let member = ShoppingPageController.member(req), let memberID = member.id else { return [] }
        let config = try await MembersConfig.load(on: req.db)
        guard let pricing = try await MemberCheckout(db: req.db, now: req.now).pricing(memberID, config: config),
              pricing.discount.value < 10_000, lowest.fen > 0 else { return [] }
        let price = Money(fen: lowest.fen - pricing.lineDiscount(lowest).fen)
        return [PromotionBadge(kind: "member", label: LocalizedText("会员价", "Member price")(req.locale),
                               text: "\(price.formatted(req.locale))（\(pricing.levelName) \(pricing.zhe)折）", until: "")]
    }
}
