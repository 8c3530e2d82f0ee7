import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Commission through its life: booked at payment, frozen at receipt, settled after the
/// after-sales window, lowered or clawed back by refunds. Every step moves the ledger in the
/// caller's transaction, under an idempotency key of its own, so a step repeated does nothing.
///
/// Money flows: the selling shop pays each commission out of what its order brought
/// (`merchant_pending`, or `merchant_receivable` once the order completed) into the
/// distributor's `commission_pending` → `commission_frozen` → `commission_available`;
/// refunds send the difference back the same way, and what a settled balance cannot cover
/// becomes `commission_debt`.
struct CommissionService {
    let db: any Database
    let now: Date

    static let chinaTime = TimeZone(identifier: "Asia/Shanghai") ?? .current

    // MARK: - The rules in force

    func ruleBook(_ config: DistributionConfig) async throws -> CommissionRuleBook {
        let records = try await CommissionRuleRecord.query(on: db).sort(\.$scopeKey).all()
        let decoder = JSONDecoder()
        let rules = try records.map { try decoder.decode(CommissionRule.self, from: Data($0.ruleJSON.utf8)) }
        let parents = try await sqlDatabase(db).raw("SELECT id, parent_id FROM categories WHERE parent_id IS NOT NULL").all()
        var categoryParents: [UUID: UUID] = [:]
        for row in parents {
            categoryParents[try row.decode(column: "id", as: UUID.self)] = try row.decode(column: "parent_id", as: UUID.self)
        }
        return try CommissionRuleBook(rules: rules, settings: try config.commissionSettings(), categoryParents: categoryParents)
    }

    /// The distributor as the engine sees it, with its own sales this month for the tiers.
    func snapshot(_ distributor: Distributor) async throws -> DistributorSnapshot? {
        guard let status = DistributorRecordStatus(rawValue: distributor.status)?.engineStatus else { return nil }
        let id = try distributor.requireID()
        return DistributorSnapshot(id: id, status: status, gradeID: distributor.gradeID, periodSales: try await periodSales(id))
    }

    /// The bases of this month's level-1 commissions: what the distributor itself sold.
    func periodSales(_ distributorID: UUID) async throws -> Money {
        let row = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(base), 0) AS BIGINT) AS total FROM commissions
            WHERE beneficiary_id = \(bind: distributorID) AND level = 1 AND state <> 'voided' AND created_at >= \(bind: Self.monthStart(now))
            """).first()
        return Money(fen: try row?.decode(column: "total", as: Int64.self) ?? 0)
    }

    /// This month's own sales of many distributors in one grouped query per 500.
    func periodSales(_ ids: [UUID]) async throws -> [UUID: Money] {
        var sales: [UUID: Money] = [:]
        let sql = try sqlDatabase(db)
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let rows = try await sql.select()
                .column(SQLIdentifier("beneficiary_id"))
                .column(SQLRaw("CAST(COALESCE(SUM(base), 0) AS BIGINT)"), as: "total")
                .from("commissions")
                .where("beneficiary_id", .in, chunk).where("level", .equal, 1).where("state", .notEqual, "voided")
                .where("created_at", .greaterThanOrEqual, Self.monthStart(now))
                .groupBy("beneficiary_id").all()
            for row in rows {
                sales[try row.decode(column: "beneficiary_id", as: UUID.self)] = Money(fen: try row.decode(column: "total", as: Int64.self))
            }
        }
        return sales
    }

    /// How many distributors each of `ids` has directly below it.
    func downlineCounts(_ ids: [UUID]) async throws -> [UUID: Int] {
        var counts: [UUID: Int] = [:]
        let sql = try sqlDatabase(db)
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let rows = try await sql.select()
                .column(SQLIdentifier("parent_id"))
                .column(SQLRaw("CAST(COUNT(*) AS BIGINT)"), as: "n")
                .from("distributors").where("parent_id", .in, chunk).groupBy("parent_id").all()
            for row in rows { counts[try row.decode(column: "parent_id", as: UUID.self)] = Int(try row.decode(column: "n", as: Int64.self)) }
        }
        return counts
    }

    static func monthStart(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = chinaTime
        return calendar.dateInterval(of: .month, for: date)?.start ?? date
    }

    /// Who could earn on the buyer's order: the buyer's own distributor record when active in the
    /// network, and the chain above — a distributor's parent, or a member's bound distributor —
    /// read three deep.
    func participants(buyerID: UUID) async throws -> CommissionParticipants {
        var participants = CommissionParticipants(buyerID: buyerID)
        var next: UUID?
        if let own = try await Distributor.find(buyerID, on: db), let snapshot = try await snapshot(own) {
            participants.buyerAsDistributor = snapshot
            next = own.parentID
        } else if let binding = try await CustomerBinding.find(buyerID, on: db), binding.record.isActive(at: now) {
            next = binding.distributorID
        }
        participants.upline = try await upline(from: next, excluding: buyerID)
        return participants
    }

    /// The network above a seat, nearest first, three deep; a cycle in stored data stops the walk
    /// (the engine names it).
    func upline(from start: UUID?, excluding buyerID: UUID? = nil) async throws -> [DistributorSnapshot] {
        var chain: [DistributorSnapshot] = []
        var seen: Set<UUID> = buyerID.map { [$0] } ?? []
        var next = start
        while let id = next, chain.count < CommissionLevel.maximum {
            guard let distributor = try await Distributor.find(id, on: db), let snapshot = try await snapshot(distributor) else { break }
            chain.append(snapshot)
            guard seen.insert(id).inserted else { break }
            next = distributor.parentID
        }
        return chain
    }

    // MARK: - Booking at payment

    /// Calculates and books an order's commission once. Called by the order.paid handler, and
    /// before anything that depends on it (receipt, completion, a refund) in case that handler
    /// has not run yet. The line snapshots are the claim: a second call finds them and returns.
    func ensureBooked(_ order: Order) async throws {
        let orderID = try order.requireID()
        guard order.paidAt != nil else { return }
        let sql = try sqlDatabase(db)
        // One booking of an order at a time: a second waits, then finds the lines booked.
        try await lockRow(Order.schema, orderID, on: db)
        if try await sql.raw("SELECT id FROM commission_lines WHERE order_id = \(bind: orderID) LIMIT 1").first() != nil { return }
        let config = try await DistributionConfig.load(on: db)
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).sort(\.$position).all()
        guard !lines.isEmpty else { return }

        // The first paid order may be the moment that binds the buyer.
        if config.enabled, try await isFirstPaidOrder(order) {
            try await BindingService(db: db, now: now).arriveFromLastTouch(memberID: order.memberID, trigger: .firstPaidOrder)
        }

        var results: [CommissionLineResult] = []
        if config.enabled {
            let book = try await ruleBook(config)
            let participants = try await participants(buyerID: order.memberID)
            let categories = try await productCategories(lines.map(\.productID))
            // A line under a promotion whose "pays commission" switch is off pays no level.
            let excluded = Set(try await OrderLineDiscount.query(on: db).filter(\.$orderID == orderID).filter(\.$paysCommission == false).all().map(\.orderLineID))
            let inputs = lines.map { line in
                CommissionLineInput(lineID: line.id ?? UUID(), skuID: line.skuID, productID: line.productID, categoryID: categories[line.productID],
                                    quantity: line.quantity, unitListPrice: Money(fen: line.unitPrice), paidAmount: Money(fen: line.paidAmount),
                                    marketingExcluded: (line.id.map(excluded.contains) ?? false) || line.giftActivityID != nil)
            }
            results = try book.calculate(participants, lines: inputs).lines
        }

        let encoder = JSONEncoder()
        var claimed = false
        for line in lines {
            let lineID = try line.requireID()
            let snapshot = results.first { $0.lineID == lineID }
            let json = try snapshot.map { String(decoding: try encoder.encode($0), as: UTF8.self) } ?? "{}"
            let inserted = try await sql.raw("""
                INSERT INTO commission_lines (id, order_id, snapshot_json, created_at) VALUES (\(bind: lineID), \(bind: orderID), \(bind: json), \(bind: now))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """).all()
            if inserted.isEmpty { return }  // another transaction booked this order
            claimed = true
        }
        guard claimed else { return }
        let ledger = LedgerService(db: db, now: now)
        for result in results {
            guard let line = lines.first(where: { $0.id == result.lineID }) else { continue }
            for level in result.levels where level.amount.fen > 0 {
                guard let beneficiary = level.beneficiaryID else { continue }
                let commission = Commission()
                commission.orderID = orderID
                commission.orderNo = order.orderNo
                commission.orderLineID = result.lineID
                commission.merchantID = order.merchantID
                commission.buyerID = order.memberID
                commission.beneficiaryID = beneficiary
                commission.level = level.level
                commission.state = CommissionState.pending.rawValue
                commission.held = false
                commission.amount = level.amount.fen
                commission.originalAmount = level.amount.fen
                commission.clawedBack = 0
                commission.base = result.base.fen
                commission.ruleSource = level.source?.rawValue ?? ""
                commission.tier = level.tier
                commission.capReduction = level.capReduction.fen
                commission.productTitle = String(line.title.prefix(120))
                commission.createdAt = now
                commission.holdReason = ""
                commission.updatedAt = now
                try await commission.create(on: db)
                _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                    idempotencyKey: "commission:\(result.lineID.uuidString.lowercased()):\(level.level)", kind: "commission_booked", memo: order.orderNo,
                    entries: [.debit(try LedgerAccountKey(.merchantPending, .merchant(order.merchantID)), level.amount),
                              .credit(try LedgerAccountKey(.commissionPending, .member(beneficiary)), level.amount)]))
            }
        }
        if order.receivedAt != nil { try await freeze(orderID: orderID) }
    }

    private func isFirstPaidOrder(_ order: Order) async throws -> Bool {
        let row = try await sqlDatabase(db).raw("""
            SELECT COUNT(*) AS n FROM orders WHERE member_id = \(bind: order.memberID) AND paid_at IS NOT NULL AND payment_id <> \(bind: order.paymentID)
            """).first()
        return try (row?.decode(column: "n", as: Int.self) ?? 0) == 0
    }

    private func productCategories(_ productIDs: [UUID]) async throws -> [UUID: UUID] {
        let ids = Array(Set(productIDs))
        guard !ids.isEmpty else { return [:] }
        let rows = try await sqlDatabase(db).raw("""
            SELECT id, category_id FROM products WHERE id IN (\(ids.map { SQLQueryString("\(bind: $0)") }.joined(separator: ", ")))
            """).all()
        var categories: [UUID: UUID] = [:]
        for row in rows { categories[try row.decode(column: "id", as: UUID.self)] = try row.decode(column: "category_id", as: UUID?.self) }
        return categories
    }

    // MARK: - Receipt and completion

    /// The buyer received the goods: the order's pending commissions freeze.
    func freeze(orderID: UUID) async throws {
        let pending = try await Commission.query(on: db).filter(\.$orderID == orderID).filter(\.$state == CommissionState.pending.rawValue).all()
        let ledger = LedgerService(db: db, now: now)
        for commission in pending {
            let next = try CommissionLifecycle.apply(.received, to: commission.status)
            let id = try commission.requireID()
            let moved = try await sqlDatabase(db).raw("""
                UPDATE commissions SET state = \(bind: next.state.rawValue), received_at = \(bind: now), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND state = 'pending' RETURNING id
                """).all()
            guard !moved.isEmpty, commission.amount > 0 else { continue }
            let member = LedgerOwner.member(commission.beneficiaryID)
            _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "commission-freeze:\(id.uuidString.lowercased())", kind: "commission_frozen", memo: commission.orderNo,
                entries: [.debit(try LedgerAccountKey(.commissionPending, member), Money(fen: commission.amount)),
                          .credit(try LedgerAccountKey(.commissionFrozen, member), Money(fen: commission.amount))]))
        }
    }

    /// What of the order's commission has left the shop but not settled: `complete` keeps it out
    /// of what moves to the shop's receivable.
    func outstanding(orderID: UUID) async throws -> Int64 {
        let row = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM commissions
            WHERE order_id = \(bind: orderID) AND state IN ('pending', 'frozen')
            """).first()
        return try row?.decode(column: "total", as: Int64.self) ?? 0
    }

    /// The order completed (window over, nothing open): its frozen commissions may settle, at
    /// once under continuous automatic settlement, otherwise in the next batch.
    func orderCompleted(orderID: UUID) async throws {
        try await sqlDatabase(db).raw("""
            UPDATE commissions SET settleable_at = \(bind: now), updated_at = \(bind: now)
            WHERE order_id = \(bind: orderID) AND state = 'frozen' AND settleable_at IS NULL
            """).run()
        let config = try await DistributionConfig.load(on: db)
        guard config.settlement.schedule == "continuous", config.settlement.approval == "automatic" else { return }
        let due = try await Commission.query(on: db).filter(\.$orderID == orderID).filter(\.$state == CommissionState.frozen.rawValue)
            .filter(\.$held == false).all()
        for commission in due { try await settle(commission) }
    }

    /// Frozen → settled: pays any debt of the distributor first, the rest becomes available.
    @discardableResult
    func settle(_ commission: Commission, batchID: UUID? = nil) async throws -> Bool {
        let id = try commission.requireID()
        _ = try CommissionLifecycle.apply(.settle, to: commission.status)
        let moved = try await sqlDatabase(db).raw("""
            UPDATE commissions SET state = 'settled', settled_at = \(bind: now), batch_id = \(bind: batchID), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND state = 'frozen' AND held = \(bind: false) RETURNING id
            """).all()
        guard !moved.isEmpty else { return false }
        guard commission.amount > 0 else { return true }
        let member = LedgerOwner.member(commission.beneficiaryID)
        let balance = try await balances(commission.beneficiaryID)
        let netting = try CommissionDebtNetting.apply(.settle(Money(fen: commission.amount)), to: balance)
        var entries: [LedgerEntry] = [.debit(try LedgerAccountKey(.commissionFrozen, member), Money(fen: commission.amount))]
        if netting.toAvailable.fen > 0 { entries.append(.credit(try LedgerAccountKey(.commissionAvailable, member), netting.toAvailable)) }
        if netting.toDebt.fen > 0 { entries.append(.credit(try LedgerAccountKey(.commissionDebt, member), netting.toDebt)) }
        _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
            idempotencyKey: "commission-settle:\(id.uuidString.lowercased())", kind: "commission_settled", memo: commission.orderNo, entries: entries))
        return true
    }

    /// The distributor's available commission and debt, from the ledger's balances.
    /// The member's commission accounts as the ledger holds them, by purpose.
    func commissionAccounts(_ memberID: UUID) async throws -> [String: Int64] {
        let rows = try await sqlDatabase(db).raw("""
            SELECT purpose, balance FROM ledger_accounts
            WHERE owner_kind = 'member' AND owner_id = \(bind: LedgerOwner.member(memberID).ownerID)
              AND purpose IN ('commission_pending', 'commission_frozen', 'commission_available', 'commission_debt')
            """).all()
        var by: [String: Int64] = [:]
        for row in rows { by[try row.decode(column: "purpose", as: String.self)] = try row.decode(column: "balance", as: Int64.self) }
        return by
    }

    func balances(_ memberID: UUID) async throws -> CommissionBalance {
        let by = try await commissionAccounts(memberID)
        return CommissionBalance(available: Money(fen: by[LedgerAccountPurpose.commissionAvailable.rawValue] ?? 0),
                                 debt: Money(fen: by[LedgerAccountPurpose.commissionDebt.rawValue] ?? 0))
    }

    // MARK: - Refunds

    /// A refund of a line succeeded: its commission becomes what the payment-time rules give on
    /// what remains of the line. Runs in the refund's transaction, before the refund's own
    /// posting, so the shop has the commission back before it pays the buyer.
    func refundSucceeded(_ refund: Refund, order: Order) async throws {
        try await ensureBooked(order)
        guard let lineID = refund.orderLineID, let line = try await OrderLine.find(lineID, on: db),
              let stored = try await CommissionLineSnapshot.find(lineID, on: db), stored.snapshotJSON != "{}" else { return }
        let snapshot = try stored.result()
        let commissions = try await Commission.query(on: db).filter(\.$orderLineID == lineID).all()
        guard !commissions.isEmpty else { return }
        let refunded = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(goods_amount), 0) AS BIGINT) AS amount, CAST(COALESCE(SUM(units), 0) AS BIGINT) AS units
            FROM refunds WHERE order_line_id = \(bind: lineID) AND status = 'succeeded'
            """).first()
        let refundedAmount = try refunded?.decode(column: "amount", as: Int64.self) ?? 0
        let refundedUnits = try refunded?.decode(column: "units", as: Int64.self) ?? 0
        let remainingPaid = Money(fen: max(line.paidAmount - refundedAmount, 0))
        let remainingUnits = max(line.quantity - refundedUnits, 0)
        var current: [Money] = [.zero, .zero, .zero]
        for commission in commissions where (1...3).contains(commission.level) {
            current[commission.level - 1] = Money(fen: commission.amount)
        }
        let recomputed = try snapshot.recompute(remainingPaidAmount: remainingPaid, remainingQuantity: remainingUnits, currentAmounts: current)
        let shop = try LedgerAccountKey(order.orderState == .completed ? .merchantReceivable : .merchantPending, .merchant(order.merchantID))
        let ledger = LedgerService(db: db, now: now)
        for level in recomputed.levels where level.delta.fen < 0 {
            guard let commission = commissions.first(where: { $0.level == level.level }), commission.state != CommissionState.voided.rawValue else { continue }
            let id = try commission.requireID()
            let key = "commission-refund:\(refund.refundNo):\(id.uuidString.lowercased())"
            let member = LedgerOwner.member(commission.beneficiaryID)
            let state = CommissionState(rawValue: commission.state) ?? .voided
            switch try CommissionLifecycle.refundEffect(state: state, before: level.before, after: level.after) {
            case .none:
                continue
            case .reduce, .void:
                let cut = Money(fen: level.before.fen - level.after.fen)
                let purpose: LedgerAccountPurpose = state == .pending ? .commissionPending : .commissionFrozen
                let voided = level.after.fen == 0
                commission.amount = level.after.fen
                if voided { commission.state = CommissionState.voided.rawValue; commission.held = false }
                commission.updatedAt = now
                try await commission.save(on: db)
                _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                    idempotencyKey: key, kind: "commission_reduced", memo: refund.refundNo,
                    entries: [.debit(try LedgerAccountKey(purpose, member), cut), .credit(shop, cut)]))
            case .clawBack(let amount):
                let netting = try CommissionDebtNetting.apply(.clawBack(amount), to: try await balances(commission.beneficiaryID))
                var entries: [LedgerEntry] = [.credit(shop, amount)]
                if netting.toAvailable.fen > 0 { entries.append(.debit(try LedgerAccountKey(.commissionAvailable, member), netting.toAvailable)) }
                if netting.toDebt.fen > 0 { entries.append(.debit(try LedgerAccountKey(.commissionDebt, member), netting.toDebt)) }
                commission.amount = level.after.fen
                commission.clawedBack += amount.fen
                commission.updatedAt = now
                try await commission.save(on: db)
                _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                    idempotencyKey: key, kind: "commission_clawed_back", memo: refund.refundNo, entries: entries))
            }
        }
    }

    // MARK: - Holds

    /// An operator holds a pending or frozen commission (risk review): it does not settle.
    func setHeld(_ held: Bool, commissionID: UUID, reason: String, staff: StaffUser, ip: String) async throws -> Commission {
        guard let commission = try await Commission.find(commissionID, on: db) else { throw APIError.notFound }
        let next = try CommissionLifecycle.apply(held ? .hold : .release, to: commission.status)
        commission.held = next.held
        commission.holdReason = held ? reason : ""
        commission.updatedAt = now
        try await commission.save(on: db)
        try await AuditLog.record(on: db, actor: staff, action: held ? "commission.hold" : "commission.release",
                                  target: "commission:\(commissionID.uuidString.lowercased())", detail: reason, ip: ip, at: now)
        // Released after its order completed: continuous automatic settlement pays it now.
        if !held, commission.state == CommissionState.frozen.rawValue, commission.settleableAt != nil {
            let config = try await DistributionConfig.load(on: db)
            if config.settlement.schedule == "continuous", config.settlement.approval == "automatic" {
                try await settle(commission)
                return try await Commission.find(commissionID, on: db) ?? commission
            }
        }
        return commission
    }
}

/// The order events distribution follows, registered at configure time.
enum DistributionOutbox {
    static func register(_ app: Application) {
        app.outboxHandlers["order.paid", default: []].append(OutboxHandler(name: "commission.book") { message, db, now in
            guard let order = try await Order.find(message.subjectID, on: db) else { return }
            try await CommissionService(db: db, now: now).ensureBooked(order)
        })
        app.outboxHandlers["order.received", default: []].append(OutboxHandler(name: "commission.freeze") { message, db, now in
            guard let order = try await Order.find(message.subjectID, on: db) else { return }
            let service = CommissionService(db: db, now: now)
            try await service.ensureBooked(order)
            try await service.freeze(orderID: message.subjectID)
        })
        app.outboxHandlers["order.completed", default: []].append(OutboxHandler(name: "commission.settleable") { message, db, now in
            try await CommissionService(db: db, now: now).orderCompleted(orderID: message.subjectID)
        })
    }
}
