import MallCore
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

/// Echoes the request id so a user's report can be matched to the log line.
struct RequestIDMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Request-ID", value: request.id)
        return response
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

/// Reads every multipart body before any route sees it (up to 10 MB) and refuses one whose part
/// headers the form parser cannot take safely (see `MultipartCheck`), anywhere in the app.
struct MultipartGuardMiddleware: AsyncMiddleware {
    static let maxBytes = 10 << 20

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let type = request.headers.contentType, type.type == "multipart" else { return try await next.respond(to: request) }
        let body = try await request.collectedBody(max: Self.maxBytes) ?? ByteBuffer()
        guard let boundary = type.parameters["boundary"], !boundary.isEmpty,
              MultipartCheck.headerNamesAreASCII(Array(body.readableBytesView), boundary: boundary) else {
            throw APIError(.badRequest, "bad_multipart", .init("上传内容格式不正确", "The upload is not a well-formed form"))
        }
        return try await next.respond(to: request)
    }
}

/// Refuses a NUL character in the query, a JSON or form body or a CSV file before any work is
/// done: no store can keep it in text (PostgreSQL refuses it outright) and no shopper types one.
struct NulCharacterGuardMiddleware: AsyncMiddleware {
    static let maxFormBytes = 1 << 20
    static let maxTextBytes = 10 << 20

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let query = request.url.query, query.range(of: "%00") != nil { throw APIError.unstorableText }
        // How a NUL arrives in each text format; files (pictures, multipart) may hold zero bytes.
        // JSON and forms are small; only a CSV import is allowed to be large.
        let needle: [UInt8]
        let limit: Int
        switch (request.headers.contentType?.type, request.headers.contentType?.subType) {
        case ("application", "json"): (needle, limit) = (Array(#"\u0000"#.utf8), Self.maxFormBytes)
        case ("application", "x-www-form-urlencoded"): (needle, limit) = (Array("%00".utf8), Self.maxFormBytes)
        case ("text", _): (needle, limit) = ([0], Self.maxTextBytes)
        default: return try await next.respond(to: request)
        }
        if let body = try await request.collectedBody(max: limit) {
            let bytes = body.readableBytesView
            if bytes.count >= needle.count, bytes.indices.dropLast(needle.count - 1).contains(where: { index in
                bytes[index] == needle[0] && bytes[index..<index + needle.count].elementsEqual(needle)
            }) {
                throw APIError.unstorableText
            }
        }
        return try await next.respond(to: request)
    }
}

extension Request {
    /// The whole body, read now if it is still streaming in. Application middleware runs before a
    /// route collects its body, so the guards (and the CSRF check after them) read it here.
    func collectedBody(max: Int) async throws -> ByteBuffer? {
        if let data = body.data { return data }
        return try await body.collect(max: max).get()
    }
}
