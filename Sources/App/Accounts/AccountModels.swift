import Fluent
import Foundation
import MallCore

final class Merchant: Model, @unchecked Sendable {
    static let schema = "merchants"
    /// The platform's own shop (自营), created by the first migration.
    static let selfOperatedID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1))

    enum Kind: String, Codable { case selfOperated = "self_operated", onboarded }
    enum Status: String, Codable { case active, suspended }

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "kind") var kind: String
    @Field(key: "status") var status: String
    /// Platform service rate (平台抽佣) in basis points.
    @Field(key: "service_rate_bp") var serviceRateBP: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(id: UUID? = nil, name: String, kind: Kind, serviceRateBP: Int) {
        self.id = id
        self.name = name
        self.kind = kind.rawValue
        self.status = Status.active.rawValue
        self.serviceRateBP = serviceRateBP
    }
}

final class Member: Model, @unchecked Sendable {
    static let schema = "members"

    @ID(key: .id) var id: UUID?
    /// AES-GCM sealed phone number; never stored in the clear.
    @Field(key: "phone_cipher") var phoneCipher: String
    /// Keyed hash of the phone number for look-ups.
    @Field(key: "phone_hash") var phoneHash: String
    @OptionalField(key: "password_hash") var passwordHash: String?
    @Field(key: "nickname") var nickname: String
    @Field(key: "user_agreement_version") var userAgreementVersion: String
    @Field(key: "privacy_policy_version") var privacyPolicyVersion: String
    @Field(key: "agreed_at") var agreedAt: Date
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

final class StaffUser: Model, @unchecked Sendable {
    static let schema = "staff_users"

    @ID(key: .id) var id: UUID?
    @Field(key: "username") var username: String
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "display_name") var displayName: String
    @Field(key: "role") var role: String
    @OptionalParent(key: "merchant_id") var merchant: Merchant?
    /// Set for store clerks: the one store they work in.
    @OptionalParent(key: "store_id") var store: Store?
    @Field(key: "active") var active: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(username: String, passwordHash: String, displayName: String, role: StaffRole, merchantID: UUID?) {
        self.username = username
        self.passwordHash = passwordHash
        self.displayName = displayName
        self.role = role.rawValue
        self.$merchant.id = merchantID
        self.active = true
    }

    var staffRole: StaffRole? { StaffRole(rawValue: role) }
}

final class LoginAttempt: Model, @unchecked Sendable {
    static let schema = "login_attempts"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_key") var accountKey: String
    @Field(key: "ip") var ip: String
    @Field(key: "succeeded") var succeeded: Bool
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(accountKey: String, ip: String, succeeded: Bool, at date: Date) {
        self.accountKey = accountKey
        self.ip = ip
        self.succeeded = succeeded
        self.createdAt = date
    }
}

final class SmsCode: Model, @unchecked Sendable {
    static let schema = "sms_codes"

    @ID(key: .id) var id: UUID?
    @Field(key: "phone_hash") var phoneHash: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "code_hash") var codeHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "consumed_at") var consumedAt: Date?
    @Field(key: "failed_attempts") var failedAttempts: Int
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

final class RefreshToken: Model, @unchecked Sendable {
    static let schema = "refresh_tokens"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "subject_kind") var subjectKind: String
    @Field(key: "subject_id") var subjectID: UUID
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    /// Every token refreshed from one login shares its family; a reused token revokes the family.
    @OptionalField(key: "family_id") var familyID: UUID?

    init() {}
}

final class AuditLogEntry: Model, @unchecked Sendable {
    static let schema = "audit_logs"

    @ID(key: .id) var id: UUID?
    @OptionalField(key: "actor_id") var actorID: UUID?
    @Field(key: "actor_name") var actorName: String
    @Field(key: "action") var action: String
    @Field(key: "target") var target: String
    @Field(key: "detail") var detail: String
    @Field(key: "ip") var ip: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}
