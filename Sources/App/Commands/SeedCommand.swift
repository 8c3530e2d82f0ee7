import Fluent
import MallCore
import Vapor

/// `fission seed`: demo operator, merchants, staff and members. Running it again changes nothing.
struct SeedCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Creates demo accounts and data on an empty database (safe to run again)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let seeded = try await DemoData.seed(app: context.application)
        context.console.print(seeded ? "Demo data created." : "Demo data already present; nothing changed.")
        context.console.print(DemoData.loginsText)
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
            let first = try await service.registerMember(phone: "13800138000", password: memberPassword, acceptedAgreements: true)
            _ = try await service.registerMember(phone: "13900139000", password: memberPassword, acceptedAgreements: true)

            // A balance top-up so the wallet and the ledger have something to show.
            let ledger = LedgerService(db: tx, now: app.clock.now())
            let memberID = try first.requireID()
            _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "seed:topup:\(memberID.uuidString.lowercased())",
                kind: "member_topup",
                memo: "演示充值 demo top-up",
                entries: [
                    .debit(.platform(.paymentClearing), Money(fen: 20_000)),
                    .credit(try LedgerAccountKey(.memberBalance, .member(memberID)), Money(fen: 20_000)),
                ]))
            try await DemoCatalog.seed(on: tx, now: app.clock.now(), onboardedMerchant: onboardedMerchantID, storage: app.imageStorage)
            try await AuditLog.record(on: tx, actor: nil, action: "seed", target: "demo data", ip: "seed", at: app.clock.now())
        }
        return true
    }
}
