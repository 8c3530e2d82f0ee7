import Fluent
import Foundation
import MallCore
import Vapor

/// Coupons under `/api/v1`: the operator's (`/admin/coupons`), a shop's (`/merchant/coupons`) and
/// the member's coupon centre and own coupons.
struct CouponAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin", "coupons")
        admin.get(use: adminList)
        admin.post(use: adminCreate)
        admin.put(":templateID") { req in try await self.update(req, shop: false) }
        admin.post(":templateID", "pause", use: adminPause)
        admin.post(":templateID", "resume", use: adminResume)
        admin.post(":templateID", "stop", use: adminStop)
        admin.post(":templateID", "send", use: adminSend)
        admin.get(":templateID", "results") { req in try await self.results(req, shop: false) }

        let shop = routes.grouped("merchant", "coupons")
        shop.get(use: shopList)
        shop.post(use: shopCreate)
        shop.put(":templateID") { req in try await self.update(req, shop: true) }
        shop.post(":templateID", "send", use: shopSend)
        shop.get(":templateID", "results") { req in try await self.results(req, shop: true) }
        for (action, status) in [("pause", CouponTemplateStatus.paused), ("resume", .active), ("stop", .stopped)] {
            shop.post(":templateID", PathComponent(stringLiteral: action)) { req in try await self.setStatus(req, status, shop: true) }
        }

        // 发券任务: sends to a tag, worked off outside the request.
        let adminJobs = routes.grouped("admin", "coupon-sends")
        adminJobs.get(use: adminJobList)
        adminJobs.get(":jobID", use: adminJob)
        adminJobs.post(":jobID", "cancel", use: adminJobCancel)
        let shopJobs = routes.grouped("merchant", "coupon-sends")
        shopJobs.get(use: shopJobList)
        shopJobs.get(":jobID", use: shopJob)
        shopJobs.post(":jobID", "cancel", use: shopJobCancel)

        routes.get("coupons", use: centre)
        routes.post("coupons", ":templateID", "claim", use: claim)
        routes.get("me", "coupons", use: mine)
    }

    static let listLimit = 200

    // MARK: operator

    @Sendable func adminList(req: Request) async throws -> [CouponTemplateDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await CouponTemplate.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all()
            .map { try CouponTemplateDTO($0, req.locale) }
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        return try await create(req, merchantID: nil, actor: staff)
    }

    @Sendable func adminPause(req: Request) async throws -> CouponTemplateDTO { try await setStatus(req, .paused, shop: false) }
    @Sendable func adminResume(req: Request) async throws -> CouponTemplateDTO { try await setStatus(req, .active, shop: false) }
    @Sendable func adminStop(req: Request) async throws -> CouponTemplateDTO { try await setStatus(req, .stopped, shop: false) }

    /// The operator changes any template; a shop only its own (another's is 404).
    private func setStatus(_ req: Request, _ status: CouponTemplateStatus, shop: Bool) async throws -> CouponTemplateDTO {
        let merchantID: UUID? = shop ? try req.merchantScope(.manageShop).merchantID : nil
        let staff = try req.requireStaff(shop ? .manageShop : .manageMarketing)
        let id = try req.uuidParameter("templateID")
        let (now, ip) = (req.now, req.clientIP)
        let template = try await req.writeTransaction { db in
            let template = try await CouponService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "coupon.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            return template
        }
        return try CouponTemplateDTO(template, req.locale)
    }

    /// The whole template as for creating it; once members hold its coupons only the name, the
    /// quantities, the claim limits, listing and the commission switch may change (409 otherwise).
    private func update(_ req: Request, shop: Bool) async throws -> CouponTemplateDTO {
        let merchantID: UUID? = shop ? try req.merchantScope(.manageShop).merchantID : nil
        let staff = try req.requireStaff(shop ? .manageShop : .manageMarketing)
        let id = try req.uuidParameter("templateID")
        let input = try req.content.decode(CouponTemplateInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let template = try await req.writeTransaction { db in
            let template = try await CouponService(db: db, now: now).update(id, input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "coupon.update", target: id.uuidString, ip: ip, at: now)
            return template
        }
        return try CouponTemplateDTO(template, req.locale)
    }

    /// Claimed, used, orders, sales and the cost of savings; another shop's coupon is 404.
    func results(_ req: Request, shop: Bool) async throws -> ActivityResultsDTO {
        let merchantID: UUID? = shop ? try req.merchantScope().merchantID : nil
        if !shop { _ = try req.requireStaff(.manageMarketing) }
        let id = try req.uuidParameter("templateID")
        guard let template = try await CouponTemplate.find(id, on: req.db), merchantID == nil || template.merchantID == merchantID else {
            throw APIError.notFound
        }
        return try await ActivityResults.coupon(template, on: req.db, locale: req.locale)
    }

    @Sendable func adminSend(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        return try await send(req, templateID: try req.uuidParameter("templateID"), merchantID: nil, staff: staff)
    }

    /// Named members (ids or phones) are sent in the request, each within the coupon's limits (200);
    /// a tag becomes a queued job (202) that the worker sends, and nothing is issued here.
    private func send(_ req: Request, templateID: UUID, merchantID: UUID?, staff: StaffUser) async throws -> Response {
        let input = try req.content.decode(CouponSendInput.self)
        guard let tagID = input.tagId else {
            return try await CouponSending.send(input, templateID: templateID, merchantID: merchantID, req: req).encodeResponse(for: req)
        }
        guard (input.memberIds ?? []).isEmpty, (input.phones ?? []).isEmpty else {
            throw APIError.validation([.init("tagId", .init("发给标签时不能同时填写会员 ID 或手机号，请分开发送", "Send to a tag on its own, without member ids or phone numbers"))])
        }
        let (now, ip, staffID) = (req.now, req.clientIP, staff.id)
        let job = try await req.writeTransaction { db in
            let job = try await CouponSendJobService(db: db, now: now).create(templateID: templateID, tagID: tagID, merchantID: merchantID, staffID: staffID)
            try await AuditLog.record(on: db, actor: staff, action: "coupon.send_tag", target: job.requireID().uuidString,
                                      detail: "coupon \(templateID.uuidString) tag \(tagID.uuidString) members \(job.total)", ip: ip, at: now)
            return job
        }
        let name = try await CouponTemplate.find(templateID, on: req.db)?.name ?? ""
        return try await CouponSendJobDTO(job, couponName: name, req.locale).encodeResponse(status: .accepted, for: req)
    }

    /// `?templateId=` narrows to one coupon, `?limit=` (1–100, default 20).
    private func jobList(_ req: Request, merchantID: UUID?) async throws -> [CouponSendJobDTO] {
        var issues: [APIError.FieldIssue] = []
        var limit = 20
        if let text = req.query[String.self, at: "limit"] {
            if text.count <= 3, let value = Int(text), (1...CouponSendJobService.maxListed).contains(value) {
                limit = value
            } else {
                issues.append(.init("limit", .init("limit 应为 1 到 \(CouponSendJobService.maxListed) 的整数", "limit must be a whole number from 1 to \(CouponSendJobService.maxListed)")))
            }
        }
        var templateID: UUID?
        if let text = req.query[String.self, at: "templateId"] {
            templateID = text.count <= 36 ? UUID(uuidString: text) : nil
            if templateID == nil { issues.append(.init("templateId", .init("templateId 应为优惠券 ID", "templateId must be a coupon id"))) }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return try await CouponSendJobQueries.list(on: req.db, merchantID: merchantID, templateID: templateID, limit: limit, locale: req.locale)
    }

    @Sendable func adminJobList(req: Request) async throws -> [CouponSendJobDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await jobList(req, merchantID: nil)
    }

    @Sendable func adminJob(req: Request) async throws -> CouponSendJobDTO {
        _ = try req.requireStaff(.manageMarketing)
        return try await CouponSendJobQueries.one(try req.uuidParameter("jobID"), on: req.db, merchantID: nil, locale: req.locale)
    }

    /// A queued or running job stops after the batch in hand; what it issued stays issued. An ended job is a 409.
    @Sendable func adminJobCancel(req: Request) async throws -> CouponSendJobDTO {
        try await cancelJob(req, staff: try req.requireStaff(.manageMarketing), merchantID: nil)
    }

    /// A shop stops its own sends; another shop's job is not found.
    @Sendable func shopJobCancel(req: Request) async throws -> CouponSendJobDTO {
        let scope = try req.merchantScope(.manageShop)
        return try await cancelJob(req, staff: try req.requireStaff(.manageShop), merchantID: scope.merchantID)
    }

    private func cancelJob(_ req: Request, staff: StaffUser, merchantID: UUID?) async throws -> CouponSendJobDTO {
        let id = try req.uuidParameter("jobID")
        let (now, ip) = (req.now, req.clientIP)
        _ = try await req.writeTransaction { db in
            let job = try await CouponSendJobService(db: db, now: now).cancel(id, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "coupon.send_cancel", target: id.uuidString, ip: ip, at: now)
            return job
        }
        return try await CouponSendJobQueries.one(id, on: req.db, merchantID: merchantID, locale: req.locale)
    }

    @Sendable func shopJobList(req: Request) async throws -> [CouponSendJobDTO] {
        try await jobList(req, merchantID: try req.merchantScope().merchantID)
    }

    /// Another shop's job is a 404.
    @Sendable func shopJob(req: Request) async throws -> CouponSendJobDTO {
        let scope = try req.merchantScope()
        return try await CouponSendJobQueries.one(try req.uuidParameter("jobID"), on: req.db, merchantID: scope.merchantID, locale: req.locale)
    }

    // MARK: shop

    @Sendable func shopList(req: Request) async throws -> [CouponTemplateDTO] {
        let scope = try req.merchantScope()
        return try await CouponTemplate.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$createdAt, .descending).sort(\.$id)
            .limit(Self.listLimit).all().map { try CouponTemplateDTO($0, req.locale) }
    }

    @Sendable func shopCreate(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        return try await create(req, merchantID: scope.merchantID, actor: try req.requireStaff(.manageShop))
    }

    @Sendable func shopSend(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        return try await send(req, templateID: try req.uuidParameter("templateID"), merchantID: scope.merchantID, staff: try req.requireStaff(.manageShop))
    }

    private func create(_ req: Request, merchantID: UUID?, actor: StaffUser) async throws -> Response {
        let input = try req.content.decode(CouponTemplateInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let template = try await req.writeTransaction { db in
            let template = try await CouponService(db: db, now: now).create(input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "coupon.create", target: template.requireID().uuidString, ip: ip, at: now)
            return template
        }
        return try await CouponTemplateDTO(template, req.locale).encodeResponse(status: .created, for: req)
    }

    // MARK: member

    /// The coupon centre: active, listed templates still claimable now.
    @Sendable func centre(req: Request) async throws -> [CouponOfferDTO] {
        var memberID: UUID?
        if case .member(let member) = req.principal { memberID = member.id }
        return try await CouponQueries.offers(on: req.db, memberID: memberID, now: req.now, locale: req.locale)
    }

    @Sendable func claim(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("templateID")
        let (now, client) = (req.now, FarmClient(req))
        let record = try await req.writeTransaction { db in
            try await CouponService(db: db, now: now).claim(templateID: id, memberID: memberID, source: "claim", listedOnly: true, client: client)
        }
        let dto = try await CouponQueries.memberCoupons(on: req.db, memberID: memberID, now: now, locale: req.locale).first { $0.id == record.id }
        guard let dto else { throw APIError.notFound }
        return try await dto.encodeResponse(status: .created, for: req)
    }

    @Sendable func mine(req: Request) async throws -> [MemberCouponDTO] {
        let memberID = try req.requireMember().requireID()
        let state = try? req.query.get(String.self, at: "state")
        let all = try await CouponQueries.memberCoupons(on: req.db, memberID: memberID, now: req.now, locale: req.locale)
        // An empty state is not "all": like any other unknown state it is refused.
        guard let state else { return all }
        guard ["available", "used", "expired"].contains(state) else {
            throw APIError.validation([.init("state", .init("state 应为 available、used 或 expired", "state must be available, used or expired"))])
        }
        return all.filter { $0.state == state }
    }
}

/// Reads for the coupon lists and pages.
enum CouponQueries {
    static func offers(on db: any Database, memberID: UUID?, now: Date, locale: MallLocale) async throws -> [CouponOfferDTO] {
        let templates = try await CouponTemplate.query(on: db).filter(\.$status == CouponTemplateStatus.active.rawValue).filter(\.$claimable == true)
            .sort(\.$createdAt, .descending).sort(\.$id).limit(CouponAPIController.listLimit).all()
        let shops = try await shopNames(templates.compactMap(\.merchantID), on: db)
        var held: [UUID: Int64] = [:]
        if let memberID {
            for record in try await MemberCouponRecord.query(on: db).filter(\.$memberID == memberID).limit(CouponService.maxHeld * 5).all() {
                held[record.templateID, default: 0] += 1
            }
        }
        return templates.compactMap { template in
            guard let id = template.id, let coupon = try? CouponService.coupon(template) else { return nil }
            if case .window(let window) = coupon.validity, now >= window.end { return nil }
            if let total = template.totalCount, template.issued >= total { return nil }
            return CouponOfferDTO(id: id, name: template.name, kind: template.kind, summary: coupon.summary(locale),
                                  shop: template.merchantID.flatMap { shops[$0] }, validity: validityText(coupon, locale),
                                  remaining: template.totalCount.map { $0 - template.issued }, held: held[id] ?? 0)
        }
    }

    static func memberCoupons(on db: any Database, memberID: UUID, now: Date, locale: MallLocale) async throws -> [MemberCouponDTO] {
        let held = try await CouponService(db: db, now: now).held(memberID: memberID, states: [.available, .used])
        let shops = try await shopNames(held.compactMap { $0.template.merchantID }, on: db)
        return held.compactMap { pair in
            guard let id = pair.record.id, let coupon = try? CouponService.coupon(pair.template) else { return nil }
            var state = pair.record.state
            if state == MemberCouponState.available.rawValue, pair.record.validUntil <= now { state = MemberCouponState.expired.rawValue }
            let label = switch state {
            case "available": LocalizedText("可使用", "Available")(locale)
            case "used": LocalizedText("已使用", "Used")(locale)
            default: LocalizedText("已过期", "Expired")(locale)
            }
            return MemberCouponDTO(id: id, templateId: pair.record.templateID, name: pair.template.name, kind: pair.template.kind,
                                   summary: coupon.summary(locale), shop: pair.template.merchantID.flatMap { shops[$0] }, state: state,
                                   stateLabel: label, validFrom: pair.record.validFrom, validUntil: pair.record.validUntil, usedOrderId: pair.record.usedOrderID)
        }
    }

    static func validityText(_ coupon: Coupon, _ locale: MallLocale) -> String {
        switch coupon.validity {
        case .daysAfterReceipt(let days): LocalizedText("领取后 \(days) 天内有效", "Valid for \(days) days after claiming")(locale)
        case .window(let window): LocalizedText("有效期至 \(PageDates.chinaMinute(window.end))", "Valid until \(PageDates.chinaMinute(window.end)) (China time)")(locale)
        }
    }

    static func shopNames(_ ids: [UUID], on db: any Database) async throws -> [UUID: String] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [:] }
        let merchants = try await Merchant.query(on: db).filter(\.$id ~~ unique).all()
        return Dictionary(merchants.compactMap { merchant in merchant.id.map { ($0, merchant.name) } }, uniquingKeysWith: { first, _ in first })
    }
}

enum PageDates {
    /// "2025-06-18 20:00" in China time.
    static func chinaMinute(_ date: Date) -> String {
        let parts = CouponService.chinaCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}
