import Fluent
import Foundation
import MallCore
import Vapor

/// The console's 发券任务 forms: queue a coupon for a tag (operator and shops, on the coupon's
/// page in 营销中心) and cancel a job (operator). Each goes through the same service as the API,
/// then back to the page with the jobs' progress.
struct CouponSendPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("admin", "coupon-sends") { req in try await self.queue(req, shop: false) }
        routes.post("merchant", "coupon-sends") { req in try await self.queue(req, shop: true) }
        routes.post("admin", "coupon-sends", ":jobID", "cancel") { req in try await self.cancel(req, shop: false) }
        routes.post("merchant", "coupon-sends", ":jobID", "cancel") { req in try await self.cancel(req, shop: true) }
    }

    /// A job row as the console lists it.
    struct JobRow: Encodable, Sendable {
        let id: String
        let coupon: String
        let templateId: String
        let tag: String
        let status: String
        let statusLabel: String
        let total: Int64
        let issued: Int64
        let skipped: Int64
        let percent: Int
        let reason: String
        let createdAt: String
        let open: Bool

        init(_ dto: CouponSendJobDTO) {
            id = dto.id.uuidString
            coupon = dto.couponName
            templateId = dto.templateId.uuidString
            tag = dto.tagName
            status = dto.status
            statusLabel = dto.statusLabel
            total = dto.total
            issued = dto.issued
            skipped = dto.skipped
            percent = dto.percent
            reason = dto.reason ?? ""
            createdAt = PageDates.chinaMinute(dto.createdAt)
            open = CouponSendJobStatus(rawValue: dto.status)?.isOpen ?? false
        }
    }

    /// The signed-in operator (no merchant) or shop staff (with their merchant); nil when nobody is.
    private static func consoleStaff(_ req: Request, shop: Bool) throws -> (StaffUser, UUID?)? {
        if shop {
            guard let (staff, scope) = OrderConsolePageController.staff(req) else { return nil }
            return (staff, scope.merchantID)
        }
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return nil }
        return (staff, nil)
    }

    @Sendable func queue(_ req: Request, shop: Bool) async throws -> Response {
        guard let (staff, merchantID) = try Self.consoleStaff(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        let form = req.formFields
        guard let templateID = (form.first("templateId")?.prefix(36)).flatMap({ UUID(uuidString: String($0)) }) else { throw APIError.notFound }
        let prefix = shop ? "merchant" : "admin"
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/\(prefix)/marketing/coupon/\(templateID.uuidString)") {
            if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
            guard let tagID = (form.first("tagId")?.prefix(36)).flatMap({ UUID(uuidString: String($0)) }) else {
                throw APIError.validation([.init("tagId", .init("请选择会员标签", "Choose a member tag"))])
            }
            try await req.writeTransaction { db in
                let job = try await CouponSendJobService(db: db, now: now).create(templateID: templateID, tagID: tagID, merchantID: merchantID, staffID: staff.id)
                try await AuditLog.record(on: db, actor: staff, action: "coupon.send_tag", target: job.requireID().uuidString,
                                          detail: "coupon \(templateID.uuidString) tag \(tagID.uuidString) members \(job.total)", ip: ip, at: now)
            }
            req.flash(.init("已排队发送，进度见下方发券任务", "Queued; see its progress under send jobs below"))
        }
    }

    @Sendable func cancel(_ req: Request, shop: Bool) async throws -> Response {
        guard let (staff, merchantID) = try Self.consoleStaff(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        let id = try req.uuidParameter("jobID")
        let (now, ip) = (req.now, req.clientIP)
        let prefix = shop ? "merchant" : "admin"
        // Back to the coupon's page, or to the list the form came from (another shop's job: the shop's 营销中心).
        var lookup = CouponSendJob.query(on: req.db).filter(\.$id == id)
        if let merchantID { lookup = lookup.filter(\.$merchantID == merchantID) }
        let job = try await lookup.first()
        let list = shop ? "/merchant/marketing" : "/admin/coupons"
        let back = req.formFields.first("back") == "coupons" || job == nil ? list : "/\(prefix)/marketing/coupon/\(job?.templateID.uuidString ?? "")"
        return try await OrderPageController.redirectBack(req, back) {
            if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
            try await req.writeTransaction { db in
                _ = try await CouponSendJobService(db: db, now: now).cancel(id, merchantID: merchantID)
                try await AuditLog.record(on: db, actor: staff, action: "coupon.send_cancel", target: id.uuidString, ip: ip, at: now)
            }
            req.flash(.init("已取消，已发出的券仍有效", "Cancelled; coupons already issued stay issued"))
        }
    }
}
