import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// 锁客: who a buyer belongs to. Each arrival through a distributor's link is a candidate that
/// MallCore's `DistributorBinding` decides on; every change is kept in the history.
struct BindingService {
    let db: any Database
    let now: Date

    enum Outcome: Equatable, Sendable {
        case bound(UUID)
        case kept(String)
    }

    /// A member reached a distributor's link (or a moment after it). Remembers the link for the
    /// later triggers, then applies the binding decision.
    @discardableResult
    func arrive(memberID: UUID, distributorID: UUID, trigger: BindingTrigger, note: String = "") async throws -> Outcome {
        // Two arrivals of one member (a page and an app at once) decide one after the other.
        try await lockRow(Member.schema, memberID, on: db)
        if trigger != .firstPaidOrder { try await touch(memberID: memberID, distributorID: distributorID) }
        let config = try await DistributionConfig.load(on: db)
        guard config.enabled else { return .kept("disabled") }
        let settings = try config.bindingSettings()
        let distributor = try await Distributor.find(distributorID, on: db)
        let active = distributor?.status == DistributorRecordStatus.active.rawValue
        let current = try await CustomerBinding.find(memberID, on: db)
        let candidate = BindingCandidate(buyerID: memberID, distributorID: distributorID, distributorIsActive: active, trigger: trigger,
                                         buyerIsNew: try await isNewMember(memberID), at: now)
        let decision = try DistributorBinding.decide(current: current?.record, candidate: candidate, settings: settings)
        switch decision {
        case .keep(let reason):
            return .kept(reason.rawValue)
        case .bind(let record):
            try await store(record, memberID: memberID, current: current, reason: "bind", trigger: trigger.rawValue, note: note)
            return .bound(record.distributorID)
        case .rebind(let record, let reason):
            try await store(record, memberID: memberID, current: current, reason: reason.rawValue, trigger: trigger.rawValue, note: note)
            return .bound(record.distributorID)
        }
    }

    /// The first paid order binds through the last link the buyer followed, if any.
    func arriveFromLastTouch(memberID: UUID, trigger: BindingTrigger) async throws {
        guard let touch = try await DistributionTouch.find(memberID, on: db) else { return }
        try await arrive(memberID: memberID, distributorID: touch.distributorID, trigger: trigger)
    }

    /// New to the mall: no paid order yet.
    private func isNewMember(_ memberID: UUID) async throws -> Bool {
        let row = try await sqlDatabase(db).raw("SELECT COUNT(*) AS n FROM orders WHERE member_id = \(bind: memberID) AND paid_at IS NOT NULL").first()
        return try (row?.decode(column: "n", as: Int.self) ?? 0) == 0
    }

    private func touch(memberID: UUID, distributorID: UUID) async throws {
        try await sqlDatabase(db).raw("""
            INSERT INTO distribution_touches (id, distributor_id, at) VALUES (\(bind: memberID), \(bind: distributorID), \(bind: now))
            ON CONFLICT (id) DO UPDATE SET distributor_id = excluded.distributor_id, at = excluded.at
            """).run()
    }

    private func store(_ record: BindingRecord, memberID: UUID, current: CustomerBinding?, reason: String, trigger: String, note: String) async throws {
        let binding = current ?? CustomerBinding()
        if current == nil { binding.id = memberID }
        binding.distributorID = record.distributorID
        binding.since = record.since
        binding.expiresAt = record.expiresAt
        binding.trigger = trigger
        try await binding.save(on: db)
        let entry = BindingHistoryEntry()
        entry.memberID = memberID
        entry.fromDistributorID = current?.distributorID
        entry.toDistributorID = record.distributorID
        entry.reason = reason
        entry.trigger = trigger
        entry.note = String(note.prefix(200))
        entry.at = now
        try await entry.create(on: db)
    }

    /// The operator moves a buyer to another distributor, whatever the mode says. Audited.
    func move(memberID: UUID, to distributorID: UUID, reason: String, staff: StaffUser, ip: String) async throws -> CustomerBinding {
        guard try await Member.find(memberID, on: db) != nil else { throw APIError.notFound }
        try await lockRow(Member.schema, memberID, on: db)
        guard let distributor = try await Distributor.find(distributorID, on: db),
              distributor.status == DistributorRecordStatus.active.rawValue else {
            throw APIError(.unprocessableEntity, "binding.distributor_inactive", .init("只能绑定到正常状态的分销员", "A buyer can only be bound to an active distributor"))
        }
        guard distributorID != memberID else { throw BindingError.selfParent }
        // A distributor's binding is its parent: moving it must not close a loop.
        if try await Distributor.find(memberID, on: db) != nil {
            try DistributorBinding.checkParentChange(member: memberID, proposedParent: distributorID,
                                                     ancestorsOfParent: try await DistributorService(db: db, now: now).ancestors(of: distributorID))
        }
        let current = try await CustomerBinding.find(memberID, on: db)
        let record = BindingRecord(distributorID: distributorID, since: now, expiresAt: nil)
        try await store(record, memberID: memberID, current: current, reason: "operator", trigger: "operator", note: reason)
        try await AuditLog.record(on: db, actor: staff, action: "binding.move", target: "member:\(memberID.uuidString.lowercased())",
                                  detail: "\(current?.distributorID.uuidString.lowercased() ?? "-") → \(distributorID.uuidString.lowercased()): \(reason)", ip: ip, at: now)
        return try await CustomerBinding.find(memberID, on: db) ?? CustomerBinding()
    }
}

/// Link visits: counted once per visitor per China day, with their source.
enum DistributionVisits {
    static func record(distributorID: UUID, visitorKey: String, productID: UUID?, source: String, on db: any Database, now: Date) async throws {
        let safeSource = ["link", "qr", "poster", "store"].contains(source) ? source : "link"
        try await sqlDatabase(db).raw("""
            INSERT INTO distribution_visits (id, distributor_id, visitor_key, day, target, product_id, source, created_at)
            VALUES (\(bind: UUID()), \(bind: distributorID), \(bind: String(visitorKey.prefix(80))), \(bind: CommissionSettlement.period("daily", of: now).label),
                    \(bind: productID == nil ? "shop" : "product"), \(bind: productID), \(bind: safeSource), \(bind: now))
            ON CONFLICT (distributor_id, visitor_key, day) DO NOTHING
            """).run()
    }
}

/// On PostgreSQL, locks one row to the end of the transaction so that work on the same member or
/// order runs one at a time; SQLite's writes are one at a time already.
func lockRow(_ table: String, _ id: UUID, on db: any Database) async throws {
    let sql = try sqlDatabase(db)
    guard sql.dialect.name == "postgresql" else { return }
    try await sql.raw("SELECT id FROM \(ident: table) WHERE id = \(bind: id) FOR UPDATE").run()
}
