import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// 佣金预览: the same engine as order time, on a line the operator describes.
enum CommissionPreview {
    static func run(skuID: UUID, quantity: Int64, paidAmount: Money?, buyerID: UUID?, distributorID: UUID?, on db: any Database, now: Date) async throws -> CommissionLineResult {
        guard let sku = try await Sku.find(skuID, on: db), let product = try await Product.find(sku.$product.id, on: db) else { throw APIError.notFound }
        let config = try await DistributionConfig.load(on: db)
        let service = CommissionService(db: db, now: now)
        let book = try await service.ruleBook(config)
        var participants: CommissionParticipants
        if let buyerID {
            guard try await Member.find(buyerID, on: db) != nil else { throw APIError.notFound }
            participants = try await service.participants(buyerID: buyerID)
        } else {
            // A new customer of this distributor: the distributor and its two uplines.
            participants = CommissionParticipants(buyerID: UUID(), upline: try await service.upline(from: distributorID))
        }
        let (listTotal, overflow) = sku.price.multipliedReportingOverflow(by: quantity)
        guard !overflow else { throw APIError.validation([.init("quantity", .init("金额过大", "The amount is too large"))]) }
        let line = CommissionLineInput(lineID: skuID, skuID: skuID, productID: try product.requireID(), categoryID: product.$category.id, quantity: quantity,
                                       unitListPrice: Money(fen: sku.price), paidAmount: paidAmount ?? Money(fen: listTotal))
        let calculation = try book.calculate(participants, lines: [line])
        guard let result = calculation.lines.first else { throw APIError.notFound }
        return result
    }

    static func dto(_ result: CommissionLineResult, req: Request) async throws -> CommissionPreviewDTO {
        let ids = result.levels.compactMap(\.beneficiaryID)
        var names: [UUID: String] = [:]
        for distributor in try await Distributor.query(on: req.db).filter(\.$id ~~ ids).all() { names[distributor.id ?? UUID()] = distributor.displayName }
        let sentences = result.explanation(req.locale)
        let levels = result.levels.enumerated().map { index, level in
            CommissionPreviewLevelDTO(level: level.level, beneficiaryId: level.beneficiaryID, beneficiaryName: level.beneficiaryID.flatMap { names[$0] },
                                      amount: .init(level.amount, req.locale), ruleSource: level.source?.rawValue, tier: level.tier,
                                      capReduction: .init(level.capReduction, req.locale), unpaidReason: level.unpaidReason?.rawValue,
                                      explanation: index < sentences.count ? sentences[index] : "")
        }
        return CommissionPreviewDTO(base: .init(result.base, req.locale), baseMode: result.baseMode.rawValue, cap: .init(result.cap, req.locale),
                                    total: .init(result.total, req.locale), levels: levels)
    }
}

/// Settlement in batches (daily, weekly, monthly): settleable commissions of finished periods,
/// one batch per shop and period, settled at once or after approval (手动结算).
enum CommissionSettlement {
    struct Report: Content, Equatable {
        var batches = 0
        var settled = 0
        var awaitingApproval = 0
    }

    /// The period a moment belongs to, and when the current one began, in China time.
    static func period(_ schedule: String, of date: Date) -> (label: String, start: Date) {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = CommissionService.chinaTime
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = CommissionService.chinaTime
        switch schedule {
        case "weekly":
            let start = calendar.dateInterval(of: .weekOfYear, for: date)?.start ?? date
            let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return (String(format: "%04d-W%02d", parts.yearForWeekOfYear ?? 0, parts.weekOfYear ?? 0), start)
        case "monthly":
            formatter.dateFormat = "yyyy-MM"
            return (formatter.string(from: date), calendar.dateInterval(of: .month, for: date)?.start ?? date)
        default:
            formatter.dateFormat = "yyyy-MM-dd"
            return (formatter.string(from: date), calendar.startOfDay(for: date))
        }
    }

    /// Makes one batch per shop of what is settleable before the current period began (the
    /// whole of it, also commissions released from a hold since an earlier batch), labelled with
    /// the last finished period; `force` takes the current period too (the console's "settle
    /// now", and a way to try the flow without waiting for midnight).
    static func run(_ app: Application, force: Bool = false) async throws -> Report {
        let now = app.clock.now()
        let config = try await DistributionConfig.load(on: app.db)
        var report = Report()
        // Continuous automatic settlement happens at completion; here only what a hold release missed.
        let continuous = config.settlement.schedule == "continuous"
        let schedule = continuous ? "daily" : config.settlement.schedule
        let current = period(schedule, of: now)
        let cutoff = continuous || force ? now.addingTimeInterval(1) : current.start
        let label = continuous || force ? current.label : period(schedule, of: current.start.addingTimeInterval(-1)).label
        let automatic = config.settlement.approval == "automatic"
        let merchants = try await sqlDatabase(app.db).raw("""
            SELECT DISTINCT merchant_id FROM commissions
            WHERE state = 'frozen' AND held = \(bind: false) AND batch_id IS NULL AND settleable_at IS NOT NULL AND settleable_at < \(bind: cutoff)
            """).all().map { try $0.decode(column: "merchant_id", as: UUID.self) }
        for merchantID in merchants {
            let outcome = try await app.writeGate.transaction(on: app.db) { db -> (Int, Bool)? in
                let sql = try sqlDatabase(db)
                let batch = CommissionBatch()
                batch.merchantID = merchantID
                batch.period = try await freeLabel(label, merchantID: merchantID, on: db)
                batch.state = "awaiting_approval"
                batch.commissionCount = 0
                batch.total = 0
                batch.createdAt = now
                batch.approvedBy = ""
                try await batch.create(on: db)
                let batchID = try batch.requireID()
                // Automatic approval settles the rows in the same statement that gathers them: each row is written once.
                if automatic {
                    try await sql.raw("""
                        UPDATE commissions SET batch_id = \(bind: batchID), state = 'settled', settled_at = \(bind: now), updated_at = \(bind: now)
                        WHERE merchant_id = \(bind: merchantID) AND state = 'frozen' AND held = \(bind: false) AND batch_id IS NULL
                          AND settleable_at IS NOT NULL AND settleable_at < \(bind: cutoff)
                        """).run()
                } else {
                    try await sql.raw("""
                        UPDATE commissions SET batch_id = \(bind: batchID)
                        WHERE merchant_id = \(bind: merchantID) AND state = 'frozen' AND held = \(bind: false) AND batch_id IS NULL
                          AND settleable_at IS NOT NULL AND settleable_at < \(bind: cutoff)
                        """).run()
                }
                let totals = try await sql.raw("""
                    SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM commissions WHERE batch_id = \(bind: batchID)
                    """).first()
                batch.commissionCount = Int(try totals?.decode(column: "n", as: Int64.self) ?? 0)
                batch.total = try totals?.decode(column: "total", as: Int64.self) ?? 0
                guard batch.commissionCount > 0 else {
                    try await batch.delete(on: db)
                    return nil
                }
                try await batch.save(on: db)
                guard automatic else { return (0, false) }
                return (try await settleBatch(batch, by: "system", on: db, now: now, rowsSettled: true), true)
            }
            guard let outcome else { continue }
            report.batches += 1
            if outcome.1 { report.settled += outcome.0 } else { report.awaitingApproval += 1 }
        }
        return report
    }

    private static func freeLabel(_ label: String, merchantID: UUID, on db: any Database) async throws -> String {
        var candidate = label
        var n = 2
        while try await CommissionBatch.query(on: db).filter(\.$merchantID == merchantID).filter(\.$period == candidate).first() != nil, n < 1_000 {
            candidate = "\(label)#\(n)"
            n += 1
        }
        return candidate
    }

    /// Settles a batch in bulk: one statement moves its commissions to settled, then one ledger
    /// transaction per distributor moves the sum from frozen to available (its debt first). A
    /// member held since the batch was made stays frozen and leaves the batch for a later one.
    static func settleBatch(_ batch: CommissionBatch, by approver: String, on db: any Database, now: Date, rowsSettled: Bool = false) async throws -> Int {
        let sql = try sqlDatabase(db)
        let batchID = try batch.requireID()
        if !rowsSettled {
            try await sql.raw("UPDATE commissions SET batch_id = NULL WHERE batch_id = \(bind: batchID) AND (state <> 'frozen' OR held = \(bind: true))").run()
            try await sql.raw("""
                UPDATE commissions SET state = 'settled', settled_at = \(bind: now), updated_at = \(bind: now)
                WHERE batch_id = \(bind: batchID) AND state = 'frozen' AND held = \(bind: false)
                """).run()
        }
        let sums = try await sql.raw("""
            SELECT beneficiary_id, CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(amount) AS BIGINT) AS total FROM commissions
            WHERE batch_id = \(bind: batchID) AND state = 'settled' GROUP BY beneficiary_id ORDER BY beneficiary_id
            """).all()
        let service = CommissionService(db: db, now: now)
        let ledger = LedgerService(db: db, now: now)
        var settled = 0
        var total: Int64 = 0
        for row in sums {
            let member = try row.decode(column: "beneficiary_id", as: UUID.self)
            let amount = Money(fen: try row.decode(column: "total", as: Int64.self))
            settled += Int(try row.decode(column: "n", as: Int64.self))
            total += amount.fen
            guard amount.fen > 0 else { continue }
            let owner = LedgerOwner.member(member)
            let netting = try CommissionDebtNetting.apply(.settle(amount), to: try await service.balances(member))
            var entries: [LedgerEntry] = [.debit(try LedgerAccountKey(.commissionFrozen, owner), amount)]
            if netting.toAvailable.fen > 0 { entries.append(.credit(try LedgerAccountKey(.commissionAvailable, owner), netting.toAvailable)) }
            if netting.toDebt.fen > 0 { entries.append(.credit(try LedgerAccountKey(.commissionDebt, owner), netting.toDebt)) }
            _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "commission-batch:\(batchID.uuidString.lowercased()):\(member.uuidString.lowercased())", kind: "commission_settled",
                memo: batch.period, entries: entries))
        }
        batch.state = "settled"
        batch.settledAt = now
        batch.approvedBy = approver
        batch.commissionCount = settled
        batch.total = total
        try await batch.save(on: db)
        return settled
    }

    static func approve(batchID: UUID, by staff: StaffUser, ip: String, app: Application) async throws -> Report {
        let now = app.clock.now()
        let settled = try await app.writeGate.transaction(on: app.db) { db -> Int in
            guard let batch = try await CommissionBatch.find(batchID, on: db) else { throw APIError.notFound }
            // Claimed by a conditional update: of two approvals at once, one settles.
            let claimed = try await sqlDatabase(db).raw("UPDATE commission_batches SET state = 'settling' WHERE id = \(bind: batchID) AND state = 'awaiting_approval' RETURNING id").all()
            guard !claimed.isEmpty else {
                throw APIError(.conflict, "batch.already_settled", .init("该结算批次已结算", "This batch has already been settled"))
            }
            let count = try await settleBatch(batch, by: staff.username, on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "commission.batch.approve", target: "batch:\(batch.period)", ip: ip, at: now)
            return count
        }
        return Report(batches: 1, settled: settled, awaitingApproval: 0)
    }
}
