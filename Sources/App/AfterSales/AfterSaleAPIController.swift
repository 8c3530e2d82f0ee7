import Fluent
import Foundation
import MallCore
import Vapor

struct AfterSaleEventDTO: Content {
    let state: String
    let stateLabel: String
    let action: String
    let actorKind: String
    let note: String
    let at: Date
}

struct AfterSaleDTO: Content {
    let id: UUID
    let afterSaleNo: String
    let orderId: UUID
    let lineId: UUID
    let kind: String
    let kindLabel: String
    let state: String
    let stateLabel: String
    let units: Int64
    let amount: MoneyDTO
    let shippingAmount: MoneyDTO
    let byAgreement: Bool
    let reason: String
    let photos: [ImageRef]
    let merchantNote: String
    let appealReason: String
    let returnCarrier: String
    let returnTrackingNo: String
    let createdAt: Date
    let timeline: [AfterSaleEventDTO]?

    init(_ sale: AfterSale, events: [AfterSaleEvent]?, _ locale: MallLocale, storage: any ImageStorage) throws {
        id = try sale.requireID()
        afterSaleNo = sale.afterSaleNo
        orderId = sale.orderID
        lineId = sale.orderLineID
        kind = sale.kind
        kindLabel = sale.afterSaleKind.label(locale)
        state = sale.state
        stateLabel = sale.afterSaleState.label(locale)
        units = sale.units
        amount = .init(Money(fen: sale.amount), locale)
        shippingAmount = .init(Money(fen: sale.shippingAmount), locale)
        byAgreement = sale.byAgreement
        reason = sale.reason
        photos = sale.photos.split(separator: ",").compactMap { ImageRef(String($0), storage) }
        merchantNote = sale.merchantNote
        appealReason = sale.appealReason
        returnCarrier = sale.returnCarrier
        returnTrackingNo = sale.returnTrackingNo
        createdAt = sale.createdAt
        timeline = events?.sorted { $0.createdAt < $1.createdAt }.map { event in
            AfterSaleEventDTO(state: event.toState, stateLabel: (AfterSaleState(rawValue: event.toState) ?? .closed).label(locale),
                              action: event.action, actorKind: event.actorKind, note: event.note, at: event.createdAt)
        }
    }
}

struct NoteInput: Content {
    let reason: String
}

struct ReturnShipmentInput: Content {
    let carrier: String
    let trackingNo: String
}

struct AppealDecisionInput: Content {
    let approve: Bool
    let reason: String
}

/// After-sales under `/api/v1`: the buyer asks, the shop decides, the platform settles appeals.
struct AfterSaleAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("me", "orders", ":orderID", "after-sales", use: request)
        let mine = routes.grouped("me", "after-sales")
        mine.get(use: myList)
        mine.get(":afterSaleID", use: myOne)
        mine.post(":afterSaleID", "cancel", use: cancel)
        mine.post(":afterSaleID", "appeal", use: appeal)
        mine.post(":afterSaleID", "return-shipment", use: shipReturn)

        let shop = routes.grouped("merchant", "after-sales")
        shop.get(use: shopList)
        shop.post(":afterSaleID", "approve", use: approve)
        shop.post(":afterSaleID", "reject", use: reject)
        shop.post(":afterSaleID", "confirm-return", use: confirmReturn)

        let admin = routes.grouped("admin", "after-sales")
        admin.get(use: adminList)
        admin.post(":afterSaleID", "decide", use: decide)
        routes.post("admin", "orders", ":orderID", "refunds", use: platformRefund)
    }

    static func dto(_ sale: AfterSale, _ req: Request, timeline: Bool) async throws -> AfterSaleDTO {
        let events = timeline ? try await AfterSaleEvent.query(on: req.db).filter(\.$afterSaleID == sale.requireID()).all() : nil
        return try AfterSaleDTO(sale, events: events, req.locale, storage: req.application.imageStorage)
    }

    /// Runs `body` in a write transaction, then sends any refund it opened to its provider.
    static func act(_ req: Request, _ body: @escaping @Sendable (any Database, Date) async throws -> (AfterSale, Refund?)) async throws -> AfterSaleDTO {
        let now = req.now
        let (sale, refund) = try await req.writeTransaction { db in try await body(db, now) }
        if let refundID = refund?.id {
            do {
                try await RefundService.send(refundID, app: req.application)
            } catch {
                // The refund stays pending; the refund job asks the provider again.
                req.logger.error("refund \(refund?.refundNo ?? ""): \(error)")
            }
        }
        guard let fresh = try await AfterSale.find(sale.requireID(), on: req.db) else { throw APIError.notFound }
        return try await dto(fresh, req, timeline: true)
    }

    static func text(_ raw: String, field: String, max: Int) throws -> String {
        guard TextLength.isFilled(raw, max: max) else {
            throw APIError.validation([.init(field, .init("请填写 1-\(max) 字", "Give 1–\(max) characters"))])
        }
        return raw.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: buyer

    @Sendable func request(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(AfterSaleInput.self)
        let now = req.now
        let sale = try await req.writeTransaction { db in
            try await AfterSaleService(db: db, now: now).request(orderID: orderID, memberID: memberID, input)
        }
        return try await Self.dto(sale, req, timeline: true).encodeResponse(status: .created, for: req)
    }

    static func own(_ req: Request, memberID: UUID, on db: any Database) async throws -> AfterSale {
        guard let sale = try await AfterSale.query(on: db).filter(\.$id == (try req.uuidParameter("afterSaleID"))).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return sale
    }

    @Sendable func myList(req: Request) async throws -> [AfterSaleDTO] {
        let memberID = try req.requireMember().requireID()
        let limit = try req.query.decode(LimitQuery.self).validatedLimit(default: 20)
        let sales = try await AfterSale.query(on: req.db).filter(\.$memberID == memberID).sort(\.$createdAt, .descending).sort(\.$afterSaleNo, .descending).limit(limit).all()
        return try sales.map { try AfterSaleDTO($0, events: nil, req.locale, storage: req.application.imageStorage) }
    }

    @Sendable func myOne(req: Request) async throws -> AfterSaleDTO {
        let memberID = try req.requireMember().requireID()
        return try await Self.dto(try await Self.own(req, memberID: memberID, on: req.db), req, timeline: true)
    }

    @Sendable func cancel(req: Request) async throws -> AfterSaleDTO {
        let memberID = try req.requireMember().requireID()
        let saleID = try req.uuidParameter("afterSaleID")
        return try await Self.act(req) { db, now in
            guard let sale = try await AfterSale.query(on: db).filter(\.$id == saleID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
            return (sale, try await AfterSaleService(db: db, now: now).move(sale, .cancel, actor: .member(memberID)))
        }
    }

    @Sendable func appeal(req: Request) async throws -> AfterSaleDTO {
        let memberID = try req.requireMember().requireID()
        let saleID = try req.uuidParameter("afterSaleID")
        let reason = try Self.text(try req.content.decode(NoteInput.self).reason, field: "reason", max: 200)
        return try await Self.act(req) { db, now in
            guard let sale = try await AfterSale.query(on: db).filter(\.$id == saleID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
            let refund = try await AfterSaleService(db: db, now: now).move(sale, .appeal, actor: .member(memberID), note: reason)
            sale.appealReason = reason
            try await sale.save(on: db)
            return (sale, refund)
        }
    }

    @Sendable func shipReturn(req: Request) async throws -> AfterSaleDTO {
        let memberID = try req.requireMember().requireID()
        let saleID = try req.uuidParameter("afterSaleID")
        let input = try req.content.decode(ReturnShipmentInput.self)
        let carrier = try Self.text(input.carrier, field: "carrier", max: 30)
        let tracking = try Self.text(input.trackingNo, field: "trackingNo", max: 40)
        return try await Self.act(req) { db, now in
            guard let sale = try await AfterSale.query(on: db).filter(\.$id == saleID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
            let refund = try await AfterSaleService(db: db, now: now).move(sale, .shipReturn, actor: .member(memberID), note: "\(carrier) \(tracking)")
            sale.returnCarrier = carrier
            sale.returnTrackingNo = tracking
            try await sale.save(on: db)
            return (sale, refund)
        }
    }

    // MARK: shop

    @Sendable func shopList(req: Request) async throws -> [AfterSaleDTO] {
        let scope = try req.merchantScope()
        let limit = try req.query.decode(LimitQuery.self).validatedLimit(default: 50)
        let sales = try await AfterSale.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$createdAt, .descending).sort(\.$afterSaleNo, .descending).limit(limit).all()
        return try sales.map { try AfterSaleDTO($0, events: nil, req.locale, storage: req.application.imageStorage) }
    }

    func shopAction(_ req: Request, _ action: AfterSaleAction, note: String = "", update: (@Sendable (AfterSale) -> Void)? = nil) async throws -> AfterSaleDTO {
        let scope = try req.merchantScope(.handleOrders)
        let staffID = try req.requireStaff(.handleOrders).requireID()
        let saleID = try req.uuidParameter("afterSaleID")
        return try await Self.act(req) { db, now in
            guard let sale = try await AfterSale.query(on: db).filter(\.$id == saleID).filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
            let refund = try await AfterSaleService(db: db, now: now).move(sale, action, actor: .staff(staffID), note: note)
            if let update {
                update(sale)
                try await sale.save(on: db)
            }
            return (sale, refund)
        }
    }

    @Sendable func approve(req: Request) async throws -> AfterSaleDTO { try await shopAction(req, .approve) }

    @Sendable func reject(req: Request) async throws -> AfterSaleDTO {
        let reason = try Self.text(try req.content.decode(NoteInput.self).reason, field: "reason", max: 200)
        return try await shopAction(req, .reject, note: reason) { $0.merchantNote = reason }
    }

    @Sendable func confirmReturn(req: Request) async throws -> AfterSaleDTO { try await shopAction(req, .confirmReturn) }

    // MARK: platform

    @Sendable func adminList(req: Request) async throws -> [AfterSaleDTO] {
        _ = try req.requireStaff(.handleDisputes)
        struct Query: Content { let state: String?; let limit: Int? }
        let query = try req.query.decode(Query.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit()
        var sales = AfterSale.query(on: req.db)
        if let state = query.state {
            guard AfterSaleState(rawValue: state) != nil else { throw APIError.validation([.init("state", .init("未知的售后状态", "Unknown after-sale state"))]) }
            sales = sales.filter(\.$state == state)
        }
        return try await sales.sort(\.$createdAt, .descending).sort(\.$afterSaleNo, .descending).limit(limit).all()
            .map { try AfterSaleDTO($0, events: nil, req.locale, storage: req.application.imageStorage) }
    }

    /// The platform upholds an appeal (the refund goes ahead) or dismisses it (the after-sale closes).
    @Sendable func decide(req: Request) async throws -> AfterSaleDTO {
        try await Self.decideAppeal(req, input: try req.content.decode(AppealDecisionInput.self))
    }

    /// The decision for the API and the operator's console page alike.
    static func decideAppeal(_ req: Request, input: AppealDecisionInput) async throws -> AfterSaleDTO {
        let staffID = try req.requireStaff(.handleDisputes).requireID()
        let saleID = try req.uuidParameter("afterSaleID")
        let reason = try Self.text(input.reason, field: "reason", max: 200)
        return try await Self.act(req) { db, now in
            guard let sale = try await AfterSale.find(saleID, on: db) else { throw APIError.notFound }
            guard sale.afterSaleState == .appealed else {
                throw AfterSaleError.notAllowed(state: sale.afterSaleState, action: input.approve ? .approve : .close, kind: sale.afterSaleKind)
            }
            return (sale, try await AfterSaleService(db: db, now: now).move(sale, input.approve ? .approve : .close, actor: .staff(staffID), note: reason))
        }
    }

    /// 平台退款: the operator refunds part of a line, also after the window (audited on the timeline).
    @Sendable func platformRefund(req: Request) async throws -> Response {
        let staffID = try req.requireStaff(.handleDisputes).requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(PlatformRefundInput.self)
        let dto = try await Self.act(req) { db, now in
            try await AfterSaleService(db: db, now: now).platformRefund(orderID: orderID, input, staffID: staffID)
        }
        return try await dto.encodeResponse(status: .created, for: req)
    }
}
