import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Promotion and demotion by each distributor's own results (never headcount): run by the
/// settlement job once a day, from the console, or by `POST /api/v1/admin/distribution/grades/assess`.
enum GradeAssessment {
    struct Report: Content, Equatable {
        var assessed = 0
        var promoted = 0
        var demoted = 0
        /// Below every grade's minimum: left for the operator to decide, never removed automatically.
        var belowMinimum = 0
    }

    /// A distributor's own figures: level-1 sales (the bases), its commission and its orders,
    /// in total and this month; voided commissions do not count.
    static func figures(_ distributorID: UUID, on db: any Database, now: Date) async throws -> GradeFigures {
        let month = CommissionService.monthStart(now)
        let row = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN level = 1 THEN base ELSE 0 END), 0) AS BIGINT) AS sales,
                   CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS commission,
                   CAST(COUNT(DISTINCT CASE WHEN level = 1 THEN order_id END) AS BIGINT) AS orders,
                   CAST(COALESCE(SUM(CASE WHEN level = 1 AND created_at >= \(bind: month) THEN base ELSE 0 END), 0) AS BIGINT) AS period_sales,
                   CAST(COALESCE(SUM(CASE WHEN created_at >= \(bind: month) THEN amount ELSE 0 END), 0) AS BIGINT) AS period_commission,
                   CAST(COUNT(DISTINCT CASE WHEN level = 1 AND created_at >= \(bind: month) THEN order_id END) AS BIGINT) AS period_orders
            FROM commissions WHERE beneficiary_id = \(bind: distributorID) AND state <> 'voided'
            """).first()
        func value(_ column: String) throws -> Int64 { try row?.decode(column: column, as: Int64.self) ?? 0 }
        return GradeFigures(
            cumulative: .init(sales: Money(fen: try value("sales")), commission: Money(fen: try value("commission")), orderCount: try value("orders")),
            period: .init(sales: Money(fen: try value("period_sales")), commission: Money(fen: try value("period_commission")),
                          orderCount: try value("period_orders")))
    }

    static func ladder(on db: any Database) async throws -> GradeLadder? {
        let decoder = JSONDecoder()
        let grades = try await DistributorGradeRecord.query(on: db).sort(\.$rank).all()
            .map { try decoder.decode(DistributorGrade.self, from: Data($0.definitionJSON.utf8)) }
        guard !grades.isEmpty else { return nil }
        return try GradeLadder(grades)
    }

    /// Assesses every active or frozen distributor once; each change is its own small transaction
    /// and is audited with the figures that decided it.
    static func run(_ app: Application) async throws -> Report {
        let now = app.clock.now()
        var report = Report()
        guard let ladder = try await ladder(on: app.db), let entry = ladder.entryGrade else { return report }
        let distributors = try await Distributor.query(on: app.db).filter(\.$status ~~ [DistributorRecordStatus.active.rawValue, DistributorRecordStatus.frozen.rawValue])
            .sort(\.$id).all()
        for distributor in distributors {
            guard let id = distributor.id else { continue }
            report.assessed += 1
            let current = distributor.gradeID.flatMap { ladder.grade($0) } ?? entry
            let figures = try await figures(id, on: app.db, now: now)
            let decision = try ladder.evaluate(current: current.id, figures: figures)
            let target: UUID
            let action: String
            switch decision {
            case .keep(let grade):
                guard distributor.gradeID != grade else { continue }
                (target, action) = (grade, "distributor.grade.assign")
            case .promote(_, let to):
                (target, action) = (to, "distributor.grade.promote")
                report.promoted += 1
            case .demote(_, let to):
                (target, action) = (to, "distributor.grade.demote")
                report.demoted += 1
            case .remove:
                report.belowMinimum += 1
                continue
            }
            try await app.writeGate.transaction(on: app.db) { db in
                try await sqlDatabase(db).raw("UPDATE distributors SET grade_id = \(bind: target), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
                try await AuditLog.record(on: db, actor: nil, action: action, target: "distributor:\(id.uuidString.lowercased())",
                                          detail: "\(current.name) → \(ladder.grade(target)?.name ?? "") sales \(figures.cumulative.sales.fen) orders \(figures.cumulative.orderCount)",
                                          ip: "job", at: now)
            }
        }
        return report
    }
}

/// `fission assess-grades`: the grade assessment once (what `serve` runs each day after 03:00 China time).
struct AssessGradesCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Promotes and demotes distributors by their own sales, commission and orders." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let report = try await GradeAssessment.run(context.application)
        context.console.print("assessed \(report.assessed), promoted \(report.promoted), demoted \(report.demoted), below every minimum \(report.belowMinimum)")
    }
}
