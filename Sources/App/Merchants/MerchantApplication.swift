import Fluent
import Foundation
import MallCore
import Vapor

/// A company's request to sell on the platform (商家入驻), reviewed by an operator.
final class MerchantApplication: Model, @unchecked Sendable {
    static let schema = "merchant_applications"

    enum Status: String, Codable { case pending, approved, rejected }

    @ID(key: .id) var id: UUID?
    @Field(key: "company_name") var companyName: String
    @Field(key: "contact_name") var contactName: String
    @Field(key: "contact_phone_cipher") var contactPhoneCipher: String
    @Field(key: "licence_number") var licenceNumber: String
    @Field(key: "business_category") var businessCategory: String
    /// Storage key of the business licence picture.
    @Field(key: "licence_image") var licenceImage: String
    @Field(key: "username") var username: String
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "status") var status: String
    @OptionalField(key: "reject_reason") var rejectReason: String?
    @OptionalField(key: "reviewed_by") var reviewedBy: UUID?
    @OptionalField(key: "reviewed_at") var reviewedAt: Date?
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct CreateMerchantApplications: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(MerchantApplication.schema)
            .id()
            .field("company_name", .string, .required)
            .field("contact_name", .string, .required)
            .field("contact_phone_cipher", .string, .required)
            .field("licence_number", .string, .required)
            .field("business_category", .string, .required)
            .field("username", .string, .required)
            .field("password_hash", .string, .required)
            .field("status", .string, .required)
            .field("reject_reason", .string)
            .field("reviewed_by", .uuid)
            .field("reviewed_at", .datetime)
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("merchant_applications_status", on: MerchantApplication.schema, columns: ["status", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(MerchantApplication.schema).delete()
    }
}

struct MerchantApplicationInput: Content {
    let companyName: String
    let contactName: String
    let contactPhone: String
    let licenceNumber: String
    /// The `key` returned by `POST /api/v1/merchant-applications/licence-images`.
    let licenceImage: String?
    let businessCategory: String
    /// The owner's login once approved.
    let username: String
    let password: String
}

struct ApproveInput: Content {
    let serviceRateBp: Int
}

struct RejectInput: Content {
    let reason: String
}

struct MerchantUpdateInput: Content {
    let serviceRateBp: Int?
    /// "active" or "suspended"
    let status: String?
}

struct MerchantApplicationDTO: Content {
    let id: UUID
    let companyName: String
    let contactName: String
    let contactPhone: String
    let licenceNumber: String
    let licenceImageUrl: String
    let businessCategory: String
    let username: String
    let status: String
    let rejectReason: String?
    let merchantId: UUID?
    let createdAt: Date

    init(_ application: MerchantApplication, phone: String, storage: any ImageStorage) throws {
        id = try application.requireID()
        companyName = application.companyName
        contactName = application.contactName
        contactPhone = phone
        licenceNumber = application.licenceNumber
        licenceImageUrl = application.licenceImage.isEmpty ? "" : storage.url(for: application.licenceImage)
        businessCategory = application.businessCategory
        username = application.username
        status = application.status
        rejectReason = application.rejectReason
        merchantId = application.merchantID
        createdAt = application.createdAt
    }
}

enum MerchantError: Error, APIErrorConvertible {
    case invalid([APIError.FieldIssue])
    case usernameTaken
    case alreadyReviewed

    var apiError: APIError {
        switch self {
        case .invalid(let issues):
            .validation(issues)
        case .usernameTaken:
            APIError(.conflict, "merchant.username_taken", .init("该登录名已被使用", "This username is taken"),
                     details: [.init("username", .init("登录名已被使用", "Already taken"))])
        case .alreadyReviewed:
            APIError(.conflict, "merchant.already_reviewed", .init("该申请已审核", "This application has already been reviewed"))
        }
    }
}

/// Applications, approval (which creates the merchant, its owner login and its ledger account),
/// rejection, service rate and suspension.
struct MerchantService {
    let db: any Database
    let app: Application
    let now: Date

    func apply(_ input: MerchantApplicationInput) async throws -> MerchantApplication {
        var issues: [APIError.FieldIssue] = []
        func text(_ value: String, _ field: String, max: Int) -> String {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if !TextLength.isFilled(value, max: max) {
                issues.append(.init(field, .init("请填写（最多 \(max) 字）", "Required, at most \(max) characters")))
            }
            return trimmed
        }
        let company = text(input.companyName, "companyName", max: 100)
        let contact = text(input.contactName, "contactName", max: 50)
        let licence = text(input.licenceNumber, "licenceNumber", max: 50)
        let category = text(input.businessCategory, "businessCategory", max: 50)
        let phone = PhoneNumber(input.contactPhone)
        if phone == nil { issues.append(.init("contactPhone", .init("请输入正确的11位手机号", "Enter a valid 11-digit mainland mobile number"))) }
        let username = StaffUsername.normalized(input.username)
        if let issue = StaffUsername.issue(username) { issues.append(issue) }
        do { try PasswordPolicy.check(input.password) } catch {
            issues.append(AuthError.weakPassword(error).apiError.details[0])
        }
        let licenceImage = (input.licenceImage ?? "").trimmingCharacters(in: .whitespaces)
        if licenceImage.isEmpty {
            issues.append(.init("licenceImage", .init("请上传营业执照图片", "Upload a picture of the business licence")))
        } else if try await UploadedImage.query(on: db).filter(\.$storageKey == licenceImage)
            .filter(\.$purpose == UploadedImage.Purpose.licence.rawValue).first() == nil {
            issues.append(ImageError.unknownImage(field: "licenceImage").apiError.details[0])
        }
        guard issues.isEmpty, let phone else { throw MerchantError.invalid(issues) }
        // Whether the login name is free is not told to a stranger (it would list the accounts);
        // the reviewer sees a clash when approving and asks the applicant for another name.
        let application = MerchantApplication()
        application.companyName = company
        application.contactName = contact
        application.contactPhoneCipher = try app.personalData.seal(phone.digits)
        application.licenceNumber = licence
        application.licenceImage = licenceImage
        application.businessCategory = category
        application.username = username
        application.passwordHash = try await AccountService(db: db, app: app, logger: app.logger, clientIP: "").hashPassword(input.password)
        application.status = MerchantApplication.Status.pending.rawValue
        application.createdAt = now
        try await application.create(on: db)
        return application
    }

    /// `db` must be a transaction: the merchant, its owner and its ledger account appear together.
    func approve(_ id: UUID, serviceRateBP: Int, reviewer: StaffUser) async throws -> Merchant {
        guard (0...5_000).contains(serviceRateBP) else {
            throw MerchantError.invalid([.init("serviceRateBp", .init("平台抽佣需在 0-5000 基点（0%-50%）之间", "The service rate must be 0–5000 basis points (0–50 %)"))])
        }
        let application = try await claim(id, as: .approved)
        guard try await StaffUser.query(on: db).filter(\.$username == application.username).first() == nil else { throw MerchantError.usernameTaken }
        let merchant = Merchant(name: application.companyName, kind: .onboarded, serviceRateBP: serviceRateBP)
        try await merchant.create(on: db)
        let merchantID = try merchant.requireID()
        // The licence picture now belongs to the merchant it admitted.
        if let licence = try await UploadedImage.query(on: db).filter(\.$storageKey == application.licenceImage).first() {
            licence.$merchant.id = merchantID
            try await licence.save(on: db)
        }
        try await StaffUser(username: application.username, passwordHash: application.passwordHash, displayName: application.contactName,
                            role: .merchantOwner, merchantID: merchantID).create(on: db)
        _ = try await LedgerService(db: db, now: now).openAccounts([try LedgerAccountKey(.merchantReceivable, .merchant(merchantID))])
        application.status = MerchantApplication.Status.approved.rawValue
        application.merchantID = merchantID
        application.reviewedBy = reviewer.id
        application.reviewedAt = now
        try await application.save(on: db)
        return merchant
    }

    func reject(_ id: UUID, reason rawReason: String, reviewer: StaffUser) async throws -> MerchantApplication {
        let reason = rawReason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.isFilled(rawReason, max: 200) else {
            throw MerchantError.invalid([.init("reason", .init("请填写驳回原因（最多 200 字）", "Give a reason of at most 200 characters"))])
        }
        let application = try await claim(id, as: .rejected)
        application.status = MerchantApplication.Status.rejected.rawValue
        application.rejectReason = reason
        application.reviewedBy = reviewer.id
        application.reviewedAt = now
        try await application.save(on: db)
        return application
    }

    func update(_ id: UUID, _ input: MerchantUpdateInput) async throws -> Merchant {
        guard let merchant = try await Merchant.find(id, on: db) else { throw APIError.notFound }
        if let rate = input.serviceRateBp {
            guard (0...5_000).contains(rate) else {
                throw MerchantError.invalid([.init("serviceRateBp", .init("平台抽佣需在 0-5000 基点（0%-50%）之间", "The service rate must be 0–5000 basis points (0–50 %)"))])
            }
            merchant.serviceRateBP = rate
        }
        if let status = input.status {
            guard let value = Merchant.Status(rawValue: status) else {
                throw MerchantError.invalid([.init("status", .init("状态只能是 active 或 suspended", "status must be active or suspended"))])
            }
            merchant.status = value.rawValue
        }
        try await merchant.save(on: db)
        return merchant
    }

    /// Moves a pending application on with one conditional update: of two reviewers acting at
    /// once, exactly one wins and the other is told it was already reviewed.
    private func claim(_ id: UUID, as status: MerchantApplication.Status) async throws -> MerchantApplication {
        let claimed = try await sqlDatabase(db).raw("""
            UPDATE \(ident: MerchantApplication.schema) SET status = \(bind: status.rawValue)
            WHERE id = \(bind: id) AND status = \(bind: MerchantApplication.Status.pending.rawValue) RETURNING id
            """).all()
        guard let application = try await MerchantApplication.find(id, on: db) else { throw APIError.notFound }
        guard !claimed.isEmpty else { throw MerchantError.alreadyReviewed }
        return application
    }
}
