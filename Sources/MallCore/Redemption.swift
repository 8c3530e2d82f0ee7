import Foundation

/// 核销码: the one-time codes that verify a store pickup or redeem a virtual product in a store.
/// Codes are made elsewhere (they need randomness); these rules read them and decide an attempt.
public enum RedemptionCode {
    /// Digits only, so staff can read them aloud and type them on a keypad.
    public static let lengths = 8...16

    /// The code as stored: ASCII digits, with spaces and hyphens people type for grouping removed
    /// and full-width digits folded ("１２３４ ５６７８" → "12345678").
    public static func normalized(_ text: String) throws(RedemptionError) -> String {
        guard text.count <= 64 else { throw .invalidFormat }
        let folded = SearchTerms.normalized(text).filter { $0 != " " && $0 != "-" && !$0.isNewline && $0 != "\t" }
        guard lengths.contains(folded.count), folded.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { throw .invalidFormat }
        return folded
    }
}

/// A code as issued and stored. Times are epoch seconds.
public struct IssuedRedemptionCode: Hashable, Sendable {
    public let merchantID: UUID
    /// The stores where it may be used; empty: any store of the merchant.
    public let stores: Set<UUID>
    public let validFrom: Int64?
    /// The first second at which the code no longer works.
    public let expiresAt: Int64?
    public let usedAt: Int64?

    public init(merchantID: UUID, stores: Set<UUID> = [], validFrom: Int64? = nil, expiresAt: Int64? = nil, usedAt: Int64? = nil) {
        self.merchantID = merchantID
        self.stores = stores
        self.validFrom = validFrom
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    /// Whether staff of `storeID` (a store of `storeMerchantID`) may redeem the code at `now`.
    /// A code of another merchant reads as unknown, so a store cannot probe other shops' codes.
    public func checkRedemption(storeID: UUID, storeMerchantID: UUID, now: Int64) throws(RedemptionError) {
        guard storeMerchantID == merchantID else { throw .unknownCode }
        if let usedAt { throw .alreadyUsed(at: usedAt) }
        if let validFrom, now < validFrom { throw .notYetValid(from: validFrom) }
        if let expiresAt, now >= expiresAt { throw .expired(at: expiresAt) }
        guard stores.isEmpty || stores.contains(storeID) else { throw .wrongStore }
    }
}

public enum RedemptionError: LocalizedRuleError, Equatable {
    case invalidFormat
    case unknownCode
    case alreadyUsed(at: Int64)
    case notYetValid(from: Int64)
    case expired(at: Int64)
    case wrongStore

    public var code: String {
        switch self {
        case .invalidFormat: "redemption_invalid_format"
        case .unknownCode: "redemption_unknown_code"
        case .alreadyUsed: "redemption_already_used"
        case .notYetValid: "redemption_not_yet_valid"
        case .expired: "redemption_expired"
        case .wrongStore: "redemption_wrong_store"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .invalidFormat: .invalid
        default: .conflict
        }
    }

    /// Times are left to the app, which knows the viewer's time zone; the error carries them.
    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .invalidFormat:
            locale.choose(zh: "核销码应为 \(RedemptionCode.lengths.lowerBound)–\(RedemptionCode.lengths.upperBound) 位数字",
                          en: "A redemption code has \(RedemptionCode.lengths.lowerBound) to \(RedemptionCode.lengths.upperBound) digits")
        case .unknownCode: locale.choose(zh: "核销码不存在", en: "No such code")
        case .alreadyUsed: locale.choose(zh: "核销码已使用", en: "This code has already been used")
        case .notYetValid: locale.choose(zh: "核销码尚未到使用时间", en: "This code cannot be used yet")
        case .expired: locale.choose(zh: "核销码已过期", en: "This code has expired")
        case .wrongStore: locale.choose(zh: "该核销码不能在本门店使用", en: "This code cannot be used in this store")
        }
    }
}
