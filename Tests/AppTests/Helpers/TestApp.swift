import Crypto
import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import Testing
import VaporTesting
@testable import App

/// Records SMS messages instead of sending them.
final class CapturingSms: SmsSender {
    private let box = NIOLockedValueBox<[(phone: String, text: String)]>([])
    func send(_ message: SmsCodeMessage, logger: Logger) async throws {
        let (phone, text) = (message.phone, message.text)
        box.withLockedValue { $0.append((phone.digits, text)) }
    }
    var messages: [(phone: String, text: String)] { box.withLockedValue { $0 } }

    /// The six-digit code in the last message sent to `phone`.
    func lastCode(for phone: String) -> String? {
        guard let text = messages.last(where: { $0.phone == phone })?.text else { return nil }
        return text.split(whereSeparator: { !$0.isNumber }).first { $0.count == 6 }.map(String.init)
    }
}

struct TestContext {
    let app: Application
    let clock: ManualClock
    let sms: CapturingSms
    /// The SQLite file, when the suite runs on SQLite.
    let sqlitePath: String?
    var isPostgres: Bool { sqlitePath == nil }
    let config: AppConfig

    /// Another instance of the mall on the same database, keys and clock, as a second server
    /// process would be; it is shut down after `body`.
    func withSecondInstance<T>(_ body: (Application) async throws -> T) async throws -> T {
        let other = try await Application.make(.testing)
        other.clock = clock
        other.sms = sms
        do {
            try await configure(other, config: config)
            let result = try await body(other)
            try await other.asyncShutdown()
            return result
        } catch {
            try? await other.asyncShutdown()
            throw error
        }
    }
}

/// Bounds how many test apps hold PostgreSQL connections at once, so that a parallel run stays
/// under the server's connection limit.
actor TestDatabaseSlots {
    static let shared = TestDatabaseSlots(count: 12)
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        if free > 0 { free -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// Runs `body` on a fresh, migrated database: a temporary SQLite file, or a schema of its own
/// on the PostgreSQL server named by DATABASE_URL. Afterwards the ledger must verify (every
/// balance, every transaction's sum, the hash chain), unless the test broke it on purpose.
func withMallApp(storefrontCacheMilliseconds: Int = 0, bodyTimeoutSeconds: Int = 30, idleTimeoutSeconds: Int = 30,
                 ledgerBrokenOnPurpose: Bool = false, _ test: (TestContext) async throws -> Void) async throws {
    let body: (TestContext) async throws -> Void = { t in
        try await test(t)
        guard !ledgerBrokenOnPurpose else { return }
        let report = try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify()
        #expect(report.ok, "verify-ledger after the test: \(report.problems)")
    }
    let usesPostgres = ProcessInfo.processInfo.environment["DATABASE_URL"].map { !$0.isEmpty } ?? false
    if usesPostgres { await TestDatabaseSlots.shared.acquire() }
    do {
        try await withFreshApp(storefrontCacheMilliseconds: storefrontCacheMilliseconds, bodyTimeoutSeconds: bodyTimeoutSeconds,
                               idleTimeoutSeconds: idleTimeoutSeconds, body)
    } catch {
        if usesPostgres { await TestDatabaseSlots.shared.release() }
        throw error
    }
    if usesPostgres { await TestDatabaseSlots.shared.release() }
}

private func withFreshApp(storefrontCacheMilliseconds: Int, bodyTimeoutSeconds: Int, idleTimeoutSeconds: Int,
                          _ body: (TestContext) async throws -> Void) async throws {
    let app = try await Application.make(.testing)
    let clock = ManualClock()
    let sms = CapturingSms()
    let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    let uploadsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("fission-uploads-\(UUID().uuidString)").path
    let sqlitePath = databaseURL == nil ? FileManager.default.temporaryDirectory.appendingPathComponent("fission-test-\(UUID().uuidString).sqlite").path : nil
    var config = AppConfig(
        databaseURL: databaseURL,
        postgresSchema: databaseURL == nil ? nil : String(schema),
        postgresConnectionsPerEventLoop: 2,
        sqlitePath: sqlitePath ?? "",
        dataKey: SymmetricKey(size: .bits256),
        jwtSecret: "test-secret-" + UUID().uuidString + UUID().uuidString,
        bcryptCost: 4,
        storefrontCacheMilliseconds: storefrontCacheMilliseconds,
        uploadsDirectory: uploadsDirectory,
        idleTimeoutSeconds: idleTimeoutSeconds,
        bodyTimeoutSeconds: bodyTimeoutSeconds)
    // The whole suite runs in parallel on two cores: a second instance may wait for the other's
    // SQLite writer longer than production's 5 s. The tests check what is written, not the wait.
    config.sqliteBusyMilliseconds = 30_000
    do {
        app.clock = clock
        app.sms = sms
        try await configure(app, config: config)
        if databaseURL != nil {
            try await sqlDatabase(app.db).raw("CREATE SCHEMA \(unsafeRaw: String(schema))").run()
        }
        try await app.autoMigrate()
        try await body(TestContext(app: app, clock: clock, sms: sms, sqlitePath: sqlitePath, config: config))
    } catch {
        await cleanUp(app, schema: databaseURL == nil ? nil : String(schema), sqlitePath: sqlitePath)
        try? FileManager.default.removeItem(atPath: uploadsDirectory)
        throw error
    }
    await cleanUp(app, schema: databaseURL == nil ? nil : String(schema), sqlitePath: sqlitePath)
    try? FileManager.default.removeItem(atPath: uploadsDirectory)
}

private func cleanUp(_ app: Application, schema: String?, sqlitePath: String?) async {
    if let schema {
        _ = try? await sqlDatabase(app.db).raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run()
    }
    try? await app.asyncShutdown()
    if let sqlitePath {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sqlitePath + suffix) }
    }
}

extension TestContext {
    /// Asks for a code for `phone` as its owner would (a minute after any earlier one) and reads it
    /// from the captured messages.
    func smsCode(_ phone: String) async throws -> String {
        clock.advance(seconds: 61)
        let sent = try await postJSON("/api/v1/auth/sms-codes", #"{"phone":"\#(phone)"}"#)
        #expect(sent.status == .accepted, "\(sent.body.string)")
        return try #require(sms.lastCode(for: phone))
    }

    /// Registers a member through the API, proving the number with its code, and returns its access token.
    @discardableResult
    func registerMember(_ phone: String, password: String = "Member2026") async throws -> String {
        let code = try await smsCode(phone)
        let response = try await app.testing().sendRequest(.POST, "/api/v1/auth/register", headers: ["Content-Type": "application/json"],
                                                           body: .init(string: #"{"phone":"\#(phone)","password":"\#(password)","smsCode":"\#(code)","acceptAgreements":true}"#))
        #expect(response.status == .created)
        return try response.content.decode(TokenPair.self).accessToken
    }

    /// A member written straight to the database with a token, for tests that need hundreds of
    /// buyers (sign-up through SMS is rate-limited per address).
    func quickMember(_ phone: String) async throws -> String {
        let member = Member()
        member.phoneCipher = try app.personalData.seal(phone)
        member.phoneHash = app.personalData.lookupHash(phone)
        member.nickname = "买家" + phone.suffix(4)
        member.userAgreementVersion = "test"
        member.privacyPolicyVersion = "test"
        member.agreedAt = clock.now()
        member.createdAt = clock.now()
        try await member.create(on: app.db)
        return try await TokenService(app: app, db: app.db).issue(kind: "member", subjectID: member.requireID()).accessToken
    }

    func memberID(phone: String) async throws -> UUID {
        let hash = app.personalData.lookupHash(phone)
        return try #require(try await Member.query(on: app.db).filter(\.$phoneHash == hash).first()?.requireID())
    }

    /// Creates a staff user directly (staff are created by operators, not by sign-up).
    @discardableResult
    func createStaff(_ username: String, role: StaffRole, merchantID: UUID?, password: String = "Staff2026") async throws -> StaffUser {
        let hash = try Bcrypt.hash(password, cost: 4)
        let staff = StaffUser(username: username, passwordHash: hash, displayName: username, role: role, merchantID: merchantID)
        try await staff.create(on: app.db)
        return staff
    }

    func createMerchant(_ name: String) async throws -> UUID {
        let merchant = Merchant(name: name, kind: .onboarded, serviceRateBP: 500)
        try await merchant.create(on: app.db)
        return try merchant.requireID()
    }

    func staffToken(_ username: String, console: String, password: String = "Staff2026") async throws -> String {
        let response = try await app.testing().sendRequest(.POST, "/api/v1/auth/staff-login", headers: ["Content-Type": "application/json"],
                                                           body: .init(string: #"{"username":"\#(username)","password":"\#(password)","console":"\#(console)"}"#))
        #expect(response.status == .ok, "staff login \(username): \(response.body.string)")
        return try response.content.decode(TokenPair.self).accessToken
    }

    func get(_ path: String, token: String? = nil, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        if let token { headers.bearerAuthorization = .init(token: token) }
        return try await app.testing().sendRequest(.GET, path, headers: headers)
    }

    func postJSON(_ path: String, _ json: String, token: String? = nil, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        headers.contentType = .json
        if let token { headers.bearerAuthorization = .init(token: token) }
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: .init(string: json))
    }

    /// Any method, with a JSON body when one is given.
    func send(_ method: HTTPMethod, _ path: String, _ json: String? = nil, token: String? = nil, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        if json != nil { headers.contentType = .json }
        if let token { headers.bearerAuthorization = .init(token: token) }
        return try await app.testing().sendRequest(method, path, headers: headers, body: json.map { .init(string: $0) })
    }
}

/// Small real images for upload tests, drawn with MallCore's PNG writer.
enum TestImages {
    static func png(width: Int = 4, height: Int = 3) -> [UInt8] {
        PNG.encodeRGB(width: width, height: height, pixels: [UInt8](repeating: 200, count: width * height * 3))
    }
}

/// A multipart/form-data body with text fields and files.
struct Multipart {
    let boundary = "fission-" + UUID().uuidString
    var parts: [(name: String, filename: String?, contentType: String?, bytes: [UInt8])] = []

    mutating func field(_ name: String, _ value: String) { parts.append((name, nil, nil, Array(value.utf8))) }
    mutating func file(_ name: String, _ filename: String, _ contentType: String, _ bytes: [UInt8]) { parts.append((name, filename, contentType, bytes)) }

    var contentType: HTTPMediaType { HTTPMediaType(type: "multipart", subType: "form-data", parameters: ["boundary": boundary]) }

    var body: ByteBuffer {
        var buffer = ByteBuffer()
        for part in parts {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"")
            if let filename = part.filename { buffer.writeString("; filename=\"\(filename)\"") }
            buffer.writeString("\r\n")
            if let type = part.contentType { buffer.writeString("Content-Type: \(type)\r\n") }
            buffer.writeString("\r\n")
            buffer.writeBytes(part.bytes)
            buffer.writeString("\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return buffer
    }
}

extension TestContext {
    /// Uploads through the API as a browser form would; returns the raw response.
    func upload(_ path: String, bytes: [UInt8], filename: String = "picture.png", contentType: String = "image/png", token: String? = nil) async throws -> TestingHTTPResponse {
        var form = Multipart()
        form.file("file", filename, contentType, bytes)
        var headers = HTTPHeaders()
        headers.contentType = form.contentType
        if let token { headers.bearerAuthorization = .init(token: token) }
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: form.body)
    }

    /// A licence picture uploaded the way an applicant sends it; returns its key.
    func uploadLicence() async throws -> String {
        let response = try await upload("/api/v1/merchant-applications/licence-images", bytes: TestImages.png())
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(ImageDTO.self).key
    }
}

/// The error shape every API error has.
struct ErrorJSON: Decodable {
    struct Detail: Decodable { let field: String; let message: String }
    let code: String
    let message: String
    let details: [Detail]
}

extension TestingHTTPResponse {
    var error: ErrorJSON? { try? JSONDecoder().decode(ErrorJSON.self, from: Data(body.readableBytesView)) }
}

/// A browser-like client for page tests: keeps cookies and reads the CSRF token from forms.
final class PageClient {
    let app: Application
    private(set) var cookies: [String: String] = [:]
    private(set) var csrf: String?
    /// Sent as `User-Agent` when set, e.g. a phone's.
    var userAgent: String?

    init(app: Application) { self.app = app }

    /// Sends a cookie the server did not set, as an attacker planting a session id would.
    func plant(cookie name: String, _ value: String) { cookies[name] = value }

    @discardableResult
    func get(_ path: String, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: .accept, value: "text/html")
        addCookies(&headers)
        let response = try await app.testing().sendRequest(.GET, path, headers: headers)
        remember(response)
        return response
    }

    @discardableResult
    func post(_ path: String, form: [String: String], includeCSRF: Bool = true) async throws -> TestingHTTPResponse {
        var fields = form
        if includeCSRF, let csrf { fields["_csrf"] = csrf }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .accept, value: "text/html")
        headers.contentType = .urlEncodedForm
        addCookies(&headers)
        let body = fields.map { "\(escape($0.key))=\(escape($0.value))" }.joined(separator: "&")
        let response = try await app.testing().sendRequest(.POST, path, headers: headers, body: .init(string: body))
        remember(response)
        return response
    }

    /// Posts a multipart form (with the CSRF token) as a browser does for file inputs.
    @discardableResult
    func postMultipart(_ path: String, fields: [String: String], files: [(name: String, filename: String, contentType: String, bytes: [UInt8])]) async throws -> TestingHTTPResponse {
        var form = Multipart()
        if let csrf { form.field("_csrf", csrf) }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { form.field(name, value) }
        for file in files { form.file(file.name, file.filename, file.contentType, file.bytes) }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .accept, value: "text/html")
        headers.contentType = form.contentType
        addCookies(&headers)
        let response = try await app.testing().sendRequest(.POST, path, headers: headers, body: form.body)
        remember(response)
        return response
    }

    /// Posts a form whose fields repeat (such as `skuPrice[]`), in the order given.
    @discardableResult
    func post(_ path: String, pairs: [(String, String)]) async throws -> TestingHTTPResponse {
        var fields = pairs
        if let csrf { fields.insert(("_csrf", csrf), at: 0) }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .accept, value: "text/html")
        headers.contentType = .urlEncodedForm
        addCookies(&headers)
        let body = fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        let response = try await app.testing().sendRequest(.POST, path, headers: headers, body: .init(string: body))
        remember(response)
        return response
    }

    private func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    private func addCookies(_ headers: inout HTTPHeaders) {
        if let userAgent { headers.replaceOrAdd(name: .userAgent, value: userAgent) }
        guard !cookies.isEmpty else { return }
        headers.replaceOrAdd(name: .cookie, value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
    }

    private func remember(_ response: TestingHTTPResponse) {
        for header in response.headers[.setCookie] {
            let pair = header.split(separator: ";").first ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { cookies[parts[0]] = parts[1] }
        }
        let html = response.body.string
        if let range = html.range(of: #"name="_csrf" value=""#) {
            let rest = html[range.upperBound...]
            if let end = rest.firstIndex(of: "\"") { csrf = String(rest[..<end]) }
        }
    }
}

/// A real server on a free loopback port for the length of `body`, for tests that need many
/// requests in flight at once (the testing client's running mode starts a server per request).
struct LiveServer {
    let app: Application
    let base: String

    func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: String? = nil) async throws -> ClientResponse {
        func once() async throws -> ClientResponse {
            try await app.client.send(method, headers: headers, to: URI(string: base + path)) { request in
                if let body { request.body = ByteBuffer(string: body) }
            }
        }
        do {
            return try await once()
        } catch where [.GET, .HEAD, .PUT].contains(method) && String(describing: error).contains("remoteConnectionClosed") {
            // A pooled keep-alive connection the server closed as idle just as it was reused (a
            // race a busy machine makes likely): an idempotent request is sent again on a new one.
            return try await once()
        }
    }
}

extension TestContext {
    func withLiveServer(_ body: (LiveServer) async throws -> Void) async throws {
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = app.http.server.shared.localAddress?.port else {
            await app.server.shutdown()
            throw Abort(.internalServerError, reason: "the test server has no port")
        }
        do {
            try await body(LiveServer(app: app, base: "http://127.0.0.1:\(port)"))
        } catch {
            await app.server.shutdown()
            throw error
        }
        await app.server.shutdown()
    }
}
