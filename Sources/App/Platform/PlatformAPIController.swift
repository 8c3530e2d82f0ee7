import Fluent
import MallCore
import Vapor

/// `/api/v1/admin/*`: what operators look at across the platform.
struct PlatformAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin")
        admin.get("merchants", use: merchants)
        admin.get("audit-logs", use: auditLogs)
        admin.post("ledger", "verify", use: verifyLedger)
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
}
