import Crypto
import Foundation
import Vapor

/// Everything the app reads from its environment, with the defaults a development machine needs.
public struct AppConfig: Sendable {
    public enum LogFormat: String, Sendable { case text, json }

    /// PostgreSQL when set (`postgres://user:pass@host:5432/db`); otherwise the SQLite file below.
    public var databaseURL: String?
    /// PostgreSQL schema to work in (search_path); tests give each app its own.
    public var postgresSchema: String?
    public var postgresConnectionsPerEventLoop: Int
    public var sqlitePath: String
    /// AES-256 key for personal data at rest; 32 bytes.
    public var dataKey: SymmetricKey
    /// HMAC secret that signs API access tokens.
    public var jwtSecret: String
    public var accessTokenLifetime: TimeInterval
    public var refreshTokenLifetime: TimeInterval
    public var logFormat: LogFormat
    /// Whether the client's address may be read from X-Forwarded-For (only behind a proxy you run).
    public var trustForwardedFor: Bool
    /// Bcrypt work factor for new password hashes.
    public var bcryptCost: Int
    /// Where shoppers reach the mall; QR codes and shared links point here.
    public var publicBaseURL: String
    /// How long storefront lists and product pages may be answered from memory; 0 turns it off.
    public var storefrontCacheMilliseconds: Int
    /// How long a signed-in member's row and last sign-out may be reused from memory; 0 turns it off.
    /// A sign-out everywhere made at another instance takes effect here within this time.
    public var signedInMemberCacheMilliseconds: Int = 0
    /// Where uploaded images are kept by the local image storage.
    public var uploadsDirectory: String
    /// A bearer token that lets a metrics scraper read `/metrics`; operators may read it too.
    public var metricsToken: String?
    /// Connections idle this long are closed.
    public var idleTimeoutSeconds: Int
    /// A request body must arrive within this many seconds of its headers.
    public var bodyTimeoutSeconds: Int
    /// Minutes a checkout may stay unpaid before it is closed and its stock returned.
    public var orderPayMinutes: Int = OrderService.defaultPayMinutes
    /// On SQLite, how long a write waits for another process's writer before a clear 503.
    public var sqliteBusyMilliseconds: Int = 5_000
    /// WeChat Pay API v3 (`FISSION_WECHAT_*`); nil when not configured.
    var wechatPay: WeChatPaySettings?
    /// Alipay (`FISSION_ALIPAY_*`); nil when not configured.
    var alipay: AlipaySettings?

    public init(
        databaseURL: String? = nil,
        postgresSchema: String? = nil,
        postgresConnectionsPerEventLoop: Int = 8,
        sqlitePath: String,
        dataKey: SymmetricKey,
        jwtSecret: String,
        accessTokenLifetime: TimeInterval = 15 * 60,
        refreshTokenLifetime: TimeInterval = 30 * 24 * 3600,
        logFormat: LogFormat = .text,
        trustForwardedFor: Bool = false,
        bcryptCost: Int = 11,
        storefrontCacheMilliseconds: Int = 0,
        publicBaseURL: String = "http://127.0.0.1:8080",
        uploadsDirectory: String,
        metricsToken: String? = nil,
        idleTimeoutSeconds: Int = 30,
        bodyTimeoutSeconds: Int = 30
    ) {
        self.bodyTimeoutSeconds = bodyTimeoutSeconds
        self.metricsToken = metricsToken
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.databaseURL = databaseURL
        self.postgresSchema = postgresSchema
        self.postgresConnectionsPerEventLoop = postgresConnectionsPerEventLoop
        self.sqlitePath = sqlitePath
        self.dataKey = dataKey
        self.jwtSecret = jwtSecret
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.logFormat = logFormat
        self.trustForwardedFor = trustForwardedFor
        self.bcryptCost = bcryptCost
        self.storefrontCacheMilliseconds = storefrontCacheMilliseconds
        self.uploadsDirectory = uploadsDirectory
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
    }

    /// Reads the environment; keys that are not given are generated once into `var/` and reused.
    public static func load(workingDirectory: String) throws -> AppConfig {
        let env = ProcessInfo.processInfo.environment
        let varDirectory = env["FISSION_VAR_DIR"] ?? (workingDirectory + "var")
        try FileManager.default.createDirectory(atPath: varDirectory, withIntermediateDirectories: true)

        let dataKey: SymmetricKey
        if let encoded = env["FISSION_DATA_KEY"], !encoded.isEmpty {
            guard let bytes = Data(base64Encoded: encoded), bytes.count == 32 else {
                throw ConfigError("FISSION_DATA_KEY must be 32 bytes in base64 (openssl rand -base64 32)")
            }
            dataKey = SymmetricKey(data: bytes)
        } else {
            dataKey = SymmetricKey(data: try secretFile(at: varDirectory + "/data.key", byteCount: 32))
        }

        let jwtSecret: String
        if let secret = env["FISSION_JWT_SECRET"], !secret.isEmpty {
            guard secret.utf8.count >= 32 else { throw ConfigError("FISSION_JWT_SECRET must be at least 32 characters") }
            jwtSecret = secret
        } else {
            jwtSecret = try secretFile(at: varDirectory + "/jwt.key", byteCount: 48).base64EncodedString()
        }

        let databaseURL = env["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        var config = AppConfig(
            databaseURL: databaseURL,
            postgresSchema: env["FISSION_PG_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 },
            postgresConnectionsPerEventLoop: env["FISSION_PG_POOL"].flatMap(Int.init) ?? 8,
            sqlitePath: env["FISSION_SQLITE_PATH"] ?? (varDirectory + "/fission.sqlite"),
            dataKey: dataKey,
            jwtSecret: jwtSecret,
            accessTokenLifetime: TimeInterval(env["FISSION_ACCESS_TOKEN_SECONDS"].flatMap(Int.init) ?? 15 * 60),
            refreshTokenLifetime: TimeInterval(env["FISSION_REFRESH_TOKEN_DAYS"].flatMap(Int.init) ?? 30) * 24 * 3600,
            logFormat: LogFormat(rawValue: env["FISSION_LOG_FORMAT"] ?? "text") ?? .text,
            trustForwardedFor: env["FISSION_TRUST_FORWARDED_FOR"] == "1",
            bcryptCost: min(max(env["FISSION_BCRYPT_COST"].flatMap(Int.init) ?? 11, 4), 16),
            storefrontCacheMilliseconds: max(env["FISSION_STOREFRONT_CACHE_MS"].flatMap(Int.init) ?? 2_000, 0),
            publicBaseURL: env["FISSION_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080",
            uploadsDirectory: env["FISSION_UPLOADS_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? (varDirectory + "/uploads"),
            metricsToken: try metricsToken(env["FISSION_METRICS_TOKEN"]),
            idleTimeoutSeconds: min(max(env["FISSION_IDLE_TIMEOUT_SECONDS"].flatMap(Int.init) ?? 30, 5), 3600),
            bodyTimeoutSeconds: min(max(env["FISSION_BODY_TIMEOUT_SECONDS"].flatMap(Int.init) ?? 30, 1), 600)
        )
        config.signedInMemberCacheMilliseconds = min(max(env["FISSION_SIGNED_IN_CACHE_MS"].flatMap(Int.init) ?? 1_000, 0), 5_000)
        config.orderPayMinutes = min(max(env["FISSION_ORDER_PAY_MINUTES"].flatMap(Int.init) ?? OrderService.defaultPayMinutes, 1), 24 * 60)
        config.wechatPay = try WeChatPaySettings.load(env, publicBaseURL: config.publicBaseURL)
        config.alipay = try AlipaySettings.load(env, publicBaseURL: config.publicBaseURL)
        return config
    }

    private static func metricsToken(_ value: String?) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        guard value.utf8.count >= 16 else { throw ConfigError("FISSION_METRICS_TOKEN must be at least 16 characters") }
        return value
    }

    /// Random bytes kept in a file readable by the owner only, created on first use. The file is
    /// created exclusively and never overwritten: two first starts agree on one key, and a damaged
    /// key file stops the start instead of being replaced (data sealed with it would be lost).
    private static func secretFile(at path: String, byteCount: Int) throws -> Data {
        for _ in 0..<100 {
            if let existing = FileManager.default.contents(atPath: path) {
                if existing.count == byteCount { return existing }
                if existing.count > byteCount { throw ConfigError("\(path) is not a key of \(byteCount) bytes; restore it from a backup") }
                // Another process is writing it this moment.
                usleep(10_000)
                continue
            }
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            if descriptor < 0 {
                if errno == EEXIST { continue }
                throw ConfigError("cannot create \(path)")
            }
            defer { close(descriptor) }
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, byteCount) }
            guard written == byteCount, fsync(descriptor) == 0 else { throw ConfigError("cannot write \(path)") }
            return Data(bytes)
        }
        throw ConfigError("\(path) stayed incomplete; restore it from a backup")
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Application {
    private struct ConfigKey: StorageKey { typealias Value = AppConfig }

    public var config: AppConfig {
        get {
            guard let config = storage[ConfigKey.self] else { fatalError("configure(_:config:) was not called") }
            return config
        }
        set { storage[ConfigKey.self] = newValue }
    }
}
