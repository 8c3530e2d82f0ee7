import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Flash sales under `/api/v1`: the operator's (`/admin/flash-sales`), a shop's
/// (`/merchant/flash-sales`) and today's board (`/flash-sales`). A buyer buys through the normal
/// checkout with `flashSaleItemId`.
struct FlashSaleAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin", "flash-sales")
        admin.get(use: adminList)
        admin.post(use: adminCreate)
        admin.put(":flashSaleID") { req in try await self.update(req, shop: false) }
        admin.get(":flashSaleID", "results", use: adminResults)
        admin.post(":flashSaleID", "pause", use: adminPause)
        admin.post(":flashSaleID", "resume", use: adminResume)
        admin.post(":flashSaleID", "stop", use: adminStop)

        let shop = routes.grouped("merchant", "flash-sales")
        shop.get(use: shopList)
        shop.post(use: shopCreate)
        shop.put(":flashSaleID") { req in try await self.update(req, shop: true) }
        shop.get(":flashSaleID", "results", use: shopResults)
        shop.post(":flashSaleID", "pause", use: shopPause)
        shop.post(":flashSaleID", "resume", use: shopResume)
        shop.post(":flashSaleID", "stop", use: shopStop)

        routes.get("flash-sales", use: board)
        routes.post("flash-sales", "items", ":itemID", "tickets", use: joinQueue)
        routes.get("flash-sales", "tickets", ":ticketID", use: ticket)
    }

    // MARK: operator

    @Sendable func adminList(req: Request) async throws -> [FlashSaleDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await Self.list(merchantID: nil, req: req)
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        return try await create(req, merchantID: nil, actor: staff)
    }

    @Sendable func adminResults(req: Request) async throws -> FlashSaleResultsDTO {
        _ = try req.requireStaff(.manageMarketing)
        return try await results(req, merchantID: nil)
    }

    @Sendable func adminPause(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .paused, shop: false) }
    @Sendable func adminResume(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .active, shop: false) }
    @Sendable func adminStop(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .stopped, shop: false) }

    // MARK: shop

    @Sendable func shopList(req: Request) async throws -> [FlashSaleDTO] {
        let scope = try req.merchantScope()
        return try await Self.list(merchantID: scope.merchantID, req: req)
    }

    @Sendable func shopCreate(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        return try await create(req, merchantID: scope.merchantID, actor: try req.requireStaff(.manageShop))
    }

    @Sendable func shopResults(req: Request) async throws -> FlashSaleResultsDTO {
        try await results(req, merchantID: try req.merchantScope().merchantID)
    }

    @Sendable func shopPause(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .paused, shop: true) }
    @Sendable func shopResume(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .active, shop: true) }
    @Sendable func shopStop(req: Request) async throws -> FlashSaleDTO { try await setStatus(req, .stopped, shop: true) }

    // MARK: public

    @Sendable func board(req: Request) async throws -> FlashSaleBoardDTO {
        try await FlashSaleQueries.today(req)
    }

    // MARK: shared

    // MARK: the queue (排队下单)

    /// Joins the item's queue: 202 with the ticket when the unit is the buyer's (its order follows
    /// within moments; poll the ticket), 409 when it is not (sold out, over the limit, not on). The
    /// same `Idempotency-Key` gives back the first ticket.
    @Sendable func joinQueue(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let itemID = try req.uuidParameter("itemID")
        let input = try req.content.decode(FlashSaleTicketInput.self)
        let key = try OrderAPIController.idempotencyKey(req)
        let ticket = try await req.application.flashSaleQueue.reserve(.checked(
            itemID: itemID, memberID: memberID, addressID: input.addressId, quantity: input.quantity, note: input.note,
            points: input.points, couponIDs: input.couponIds, key: key))
        return try await FlashSaleTicketDTO(ticket, orderIDs: Self.orderIDs(of: ticket, on: req.db), req.locale).encodeResponse(status: .accepted, for: req)
    }

    static func orderIDs(of ticket: FlashSaleTicket, on db: any Database) async throws -> [UUID] {
        guard let paymentID = ticket.paymentID else { return [] }
        return try await Order.query(on: db).filter(\.$paymentID == paymentID).sort(\.$orderNo).all().compactMap(\.id)
    }

    /// The member's own ticket; another's is not found.
    @Sendable func ticket(req: Request) async throws -> FlashSaleTicketDTO {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("ticketID")
        guard let ticket = try await FlashSaleTicket.query(on: req.db).filter(\.$id == id).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return try FlashSaleTicketDTO(ticket, orderIDs: try await Self.orderIDs(of: ticket, on: req.db), req.locale)
    }

    static func list(merchantID: UUID?, req: Request) async throws -> [FlashSaleDTO] {
        var query = FlashSaleActivity.query(on: req.db)
        if let merchantID { query = query.filter(\.$merchantID == merchantID) }
        let activities = try await query.sort(\.$createdAt, .descending).sort(\.$id).limit(FlashSaleService.listLimit).all()
        return try await dtos(activities, req: req)
    }

    static func dtos(_ activities: [FlashSaleActivity], req: Request) async throws -> [FlashSaleDTO] {
        let ids = activities.compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        let sessions = try await FlashSaleSessionRecord.query(on: req.db).filter(\.$activityID ~~ ids).sort(\.$startsAt).sort(\.$id).all()
        let items = try await FlashSaleItem.query(on: req.db).filter(\.$activityID ~~ ids).sort(\.$position).all()
        return try activities.map { activity in
            try FlashSaleDTO(activity, sessions: sessions.filter { $0.activityID == activity.id }, items: items.filter { $0.activityID == activity.id },
                             req.locale)
        }
    }

    private func create(_ req: Request, merchantID: UUID?, actor: StaffUser) async throws -> Response {
        let input = try req.content.decode(FlashSaleInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await FlashSaleService(db: db, now: now).create(input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "flash_sale.create", target: activity.requireID().uuidString, ip: ip, at: now)
            return activity
        }
        guard let dto = try await Self.dtos([activity], req: req).first else { throw APIError.notFound }
        return try await dto.encodeResponse(status: .created, for: req)
    }

    /// The whole activity, as for creating it (`FlashSaleService.update` says what may change).
    func update(_ req: Request, shop: Bool) async throws -> FlashSaleDTO {
        let (staff, merchantID) = try PromotionAPIController.manager(req, shop: shop)
        let id = try req.uuidParameter("flashSaleID")
        let input = try req.content.decode(FlashSaleInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await FlashSaleService(db: db, now: now).update(id, input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "flash_sale.update", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        guard let dto = try await Self.dtos([activity], req: req).first else { throw APIError.notFound }
        return dto
    }

    private func results(_ req: Request, merchantID: UUID?) async throws -> FlashSaleResultsDTO {
        let id = try req.uuidParameter("flashSaleID")
        guard let activity = try await FlashSaleActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else {
            throw APIError.notFound
        }
        return try await FlashSaleService(db: req.db, now: req.now).results(activity)
    }

    private func setStatus(_ req: Request, _ status: FlashSaleStatus, shop: Bool) async throws -> FlashSaleDTO {
        let staff: StaffUser
        let merchantID: UUID?
        if shop {
            merchantID = try req.merchantScope(.manageShop).merchantID
            staff = try req.requireStaff(.manageShop)
        } else {
            staff = try req.requireStaff(.manageMarketing)
            merchantID = nil
        }
        let id = try req.uuidParameter("flashSaleID")
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await FlashSaleService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "flash_sale.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        guard let dto = try await Self.dtos([activity], req: req).first else { throw APIError.notFound }
        return dto
    }
}

enum FlashSaleQueries {
    /// Today's sessions (China day) with each item's state from `FlashSale.pageState`.
    static func today(_ req: Request) async throws -> FlashSaleBoardDTO {
        let now = req.now
        let dayStart = CouponService.chinaCalendar.startOfDay(for: now)
        let dayEnd = dayStart.addingTimeInterval(86_400)
        let rows = try await FlashSaleService(db: req.db, now: now).board(from: dayStart, to: dayEnd)
        let skuIDs = rows.flatMap { $0.items.map(\.skuID) }
        let skus = skuIDs.isEmpty ? [] : try await Sku.query(on: req.db).filter(\.$id ~~ skuIDs).with(\.$product).all()
        let byID = Dictionary(skus.compactMap { sku in sku.id.map { ($0, sku) } }, uniquingKeysWith: { first, _ in first })
        let storage = req.application.imageStorage
        let locale = req.locale
        var sessions: [FlashSaleBoardDTO.Session] = []
        for row in rows {
            guard let window = try? ActivityWindow(start: row.session.startsAt, end: row.session.endsAt) else { continue }
            var items: [FlashSaleBoardDTO.Item] = []
            for item in row.items {
                guard let sku = byID[item.skuID], let itemID = item.id,
                      let rule = try? FlashSaleSession(id: itemID.uuidString, window: window, perMemberLimit: item.perMemberLimit,
                                                       unpaidTimeout: TimeInterval(row.activity.unpaidMinutes * 60)) else { continue }
                let state = FlashSale.pageState(rule, available: item.available, now: now)
                let (code, label, seconds) = describe(state, locale)
                let taken = max(0, item.activityStock - item.available)
                let image = sku.image.isEmpty ? sku.product.mainImage : sku.image
                items.append(.init(id: itemID, skuId: item.skuID, productId: item.productID,
                                   title: sku.product.title + (sku.specText.isEmpty ? "" : " " + sku.specText),
                                   image: ImageRef(image, storage)?.url ?? "", price: MoneyDTO(Money(fen: item.price), locale),
                                   normalPrice: MoneyDTO(Money(fen: sku.price), locale), activityStock: item.activityStock, available: item.available,
                                   progressPercent: item.activityStock > 0 ? min(100, taken * 100 / item.activityStock) : 100,
                                   state: code, stateLabel: label, seconds: seconds, perMemberLimit: item.perMemberLimit))
            }
            guard let sessionID = row.session.id, let activityID = row.activity.id else { continue }
            sessions.append(.init(id: sessionID, activityId: activityID, name: row.activity.name, startsAt: row.session.startsAt,
                                  endsAt: row.session.endsAt, items: items))
        }
        return FlashSaleBoardDTO(sessions: sessions)
    }

    /// A product page's flash sale badge: the lowest flash price of its SKUs in a session running
    /// now or starting within a day, with when it ends or starts.
    static func badges(skuIDs: Set<UUID>, on db: any Database, now: Date, locale: MallLocale) async throws -> [PromotionBadge] {
        guard !skuIDs.isEmpty else { return [] }
        let rows = try await sqlDatabase(db).raw("""
            SELECT i.price, s.starts_at, s.ends_at FROM flash_sale_items i
              JOIN flash_sale_sessions s ON s.id = i.session_id JOIN flash_sale_activities a ON a.id = i.activity_id
            WHERE i.sku_id IN (\(binds: Array(skuIDs))) AND i.released = \(bind: false) AND a.status = \(bind: FlashSaleStatus.active.rawValue)
              AND s.ends_at > \(bind: now) AND s.starts_at < \(bind: now.addingTimeInterval(86_400))
            ORDER BY s.starts_at, i.price LIMIT 20
            """).all()
        guard let first = rows.first else { return [] }
        let startsAt = try first.decode(column: "starts_at", as: Date.self)
        let endsAt = try first.decode(column: "ends_at", as: Date.self)
        let lowest = try rows.filter { try $0.decode(column: "starts_at", as: Date.self) == startsAt }.map { try $0.decode(column: "price", as: Int64.self) }.min() ?? 0
        let price = Money(fen: lowest).formatted(locale)
        let when = startsAt > now
            ? LocalizedText("\(PageDates.chinaMinute(startsAt)) 开抢", "Starts \(PageDates.chinaMinute(startsAt)) (China time)")(locale)
            : LocalizedText("\(PageDates.chinaMinute(endsAt)) 结束", "Ends \(PageDates.chinaMinute(endsAt)) (China time)")(locale)
        return [PromotionBadge(kind: ActivityKind.flashSale.rawValue, label: ActivityKind.flashSale.name(locale),
                               text: LocalizedText("秒杀价 \(price)", "Flash price \(price)")(locale), until: when)]
    }

    static func describe(_ state: FlashSalePageState, _ locale: MallLocale) -> (String, String, Int64) {
        switch state {
        case .upcoming(let seconds): ("upcoming", LocalizedText("即将开始", "Starting soon")(locale), seconds)
        case .onSale(let seconds, _): ("on_sale", LocalizedText("抢购中", "On sale")(locale), seconds)
        case .soldOut(let seconds): ("sold_out", LocalizedText("已抢光", "Sold out")(locale), seconds)
        case .ended: ("ended", LocalizedText("已结束", "Ended")(locale), 0)
        }
    }
}
