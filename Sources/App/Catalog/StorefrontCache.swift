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
    private let state = NIOLockedValueBox(State())
    let maxEntries: Int
    /// Bodies and keys together stay under this many bytes; a larger answer is not kept.
    let maxBytes: Int
    static let maxEntryBytes = 512 << 10

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
    }

    init(timeToLive: TimeAmount, maxEntries: Int = 5_000, maxBytes: Int = 64 << 20) {
        self.timeToLive = timeToLive
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    var byteCount: Int { state.withLockedValue(\.bytes) }
    var count: Int { state.withLockedValue(\.entries.count) }

    func lookup(_ key: String) -> Entry? {
        let now = NIODeadline.now()
        return state.withLockedValue { state in
            guard let entry = state.entries[key] else { return nil }
            if entry.expires > now { return entry }
            state.entries[key] = nil
            state.bytes -= Self.size(key, entry)
            return nil
        }
    }

    private static func size(_ key: String, _ entry: Entry) -> Int {
        key.utf8.count + entry.contentType.utf8.count + entry.body.readableBytes + 64
    }

    func store(_ key: String, contentType: String, body: ByteBuffer) {
        let now = NIODeadline.now()
        let entry = Entry(expires: now + timeToLive, contentType: contentType, body: body)
        let size = Self.size(key, entry)
        guard size <= min(Self.maxEntryBytes, maxBytes) else { return }
        state.withLockedValue { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= Self.size(key, old) }
            if state.entries.count >= maxEntries || state.bytes + size > maxBytes {
                state.entries = state.entries.filter { $0.value.expires > now }
                state.bytes = state.entries.reduce(0) { $0 + Self.size($1.key, $1.value) }
                if state.entries.count >= maxEntries || state.bytes + size > maxBytes {
                    state.entries.removeAll(keepingCapacity: true)
                    state.bytes = 0
                }
            }
            state.entries[key] = entry
            state.bytes += size
        }
    }
}

/// Answers GETs from the cache, keyed by path, query and language; stores 200 answers.
struct StorefrontCacheMiddleware: AsyncMiddleware {
    let cache: StorefrontCache

    /// The same request written differently (parameter order, `%E5` or `%e5`, `+` or `%20`)
    /// shares one entry, so varying the spelling cannot fill the cache with copies.
    static func key(locale: String, path: String, query: String?) -> String {
        let pairs = (query ?? "").split(separator: "&", omittingEmptySubsequences: true).map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring?) -> String {
                guard let text else { return "" }
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts.first), decode(parts.count > 1 ? parts[1] : nil))
        }
        let normalized = pairs.sorted { $0 < $1 }.map { "\($0.0.count):\($0.0)=\($0.1.count):\($0.1)" }.joined(separator: "&")
        return "\(locale) \(path.removingPercentEncoding ?? path)?\(normalized)"
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.method == .GET, cache.timeToLive > .zero else { return try await next.respond(to: request) }
        let key = Self.key(locale: request.locale.rawValue, path: request.url.path, query: request.url.query)
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
