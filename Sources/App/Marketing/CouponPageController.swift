import Fluent
import Foundation
import MallCore
import Vapor

/// 领券中心 `/coupons`, 我的优惠券 `/me/coupons` and the operator's `/admin/coupons`. Forms post back
/// here and redirect; each change goes through the same service as the API.
struct CouponPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("coupons", use: centre)
        routes.post("coupons", ":templateID", "claim", use: claim)
        routes.get("me", "coupons", use: mine)
        routes.get("admin", "coupons", use: admin)
        routes.post("admin", "coupons", use: adminCreate)
        routes.post("admin", "coupons", ":templateID", ":action", use: adminStatus)
    }

    struct CentrePage: Encodable, Sendable {
        let offers: [CouponOfferDTO]
        let signedIn: Bool
    }

    @Sendable func centre(req: Request) async throws -> Response {
        let member = ShoppingPageController.member(req)
        let offers = try await CouponQueries.offers(on: req.db, memberID: member?.id, now: req.now, locale: req.locale)
        let response = try await req.page("marketing/coupon-centre", CentrePage(offers: offers, signedIn: member != nil))
        FarmClient.ensureVisitorCookie(req, on: response)
        return response
    }

    @Sendable func claim(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let (memberID, id, now, client) = (try member.requireID(), try req.uuidParameter("templateID"), req.now, FarmClient(req))
        return try await OrderPageController.redirectBack(req, "/coupons") {
            try await req.writeTransaction { db in
                _ = try await CouponService(db: db, now: now).claim(templateID: id, memberID: memberID, source: "claim", listedOnly: true, client: client)
            }
            req.flash(CouponPageStrings.table["cp_claimed_flash"] ?? .init("领取成功", "Claimed"))
        }
    }

    struct MinePage: Encodable, Sendable {
        let coupons: [MemberCouponDTO]
        let validUntil: [String]
    }

    @Sendable func mine(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let coupons = try await CouponQueries.memberCoupons(on: req.db, memberID: member.requireID(), now: req.now, locale: req.locale)
        return try await req.page("marketing/my-coupons", MinePage(coupons: coupons, validUntil: coupons.map { PageDates.chinaMinute($0.validUntil) }))
    }

    // MARK: operator

    struct AdminPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let name: String
            let summary: String
            let issued: String
            let status: String
            let statusLabel: String
        }
        let rows: [Row]
        /// The newest 发券任务 of every coupon, with their progress.
        let jobs: [CouponSendPageController.JobRow]
    }

    @Sendable func admin(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let templates = try await CouponTemplate.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(CouponAPIController.listLimit).all()
        let rows = try templates.map { template in
            let dto = try CouponTemplateDTO(template, req.locale)
            return AdminPage.Row(id: dto.id.uuidString, name: dto.name, summary: dto.summary,
                                 issued: dto.totalCount.map { "\(dto.issued) / \($0)" } ?? "\(dto.issued)", status: dto.status, statusLabel: dto.statusLabel)
        }
        let jobs = try await CouponSendJobQueries.list(on: req.db, merchantID: nil, templateID: nil, limit: 20, locale: req.locale)
        return try await req.page("console/coupons", AdminPage(rows: rows, jobs: jobs.map(CouponSendPageController.JobRow.init)))
    }

    /// Yuan as typed ("19.9") to fen; nil for blank, and a field error for anything else.
    /// A console form's optional whole number: blank is nil, anything else must be an integer.
    static func wholeNumber(_ text: String?, field: String) throws -> Int64? {
        let trimmed = (text ?? "").trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        guard trimmed.count <= 12, let value = Int64(trimmed) else {
            throw APIError.validation([.init(field, .init("请输入整数", "Enter a whole number"))])
        }
        return value
    }

    static func fen(_ text: String?, field: String) throws -> Int64? {
        let trimmed = (text ?? "").trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        guard trimmed.count <= 16, let money = try? Money.parse(trimmed) else {
            throw APIError.validation([.init(field, .init("请输入金额，如 20 或 19.90", "Enter an amount such as 20 or 19.90"))])
        }
        return money.fen
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/coupons") {
            func count(_ name: String) throws -> Int64? { try CouponPageController.wholeNumber(form.first(name), field: name) }
            var payRate: Int?
            if let text = form.first("payRate")?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                // 8.8折 → 8 800 bp.
                guard text.count <= 8, let zhe = try? Money.parse(text), zhe.fen > 0, zhe.fen < 1_000 else {
                    throw APIError.validation([.init("payRate", .init("折扣应在 0.01 到 9.99 折之间", "The rate must be between 0.01 and 9.99 折"))])
                }
                payRate = Int(zhe.fen * 10)
            }
            let days = try count("validDays")
            let input = CouponTemplateInput(
                name: form.first("name") ?? "", kind: form.first("kind") ?? "", thresholdFen: try Self.fen(form.first("threshold"), field: "threshold"),
                amountOffFen: try Self.fen(form.first("amountOff"), field: "amountOff"), payRateBp: payRate,
                maximumOffFen: try Self.fen(form.first("maximumOff"), field: "maximumOff"), scope: "all", scopeIds: nil, startsAt: nil, endsAt: nil,
                validDays: days.map { Int(clamping: $0) }, totalCount: try count("total"), perMember: try count("perMember"),
                perMemberPerDay: nil, perDay: nil, paysCommission: true, claimable: true)
            try await req.writeTransaction { db in
                let template = try await CouponService(db: db, now: now).create(input, merchantID: nil)
                try await AuditLog.record(on: db, actor: staff, action: "coupon.create", target: template.requireID().uuidString, ip: ip, at: now)
            }
        }
    }

    @Sendable func adminStatus(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("templateID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/coupons") {
            let status: CouponTemplateStatus = switch req.parameters.get("action") ?? "" {
            case "pause": .paused
            case "resume": .active
            case "stop": .stopped
            default: throw APIError.notFound
            }
            try await req.writeTransaction { db in
                _ = try await CouponService(db: db, now: now).setStatus(id, to: status, merchantID: nil)
                try await AuditLog.record(on: db, actor: staff, action: "coupon.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            }
        }
    }
}
