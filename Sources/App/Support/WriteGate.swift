import Fluent
import SQLiteNIO
import SQLKit
import Vapor

/// The one path every write transaction takes.
///
/// SQLite has one writer at a time. A deferred transaction that reads first and then writes fails
/// at once (`database is locked`, `busyInSnapshot`) when another connection wrote meanwhile, and
/// the driver's own busy handler spins on a shared thread. So on SQLite, transactions queue here
/// in the process, start with `BEGIN IMMEDIATE` (the write lock is taken before anything is read)
/// and wait for another process's writer with SQLite's sleeping busy timeout, giving up with a
/// clear 503 after `busyTimeoutMilliseconds`. PostgreSQL needs no gate: its row locks do the job.
public final class WriteGate: Sendable {
    private let queue: Queue?
    let busyTimeoutMilliseconds: Int

    public static let none = WriteGate(queue: nil, busyTimeoutMilliseconds: 0)
    static func serial(busyTimeoutMilliseconds: Int = 5_000) -> WriteGate {
        WriteGate(queue: Queue(), busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    }

    private init(queue: Queue?, busyTimeoutMilliseconds: Int) {
        self.queue = queue
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }

    public func transaction<T: Sendable>(on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let queue else { return try await db.transaction(body) }
        await queue.acquire()
        do {
            let result = try await immediateTransaction(on: db, body)
            await queue.release()
            return result
        } catch {
            await queue.release()
            throw Self.mapBusy(error)
        }
    }

    private func immediateTransaction<T: Sendable>(on db: any Database, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        let timeout = busyTimeoutMilliseconds
        return try await db.withConnection { connection in
            let sql = try sqlDatabase(connection)
            try await sql.raw("PRAGMA busy_timeout = \(unsafeRaw: String(timeout))").run()
            try await sql.raw("BEGIN IMMEDIATE").run()
            let result: T
            do {
                result = try await body(connection)
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
            do {
                try await sql.raw("COMMIT").run()
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
            return result
        }
    }

    /// Sets the sleeping busy timeout on every pooled SQLite connection (one per event loop), so
    /// that single statements outside a transaction wait for another process instead of spinning.
    func prepareConnections(of app: Application) async throws {
        guard queue != nil else { return }
        for loop in app.eventLoopGroup.makeIterator() {
            let db = app.databases.database(logger: app.logger, on: loop)
            guard let db else { continue }
            try await sqlDatabase(db).raw("PRAGMA busy_timeout = \(unsafeRaw: String(busyTimeoutMilliseconds))").run()
        }
    }

    static let busy = APIError(.serviceUnavailable, "database_busy", .init("系统繁忙，请稍后重试", "The system is busy; please try again shortly"),
                               headers: ["Retry-After": "2"])

    static func mapBusy(_ error: any Error) -> any Error {
        if let sqlite = error as? SQLiteError, sqlite.reason == .busy || sqlite.reason == .busyTimeout || sqlite.reason == .busyInSnapshot {
            return busy
        }
        return error
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

extension Request {
    /// A write transaction through the application's write gate.
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        try await application.writeGate.transaction(on: db, body)
    }
}
