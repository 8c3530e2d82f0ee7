import Fluent
import MallCore
import SQLKit
import Vapor

/// "Sign out everywhere": the time a member or staff user last asked for it. Access tokens issued
/// and page sessions started before it stop working at once; refresh tokens are revoked with it.
enum SignOuts {
    static func key(kind: String, id: UUID) -> String { kind + ":" + id.uuidString.lowercased() }

    /// Seconds since 1970 of the last sign-out everywhere, if any.
    static func last(kind: String, id: UUID, on db: any Database) async throws -> Int64? {
        try await sqlDatabase(db).raw("SELECT at_seconds FROM sign_outs WHERE id = \(bind: key(kind: kind, id: id))").first()?
            .decode(column: "at_seconds", as: Int64.self)
    }

    /// Whether something issued at `issuedSeconds` was issued before the last sign-out everywhere.
    static func isRevoked(issuedSeconds: Int64, kind: String, id: UUID, on db: any Database) async throws -> Bool {
        guard let signedOut = try await last(kind: kind, id: id, on: db) else { return false }
        return issuedSeconds <= signedOut
    }

    static func signOutEverywhere(kind: String, id: UUID, now: Date, on db: any Database) async throws {
        let seconds = seconds(now)
        let sql = try sqlDatabase(db)
        try await sql.raw("""
            INSERT INTO sign_outs (id, at_seconds) VALUES (\(bind: key(kind: kind, id: id)), \(bind: seconds))
            ON CONFLICT (id) DO UPDATE SET at_seconds = \(bind: seconds)
            """).run()
        try await sql.raw("""
            UPDATE refresh_tokens SET revoked_at = \(bind: now)
            WHERE subject_kind = \(bind: kind) AND subject_id = \(bind: id) AND revoked_at IS NULL
            """).run()
    }

    static func seconds(_ date: Date) -> Int64 { CheckedNumber.int64(date.timeIntervalSince1970, rounding: .down) ?? 0 }
}

extension Request {
    /// Records a sign-out everywhere; once it has committed, this instance forgets the members it kept.
    func signOutEverywhere(kind: String, id: UUID) async throws {
        let now = self.now
        try await writeTransaction { db in try await SignOuts.signOutEverywhere(kind: kind, id: id, now: now, on: db) }
        application.signedInMembers.signedOut()
    }
}

/// Refresh-token families, server-side session expiry and sign-outs everywhere.
struct CreateSessionControls: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema("sign_outs")
            .field("id", .string, .identifier(auto: false))
            .field("at_seconds", .int64, .required)
            .create()
        try await db.schema(RefreshToken.schema).field("family_id", .uuid).update()
        try await createIndex("refresh_tokens_family", on: RefreshToken.schema, columns: ["family_id"], db: db)
        try await createIndex("refresh_tokens_subject", on: RefreshToken.schema, columns: ["subject_kind", "subject_id"], db: db)
        try await db.schema(SessionRecord.schema).field("expires_at", .int64).update()
        try await createIndex("sessions_expires_at", on: SessionRecord.schema, columns: ["expires_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await sqlDatabase(db).raw("DROP INDEX IF EXISTS sessions_expires_at").run()
        try await db.schema(SessionRecord.schema).deleteField("expires_at").update()
        try await sqlDatabase(db).raw("DROP INDEX IF EXISTS refresh_tokens_subject").run()
        try await sqlDatabase(db).raw("DROP INDEX IF EXISTS refresh_tokens_family").run()
        try await db.schema(RefreshToken.schema).deleteField("family_id").update()
        try await db.schema("sign_outs").delete()
    }
}
