import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Points (积分) and growth. Points live in lots that expire together; the account's balance is
/// their sum and moves only by conditional updates in the caller's transaction, so two spends at
/// once never take the balance below zero. Every change of a lot is a movement row with its
/// reason and a reference that makes it happen once.
struct PointsService {
    let db: any Database
    let now: Date

    private var sql: any SQLDatabase { get throws { try sqlDatabase(db) } }

    static func spendRef(paymentID: UUID) -> String { "checkout:\(paymentID.uuidString.lowercased())" }

    /// The account row, created empty at the first level on first use.
    func ensureAccount(_ memberID: UUID) async throws {
        try await sql.raw("""
            INSERT INTO member_points (id, balance, growth, level_id, updated_at) VALUES (\(bind: memberID), 0, 0, '', \(bind: now))
            ON CONFLICT (id) DO NOTHING
            """).run()
    }

    /// Points not expired at `now` (the stored balance may still hold lots the job has not expired yet).
    func usableBalance(_ memberID: UUID) async throws -> Int64 {
        let row = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) AS points FROM point_lots
            WHERE member_id = \(bind: memberID) AND remaining > 0 AND (expires_at IS NULL OR expires_at > \(bind: now))
            """).first()
        return try row?.decode(column: "points", as: Int64.self) ?? 0
    }

    /// Adds a lot of `points` for `ref` once; returns the points added (0 when `ref` was already
    /// earned or there is nothing to add).
    @discardableResult
    func earn(_ memberID: UUID, points: Int64, reason: PointsReason, ref: String, expiry: PointsExpiry) async throws -> Int64 {
        guard points > 0 else { return 0 }
        guard points <= PointsLedger.maxPointsPerEntry else { throw MarketingError.invalidCount }
        // The member's account row is held while `ref` is checked, so two sign-ins at once earn once.
        try await ensureAccount(memberID)
        try await lockRow(MemberPointsAccount.schema, memberID, on: db)
        guard try await PointMovementRecord.query(on: db).filter(\.$ref == ref).first() == nil else { return 0 }
        let lotID = UUID()
        try await sql.raw("""
            INSERT INTO point_lots (id, member_id, earned, remaining, reason, earned_at, expires_at)
            VALUES (\(bind: lotID), \(bind: memberID), \(bind: points), \(bind: points), \(bind: reason.rawValue), \(bind: now),
              \(bind: expiry.expiresAt(earnedAt: now)))
            """).run()
        try await move(memberID, lot: lotID, delta: points, reason: reason, ref: ref)
        try await sql.raw("UPDATE member_points SET balance = balance + \(bind: points), updated_at = \(bind: now) WHERE id = \(bind: memberID)").run()
        return points
    }

    /// Spends `points` from the lots that expire soonest. Refused (409, nothing written) when the
    /// member has fewer usable points, including when a concurrent spend took them first.
    func spend(_ memberID: UUID, points: Int64, ref: String, reason: PointsReason = .spend) async throws {
        guard points > 0 else { return }
        try await expireDue(memberID: memberID)
        let taken = try await sql.raw("""
            UPDATE member_points SET balance = balance - \(bind: points), updated_at = \(bind: now)
            WHERE id = \(bind: memberID) AND balance >= \(bind: points) RETURNING balance
            """).all()
        guard !taken.isEmpty else {
            throw MarketingError.insufficientPoints(balance: try await usableBalance(memberID), requested: points)
        }
        var left = points
        for lot in try await usableLots(memberID) where left > 0 {
            let take = min(left, lot.remaining)
            try await sql.raw("UPDATE point_lots SET remaining = remaining - \(bind: take) WHERE id = \(bind: lot.id) AND remaining >= \(bind: take)").run()
            try await move(memberID, lot: lot.id, delta: -take, reason: reason, ref: ref)
            left -= take
        }
        // The balance and the lots agree (the lots were expired first), so this cannot happen short of a broken row.
        guard left == 0 else { throw MarketingError.insufficientPoints(balance: points - left, requested: points) }
    }

    /// Gives back up to `points` of what the checkout `paymentID` spent, into the lots they came
    /// from; points whose lot has expired meanwhile are not given back. Recorded under `returnRef`.
    @discardableResult
    func giveBack(paymentID: UUID, points: Int64, returnRef: String) async throws -> Int64 {
        try await giveBack(spendRef: Self.spendRef(paymentID: paymentID), points: points, returnRef: returnRef)
    }

    /// Gives back up to `points` of what was spent under `spendRef`, the same way; `returnRef`
    /// starts with `spendRef + ":return:"`, so each spend's returns are found and never exceed it.
    @discardableResult
    func giveBack(spendRef: String, points: Int64, returnRef: String, reason: PointsReason = .refundReturn) async throws -> Int64 {
        guard points > 0 else { return 0 }
        let spent = try await PointMovementRecord.query(on: db).filter(\.$ref == spendRef).sort(\.$createdAt).all()
        guard let memberID = spent.first?.memberID else { return 0 }
        guard try await PointMovementRecord.query(on: db).filter(\.$ref == returnRef).first() == nil else { return 0 }
        let returned = try await returnedByLot(spendRef: spendRef)
        var left = points
        var given: Int64 = 0
        // The lots expiring last first: what comes back should last as long as it can.
        let lots = try await PointLotRecord.query(on: db).filter(\.$id ~~ spent.map(\.lotID)).all()
        for lot in lots.sorted(by: { ($0.expiresAt ?? .distantFuture) > ($1.expiresAt ?? .distantFuture) }) where left > 0 {
            let lotID = try lot.requireID()
            if let expires = lot.expiresAt, expires <= now { continue }
            let took = -spent.filter { $0.lotID == lotID }.reduce(0) { $0 + $1.delta }
            let back = min(left, took - (returned[lotID] ?? 0))
            guard back > 0 else { continue }
            try await sql.raw("UPDATE point_lots SET remaining = remaining + \(bind: back) WHERE id = \(bind: lotID)").run()
            try await move(memberID, lot: lotID, delta: back, reason: reason, ref: returnRef)
            left -= back
            given += back
        }
        if given > 0 {
            try await sql.raw("UPDATE member_points SET balance = balance + \(bind: given), updated_at = \(bind: now) WHERE id = \(bind: memberID)").run()
        }
        return given
    }

    static func earnRef(orderID: UUID) -> String { "order:\(orderID.uuidString.lowercased())" }

    /// A refund after an order earned its points takes back their share of what was refunded since
    /// (`PointsReturn.earnedBack`: rounded down, all of them once everything is refunded). Taken
    /// from the order's own lot first, then the soonest-expiring; never below zero, so points the
    /// member has already spent stay spent. Once per cumulative share: a repeated message takes nothing.
    @discardableResult
    func clawBack(order: Order) async throws -> Int64 {
        let orderID = try order.requireID()
        let earnRef = Self.earnRef(orderID: orderID)
        let earnings = try await PointMovementRecord.query(on: db).filter(\.$ref == earnRef).all()
        let earned = earnings.reduce(Int64(0)) { $0 + $1.delta }
        guard earned > 0, let earnedAt = earnings.map(\.createdAt).max() else { return 0 }
        try await lockRow(MemberPointsAccount.schema, order.memberID, on: db)
        // Points were earned on what was paid less what had been refunded by then.
        let refunds = try await Refund.query(on: db).filter(\.$orderID == orderID).filter(\.$status == RefundStatus.succeeded.rawValue).all()
        let before = refunds.filter { ($0.finishedAt ?? $0.createdAt) <= earnedAt }.reduce(Int64(0)) { $0 + $1.total }
        let since = refunds.filter { ($0.finishedAt ?? $0.createdAt) > earnedAt }.reduce(Int64(0)) { $0 + $1.total }
        let target = PointsReturn.earnedBack(reversed: since, spent: earned, value: order.payable - before)
        let prefix = earnRef + ":clawback:"
        let clawed = try await PointMovementRecord.query(on: db).filter(\.$ref >= prefix).filter(\.$ref < prefix + "~").all()
            .reduce(Int64(0)) { $0 - $1.delta }
        let ref = prefix + String(target)
        guard target > clawed, try await PointMovementRecord.query(on: db).filter(\.$ref == ref).first() == nil else { return 0 }
        try await expireDue(memberID: order.memberID)
        var left = target - clawed
        let own = Set(earnings.map(\.lotID))
        let lots = try await usableLots(order.memberID)
        var taken: Int64 = 0
        for lot in lots.filter({ own.contains($0.id) }) + lots.filter({ !own.contains($0.id) }) where left > 0 {
            let take = min(left, lot.remaining)
            let moved = try await sql.raw("""
                UPDATE point_lots SET remaining = remaining - \(bind: take) WHERE id = \(bind: lot.id) AND remaining >= \(bind: take) RETURNING id
                """).all()
            guard !moved.isEmpty else { continue }
            try await move(order.memberID, lot: lot.id, delta: -take, reason: .clawback, ref: ref)
            left -= take
            taken += take
        }
        if taken > 0 {
            try await sql.raw("""
                UPDATE member_points SET balance = balance - \(bind: taken), updated_at = \(bind: now) WHERE id = \(bind: order.memberID)
                """).run()
        }
        return taken
    }

    /// Points a checkout spent, and what they paid across its orders' lines (and what refunds reversed of that).
    func checkoutPoints(paymentID: UUID) async throws -> (spent: Int64, value: Int64, reversed: Int64) {
        let spent = try await PointMovementRecord.query(on: db).filter(\.$ref == Self.spendRef(paymentID: paymentID)).all().reduce(0) { $0 - $1.delta }
        let row = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) AS value, CAST(COALESCE(SUM(d.reversed_amount), 0) AS BIGINT) AS reversed
            FROM order_line_discounts d JOIN orders o ON o.id = d.order_id
            WHERE o.payment_id = \(bind: paymentID) AND d.source_kind = 'points'
            """).first()
        return (spent, try row?.decode(column: "value", as: Int64.self) ?? 0, try row?.decode(column: "reversed", as: Int64.self) ?? 0)
    }

    /// Expires what is due: each lot past its date loses what it has left, once.
    @discardableResult
    func expireDue(memberID: UUID? = nil, limit: Int = 500) async throws -> Int64 {
        var query = PointLotRecord.query(on: db).filter(\.$remaining > 0).filter(\.$expiresAt <= now)
        if let memberID { query = query.filter(\.$memberID == memberID) }
        var total: Int64 = 0
        for lot in try await query.sort(\.$expiresAt).limit(limit).all() {
            let lotID = try lot.requireID()
            let cleared = try await sql.raw("""
                UPDATE point_lots SET remaining = 0 WHERE id = \(bind: lotID) AND remaining = \(bind: lot.remaining) RETURNING id
                """).all()
            guard !cleared.isEmpty else { continue }
            try await move(lot.memberID, lot: lotID, delta: -lot.remaining, reason: .expiry, ref: "expiry:\(UUID().uuidString.lowercased())")
            try await sql.raw("""
                UPDATE member_points SET balance = balance - \(bind: lot.remaining), updated_at = \(bind: now)
                WHERE id = \(bind: lot.memberID) AND balance >= \(bind: lot.remaining)
                """).run()
            total += lot.remaining
        }
        return total
    }

    /// Growth from the member's completed orders (paid less refunded) and the level it reaches.
    @discardableResult
    func recomputeGrowth(_ memberID: UUID, config: MembersConfig) async throws -> (growth: Int64, level: MemberLevel) {
        let rows = try await sql.raw("""
            SELECT payable - refunded_amount AS net FROM orders WHERE member_id = \(bind: memberID) AND state = \(bind: OrderState.completed.rawValue)
            """).all()
        let book = try config.levelBook()
        let growth = book.growth(fromReceivedOrders: try rows.map { Money(fen: try $0.decode(column: "net", as: Int64.self)) })
        let level = book.level(forGrowth: growth)
        try await ensureAccount(memberID)
        try await sql.raw("""
            UPDATE member_points SET growth = \(bind: growth), level_id = \(bind: level.id), updated_at = \(bind: now) WHERE id = \(bind: memberID)
            """).run()
        return (growth, level)
    }

    /// The member's level by the stored growth (the first level for a member without an account yet).
    func level(_ memberID: UUID, config: MembersConfig) async throws -> (growth: Int64, level: MemberLevel) {
        let book = try config.levelBook()
        let growth = try await MemberPointsAccount.find(memberID, on: db)?.growth ?? 0
        return (growth, book.level(forGrowth: growth))
    }

    // MARK: - rows

    private func usableLots(_ memberID: UUID) async throws -> [(id: UUID, remaining: Int64)] {
        let lots = try await PointLotRecord.query(on: db).filter(\.$memberID == memberID).filter(\.$remaining > 0).all()
            .filter { lot in lot.expiresAt.map { $0 > now } ?? true }
        // Soonest expiry first, never-expiring last, then by earning.
        return try lots.sorted { a, b in
            switch (a.expiresAt, b.expiresAt) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.earnedAt < b.earnedAt
            }
        }.map { (try $0.requireID(), $0.remaining) }
    }

    private func returnedByLot(spendRef: String) async throws -> [UUID: Int64] {
        let prefix = spendRef + ":return:"
        let rows = try await PointMovementRecord.query(on: db).filter(\.$ref >= prefix).filter(\.$ref < prefix + "~").all()
        return rows.reduce(into: [:]) { $0[$1.lotID, default: 0] += $1.delta }
    }

    private func move(_ memberID: UUID, lot: UUID, delta: Int64, reason: PointsReason, ref: String) async throws {
        try await sql.raw("""
            INSERT INTO point_movements (id, member_id, lot_id, delta, reason, ref, created_at)
            VALUES (\(bind: UUID()), \(bind: memberID), \(bind: lot), \(bind: delta), \(bind: reason.rawValue), \(bind: ref), \(bind: now))
            """).run()
    }
}
