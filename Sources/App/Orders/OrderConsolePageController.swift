import Fluent
import Foundation
import MallCore
import Vapor

/// The merchant console's orders, after-sales and counter redemption.
struct OrderConsolePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("merchant", "orders", use: orders)
        routes.get("merchant", "orders", ":orderID", use: order)
        routes.post("merchant", "orders", ":orderID", "ship", use: ship)
        routes.post("merchant", "orders", ":orderID", "price", use: changePrice)
        routes.post("merchant", "orders", ":orderID", "address", use: changeAddress)
        routes.get("merchant", "after-sales", use: afterSales)
        routes.post("merchant", "after-sales", ":afterSaleID", use: afterSaleAction)
        routes.get("merchant", "redeem", use: redeemForm)
        routes.post("merchant", "redeem", use: redeem)
    }

    static func staff(_ req: Request) -> (StaffUser, MerchantScope)? {
        guard case .staff(let staff, let role) = req.principal, !role.isPlatform, let scope = try? req.merchantScope() else { return nil }
        return (staff, scope)
    }

    struct OrdersPage: Encodable, Sendable {
        struct Tab: Encodable, Sendable { let key: String; let label: String; let current: Bool }
        let tabs: [Tab]
        let orders: [OrderPageController.OrderCard]
        let isEmpty: Bool
    }

    @Sendable func orders(req: Request) async throws -> Response {
        guard let (_, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let tab = (try? req.query.get(String.self, at: "tab")).flatMap(OrderTab.init(rawValue:)) ?? .all
        var query = Order.query(on: req.db).filter(\.$merchantID == scope.merchantID)
        if tab != .all { query = query.filter(\.$state ~~ tab.states.map(\.rawValue)) }
        if tab == .afterSale { query = query.filter(\.$openAfterSales > 0) }
        let orders = try await query.sort(\.$placedAt, .descending).sort(\.$orderNo, .descending).limit(100).all()
        let dtos = try await OrderAPIController.dtos(orders, req, timeline: false)
        let tabs = [OrderTab.all, .pendingPayment, .awaitingShipment, .awaitingReceipt, .afterSale].map { item in
            OrdersPage.Tab(key: item.rawValue, label: PageStrings.shopping["tab_\(item.rawValue)"]?(req.locale) ?? item.rawValue, current: item == tab)
        }
        return try await req.page("console/orders", OrdersPage(tabs: tabs, orders: OrderPageController.cards(dtos), isEmpty: dtos.isEmpty))
    }

    struct OrderPage: Encodable, Sendable {
        struct Province: Encodable, Sendable { let code: String; let name: String; let selected: Bool }
        let order: OrderPageController.OrderCard
        let fulfilment: String
        let address: String
        let note: String
        let shippingFee: String
        let canShip: Bool
        /// 改价: unpaid, the owner, and no provider's cashier opened yet.
        let canChangePrice: Bool
        let canChangeAddress: Bool
        let goodsTotal: String
        let receiverName: String
        let city: String
        let district: String
        let detail: String
        let provinces: [Province]
        let timeline: [OrderPageController.DetailPage.Event]
    }

    static func shopOrder(_ req: Request, scope: MerchantScope) async throws -> Order {
        guard let order = try await Order.query(on: req.db).filter(\.$id == (try req.uuidParameter("orderID"))).filter(\.$merchantID == scope.merchantID).first() else {
            throw APIError.notFound
        }
        return order
    }

    @Sendable func order(req: Request) async throws -> Response {
        guard let (_, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let order = try await Self.shopOrder(req, scope: scope)
        let dto = try await OrderAPIController.dtos([order], req, timeline: true)[0]
        let payment = try await Payment.find(order.paymentID, on: req.db)
        let express = order.fulfilmentKind == .express
        return try await req.page("console/order", OrderPage(
            order: OrderPageController.cards([dto])[0], fulfilment: PageStrings.shopping[order.fulfilment]?(req.locale) ?? order.fulfilment,
            address: dto.address.map { "\($0.receiverName) \($0.phone) \($0.province)\($0.city)\($0.district)\($0.detail)" } ?? "",
            note: dto.note, shippingFee: dto.shippingFee.display,
            canShip: order.orderState == .paid && express && req.principalCan(.handleOrders),
            canChangePrice: order.orderState == .pendingPayment && payment?.provider == "" && req.principalCan(.manageShop),
            canChangeAddress: [.pendingPayment, .paid].contains(order.orderState) && express && req.principalCan(.handleOrders),
            goodsTotal: Money(fen: order.payable - order.shippingFee).formatted(),
            receiverName: order.receiverName, city: order.city, district: order.district, detail: order.addressDetail,
            provinces: ChinaRegions.provinces.map { .init(code: $0.code, name: $0.name(req.locale), selected: $0.code == order.provinceCode) },
            timeline: (dto.timeline ?? []).reversed().map { .init(label: $0.stateLabel, at: PageFormat.timeFormatter.string(from: $0.at), reason: $0.reason) }))
    }

    @Sendable func changePrice(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let order = try await Self.shopOrder(req, scope: scope)
        let (orderID, staffID, now, form) = (try order.requireID(), try staff.requireID(), req.now, req.formFields)
        return try await OrderPageController.redirectBack(req, "/merchant/orders/\(orderID.uuidString)") {
            _ = try req.requireStaff(.manageShop)
            func fen(_ name: String) throws -> Int64? {
                guard let text = form.first(name)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
                do { return try Money.parse(text).fen } catch {
                    throw APIError.validation([.init(name, .init("金额格式不正确，例如 99.90", "Not an amount, e.g. 99.90"))])
                }
            }
            let input = PriceChangeInput(goodsTotalFen: try fen("goodsTotal"), shippingFeeFen: try fen("shippingFee"), reason: form.first("reason"))
            try await req.writeTransaction { db in
                guard let fresh = try await Order.find(orderID, on: db) else { throw APIError.notFound }
                try await OrderChanges(db: db, now: now).changePrice(fresh, input, staffID: staffID)
            }
        }
    }

    @Sendable func changeAddress(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let order = try await Self.shopOrder(req, scope: scope)
        let (orderID, staffID, now, form, cipher) = (try order.requireID(), try staff.requireID(), req.now, req.formFields, req.personalData)
        return try await OrderPageController.redirectBack(req, "/merchant/orders/\(orderID.uuidString)") {
            _ = try req.requireStaff(.handleOrders)
            let input = AddressInput(receiverName: form.first("receiverName"), phone: form.first("phone"), provinceCode: form.first("provinceCode"),
                                     city: form.first("city"), district: form.first("district"), detail: form.first("detail"), isDefault: nil)
            try await req.writeTransaction { db in
                guard let fresh = try await Order.find(orderID, on: db) else { throw APIError.notFound }
                try await OrderChanges(db: db, now: now).changeAddress(fresh, input, cipher: cipher, staffID: staffID)
            }
        }
    }

    @Sendable func ship(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let order = try await Self.shopOrder(req, scope: scope)
        let (orderID, staffID, now, form) = (try order.requireID(), try staff.requireID(), req.now, req.formFields)
        return try await OrderPageController.redirectBack(req, "/merchant/orders/\(orderID.uuidString)") {
            _ = try req.requireStaff(.handleOrders)
            let carrier = try AfterSaleAPIController.text(form.first("carrier") ?? "", field: "carrier", max: 30)
            let tracking = try AfterSaleAPIController.text(form.first("trackingNo") ?? "", field: "trackingNo", max: 40)
            let waybill = req.application.waybillProvider
            try await req.writeTransaction { db in
                guard let fresh = try await Order.find(orderID, on: db) else { throw APIError.notFound }
                _ = try await ShipmentService(db: db, now: now).ship(order: fresh, ShipInput(parcels: nil, carrier: carrier, trackingNo: tracking),
                                                                     staffID: staffID, waybill: waybill)
            }
        }
    }

    struct AfterSalesPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let afterSaleNo: String
            let orderId: String
            let line: String
            let kind: String
            let state: String
            let amount: String
            let reason: String
            let returnTracking: String
            let canDecide: Bool
            let canConfirmReturn: Bool
        }
        let rows: [Row]
        let isEmpty: Bool
    }

    @Sendable func afterSales(req: Request) async throws -> Response {
        guard let (_, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let sales = try await AfterSale.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$createdAt, .descending).limit(100).all()
        let lines = try await OrderLine.query(on: req.db).filter(\.$id ~~ sales.map(\.orderLineID)).all()
        let canHandle = req.principalCan(.handleOrders)
        let rows = sales.compactMap { sale -> AfterSalesPage.Row? in
            guard let id = sale.id else { return nil }
            let line = lines.first { $0.id == sale.orderLineID }
            let actions = AfterSaleStateMachine.actions(in: sale.afterSaleState, kind: sale.afterSaleKind)
            return .init(id: id.uuidString, afterSaleNo: sale.afterSaleNo, orderId: sale.orderID.uuidString,
                         line: line.map { "\($0.title) \($0.specText) × \(sale.units)" } ?? "", kind: sale.afterSaleKind.label(req.locale),
                         state: sale.afterSaleState.label(req.locale), amount: Money(fen: sale.amount + sale.shippingAmount).formatted(req.locale),
                         reason: sale.reason, returnTracking: sale.returnTrackingNo.isEmpty ? "" : "\(sale.returnCarrier) \(sale.returnTrackingNo)",
                         canDecide: canHandle && actions.contains(.reject), canConfirmReturn: canHandle && actions.contains(.confirmReturn))
        }
        return try await req.page("console/after-sales", AfterSalesPage(rows: rows, isEmpty: rows.isEmpty))
    }

    @Sendable func afterSaleAction(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let saleID = try req.uuidParameter("afterSaleID")
        let (staffID, now, form) = (try staff.requireID(), req.now, req.formFields)
        return try await OrderPageController.redirectBack(req, "/merchant/after-sales") {
            _ = try req.requireStaff(.handleOrders)
            let refund: Refund? = try await req.writeTransaction { db in
                guard let sale = try await AfterSale.query(on: db).filter(\.$id == saleID).filter(\.$merchantID == scope.merchantID).first() else { throw APIError.notFound }
                let service = AfterSaleService(db: db, now: now)
                switch form.first("action") {
                case "approve": return try await service.move(sale, .approve, actor: .staff(staffID))
                case "confirm_return": return try await service.move(sale, .confirmReturn, actor: .staff(staffID))
                case "reject":
                    let reason = try AfterSaleAPIController.text(form.first("reason") ?? "", field: "reason", max: 200)
                    let refund = try await service.move(sale, .reject, actor: .staff(staffID), note: reason)
                    sale.merchantNote = reason
                    try await sale.save(on: db)
                    return refund
                default: throw APIError.validation([.init("action", .init("未知的操作", "Unknown action"))])
                }
            }
            if let id = refund?.id { try? await RefundService.send(id, app: req.application) }
        }
    }

    struct RedeemPage: Encodable, Sendable {
        struct StoreOption: Encodable, Sendable { let id: String; let name: String }
        let stores: [StoreOption]
        let fixedStore: String
        let result: String
    }

    static func redeemPage(_ req: Request, staff: StaffUser, scope: MerchantScope, result: String = "") async throws -> RedeemPage {
        let stores = try await scope.query(Store.self, on: req.db).filter(\.$active == true).sort(\.$name).all()
        return RedeemPage(stores: stores.compactMap { store in store.id.map { .init(id: $0.uuidString, name: store.name) } },
                          fixedStore: staff.$store.id.flatMap { id in stores.first { $0.id == id }?.name } ?? "", result: result)
    }

    @Sendable func redeemForm(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        return try await req.page("console/redeem", try await Self.redeemPage(req, staff: staff, scope: scope))
    }

    @Sendable func redeem(req: Request) async throws -> Response {
        guard let (staff, scope) = Self.staff(req) else { return req.redirect(to: "/merchant/login") }
        let form = req.formFields
        do {
            let (_, order) = try await RedemptionAPIController.redeemAtCounter(req, code: form.first("code") ?? "",
                                                                                storeID: form.first("store").flatMap(UUID.init(uuidString:)))
            let text = "\(PageStrings.shopping["redeemed"]?(req.locale) ?? "") · \(PageStrings.shopping["order_no"]?(req.locale) ?? "") \(order.orderNo)"
            return try await req.page("console/redeem", try await Self.redeemPage(req, staff: staff, scope: scope, result: text))
        } catch {
            return try await req.pageAfterFailure(error, "console/redeem", try await Self.redeemPage(req, staff: staff, scope: scope))
        }
    }
}

extension Request {
    /// Whether the signed-in staff member's role has the permission, for showing or hiding actions.
    func principalCan(_ permission: Permission) -> Bool {
        if case .staff(_, let role) = principal { return role.can(permission) }
        return false
    }
}
