import Fluent
import Foundation
import MallCore
import Vapor

/// The operator console's reconciliation page: runs by day and provider, the open differences
/// with a form to resolve each, and a form to run a day now.
struct ReconciliationPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", "reconciliation", use: page)
        routes.post("admin", "reconciliation", "run", use: runNow)
        routes.post("admin", "reconciliation", "differences", ":differenceID", "resolve", use: resolve)
    }

    struct Page: Encodable, Sendable {
        struct Run: Encodable, Sendable {
            let date: String
            let provider: String
            let status: String
            let failed: Bool
            let message: String
            let providerSide: String
            let ourSide: String
            let matched: Int
            let differences: Int
            let open: Int
            let finishedAt: String
        }
        struct Difference: Encodable, Sendable {
            let id: String
            let date: String
            let provider: String
            let kind: String
            let line: String
            let ourNo: String
            let providerNo: String
            let ourAmount: String
            let providerAmount: String
        }
        struct Option: Encodable, Sendable { let value: String; let label: String }
        let runs: [Run]
        let hasRuns: Bool
        let differences: [Difference]
        let hasDifferences: Bool
        let providers: [Option]
        let yesterday: String
    }

    static func staff(_ req: Request) -> StaffUser? {
        guard case .staff(let staff, let role) = req.principal, role.can(.reconcilePayments) else { return nil }
        return staff
    }

    @Sendable func page(req: Request) async throws -> Response {
        guard case .staff(_, let role) = req.principal, role.isPlatform else { return req.redirect(to: "/admin/login") }
        guard role.can(.reconcilePayments) else { throw APIError.forbidden }
        let locale = req.locale
        let runs = try await ReconciliationRun.query(on: req.db).sort(\.$billDay, .descending).sort(\.$provider).limit(60).all()
        let dtos = try await ReconciliationAPIController.dtos(runs, req)
        let open = try await ReconciliationDifferenceRecord.query(on: req.db).filter(\.$status == ReconciliationDifferenceRecord.Status.open.rawValue)
            .sort(\.$billDay, .descending).sort(\.$provider).sort(\.$ourNo).limit(200).all()
        func side(_ totals: ReconciliationTotalsDTO) -> String {
            let t = ReconciliationStrings.table
            return "\(totals.payments) \(t["recon_payments"]?(locale) ?? "") \(totals.paymentAmount.display) · \(totals.refunds) \(t["recon_refunds"]?(locale) ?? "") \(totals.refundAmount.display)"
        }
        let page = Page(
            runs: dtos.map { run -> Page.Run in
                .init(date: run.date, provider: run.providerLabel, status: run.statusLabel, failed: run.status == ReconciliationRun.Status.failed.rawValue,
                      message: run.message, providerSide: side(run.providerTotals), ourSide: side(run.ourTotals), matched: run.matched,
                      differences: run.differences, open: run.openDifferences, finishedAt: PageFormat.timeFormatter.string(from: run.finishedAt))
            },
            hasRuns: !dtos.isEmpty,
            differences: open.compactMap { record -> Page.Difference? in
                guard let id = record.id else { return nil }
                return .init(id: id.uuidString, date: record.billDay,
                             provider: ReconciliationStrings.label("provider_\(record.provider)", locale, fallback: record.provider),
                             kind: ReconciliationStrings.label("kind_\(record.kind)", locale, fallback: record.kind),
                             line: ReconciliationStrings.label("line_\(record.lineKind)", locale, fallback: record.lineKind),
                             ourNo: record.ourNo, providerNo: record.providerNo,
                             ourAmount: record.ourAmount.map { Money(fen: $0).formatted(locale) } ?? "—",
                             providerAmount: record.providerAmount.map { Money(fen: $0).formatted(locale) } ?? "—")
            },
            hasDifferences: !open.isEmpty,
            providers: ReconciliationService.providers(req.application).map {
                .init(value: $0.rawValue, label: ReconciliationStrings.label("provider_\($0.rawValue)", locale, fallback: $0.rawValue))
            },
            yesterday: BillDay.containing(req.now)?.previous?.description ?? "")
        return try await req.page("console/reconciliation", page)
    }

    @Sendable func runNow(req: Request) async throws -> Response {
        guard let staff = Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/reconciliation") {
            let day = try ReconciliationError.day(form.first("date"), now: req.now)
            let chosen = form.first("provider").flatMap { $0.isEmpty ? nil : $0 }
            let provider = try chosen.map { try ReconciliationError.provider($0) }
            let runs = try await ReconciliationService.run(day: day, only: provider, app: req.application)
            try await req.writeTransaction { [now = req.now, ip = req.clientIP] db in
                try await AuditLog.record(on: db, actor: staff, action: "reconciliation.run", target: "\(provider?.rawValue ?? "all") \(day)",
                                          detail: runs.map { "\($0.provider):\($0.status)" }.joined(separator: ","), ip: ip, at: now)
            }
            req.flash(ReconciliationStrings.table["recon_started"] ?? .init("对账已完成", "Done"))
        }
    }

    @Sendable func resolve(req: Request) async throws -> Response {
        guard let staff = Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("differenceID")
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/reconciliation") {
            let note = try AfterSaleAPIController.text(form.first("note") ?? "", field: "note", max: 200)
            _ = try await req.writeTransaction { [now = req.now, ip = req.clientIP] db in
                try await ReconciliationService.resolve(id, note: note, staff: staff, ip: ip, now: now, on: db)
            }
            req.flash(ReconciliationStrings.table["recon_resolved"] ?? .init("已处理", "Resolved"))
        }
    }
}
