import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's console: every shop's orders, and the appeals the platform decides.
struct OperatorConsolePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", "orders", use: orders)
        routes.get("admin", "disputes", use: disputes)
        routes.post("admin", "disputes", ":afterSaleID", use: decide)
    }

    static func platformRole(_ req: Request) -> StaffRole? {
        guard case .staff(_, let role) = req.principal, role.isPlatform else { return nil }
        return role
    }

    struct OrdersPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let orderNo: String
            let merchantName: String
            let state: String
            let payable: String
            let refunded: String
            let placedAt: String
        }
        let tabs: [OrderConsolePageController.OrdersPage.Tab]
        let rows: [Row]
        let isEmpty: Bool
        let query: String
    }

    @Sendable func orders(req: Request) async throws -> Response {
        guard Self.platformRole(req) != nil else { return req.redirect(to: "/admin/login") }
        let tab = (try? req.query.get(String.self, at: "tab")).flatMap(OrderTab.init(rawValue:)) ?? .all
        // An order number is digits; anything else finds nothing rather than scanning.
        let number = ((try? req.query.get(String.self, at: "q")) ?? "").trimmingCharacters(in: .whitespaces)
        var query = Order.query(on: req.db)
        if !number.isEmpty { query = query.filter(\.$orderNo == String(number.prefix(40))) }
        if tab != .all { query = query.filter(\.$state ~~ tab.states.map(\.rawValue)) }
        if tab == .afterSale { query = query.filter(\.$openAfterSales > 0) }
        let orders = try await query.sort(\.$placedAt, .descending).sort(\.$orderNo, .descending).limit(100).all()
        let merchants = try await Merchant.query(on: req.db).filter(\.$id ~~ Set(orders.map(\.merchantID))).all()
        let names = Dictionary(merchants.compactMap { m in m.id.map { ($0, m.name) } }, uniquingKeysWith: { first, _ in first })
        let tabs = [OrderTab.all, .pendingPayment, .awaitingShipment, .awaitingReceipt, .afterSale].map { item in
            OrderConsolePageController.OrdersPage.Tab(key: item.rawValue, label: PageStrings.shopping["tab_\(item.rawValue)"]?(req.locale) ?? item.rawValue,
                                                     current: item == tab)
        }
        let rows = orders.map { order in
            OrdersPage.Row(orderNo: order.orderNo, merchantName: names[order.merchantID] ?? "",
                           state: order.orderState.label(req.locale, fulfilment: order.fulfilmentKind),
                           payable: Money(fen: order.payable).formatted(req.locale),
                           refunded: order.refundedAmount > 0 ? Money(fen: order.refundedAmount).formatted(req.locale) : "",
                           placedAt: PageFormat.timeFormatter.string(from: order.placedAt))
        }
        return try await req.page("console/admin-orders", OrdersPage(tabs: tabs, rows: rows, isEmpty: rows.isEmpty, query: number))
    }

    struct DisputesPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let afterSaleNo: String
            let merchantName: String
            let kind: String
            let amount: String
            let reason: String
            let merchantNote: String
            let appealReason: String
        }
        let rows: [Row]
        let isEmpty: Bool
        let canDecide: Bool
    }

    @Sendable func disputes(req: Request) async throws -> Response {
        guard let role = Self.platformRole(req) else { return req.redirect(to: "/admin/login") }
        let sales = try await AfterSale.query(on: req.db).filter(\.$state == AfterSaleState.appealed.rawValue).sort(\.$createdAt).limit(100).all()
        let merchants = try await Merchant.query(on: req.db).filter(\.$id ~~ Set(sales.map(\.merchantID))).all()
        let storage = req.application.imageStorage
        let rows = try sales.map { sale in
            let dto = try AfterSaleDTO(sale, events: nil, req.locale, storage: storage)
            return DisputesPage.Row(id: dto.id.uuidString, afterSaleNo: dto.afterSaleNo,
                                    merchantName: merchants.first { $0.id == sale.merchantID }?.name ?? "", kind: dto.kindLabel,
                                    amount: dto.amount.display, reason: dto.reason, merchantNote: dto.merchantNote, appealReason: dto.appealReason)
        }
        return try await req.page("console/disputes", DisputesPage(rows: rows, isEmpty: rows.isEmpty, canDecide: role.can(.handleDisputes)))
    }

    @Sendable func decide(req: Request) async throws -> Response {
        guard Self.platformRole(req) != nil else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/disputes") {
            _ = try await AfterSaleAPIController.decideAppeal(req, input: AppealDecisionInput(approve: form.first("decision") == "approve",
                                                                                               reason: form.first("reason") ?? ""))
        }
    }
}
