import Fluent
import Vapor

/// Server-side sessions in the database, written only when their data changed and always through
/// the write gate: a signed-in shopper browsing pages costs reads, not a write per page.
struct GatedSessionDriver: SessionDriver {
    private struct LoadedKey: StorageKey { typealias Value = [String: String] }

    func createSession(_ data: SessionData, for request: Request) -> EventLoopFuture<SessionID> {
        let id = SessionID(string: Tokens.random(byteCount: 32))
        // An unknown cookie gives an empty session: nothing worth a row.
        if data.snapshot.isEmpty { return request.eventLoop.makeSucceededFuture(id) }
        let record = SessionRecord(key: id, data: data)
        return request.eventLoop.makeFutureWithTask {
            try await request.writeTransaction { db in try await record.create(on: db) }
            return id
        }
    }

    func readSession(_ sessionID: SessionID, for request: Request) -> EventLoopFuture<SessionData?> {
        SessionRecord.query(on: request.db).filter(\.$key == sessionID).first().map { record in
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
