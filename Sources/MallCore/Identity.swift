import Foundation

/// A mainland China mobile number, normalised to its 11 digits.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    public let digits: String

    /// Accepts "13812345678", "138 1234 5678", "138-1234-5678" and a "+86"/"86" prefix.
    public init?(_ raw: String) {
        var s = raw.filter { !$0.isWhitespace && $0 != "-" }
        if s.hasPrefix("+86") { s.removeFirst(3) } else if s.hasPrefix("86") && s.count == 13 { s.removeFirst(2) }
        guard s.count == 11, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let chars = Array(s)
        guard chars[0] == "1", let second = chars[1].wholeNumberValue, second >= 3 else { return nil }
        digits = s
    }

    /// 138****5678: what every page and API shows.
    public var masked: String { Masking.phone(digits) }
    public var description: String { masked }
}

public enum Masking {
    public static func phone(_ digits: String) -> String {
        guard digits.count >= 7 else { return String(repeating: "*", count: digits.count) }
        return digits.prefix(3) + "****" + digits.suffix(4)
    }

    /// 1101**********1234 for an ID-card number.
    public static func idNumber(_ value: String) -> String {
        guard value.count > 8 else { return String(repeating: "*", count: value.count) }
        return value.prefix(4) + String(repeating: "*", count: value.count - 8) + value.suffix(4)
    }

    /// **** **** **** 1234 for a bank card.
    public static func bankCard(_ value: String) -> String {
        let digits = value.filter(\.isNumber)
        guard digits.count > 4 else { return String(repeating: "*", count: digits.count) }
        return "**** **** **** " + digits.suffix(4)
    }
}

public enum PasswordPolicy {
    public static let minLength = 8
    public static let maxLength = 64

    public enum Violation: Error, Equatable, Sendable {
        case tooShort
        case tooLong
        case needsLetterAndDigit
        case unsupportedCharacter
    }

    /// 8–64 printable ASCII characters (letters, digits, symbols, space) with a letter and a digit:
    /// what every keyboard and input method can type the same way, always within bcrypt's 72
    /// bytes, and a rule the API contract can state as a pattern.
    public static func check(_ password: String) throws(Violation) {
        let scalars = password.unicodeScalars
        guard scalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else { throw .unsupportedCharacter }
        guard scalars.count >= minLength else { throw .tooShort }
        guard scalars.count <= maxLength else { throw .tooLong }
        guard scalars.contains(where: { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }),
              scalars.contains(where: { ("0"..."9").contains($0) }) else {
            throw .needsLetterAndDigit
        }
    }
}

/// Failed logins inside a sliding window block further attempts, per account and per IP.
public struct LoginThrottlePolicy: Sendable {
    public let maxFailuresPerAccount: Int
    public let maxFailuresPerIP: Int
    public let windowSeconds: Int

    public init(maxFailuresPerAccount: Int = 5, maxFailuresPerIP: Int = 30, windowSeconds: Int = 15 * 60) {
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.maxFailuresPerIP = maxFailuresPerIP
        self.windowSeconds = windowSeconds
    }

    public func isBlocked(accountFailures: Int, ipFailures: Int) -> Bool {
        accountFailures >= maxFailuresPerAccount || ipFailures >= maxFailuresPerIP
    }
}

/// One-time SMS codes: short-lived, single-use, and not sent more than the limits allow.
public struct SmsCodePolicy: Sendable {
    public let length: Int
    public let lifetimeSeconds: Int
    public let resendIntervalSeconds: Int
    public let maxPerPhonePerDay: Int
    public let maxVerifyAttempts: Int

    public init(length: Int = 6, lifetimeSeconds: Int = 300, resendIntervalSeconds: Int = 60, maxPerPhonePerDay: Int = 10, maxVerifyAttempts: Int = 5) {
        self.length = length
        self.lifetimeSeconds = lifetimeSeconds
        self.resendIntervalSeconds = resendIntervalSeconds
        self.maxPerPhonePerDay = maxPerPhonePerDay
        self.maxVerifyAttempts = maxVerifyAttempts
    }

    public enum Refusal: Error, Equatable, Sendable {
        case tooSoon(retryAfterSeconds: Int)
        case dailyLimitReached
    }

    /// Whether a new code may be sent, given when the last one was sent and how many went out today.
    public func mayIssue(now: Date, lastIssuedAt: Date?, issuedToday: Int) throws(Refusal) {
        if let last = lastIssuedAt {
            // Dates far apart (or not numbers at all) must not trap: far past is long enough ago,
            // anything else counts as just now.
            let seconds = now.timeIntervalSince(last)
            let elapsed = CheckedNumber.int(seconds, rounding: .towardZero) ?? (seconds > 0 ? .max : 0)
            if elapsed < resendIntervalSeconds { throw .tooSoon(retryAfterSeconds: resendIntervalSeconds - max(elapsed, 0)) }
        }
        if issuedToday >= maxPerPhonePerDay { throw .dailyLimitReached }
    }

    /// A code made of `length` digits from the given random digits source.
    public func makeCode(randomDigit: () -> Int) -> String {
        // abs of the remainder, not of the digit: abs(Int.min) traps.
        String((0..<max(length, 0)).map { _ in Character(String(abs(randomDigit() % 10))) })
    }
}

/// Versions of the documents a member accepts at registration.
public enum AgreementVersions {
    public static let userAgreement = "2026-11-01"
    public static let privacyPolicy = "2026-11-01"
}

/// How long a text is, the one way: Unicode scalars of the value as sent (what a JSON Schema
/// `maxLength` counts), so one "character" cannot carry thousands of combining marks and the
/// contract and the handler agree. Blank is judged after trimming.
public enum TextLength {
    public static func fits(_ raw: String, max: Int) -> Bool { raw.unicodeScalars.count <= max }

    /// Present (something besides spaces) and within `max`.
    public static func isFilled(_ raw: String, max: Int) -> Bool {
        fits(raw, max: max) && !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}

/// The 18-character resident ID number (GB 11643): 17 digits and a check character (0–9 or X).
public enum ResidentIDNumber {
    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checks: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    public static func isValid(_ raw: String) -> Bool {
        let chars = Array(raw.uppercased())
        guard chars.count == 18 else { return false }
        var sum = 0
        for (index, weight) in weights.enumerated() {
            guard chars[index].isASCII, let digit = chars[index].wholeNumberValue else { return false }
            sum += digit * weight
        }
        return chars[17] == checks[sum % 11]
    }
}
