import Fluent
import FluentSQL
import JWT
import MallCore
import SQLKit
import Vapor

/// Who is making the request, once a session cookie or a bearer token has been checked.
enum Principal: Sendable {
    case member(Member)
    case staff(StaffUser, StaffRole)
}

extension Request {
    private struct PrincipalKey: StorageKey { typealias Value = Principal }

    var principal: Principal? {
        get { storage[PrincipalKey.self] }
        set { storage[PrincipalKey.self] = newValue }
    }

    func requireMember() throws -> Member {
        guard let principal else { throw APIError.unauthenticated }
        guard case .member(let member) = principal else { throw APIError.forbidden }
        return member
    }

    func requireStaff(_ permission: Permission) throws -> StaffUser {
        guard let principal else { throw APIError.unauthenticated }
        guard case .staff(let staff, let role) = principal, role.can(permission) else { throw APIError.forbidden }
        return staff
    }

    /// The merchant a merchant-staff user works for; every merchant query goes through it.
    func merchantScope(_ permission: Permission = .viewShop) throws -> MerchantScope {
        let staff = try requireStaff(permission)
        guard let merchantID = staff.$merchant.id else { throw APIError.forbidden }
        return MerchantScope(merchantID: merchantID)
    }
}

/// Loads a principal from a subject kind and id, refusing disabled staff.
enum PrincipalLoader {
    /// The principal a token or a page session names, unless it signed out everywhere at or after
    /// `issuedSeconds`. A member comes with its last sign-out in one round trip, kept briefly in
    /// `members` (see `SignedInMemberCache`): every signed-in request of a shopper needs it.
    static func loadSignedIn(kind: String, id: UUID, issuedSeconds: Int64, on db: any Database,
                             members: SignedInMemberCache? = nil) async throws -> Principal? {
        guard kind == "member" else {
            guard let principal = try await load(kind: kind, id: id, on: db),
                  try await !SignOuts.isRevoked(issuedSeconds: issuedSeconds, kind: kind, id: id, on: db) else { return nil }
            return principal
        }
        if let kept = members?.lookup(id) {
            if let signedOut = kept.signedOutSeconds, issuedSeconds <= signedOut { return nil }
            return .member(try kept.row.decode(fluentModel: Member.self))
        }
        let generation = members?.generation ?? 0
        guard let row = try await sqlDatabase(db).raw("""
            SELECT members.*, (SELECT at_seconds FROM sign_outs WHERE sign_outs.id = \(bind: SignOuts.key(kind: kind, id: id))) AS signed_out_seconds
            FROM members WHERE members.id = \(bind: id)
            """).first() else { return nil }
        let signedOut = try row.decode(column: "signed_out_seconds", as: Int64?.self)
        members?.store(id, row: row, signedOutSeconds: signedOut, readIn: generation)
        if let signedOut, issuedSeconds <= signedOut { return nil }
        return .member(try row.decode(fluentModel: Member.self))
    }

    static func load(kind: String, id: UUID, on db: any Database) async throws -> Principal? {
        switch kind {
        case "member":
            return try await Member.find(id, on: db).map(Principal.member)
        case "staff":
            guard let staff = try await StaffUser.find(id, on: db), staff.active, let role = staff.staffRole else { return nil }
            // A suspended merchant's staff lose every session and token at once.
            if let merchantID = staff.$merchant.id {
                guard let merchant = try await Merchant.find(merchantID, on: db), merchant.status == Merchant.Status.active.rawValue else { return nil }
            }
            return .staff(staff, role)
        default:
            return nil
        }
    }
}

struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var kind: String
    var exp: ExpirationClaim
    var iat: IssuedAtClaim

    // Expiry is checked against the app's clock after verification, see `BearerAuthMiddleware`.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

struct TokenPair: Content {
    let accessToken: String
    let refreshToken: String
    let tokenType: String
    let expiresIn: Int
}

/// Short-lived signed access tokens plus rotating refresh tokens stored as hashes.
struct TokenService {
    let app: Application
    let db: any Database

    func issue(kind: String, subjectID: UUID, family: UUID = UUID()) async throws -> TokenPair {
        let now = app.clock.now()
        let lifetime = app.config.accessTokenLifetime
        let claims = AccessClaims(sub: .init(value: subjectID.uuidString), kind: kind, exp: .init(value: now.addingTimeInterval(lifetime)), iat: .init(value: now))
        let access = try await app.jwt.keys.sign(claims)
        let refresh = Tokens.random()
        let record = RefreshToken()
        record.tokenHash = Tokens.sha256Hex(refresh)
        record.subjectKind = kind
        record.subjectID = subjectID
        record.expiresAt = now.addingTimeInterval(app.config.refreshTokenLifetime)
        record.createdAt = now
        record.familyID = family
        try await record.create(on: db)
        return TokenPair(accessToken: access, refreshToken: refresh, tokenType: "Bearer", expiresIn: CheckedNumber.int(lifetime) ?? 0)
    }

    /// Swaps a refresh token for a new pair; each refresh token works once. A token used a second
    /// time was stolen or leaked: the whole family from that login is revoked, the thief's new
    /// token along with the owner's.
    func refresh(_ token: String) async throws -> TokenPair {
        let now = app.clock.now()
        let hash = Tokens.sha256Hex(token)
        let sql = try sqlDatabase(db)
        let claimed = try await sql.raw("""
            UPDATE refresh_tokens SET revoked_at = \(bind: now)
            WHERE token_hash = \(bind: hash) AND revoked_at IS NULL AND expires_at > \(bind: now)
            RETURNING subject_kind, subject_id, family_id
            """).all()
        guard let row = claimed.first else {
            try await revokeFamily(ofTokenHash: hash, now: now)
            throw AuthError.invalidRefreshToken
        }
        let kind = try row.decode(column: "subject_kind", as: String.self)
        let subject = try row.decode(column: "subject_id", as: UUID.self)
        let family = try row.decode(column: "family_id", as: UUID?.self) ?? UUID()
        guard try await PrincipalLoader.load(kind: kind, id: subject, on: db) != nil else { throw AuthError.invalidRefreshToken }
        return try await issue(kind: kind, subjectID: subject, family: family)
    }

    /// Logs one device out: its refresh token's family is revoked. Unknown tokens change nothing.
    func logout(_ token: String) async throws {
        try await revokeFamily(ofTokenHash: Tokens.sha256Hex(token), now: app.clock.now())
    }

    private func revokeFamily(ofTokenHash hash: String, now: Date) async throws {
        let sql = try sqlDatabase(db)
        guard let family = try await sql.raw("SELECT family_id FROM refresh_tokens WHERE token_hash = \(bind: hash)").first()?
            .decode(column: "family_id", as: UUID?.self) else { return }
        try await sql.raw("UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE family_id = \(bind: family) AND revoked_at IS NULL").run()
    }
}

/// Reads `Authorization: Bearer …` on API routes. A bad token is a 401; no token leaves the request anonymous.
struct BearerAuthMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let bearer = request.headers.bearerAuthorization {
            let claims: AccessClaims
            do {
                claims = try await request.application.jwt.keys.verify(bearer.token, as: AccessClaims.self)
            } catch {
                throw APIError.unauthenticated
            }
            guard claims.exp.value > request.now,
                  let id = UUID(uuidString: claims.sub.value),
                  let principal = try await PrincipalLoader.loadSignedIn(kind: claims.kind, id: id, issuedSeconds: SignOuts.seconds(claims.iat.value),
                                                                         on: request.db, members: request.application.signedInMembers) else {
                throw APIError.unauthenticated
            }
            request.principal = principal
        }
        return try await next.respond(to: request)
    }
}

/// Reads the signed-in member or staff user from the server-side session on pages.
struct SessionAuthMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        // Only a visitor who already has a session is looked up; touching `session` would create one.
        if request.hasSession, let kind = request.session.data["kind"], let raw = request.session.data["subject"], let id = UUID(uuidString: raw) {
            let since = Int64(request.session.data["since"] ?? "") ?? 0
            if let principal = try await PrincipalLoader.loadSignedIn(kind: kind, id: id, issuedSeconds: since, on: request.db,
                                                                      members: request.application.signedInMembers) {
                request.principal = principal
            } else {
                request.session.data["kind"] = nil
                request.session.data["subject"] = nil
            }
        }
        return try await next.respond(to: request)
    }
}

extension Request {
    func signIn(kind: String, id: UUID) {
        // A new session id on sign-in, so an id planted before login is worth nothing after it.
        session.id = nil
        session.data["kind"] = kind
        session.data["subject"] = id.uuidString
        session.data["since"] = String(SignOuts.seconds(now))
        // A fresh CSRF token for the signed-in session.
        session.data["csrf"] = Tokens.random(byteCount: 24)
    }

    func signOut() {
        session.destroy()
    }
}

/// A merchant's own slice of the data. Every merchant-side query and look-up by id goes through
/// it, so an id from another merchant answers 404 as if it did not exist.
struct MerchantScope: Sendable {
    let merchantID: UUID

    func query<M: MerchantOwned>(_ type: M.Type, on db: any Database) -> QueryBuilder<M> {
        M.scoped(M.query(on: db), to: merchantID)
    }

    func find<M: MerchantOwned>(_ type: M.Type, id: UUID, on db: any Database) async throws -> M where M.IDValue == UUID {
        guard let found = try await query(type, on: db).filter(\._$id == id).first() else { throw APIError.notFound }
        return found
    }
}

protocol MerchantOwned: Model {
    static func scoped(_ query: QueryBuilder<Self>, to merchantID: UUID) -> QueryBuilder<Self>
}

extension StaffUser: MerchantOwned {
    static func scoped(_ query: QueryBuilder<StaffUser>, to merchantID: UUID) -> QueryBuilder<StaffUser> {
        query.filter(\.$merchant.$id == merchantID)
    }
}
