import Fluent
import Vapor

/// SQLite takes one writer at a time and its driver waits for a busy lock by spinning on a shared
/// thread; so on SQLite, money-moving transactions queue here instead. PostgreSQL needs no gate:
/// its row locks do the same job across instances.
public final class WriteGate: Sendable {
    private let queue: Queue?

    public static let none = WriteGate(queue: nil)
    static func serial() -> WriteGate { WriteGate(queue: Queue()) }

    private init(queue: Queue?) { self.queue = queue }

    public func transaction<T: Sendable>(on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let queue else { return try await db.transaction(body) }
        await queue.acquire()
        do {
            let result = try await db.transaction(body)
            await queue.release()
            return result
        } catch {
            await queue.release()
            throw error
        }
    }

    private actor Queue {
        private var busy = false
        private var waiters: [CheckedContinuation<Void, Never>] = []

        func acquire() async {
            if !busy {
                busy = true
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func release() {
            if waiters.isEmpty {
                busy = false
            } else {
                waiters.removeFirst().resume()
            }
        }
    }
}

extension Application {
    private struct WriteGateKey: StorageKey { typealias Value = WriteGate }

    /// Set by `configure`: serial on SQLite, a pass-through on PostgreSQL.
    public var writeGate: WriteGate {
        get { storage[WriteGateKey.self] ?? .none }
        set { storage[WriteGateKey.self] = newValue }
    }
}
