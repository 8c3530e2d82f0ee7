import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// An item as the operator defines it. Dates are ISO 8601 ("2025-06-18T00:00:00+08:00").
struct PointsMallItemInput: Content {
    /// `coupon` (a coupon template of the platform's, issued to the member on redemption) or
    /// `goods` (a SKU of any shop, bought through checkout for the points plus `cashFen`).
    let kind: String
    let name: String
    let couponTemplateId: UUID?
    let pointsPrice: Int64
    let stock: Int64
    /// Redemptions one member may make of this item; none for no limit.
    let perMemberLimit: Int64?
    let startsAt: String?
    let endsAt: String?
    /// Goods: the SKU, on sale.
    var skuId: UUID? = nil
    /// Goods: the cash part in fen, 1 to the SKU's price (a payment of nothing cannot be completed).
    var cashFen: Int64? = nil
}

/// The points mall's refusals, as clients see them: each a 409 with the reason, nothing changed.
extension PointsMallRefusal: APIErrorConvertible {
    public var apiError: APIError {
        let text: LocalizedText = switch self {
        case .paused: .init("该商品已暂停兑换", "This item is paused")
        case .stopped: .init("该商品已下架", "This item has been withdrawn")
        case .notStarted: .init("兑换尚未开始", "Redemption has not started yet")
        case .ended: .init("兑换已结束", "Redemption has ended")
        case .memberLimit: .init("已达到每人限兑数量", "You have redeemed as many as one member may")
        case .soldOut: .init("已兑完", "Sold out")
        }
        return APIError(.conflict, "points_mall.\(rawValue)", text)
    }
}

/// 积分商城: the operator's items and members' redemptions. Every method that writes expects `db`
/// to be a write transaction.
struct PointsMallService {
    let db: any Database
    let now: Date

    static let maxName = 40
    static let listLimit = 200
    static let couponSource = "points_mall"

    // MARK: - the operator

    func create(_ input: PointsMallItemInput) async throws -> PointsMallItem {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写商品名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        let kind = PointsMallItemKind(rawValue: input.kind)
        if kind == nil { issue("kind", "兑换类型应为 coupon（优惠券）或 goods（商品）", "kind must be coupon or goods") }
        let formatter = ISO8601DateFormatter()
        var start: Date?
        var end: Date?
        if let text = input.startsAt {
            start = text.count <= 40 ? formatter.date(from: text) : nil
            if start == nil { issue("startsAt", "时间格式应为 ISO 8601，如 2025-06-18T00:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T00:00:00+08:00") }
        }
        if let text = input.endsAt {
            end = text.count <= 40 ? formatter.date(from: text) : nil
            if end == nil { issue("endsAt", "时间格式应为 ISO 8601，如 2025-06-30T23:59:59+08:00", "Use an ISO 8601 time such as 2025-06-30T23:59:59+08:00") }
        }
        for problem in PointsMall.definitionIssues(pointsPrice: input.pointsPrice, stock: input.stock, perMemberLimit: input.perMemberLimit,
                                                   startsAt: start, endsAt: end) {
            issue(problem.field, problem.zh, problem.en)
        }
        var template: CouponTemplate?
        var sku: PurchasableSku?
        switch kind {
        case .coupon:
            if let id = input.couponTemplateId { template = try await CouponTemplate.find(id, on: db) }
            if template == nil || template?.merchantID != nil || template?.status == CouponTemplateStatus.stopped.rawValue {
                issue("couponTemplateId", "请选择一张未停止的平台优惠券", "Choose a platform coupon that is not stopped")
            }
            if input.skuId != nil { issue("skuId", "兑换优惠券时不填商品规格", "A coupon item names no SKU") }
            if input.cashFen != nil { issue("cashFen", "兑换优惠券时不填现金部分", "A coupon item has no cash part") }
        case .goods:
            if input.couponTemplateId != nil { issue("couponTemplateId", "兑换商品时不填优惠券", "A goods item names no coupon") }
            if let id = input.skuId { sku = try await PurchasableSku.load([id], on: db)[id] }
            if let found = sku, found.isOnSale {
                if let cash = input.cashFen {
                    for problem in PointsMall.cashIssues(cashFen: cash, skuPriceFen: found.sku.price) { issue(problem.field, problem.zh, problem.en) }
                } else {
                    issue("cashFen", "请填写现金部分（单位：分，纯积分兑换填 0）", "Enter the cash part in fen (0 for points alone)")
                }
            } else {
                issue("skuId", "请选择一个在售的商品规格", "Choose a SKU that is on sale")
            }
        case nil:
            break
        }
        guard issues.isEmpty, template != nil || sku != nil else { throw APIError.validation(issues) }
        let item = PointsMallItem()
        item.id = UUID()
        item.kind = input.kind
        item.name = name
        item.couponTemplateID = try template?.requireID()
        item.skuID = try sku?.sku.requireID()
        item.cashPrice = sku == nil ? 0 : input.cashFen ?? 0
        item.pointsPrice = input.pointsPrice
        item.stock = input.stock
        item.available = input.stock
        item.redeemed = 0
        item.perMemberLimit = input.perMemberLimit
        item.startsAt = start
        item.endsAt = end
        item.status = PointsMallItemStatus.active.rawValue
        item.position = 0
        item.createdAt = now
        item.updatedAt = now
        try await item.create(on: db)
        return item
    }

    /// Pauses, resumes or stops an item (409 for a move the table does not allow, such as resuming a stopped item).
    func apply(_ action: PointsMallAction, to id: UUID) async throws -> PointsMallItem {
        guard let item = try await PointsMallItem.find(id, on: db) else { throw APIError.notFound }
        guard let next = item.itemStatus.after(action) else {
            throw APIError(.conflict, "points_mall.status", .init("该商品当前状态不能\(Self.actionName(action))", "This item cannot be \(action.rawValue)d now"))
        }
        let moved = try await sqlDatabase(db).raw("""
            UPDATE points_mall_items SET status = \(bind: next.rawValue), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND status = \(bind: item.status) RETURNING id
            """).all()
        guard !moved.isEmpty else {
            throw APIError(.conflict, "points_mall.status", .init("该商品的状态刚刚被改变，请刷新", "This item's status has just changed; reload"))
        }
        item.status = next.rawValue
        item.updatedAt = now
        return item
    }

    static func actionName(_ action: PointsMallAction) -> String {
        switch action {
        case .pause: "暂停"
        case .resume: "恢复"
        case .stop: "停止"
        }
    }

    // MARK: - redeeming

    /// Redeems one unit of the item for the member, once per `key`: the points are spent, a unit
    /// of the item's stock is taken and the coupon is issued, all in the caller's transaction.
    /// Any refusal throws, and the transaction rolls everything back.
    ///
    /// The member's row is locked first (PostgreSQL; SQLite's writes are one at a time already),
    /// so one member's redemptions run one after another and the per-member count read is exact;
    /// the unit is taken by a conditional decrement, so members racing for the last unit get one
    /// between them; the points go by `PointsService.spend`'s conditional update, so the balance
    /// never goes below zero. Returns the redemption and whether it was already made under `key`.
    func redeem(itemID: UUID, memberID: UUID, key: String) async throws -> (redemption: PointsMallRedemption, replayed: Bool) {
        try await lockRow(Member.schema, memberID, on: db)
        if let earlier = try await PointsMallRedemption.query(on: db).filter(\.$memberID == memberID).filter(\.$idempotencyKey == key).first() {
            guard earlier.itemID == itemID else {
                throw APIError(.conflict, "idempotency_key_reused", .init("该 Idempotency-Key 已用于另一次兑换", "This Idempotency-Key was used for another redemption"))
            }
            return (earlier, true)
        }
        guard let item = try await PointsMallItem.find(itemID, on: db) else { throw APIError.notFound }
        guard let templateID = item.couponTemplateID else {
            // Goods are bought through checkout, with an address and the shop's shipping.
            throw APIError(.conflict, "points_mall.goods_checkout", .init("兑换商品请通过结算页下单（pointsMallItemId）",
                                                                         "Goods are redeemed through checkout (pointsMallItemId)"))
        }
        let sql = try sqlDatabase(db)
        let mine = try await Self.heldBy(memberID, itemID: itemID, on: db)
        if let refusal = PointsMall.refusal(status: item.itemStatus, startsAt: item.startsAt, endsAt: item.endsAt, now: now, available: item.available,
                                            perMemberLimit: item.perMemberLimit, redeemedByMember: Int64(mine)) {
            throw refusal
        }
        let taken = try await sql.raw("""
            UPDATE points_mall_items SET available = available - 1, redeemed = redeemed + 1, updated_at = \(bind: now)
            WHERE id = \(bind: itemID) AND status = 'active' AND available >= 1 RETURNING available
            """).all()
        guard !taken.isEmpty else { throw PointsMallRefusal.soldOut }
        let redemptionID = UUID()
        try await PointsService(db: db, now: now).spend(memberID, points: item.pointsPrice, ref: Self.spendRef(redemptionID), reason: .mallRedeem)
        let coupon = try await CouponService(db: db, now: now).claim(templateID: templateID, memberID: memberID, source: Self.couponSource, listedOnly: false)
        let redemption = PointsMallRedemption()
        redemption.id = redemptionID
        redemption.itemID = itemID
        redemption.memberID = memberID
        redemption.points = item.pointsPrice
        redemption.memberCouponID = try coupon.requireID()
        redemption.idempotencyKey = key
        redemption.createdAt = now
        redemption.cashPrice = 0
        try await redemption.create(on: db)
        return (redemption, false)
    }

    /// Redemptions of the item the member holds: those not given back.
    static func heldBy(_ memberID: UUID, itemID: UUID, on db: any Database) async throws -> Int64 {
        Int64(try await PointsMallRedemption.query(on: db).filter(\.$itemID == itemID).filter(\.$memberID == memberID)
            .filter(\.$returnedAt == nil).count())
    }

    static func spendRef(_ redemptionID: UUID) -> String { "mall:\(redemptionID.uuidString.lowercased())" }
}

// MARK: - DTOs and reads

struct PointsMallItemDTO: Content {
    let id: UUID
    let kind: String
    let name: String
    let couponTemplateId: UUID?
    /// What the coupon gives, e.g. "满199减20"; for goods the product and its spec.
    let summary: String
    let pointsPrice: Int64
    /// Goods: the SKU, its product and picture, and its normal price.
    let skuId: UUID?
    let productId: UUID?
    let image: ImageRef?
    let skuPriceFen: Int64?
    /// The cash part paid with the points (0 for a coupon).
    let cashFen: Int64
    /// 「1000 积分 + ¥9.90」, 「500 积分」.
    let priceText: String
    let stock: Int64
    let available: Int64
    let redeemed: Int64
    let perMemberLimit: Int64?
    let startsAt: Date?
    let endsAt: Date?
    let status: String
    let statusLabel: String
}

struct PointsMallRedemptionDTO: Content {
    let id: UUID
    let itemId: UUID
    let name: String
    let points: Int64
    let memberCouponId: UUID?
    /// Goods: the order placed for it, and the cash part.
    let orderId: UUID?
    let cashFen: Int64
    /// When its points came back (the order cancelled, closed unpaid or refunded whole).
    let returnedAt: Date?
    let createdAt: Date
    /// The member's usable points after it.
    let pointsLeft: Int64
}

enum PointsMallQueries {
    static func statusLabel(_ status: PointsMallItemStatus, _ locale: MallLocale) -> String {
        switch status {
        case .active: LocalizedText("兑换中", "On")(locale)
        case .paused: LocalizedText("已暂停", "Paused")(locale)
        case .stopped: LocalizedText("已下架", "Stopped")(locale)
        }
    }

    static func priceText(points: Int64, cash: Money, _ locale: MallLocale) -> String {
        cash.fen > 0 ? LocalizedText("\(points) 积分 + \(cash.formatted(.zhHans))", "\(points) points + \(cash.formatted(.en))")(locale)
            : LocalizedText("\(points) 积分", "\(points) points")(locale)
    }

    static func dtos(_ items: [PointsMallItem], on db: any Database, locale: MallLocale, storage: any ImageStorage) async throws -> [PointsMallItemDTO] {
        let templateIDs = Array(Set(items.compactMap(\.couponTemplateID)))
        let templates = templateIDs.isEmpty ? [] : try await CouponTemplate.query(on: db).filter(\.$id ~~ templateIDs).all()
        let byID = Dictionary(templates.compactMap { template in template.id.map { ($0, template) } }, uniquingKeysWith: { first, _ in first })
        let skus = try await PurchasableSku.load(Array(Set(items.compactMap(\.skuID))), on: db)
        return try items.map { item in
            let sku = item.skuID.flatMap { skus[$0] }
            var summary = try item.couponTemplateID.flatMap { byID[$0] }.map { try CouponService.coupon($0).summary(locale) } ?? ""
            if let sku { summary = sku.sku.specText.isEmpty ? sku.product.title : "\(sku.product.title) \(sku.sku.specText)" }
            let image = sku.flatMap { ImageRef($0.sku.image.isEmpty ? $0.product.mainImage : $0.sku.image, storage) }
            return PointsMallItemDTO(id: try item.requireID(), kind: item.kind, name: item.name, couponTemplateId: item.couponTemplateID, summary: summary,
                                     pointsPrice: item.pointsPrice, skuId: item.skuID, productId: sku?.product.id, image: image,
                                     skuPriceFen: sku?.sku.price, cashFen: item.cashPrice,
                                     priceText: priceText(points: item.pointsPrice, cash: Money(fen: item.cashPrice), locale),
                                     stock: item.stock, available: item.available, redeemed: item.redeemed,
                                     perMemberLimit: item.perMemberLimit, startsAt: item.startsAt, endsAt: item.endsAt, status: item.status,
                                     statusLabel: statusLabel(item.itemStatus, locale))
        }
    }

    /// What members see: items being redeemed now or later, not yet ended.
    static func listed(on db: any Database, now: Date, locale: MallLocale, storage: any ImageStorage) async throws -> [PointsMallItemDTO] {
        let items = try await PointsMallItem.query(on: db).filter(\.$status == PointsMallItemStatus.active.rawValue)
            .sort(\.$position).sort(\.$createdAt, .descending).sort(\.$id).limit(PointsMallService.listLimit).all()
            .filter { item in item.endsAt.map { $0 > now } ?? true }
        return try await dtos(items, on: db, locale: locale, storage: storage)
    }

    static func all(on db: any Database, locale: MallLocale, storage: any ImageStorage) async throws -> [PointsMallItemDTO] {
        let items = try await PointsMallItem.query(on: db).sort(\.$createdAt, .descending).sort(\.$id).limit(PointsMallService.listLimit).all()
        return try await dtos(items, on: db, locale: locale, storage: storage)
    }

    static func redemptions(memberID: UUID, on db: any Database, now: Date) async throws -> [PointsMallRedemptionDTO] {
        let rows = try await PointsMallRedemption.query(on: db).filter(\.$memberID == memberID).sort(\.$createdAt, .descending).sort(\.$id)
            .limit(PointsMallService.listLimit).all()
        let itemIDs = Array(Set(rows.map(\.itemID)))
        let items = itemIDs.isEmpty ? [] : try await PointsMallItem.query(on: db).filter(\.$id ~~ itemIDs).all()
        let names = Dictionary(items.compactMap { item in item.id.map { ($0, item.name) } }, uniquingKeysWith: { first, _ in first })
        let left = try await PointsService(db: db, now: now).usableBalance(memberID)
        return try rows.map { row in
            try dto(row, name: names[row.itemID] ?? "", pointsLeft: left)
        }
    }

    static func dto(_ row: PointsMallRedemption, name: String, pointsLeft: Int64) throws -> PointsMallRedemptionDTO {
        PointsMallRedemptionDTO(id: try row.requireID(), itemId: row.itemID, name: name, points: row.points, memberCouponId: row.memberCouponID,
                                orderId: row.orderID, cashFen: row.cashPrice, returnedAt: row.returnedAt, createdAt: row.createdAt, pointsLeft: pointsLeft)
    }
}
