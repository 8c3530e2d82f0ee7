import MallCore
import NIOConcurrencyHelpers
import Prometheus
import Vapor

/// Turns every error into the one JSON shape on the API and a friendly page elsewhere.
struct MallErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            if apiError.status.code >= 500 {
                request.logger.report(error: error)
            }
            let locale = request.locale
            let response: Response
            if request.url.path.hasPrefix("/api/") || !request.acceptsHTML {
                response = Response(status: apiError.status)
                try response.content.encode(ErrorBody(
                    code: apiError.code,
                    message: apiError.message(locale),
                    details: apiError.details.map { .init(field: $0.field, message: $0.message(locale)) }))
            } else {
                struct ErrorPage: Encodable, Sendable { let status: Int; let message: String }
                do {
                    response = try await request.page("error", ErrorPage(status: Int(apiError.status.code), message: apiError.message(locale)), status: apiError.status)
                } catch {
                    response = Response(status: apiError.status, body: .init(string: apiError.message(locale)))
                }
            }
            for (name, value) in apiError.headers { response.headers.replaceOrAdd(name: name, value: value) }
            return response
        }
    }
}

extension Request {
    var acceptsHTML: Bool {
        headers[.accept].contains { $0.contains("text/html") } || headers[.accept].isEmpty
    }
}

/// Gives every request an id that is safe to log and echo: a client's `X-Request-ID` is kept only
/// when it is 1–64 letters, digits, `.`, `_` or `-`; anything else gets a new one.
struct RequestIDMiddleware: AsyncMiddleware {
    private struct IDKey: StorageKey { typealias Value = String }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let id = Self.safe(request.headers.first(name: "X-Request-ID")) ?? UUID().uuidString
        request.storage[IDKey.self] = id
        request.logger[metadataKey: "request-id"] = .string(id)
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Request-ID", value: id)
        return response
    }

    static func safe(_ value: String?) -> String? {
        guard let value, (1...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 46 || $0 == 95 }) else { return nil }
        return value
    }
}

/// Answers a method a path does not have with 405 and `Allow`, before the body is read and before
/// a parameter route (`/products/:id`) could take `PUT /products/export` for an id.
struct MethodNotAllowedMiddleware: AsyncMiddleware {
    let routes: RouteMethods

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        var allowed = routes.methods(for: request.url.path)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { return try await next.respond(to: request) }
        throw APIError(.methodNotAllowed, "method_not_allowed", .init("不支持该请求方法", "This method is not allowed here"),
                       headers: ["Allow": allowed.sorted().joined(separator: ", ")])
    }
}

/// Which methods each registered path answers, read from the routes once they are all known.
final class RouteMethods: @unchecked Sendable {
    // The router is built once and only read under the lock.
    private let router = NIOLockedValueBox<(trie: TrieRouter<Set<String>>, root: Set<String>)?>(nil)
    private let routes: Routes

    init(_ routes: Routes) { self.routes = routes }

    func methods(for path: String) -> Set<String> {
        let segments = path.split(separator: "/").map(String.init)
        return router.withLockedValue { router in
            if router == nil {
                var byPath: [String: (path: [PathComponent], methods: Set<String>)] = [:]
                for route in routes.all {
                    let key = route.path.map(\.description).joined(separator: "/")
                    byPath[key, default: (route.path, [])].methods.insert(route.method.rawValue)
                }
                let built = TrieRouter<Set<String>>()
                // The trie takes no empty path: the root answers through the "" key below.
                for entry in byPath.values where !entry.path.isEmpty { built.register(entry.methods, at: entry.path) }
                router = (built, byPath[""]?.methods ?? [])
            }
            guard let router else { return [] }
            if segments.isEmpty { return router.root }
            var parameters = Parameters()
            return router.trie.route(path: segments, parameters: &parameters) ?? []
        }
    }
}

/// Request counts and latencies by route for Prometheus.
struct MetricsMiddleware: AsyncMiddleware {
    let registry: PrometheusCollectorRegistry

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let start = ContinuousClock.now
        var status: UInt = 500
        defer {
            let route = request.route.map { "/" + $0.path.map(\.description).joined(separator: "/") } ?? "unmatched"
            let method = request.method.rawValue
            registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))]).increment()
            registry.makeDurationHistogram(descriptor: Self.duration, labels: [("method", method), ("route", route)], buckets: Self.buckets)
                .record(ContinuousClock.now - start)
        }
        do {
            let response = try await next.respond(to: request)
            status = response.status.code
            return response
        } catch {
            status = ErrorMapping.apiError(for: error).status.code
            throw error
        }
    }

    // Immutable after creation; the type just lacks a Sendable conformance.
    nonisolated(unsafe) static let requests = MetricNameDescriptor(namespace: "http", metricName: "requests", unitName: "total", helpText: "HTTP requests by route and status")
    nonisolated(unsafe) static let duration = MetricNameDescriptor(namespace: "http", metricName: "request_duration", unitName: "seconds", helpText: "HTTP request latency by route")

    static let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)]
}

extension Application {
    private struct RegistryKey: StorageKey { typealias Value = PrometheusCollectorRegistry }

    var metricsRegistry: PrometheusCollectorRegistry {
        if let registry = storage[RegistryKey.self] { return registry }
        let registry = PrometheusCollectorRegistry()
        storage[RegistryKey.self] = registry
        return registry
    }
}

/// Serves `Public/` only for a path that names a regular file there. Anything else (a path
/// through a file such as `/css/mall.css/x`, a NUL or control character that would cut the name
/// short while the extension picks the type) goes on to the routes and ends as a 404.
struct SafeFileMiddleware: AsyncMiddleware {
    let publicDirectory: String
    let files: FileMiddleware

    init(publicDirectory: String) {
        self.publicDirectory = publicDirectory
        self.files = FileMiddleware(publicDirectory: publicDirectory)
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.method == .GET || request.method == .HEAD,
              let decoded = request.url.path.removingPercentEncoding,
              !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
              !decoded.split(separator: "/").contains(where: { $0 == ".." || $0.hasPrefix(".") }) else {
            return try await next.respond(to: request)
        }
        var isDirectory: ObjCBool = false
        let relative = decoded.drop { $0 == "/" }
        guard !relative.isEmpty, FileManager.default.fileExists(atPath: publicDirectory + relative, isDirectory: &isDirectory),
              !isDirectory.boolValue else {
            return try await next.respond(to: request)
        }
        return try await files.respond(to: request, chainingTo: next)
    }
}

/// Security headers on every page: scripts, styles and pictures only from the mall itself, no
/// plugins, forms posting only here, and the consoles never shown inside another site's frame.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "strict-origin-when-cross-origin")
        guard response.headers.contentType?.subType == "html" else { return response }
        let console = Self.isConsole(request.url.path)
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: Self.policy(console: console))
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: console ? "DENY" : "SAMEORIGIN")
        return response
    }

    static func isConsole(_ path: String) -> Bool {
        path == "/admin" || path.hasPrefix("/admin/") || path == "/merchant" || path.hasPrefix("/merchant/")
    }

    static func policy(console: Bool) -> String {
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
            + "form-action 'self'; frame-ancestors \(console ? "'none'" : "'self'")"
    }
}
