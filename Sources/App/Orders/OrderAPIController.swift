import Fluent
import Foundation
import MallCore
import Vapor

/// Checkout, a buyer's orders and a merchant's orders under `/api/v1`.
struct OrderAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("checkout", "preview", use: preview)
        routes.post("checkout", use: checkout)

        let mine = routes.grouped("me", "orders")
        mine.get(use: myOrders)
        mine.get(":orderID", use: myOrder)
        mine.post(":orderID", "cancel", use: cancel)
        mine.post(":orderID", "confirm-receipt", use: confirmReceipt)

        let merchant = routes.grouped("merchant", "orders")
        merchant.get(use: merchantOrders)
        merchant.get(":orderID", use: merchantOrder)
        merchant.post(":orderID", "ship", use: ship)
        merchant.post(":orderID", "price", use: changePrice)
        merchant.post(":orderID", "address", use: changeAddress)
    }

    // MARK: checkout

    @Sendable func preview(req: Request) async throws -> CheckoutPreviewDTO {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(CheckoutInput.self)
        let plan = try await CheckoutPlanner(db: req.db, memberID: memberID, now: req.now, locale: req.locale).plan(input)
        return CheckoutPreviewDTO(plan, req.locale, storage: req.application.imageStorage)
    }

    static func idempotencyKey(_ req: Request) throws -> String? {
        guard let key = req.headers.first(name: "Idempotency-Key") else { return nil }
        guard (1...64).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError(.badRequest, "invalid_idempotency_key", .init("Idempotency-Key 需为 1-64 个可见 ASCII 字符", "Idempotency-Key must be 1–64 visible ASCII characters"))
        }
        return key
    }

    /// Places the checkout. With an `Idempotency-Key`, the same key and body return the first
    /// result and create nothing; the same key with another body is refused.
    @Sendable func checkout(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(CheckoutInput.self)
        let key = try Self.idempotencyKey(req)
        let placed = try await CheckoutPlacement.place(input, memberID: memberID, key: key, req: req)
        return try await Self.result(placed.paymentID, req).encodeResponse(status: placed.placedNow ? .created : .ok, for: req)
    }

    static func result(_ paymentID: UUID, _ req: Request) async throws -> CheckoutResultDTO {
        guard let payment = try await Payment.find(paymentID, on: req.db) else { throw APIError.notFound }
        let orders = try await Order.query(on: req.db).filter(\.$paymentID == paymentID).sort(\.$placedAt).sort(\.$orderNo).all()
        return CheckoutResultDTO(payment: try PaymentDTO(payment, req.locale), orders: try await dtos(orders, req, timeline: false))
    }

    static func dtos(_ orders: [Order], _ req: Request, timeline: Bool) async throws -> [OrderDTO] {
        let ids = try orders.map { try $0.requireID() }
        guard !ids.isEmpty else { return [] }
        let lines = try await OrderLine.query(on: req.db).filter(\.$order.$id ~~ ids).all()
        let linesByOrder = Dictionary(grouping: lines, by: { $0.$order.id })
        let events = timeline ? try await OrderEvent.query(on: req.db).filter(\.$orderID ~~ ids).all() : []
        let eventsByOrder = Dictionary(grouping: events, by: \.orderID)
        let merchants = try await Merchant.query(on: req.db).filter(\.$id ~~ Set(orders.map(\.merchantID))).all()
        let names = Dictionary(merchants.compactMap { m in m.id.map { ($0, m.name) } }, uniquingKeysWith: { first, _ in first })
        return try orders.map { order in
            let id = try order.requireID()
            return try OrderDTO(order, merchantName: names[order.merchantID] ?? "", lines: linesByOrder[id] ?? [],
                                events: timeline ? eventsByOrder[id] ?? [] : nil, req: req)
        }
    }

    // MARK: buyer

    struct OrderListQuery: Content {
        let tab: String?
        let limit: Int?
    }

    @Sendable func myOrders(req: Request) async throws -> [OrderDTO] {
        let memberID = try req.requireMember().requireID()
        let query = try req.query.decode(OrderListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 20)
        var orders = Order.query(on: req.db).filter(\.$memberID == memberID)
        if let tabName = query.tab, tabName != OrderTab.all.rawValue {
            guard let tab = OrderTab(rawValue: tabName) else {
                throw APIError.validation([.init("tab", .init("未知的订单分类", "Unknown order tab"))])
            }
            orders = orders.filter(\.$state ~~ tab.states.map(\.rawValue))
            if tab == .awaitingReview { orders = orders.filter(\.$reviewed == false) }
            if tab == .afterSale { orders = orders.filter(\.$openAfterSales > 0) }
        }
        return try await Self.dtos(try await orders.sort(\.$placedAt, .descending).sort(\.$orderNo, .descending).limit(limit).all(), req, timeline: false)
    }

    static func ownOrder(_ req: Request, memberID: UUID, on db: any Database) async throws -> Order {
        guard let order = try await Order.query(on: db).filter(\.$id == (try req.uuidParameter("orderID"))).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return order
    }

    @Sendable func myOrder(req: Request) async throws -> OrderDTO {
        let memberID = try req.requireMember().requireID()
        let order = try await Self.ownOrder(req, memberID: memberID, on: req.db)
        return try await Self.dtos([order], req, timeline: true)[0]
    }

    /// Cancelling an unpaid order cancels its whole checkout: they share one payment.
    @Sendable func cancel(req: Request) async throws -> OrderDTO {
        let memberID = try req.requireMember().requireID()
        let orderID = try req.uuidParameter("orderID")
        let now = req.now
        try await req.writeTransaction { db in
            try await OrderService(db: db, now: now).cancelByBuyer(orderID, memberID: memberID)
        }
        return try await myOrder(req: req)
    }

    @Sendable func confirmReceipt(req: Request) async throws -> OrderDTO {
        let memberID = try req.requireMember().requireID()
        let orderID = try req.uuidParameter("orderID")
        let now = req.now
        try await req.writeTransaction { db in
            guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
            let service = OrderService(db: db, now: now)
            try await service.transition(order, .confirmReceipt, actor: .member(memberID), stamp: "received_at")
            try await service.enqueue("order.received", subject: orderID)
        }
        return try await myOrder(req: req)
    }

    // MARK: merchant

    @Sendable func merchantOrders(req: Request) async throws -> [OrderDTO] {
        let scope = try req.merchantScope()
        let query = try req.query.decode(OrderListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 50)
        var orders = Order.query(on: req.db).filter(\.$merchantID == scope.merchantID)
        if let tabName = query.tab, tabName != OrderTab.all.rawValue {
            guard let tab = OrderTab(rawValue: tabName) else {
                throw APIError.validation([.init("tab", .init("未知的订单分类", "Unknown order tab"))])
            }
            orders = orders.filter(\.$state ~~ tab.states.map(\.rawValue))
            if tab == .awaitingReview { orders = orders.filter(\.$reviewed == false) }
            if tab == .afterSale { orders = orders.filter(\.$openAfterSales > 0) }
        }
        return try await Self.dtos(try await orders.sort(\.$placedAt, .descending).sort(\.$orderNo, .descending).limit(limit).all(), req, timeline: false)
    }

    @Sendable func merchantOrder(req: Request) async throws -> OrderDTO {
        let scope = try req.merchantScope()
        guard let order = try await Order.query(on: req.db).filter(\.$id == (try req.uuidParameter("orderID")))
            .filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
        return try await Self.dtos([order], req, timeline: true)[0]
    }

    /// Ships the order in one or more parcels (see `ShipmentService.ship`).
    @Sendable func ship(req: Request) async throws -> OrderDTO {
        let scope = try req.merchantScope(.handleOrders)
        let staffID = try req.requireStaff(.handleOrders).requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(ShipInput.self)
        let (now, waybill) = (req.now, req.application.waybillProvider)
        try await req.writeTransaction { db in
            guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
            try await ShipmentService(db: db, now: now).ship(order: order, input, staffID: staffID, waybill: waybill)
        }
        return try await merchantOrder(req: req)
    }

    /// 改价 before payment (the shop's owner only: it changes what the buyer pays).
    @Sendable func changePrice(req: Request) async throws -> OrderDTO {
        let scope = try req.merchantScope(.manageShop)
        let staffID = try req.requireStaff(.manageShop).requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(PriceChangeInput.self)
        let now = req.now
        try await req.writeTransaction { db in
            guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
            try await OrderChanges(db: db, now: now).changePrice(order, input, staffID: staffID)
        }
        return try await merchantOrder(req: req)
    }

    /// A new delivery address before shipment.
    @Sendable func changeAddress(req: Request) async throws -> OrderDTO {
        let scope = try req.merchantScope(.handleOrders)
        let staffID = try req.requireStaff(.handleOrders).requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(AddressInput.self)
        let (now, cipher) = (req.now, req.personalData)
        try await req.writeTransaction { db in
            guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
            try await OrderChanges(db: db, now: now).changeAddress(order, input, cipher: cipher, staffID: staffID)
        }
        return try await merchantOrder(req: req)
    }
}
