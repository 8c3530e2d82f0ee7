import Fluent
import Foundation
import MallCore
import Vapor

/// A buyer's orders and after-sales pages.
struct OrderPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("orders", use: list)
        routes.get("orders", ":orderID", use: detail)
        routes.post("orders", ":orderID", "cancel", use: cancel)
        routes.post("orders", ":orderID", "confirm", use: confirm)
        routes.get("orders", ":orderID", "codes", ":codeID", use: codePicture)
        routes.get("orders", ":orderID", "after-sale", use: afterSaleForm)
        routes.post("orders", ":orderID", "after-sale", use: requestAfterSale)
        routes.get("after-sales", ":afterSaleID", use: afterSale)
        routes.post("after-sales", ":afterSaleID", use: afterSaleAction)
    }

    struct Tab: Encodable, Sendable { let key: String; let label: String; let count: Int; let current: Bool }

    struct OrderCard: Encodable, Sendable {
        struct Line: Encodable, Sendable {
            let title: String; let specText: String; let image: String; let price: String; let quantity: Int64; let id: String; let refunded: Int64
            var gift = false
        }
        let id: String
        let orderNo: String
        let merchantName: String
        let state: String
        let stateLabel: String
        let payable: String
        let lines: [Line]
        let canPay: Bool
        let paymentId: String
    }

    static func cards(_ orders: [OrderDTO]) -> [OrderCard] {
        orders.map { order in
            OrderCard(id: order.id.uuidString, orderNo: order.orderNo, merchantName: order.merchantName, state: order.state, stateLabel: order.stateLabel,
                      payable: order.payable.display,
                      lines: order.lines.map { .init(title: $0.title, specText: $0.specText, image: $0.image?.url ?? "", price: $0.unitPrice.display,
                                                     quantity: $0.quantity, id: $0.id.uuidString, refunded: $0.refundedQuantity, gift: $0.isGift) },
                      canPay: order.state == OrderState.pendingPayment.rawValue, paymentId: order.paymentId.uuidString)
        }
    }

    /// 全部 / 待付款 / 待发货 / 待收货 / 待评价 / 售后, each with its count.
    static func tabs(memberID: UUID, current: OrderTab, req: Request) async throws -> [Tab] {
        var tabs: [Tab] = []
        for tab in OrderTab.allCases {
            var query = Order.query(on: req.db).filter(\.$memberID == memberID)
            if tab != .all { query = query.filter(\.$state ~~ tab.states.map(\.rawValue)) }
            if tab == .awaitingReview { query = query.filter(\.$reviewed == false) }
            if tab == .afterSale { query = query.filter(\.$openAfterSales > 0) }
            tabs.append(Tab(key: tab.rawValue, label: PageStrings.shopping["tab_\(tab.rawValue)"]?(req.locale) ?? tab.rawValue,
                            count: try await query.count(), current: tab == current))
        }
        return tabs
    }

    struct ListPage: Encodable, Sendable {
        let tabs: [Tab]
        let orders: [OrderCard]
        let isEmpty: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        let tab = (try? req.query.get(String.self, at: "tab")).flatMap(OrderTab.init(rawValue:)) ?? .all
        var query = Order.query(on: req.db).filter(\.$memberID == memberID)
        if tab != .all { query = query.filter(\.$state ~~ tab.states.map(\.rawValue)) }
        if tab == .awaitingReview { query = query.filter(\.$reviewed == false) }
        if tab == .afterSale { query = query.filter(\.$openAfterSales > 0) }
        let orders = try await query.sort(\.$placedAt, .descending).sort(\.$orderNo, .descending).limit(50).all()
        let dtos = try await OrderAPIController.dtos(orders, req, timeline: false)
        return try await req.page("orders/list", ListPage(tabs: try await Self.tabs(memberID: memberID, current: tab, req: req),
                                                          orders: Self.cards(dtos), isEmpty: dtos.isEmpty))
    }

    struct DetailPage: Encodable, Sendable {
        struct Event: Encodable, Sendable { let label: String; let at: String; let reason: String }
        struct Code: Encodable, Sendable { let id: String; let code: String; let used: Bool }
        struct Sale: Encodable, Sendable { let id: String; let label: String; let amount: String }
        let order: OrderCard
        let fulfilment: String
        let goodsAmount: String
        let shippingFee: String
        let discountAmount: String
        /// Each saving as the checkout showed it (「满减 平台满减 满199减20」 -¥20.00).
        let savings: [ShoppingPageController.Saving]
        /// The shop's 改价 on the goods, signed ("-¥20.00").
        let adjustmentAmount: String
        let hasAdjustment: Bool
        let refundedAmount: String
        let hasRefund: Bool
        let address: String
        let storeName: String
        let note: String
        let placedAt: String
        let timeline: [Event]
        let codes: [Code]
        let hasCodes: Bool
        let afterSales: [Sale]
        let canCancel: Bool
        let canConfirm: Bool
        let canAfterSale: Bool
        let canReview: Bool
    }

    static func ownOrder(_ req: Request, member: Member) async throws -> Order {
        try await OrderAPIController.ownOrder(req, memberID: try member.requireID(), on: req.db)
    }

    @Sendable func detail(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await Self.ownOrder(req, member: member)
        let orderID = try order.requireID()
        let dto = try await OrderAPIController.dtos([order], req, timeline: true)[0]
        let codes = try await RedemptionCodeRecord.query(on: req.db).filter(\.$orderID == orderID).sort(\.$issuedAt).sort(\.$code).all()
        let sales = try await AfterSale.query(on: req.db).filter(\.$orderID == orderID).sort(\.$createdAt).all()
        let store = try await order.pickupStoreID.asyncMap { try await Store.find($0, on: req.db) } ?? nil
        let address = dto.address.map { "\($0.receiverName) \($0.phone) \($0.province)\($0.city)\($0.district)\($0.detail)" } ?? ""
        let state = order.orderState
        let savings = try await OrderSavings.rows(orderID: orderID, on: sqlDatabase(req.db)).map { row in
            ShoppingPageController.Saving(label: ShoppingPageController.savingName(DiscountKind(rawValue: row.kind) ?? .other, row.label,
                                                                                   pointsUsed: Int64(row.label) ?? 0, req.locale),
                                          amount: "-" + Money(fen: row.amount).formatted(req.locale))
        }
        return try await req.page("orders/detail", DetailPage(
            order: Self.cards([dto])[0], fulfilment: PageStrings.shopping[order.fulfilment]?(req.locale) ?? order.fulfilment,
            goodsAmount: dto.goodsAmount.display, shippingFee: dto.shippingFee.display, discountAmount: dto.discountAmount.display, savings: savings,
            adjustmentAmount: dto.adjustmentAmount.display, hasAdjustment: order.adjustmentAmount != 0,
            refundedAmount: dto.refundedAmount.display, hasRefund: order.refundedAmount > 0, address: address, storeName: store?.name ?? "",
            note: dto.note, placedAt: PageFormat.timeFormatter.string(from: dto.placedAt),
            timeline: (dto.timeline ?? []).reversed().map { .init(label: $0.stateLabel, at: PageFormat.timeFormatter.string(from: $0.at), reason: $0.reason) },
            codes: codes.compactMap { code in code.id.map { .init(id: $0.uuidString, code: code.code, used: code.usedAt != nil) } }, hasCodes: !codes.isEmpty,
            afterSales: sales.compactMap { sale in sale.id.map { .init(id: $0.uuidString, label: "\(sale.afterSaleKind.label(req.locale)) · \(sale.afterSaleState.label(req.locale))",
                                                                          amount: Money(fen: sale.amount + sale.shippingAmount).formatted(req.locale)) } },
            canCancel: state == .pendingPayment, canConfirm: state == .shipped, canAfterSale: [.paid, .shipped, .received].contains(state),
            canReview: [.received, .completed].contains(state) && !order.reviewed))
    }

    /// The code as a QR picture for the store's scanner; only the buyer sees it.
    @Sendable func codePicture(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { throw APIError.unauthenticated }
        let order = try await Self.ownOrder(req, member: member)
        guard let record = try await RedemptionCodeRecord.query(on: req.db).filter(\.$id == (try req.uuidParameter("codeID")))
            .filter(\.$orderID == order.requireID()).first() else { throw APIError.notFound }
        var headers = HTTPHeaders()
        headers.contentType = .png
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return Response(status: .ok, headers: headers, body: .init(data: Data(try QRCode.matrix(for: record.code).png())))
    }

    static func redirectBack(_ req: Request, _ path: String, after body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            // A form's field messages say more than "please check" and there is no field to show them at.
            req.session.data["flash"] = apiError.details.isEmpty
                ? apiError.message(req.locale) : apiError.details.map { $0.message(req.locale) }.joined(separator: req.locale == .zhHans ? "；" : "; ")
        }
        return req.redirect(to: path)
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await Self.ownOrder(req, member: member)
        let (memberID, orderID, now) = (try member.requireID(), try order.requireID(), req.now)
        return try await Self.redirectBack(req, "/orders/\(orderID.uuidString)") {
            try await req.writeTransaction { db in
                try await OrderService(db: db, now: now).cancelByBuyer(orderID, memberID: memberID)
            }
        }
    }

    @Sendable func confirm(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await Self.ownOrder(req, member: member)
        let (memberID, orderID, now) = (try member.requireID(), try order.requireID(), req.now)
        return try await Self.redirectBack(req, "/orders/\(orderID.uuidString)") {
            try await req.writeTransaction { db in
                guard let fresh = try await Order.find(orderID, on: db) else { throw APIError.notFound }
                let service = OrderService(db: db, now: now)
                try await service.transition(fresh, .confirmReceipt, actor: .member(memberID), stamp: "received_at")
                try await service.enqueue("order.received", subject: orderID)
            }
        }
    }

    struct AfterSaleFormPage: Encodable, Sendable {
        let orderId: String
        let lines: [OrderCard.Line]
        let selectedLine: String
        let shipped: Bool
    }

    @Sendable func afterSaleForm(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await Self.ownOrder(req, member: member)
        return try await req.page("orders/after-sale-form", try await Self.formPage(order, req: req))
    }

    static func formPage(_ order: Order, req: Request) async throws -> AfterSaleFormPage {
        let dto = try await OrderAPIController.dtos([order], req, timeline: false)[0]
        return AfterSaleFormPage(orderId: dto.id.uuidString, lines: cards([dto])[0].lines,
                                 selectedLine: (try? req.query.get(String.self, at: "line")) ?? "", shipped: order.orderState != .paid)
    }

    @Sendable func requestAfterSale(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await Self.ownOrder(req, member: member)
        let form = req.formFields
        let amount = form.first("amount").flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        let input: AfterSaleInput
        do {
            input = AfterSaleInput(lineId: UUID(uuidString: form.first("line") ?? "") ?? UUID(), kind: form.first("kind") ?? "",
                                   units: Int64(form.first("units") ?? "") ?? -1, amountFen: try amount.map { try Money.parse($0).fen },
                                   reason: form.first("reason") ?? "", photos: nil)
        } catch {
            return try await req.pageAfterFailure(error, "orders/after-sale-form", try await Self.formPage(order, req: req))
        }
        let (memberID, orderID, now) = (try member.requireID(), try order.requireID(), req.now)
        do {
            let sale = try await req.writeTransaction { db in try await AfterSaleService(db: db, now: now).request(orderID: orderID, memberID: memberID, input) }
            return req.redirect(to: "/after-sales/\(try sale.requireID().uuidString)")
        } catch {
            return try await req.pageAfterFailure(error, "orders/after-sale-form", try await Self.formPage(order, req: req))
        }
    }

    struct AfterSalePage: Encodable, Sendable {
        let sale: AfterSaleDTO
        let total: String
        let canCancel: Bool
        let canAppeal: Bool
        let canShipReturn: Bool
    }

    @Sendable func afterSale(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let sale = try await AfterSaleAPIController.own(req, memberID: try member.requireID(), on: req.db)
        let dto = try await AfterSaleAPIController.dto(sale, req, timeline: true)
        let actions = AfterSaleStateMachine.actions(in: sale.afterSaleState, kind: sale.afterSaleKind)
        return try await req.page("orders/after-sale", AfterSalePage(
            sale: dto, total: Money(fen: sale.amount + sale.shippingAmount).formatted(req.locale),
            canCancel: actions.contains(.cancel), canAppeal: actions.contains(.appeal), canShipReturn: actions.contains(.shipReturn)))
    }

    @Sendable func afterSaleAction(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let sale = try await AfterSaleAPIController.own(req, memberID: try member.requireID(), on: req.db)
        let (memberID, saleID, form) = (try member.requireID(), try sale.requireID(), req.formFields)
        let path = "/after-sales/\(saleID.uuidString)"
        return try await Self.redirectBack(req, path) {
            let now = req.now
            let refund: Refund? = try await req.writeTransaction { db in
                guard let fresh = try await AfterSale.find(saleID, on: db) else { throw APIError.notFound }
                let service = AfterSaleService(db: db, now: now)
                switch form.first("action") {
                case "cancel":
                    return try await service.move(fresh, .cancel, actor: .member(memberID))
                case "appeal":
                    let reason = try AfterSaleAPIController.text(form.first("reason") ?? "", field: "reason", max: 200)
                    let refund = try await service.move(fresh, .appeal, actor: .member(memberID), note: reason)
                    fresh.appealReason = reason
                    try await fresh.save(on: db)
                    return refund
                case "ship_return":
                    let carrier = try AfterSaleAPIController.text(form.first("carrier") ?? "", field: "carrier", max: 30)
                    let tracking = try AfterSaleAPIController.text(form.first("trackingNo") ?? "", field: "trackingNo", max: 40)
                    let refund = try await service.move(fresh, .shipReturn, actor: .member(memberID), note: "\(carrier) \(tracking)")
                    fresh.returnCarrier = carrier
                    fresh.returnTrackingNo = tracking
                    try await fresh.save(on: db)
                    return refund
                default:
                    throw APIError.validation([.init("action", .init("未知的操作", "Unknown action"))])
                }
            }
            if let id = refund?.id { try? await RefundService.send(id, app: req.application) }
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
