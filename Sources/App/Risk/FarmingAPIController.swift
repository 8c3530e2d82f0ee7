import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's farming guard under `/api/v1/admin/risk/farming`: the report of suspicious
/// clusters and the limits. Operators with `marketing.manage`, like the coupons the guard protects.
struct FarmingAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let farming = routes.grouped("admin", "risk", "farming")
        farming.get(use: report)
        farming.get("settings", use: settings)
        farming.put("settings", use: saveSettings)
    }

    @Sendable func report(req: Request) async throws -> FarmingReportDTO {
        _ = try req.requireStaff(.manageMarketing)
        let query = try FarmingReportQuery(req)
        return try await FarmingReport.clusters(query, on: req.db, cipher: req.personalData, now: req.now)
    }

    @Sendable func settings(req: Request) async throws -> FarmingSettings {
        _ = try req.requireStaff(.manageMarketing)
        return try await FarmingSettings.load(on: req.db)
    }

    @Sendable func saveSettings(req: Request) async throws -> FarmingSettings {
        let staff = try req.requireStaff(.manageMarketing)
        let settings = try req.content.decode(FarmingSettings.self)
        try settings.validate()
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await settings.save(on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "risk.farming.settings", target: FarmingSettings.recordName, ip: ip, at: now)
        }
        return settings
    }
}
