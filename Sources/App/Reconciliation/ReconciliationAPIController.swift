import Fluent
import Foundation
import MallCore
import Vapor

/// `/api/v1/admin/reconciliation/*`: runs by day and provider, their differences, resolving one,
/// and running a day now. Operators with `payments.reconcile` only.
struct ReconciliationAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let group = routes.grouped("admin", "reconciliation")
        group.get("runs", use: runs)
        group.post("runs", use: reconcile)
        group.get("differences", use: differences)
        group.post("differences", ":differenceID", "resolve", use: resolve)
    }

    struct RunQuery: Content {
        let date: String?
        let provider: String?
        let limit: Int?
    }

    @Sendable func runs(req: Request) async throws -> [ReconciliationRunDTO] {
        _ = try req.requireStaff(.reconcilePayments)
        let query = try req.query.decode(RunQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 60)
        var runs = ReconciliationRun.query(on: req.db)
        if let date = query.date {
            let day = try Self.filterDay(date).description
            runs = runs.filter(\.$billDay == day)
        }
        if let provider = query.provider {
            let method = try ReconciliationError.provider(provider).rawValue
            runs = runs.filter(\.$provider == method)
        }
        let found = try await runs.sort(\.$billDay, .descending).sort(\.$provider).limit(limit).all()
        return try await Self.dtos(found, req)
    }

    static func dtos(_ runs: [ReconciliationRun], _ req: Request) async throws -> [ReconciliationRunDTO] {
        let ids = runs.compactMap(\.id)
        let open = ids.isEmpty ? [] : try await ReconciliationDifferenceRecord.query(on: req.db).filter(\.$runID ~~ ids)
            .filter(\.$status == ReconciliationDifferenceRecord.Status.open.rawValue).all()
        return try runs.map { run in try ReconciliationRunDTO(run, openDifferences: open.filter { $0.runID == run.id }.count, req.locale) }
    }

    /// A day to look up: any real day (looking at a future day finds nothing, which is no error).
    static func filterDay(_ text: String) throws -> BillDay {
        guard let day = BillDay(text) else { throw ReconciliationError.badDate(field: "date") }
        return day
    }

    @Sendable func reconcile(req: Request) async throws -> [ReconciliationRunDTO] {
        let staff = try req.requireStaff(.reconcilePayments)
        let input = try req.content.decode(ReconcileInput.self)
        let day = try ReconciliationError.day(input.date, now: req.now)
        let provider = try input.provider.map { try ReconciliationError.provider($0) }
        let runs = try await ReconciliationService.run(day: day, only: provider, app: req.application)
        try await req.writeTransaction { [now = req.now, ip = req.clientIP] db in
            try await AuditLog.record(on: db, actor: staff, action: "reconciliation.run", target: "\(provider?.rawValue ?? "all") \(day)",
                                      detail: runs.map { "\($0.provider):\($0.status)" }.joined(separator: ","), ip: ip, at: now)
        }
        return try await Self.dtos(runs, req)
    }

    struct DifferenceQuery: Content {
        let status: String?
        let date: String?
        let provider: String?
        let kind: String?
        let limit: Int?
    }

    @Sendable func differences(req: Request) async throws -> [ReconciliationDifferenceDTO] {
        _ = try req.requireStaff(.reconcilePayments)
        let query = try req.query.decode(DifferenceQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 100)
        var found = ReconciliationDifferenceRecord.query(on: req.db)
        switch query.status ?? "open" {
        case "all": break
        case let status where ReconciliationDifferenceRecord.Status(rawValue: status) != nil: found = found.filter(\.$status == status)
        default: throw APIError.validation([.init("status", .init("状态应为 open、resolved 或 all", "status must be open, resolved or all"))])
        }
        if let date = query.date {
            let day = try Self.filterDay(date).description
            found = found.filter(\.$billDay == day)
        }
        if let provider = query.provider {
            let method = try ReconciliationError.provider(provider).rawValue
            found = found.filter(\.$provider == method)
        }
        if let kind = query.kind {
            guard ReconciliationDifferenceKind(rawValue: kind) != nil else {
                throw APIError.validation([.init("kind", .init("差异类型应为 missing_at_provider、extra_at_provider 或 amount_mismatch",
                                                               "kind must be missing_at_provider, extra_at_provider or amount_mismatch"))])
            }
            found = found.filter(\.$kind == kind)
        }
        return try await found.sort(\.$billDay, .descending).sort(\.$provider).sort(\.$ourNo).limit(limit).all()
            .map { try ReconciliationDifferenceDTO($0, req.locale) }
    }

    @Sendable func resolve(req: Request) async throws -> ReconciliationDifferenceDTO {
        let staff = try req.requireStaff(.reconcilePayments)
        let id = try req.uuidParameter("differenceID")
        let note = try AfterSaleAPIController.text(try req.content.decode(ResolveDifferenceInput.self).note, field: "note", max: 200)
        let record = try await req.writeTransaction { [now = req.now, ip = req.clientIP] db in
            try await ReconciliationService.resolve(id, note: note, staff: staff, ip: ip, now: now, on: db)
        }
        return try ReconciliationDifferenceDTO(record, req.locale)
    }
}
