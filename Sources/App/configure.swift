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
        // SQLite runs on the app's blocking thread pool, and a statement waiting for another
        // process's writer sleeps on its thread. The shared default pool has one thread per core:
        // two such waits (or bcrypt, image work) would leave the writer's own statements no thread
        // until the busy timeout. A pool of the app's own keeps the waits from stalling the rest.
        app.threadPool = NIOThreadPool(numberOfThreads: 8)
        // SQLite has one connection per event loop: a request waits while a long write (an import)
        // holds its loop's connection, rather than failing after the driver's default 10 s.
        app.databases.use(.sqlite(.file(config.sqlitePath), connectionPoolTimeout: .seconds(180)), as: .sqlite)
        app.writeGate = .serial(busyTimeoutMilliseconds: config.sqliteBusyMilliseconds)
        app.lifecycle.use(SQLiteConnectionSetup())
    }
    app.migrations.add(Migrations.all)
    app.lifecycle.use(ScheduledSweep())
    app.lifecycle.use(ScheduledOrderJobs())
    app.lifecycle.use(ScheduledFlashSaleOrders())
    app.lifecycle.use(ScheduledMemberJobs())
    app.lifecycle.use(ScheduledCouponSends())
    DistributionOutbox.register(app)
    PointsJobs.register(app)
    app.lifecycle.use(ScheduledReconciliation())

    app.decoyPasswordHash = try Bcrypt.hash(Tokens.random(), cost: config.bcryptCost)
    if !app.hasSmsSender {
        app.sms = try SmsConfiguration.sender(environment: app.environment, variables: ProcessInfo.processInfo.environment, app: app)
    }
    await app.jwt.keys.add(hmac: HMACKey(from: config.jwtSecret), digestAlgorithm: .sha256)

    app.paymentGateways = PaymentProviders.gateways(app: app, config: config)
    app.payoutGateways = PayoutProviders.gateways(app: app, config: config)
    // The electronic waybill provider and the carriers' webhook secrets (FISSION_WAYBILL_PROVIDER, FISSION_LOGISTICS_SECRET_<CODE>).
    try app.configureLogistics()
    app.imageStorage = LocalImageStorage(directory: config.uploadsDirectory, threadPool: app.threadPool)
    app.storefrontCache = StorefrontCache(timeToLive: .milliseconds(Int64(config.storefrontCacheMilliseconds)))
    app.signedInMembers = SignedInMemberCache(timeToLive: .milliseconds(Int64(config.signedInMemberCacheMilliseconds)))

    // A connection that sends or receives nothing for this long is closed (half-sent headers included).
    app.http.server.configuration.idleTimeout = .seconds(Int64(config.idleTimeoutSeconds))

    app.views.use(.leaf)
    app.leaf.cache.isEnabled = app.environment.isRelease

    app.sessions.use { _ in GatedSessionDriver() }
    app.sessions.configuration.cookieName = "fission_session"
    let secureCookies = config.publicBaseURL.hasPrefix("https://")
    app.sessions.configuration.cookieFactory = { id in
        HTTPCookies.Value(string: id.string, maxAge: Int(GatedSessionDriver.lifetime), path: "/", isSecure: secureCookies, isHTTPOnly: true, sameSite: .lax)
    }

    // Replace Vapor's defaults: our error middleware must see every error, including 404s.
    app.middleware = .init()
    app.middleware.use(RequestIDMiddleware())
    app.middleware.use(RouteLoggingMiddleware(logLevel: .info))
    app.middleware.use(MetricsMiddleware(registry: app.metricsRegistry))
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(MallErrorMiddleware())
    app.middleware.use(MethodNotAllowedMiddleware(routes: RouteMethods(app.routes)))
    app.middleware.use(InputGuardMiddleware(bodyDeadline: .seconds(Int64(config.bodyTimeoutSeconds))))
    app.middleware.use(SafeFileMiddleware(publicDirectory: app.directory.publicDirectory))

    try routes(app)
}

func routes(_ app: Application) throws {
    app.get("healthz", use: health)
    // Metrics are for the operator's scraper: its token (FISSION_METRICS_TOKEN) or an operator's login.
    app.grouped(MetricsAccessMiddleware(), BearerAuthMiddleware()).get("metrics") { req async throws -> Response in
        if req.storage[MetricsAccessMiddleware.Granted.self] != true {
            guard case .staff(_, let role) = req.principal else { throw APIError.unauthenticated }
            guard role.isPlatform else { throw APIError.forbidden }
        }
        let response = Response(status: .ok, body: .init(string: req.application.metricsRegistry.emitToString()))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return response
    }
    app.get("openapi.json", use: OpenAPIDocument.serve)
    try app.register(collection: ImageController())
    try app.register(collection: PaymentCallbackController())
    try app.register(collection: ProviderCallbackController())
    try app.register(collection: LogisticsCallbackController())

    let api = app.grouped("api", "v1").grouped(BearerAuthMiddleware())
    try api.register(collection: AuthAPIController())
    try api.register(collection: PlatformAPIController())
    try api.register(collection: ShopStaffAPIController())
    try api.register(collection: CatalogAPIController(storefrontCache: StorefrontCacheMiddleware(cache: app.storefrontCache)))
    try api.register(collection: MerchantAPIController())
    try api.register(collection: StoreAPIController())
    try api.register(collection: ImageAPIController())
    try api.register(collection: CheckoutAPIController())
    try api.register(collection: ShippingTemplateAPIController())
    try api.register(collection: OrderAPIController())
    try api.register(collection: PaymentAPIController())
    try api.register(collection: AfterSaleAPIController())
    try api.register(collection: RedemptionAPIController())
    try api.register(collection: LogisticsAPIController())
    try api.register(collection: ReviewAPIController())
    try api.register(collection: ReconciliationAPIController())
    try api.register(collection: DistributionAPIController())
    try api.register(collection: CouponAPIController())
    try api.register(collection: PromotionAPIController())
    try api.register(collection: MembersAPIController())
    try api.register(collection: GroupBuyAPIController())
    try api.register(collection: FlashSaleAPIController())
    try api.register(collection: FarmingAPIController())
    try api.register(collection: PointsMallAPIController())
    try api.register(collection: MemberTagAPIController())

    let web = app.grouped(app.sessions.middleware, SessionAuthMiddleware(), CSRFMiddleware())
    try web.register(collection: StorefrontPageController())
    try web.register(collection: AccountPageController())
    try web.register(collection: PlatformPageController())
    try web.register(collection: MerchantConsolePageController())
    try web.register(collection: CatalogPageController())
    try web.register(collection: MerchantPageController())
    try web.register(collection: StorePageController())
    try web.register(collection: ProductEditorPageController())
    try web.register(collection: ShoppingPageController())
    try web.register(collection: PaymentPageController())
    try web.register(collection: OrderPageController())
    try web.register(collection: OrderConsolePageController())
    try web.register(collection: OperatorConsolePageController())
    try web.register(collection: ReviewPageController())
    try web.register(collection: ReconciliationPageController())
    try web.register(collection: DistributionPageController())
    try web.register(collection: DistributionConsolePageController())
    try web.register(collection: ShopDistributionPageController())
    try web.register(collection: CouponPageController())
    try web.register(collection: CouponSendPageController())
    try web.register(collection: PromotionPageController())
    try web.register(collection: MarketingConsolePageController())
    try web.register(collection: MembersPageController())
    try web.register(collection: ActivityPageController())
    try web.register(collection: FlashSalePageController())
    try web.register(collection: FarmingPageController())
    try web.register(collection: PointsMallPageController())
    try web.register(collection: MemberTagPageController())
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

/// Readers never wait for the writer in WAL mode (the setting stays with the database file), and
/// every connection waits for another process's writer with a sleeping timeout.
struct SQLiteConnectionSetup: LifecycleHandler {
    func didBootAsync(_ app: Application) async throws {
        try await sqlDatabase(app.db).raw("PRAGMA journal_mode=WAL").run()
        try await app.writeGate.prepareConnections(of: app)
    }
}

/// Lets a scraper holding the metrics token through, and keeps its token away from the JWT check.
struct MetricsAccessMiddleware: AsyncMiddleware {
    struct Granted: StorageKey { typealias Value = Bool }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let expected = request.application.config.metricsToken, let sent = request.headers.bearerAuthorization?.token,
           Tokens.constantTimeEquals(sent, expected) {
            request.storage[Granted.self] = true
            request.headers.remove(name: .authorization)
        }
        return try await next.respond(to: request)
    }
}
