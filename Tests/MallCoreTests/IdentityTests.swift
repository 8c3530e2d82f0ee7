import Foundation
import Testing
@testable import MallCore

@Suite struct IdentityTests {
    @Test(arguments: ["13812345678", "138 1234 5678", "138-1234-5678", "+8613812345678", "8613812345678"])
    func normalisesMainlandMobiles(raw: String) {
        #expect(PhoneNumber(raw)?.digits == "13812345678")
    }

    @Test(arguments: ["12345", "23812345678", "11812345678", "1381234567a", "138123456789", "", "１３８１２３４５６７８"])
    func refusesWhatIsNotAMobile(raw: String) {
        #expect(PhoneNumber(raw) == nil)
    }

    @Test func masksPersonalData() {
        #expect(PhoneNumber("13812345678")?.masked == "138****5678")
        #expect(Masking.idNumber("110101199003071234") == "1101**********1234")
        #expect(Masking.bankCard("6222 0212 3456 7890") == "**** **** **** 7890")
    }

    @Test func passwordPolicy() {
        #expect(throws: PasswordPolicy.Violation.tooShort) { try PasswordPolicy.check("abc123") }
        #expect(throws: PasswordPolicy.Violation.needsLetterAndDigit) { try PasswordPolicy.check("abcdefghij") }
        #expect(throws: PasswordPolicy.Violation.needsLetterAndDigit) { try PasswordPolicy.check("1234567890") }
        #expect(throws: PasswordPolicy.Violation.tooLong) { try PasswordPolicy.check(String(repeating: "a1", count: 33)) }
        // Only printable ASCII: Chinese characters, a combining accent, a tab or a NUL are refused.
        #expect(throws: PasswordPolicy.Violation.unsupportedCharacter) { try PasswordPolicy.check(String(repeating: "密", count: 30) + "a1") }
        #expect(throws: PasswordPolicy.Violation.unsupportedCharacter) { try PasswordPolicy.check("Passwo\u{301}rd12") }
        #expect(throws: PasswordPolicy.Violation.unsupportedCharacter) { try PasswordPolicy.check("Pass\tword12") }
        #expect(throws: PasswordPolicy.Violation.unsupportedCharacter) { try PasswordPolicy.check("Pass\u{0}word12") }
        // Full-width digits are not digits here.
        #expect(throws: PasswordPolicy.Violation.unsupportedCharacter) { try PasswordPolicy.check("Password１２") }
        #expect(throws: Never.self) { try PasswordPolicy.check("Member2026") }
        #expect(throws: Never.self) { try PasswordPolicy.check("a1 !\"#$%&'()*+,-./:;<=>?@[]^_`{|}~") }
        #expect(throws: Never.self) { try PasswordPolicy.check(String(repeating: "a1", count: 32)) }
    }

    @Test func throttleBlocksAtTheFifthFailure() {
        let policy = LoginThrottlePolicy()
        #expect(!policy.isBlocked(accountFailures: 4, ipFailures: 0))
        #expect(policy.isBlocked(accountFailures: 5, ipFailures: 0))
        #expect(policy.isBlocked(accountFailures: 0, ipFailures: 30))
    }

    @Test func smsCodesAreRateLimited() throws {
        let policy = SmsCodePolicy()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(throws: SmsCodePolicy.Refusal.tooSoon(retryAfterSeconds: 45)) {
            try policy.mayIssue(now: now, lastIssuedAt: now.addingTimeInterval(-15), issuedToday: 1)
        }
        #expect(throws: SmsCodePolicy.Refusal.dailyLimitReached) {
            try policy.mayIssue(now: now, lastIssuedAt: now.addingTimeInterval(-3600), issuedToday: 10)
        }
        try policy.mayIssue(now: now, lastIssuedAt: now.addingTimeInterval(-60), issuedToday: 9)
        var digits = [3, 1, 4, 1, 5, 9].makeIterator()
        #expect(policy.makeCode { digits.next() ?? 0 } == "314159")
    }

    @Test func smsLimitsDoNotTrapOnDatesFarApart() throws {
        let policy = SmsCodePolicy()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // More seconds than Int holds: long enough ago.
        try policy.mayIssue(now: Date(timeIntervalSince1970: 1e300), lastIssuedAt: now, issuedToday: 0)
        // A last code from the far future or from a date that is not a number counts as just sent.
        #expect(throws: SmsCodePolicy.Refusal.tooSoon(retryAfterSeconds: 60)) {
            try policy.mayIssue(now: now, lastIssuedAt: Date(timeIntervalSince1970: 1e300), issuedToday: 0)
        }
        #expect(throws: SmsCodePolicy.Refusal.tooSoon(retryAfterSeconds: 60)) {
            try policy.mayIssue(now: now, lastIssuedAt: Date(timeIntervalSince1970: .nan), issuedToday: 0)
        }
    }

    @Test func codesComeOutAsDigitsWhateverTheSourceGives() {
        #expect(SmsCodePolicy().makeCode { Int.min } == "888888")
        #expect(SmsCodePolicy().makeCode { -7 } == "777777")
        #expect(SmsCodePolicy(length: -1).makeCode { 1 } == "")
    }

    @Test func rolesGrantOnlyTheirOwnSide() {
        for role in StaffRole.allCases {
            #expect(role.permissions.allSatisfy { $0.isPlatform == role.isPlatform })
        }
        #expect(StaffRole.platformFinance.can(.viewLedger))
        #expect(!StaffRole.platformSupport.can(.viewLedger))
        #expect(!StaffRole.merchantStaff.can(.manageShop))
    }
}
