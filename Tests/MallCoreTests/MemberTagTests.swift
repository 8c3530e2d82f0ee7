import Foundation
import Testing
@testable import MallCore

/// Tag rules (conditions ANDed, each within bounds) and birthdays (Feb 29, nothing after today).
@Suite struct MemberTagTests {
    static let category = UUID(uuidString: "00000000-0000-4000-8000-0000000000C1")!
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    struct RuleCase: Sendable, CustomTestStringConvertible {
        let minSpent: Int64?
        let category: Bool
        let inactiveDays: Int?
        let error: MemberTagError?
        var testDescription: String { "spent \(minSpent.map(String.init) ?? "-") category \(category) days \(inactiveDays.map(String.init) ?? "-")" }
    }

    @Test(arguments: [
        RuleCase(minSpent: nil, category: false, inactiveDays: nil, error: .noCondition),
        RuleCase(minSpent: 1, category: false, inactiveDays: nil, error: nil),
        RuleCase(minSpent: 0, category: false, inactiveDays: nil, error: .spentOutOfRange),
        RuleCase(minSpent: -1, category: false, inactiveDays: nil, error: .spentOutOfRange),
        RuleCase(minSpent: Int64.min, category: false, inactiveDays: nil, error: .spentOutOfRange),
        RuleCase(minSpent: 10_000_000_000, category: false, inactiveDays: nil, error: nil),
        RuleCase(minSpent: 10_000_000_001, category: false, inactiveDays: nil, error: .spentOutOfRange),
        RuleCase(minSpent: Int64.max, category: true, inactiveDays: 30, error: .spentOutOfRange),
        RuleCase(minSpent: nil, category: true, inactiveDays: nil, error: nil),
        RuleCase(minSpent: nil, category: false, inactiveDays: 1, error: nil),
        RuleCase(minSpent: nil, category: false, inactiveDays: 3_650, error: nil),
        RuleCase(minSpent: nil, category: false, inactiveDays: 3_651, error: .inactiveDaysOutOfRange),
        RuleCase(minSpent: nil, category: false, inactiveDays: 0, error: .inactiveDaysOutOfRange),
        RuleCase(minSpent: nil, category: false, inactiveDays: Int.min, error: .inactiveDaysOutOfRange),
        RuleCase(minSpent: 50_000, category: true, inactiveDays: 90, error: nil),
    ])
    func ruleBounds(_ c: RuleCase) {
        let result = Result { () throws(MemberTagError) in
            try MemberTagRule(minSpent: c.minSpent.map { Money(fen: $0) }, categoryID: c.category ? Self.category : nil, inactiveDays: c.inactiveDays)
        }
        switch result {
        case .success(let rule):
            #expect(c.error == nil)
            #expect(rule.minSpent?.fen == c.minSpent)
            #expect(rule.inactiveDays == c.inactiveDays)
        case .failure(let error):
            #expect(error == c.error)
        }
    }

    struct MatchCase: Sendable, CustomTestStringConvertible {
        let name: String
        let spent: Int64
        let bought: Bool
        /// Days before now of the last order or sign-in; nil for never.
        let lastActiveDaysAgo: Int?
        let joinedDaysAgo: Int
        let matches: Bool
        var testDescription: String { name }
    }

    /// ¥500 spent, bought in the category, inactive 30 days: all three must hold.
    @Test(arguments: [
        MatchCase(name: "all three", spent: 50_000, bought: true, lastActiveDaysAgo: 31, joinedDaysAgo: 400, matches: true),
        MatchCase(name: "exactly the threshold", spent: 50_000, bought: true, lastActiveDaysAgo: nil, joinedDaysAgo: 400, matches: true),
        MatchCase(name: "one fen short", spent: 49_999, bought: true, lastActiveDaysAgo: 31, joinedDaysAgo: 400, matches: false),
        MatchCase(name: "not in the category", spent: 90_000, bought: false, lastActiveDaysAgo: 31, joinedDaysAgo: 400, matches: false),
        MatchCase(name: "active 29 days ago", spent: 90_000, bought: true, lastActiveDaysAgo: 29, joinedDaysAgo: 400, matches: false),
        MatchCase(name: "active exactly 30 days ago", spent: 90_000, bought: true, lastActiveDaysAgo: 30, joinedDaysAgo: 400, matches: true),
        MatchCase(name: "joined 10 days ago", spent: 90_000, bought: true, lastActiveDaysAgo: nil, joinedDaysAgo: 10, matches: false),
    ])
    func allConditionsMustHold(_ c: MatchCase) throws {
        let rule = try MemberTagRule(minSpent: Money(fen: 50_000), categoryID: Self.category, inactiveDays: 30)
        let day: TimeInterval = 86_400
        #expect(rule.matches(spent: Money(fen: c.spent), boughtInCategory: c.bought,
                             lastActive: c.lastActiveDaysAgo.map { Self.now.addingTimeInterval(-Double($0) * day) },
                             memberSince: Self.now.addingTimeInterval(-Double(c.joinedDaysAgo) * day), now: Self.now) == c.matches)
    }

    @Test func aSingleConditionIgnoresTheOthers() throws {
        let rule = try MemberTagRule(minSpent: Money(fen: 100), categoryID: nil, inactiveDays: nil)
        #expect(rule.matches(spent: Money(fen: 100), boughtInCategory: false, lastActive: Self.now, memberSince: Self.now, now: Self.now))
        #expect(rule.activeSince(now: Self.now) == nil)
    }

    struct BirthdayCase: Sendable, CustomTestStringConvertible {
        let month: Int
        let day: Int
        let year: Int?
        let error: MemberTagError?
        var testDescription: String { "\(year.map(String.init) ?? "----")-\(month)-\(day)" }
    }

    /// Set on 2026-11-18 (China).
    @Test(arguments: [
        BirthdayCase(month: 2, day: 29, year: nil, error: nil),
        BirthdayCase(month: 2, day: 29, year: 2000, error: nil),
        BirthdayCase(month: 2, day: 29, year: 1900, error: .birthdayDay),
        BirthdayCase(month: 2, day: 29, year: 2001, error: .birthdayDay),
        BirthdayCase(month: 2, day: 30, year: nil, error: .birthdayDay),
        BirthdayCase(month: 4, day: 31, year: nil, error: .birthdayDay),
        BirthdayCase(month: 12, day: 31, year: 1990, error: nil),
        BirthdayCase(month: 1, day: 1, year: 1900, error: nil),
        BirthdayCase(month: 1, day: 1, year: 1899, error: .birthdayYear),
        BirthdayCase(month: 0, day: 1, year: nil, error: .birthdayMonth),
        BirthdayCase(month: 13, day: 1, year: nil, error: .birthdayMonth),
        BirthdayCase(month: Int.min, day: Int.max, year: Int.min, error: .birthdayMonth),
        BirthdayCase(month: 6, day: 0, year: nil, error: .birthdayDay),
        BirthdayCase(month: 6, day: Int.max, year: nil, error: .birthdayDay),
        BirthdayCase(month: 11, day: 18, year: 2026, error: nil),
        BirthdayCase(month: 11, day: 19, year: 2026, error: .birthdayInFuture),
        BirthdayCase(month: 1, day: 1, year: 2027, error: .birthdayYear),
        BirthdayCase(month: 1, day: 1, year: Int.max, error: .birthdayYear),
    ])
    func birthdays(_ c: BirthdayCase) {
        let result = Result { () throws(MemberTagError) in try MemberBirthday(month: c.month, day: c.day, year: c.year, today: (2026, 11, 18)) }
        switch result {
        case .success: #expect(c.error == nil)
        case .failure(let error): #expect(error == c.error)
        }
    }

    @Test func theBirthdayCouponIsDueInTheMonthForLevelsWithThePerk() throws {
        let birthday = try MemberBirthday(month: 11, day: 30, year: nil, today: (2026, 11, 18))
        let silver = MemberLevel(id: "silver", name: "白银会员", minimumGrowth: 1_000, perks: [.birthdayCoupon])
        let regular = MemberLevel(id: "regular", name: "普通会员", minimumGrowth: 0)
        #expect(BirthdayPerk.isDue(birthday, level: silver, month: 11))
        #expect(!BirthdayPerk.isDue(birthday, level: silver, month: 12))
        #expect(!BirthdayPerk.isDue(birthday, level: regular, month: 11))
    }
}
