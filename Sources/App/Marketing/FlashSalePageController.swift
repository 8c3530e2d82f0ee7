import Fluent
import Foundation
import MallCore
import Vapor

/// 限时秒杀 `/flash-sales` (today's sessions, with countdowns) and the operator's
/// `/admin/flash-sales` (the list with results, pause, resume and stop). Buying goes to the normal
/// checkout page with `?flash=<item>`.
struct FlashSalePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("flash-sales", use: board)
        routes.get("flash-sales", "tickets", ":ticketID", use: ticket)
        routes.get("admin", "flash-sales", use: admin)
        routes.post("admin", "flash-sales", ":flashSaleID", ":action", use: adminStatus)
    }

    struct BoardPage: Encodable, Sendable {
        struct Item: Encodable, Sendable {
            let id: String
            let title: String
            let image: String
            let price: String
            let normalPrice: String
            let limit: String
            let progress: Int64
            let state: String
            let stateLabel: String
            let seconds: Int64
            /// The countdown as first shown, before the script takes over.
            let clock: String
        }
        struct Session: Encodable, Sendable {
            let id: String
            let name: String
            let window: String
            let items: [Item]
        }
        let sessions: [Session]
    }

    @Sendable func board(req: Request) async throws -> Response {
        let board = try await FlashSaleQueries.today(req)
        let locale = req.locale
        let sessions = board.sessions.map { session in
            BoardPage.Session(
                id: session.id.uuidString, name: session.name,
                window: "\(PageDates.chinaMinute(session.startsAt)) – \(PageDates.chinaMinute(session.endsAt))",
                items: session.items.map { item in
                    BoardPage.Item(id: item.id.uuidString, title: item.title, image: item.image, price: item.price.display,
                                   normalPrice: item.normalPrice.display,
                                   limit: item.perMemberLimit.map { LocalizedText("每人限购 \($0) 件", "Limit \($0) per member")(locale) } ?? "",
                                   progress: item.progressPercent, state: item.state, stateLabel: item.stateLabel, seconds: item.seconds,
                                   clock: Self.clock(item.seconds))
                })
        }
        return try await req.page("marketing/flash-sales", BoardPage(sessions: sessions))
    }

    struct TicketPage: Encodable, Sendable {
        let status: String
        let label: String
        let message: String
    }

    /// The buyer's place in the queue: reloads itself each second while queued, goes on to the
    /// payment page once the order exists, says why when it could not be made.
    @Sendable func ticket(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        guard let id = req.parameters.get("ticketID").flatMap(UUID.init(uuidString:)),
              let ticket = try await FlashSaleTicket.query(on: req.db).filter(\.$id == id).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        let status = FlashSaleTicketStatus(rawValue: ticket.status) ?? .queued
        if status == .ordered, let paymentID = ticket.paymentID { return req.redirect(to: "/pay/\(paymentID.uuidString)") }
        let message = status == .failed ? (req.locale == .zhHans ? ticket.failureZh : ticket.failureEn) ?? "" : ""
        let response = try await req.page("marketing/flash-ticket", TicketPage(status: status.rawValue, label: status.name(req.locale), message: message))
        if status == .queued { response.headers.replaceOrAdd(name: "Refresh", value: "1") }
        return response
    }

    /// 3 725 → "01:02:05".
    static func clock(_ seconds: Int64) -> String {
        let left = max(0, seconds)
        return String(format: "%02lld:%02lld:%02lld", left / 3_600, left % 3_600 / 60, left % 60)
    }

    struct AdminPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let name: String
            let sessions: String
            let payer: String
            let commission: String
            let units: Int64
            let sales: String
            let cost: String
            let status: String
            let statusLabel: String
        }
        let rows: [Row]
    }

    @Sendable func admin(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let activities = try await FlashSaleActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(FlashSaleService.listLimit).all()
        let dtos = try await FlashSaleAPIController.dtos(activities, req: req)
        let service = FlashSaleService(db: req.db, now: req.now)
        let locale = req.locale
        var rows: [AdminPage.Row] = []
        for (activity, dto) in zip(activities, dtos) {
            let results = try await service.results(activity)
            rows.append(.init(
                id: dto.id.uuidString, name: dto.name,
                sessions: dto.sessions.map { "\(PageDates.chinaMinute($0.startsAt)) – \(PageDates.chinaMinute($0.endsAt))" }.joined(separator: "；"),
                payer: dto.owner == "platform" ? LocalizedText("平台", "Platform")(locale) : LocalizedText("店铺", "Shop")(locale),
                commission: dto.paysCommission ? LocalizedText("分佣", "Pays")(locale) : LocalizedText("不分佣", "None")(locale),
                units: results.unitsSold, sales: Money(fen: results.salesFen).formatted(locale), cost: Money(fen: results.discountCostFen).formatted(locale),
                status: dto.status, statusLabel: dto.statusLabel))
        }
        return try await req.page("console/flash-sales", AdminPage(rows: rows))
    }

    @Sendable func adminStatus(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("flashSaleID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/flash-sales") {
            let status: FlashSaleStatus = switch req.parameters.get("action") ?? "" {
            case "pause": .paused
            case "resume": .active
            case "stop": .stopped
            default: throw APIError.notFound
            }
            try await req.writeTransaction { db in
                _ = try await FlashSaleService(db: db, now: now).setStatus(id, to: status, merchantID: nil)
                try await AuditLog.record(on: db, actor: staff, action: "flash_sale.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            }
        }
    }
}
