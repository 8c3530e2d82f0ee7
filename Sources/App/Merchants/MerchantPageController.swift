import Fluent
import MallCore
import Vapor

/// The merchant application form and the operator's review buttons on the console.
struct MerchantPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("merchant", "apply", use: applyForm)
        routes.on(.POST, "merchant", "apply", body: .collect(maxSize: ImageAPIController.maxRequest), use: apply)
        routes.post("admin", "merchant-applications", ":applicationID", "approve", use: approve)
        routes.post("admin", "merchant-applications", ":applicationID", "reject", use: reject)
        routes.post("admin", "merchants", ":merchantID", "status", use: setStatus)
        routes.post("merchant", "staff", use: addStaff)
    }

    /// The owner adds a shop employee or a store clerk from the console.
    @Sendable func addStaff(req: Request) async throws -> Response {
        let owner = try req.requireStaff(.manageShopStaff)
        let scope = try req.merchantScope(.manageShopStaff)
        struct Form: Decodable { let username, displayName, password, role, storeId: String? }
        let form = try req.content.decode(Form.self)
        do {
            let staff = try await ShopStaffService(db: req.db, app: req.application).create(ShopStaffInput(
                username: form.username ?? "", displayName: form.displayName ?? "", password: form.password ?? "",
                role: form.role ?? "", storeId: form.storeId.flatMap(UUID.init(uuidString:))), merchantID: scope.merchantID)
            try await AuditLog.record(on: req.db, actor: owner, action: "staff.create", target: "staff:\(try staff.requireID())",
                                      detail: "\(staff.username) \(staff.role)", ip: req.clientIP, at: req.now)
            req.flash(.init("已添加员工：\(staff.username)", "Staff added: \(staff.username)"))
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            let details = apiError.details.map { $0.message(req.locale) }.joined(separator: "；")
            req.flash(.init(apiError.message.zh + (details.isEmpty ? "" : "：" + details), apiError.message.en + (details.isEmpty ? "" : ": " + details)))
        }
        return req.redirect(to: "/merchant")
    }

    struct ApplyForm: Encodable, Sendable {
        var companyName = ""
        var contactName = ""
        var contactPhone = ""
        var licenceNumber = ""
        var businessCategory = ""
        /// Kept across a refused submission so the picture need not be sent again.
        var licenceImage = ""
        var licenceImageURL = ""
        var username = ""
        var submitted = false
    }

    @Sendable func applyForm(req: Request) async throws -> Response {
        try await req.page("merchants/apply", ApplyForm())
    }

    @Sendable func apply(req: Request) async throws -> Response {
        struct Form: Decodable {
            var companyName, contactName, contactPhone, licenceNumber, businessCategory, username, password, licenceImage: String?
            var licenceFile: File?
        }
        // A malformed upload is treated as an empty form, which then names every missing field.
        let form = (try? req.content.decode(Form.self)) ?? Form()
        var echo = ApplyForm(companyName: form.companyName ?? "", contactName: form.contactName ?? "", contactPhone: form.contactPhone ?? "",
                             licenceNumber: form.licenceNumber ?? "", businessCategory: form.businessCategory ?? "",
                             licenceImage: ImageKey.isValid(form.licenceImage ?? "") ? form.licenceImage ?? "" : "", username: form.username ?? "")
        do {
            try await req.takeAnonymousHit(RateLimits.applicationsPerAddress)
            if let file = form.licenceFile, file.data.readableBytes > 0 {
                try await req.takeAnonymousHit(RateLimits.licenceUploadsPerAddress)
                try await req.takeAnonymousHit(RateLimits.licenceUploadsGlobal, key: "all")
                let image = try await ImageService.store(Array(file.data.readableBytesView), purpose: .licence, merchantID: nil, field: "licenceImage",
                                                         storage: req.application.imageStorage, on: req.db, at: req.now)
                echo.licenceImage = image.storageKey
            }
            echo.licenceImageURL = echo.licenceImage.isEmpty ? "" : req.application.imageStorage.url(for: echo.licenceImage)
            _ = try await MerchantService(db: req.db, app: req.application, now: req.now).apply(MerchantApplicationInput(
                companyName: echo.companyName, contactName: echo.contactName, contactPhone: echo.contactPhone, licenceNumber: echo.licenceNumber,
                licenceImage: echo.licenceImage, businessCategory: echo.businessCategory, username: echo.username, password: form.password ?? ""))
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
            let merchant = try await req.writeTransaction { db in
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
            let (app, now, ip) = (req.application, req.now, req.clientIP)
            let application = try await req.writeTransaction { db in
                let application = try await MerchantService(db: db, app: app, now: now).reject(id, reason: reason, reviewer: staff)
                try await AuditLog.record(on: db, actor: staff, action: "merchant.reject", target: "application:\(id)", detail: reason, ip: ip, at: now)
                return application
            }
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
