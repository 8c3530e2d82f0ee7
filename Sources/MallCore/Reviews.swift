import Foundation

public enum ReviewRules {
    /// "★★★★☆" for 4; out-of-range values are clamped to 0…5.
    public static func starText(_ stars: Int) -> String {
        let filled = min(max(stars, 0), 5)
        return String(repeating: "★", count: filled) + String(repeating: "☆", count: 5 - filled)
    }

    public static let maxTextLength = 500
    public static let maxPhotos = 6
    public static let maxReplyLength = 500
    public static let maxHideReasonLength = 200

    public enum Problem: String, Sendable, Equatable {
        case starsOutOfRange = "stars"
        case textTooLong = "text"
        case tooManyPhotos = "photos"

        public var field: String { rawValue }

        public func message(_ locale: MallLocale) -> String {
            switch self {
            case .starsOutOfRange: locale.choose(zh: "评分须为 1 到 5 星", en: "Stars must be 1 to 5")
            case .textTooLong: locale.choose(zh: "评价内容最多 \(ReviewRules.maxTextLength) 字", en: "The review has at most \(ReviewRules.maxTextLength) characters")
            case .tooManyPhotos: locale.choose(zh: "最多 \(ReviewRules.maxPhotos) 张图片", en: "At most \(ReviewRules.maxPhotos) photos")
            }
        }
    }

    /// Every problem of a review as submitted; empty when it may be saved.
    public static func check(stars: Int, text: String, photoCount: Int) -> [Problem] {
        var problems: [Problem] = []
        if !(1...5).contains(stars) { problems.append(.starsOutOfRange) }
        if text.unicodeScalars.count > maxTextLength { problems.append(.textTooLong) }
        if photoCount > maxPhotos { problems.append(.tooManyPhotos) }
        return problems
    }

    /// Reviews are for goods the buyer has: after receipt, the order kept or completed.
    public static func orderAllowsReview(_ state: OrderState) -> Bool {
        state == .received || state == .completed
    }

    /// "张**" for a buyer's name on a public page: the first character, then stars.
    public static func maskedName(_ name: String) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first else { return "***" }
        return String(first) + "**"
    }
}

/// A product's rating: how many visible reviews and their average, shown to one decimal.
public struct RatingSummary: Sendable, Equatable {
    public let count: Int64
    /// The average in tenths of a star, rounded half up: 4.45 → 45.
    public let averageTenths: Int64

    /// `starsTotal` is the sum of the reviews' stars (each 1–5).
    public init(count: Int64, starsTotal: Int64) {
        guard count > 0, starsTotal >= 0 else {
            self.count = max(count, 0)
            averageTenths = 0
            return
        }
        self.count = count
        // (total × 10 + count / 2) / count, without overflow for any count a database returns.
        let (tenfold, overflow) = starsTotal.multipliedReportingOverflow(by: 10)
        if overflow {
            averageTenths = min(starsTotal / count * 10, 50)
        } else {
            let (rounded, overflowAdd) = tenfold.addingReportingOverflow(count / 2)
            averageTenths = min(overflowAdd ? tenfold / count : rounded / count, 50)
        }
    }

    /// "4.5"; "0.0" with no reviews.
    public var averageText: String { "\(averageTenths / 10).\(averageTenths % 10)" }
}
