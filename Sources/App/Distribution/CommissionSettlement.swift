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
            participants = CommissionParticipants(buyerID: UUID())
            var next = distributorID
            while let id = next, participants.upline.count < CommissionLevel.maximum {
                guard let distributor = try await Distributor.find(id, on: db), let snapshot = try await service.snapshot(distributor) else { break }
                participants.upline.append(snapshot)
                next = distributor.parentID
            }
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

    /// Makes the batches of finished periods; `force` takes the current period too (the console's
    /// "settle now", and a way to try the flow without waiting for midnight).
    static func run(_ app: Application, force: Bool = false) async throws -> Report {
        let now = app.clock.now()
        let config = try await DistributionConfig.load(on: app.db)
        var report = Report()
        // Continuous automatic settlement happens at completion; here only what a hold release missed.
        let continuous = config.settlement.schedule == "continuous"
        let cutoff = continuous || force ? now.addingTimeInterval(1) : period(config.settlement.schedule, of: now).start
        let due = try await Commission.query(on: app.db).filter(\.$state == CommissionState.frozen.rawValue).filter(\.$held == false)
            .filter(\.$batchID == nil).filter(\.$settleableAt != nil).filter(\.$settleableAt < cutoff).sort(\.$settleableAt).limit(50_000).all()
        let groups = Dictionary(grouping: due) { commission in
            "\(commission.merchantID.uuidString)|\(period(continuous ? "daily" : config.settlement.schedule, of: commission.settleableAt ?? now).label)"
        }
        for (key, members) in groups.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|")
            guard parts.count == 2, let merchantID = UUID(uuidString: String(parts[0])) else { continue }
            let automatic = config.settlement.approval == "automatic"
            let outcome = try await app.writeGate.transaction(on: app.db) { db -> (Int, Bool) in
                let batch = CommissionBatch()
                batch.merchantID = merchantID
                batch.period = try await freeLabel(String(parts[1]), merchantID: merchantID, on: db)
                batch.state = "awaiting_approval"
                batch.commissionCount = members.count
                batch.total = members.reduce(0) { $0 + $1.amount }
                batch.createdAt = now
                batch.approvedBy = ""
                try await batch.create(on: db)
                let batchID = try batch.requireID()
                let ids = members.compactMap(\.id)
                for chunk in stride(from: 0, to: ids.count, by: 500) {
                    let slice = Array(ids[chunk..<min(chunk + 500, ids.count)])
                    try await Commission.query(on: db).set(\.$batchID, to: batchID).filter(\.$id ~~ slice).filter(\.$batchID == nil).update()
                }
                guard automatic else { return (0, false) }
                let settled = try await settleBatch(batch, by: "system", on: db, now: now)
                return (settled, true)
            }
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

    static func settleBatch(_ batch: CommissionBatch, by approver: String, on db: any Database, now: Date) async throws -> Int {
        let service = CommissionService(db: db, now: now)
        var settled = 0
        let members = try await Commission.query(on: db).filter(\.$batchID == batch.requireID()).filter(\.$state == CommissionState.frozen.rawValue)
            .filter(\.$held == false).all()
        for commission in members where try await service.settle(commission, batchID: batch.requireID()) { settled += 1 }
        batch.state = "settled"
        batch.settledAt = now
        batch.approvedBy = approver
        try await batch.save(on: db)
        return settled
    }

    static func approve(batchID: UUID, by staff: StaffUser, ip: String, app: Application) async throws -> Report {
        let now = app.clock.now()
        let settled = try await app.writeGate.transaction(on: app.db) { db -> Int in
            guard let batch = try await CommissionBatch.find(batchID, on: db) else { throw APIError.notFound }
            guard batch.state == "awaiting_approval" else {
                throw APIError(.conflict, "batch.already_settled", .init("该结算批次已结算", "This batch has already been settled"))
            }
            let count = try await settleBatch(batch, by: staff.username, on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "commission.batch.approve", target: "batch:\(batch.period)", ip: ip, at: now)
            return count
        }
        return Report(batches: 1, settled: settled, awaitingApproval: 0)
    }
}
