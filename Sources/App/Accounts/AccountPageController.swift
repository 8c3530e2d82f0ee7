import Fluent
import MallCore
import Vapor

/// Sign-in pages: member registration, login by password or code, the member centre and sign-out;
/// the two consoles' staff logins.
struct AccountPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("register", use: registerForm)
        routes.post("register", use: register)
        routes.post("register", "sms-code", use: sendRegisterCode)
        routes.get("login", use: loginForm)
        routes.post("login", use: login)
        routes.post("login", "sms-code", use: sendCode)
        routes.post("login", "sms", use: loginWithCode)
        routes.post("logout", use: logout)
        routes.post("logout-all", use: logoutEverywhere)
        routes.get("member", use: memberCentre)

        routes.get("admin", "login", use: adminLoginForm)
        routes.post("admin", "login", use: adminLogin)
        routes.get("merchant", "login", use: merchantLoginForm)
        routes.post("merchant", "login", use: merchantLogin)
    }

    struct MemberForm: Encodable, Sendable {
        var phone: String = ""
        var codeSent: Bool = false
    }

    @Sendable func registerForm(req: Request) async throws -> Response {
        let response = try await req.page("storefront/register", MemberForm())
        FarmClient.ensureVisitorCookie(req, on: response)
        return response
    }

    @Sendable func register(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String?; let password: String?; let code: String?; let agree: String? }
        let form = try req.content.decode(Form.self)
        do {
            let member = try await req.accounts.registerMember(phone: form.phone ?? "", password: form.password ?? "", smsCode: form.code ?? "",
                                                               acceptedAgreements: form.agree == "on")
            req.signIn(kind: "member", id: try member.requireID())
            await DistributionPageController.afterSignIn(req, memberID: try member.requireID(), registered: true)
            return req.redirect(to: "/member")
        } catch {
            return try await req.pageAfterFailure(error, "storefront/register", MemberForm(phone: form.phone ?? "", codeSent: true))
        }
    }

    /// Sends the code that proves the number, then shows the rest of the registration form.
    @Sendable func sendRegisterCode(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String? }
        let form = try req.content.decode(Form.self)
        do {
            try await req.accounts.requestLoginCode(phone: form.phone ?? "")
            req.flash(PageStrings.table["code_sent"] ?? .init("验证码已发送", "Code sent"))
            return try await req.page("storefront/register", MemberForm(phone: form.phone ?? "", codeSent: true))
        } catch {
            return try await req.pageAfterFailure(error, "storefront/register", MemberForm(phone: form.phone ?? ""))
        }
    }

    @Sendable func loginForm(req: Request) async throws -> Response {
        try await req.page("storefront/login", MemberForm())
    }

    @Sendable func login(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String?; let password: String? }
        let form = try req.content.decode(Form.self)
        do {
            let member = try await req.accounts.loginMember(phone: form.phone ?? "", password: form.password ?? "")
            req.signIn(kind: "member", id: try member.requireID())
            await DistributionPageController.afterSignIn(req, memberID: try member.requireID(), registered: false)
            return req.redirect(to: "/member")
        } catch {
            return try await req.pageAfterFailure(error, "storefront/login", MemberForm(phone: form.phone ?? ""))
        }
    }

    @Sendable func sendCode(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String? }
        let form = try req.content.decode(Form.self)
        do {
            try await req.accounts.requestLoginCode(phone: form.phone ?? "")
            req.flash(PageStrings.table["code_sent"] ?? .init("验证码已发送", "Code sent"))
            return try await req.page("storefront/login", MemberForm(phone: form.phone ?? "", codeSent: true))
        } catch {
            return try await req.pageAfterFailure(error, "storefront/login", MemberForm(phone: form.phone ?? ""))
        }
    }

    @Sendable func loginWithCode(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String?; let code: String?; let agree: String? }
        let form = try req.content.decode(Form.self)
        do {
            let member = try await req.accounts.loginMemberWithCode(phone: form.phone ?? "", code: form.code ?? "", acceptedAgreements: form.agree == "on")
            req.signIn(kind: "member", id: try member.requireID())
            // Signing in with a code creates the account when the number is new.
            await DistributionPageController.afterSignIn(req, memberID: try member.requireID(),
                                                         registered: req.now.timeIntervalSince(member.createdAt) < 60)
            return req.redirect(to: "/member")
        } catch {
            return try await req.pageAfterFailure(error, "storefront/login", MemberForm(phone: form.phone ?? "", codeSent: true))
        }
    }

    @Sendable func logout(req: Request) async throws -> Response {
        let wasStaff = req.viewer.map { !$0.isMember } ?? false
        req.signOut()
        return req.redirect(to: wasStaff ? "/" : "/login")
    }

    struct MemberCentre: Encodable, Sendable {
        let phone: String
        let nickname: String
        let balance: String
        let commissionAvailable: String
        let userAgreementVersion: String
        let privacyPolicyVersion: String
        /// 全部 / 待付款 / 待发货 / 待收货 / 待评价 / 售后, with their counts.
        let orderTabs: [OrderPageController.Tab]
    }

    /// Signs the visitor out on every device and browser, this one included.
    @Sendable func logoutEverywhere(req: Request) async throws -> Response {
        let signedIn: (String, UUID)? = switch req.principal {
        case .member(let member): member.id.map { ("member", $0) }
        case .staff(let staff, _): staff.id.map { ("staff", $0) }
        case nil: nil
        }
        if let (kind, id) = signedIn {
            try await req.signOutEverywhere(kind: kind, id: id)
        }
        req.signOut()
        return req.redirect(to: "/login")
    }

    @Sendable func memberCentre(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal else { return req.redirect(to: "/login") }
        let wallet = try await MemberWallet.load(for: member.requireID(), ledger: req.ledger)
        let phone = PhoneNumber(try req.personalData.open(member.phoneCipher))?.masked ?? "***"
        return try await req.page("member/centre", MemberCentre(
            phone: phone,
            nickname: member.nickname,
            balance: wallet.balance.formatted(req.locale),
            commissionAvailable: wallet.commissionAvailable.formatted(req.locale),
            userAgreementVersion: member.userAgreementVersion,
            privacyPolicyVersion: member.privacyPolicyVersion,
            orderTabs: try await OrderPageController.tabs(memberID: member.requireID(), current: .all, req: req)))
    }

    // MARK: staff logins

    struct StaffLoginPage: Encodable, Sendable {
        let title: String
        let action: String
        var username: String = ""
        let showApply: Bool
    }

    private func staffLoginPage(_ req: Request, console: AccountService.Console, username: String = "") -> StaffLoginPage {
        let t = PageStrings.dictionary(req.locale)
        return console == .platform
            ? StaffLoginPage(title: t["admin_login_title"] ?? "", action: "/admin/login", username: username, showApply: false)
            : StaffLoginPage(title: t["merchant_login_title"] ?? "", action: "/merchant/login", username: username, showApply: true)
    }

    @Sendable func adminLoginForm(req: Request) async throws -> Response {
        try await req.page("console/login", staffLoginPage(req, console: .platform))
    }

    @Sendable func merchantLoginForm(req: Request) async throws -> Response {
        try await req.page("console/login", staffLoginPage(req, console: .merchant))
    }

    @Sendable func adminLogin(req: Request) async throws -> Response {
        try await staffLogin(req, console: .platform)
    }

    @Sendable func merchantLogin(req: Request) async throws -> Response {
        try await staffLogin(req, console: .merchant)
    }

    private func staffLogin(_ req: Request, console: AccountService.Console) async throws -> Response {
        struct Form: Decodable { let username: String?; let password: String? }
        let form = try req.content.decode(Form.self)
        do {
            let staff = try await req.accounts.loginStaff(username: form.username ?? "", password: form.password ?? "", console: console)
            req.signIn(kind: "staff", id: try staff.requireID())
            return req.redirect(to: console == .platform ? "/admin" : "/merchant")
        } catch {
            return try await req.pageAfterFailure(error, "console/login", staffLoginPage(req, console: console, username: form.username ?? ""))
        }
    }
}
