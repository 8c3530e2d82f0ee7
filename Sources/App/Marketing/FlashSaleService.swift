import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// What a checkout takes from a flash sale item: decided by `FlashSale.purchaseRefusal` before the
/// order is written, taken by conditional writes in the order's transaction (`take`).
struct FlashPurchase: Sendable {
    let itemID: UUID
    let activityID: UUID
    let skuID: UUID
    let quantity: Int64
    let price: Money
    let perMemberLimit: Int64?
    let unpaidMinutes: Int
    let exclusive: ExclusiveActivity
    /// Set when a queued ticket already holds the unit (`FlashSaleQueue`): the order only records it.
    var ticketID: UUID? = nil
}

/// Creating, pausing and stopping flash sales; a buyer's purchase and its return; the activity's
/// stock carved out of the SKU and released back to it. See `FlashSaleActivity` for the stock rule.
struct FlashSaleService {
    let db: any Database
    let now: Date

    static let maxName = 40
    static let maxSessions = 10
    static let maxItemsPerSession = 50
    static let maxStock: Int64 = 1_000_000
    static let maxLimit: Int64 = 10_000
    static let maxUnpaidMinutes = 1_440
    static let maxSpan: TimeInterval = 3_650 * 86_400
    static let listLimit = 200

    // MARK: - creating and changing

    /// A checked activity, not yet written: its sessions with their items, the SKUs they name and
    /// the units each SKU gives up.
    struct Plan {
        let name: String
        let unpaidMinutes: Int
        let paysCommission: Bool
        let sessions: [(window: ActivityWindow, items: [FlashSaleInput.Item])]
        let skus: [UUID: Sku]
        let wanted: [UUID: Int64]
    }

    /// Checks every field, lets MallCore judge each session, then carves each item's stock out of
    /// its SKU; writes nothing on a refusal (the caller's transaction rolls back a late one). A
    /// shop's activity covers only its own SKUs and is paid by it.
    func create(_ input: FlashSaleInput, merchantID: UUID?) async throws -> FlashSaleActivity {
        let plan = try await checked(input, merchantID: merchantID)
        let activity = FlashSaleActivity()
        activity.id = UUID()
        activity.name = plan.name
        activity.owner = merchantID == nil ? "platform" : "merchant"
        activity.merchantID = merchantID
        activity.status = FlashSaleStatus.active.rawValue
        activity.paysCommission = plan.paysCommission
        activity.unpaidMinutes = plan.unpaidMinutes
        activity.createdAt = now
        activity.updatedAt = now
        try await activity.create(on: db)
        try await write(plan, activityID: try activity.requireID())
        return activity
    }

    /// 修改秒杀. Until a session starts and while nothing is taken, everything may change: the old
    /// units go back to their SKUs and the new ones are carved out, as when creating. After that
    /// the sessions, SKUs, prices, limits and unpaid time stay (buyers and orders hold them); the
    /// name, the commission switch and the stock of items whose session has not ended may change,
    /// the stock never below what is sold or awaiting payment. Anything else is a 409 that changes nothing.
    func update(_ id: UUID, _ input: FlashSaleInput, merchantID: UUID?) async throws -> FlashSaleActivity {
        try await lockRow(FlashSaleActivity.schema, id, on: db)
        guard let activity = try await FlashSaleActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != FlashSaleStatus.stopped.rawValue else {
            throw APIError(.conflict, "flash_sale.stopped", .init("该秒杀活动已停止，不能再修改", "This flash sale is stopped and cannot be changed"))
        }
        try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
        let sql = try sqlDatabase(db)
        // The queue takes units from these rows: held, nothing is taken while they are judged.
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT id FROM flash_sale_items WHERE activity_id = \(bind: id) ORDER BY id FOR UPDATE").run()
        }
        let sessions = try await FlashSaleSessionRecord.query(on: db).filter(\.$activityID == id).sort(\.$startsAt).sort(\.$id).all()
        let items = try await FlashSaleItem.query(on: db).filter(\.$activityID == id).sort(\.$position).all()
        guard Self.hasStarted(sessions: sessions, items: items, now: now) else {
            let plan = try await checked(input, merchantID: activity.merchantID)
            for item in items.sorted(by: { $0.skuID.uuidString < $1.skuID.uuidString }) { try await release(item) }
            try await FlashSaleItem.query(on: db).filter(\.$activityID == id).delete()
            try await FlashSaleSessionRecord.query(on: db).filter(\.$activityID == id).delete()
            activity.name = plan.name
            activity.paysCommission = plan.paysCommission
            activity.unpaidMinutes = plan.unpaidMinutes
            activity.updatedAt = now
            try await activity.save(on: db)
            try await write(plan, activityID: id)
            return activity
        }

        // Started: the same sessions and items, in the order they start; only stock may differ.
        var issues: [APIError.FieldIssue] = []
        if !TextLength.isFilled(input.name, max: Self.maxName) {
            issues.append(.init("name", .init("请填写活动名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters")))
        }
        let formatter = ISO8601DateFormatter()
        func time(_ text: String) -> Date? { text.count <= 40 ? formatter.date(from: text) : nil }
        let typed = input.sessions.prefix(Self.maxSessions + 1).map { (start: time($0.startsAt), end: time($0.endsAt), items: $0.items) }
            .sorted { ($0.start ?? .distantPast) < ($1.start ?? .distantPast) }
        var sameTerms = typed.count == sessions.count && (input.unpaidMinutes ?? activity.unpaidMinutes) == activity.unpaidMinutes
        var stockChanges: [(item: FlashSaleItem, session: FlashSaleSessionRecord, stock: Int64, field: String)] = []
        for (index, (session, entry)) in zip(sessions, typed).enumerated() where sameTerms {
            guard let start = entry.start, let end = entry.end, abs(start.timeIntervalSince(session.startsAt)) < 1,
                  abs(end.timeIntervalSince(session.endsAt)) < 1 else { sameTerms = false; break }
            let own = items.filter { $0.sessionID == session.id }
            guard own.count == entry.items.count else { sameTerms = false; break }
            for (position, (item, wanted)) in zip(own, entry.items).enumerated() {
                guard item.skuID == wanted.skuId, item.price == wanted.priceFen, item.perMemberLimit == (wanted.perMemberLimit ?? 1) else {
                    sameTerms = false
                    break
                }
                let field = "sessions[\(index)].items[\(position)].stock"
                if !(1...Self.maxStock).contains(wanted.stock) {
                    issues.append(.init(field, .init("活动库存应在 1 到 \(Self.maxStock) 件之间", "stock must be between 1 and \(Self.maxStock)")))
                } else if wanted.stock != item.activityStock {
                    stockChanges.append((item, session, wanted.stock, field))
                }
            }
        }
        guard sameTerms else {
            throw APIError(.conflict, "flash_sale.terms_locked", .init(
                "秒杀已开始，只能修改名称、是否计佣和未结束场次的活动库存",
                "The flash sale has started: only its name, commission switch and the stock of sessions not yet ended can change"))
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        for change in stockChanges.sorted(by: { $0.item.skuID.uuidString < $1.item.skuID.uuidString }) {
            guard change.session.endsAt > now, !change.item.released else {
                throw APIError(.conflict, "flash_sale.session_ended", .init("该场次已结束，活动库存不能再修改", "This session has ended: its stock cannot change"))
            }
            try await restock(change.item, to: change.stock)
        }
        activity.name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        activity.paysCommission = MarketingCommission.paysCommission(.flashSale, setting: input.paysCommission)
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// A session has begun, or a unit is taken or released: from then on the terms stay.
    static func hasStarted(sessions: [FlashSaleSessionRecord], items: [FlashSaleItem], now: Date) -> Bool {
        sessions.contains { $0.startsAt <= now } || items.contains { $0.released || $0.available != $0.activityStock }
    }

    /// Sets an item's activity stock: added units leave the SKU's stock, removed ones go back to it.
    /// The units sold or awaiting payment stay the item's (a 409 says how many).
    private func restock(_ item: FlashSaleItem, to stock: Int64) async throws {
        let sql = try sqlDatabase(db)
        let itemID = try item.requireID()
        let delta = stock - item.activityStock
        if delta > 0 {
            try await takeFromSku(item.skuID, productID: item.productID, units: delta)
        }
        let changed = try await sql.raw("""
            UPDATE flash_sale_items SET activity_stock = activity_stock + \(bind: delta), available = available + \(bind: delta)
            WHERE id = \(bind: itemID) AND released = \(bind: false) AND available + \(bind: delta) >= 0 RETURNING available
            """).all()
        guard !changed.isEmpty else {
            let taken = item.activityStock - item.available
            throw APIError(.conflict, "flash_sale.stock_taken", .init("已售出或待支付 \(taken) 件，活动库存不能少于此数",
                                                                      "\(taken) are sold or awaiting payment: the stock cannot be below that"))
        }
        if delta < 0 {
            try await sql.raw("UPDATE skus SET stock = stock + \(bind: -delta) WHERE id = \(bind: item.skuID)").run()
            try await sql.raw("UPDATE products SET total_stock = total_stock + \(bind: -delta) WHERE id = \(bind: item.productID)").run()
        }
    }

    /// Units leave a SKU's stock by a conditional decrement; short, a 409 with what there is.
    private func takeFromSku(_ skuID: UUID, productID: UUID?, units: Int64) async throws {
        let sql = try sqlDatabase(db)
        let taken = try await sql.raw("""
            UPDATE skus SET stock = stock - \(bind: units) WHERE id = \(bind: skuID) AND stock >= \(bind: units) RETURNING stock
            """).all()
        guard !taken.isEmpty else {
            let left = try await Sku.find(skuID, on: db)?.stock ?? 0
            throw APIError(.conflict, "flash_sale.stock", .init("规格库存不足：现有 \(left) 件，活动需要 \(units) 件",
                                                             "Not enough stock: \(left) in stock, the activity needs \(units)"))
        }
        if let productID {
            try await sql.raw("UPDATE products SET total_stock = total_stock - \(bind: units) WHERE id = \(bind: productID)").run()
        }
    }

    /// Every field checked, each session judged by MallCore, the SKUs found: the plan, or the reasons.
    private func checked(_ input: FlashSaleInput, merchantID: UUID?) async throws -> Plan {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写活动名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        if let minutes = input.unpaidMinutes, !(1...Self.maxUnpaidMinutes).contains(minutes) {
            issue("unpaidMinutes", "未付款关闭时间应在 1 到 \(Self.maxUnpaidMinutes) 分钟之间", "unpaidMinutes must be between 1 and \(Self.maxUnpaidMinutes)")
        }
        if input.sessions.isEmpty || input.sessions.count > Self.maxSessions {
            issue("sessions", "场次应有 1 到 \(Self.maxSessions) 个", "Give 1 to \(Self.maxSessions) sessions")
        }
        let formatter = ISO8601DateFormatter()
        var windows: [ActivityWindow?] = []
        for (index, session) in input.sessions.prefix(Self.maxSessions).enumerated() {
            let field = "sessions[\(index)]"
            let start = session.startsAt.count <= 40 ? formatter.date(from: session.startsAt) : nil
            let end = session.endsAt.count <= 40 ? formatter.date(from: session.endsAt) : nil
            if start == nil { issue("\(field).startsAt", "时间格式应为 ISO 8601，如 2025-06-18T10:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T10:00:00+08:00") }
            if end == nil { issue("\(field).endsAt", "时间格式应为 ISO 8601，如 2025-06-18T12:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T12:00:00+08:00") }
            var window: ActivityWindow?
            if let start, let end {
                if end <= start { issue("\(field).endsAt", "结束时间应晚于开始时间", "endsAt must be after startsAt") }
                else if end <= now { issue("\(field).endsAt", "结束时间应晚于现在", "endsAt must be in the future") }
                else if end.timeIntervalSince(now) > Self.maxSpan || now.timeIntervalSince(start) > Self.maxSpan {
                    issue("\(field).endsAt", "场次时间最多在十年内", "The session must be within ten years")
                } else {
                    window = try? ActivityWindow(start: start, end: end)
                }
            }
            windows.append(window)
            if session.items.isEmpty || session.items.count > Self.maxItemsPerSession {
                issue("\(field).items", "每场应有 1 到 \(Self.maxItemsPerSession) 个规格", "Give 1 to \(Self.maxItemsPerSession) SKUs per session")
            }
            if Set(session.items.map(\.skuId)).count != session.items.count { issue("\(field).items", "同一场次中每个规格只能出现一次", "Each SKU may appear once per session") }
            for (position, item) in session.items.prefix(Self.maxItemsPerSession).enumerated() {
                let at = "\(field).items[\(position)]"
                if !(0...PromotionService.maxAmountFen).contains(item.priceFen) { issue("\(at).priceFen", "秒杀价应在 0 到 1 亿元之间", "The price must be between ¥0 and ¥100,000,000") }
                if !(1...Self.maxStock).contains(item.stock) { issue("\(at).stock", "活动库存应在 1 到 \(Self.maxStock) 件之间", "stock must be between 1 and \(Self.maxStock)") }
                if let limit = item.perMemberLimit, !(1...Self.maxLimit).contains(limit) {
                    issue("\(at).perMemberLimit", "每人限购应在 1 到 \(Self.maxLimit) 件之间", "perMemberLimit must be between 1 and \(Self.maxLimit)")
                }
            }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let unpaidMinutes = input.unpaidMinutes ?? Int(FlashSaleSession.defaultUnpaidTimeout / 60)

        // The SKUs exist, are the shop's own (for a shop), and sell above the flash price.
        let skuIDs = Array(Set(input.sessions.flatMap { $0.items.map(\.skuId) }))
        let skus = Dictionary(try await Sku.query(on: db).filter(\.$id ~~ skuIDs).all().compactMap { sku in sku.id.map { ($0, sku) } },
                              uniquingKeysWith: { first, _ in first })
        var wanted: [UUID: Int64] = [:]
        for (index, session) in input.sessions.enumerated() {
            for (position, item) in session.items.enumerated() {
                let at = "sessions[\(index)].items[\(position)]"
                guard let sku = skus[item.skuId], merchantID == nil || sku.merchantID == merchantID else {
                    throw APIError.validation([.init("\(at).skuId", .init(merchantID == nil ? "规格不存在" : "只能选择本店的商品规格",
                                                                          merchantID == nil ? "No such SKU" : "Choose your own shop's SKUs only"))])
                }
                guard item.priceFen < sku.price else {
                    throw APIError.validation([.init("\(at).priceFen", .init("秒杀价应低于原价", "The flash price must be below the normal price"))])
                }
                wanted[item.skuId, default: 0] += item.stock  // ≤ 10 × 50 × 1 000 000: fits
            }
        }
        // MallCore judges each session's rules (window, limit, unpaid time).
        var sessions: [(window: ActivityWindow, items: [FlashSaleInput.Item])] = []
        for (index, window) in windows.enumerated() {
            guard let window else { throw APIError.validation([.init("sessions[\(index)]", .init("场次时间不正确", "The session's times are not valid"))]) }
            _ = try FlashSaleSession(id: "\(index)", window: window, perMemberLimit: 1, unpaidTimeout: TimeInterval(unpaidMinutes * 60))
            sessions.append((window, input.sessions[index].items))
        }
        return Plan(name: input.name.trimmingCharacters(in: .whitespacesAndNewlines), unpaidMinutes: unpaidMinutes,
                    paysCommission: MarketingCommission.paysCommission(.flashSale, setting: input.paysCommission),
                    sessions: sessions, skus: skus, wanted: wanted)
    }

    /// The activity's units leave the SKUs' stock (in SKU order: no circular waits), then its
    /// sessions and items are written.
    private func write(_ plan: Plan, activityID: UUID) async throws {
        for (skuID, units) in plan.wanted.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            try await takeFromSku(skuID, productID: plan.skus[skuID]?.$product.id, units: units)
        }
        for session in plan.sessions {
            let record = FlashSaleSessionRecord()
            record.id = UUID()
            record.activityID = activityID
            record.startsAt = session.window.start
            record.endsAt = session.window.end
            try await record.create(on: db)
            for (position, input) in session.items.enumerated() {
                guard let sku = plan.skus[input.skuId] else { continue }
                let item = FlashSaleItem()
                item.activityID = activityID
                item.sessionID = try record.requireID()
                item.skuID = input.skuId
                item.productID = sku.$product.id
                item.merchantID = sku.merchantID
                item.price = input.priceFen
                item.activityStock = input.stock
                item.available = input.stock
                item.sold = 0
                item.perMemberLimit = input.perMemberLimit ?? 1
                item.released = false
                item.releasedUnits = 0
                item.position = position
                try await item.create(on: db)
            }
        }
    }

    /// Pause, resume or stop; a stopped activity stays stopped and its unsold units go back to the
    /// SKUs at once. A shop changes only its own (another's is not found).
    func setStatus(_ id: UUID, to status: FlashSaleStatus, merchantID: UUID?) async throws -> FlashSaleActivity {
        guard let activity = try await FlashSaleActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != FlashSaleStatus.stopped.rawValue || status == .stopped else {
            throw APIError(.conflict, "flash_sale.stopped", .init("该秒杀活动已停止，不能再启用", "This flash sale is stopped and cannot be resumed"))
        }
        activity.status = status.rawValue
        activity.updatedAt = now
        try await activity.save(on: db)
        if status == .stopped {
            let items = try await FlashSaleItem.query(on: db).filter(\.$activityID == id).filter(\.$released == false).all()
            for item in items.sorted(by: { $0.skuID.uuidString < $1.skuID.uuidString }) { try await release(item) }
        }
        return activity
    }

    /// The item's still-available units go back to its SKU, once.
    func release(_ item: FlashSaleItem) async throws {
        let sql = try sqlDatabase(db)
        let itemID = try item.requireID()
        let rows = try await sql.raw("""
            UPDATE flash_sale_items SET released = \(bind: true), released_units = released_units + available, available = 0
            WHERE id = \(bind: itemID) AND released = \(bind: false) RETURNING released_units
            """).all()
        // Before its release an item has released nothing, so this is what moved.
        guard let row = rows.first, let units = try? row.decode(column: "released_units", as: Int64.self), units > 0 else { return }
        try await sql.raw("UPDATE skus SET stock = stock + \(bind: units) WHERE id = \(bind: item.skuID)").run()
        try await sql.raw("UPDATE products SET total_stock = total_stock + \(bind: units) WHERE id = \(bind: item.productID)").run()
    }

    /// Items of sessions that have ended, not yet released: their units back to the SKUs. Safe to
    /// run twice at once (the release is conditional).
    static func releaseEnded(_ app: Application, batch: Int = 200) async throws -> Int {
        let now = app.clock.now()
        let ids = try await sqlDatabase(app.db).raw("""
            SELECT i.id FROM flash_sale_items i JOIN flash_sale_sessions s ON s.id = i.session_id
            WHERE i.released = \(bind: false) AND s.ends_at <= \(bind: now) LIMIT \(bind: batch)
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
        guard !ids.isEmpty else { return 0 }
        let items = try await FlashSaleItem.query(on: app.db).filter(\.$id ~~ ids).all()
        for item in items {
            try await app.writeGate.transaction(on: app.db) { db in try await FlashSaleService(db: db, now: now).release(item) }
        }
        return items.count
    }

    // MARK: - buying

    /// The purchase a checkout asks for, or the refusal: not started, ended, paused, over the
    /// member's limit, sold out. Read before the order is written (the cheap sold-out path); the
    /// writes in `take` decide.
    /// With a `ticketID` the unit is already the member's: nothing is refused, the purchase only
    /// names what the order records.
    func purchase(_ itemID: UUID, quantity: Int64, memberID: UUID, ticketID: UUID? = nil) async throws -> FlashPurchase {
        let sql = try sqlDatabase(db)
        guard let row = try await sql.raw("""
            SELECT i.sku_id, i.price, i.available, i.per_member_limit, i.activity_id, i.merchant_id, s.starts_at, s.ends_at,
                   a.status, a.pays_commission, a.unpaid_minutes, a.owner, a.name,
                   (SELECT c.bought FROM flash_sale_member_counts c WHERE c.item_id = i.id AND c.member_id = \(bind: memberID)) AS bought
            FROM flash_sale_items i JOIN flash_sale_sessions s ON s.id = i.session_id JOIN flash_sale_activities a ON a.id = i.activity_id
            WHERE i.id = \(bind: itemID)
            """).first() else {
            throw APIError.validation([.init("flashSaleItemId", .init("秒杀商品不存在", "No such flash sale item"))])
        }
        let status = FlashSaleStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .stopped
        let limit = try row.decode(column: "per_member_limit", as: Int64?.self)
        let minutes = try row.decode(column: "unpaid_minutes", as: Int.self)
        let window = try ActivityWindow(start: try row.decode(column: "starts_at", as: Date.self), end: try row.decode(column: "ends_at", as: Date.self))
        let session = try FlashSaleSession(id: itemID.uuidString, window: window, perMemberLimit: limit, unpaidTimeout: TimeInterval(minutes * 60))
        // A stopped activity is over for the buyer: judged as at its session's end.
        let available = try row.decode(column: "available", as: Int64.self)
        if ticketID == nil, let refusal = FlashSale.purchaseRefusal(session, quantity: quantity, alreadyBought: try row.decode(column: "bought", as: Int64?.self) ?? 0,
                                                   available: available, now: status == .stopped ? max(now, window.end) : now,
                                                   paused: status == .paused) { throw refusal }
        let activityID = try row.decode(column: "activity_id", as: UUID.self)
        let payer: DiscountPayer = try row.decode(column: "owner", as: String.self) == "merchant"
            ? .merchant(try row.decode(column: "merchant_id", as: UUID.self)) : .platform
        let price = Money(fen: try row.decode(column: "price", as: Int64.self))
        let exclusive = ExclusiveActivity(kind: .flashSale, id: activityID.uuidString.lowercased(),
                                          paysCommission: try row.decode(column: "pays_commission", as: Bool.self), price: price, payer: payer,
                                          name: try row.decode(column: "name", as: String.self))
        return FlashPurchase(itemID: itemID, activityID: activityID, skuID: try row.decode(column: "sku_id", as: UUID.self), quantity: quantity,
                             price: price, perMemberLimit: limit, unpaidMinutes: minutes, exclusive: exclusive, ticketID: ticketID)
    }

    /// The order of a queued ticket: its unit and count were taken when the ticket was queued, so
    /// only the purchase row is written (a close gives the unit back through it like any other).
    static func attach(_ purchase: FlashPurchase, memberID: UUID, orderID: UUID, lineID: UUID, now: Date, sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO flash_sale_purchases (id, item_id, activity_id, member_id, order_id, order_line_id, units, returned, created_at)
            VALUES (\(bind: UUID()), \(bind: purchase.itemID), \(bind: purchase.activityID), \(bind: memberID), \(bind: orderID), \(bind: lineID),
              \(bind: purchase.quantity), \(bind: false), \(bind: now))
            """).run()
    }

    /// In the order's transaction: the member's count by one conditional upsert, then the unit by
    /// one conditional decrement (the hot row last, so its lock is held the shortest). Either
    /// refusal rolls the whole order back.
    static func take(_ purchase: FlashPurchase, memberID: UUID, orderID: UUID, lineID: UUID, now: Date, sql: any SQLDatabase) async throws {
        let quantity = purchase.quantity
        try await sql.raw("""
            INSERT INTO flash_sale_purchases (id, item_id, activity_id, member_id, order_id, order_line_id, units, returned, created_at)
            VALUES (\(bind: UUID()), \(bind: purchase.itemID), \(bind: purchase.activityID), \(bind: memberID), \(bind: orderID), \(bind: lineID),
              \(bind: quantity), \(bind: false), \(bind: now))
            """).run()
        let limit = purchase.perMemberLimit ?? Int64.max / 2
        let counted = try await sql.raw("""
            INSERT INTO flash_sale_member_counts (id, item_id, member_id, bought) VALUES (\(bind: UUID()), \(bind: purchase.itemID), \(bind: memberID), \(bind: quantity))
            ON CONFLICT (item_id, member_id) DO UPDATE SET bought = flash_sale_member_counts.bought + excluded.bought
            WHERE flash_sale_member_counts.bought + excluded.bought <= \(bind: limit)
            RETURNING bought
            """).all()
        guard !counted.isEmpty else {
            let bought = try await sql.raw("""
                SELECT bought FROM flash_sale_member_counts WHERE item_id = \(bind: purchase.itemID) AND member_id = \(bind: memberID)
                """).first()?.decode(column: "bought", as: Int64.self) ?? 0
            throw FlashSaleRefusal.memberLimit(limit: limit, left: max(0, limit - bought))
        }
        let taken = try await sql.raw("""
            UPDATE flash_sale_items SET available = available - \(bind: quantity), sold = sold + \(bind: quantity)
            WHERE id = \(bind: purchase.itemID) AND available >= \(bind: quantity) AND released = \(bind: false) RETURNING available
            """).all()
        guard !taken.isEmpty else {
            let left = try await sql.raw("SELECT available FROM flash_sale_items WHERE id = \(bind: purchase.itemID)").first()?
                .decode(column: "available", as: Int64.self) ?? 0
            throw left > 0 ? FlashSaleRefusal.notEnoughStock(available: left) : FlashSaleRefusal.soldOut
        }
    }

    /// An unpaid flash order closed or cancelled: its units go back to the activity (or, once the
    /// item was released, to the SKU) and out of the member's count, exactly once. Returns the
    /// order's flash lines, which the caller must not give back to the SKU again.
    static func giveBack(orderID: UUID, sql: any SQLDatabase) async throws -> Set<UUID> {
        let rows = try await sql.raw("""
            SELECT id, item_id, member_id, order_line_id, units, returned FROM flash_sale_purchases WHERE order_id = \(bind: orderID)
            """).all()
        var lines = Set<UUID>()
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            let itemID = try row.decode(column: "item_id", as: UUID.self)
            let memberID = try row.decode(column: "member_id", as: UUID.self)
            let units = try row.decode(column: "units", as: Int64.self)
            lines.insert(try row.decode(column: "order_line_id", as: UUID.self))
            guard try row.decode(column: "returned", as: Bool.self) == false else { continue }
            let won = try await sql.raw("""
                UPDATE flash_sale_purchases SET returned = \(bind: true) WHERE id = \(bind: id) AND returned = \(bind: false) RETURNING id
                """).all()
            guard !won.isEmpty else { continue }
            try await returnUnits(itemID: itemID, memberID: memberID, units: units, sql: sql)
        }
        return lines
    }

    /// Units a member held go back: out of the member's count, and to the item (or, once the item
    /// was released, to the SKU). The caller makes sure it happens once.
    static func returnUnits(itemID: UUID, memberID: UUID, units: Int64, sql: any SQLDatabase) async throws {
        try await sql.raw("""
            UPDATE flash_sale_member_counts SET bought = bought - \(bind: units)
            WHERE item_id = \(bind: itemID) AND member_id = \(bind: memberID) AND bought >= \(bind: units)
            """).run()
        let back = try await sql.raw("""
            UPDATE flash_sale_items SET available = available + \(bind: units), sold = sold - \(bind: units)
            WHERE id = \(bind: itemID) AND released = \(bind: false) RETURNING sku_id
            """).all()
        guard back.isEmpty else { return }
        // Released meanwhile: the unit belongs to the SKU again.
        guard let item = try await sql.raw("""
            UPDATE flash_sale_items SET sold = sold - \(bind: units), released_units = released_units + \(bind: units)
            WHERE id = \(bind: itemID) RETURNING sku_id, product_id
            """).first() else { return }
        let skuID = try item.decode(column: "sku_id", as: UUID.self)
        let productID = try item.decode(column: "product_id", as: UUID.self)
        try await sql.raw("UPDATE skus SET stock = stock + \(bind: units) WHERE id = \(bind: skuID)").run()
        try await sql.raw("UPDATE products SET total_stock = total_stock + \(bind: units) WHERE id = \(bind: productID)").run()
    }

    // MARK: - results

    /// Orders paid (and on), units in them, what buyers paid for those lines, and the savings given.
    func results(_ activity: FlashSaleActivity) async throws -> FlashSaleResultsDTO {
        let id = try activity.requireID()
        let sql = try sqlDatabase(db)
        let open = "('\(OrderState.pendingPayment.rawValue)', '\(OrderState.cancelled.rawValue)', '\(OrderState.closed.rawValue)')"
        let totals = try await sql.raw("""
            SELECT COUNT(DISTINCT p.order_id) AS orders, CAST(COALESCE(SUM(p.units), 0) AS BIGINT) AS units,
                   CAST(COALESCE(SUM(l.paid_amount), 0) AS BIGINT) AS sales
            FROM flash_sale_purchases p JOIN orders o ON o.id = p.order_id JOIN order_lines l ON l.id = p.order_line_id
            WHERE p.activity_id = \(bind: id) AND o.state NOT IN \(unsafeRaw: open)
            """).first()
        let cost = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(d.amount - d.reversed_amount), 0) AS BIGINT) AS cost
            FROM flash_sale_purchases p JOIN orders o ON o.id = p.order_id JOIN order_line_discounts d ON d.order_line_id = p.order_line_id
            WHERE p.activity_id = \(bind: id) AND d.source_kind = \(bind: DiscountKind.flashSale.rawValue) AND o.state NOT IN \(unsafeRaw: open)
            """).first()
        let items = try await FlashSaleItem.query(on: db).filter(\.$activityID == id).sort(\.$position).all()
        let paidUnits = try totals?.decode(column: "units", as: Int64.self) ?? 0
        let held = items.reduce(Int64(0)) { $0 + $1.sold } - paidUnits
        return FlashSaleResultsDTO(activityId: id, orders: try totals?.decode(column: "orders", as: Int64.self) ?? 0, unitsSold: paidUnits,
                                   unitsAwaitingPayment: max(0, held), salesFen: try totals?.decode(column: "sales", as: Int64.self) ?? 0,
                                   discountCostFen: try cost?.decode(column: "cost", as: Int64.self) ?? 0,
                                   available: items.reduce(Int64(0)) { $0 + $1.available })
    }

    // MARK: - the activity page

    /// Sessions of active activities that overlap [from, to), with their items.
    func board(from: Date, to: Date) async throws -> [(activity: FlashSaleActivity, session: FlashSaleSessionRecord, items: [FlashSaleItem])] {
        let sessions = try await FlashSaleSessionRecord.query(on: db).filter(\.$startsAt < to).filter(\.$endsAt > from)
            .sort(\.$startsAt).sort(\.$id).limit(50).all()
        guard !sessions.isEmpty else { return [] }
        let activities = try await FlashSaleActivity.query(on: db).filter(\.$id ~~ Set(sessions.map(\.activityID)))
            .filter(\.$status == FlashSaleStatus.active.rawValue).all()
        let byID = Dictionary(activities.compactMap { activity in activity.id.map { ($0, activity) } }, uniquingKeysWith: { first, _ in first })
        let items = try await FlashSaleItem.query(on: db).filter(\.$sessionID ~~ sessions.compactMap(\.id)).sort(\.$position).all()
        return sessions.compactMap { session in
            guard let activity = byID[session.activityID] else { return nil }
            return (activity, session, items.filter { $0.sessionID == session.id })
        }
    }
}
