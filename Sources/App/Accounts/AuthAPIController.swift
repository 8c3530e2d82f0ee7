import Fluent
import MallCore
import Vapor

/// `/api/v1/auth/*` and `/api/v1/me`: tokens for apps and mini-programs.
struct AuthAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let auth = routes.grouped("auth")
        auth.post("register", use: register)
        auth.post("login", use: login)
        auth.post("sms-codes", use: sendCode)
        auth.post("staff-login", use: staffLogin)
        auth.post("refresh", use: refresh)
        auth.post("logout", use: logout)
        auth.post("logout-all", use: logoutEverywhere)
        routes.get("me", use: me)
        routes.get("me", "wallet", use: wallet)
    }

    @Sendable func register(req: Request) async throws -> Response {
        let body = try req.content.decode(RegisterRequest.self)
        // Not one transaction: a wrong code must stay counted when the registration fails.
        let member = try await req.accounts.registerMember(phone: body.phone, password: body.password, smsCode: body.smsCode,
                                                           acceptedAgreements: body.acceptAgreements)
        let tokens = try await TokenService(app: req.application, db: req.db).issue(kind: "member", subjectID: member.requireID())
        return try await tokens.encodeResponse(status: .created, for: req)
    }

    @Sendable func login(req: Request) async throws -> TokenPair {
        let body = try req.content.decode(LoginRequest.self)
        let member: Member
        if let code = body.smsCode {
            member = try await req.accounts.loginMemberWithCode(phone: body.phone, code: code, acceptedAgreements: body.acceptAgreements ?? false)
        } else if let password = body.password {
            member = try await req.accounts.loginMember(phone: body.phone, password: password)
        } else {
            throw APIError.validation([.init("password", .init("请输入密码或验证码", "Enter a password or an SMS code"))])
        }
        return try await TokenService(app: req.application, db: req.db).issue(kind: "member", subjectID: member.requireID())
    }

    @Sendable func sendCode(req: Request) async throws -> Response {
        let body = try req.content.decode(SmsCodeRequest.self)
        try await req.accounts.requestLoginCode(phone: body.phone)
        let policy = SmsCodePolicy()
        return try await SmsCodeResponse(expiresInSeconds: policy.lifetimeSeconds, resendAfterSeconds: policy.resendIntervalSeconds)
            .encodeResponse(status: .accepted, for: req)
    }

    @Sendable func staffLogin(req: Request) async throws -> TokenPair {
        let body = try req.content.decode(StaffLoginRequest.self)
        let console: AccountService.Console
        switch body.console {
        case "platform": console = .platform
        case "merchant": console = .merchant
        default: throw APIError.validation([.init("console", .init("后台类型只能是 platform 或 merchant", "console must be platform or merchant"))])
        }
        let staff = try await req.accounts.loginStaff(username: body.username, password: body.password, console: console)
        return try await TokenService(app: req.application, db: req.db).issue(kind: "staff", subjectID: staff.requireID())
    }

    @Sendable func refresh(req: Request) async throws -> TokenPair {
        let body = try req.content.decode(RefreshRequest.self)
        return try await TokenService(app: req.application, db: req.db).refresh(body.refreshToken)
    }

    /// Ends one device's login: its refresh token and every token refreshed from the same login.
    @Sendable func logout(req: Request) async throws -> HTTPStatus {
        let body = try req.content.decode(RefreshRequest.self)
        try await TokenService(app: req.application, db: req.db).logout(body.refreshToken)
        return .noContent
    }

    /// Ends every login of the caller: refresh tokens, access tokens and page sessions.
    @Sendable func logoutEverywhere(req: Request) async throws -> HTTPStatus {
        let (kind, id): (String, UUID)
        switch req.principal {
        case .member(let member): (kind, id) = ("member", try member.requireID())
        case .staff(let staff, _): (kind, id) = ("staff", try staff.requireID())
        case nil: throw APIError.unauthenticated
        }
        try await req.signOutEverywhere(kind: kind, id: id)
        return .noContent
    }

    @Sendable func me(req: Request) async throws -> MeResponse {
        switch req.principal {
        case .member(let member):
            let phone = PhoneNumber(try req.personalData.open(member.phoneCipher))?.masked ?? "***"
            return MeResponse(kind: "member", member: try MemberDTO(member, phone: phone), staff: nil)
        case .staff(let staff, _):
            return MeResponse(kind: "staff", member: nil, staff: try StaffDTO(staff))
        case nil:
            throw APIError.unauthenticated
        }
    }

    @Sendable func wallet(req: Request) async throws -> WalletResponse {
        let member = try req.requireMember()
        let wallet = try await MemberWallet.load(for: member.requireID(), ledger: req.ledger)
        return WalletResponse(
            balance: .init(wallet.balance, req.locale),
            commissionPending: .init(wallet.commissionPending, req.locale),
            commissionFrozen: .init(wallet.commissionFrozen, req.locale),
            commissionAvailable: .init(wallet.commissionAvailable, req.locale))
    }
}

/// A member's money as the ledger says.
struct MemberWallet {
    let balance: Money
    let commissionPending: Money
    let commissionFrozen: Money
    let commissionAvailable: Money

    static func load(for memberID: UUID, ledger: LedgerService) async throws -> MemberWallet {
        func account(_ purpose: LedgerAccountPurpose) async throws -> Money {
            try await ledger.balance(of: LedgerAccountKey(purpose, .member(memberID)))
        }
        return MemberWallet(
            balance: try await account(.memberBalance),
            commissionPending: try await account(.commissionPending),
            commissionFrozen: try await account(.commissionFrozen),
            commissionAvailable: try await account(.commissionAvailable))
    }
}
