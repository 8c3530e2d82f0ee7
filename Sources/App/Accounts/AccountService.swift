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
    /// The device the client names (`X-Device-Id` or the visitor cookie), for the farming guard of new-user coupons.
    var device: String = ""

    var now: Date { app.clock.now() }
    var smsPolicy: SmsCodePolicy { SmsCodePolicy() }
    var counter: RateCounter { RateCounter(db: db, now: now) }

    // MARK: members

    /// Registers a number its owner proved with an SMS code, as logging in by code does:
    /// nobody can register someone else's number. Only then is "already registered" said.
    func registerMember(phone rawPhone: String, password: String, smsCode: String, acceptedAgreements: Bool) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        do { try PasswordPolicy.check(password) } catch { throw AuthError.weakPassword(error) }
        guard acceptedAgreements else { throw AuthError.agreementRequired }
        let phoneHash = app.personalData.lookupHash(phone.digits)
        let accountKey = "member:" + phoneHash
        try await takeLoginAttempt(accountKey: accountKey)
        try await consumeCode(smsCode, phoneHash: phoneHash, accountKey: accountKey)
        let hash = try await hashPassword(password)
        let member = try await createMember(phone: phone, passwordHash: hash)
        try await recordAttempt(accountKey: accountKey, succeeded: true)
        return member
    }

    /// A member with a password, written directly (demo data and tests; no code is sent).
    func createMemberWithPassword(phone rawPhone: String, password: String) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        do { try PasswordPolicy.check(password) } catch { throw AuthError.weakPassword(error) }
        return try await createMember(phone: phone, passwordHash: try await hashPassword(password))
    }

    func loginMember(phone rawPhone: String, password: String) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        let accountKey = "member:" + app.personalData.lookupHash(phone.digits)
        try await takeLoginAttempt(accountKey: accountKey)
        let member = try await findMember(phone)
        // An unknown number or a member without a password costs one bcrypt check all the same.
        let passwordMatches = try await verifyPassword(password, member?.passwordHash ?? app.decoyPasswordHash)
        guard let member, member.passwordHash != nil, passwordMatches else {
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
        // The checks above read; these count atomically, so parallel requests cannot all pass,
        // and bound what one address, and everyone together, can make the mall send.
        do {
            try await counter.hit([
                (RateLimit("sms.phone_interval", limit: 1, windowSeconds: smsPolicy.resendIntervalSeconds), phoneHash),
                (RateLimit("sms.phone_day", limit: smsPolicy.maxPerPhonePerDay, windowSeconds: 24 * 3600), phoneHash),
                (RateLimits.smsPerAddress, clientIP),
                (RateLimits.smsGlobal, "all"),
            ])
        } catch let refused as RateCounter.Refused {
            if refused.limit.name == "sms.phone_interval" { throw AuthError.smsTooSoon(retryAfterSeconds: refused.retryAfterSeconds) }
            if refused.limit.name == "sms.phone_day" { throw AuthError.smsDailyLimit }
            throw AuthError.smsBusy(retryAfterSeconds: refused.retryAfterSeconds)
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
        try await app.sms.send(SmsCodeMessage(phone: phone, code: code, text: "【裂变商城】验证码 \(code)，5分钟内有效，请勿告诉他人。Fission Mall code: \(code)"), logger: logger)
    }

    /// Logs in with a code; a number seen for the first time becomes a member if the agreements are accepted.
    func loginMemberWithCode(phone rawPhone: String, code: String, acceptedAgreements: Bool) async throws -> Member {
        guard let phone = PhoneNumber(rawPhone) else { throw AuthError.invalidPhone }
        let phoneHash = app.personalData.lookupHash(phone.digits)
        let accountKey = "member:" + phoneHash
        try await takeLoginAttempt(accountKey: accountKey)
        try await consumeCode(code, phoneHash: phoneHash, accountKey: accountKey)

        if let member = try await findMember(phone) {
            try await recordAttempt(accountKey: accountKey, succeeded: true)
            return member
        }
        guard acceptedAgreements else { throw AuthError.agreementRequired }
        let member = try await createMember(phone: phone, passwordHash: nil)
        try await recordAttempt(accountKey: accountKey, succeeded: true)
        return member
    }

    /// Checks the latest unused code for the number and uses it up; a wrong code counts.
    private func consumeCode(_ code: String, phoneHash: String, accountKey: String) async throws {
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
    }

    // MARK: staff

    enum Console { case platform, merchant }

    func loginStaff(username rawUsername: String, password: String, console: Console) async throws -> StaffUser {
        let username = rawUsername.trimmingCharacters(in: .whitespaces).lowercased()
        guard !username.isEmpty, username.count <= 64 else { throw AuthError.invalidCredentials }
        let accountKey = "staff:" + username
        try await takeLoginAttempt(accountKey: accountKey)
        let staff = try await StaffUser.query(on: db).filter(\.$username == username).first()
        let passwordMatches = try await verifyPassword(password, staff?.passwordHash ?? app.decoyPasswordHash)
        guard let staff, staff.active, let role = staff.staffRole, passwordMatches else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.invalidCredentials
        }
        guard role.isPlatform == (console == .platform) else {
            try await recordAttempt(accountKey: accountKey, succeeded: false)
            throw AuthError.wrongConsole
        }
        if let merchantID = staff.$merchant.id {
            guard let merchant = try await Merchant.find(merchantID, on: db), merchant.status == Merchant.Status.active.rawValue else {
                try await recordAttempt(accountKey: accountKey, succeeded: false)
                throw AuthError.merchantSuspended
            }
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
        try await CouponService(db: db, now: now).issueOnRegistration(memberID: member.requireID(), client: FarmClient(device: device, ip: clientIP),
                                                                      gate: app.writeGate)
        return member
    }

    /// Counts the attempt before any password or code is checked: by account and address
    /// (locks that address out), by address (one address trying many accounts) and by account
    /// (many addresses trying one account: slowed, never locked, so nobody can lock out the owner).
    private func takeLoginAttempt(accountKey: String) async throws {
        do {
            try await counter.hit([
                (RateLimits.loginPerAccountAndAddress, accountKey + "|" + clientIP),
                (RateLimits.loginPerAddress, clientIP),
                (RateLimits.loginPerAccount, accountKey),
            ])
        } catch let refused as RateCounter.Refused {
            throw AuthError.throttled(retryAfterSeconds: refused.retryAfterSeconds)
        }
    }

    /// Keeps a row of every attempt for the audit trail; a success forgets the account's failures.
    private func recordAttempt(accountKey: String, succeeded: Bool) async throws {
        if succeeded {
            try await counter.reset(RateLimits.loginPerAccountAndAddress, accountKey + "|" + clientIP)
            try await counter.reset(RateLimits.loginPerAccount, accountKey)
            try await counter.refund(RateLimits.loginPerAddress, clientIP)
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
        // Behind our own proxy the last X-Forwarded-For entry is the address the proxy saw; the
        // entries before it are whatever the client chose to send.
        if application.config.trustForwardedFor,
           let forwarded = headers[.xForwardedFor].last?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
           !forwarded.isEmpty, forwarded.utf8.count <= 64 {
            return forwarded
        }
        return remoteAddress?.ipAddress ?? "unknown"
    }

    var accounts: AccountService { AccountService(db: db, app: application, logger: logger, clientIP: clientIP, device: FarmClient.device(self)) }
}

extension Application {
    private struct DecoyHashKey: StorageKey { typealias Value = String }

    /// A hash of a random password at the configured cost, checked when an account does not
    /// exist so that unknown accounts take as long to refuse as known ones. Set by `configure`.
    var decoyPasswordHash: String {
        get { storage[DecoyHashKey.self] ?? "" }
        set { storage[DecoyHashKey.self] = newValue }
    }
}
