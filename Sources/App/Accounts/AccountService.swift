import Fluent
import Foundation
import MallCore
import Vapor

/// Registration and login for members and staff, with throttling and one-time SMS codes.
struct AccountService {
    let db: any Database
    let app: Application
    let logger: Logger
    let clientIP: String

    var now: Date { app.clock.now() }
    var throttle: LoginThrottlePolicy { LoginThrottlePolicy() }
    var smsPolicy: SmsCodePolicy { SmsCodePolicy() }

    // MARK: members

    func registerMember(phone rawPhone: String, password: String, acceptedAgreements: Bool) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        do { try PasswordPolicy.check(password) } catch { throw AuthError.weakPassword(error) }
        guard acceptedAgreements else { throw AuthError.agreementRequired }
        let hash = try await hashPassword(password)
        return try await createMember(phone: phone, passwordHash: hash)
    }

    func loginMember(phone rawPhone: String, password: String) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        let accountKey = "member:" + app.personalData.lookupHash(phone.digits)
        try await checkThrottle(accountKey: accountKey)
        let member = try await findMember(phone)
        guard let member, let stored = member.passwordHash, try await verifyPassword(password, stored) else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.invalidCredentials
        }
        try await recordAttempt(accountKey: accountKey, succeeded: true)
        return member
    }

    /// Sends a login code. Sending to an unregistered number is allowed: the code then registers it.
    func requestLoginCode(phone rawPhone: String) async throws {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        let phoneHash = app.personalData.lookupHash(phone.digits)
        let dayStart = now.addingTimeInterval(-24 * 3600)
        let recent = try await SmsCode.query(on: db)
            .filter(\.$phoneHash == phoneHash)
            .filter(\.$createdAt > dayStart)
            .sort(\.$createdAt, .descending)
            .all()
        do {
            try smsPolicy.mayIssue(now: now, lastIssuedAt: recent.first?.createdAt, issuedToday: recent.count)
        } catch {
            switch error {
            case .tooSoon(let seconds): throw AuthError.smsTooSoon(retryAfterSeconds: seconds)
            case .dailyLimitReached: throw AuthError.smsDailyLimit
            }
        }
        var generator = SystemRandomNumberGenerator()
        let code = smsPolicy.makeCode { Int.random(in: 0...9, using: &generator) }
        let record = SmsCode()
        record.phoneHash = phoneHash
        record.purpose = "login"
        record.codeHash = Tokens.sha256Hex(phoneHash + ":" + code)
        record.expiresAt = now.addingTimeInterval(TimeInterval(smsPolicy.lifetimeSeconds))
        record.failedAttempts = 0
        record.createdAt = now
        try await record.create(on: db)
        try await app.sms.send(to: phone, text: "【裂变商城】验证码 \(code)，5分钟内有效，请勿告诉他人。Fission Mall code: \(code)", logger: logger)
    }

    /// Logs in with a code; a number seen for the first time becomes a member if the agreements are accepted.
    func loginMemberWithCode(phone rawPhone: String, code: String, acceptedAgreements: Bool) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        let phoneHash = app.personalData.lookupHash(phone.digits)
        let accountKey = "member:" + phoneHash
        try await checkThrottle(accountKey: accountKey)
        let latest = try await SmsCode.query(on: db)
            .filter(\.$phoneHash == phoneHash)
            .filter(\.$purpose == "login")
            .filter(\.$consumedAt == nil)
            .sort(\.$createdAt, .descending)
            .first()
        guard let latest, latest.expiresAt > now, latest.failedAttempts < smsPolicy.maxVerifyAttempts else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.smsCodeInvalid
        }
        guard latest.codeHash == Tokens.sha256Hex(phoneHash + ":" + code.trimmingCharacters(in: .whitespaces)) else {
            latest.failedAttempts += 1
            try await latest.save(on: db)
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.smsCodeInvalid
        }
        // Single use: only the request that flips consumed_at from NULL wins.
        let claimed = try await sqlDatabase(db).raw("""
            UPDATE sms_codes SET consumed_at = \(bind: now) WHERE id = \(bind: latest.requireID()) AND consumed_at IS NULL RETURNING id
            """).all()
        guard !claimed.isEmpty else { throw AuthError.smsCodeInvalid }

        if let member = try await findMember(phone) {
            try await recordAttempt(accountKey: accountKey, succeeded: true)
            return member
        }
        guard acceptedAgreements else { throw AuthError.agreementRequired }
        let member = try await createMember(phone: phone, passwordHash: nil)
        try await recordAttempt(accountKey: accountKey, succeeded: true)
        return member
    }

    // MARK: staff

    enum Console { case platform, merchant }

    func loginStaff(username rawUsername: String, password: String, console: Console) async throws -> StaffUser {
        let username = rawUsername.trimmingCharacters(in: .whitespaces).lowercased()
        guard !username.isEmpty, username.count <= 64 else { throw AuthError.invalidCredentials }
        let accountKey = "staff:" + username
        try await checkThrottle(accountKey: accountKey)
        let staff = try await StaffUser.query(on: db).filter(\.$username == username).first()
        guard let staff, staff.active, let role = staff.staffRole, try await verifyPassword(password, staff.passwordHash) else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.invalidCredentials
        }
        guard role.isPlatform == (console == .platform) else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.wrongConsole
        }
        try await recordAttempt(accountKey: accountKey, succeeded: true)
        try await AuditLog.record(on: db, actor: staff, action: "staff.login", target: "staff:\(username)", detail: console == .platform ? "platform console" : "merchant console", ip: clientIP, at: now)
        return staff
    }

    // MARK: helpers

    func hashPassword(_ password: String) async throws -> String {
        let cost = app.config.bcryptCost
        return try await app.threadPool.runIfActive { try Bcrypt.hash(password, cost: cost) }
    }

    private func verifyPassword(_ password: String, _ hash: String) async throws -> Bool {
        try await app.threadPool.runIfActive { (try? Bcrypt.verify(password, created: hash)) ?? false }
    }

    private func findMember(_ phone: PhoneNumber) async throws -> Member? {
        try await Member.query(on: db).filter(\.$phoneHash == app.personalData.lookupHash(phone.digits)).first()
    }

    private func createMember(phone: PhoneNumber, passwordHash: String?) async throws -> Member {
        let member = Member()
        member.phoneCipher = try app.personalData.seal(phone.digits)
        member.phoneHash = app.personalData.lookupHash(phone.digits)
        member.passwordHash = passwordHash
        member.nickname = "用户" + phone.digits.suffix(4)
        member.userAgreementVersion = AgreementVersions.userAgreement
        member.privacyPolicyVersion = AgreementVersions.privacyPolicy
        member.agreedAt = now
        member.createdAt = now
        do {
            try await member.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw AuthError.phoneTaken
        }
        return member
    }

    private func checkThrottle(accountKey: String) async throws {
        let windowStart = now.addingTimeInterval(-TimeInterval(throttle.windowSeconds))
        let accountFailures = try await LoginAttempt.query(on: db)
            .filter(\.$accountKey == accountKey).filter(\.$succeeded == false).filter(\.$createdAt > windowStart)
            .count()
        let ipFailures = try await LoginAttempt.query(on: db)
            .filter(\.$ip == clientIP).filter(\.$succeeded == false).filter(\.$createdAt > windowStart)
            .count()
        if throttle.isBlocked(accountFailures: accountFailures, ipFailures: ipFailures) {
            let oldest = try await LoginAttempt.query(on: db)
                .filter(\.$accountKey == accountKey).filter(\.$succeeded == false).filter(\.$createdAt > windowStart)
                .sort(\.$createdAt, .ascending).first()
            let retryAfter = oldest.map { Int($0.createdAt.addingTimeInterval(TimeInterval(throttle.windowSeconds)).timeIntervalSince(now)) } ?? throttle.windowSeconds
            throw AuthError.throttled(retryAfterSeconds: max(retryAfter, 1))
        }
    }

    private func recordAttempt(accountKey: String, succeeded: Bool) async throws {
        if succeeded {
            // A successful login clears the account's failures; the IP's stay counted.
            try await LoginAttempt.query(on: db).filter(\.$accountKey == accountKey).filter(\.$succeeded == false).delete()
        }
        try await LoginAttempt(accountKey: accountKey, ip: clientIP, succeeded: succeeded, at: now).create(on: db)
    }
}

enum AuditLog {
    static func record(on db: any Database, actor: StaffUser?, action: String, target: String, detail: String = "", ip: String, at date: Date) async throws {
        let entry = AuditLogEntry()
        entry.actorID = actor?.id
        entry.actorName = actor?.username ?? "system"
        entry.action = action
        entry.target = target
        entry.detail = detail
        entry.ip = ip
        entry.createdAt = date
        try await entry.create(on: db)
    }
}

extension Request {
    /// The client address used for throttling and the audit log.
    var clientIP: String {
        if application.config.trustForwardedFor, let forwarded = headers.first(name: "X-Forwarded-For")?.split(separator: ",").first {
            return forwarded.trimmingCharacters(in: .whitespaces)
        }
        return remoteAddress?.ipAddress ?? "unknown"
    }

    var accounts: AccountService { AccountService(db: db, app: application, logger: logger, clientIP: clientIP) }
}
