import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import JWT
import Leaf
import Vapor

/// Wires databases, sessions, templates, middleware and routes for one application instance.
public func configure(_ app: Application, config: AppConfig) async throws {
    app.config = config

    if let url = config.databaseURL {
        var postgres = try SQLPostgresConfiguration(url: url)
        if let schema = config.postgresSchema {
            postgres.searchPath = [schema]
        }
        app.databases.use(.postgres(configuration: postgres, maxConnectionsPerEventLoop: config.postgresConnectionsPerEventLoop), as: .psql)
        app.writeGate = .none
    } else {
        app.databases.use(.sqlite(.file(config.sqlitePath)), as: .sqlite)
        app.writeGate = .serial()
        app.lifecycle.use(SQLiteWriteAheadLog())
    }
    app.migrations.add(Migrations.all)

    await app.jwt.keys.add(hmac: HMACKey(from: config.jwtSecret), digestAlgorithm: .sha256)

    app.imageStorage = LocalImageStorage(directory: config.uploadsDirectory, threadPool: app.threadPool)
    app.storefrontCache = StorefrontCache(timeToLive: .milliseconds(Int64(config.storefrontCacheMilliseconds)))

    app.views.use(.leaf)
    app.leaf.cache.isEnabled = app.environment.isRelease

    app.sessions.use(.fluent)
    app.sessions.configuration.cookieName = "fission_session"
    app.sessions.configuration.cookieFactory = { id in
        HTTPCookies.Value(string: id.string, maxAge: 7 * 24 * 3600, path: "/", isHTTPOnly: true, sameSite: .lax)
    }

    // Replace Vapor's defaults: our error middleware must see every error, including 404s.
    app.middleware = .init()
    app.middleware.use(RouteLoggingMiddleware(logLevel: .info))
    app.middleware.use(MetricsMiddleware(registry: app.metricsRegistry))
    app.middleware.use(RequestIDMiddleware())
    app.middleware.use(MallErrorMiddleware())
    app.middleware.use(MultipartGuardMiddleware())
    app.middleware.use(NulCharacterGuardMiddleware())
    app.middleware.use(FileMiddleware(publicDirectory: app.directory.publicDirectory))

    try routes(app)
}

func routes(_ app: Application) throws {
    app.get("healthz", use: health)
    app.get("metrics") { req async -> Response in
        let response = Response(status: .ok, body: .init(string: req.application.metricsRegistry.emitToString()))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return response
    }
    app.get("openapi.json", use: OpenAPIDocument.serve)
    try app.register(collection: ImageController())

    let api = app.grouped("api", "v1").grouped(BearerAuthMiddleware())
    try api.register(collection: AuthAPIController())
    try api.register(collection: ConsoleAPIController())
    try api.register(collection: CatalogAPIController(storefrontCache: StorefrontCacheMiddleware(cache: app.storefrontCache)))
    try api.register(collection: MerchantAPIController())
    try api.register(collection: StoreAPIController())
    try api.register(collection: ImageAPIController())

    let web = app.grouped(app.sessions.middleware, SessionAuthMiddleware(), CSRFMiddleware())
    try web.register(collection: PageController())
    try web.register(collection: CatalogPageController())
    try web.register(collection: MerchantPageController())
    try web.register(collection: StorePageController())
    try web.register(collection: ProductEditorPageController())
}

@Sendable func health(req: Request) async throws -> Response {
    do {
        _ = try await sqlDatabase(req.db).raw("SELECT 1 AS ok").all()
        return try await HealthResponse(status: "ok", database: "ok").encodeResponse(for: req)
    } catch {
        req.logger.error("health check failed: \(error)")
        return try await HealthResponse(status: "unavailable", database: "unreachable").encodeResponse(status: .serviceUnavailable, for: req)
    }
}

/// Readers never wait for the writer in WAL mode; the setting stays with the database file.
struct SQLiteWriteAheadLog: LifecycleHandler {
    func didBootAsync(_ app: Application) async throws {
        try await sqlDatabase(app.db).raw("PRAGMA journal_mode=WAL").run()
    }
}
