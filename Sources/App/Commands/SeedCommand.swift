import Fluent
import MallCore
import Vapor

/// `fission seed`: what the platform needs to start. In development, or with `--demo`, also the
/// demo operator, merchants, staff, members and catalog. Running it again changes nothing.
struct SeedCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "demo", help: "Write the demo accounts and catalog (the default in development)")
        var demo: Bool
    }

    var help: String { "Creates the platform operator, and in development (or with --demo) the demo data, on an empty database." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        if signature.demo || app.environment == .development || app.environment == .testing {
            let seeded = try await DemoData.seed(app: app)
            context.console.print(seeded ? "Demo data created." : "Demo data already present; nothing changed.")
            context.console.print(DemoData.loginsText)
            return
        }
        let password = ProcessInfo.processInfo.environment["FISSION_OPERATOR_PASSWORD"] ?? ""
        let created = try await PlatformSeed.seedOperator(app: app, username: "admin", password: password)
        context.console.print(created ? "Platform operator admin created; sign in at /admin/login." : "A platform operator already exists; nothing changed.")
    }
}

/// What a production database needs before anyone can sign in: one platform operator whose
/// password the deployer chose (`FISSION_OPERATOR_PASSWORD`), never a demo password.
enum PlatformSeed {
    static func seedOperator(app: Application, username: String, password: String) async throws -> Bool {
        let platformRoles = StaffRole.allCases.filter(\.isPlatform).map(\.rawValue)
        if try await StaffUser.query(on: app.db).filter(\.$role ~~ platformRoles).first() != nil { return false }
        do { try PasswordPolicy.check(password) } catch {
            throw ConfigError("set FISSION_OPERATOR_PASSWORD to the first operator's password: 8–64 printable ASCII characters with a letter and a digit")
        }
        guard ![DemoData.operatorPassword, DemoData.merchantPassword, DemoData.memberPassword].contains(password) else {
            throw ConfigError("FISSION_OPERATOR_PASSWORD must not be a demo password")
        }
        let accounts = AccountService(db: app.db, app: app, logger: app.logger, clientIP: "seed")
        let hash = try await accounts.hashPassword(password)
        try await app.writeGate.transaction(on: app.db) { tx in
            try await StaffUser(username: username, passwordHash: hash, displayName: "平台管理员", role: .platformAdmin, merchantID: nil).create(on: tx)
            try await AuditLog.record(on: tx, actor: nil, action: "seed", target: "platform operator", ip: "seed", at: app.clock.now())
        }
        return true
    }
}

enum DemoData {
    static let operatorPassword = "Admin2026"
    static let merchantPassword = "Shop2026"
    static let memberPassword = "Member2026"
    static let onboardedMerchantID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 2))

    static let loginsText = """
    Demo logins / 演示账号:
      平台运营 operator   http://127.0.0.1:8080/admin/login     admin / \(operatorPassword)   (finance / \(operatorPassword))
      商家 merchant       http://127.0.0.1:8080/merchant/login  nuannuan / \(merchantPassword)   (self-operated: ziying / \(merchantPassword))
      会员 member         http://127.0.0.1:8080/login           13800138000 / \(memberPassword)   (13900139000 / \(memberPassword))
    """

    /// Returns false when the demo operator already exists.
    static func seed(app: Application) async throws -> Bool {
        let db = app.db
        if try await StaffUser.query(on: db).filter(\.$username == "admin").first() != nil { return false }
        let accounts = AccountService(db: db, app: app, logger: app.logger, clientIP: "seed")
        try await app.writeGate.transaction(on: db) { tx in
            let merchant = Merchant(id: onboardedMerchantID, name: "暖暖母婴旗舰店", kind: .onboarded, serviceRateBP: 600)
            try await merchant.create(on: tx)

            let staff: [(String, String, StaffRole, UUID?)] = [
                ("admin", "平台管理员", .platformAdmin, nil),
                ("finance", "财务专员", .platformFinance, nil),
                ("nuannuan", "暖暖店长", .merchantOwner, onboardedMerchantID),
                ("nuannuan-kefu", "暖暖客服", .merchantStaff, onboardedMerchantID),
                ("ziying", "自营店长", .merchantOwner, Merchant.selfOperatedID),
            ]
            for (username, name, role, merchantID) in staff {
                let password = role.isPlatform ? operatorPassword : merchantPassword
                try await StaffUser(username: username, passwordHash: try await accounts.hashPassword(password),
                                    displayName: name, role: role, merchantID: merchantID).create(on: tx)
            }

            let service = AccountService(db: tx, app: app, logger: app.logger, clientIP: "seed")
            let first = try await service.createMemberWithPassword(phone: "13800138000", password: memberPassword)
            _ = try await service.createMemberWithPassword(phone: "13900139000", password: memberPassword)

            // A balance top-up so the wallet and the ledger have something to show.
            let ledger = LedgerService(db: tx, now: app.clock.now())
            let memberID = try first.requireID()
            _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "seed:topup:\(memberID.uuidString.lowercased())",
                kind: "member_topup",
                memo: "演示充值 demo top-up",
                entries: [
                    .debit(.platform(.paymentClearing), Money(fen: 1_000_000)),
                    .credit(try LedgerAccountKey(.memberBalance, .member(memberID)), Money(fen: 1_000_000)),
                ]))
            try await DemoCatalog.seed(on: tx, now: app.clock.now(), onboardedMerchant: onboardedMerchantID, storage: app.imageStorage)
            try await DistributionDemo.seed(on: tx, now: app.clock.now())
            try await CouponDemo.seed(on: tx, now: app.clock.now(), shop: onboardedMerchantID)
            try await PromotionDemo.seed(on: tx, now: app.clock.now())
            try await GroupBuyDemo.seed(on: tx, now: app.clock.now())
            try await FlashSaleDemo.seed(on: tx, now: app.clock.now(), shop: onboardedMerchantID)
            try await AuditLog.record(on: tx, actor: nil, action: "seed", target: "demo data", ip: "seed", at: app.clock.now())
        }
        try await ReconciliationDemo.seed(app: app)
        try await DistributionDemoHistory.seed(app: app)
        return true
    }
}
