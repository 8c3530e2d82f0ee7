import Foundation

/// Why a tag rule or a birthday is refused; every case is bad input (422), named by its field.
public enum MemberTagError: LocalizedRuleError, Equatable {
    case noCondition
    case spentOutOfRange
    case inactiveDaysOutOfRange
    case birthdayMonth
    case birthdayDay
    case birthdayYear
    case birthdayInFuture

    public var code: String {
        switch self {
        case .noCondition: "tag.rule_empty"
        case .spentOutOfRange: "tag.min_spent"
        case .inactiveDaysOutOfRange: "tag.inactive_days"
        case .birthdayMonth: "birthday.month"
        case .birthdayDay: "birthday.day"
        case .birthdayYear: "birthday.year"
        case .birthdayInFuture: "birthday.future"
        }
    }

    public var kind: RuleErrorKind { .invalid }

    /// The input field the refusal is about.
    public var field: String {
        switch self {
        case .noCondition: "rule"
        case .spentOutOfRange: "rule.minSpentFen"
        case .inactiveDaysOutOfRange: "rule.inactiveDays"
        case .birthdayMonth: "month"
        case .birthdayDay: "day"
        case .birthdayYear, .birthdayInFuture: "year"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .noCondition:
            locale.choose(zh: "规则至少要有一个条件：累计消费、购买类目或未活跃天数", en: "A rule needs at least one condition: amount spent, category bought or days inactive")
        case .spentOutOfRange:
            locale.choose(zh: "累计消费金额应在 ¥0.01 到 ¥1 亿之间", en: "The amount spent must be between ¥0.01 and ¥100,000,000")
        case .inactiveDaysOutOfRange:
            locale.choose(zh: "未活跃天数应在 1 到 \(MemberTagRule.maxInactiveDays) 之间", en: "Days inactive must be between 1 and \(MemberTagRule.maxInactiveDays)")
        case .birthdayMonth: locale.choose(zh: "月份应在 1 到 12 之间", en: "The month must be between 1 and 12")
        case .birthdayDay: locale.choose(zh: "这个月没有这一天", en: "That month has no such day")
        case .birthdayYear: locale.choose(zh: "出生年份应在 1900 年到今年之间", en: "The year of birth must be between 1900 and this year")
        case .birthdayInFuture: locale.choose(zh: "生日不能晚于今天", en: "A birthday cannot be after today")
        }
    }
}

/// 规则标签: the conditions a member must all meet (ANDed) to carry the tag. Each is optional, at
/// least one is set, and each is within bounds, so the app's query never sees a nonsense value.
public struct MemberTagRule: Hashable, Codable, Sendable {
    /// Spent at least this much on received or completed orders, net of refunds.
    public let minSpent: Money?
    /// Bought a product in this category (or under it) on a paid order.
    public let categoryID: UUID?
    /// Placed no order (and did not sign in) in this many days.
    public let inactiveDays: Int?

    /// ¥100 000 000: far above any real threshold, far below overflow.
    public static let maxSpentFen: Int64 = 10_000_000_000
    /// Ten years.
    public static let maxInactiveDays = 3_650

    public init(minSpent: Money?, categoryID: UUID?, inactiveDays: Int?) throws(MemberTagError) {
        guard minSpent != nil || categoryID != nil || inactiveDays != nil else { throw .noCondition }
        if let minSpent, !(1...Self.maxSpentFen).contains(minSpent.fen) { throw .spentOutOfRange }
        if let inactiveDays, !(1...Self.maxInactiveDays).contains(inactiveDays) { throw .inactiveDaysOutOfRange }
        self.minSpent = minSpent
        self.categoryID = categoryID
        self.inactiveDays = inactiveDays
    }

    /// The moment after which any order, sign-in or renewed app token makes a member active again; nil without that condition.
    public func activeSince(now: Date) -> Date? {
        inactiveDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
    }

    /// Whether a member with these facts carries the tag: the same judgement the app's query makes
    /// in one statement for all members, spelled out for one.
    public func matches(spent: Money, boughtInCategory: Bool, lastActive: Date?, memberSince: Date, now: Date) -> Bool {
        if let minSpent, spent.fen < minSpent.fen { return false }
        if categoryID != nil, !boughtInCategory { return false }
        if let since = activeSince(now: now) {
            // A member who joined within the window is new, not inactive.
            if memberSince > since { return false }
            if let lastActive, lastActive > since { return false }
        }
        return true
    }
}

/// A member's birthday: month and day, and the year when given. Feb 29 is allowed (without a year,
/// or in a leap year); with a year, the date is not after today.
public struct MemberBirthday: Hashable, Codable, Sendable {
    public let month: Int
    public let day: Int
    public let year: Int?

    /// `today` is the China day (year, month, day) the member sets it on.
    public init(month: Int, day: Int, year: Int?, today: (year: Int, month: Int, day: Int)) throws(MemberTagError) {
        guard (1...12).contains(month) else { throw .birthdayMonth }
        if let year, !(1_900...today.year).contains(year) { throw .birthdayYear }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else { throw .birthdayDay }
        if let year, (year, month, day) > (today.year, today.month, today.day) { throw .birthdayInFuture }
        self.month = month
        self.day = day
        self.year = year
    }

    /// Days of the month; February has 29 unless a year says otherwise.
    public static func daysIn(month: Int, year: Int?) -> Int {
        switch month {
        case 2:
            guard let year else { return 29 }
            return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// 生日礼: one coupon per member per year, in the birthday month, for levels with the perk.
public enum BirthdayPerk {
    public static func isDue(_ birthday: MemberBirthday, level: MemberLevel, month: Int) -> Bool {
        birthday.month == month && level.perks.contains(.birthdayCoupon)
    }
}
