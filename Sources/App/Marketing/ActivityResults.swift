import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// What a promotion or a coupon brought: paid orders it covered, what their covered lines sold
/// (after refunds) and what its savings cost (after reversals). Unpaid, cancelled and closed
/// orders do not count.
struct ActivityResultsDTO: Content {
    let activityId: UUID
    let kind: String
    let orders: Int64
    let sales: MoneyDTO
    let discountCost: MoneyDTO
    /// Coupons: claimed and used.
    let issued: Int64?
    let used: Int64?
    /// 满赠: units given.
    let giftsGiven: Int64?
}

enum ActivityResults {
    static let unpaidStates = "('pending_payment', 'cancelled', 'closed')"
    /// A results page reads at most this many used coupons of one template.
    static let couponLimit = 20_000

    static func promotion(_ activity: PromotionActivity, on db: any Database, locale: MallLocale) async throws -> ActivityResultsDTO {
        let id = try activity.requireID()
        let sql = try sqlDatabase(db)
        if activity.kind == PromotionKind.gift.rawValue {
            let given = try await sql.raw("""
                SELECT CAST(COUNT(DISTINCT l.order_id) AS BIGINT) AS orders, CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) AS units
                FROM order_lines l JOIN orders o ON o.id = l.order_id
                WHERE l.gift_activity_id = \(bind: id) AND o.state NOT IN \(unsafeRaw: unpaidStates)
                """).first()
            let sales = try await sql.raw("""
                SELECT CAST(COALESCE(SUM(o.goods_amount - o.discount_amount), 0) AS BIGINT) AS sales FROM orders o
                WHERE o.state NOT IN \(unsafeRaw: unpaidStates) AND o.id IN (SELECT order_id FROM order_lines WHERE gift_activity_id = \(bind: id))
                """).first()
            return ActivityResultsDTO(activityId: id, kind: activity.kind, orders: try given?.decode(column: "orders", as: Int64.self) ?? 0,
                                      sales: MoneyDTO(Money(fen: try sales?.decode(column: "sales", as: Int64.self) ?? 0), locale),
                                      discountCost: MoneyDTO(.zero, locale), issued: nil, used: nil,
                                      giftsGiven: try given?.decode(column: "units", as: Int64.self) ?? 0)
        }
        // A limited-time activity's sources are "<activity>/<sku>".
        let key = id.uuidString.lowercased()
        let row = try await sql.raw("""
            SELECT CAST(COUNT(DISTINCT d.order_id) AS BIGINT) AS orders, CAST(COALESCE(SUM(d.amount - d.reversed_amount), 0) AS BIGINT) AS cost,
                   CAST(COALESCE(SUM(l.paid_amount - l.refunded_amount), 0) AS BIGINT) AS sales
            FROM order_line_discounts d JOIN orders o ON o.id = d.order_id JOIN order_lines l ON l.id = d.order_line_id
            WHERE d.source_kind = \(bind: PromotionKind(rawValue: activity.kind)?.activityKind.rawValue ?? activity.kind)
              AND (d.source_id = \(bind: key) OR d.source_id LIKE \(bind: key + "/%")) AND o.state NOT IN \(unsafeRaw: unpaidStates)
            """).first()
        return ActivityResultsDTO(activityId: id, kind: activity.kind, orders: try row?.decode(column: "orders", as: Int64.self) ?? 0,
                                  sales: MoneyDTO(Money(fen: try row?.decode(column: "sales", as: Int64.self) ?? 0), locale),
                                  discountCost: MoneyDTO(Money(fen: try row?.decode(column: "cost", as: Int64.self) ?? 0), locale),
                                  issued: nil, used: nil, giftsGiven: nil)
    }

    /// A coupon's rows carry the member coupon's id: the template's used coupons are read first,
    /// then the savings of their checkouts' orders that name them.
    static func coupon(_ template: CouponTemplate, on db: any Database, locale: MallLocale) async throws -> ActivityResultsDTO {
        let id = try template.requireID()
        let used = try await MemberCouponRecord.query(on: db).filter(\.$templateID == id).filter(\.$usedPaymentID != nil)
            .limit(Self.couponLimit).all()
        let coupons = Set(used.compactMap { $0.id?.uuidString.lowercased() })
        let payments = Array(Set(used.compactMap(\.usedPaymentID)))
        var orders = Set<UUID>()
        var (sales, cost) = (Int64(0), Int64(0))
        let sql = try sqlDatabase(db)
        var start = 0
        while start < payments.count {
            let chunk = Array(payments[start..<min(start + 500, payments.count)])
            start += 500
            let rows = try await sql.raw("""
                SELECT d.order_id, d.source_id, d.amount - d.reversed_amount AS cost, l.paid_amount - l.refunded_amount AS sales
                FROM order_line_discounts d JOIN orders o ON o.id = d.order_id JOIN order_lines l ON l.id = d.order_line_id
                WHERE d.source_kind = 'coupon' AND o.state NOT IN \(unsafeRaw: unpaidStates)
                  AND o.payment_id IN (\(binds: chunk))
                """).all()
            for row in rows where coupons.contains((try? row.decode(column: "source_id", as: String.self))?.lowercased() ?? "") {
                orders.insert(try row.decode(column: "order_id", as: UUID.self))
                cost += try row.decode(column: "cost", as: Int64.self)
                sales += try row.decode(column: "sales", as: Int64.self)
            }
            // A shipping coupon saves no line: what it took off each order's shipping, and that order's goods as its sales.
            let shipping = try await sql.raw("""
                SELECT s.order_id, s.source_id, s.amount,
                  CAST((SELECT COALESCE(SUM(l.paid_amount - l.refunded_amount), 0) FROM order_lines l WHERE l.order_id = s.order_id) AS BIGINT) AS sales
                FROM order_shipping_savings s JOIN orders o ON o.id = s.order_id
                WHERE s.source_kind = 'coupon' AND o.state NOT IN \(unsafeRaw: unpaidStates) AND o.payment_id IN (\(binds: chunk))
                """).all()
            for row in shipping where coupons.contains((try? row.decode(column: "source_id", as: String.self))?.lowercased() ?? "") {
                let order = try row.decode(column: "order_id", as: UUID.self)
                cost += try row.decode(column: "amount", as: Int64.self)
                if orders.insert(order).inserted { sales += try row.decode(column: "sales", as: Int64.self) }
            }
        }
        return ActivityResultsDTO(activityId: id, kind: "coupon", orders: Int64(orders.count), sales: MoneyDTO(Money(fen: sales), locale),
                                  discountCost: MoneyDTO(Money(fen: cost), locale), issued: template.issued, used: Int64(used.count), giftsGiven: nil)
    }
}
