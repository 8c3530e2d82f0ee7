import Fluent
import MallCore
import Vapor

/// `/api/v1/merchant/profile` and `/staff`: a shop's own record and its staff logins.
struct ShopStaffAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let merchant = routes.grouped("merchant")
        merchant.get("profile", use: merchantProfile)
        merchant.get("staff", use: merchantStaff)
        merchant.get("staff", ":staffID", use: merchantStaffMember)
        merchant.post("staff", use: createMerchantStaff)
    }

    @Sendable func merchantProfile(req: Request) async throws -> MerchantDTO {
        let scope = try req.merchantScope()
        guard let merchant = try await Merchant.find(scope.merchantID, on: req.db) else { throw APIError.notFound }
        return try MerchantDTO(merchant)
    }

    @Sendable func merchantStaff(req: Request) async throws -> [StaffDTO] {
        let scope = try req.merchantScope()
        return try await scope.query(StaffUser.self, on: req.db).sort(\.$username).all().map(StaffDTO.init)
    }

    @Sendable func merchantStaffMember(req: Request) async throws -> StaffDTO {
        let scope = try req.merchantScope()
        guard let id = req.parameters.get("staffID", as: UUID.self) else { throw APIError.notFound }
        return try StaffDTO(try await scope.find(StaffUser.self, id: id, on: req.db))
    }
}

extension ShopStaffAPIController {
    @Sendable func createMerchantStaff(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShopStaff)
        let owner = try req.requireStaff(.manageShopStaff)
        let input = try req.content.decode(ShopStaffInput.self)
        let staff = try await ShopStaffService(db: req.db, app: req.application).create(input, merchantID: scope.merchantID)
        try await AuditLog.record(on: req.db, actor: owner, action: "staff.create", target: "staff:\(try staff.requireID())",
                                  detail: "\(staff.username) \(staff.role)", ip: req.clientIP, at: req.now)
        return try await StaffDTO(staff).encodeResponse(status: .created, for: req)
    }
}

struct ShopStaffInput: Content {
    let username: String
    let displayName: String
    let password: String
    /// "merchant_staff" (客服/运营) or "store_clerk" (店员, needs `storeId`).
    let role: String
    let storeId: UUID?
}

/// A merchant owner adds logins for the shop's staff and its stores' clerks.
struct ShopStaffService {
    let db: any Database
    let app: Application

    func create(_ input: ShopStaffInput, merchantID: UUID) async throws -> StaffUser {
        var issues: [APIError.FieldIssue] = []
        let username = StaffUsername.normalized(input.username)
        if let issue = StaffUsername.issue(username) { issues.append(issue) }
        let name = input.displayName.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.displayName, max: 50) { issues.append(.init("displayName", .init("请填写姓名（最多 50 字）", "Enter a name of at most 50 characters"))) }
        do { try PasswordPolicy.check(input.password) } catch { issues.append(AuthError.weakPassword(error).apiError.details[0]) }
        let role = StaffRole(rawValue: input.role)
        if role != .merchantStaff && role != .storeClerk {
            issues.append(.init("role", .init("角色只能是 merchant_staff（店铺员工）或 store_clerk（门店店员）", "role must be merchant_staff or store_clerk")))
        }
        var storeID: UUID?
        if role == .storeClerk {
            if let id = input.storeId, try await Store.query(on: db).filter(\.$id == id).filter(\.$merchant.$id == merchantID).first() != nil {
                storeID = id
            } else {
                issues.append(.init("storeId", .init("请选择本店铺的门店", "Choose one of your stores")))
            }
        }
        guard issues.isEmpty, let role else { throw MerchantError.invalid(issues) }
        if try await StaffUsername.isTaken(username, on: db) { throw MerchantError.usernameTaken }
        let hash = try await AccountService(db: db, app: app, logger: app.logger, clientIP: "").hashPassword(input.password)
        let staff = StaffUser(username: username, passwordHash: hash, displayName: name, role: role, merchantID: merchantID)
        staff.$store.id = storeID
        do {
            try await staff.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw MerchantError.usernameTaken
        }
        return staff
    }
}

/// Console logins: one rule for their form, and taken by a staff member or a pending application alike.
enum StaffUsername {
    static func normalized(_ raw: String) -> String { raw.trimmingCharacters(in: .whitespaces).lowercased() }

    static func issue(_ username: String) -> APIError.FieldIssue? {
        guard !(3...32).contains(username.count) || !username.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        return .init("username", .init("登录名需为 3-32 位字母、数字、- 或 _", "The username needs 3–32 letters, digits, - or _"))
    }

    static func isTaken(_ username: String, on db: any Database) async throws -> Bool {
        if try await StaffUser.query(on: db).filter(\.$username == username).first() != nil { return true }
        return try await MerchantApplication.query(on: db).filter(\.$username == username)
            .filter(\.$status == MerchantApplication.Status.pending.rawValue).first() != nil
    }
}
