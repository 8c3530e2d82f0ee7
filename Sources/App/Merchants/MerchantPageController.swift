import Fluent
import MallCore
import Vapor

/// The merchant application form and the operator's review buttons on the console.
struct MerchantPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("merchant", "apply", use: applyForm)
        routes.post("merchant", "apply", use: apply)
        routes.post("admin", "merchant-applications", ":applicationID", "approve", use: approve)
        routes.post("admin", "merchant-applications", ":applicationID", "reject", use: reject)
        routes.post("admin", "merchants", ":merchantID", "status", use: setStatus)
    }

    struct ApplyForm: Encodable, Sendable {
        var companyName = ""
        var contactName = ""
        var contactPhone = ""
        var licenceNumber = ""
        var businessCategory = ""
        var username = ""
        var submitted = false
    }

    @Sendable func applyForm(req: Request) async throws -> Response {
        try await req.page("merchants/apply", ApplyForm())
    }

    @Sendable func apply(req: Request) async throws -> Response {
        struct Form: Decodable {
            let companyName, contactName, contactPhone, licenceNumber, businessCategory, username, password: String?
        }
        let form = try req.content.decode(Form.self)
        var echo = ApplyForm(companyName: form.companyName ?? "", contactName: form.contactName ?? "", contactPhone: form.contactPhone ?? "",
                             licenceNumber: form.licenceNumber ?? "", businessCategory: form.businessCategory ?? "", username: form.username ?? "")
        do {
            _ = try await MerchantService(db: req.db, app: req.application, now: req.now).apply(MerchantApplicationInput(
                companyName: echo.companyName, contactName: echo.contactName, contactPhone: echo.contactPhone, licenceNumber: echo.licenceNumber,
                businessCategory: echo.businessCategory, username: echo.username, password: form.password ?? ""))
            echo.submitted = true
            return try await req.page("merchants/apply", echo)
        } catch {
            return try await req.pageAfterFailure(error, "merchants/apply", echo)
        }
    }

    @Sendable func approve(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("applicationID")
        struct Form: Decodable { let rate: String? }
        guard let rate = BasisPoints.parsePercent(try req.content.decode(Form.self).rate ?? "") else {
            req.flash(.init("平台抽佣请填写百分比，例如 6 或 6.5", "Enter the service rate as a percentage, e.g. 6 or 6.5"))
            return req.redirect(to: "/admin")
        }
        let app = req.application
        let now = req.now
        let ip = req.clientIP
        do {
            let merchant = try await req.db.transaction { db in
                let merchant = try await MerchantService(db: db, app: app, now: now).approve(id, serviceRateBP: rate.value, reviewer: staff)
                try await AuditLog.record(on: db, actor: staff, action: "merchant.approve", target: "application:\(id)", detail: merchant.name, ip: ip, at: now)
                return merchant
            }
            req.flash(.init("已通过：\(merchant.name)", "Approved: \(merchant.name)"))
        } catch {
            req.flash(ErrorMapping.apiError(for: error).message)
        }
        return req.redirect(to: "/admin")
    }

    @Sendable func reject(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("applicationID")
        struct Form: Decodable { let reason: String? }
        let reason = try req.content.decode(Form.self).reason ?? ""
        do {
            let application = try await MerchantService(db: req.db, app: req.application, now: req.now).reject(id, reason: reason, reviewer: staff)
            try await AuditLog.record(on: req.db, actor: staff, action: "merchant.reject", target: "application:\(id)", detail: reason, ip: req.clientIP, at: req.now)
            req.flash(.init("已驳回：\(application.companyName)", "Rejected: \(application.companyName)"))
        } catch {
            req.flash(ErrorMapping.apiError(for: error).message)
        }
        return req.redirect(to: "/admin")
    }

    @Sendable func setStatus(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("merchantID")
        struct Form: Decodable { let status: String? }
        let status = try req.content.decode(Form.self).status
        do {
            let merchant = try await MerchantService(db: req.db, app: req.application, now: req.now).update(id, MerchantUpdateInput(serviceRateBp: nil, status: status))
            try await AuditLog.record(on: req.db, actor: staff, action: "merchant.update", target: "merchant:\(id)", detail: "status=\(merchant.status)", ip: req.clientIP, at: req.now)
        } catch {
            req.flash(ErrorMapping.apiError(for: error).message)
        }
        return req.redirect(to: "/admin")
    }
}
