import Fluent
import SQLKit
import Vapor

/// Server-side sessions in the database, written only when their data changed and always through
/// the write gate: a signed-in shopper browsing pages costs reads, not a write per page. A session
/// ends on the server `lifetime` after it began, whatever the cookie says, and is then swept.
struct GatedSessionDriver: SessionDriver {
    private struct LoadedKey: StorageKey { typealias Value = [String: String] }
    static let lifetime: TimeInterval = 7 * 24 * 3600

    func createSession(_ data: SessionData, for request: Request) -> EventLoopFuture<SessionID> {
        let id = SessionID(string: Tokens.random(byteCount: 32))
        // An unknown cookie gives an empty session: nothing worth a row.
        if data.snapshot.isEmpty { return request.eventLoop.makeSucceededFuture(id) }
        let record = SessionRecord(key: id, data: data)
        let expires = SignOuts.seconds(request.now.addingTimeInterval(Self.lifetime))
        return request.eventLoop.makeFutureWithTask {
            try await request.writeTransaction { db in
                try await record.create(on: db)
                try await sqlDatabase(db).raw("UPDATE _fluent_sessions SET expires_at = \(bind: expires) WHERE key = \(bind: id.string)").run()
            }
            return id
        }
    }

    func readSession(_ sessionID: SessionID, for request: Request) -> EventLoopFuture<SessionData?> {
        SessionRecord.query(on: request.db).filter(\.$key == sessionID)
            .filter(FieldKey("expires_at"), .greaterThan, SignOuts.seconds(request.now)).first().map { record in
            if let data = record?.data { request.storage[LoadedKey.self] = data.snapshot }
            return record?.data
        }
    }

    func updateSession(_ sessionID: SessionID, to data: SessionData, for request: Request) -> EventLoopFuture<SessionID> {
        if request.storage[LoadedKey.self] == data.snapshot { return request.eventLoop.makeSucceededFuture(sessionID) }
        return request.eventLoop.makeFutureWithTask {
            try await request.writeTransaction { db in
                try await SessionRecord.query(on: db).filter(\.$key == sessionID).set(\.$data, to: data).update()
            }
            return sessionID
        }
    }

    func deleteSession(_ sessionID: SessionID, for request: Request) -> EventLoopFuture<Void> {
        request.eventLoop.makeFutureWithTask {
            try await request.writeTransaction { db in
                try await SessionRecord.query(on: db).filter(\.$key == sessionID).delete()
            }
        }
    }
}

/// Deletes what has expired: sessions past their end and rate counters long idle. `fission sweep`
/// runs it once; `fission serve` runs it every hour.
enum Sweeper {
    struct Report: Sendable, Equatable { let sessions: Int; let counters: Int }

    static func run(on db: any Database, gate: WriteGate, now: Date) async throws -> Report {
        try await gate.transaction(on: db) { db in
            let sql = try sqlDatabase(db)
            let expired = try await sql.raw("""
                DELETE FROM _fluent_sessions WHERE expires_at IS NULL OR expires_at <= \(bind: SignOuts.seconds(now)) RETURNING id
                """).all().count
            let counters = try await RateCounter.sweep(on: db, now: now)
            return Report(sessions: expired, counters: counters)
        }
    }
}

extension Request {
    private struct NewCSRFCookieKey: StorageKey { typealias Value = String }
    static let csrfCookieName = "fission_csrf"

    /// The token a page's forms carry. A signed-in session keeps its own; an anonymous visitor
    /// gets one in a cookie (double submit), so browsing creates no session row.
    var csrfToken: String {
        if hasSession, let token = session.data["csrf"] { return token }
        if let token = storage[NewCSRFCookieKey.self] ?? Self.wellFormedToken(cookies[Self.csrfCookieName]?.string) { return token }
        let token = Tokens.random(byteCount: 24)
        storage[NewCSRFCookieKey.self] = token
        return token
    }

    /// What a POST must send: the session's token when there is one, else the cookie's.
    var csrfExpected: String? {
        if hasSession, let token = session.data["csrf"] { return token }
        return Self.wellFormedToken(cookies[Self.csrfCookieName]?.string)
    }

    /// Sets the anonymous CSRF cookie on a page that handed out a new token.
    func attachCSRFCookie(to response: Response) {
        guard let token = storage[NewCSRFCookieKey.self] else { return }
        response.cookies[Self.csrfCookieName] = HTTPCookies.Value(
            string: token, path: "/", isSecure: application.config.publicBaseURL.hasPrefix("https://"), isHTTPOnly: true, sameSite: .lax)
    }

    private static func wellFormedToken(_ value: String?) -> String? {
        guard let value, (16...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else { return nil }
        return value
    }
}

private extension UInt8 {
    var isASCIIAlphanumeric: Bool { (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) }
}
