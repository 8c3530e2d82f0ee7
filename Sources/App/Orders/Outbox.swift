import Fluent
import Foundation
import SQLKit
import Vapor

/// Follow-up work for an order event (order.paid, order.received, order.refunded,
/// order.completed). It runs inside the transaction that marks the message handled, so its
/// writes and the mark commit together: after a crash the message is still pending and runs
/// again, and it never runs twice.
struct OutboxHandler: Sendable {
    let name: String
    let handle: @Sendable (_ message: OutboxMessage, _ db: any Database, _ now: Date) async throws -> Void
}

extension Application {
    private struct OutboxHandlersKey: StorageKey { typealias Value = [String: [OutboxHandler]] }

    /// Handlers by topic. An area that follows orders registers here when it is configured; the
    /// order code does not know who listens.
    var outboxHandlers: [String: [OutboxHandler]] {
        get { storage[OutboxHandlersKey.self] ?? [:] }
        set { storage[OutboxHandlersKey.self] = newValue }
    }
}

enum OutboxDispatcher {
    /// A message that failed this often waits for a person (its last error is kept).
    static let maxAttempts = 20

    struct Report: Sendable, Equatable {
        var handled = 0
        var failed = 0
    }

    /// Hands pending messages to their topic's handlers, oldest first. Each message is claimed by
    /// a conditional update in its own transaction: of two instances, one handles it and the
    /// other finds it handled (on PostgreSQL it waits on the row until the first commits).
    static func run(_ app: Application, batch: Int = 200) async throws -> Report {
        let now = app.clock.now()
        let pending = try await OutboxMessage.query(on: app.db).filter(\.$handledAt == nil).filter(\.$attempts < maxAttempts)
            .sort(\.$createdAt).limit(batch).all()
        var report = Report()
        let handlers = app.outboxHandlers
        for message in pending {
            let messageID = try message.requireID()
            do {
                let claimed = try await app.writeGate.transaction(on: app.db) { db -> Bool in
                    let rows = try await sqlDatabase(db).raw("""
                        UPDATE outbox_messages SET handled_at = \(bind: now) WHERE id = \(bind: messageID) AND handled_at IS NULL RETURNING id
                        """).all()
                    guard !rows.isEmpty else { return false }
                    for handler in handlers[message.topic] ?? [] { try await handler.handle(message, db, now) }
                    return true
                }
                if claimed { report.handled += 1 }
            } catch {
                report.failed += 1
                let text = String(String(describing: error).prefix(500))
                app.logger.warning("outbox \(message.topic) \(message.subjectID) failed: \(text)")
                try await app.writeGate.transaction(on: app.db) { db in
                    try await sqlDatabase(db).raw("""
                        UPDATE outbox_messages SET attempts = attempts + 1, last_error = \(bind: text) WHERE id = \(bind: messageID) AND handled_at IS NULL
                        """).run()
                }
            }
        }
        return report
    }
}

struct AddOutboxAttempts: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(OutboxMessage.schema).field("attempts", .int, .required, .sql(.default(0))).update()
        try await db.schema(OutboxMessage.schema).field("last_error", .string, .required, .sql(.default(""))).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(OutboxMessage.schema).deleteField("last_error").update()
        try await db.schema(OutboxMessage.schema).deleteField("attempts").update()
    }
}
