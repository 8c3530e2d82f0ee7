import Fluent
import MallCore
import Vapor

/// Server-rendered pages: storefront, member login and centre, and the two console shells.
struct PageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get(use: home)
        routes.get("lang", use: switchLanguage)
        routes.get("legal", "user-agreement", use: userAgreement)
        routes.get("legal", "privacy", use: privacyPolicy)

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
        routes.get("admin", use: adminHome)
        routes.get("merchant", "login", use: merchantLoginForm)
        routes.post("merchant", "login", use: merchantLogin)
        routes.get("merchant", use: merchantHome)
    }

    // MARK: storefront

    struct HomePage: Encodable, Sendable {
        let categories: [CatalogPageController.CategoryLink]
        let products: [CatalogPageController.Card]
        let isEmpty: Bool
    }

    @Sendable func home(req: Request) async throws -> Response {
        var params = ProductListQuery()
        params.limit = 12
        let page = try await ProductQueries.list(params, on: req.db, locale: req.locale, storage: req.application.imageStorage)
        return try await req.page("storefront/home", HomePage(
            categories: try await CatalogPageController.categoryTree(on: req.db),
            products: CatalogPageController.cards(page),
            isEmpty: page.items.isEmpty))
    }

    @Sendable func switchLanguage(req: Request) async throws -> Response {
        struct Query: Decodable { let to: String?; let back: String? }
        let query = try? req.query.decode(Query.self)
        let locale = query?.to.flatMap(MallLocale.init(rawValue:)) ?? .zhHans
        let response = req.redirect(to: Self.sameSitePath(query?.back))
        response.cookies["lang"] = HTTPCookies.Value(string: locale.rawValue, maxAge: 365 * 24 * 3600, path: "/", isHTTPOnly: false, sameSite: .lax)
        return response
    }

    /// Only a plain path on this site, so the switcher cannot be used as an open redirect:
    /// browsers read "//host" and "/\\host" as another origin.
    static func sameSitePath(_ candidate: String?) -> String {
        guard let path = candidate, path.hasPrefix("/"), path.count <= 512 else { return "/" }
        let second = path.dropFirst().first
        guard second != "/", second != "\\" else { return "/" }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/-._~?=&%+"))
        guard path.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else { return "/" }
        return path
    }

    struct LegalPage: Encodable, Sendable { let title: String; let body: String; let version: String }

    @Sendable func userAgreement(req: Request) async throws -> Response {
        let t = PageStrings.dictionary(req.locale)
        return try await req.page("storefront/legal", LegalPage(title: t["legal_user_title"] ?? "", body: t["legal_user_body"] ?? "", version: AgreementVersions.userAgreement))
    }

    @Sendable func privacyPolicy(req: Request) async throws -> Response {
        let t = PageStrings.dictionary(req.locale)
        return try await req.page("storefront/legal", LegalPage(title: t["legal_privacy_title"] ?? "", body: t["legal_privacy_body"] ?? "", version: AgreementVersions.privacyPolicy))
    }

    // MARK: member accounts

    struct MemberForm: Encodable, Sendable {
        var phone: String = ""
        var codeSent: Bool = false
    }

    @Sendable func registerForm(req: Request) async throws -> Response {
        try await req.page("storefront/register", MemberForm())
    }

    @Sendable func register(req: Request) async throws -> Response {
        struct Form: Decodable { let phone: String?; let password: String?; let code: String?; let agree: String? }
        let form = try req.content.decode(Form.self)
        do {
            let member = try await req.accounts.registerMember(phone: form.phone ?? "", password: form.password ?? "", smsCode: form.code ?? "",
                                                               acceptedAgreements: form.agree == "on")
            req.signIn(kind: "member", id: try member.requireID())
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
    }

    /// Signs the visitor out on every device and browser, this one included.
    @Sendable func logoutEverywhere(req: Request) async throws -> Response {
        let signedIn: (String, UUID)? = switch req.principal {
        case .member(let member): member.id.map { ("member", $0) }
        case .staff(let staff, _): staff.id.map { ("staff", $0) }
        case nil: nil
        }
        if let (kind, id) = signedIn {
            let now = req.now
            try await req.writeTransaction { db in try await SignOuts.signOutEverywhere(kind: kind, id: id, now: now, on: db) }
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
            privacyPolicyVersion: member.privacyPolicyVersion))
    }

    // MARK: consoles

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

    struct AdminHome: Encodable, Sendable {
        struct Row: Encodable, Sendable { let time: String; let actor: String; let action: String; let target: String }
        struct MerchantRow: Encodable, Sendable { let id: String; let name: String; let kind: String; let status: String; let rate: String; let active: Bool; let canSuspend: Bool }
        struct ApplicationRow: Encodable, Sendable { let id: String; let company: String; let licence: String; let licenceImageURL: String; let contact: String; let category: String }
        let role: String
        let memberCount: Int
        let merchantCount: Int
        let ledgerOK: Bool
        let ledgerTransactions: Int
        let ledgerAccounts: Int
        let audit: [Row]
        let merchants: [MerchantRow]
        let canManageMerchants: Bool
        let applications: [ApplicationRow]
        let hasApplications: Bool
    }

    @Sendable func adminHome(req: Request) async throws -> Response {
        guard case .staff(_, let role) = req.principal, role.isPlatform else { return req.redirect(to: "/admin/login") }
        let t = PageStrings.dictionary(req.locale)
        let report = role.can(.viewLedger) ? try await req.ledger.verify() : nil
        let audit = role.can(.viewAuditLog)
            ? try await AuditLogEntry.query(on: req.db).sort(\.$createdAt, .descending).limit(20).all()
            : []
        let merchants = try await Merchant.query(on: req.db).sort(\.$createdAt).all()
        let canManage = role.can(.manageMerchants)
        let applications = canManage
            ? try await MerchantApplication.query(on: req.db).filter(\.$status == MerchantApplication.Status.pending.rawValue).sort(\.$createdAt).limit(50).all()
            : []
        let applicationRows = try applications.map { application in
            AdminHome.ApplicationRow(id: try application.requireID().uuidString, company: application.companyName, licence: application.licenceNumber,
                                     licenceImageURL: application.licenceImage.isEmpty ? "" : req.application.imageStorage.url(for: application.licenceImage),
                                     contact: application.contactName + " " + (PhoneNumber(try req.personalData.open(application.contactPhoneCipher))?.masked ?? ""),
                                     category: application.businessCategory)
        }
        return try await req.page("console/admin", AdminHome(
            role: t["staff_role_\(role.rawValue)"] ?? role.rawValue,
            memberCount: try await Member.query(on: req.db).count(),
            merchantCount: merchants.count,
            ledgerOK: report?.ok ?? true,
            ledgerTransactions: report?.transactionCount ?? 0,
            ledgerAccounts: report?.accountCount ?? 0,
            audit: audit.map { .init(time: Self.timeFormatter.string(from: $0.createdAt), actor: $0.actorName, action: $0.action, target: $0.target) },
            merchants: merchants.map {
                .init(id: $0.id?.uuidString ?? "", name: $0.name, kind: t["kind_\($0.kind)"] ?? $0.kind, status: t["status_\($0.status)"] ?? $0.status,
                      rate: Self.percent(BasisPoints($0.serviceRateBP)), active: $0.status == Merchant.Status.active.rawValue,
                      canSuspend: canManage && $0.kind != Merchant.Kind.selfOperated.rawValue)
            },
            canManageMerchants: canManage,
            applications: applicationRows,
            hasApplications: !applicationRows.isEmpty))
    }

    struct MerchantHome: Encodable, Sendable {
        struct StaffRow: Encodable, Sendable { let username: String; let name: String; let role: String; let store: String }
        struct StoreOption: Encodable, Sendable { let id: String; let name: String }
        struct ProductRow: Encodable, Sendable { let id: String; let title: String; let price: String; let stock: Int64; let onShelf: Bool; let low: Bool }
        struct StoreRow: Encodable, Sendable { let id: String; let name: String; let kind: String; let skus: Int; let units: Int64; let low: Int }
        let merchantName: String
        let role: String
        let serviceRate: String
        let staff: [StaffRow]
        let products: [ProductRow]
        let stores: [StoreRow]
        let messages: [String]
        let canManage: Bool
        let canManageStaff: Bool
        let storeOptions: [StoreOption]
        /// A store clerk's own store, "" for everyone else.
        let clerkStore: String
    }

    @Sendable func merchantHome(req: Request) async throws -> Response {
        guard case .staff(let viewer, let role) = req.principal, !role.isPlatform else { return req.redirect(to: "/merchant/login") }
        let scope = try req.merchantScope()
        guard let merchant = try await Merchant.find(scope.merchantID, on: req.db) else { throw APIError.notFound }
        let staff = try await scope.query(StaffUser.self, on: req.db).sort(\.$username).all()
        let t = PageStrings.dictionary(req.locale)
        let products = try await scope.query(Product.self, on: req.db).sort(\.$listedAt, .descending).limit(100).with(\.$skus).all()
        let stores = try await scope.query(Store.self, on: req.db).sort(\.$name).all()
        let storeIDs = stores.compactMap(\.id)
        let stock = try await StoreStock.query(on: req.db).filter(\.$store.$id ~~ storeIDs).all()
        let messages = try await scope.query(MerchantMessage.self, on: req.db).filter(\.$readAt == nil).sort(\.$createdAt, .descending).limit(10).all()
        return try await req.page("console/merchant", MerchantHome(
            merchantName: merchant.name,
            role: t["staff_role_\(role.rawValue)"] ?? role.rawValue,
            serviceRate: Self.percent(BasisPoints(merchant.serviceRateBP)),
            staff: staff.map { member in
                .init(username: member.username, name: member.displayName, role: t["staff_role_\(member.role)"] ?? member.role,
                      store: stores.first { $0.id == member.$store.id }?.name ?? "")
            },
            products: products.map { product in
                .init(id: product.id?.uuidString ?? "", title: product.title, price: Money(fen: product.minPrice).formatted(req.locale),
                      stock: product.totalStock, onShelf: product.onShelf,
                      low: product.skus.contains { $0.stock <= $0.lowStockThreshold })
            },
            stores: stores.map { store in
                let rows = stock.filter { $0.$store.id == store.id }
                return .init(id: store.id?.uuidString.lowercased() ?? "", name: store.name, kind: t["store_kind_\(store.kind)"] ?? store.kind,
                             skus: rows.count, units: rows.reduce(0) { $0 + $1.stock }, low: rows.filter { $0.stock <= $0.lowStockThreshold }.count)
            },
            messages: messages.map(\.title),
            canManage: role.can(.manageShop),
            canManageStaff: role.can(.manageShopStaff),
            storeOptions: stores.map { .init(id: $0.id?.uuidString ?? "", name: $0.name) },
            clerkStore: stores.first { $0.id == viewer.$store.id }?.name ?? ""))
    }

    static func percent(_ rate: BasisPoints) -> String {
        let whole = rate.value / 100
        let fraction = rate.value % 100
        return fraction == 0 ? "\(whole)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }()
}
