import Foundation
import MallCore
import Vapor

struct RegisterRequest: Content {
    let phone: String
    let password: String
    /// The code sent to `phone` by `POST /api/v1/auth/sms-codes`: proof the number is the caller's.
    let smsCode: String
    let acceptAgreements: Bool
}

struct LoginRequest: Content {
    let phone: String
    let password: String?
    let smsCode: String?
    let acceptAgreements: Bool?
}

struct SmsCodeRequest: Content {
    let phone: String
}

struct SmsCodeResponse: Content {
    let expiresInSeconds: Int
    let resendAfterSeconds: Int
}

struct StaffLoginRequest: Content {
    let username: String
    let password: String
    /// "platform" or "merchant"
    let console: String
}

struct RefreshRequest: Content {
    let refreshToken: String
}

struct MemberDTO: Content {
    let id: UUID
    let phone: String
    let nickname: String
    let userAgreementVersion: String
    let privacyPolicyVersion: String
    let agreedAt: Date

    init(_ member: Member, phone: String) throws {
        id = try member.requireID()
        self.phone = phone
        nickname = member.nickname
        userAgreementVersion = member.userAgreementVersion
        privacyPolicyVersion = member.privacyPolicyVersion
        agreedAt = member.agreedAt
    }
}

struct StaffDTO: Content {
    let id: UUID
    let username: String
    let displayName: String
    let role: String
    let permissions: [String]
    let merchantId: UUID?
    /// The store a store clerk works in.
    let storeId: UUID?

    init(_ staff: StaffUser) throws {
        id = try staff.requireID()
        username = staff.username
        displayName = staff.displayName
        role = staff.role
        permissions = (staff.staffRole?.permissions ?? []).map(\.rawValue).sorted()
        merchantId = staff.$merchant.id
        storeId = staff.$store.id
    }
}

struct MeResponse: Content {
    let kind: String
    let member: MemberDTO?
    let staff: StaffDTO?
}

struct WalletResponse: Content {
    let balance: MoneyDTO
    let commissionPending: MoneyDTO
    let commissionFrozen: MoneyDTO
    let commissionAvailable: MoneyDTO
}
