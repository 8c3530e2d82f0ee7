import Fluent
import MallCore
import Vapor

/// `/api/v1/admin/*` for operators and `/api/v1/merchant/*` for merchant staff.
struct ConsoleAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin")
        admin.get("merchants", use: merchants)
        admin.get("audit-logs", use: auditLogs)
        admin.post("ledger", "verify", use: verifyLedger)

        let merchant = routes.grouped("merchant")
        merchant.get("profile", use: merchantProfile)
        merchant.get("staff", use: merchantStaff)
        merchant.get("staff", ":staffID", use: merchantStaffMember)
    }

    @Sendable func merchants(req: Request) async throws -> [MerchantDTO] {
        _ = try req.requireStaff(.viewMerchants)
        return try await Merchant.query(on: req.db).sort(\.$createdAt).all().map(MerchantDTO.init)
    }

    @Sendable func auditLogs(req: Request) async throws -> [AuditLogDTO] {
        _ = try req.requireStaff(.viewAuditLog)
        let limit = try req.query.decode(LimitQuery.self).validatedLimit()
        return try await AuditLogEntry.query(on: req.db).sort(\.$createdAt, .descending).limit(limit).all().map(AuditLogDTO.init)
    }

    @Sendable func verifyLedger(req: Request) async throws -> LedgerVerificationReport {
        let staff = try req.requireStaff(.viewLedger)
        let report = try await req.ledger.verify()
        try await AuditLog.record(on: req.db, actor: staff, action: "ledger.verify", target: "ledger",
                                  detail: report.ok ? "ok" : "\(report.problems.count) problems", ip: req.clientIP, at: req.now)
        return report
    }

    @Sendable func merchantProfile(req: Request) async throws -> MerchantDTO {
        let scope = try req.merchantScope()
        guard let merchant = try await Merchant.find(scope.merchantID, on: req.db) else { throw APIError.notFound }
        return try MerchantDTO(merchant)
    }

    @Sendable func merchantStaff(req: Request) async throws -> [StaffDTO] {
        let scope = try req.merchantScope()
        return try await scope.query(StaffUser.self, on: req.db).sort(\.$username).all().map(StaffDTO.init)
    }

    @Sendable func merchantStaffMember(req: Request) async throws -> StaffDTO {
        let scope = try req.merchantScope()
        guard let id = req.parameters.get("staffID", as: UUID.self) else { throw APIError.notFound }
        return try StaffDTO(try await scope.find(StaffUser.self, id: id, on: req.db))
    }
}

struct LimitQuery: Content {
    let limit: Int?

    func validatedLimit(default defaultLimit: Int = 50) throws -> Int {
        guard let limit else { return defaultLimit }
        guard (1...200).contains(limit) else {
            throw APIError.validation([.init("limit", .init("limit 必须在 1 到 200 之间", "limit must be between 1 and 200"))])
        }
        return limit
    }
}
