import Fluent
import MallCore
import SQLKit
import Vapor

/// Counts hits per key in the database, so every instance shares the count. A hit is taken with
/// one conditional upsert that answers whether it was allowed: forty parallel wrong passwords get
/// exactly the five checks the limit allows.
struct RateCounter {
    let db: any Database
    let now: Date

    struct Refused: Error {
        let limit: RateLimit
        let retryAfterSeconds: Int
    }

    private var nowMillis: Int64 { Self.millis(now) }

    static func millis(_ date: Date) -> Int64 { CheckedNumber.int64(date.timeIntervalSince1970 * 1000, rounding: .down) ?? 0 }

    /// Takes one hit on each key in turn; throws `Refused` at the first one over its limit.
    func hit(_ keys: [(RateLimit, String)]) async throws {
        for (limit, key) in keys { try await hit(limit, key) }
    }

    func hit(_ limit: RateLimit, _ key: String) async throws {
        let sql = try sqlDatabase(db)
        let id = limit.name + ":" + key
        let now = nowMillis
        let windowCutoff = now - Int64(limit.windowSeconds) * 1000
        // Without slowing, the last hit never makes room.
        let slowCutoff = limit.slowIntervalSeconds.map { now - Int64($0) * 1000 } ?? Int64.min
        let allowed = try await sql.raw("""
            INSERT INTO rate_counters (id, window_start, hits, last_at) VALUES (\(bind: id), \(bind: now), 1, \(bind: now))
            ON CONFLICT (id) DO UPDATE SET
                hits = CASE WHEN rate_counters.window_start <= \(bind: windowCutoff) THEN 1 ELSE rate_counters.hits + 1 END,
                window_start = CASE WHEN rate_counters.window_start <= \(bind: windowCutoff) THEN \(bind: now) ELSE rate_counters.window_start END,
                last_at = \(bind: now)
            WHERE rate_counters.window_start <= \(bind: windowCutoff) OR rate_counters.hits < \(bind: limit.limit) OR rate_counters.last_at <= \(bind: slowCutoff)
            RETURNING hits
            """).all()
        guard allowed.isEmpty else { return }
        let row = try await sql.raw("SELECT window_start, last_at FROM rate_counters WHERE id = \(bind: id)").first()
        let start = try row?.decode(column: "window_start", as: Int64.self) ?? now
        let last = try row?.decode(column: "last_at", as: Int64.self) ?? now
        throw Refused(limit: limit, retryAfterSeconds: limit.retryAfter(nowMillis: now, windowStartMillis: start, lastMillis: last))
    }

    /// Gives one hit back (a login that succeeded should not count against its address).
    func refund(_ limit: RateLimit, _ key: String) async throws {
        try await sqlDatabase(db).raw("""
            UPDATE rate_counters SET hits = hits - 1 WHERE id = \(bind: limit.name + ":" + key) AND hits > 0
            """).run()
    }

    /// Forgets a key's hits (after a successful login, its failures no longer count).
    func reset(_ limit: RateLimit, _ key: String) async throws {
        try await sqlDatabase(db).raw("DELETE FROM rate_counters WHERE id = \(bind: limit.name + ":" + key)").run()
    }

    /// Drops counters untouched for two days (longer than any window); returns how many.
    @discardableResult
    static func sweep(on db: any Database, now: Date) async throws -> Int {
        let cutoff = millis(now) - 2 * 24 * 3600 * 1000
        return try await sqlDatabase(db).raw("DELETE FROM rate_counters WHERE last_at < \(bind: cutoff) RETURNING id").all().count
    }
}

struct CreateRateCounters: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("rate_counters")
            .field("id", .string, .identifier(auto: false))
            .field("window_start", .int64, .required)
            .field("hits", .int64, .required)
            .field("last_at", .int64, .required)
            .create()
        try await createIndex("rate_counters_last_at", on: "rate_counters", columns: ["last_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema("rate_counters").delete()
    }
}

extension Request {
    /// One hit on a limit that guards something a stranger may do; 429 with Retry-After past it.
    func takeAnonymousHit(_ limit: RateLimit, key: String? = nil) async throws {
        do {
            try await RateCounter(db: db, now: now).hit(limit, key ?? clientIP)
        } catch let refused as RateCounter.Refused {
            throw APIError(.tooManyRequests, "too_many_requests", .init("操作过于频繁，请稍后再试", "Too many requests; please wait and try again"),
                           headers: ["Retry-After": String(refused.retryAfterSeconds)])
        }
    }
}
