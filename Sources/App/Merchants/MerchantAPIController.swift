import Fluent
import MallCore
import Vapor

/// `/api/v1/merchant-applications` for applicants and the operator's review of them and of merchants.
struct MerchantAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("merchant-applications", use: apply)
        let admin = routes.grouped("admin")
        admin.get("merchant-applications", use: applications)
        admin.post("merchant-applications", ":applicationID", "approve", use: approve)
        admin.post("merchant-applications", ":applicationID", "reject", use: reject)
        admin.patch("merchants", ":merchantID", use: updateMerchant)
        routes.get("merchant", "messages", use: messages)
        routes.post("merchant", "messages", ":messageID", "read", use: markRead)
    }

    @Sendable func messages(req: Request) async throws -> [MerchantMessageDTO] {
        let scope = try req.merchantScope()
        return try await scope.query(MerchantMessage.self, on: req.db).sort(\.$createdAt, .descending).limit(100).all().map(MerchantMessageDTO.init)
    }

    @Sendable func markRead(req: Request) async throws -> MerchantMessageDTO {
        // Read-only roles (store clerks) look, and change nothing, not even a message's state.
        let scope = try req.merchantScope(.manageShop)
        let message = try await scope.find(MerchantMessage.self, id: try req.uuidParameter("messageID"), on: req.db)
        if message.readAt == nil {
            message.readAt = req.now
            try await message.save(on: req.db)
        }
        return try MerchantMessageDTO(message)
    }

    @Sendable func apply(req: Request) async throws -> Response {
        try await req.takeAnonymousHit(RateLimits.applicationsPerAddress)
        let input = try req.content.decode(MerchantApplicationInput.self)
        let application = try await MerchantService(db: req.db, app: req.application, now: req.now).apply(input)
        return try await dto(application, req).encodeResponse(status: .created, for: req)
    }

    @Sendable func applications(req: Request) async throws -> [MerchantApplicationDTO] {
        _ = try req.requireStaff(.manageMerchants)
        struct Query: Decodable { let status: String? }
        let status = try req.query.decode(Query.self).status ?? MerchantApplication.Status.pending.rawValue
        guard MerchantApplication.Status(rawValue: status) != nil else {
            throw MerchantError.invalid([.init("status", .init("状态只能是 pending、approved 或 rejected", "status must be pending, approved or rejected"))])
        }
        let found = try await MerchantApplication.query(on: req.db).filter(\.$status == status).sort(\.$createdAt).limit(200).all()
        return try found.map { try dto($0, req) }
    }

    @Sendable func approve(req: Request) async throws -> MerchantDTO {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("applicationID")
        let input = try req.content.decode(ApproveInput.self)
        let app = req.application
        let now = req.now
        let ip = req.clientIP
        let merchant = try await req.writeTransaction { db in
            let merchant = try await MerchantService(db: db, app: app, now: now).approve(id, serviceRateBP: input.serviceRateBp, reviewer: staff)
            try await AuditLog.record(on: db, actor: staff, action: "merchant.approve", target: "application:\(id)", detail: merchant.name, ip: ip, at: now)
            return merchant
        }
        return try MerchantDTO(merchant)
    }

    @Sendable func reject(req: Request) async throws -> MerchantApplicationDTO {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("applicationID")
        let input = try req.content.decode(RejectInput.self)
        let (app, now, ip) = (req.application, req.now, req.clientIP)
        let application = try await req.writeTransaction { db in
            let application = try await MerchantService(db: db, app: app, now: now).reject(id, reason: input.reason, reviewer: staff)
            try await AuditLog.record(on: db, actor: staff, action: "merchant.reject", target: "application:\(id)", detail: input.reason, ip: ip, at: now)
            return application
        }
        return try dto(application, req)
    }

    @Sendable func updateMerchant(req: Request) async throws -> MerchantDTO {
        let staff = try req.requireStaff(.manageMerchants)
        let id = try req.uuidParameter("merchantID")
        let input = try req.content.decode(MerchantUpdateInput.self)
        let merchant = try await MerchantService(db: req.db, app: req.application, now: req.now).update(id, input)
        try await AuditLog.record(on: req.db, actor: staff, action: "merchant.update", target: "merchant:\(id)",
                                  detail: "rate=\(merchant.serviceRateBP) status=\(merchant.status)", ip: req.clientIP, at: req.now)
        return try MerchantDTO(merchant)
    }

    private func dto(_ application: MerchantApplication, _ req: Request) throws -> MerchantApplicationDTO {
        let phone = PhoneNumber(try req.personalData.open(application.contactPhoneCipher))?.masked ?? "***"
        return try MerchantApplicationDTO(application, phone: phone, storage: req.application.imageStorage)
    }
}
