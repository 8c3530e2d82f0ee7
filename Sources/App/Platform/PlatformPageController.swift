import Fluent
import MallCore
import Vapor

/// The operator console's home: counts, the ledger check, merchants, applications and the audit log.
struct PlatformPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", use: adminHome)
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
        let canReconcile: Bool
        let canManageMarketing: Bool
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
            audit: audit.map { .init(time: PageFormat.timeFormatter.string(from: $0.createdAt), actor: $0.actorName, action: $0.action, target: $0.target) },
            merchants: merchants.map {
                .init(id: $0.id?.uuidString ?? "", name: $0.name, kind: t["kind_\($0.kind)"] ?? $0.kind, status: t["status_\($0.status)"] ?? $0.status,
                      rate: PageFormat.percent(BasisPoints($0.serviceRateBP)), active: $0.status == Merchant.Status.active.rawValue,
                      canSuspend: canManage && $0.kind != Merchant.Kind.selfOperated.rawValue)
            },
            canManageMerchants: canManage,
            applications: applicationRows,
            hasApplications: !applicationRows.isEmpty,
            canReconcile: role.can(.reconcilePayments),
            canManageMarketing: role.can(.manageMarketing)))
    }

}
