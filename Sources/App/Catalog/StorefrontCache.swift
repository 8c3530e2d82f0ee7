import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// Keeps successful storefront answers (product lists, product detail, categories) for a few
/// seconds. Under a promotion thousands of shoppers ask for the same pages; each instance answers
/// them from memory and the database sees one query per page every few seconds. A change shows
/// within the time-to-live on every instance, the same bound whichever instance made it.
final class StorefrontCache: Sendable {
    struct Entry: Sendable {
        let expires: NIODeadline
        let contentType: String
        let body: ByteBuffer
    }

    let timeToLive: TimeAmount
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    static let maxEntries = 5_000

    init(timeToLive: TimeAmount) {
        self.timeToLive = timeToLive
    }

    func lookup(_ key: String) -> Entry? {
        let now = NIODeadline.now()
        return entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expires > now { return entry }
            entries[key] = nil
            return nil
        }
    }

    func store(_ key: String, contentType: String, body: ByteBuffer) {
        let now = NIODeadline.now()
        let entry = Entry(expires: now + timeToLive, contentType: contentType, body: body)
        entries.withLockedValue { entries in
            if entries.count >= Self.maxEntries {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= Self.maxEntries { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = entry
        }
    }
}

/// Answers GETs from the cache, keyed by path, query and language; stores 200 answers.
struct StorefrontCacheMiddleware: AsyncMiddleware {
    let cache: StorefrontCache

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.method == .GET, cache.timeToLive > .zero else { return try await next.respond(to: request) }
        let key = "\(request.locale.rawValue) \(request.url.path)?\(request.url.query ?? "")"
        if let entry = cache.lookup(key) {
            var headers = HTTPHeaders()
            headers.replaceOrAdd(name: .contentType, value: entry.contentType)
            return Response(status: .ok, headers: headers, body: .init(buffer: entry.body))
        }
        let response = try await next.respond(to: request)
        if response.status == .ok, let buffer = response.body.buffer {
            cache.store(key, contentType: response.headers.first(name: .contentType) ?? "application/json; charset=utf-8", body: buffer)
        }
        return response
    }
}

extension Application {
    private struct StorefrontCacheKey: StorageKey { typealias Value = StorefrontCache }

    var storefrontCache: StorefrontCache {
        get { storage[StorefrontCacheKey.self] ?? StorefrontCache(timeToLive: .zero) }
        set { storage[StorefrontCacheKey.self] = newValue }
    }
}
