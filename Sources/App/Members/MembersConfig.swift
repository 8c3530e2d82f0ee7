import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's member settings: the level ladder by growth value, the points earned per action
/// and how points pay at checkout and expire. Every part converts to MallCore's types, whose
/// checks decide what is refused.
struct MembersConfig: Content, Equatable {
    struct Level: Content, Equatable {
        var id: String
        var name: String
        var minimumGrowth: Int64
        /// The share of the price the member pays, in basis points (9 500 = 95折).
        var discountBP: Int
        var pointsPerYuan: Int64
        var perks: [String]
    }

    struct Points: Content, Equatable {
        /// `points` points pay `fen` fen at checkout.
        var points: Int64
        var fen: Int64
        /// At most this share of what the goods still cost (basis points), and at most this much per order.
        var maxShareBP: Int?
        var maxAmountFen: Int64?
        var signIn: Int64
        var review: Int64
        var reviewWithPhotos: Int64
        /// never, year_end or months.
        var expiry: String
        var expiryMonths: Int
    }

    var levels: [Level]
    var growthPerYuan: Int64
    var points: Points

    init(levels: [Level], growthPerYuan: Int64, points: Points) {
        self.levels = levels
        self.growthPerYuan = growthPerYuan
        self.points = points
    }

    /// Regular, silver (98折) and gold (95折 and free shipping); 100 points = ¥1, at most half the
    /// goods; points expire at the end of the year after earning.
    init() {
        levels = [
            Level(id: "regular", name: "普通会员", minimumGrowth: 0, discountBP: 10_000, pointsPerYuan: 1, perks: []),
            Level(id: "silver", name: "白银会员", minimumGrowth: 1_000, discountBP: 9_800, pointsPerYuan: 2, perks: ["birthday_coupon"]),
            Level(id: "gold", name: "黄金会员", minimumGrowth: 5_000, discountBP: 9_500, pointsPerYuan: 3, perks: ["birthday_coupon", "free_shipping"]),
        ]
        growthPerYuan = 1
        points = Points(points: 100, fen: 100, maxShareBP: 5_000, maxAmountFen: nil, signIn: 5, review: 10, reviewWithPhotos: 20,
                        expiry: "year_end", expiryMonths: 12)
    }

    static let recordName = "members"
    static let maxLevels = 20
    static let maxPoints: Int64 = 1_000_000_000

    func levelBook() throws -> MemberLevelBook {
        try MemberLevelBook(levels: levels.map { level in
            MemberLevel(id: level.id, name: level.name, minimumGrowth: level.minimumGrowth, discount: BasisPoints(level.discountBP),
                        pointsPerYuan: level.pointsPerYuan, perks: Set(level.perks.compactMap(MemberPerk.init(rawValue:))))
        }, growthPerYuan: growthPerYuan)
    }

    func spendRule() throws -> PointsSpendRule {
        try PointsSpendRule(points: points.points, fen: points.fen, maxShare: points.maxShareBP.map(BasisPoints.init),
                            maxAmount: points.maxAmountFen.map { Money(fen: $0) })
    }

    var expiry: PointsExpiry {
        switch points.expiry {
        case "never": .never
        case "months": .months(points.expiryMonths)
        default: .yearEnd(yearsAfter: 1)
        }
    }

    var awards: PointsAwards { PointsAwards(signIn: points.signIn, review: points.review, reviewWithPhotos: points.reviewWithPhotos) }

    /// Every field within bounds, then MallCore's own checks; the issues name the fields.
    func validate() throws {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        if levels.isEmpty || levels.count > Self.maxLevels { issue("levels", "会员等级应为 1-\(Self.maxLevels) 个", "Give 1–\(Self.maxLevels) member levels") }
        for (index, level) in levels.enumerated() {
            if level.id.isEmpty || level.id.count > 32 || !level.id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
                issue("levels[\(index)].id", "等级编号为 1-32 个字母、数字或下划线", "A level id is 1–32 letters, digits or underscores")
            }
            if level.name.trimmingCharacters(in: .whitespaces).isEmpty || level.name.count > 20 {
                issue("levels[\(index)].name", "等级名称为 1-20 个字", "A level name is 1–20 characters")
            }
            if !(0...Self.maxPoints).contains(level.minimumGrowth) { issue("levels[\(index)].minimumGrowth", "成长值超出范围", "The growth value is out of range") }
            if !(1...10_000).contains(level.discountBP) { issue("levels[\(index)].discountBP", "折扣应为 1-10000 个基点", "The discount is 1–10000 basis points") }
            if !(0...10_000).contains(level.pointsPerYuan) { issue("levels[\(index)].pointsPerYuan", "每元积分应为 0-10000", "Points per yuan are 0–10000") }
            if level.perks.count > MemberPerk.allCases.count || level.perks.contains(where: { MemberPerk(rawValue: $0) == nil }) {
                issue("levels[\(index)].perks", "未知的会员权益", "Unknown member perk")
            }
        }
        if Set(levels.map(\.id)).count != levels.count { issue("levels", "等级编号不能重复", "Level ids must differ") }
        if !(0...1_000).contains(growthPerYuan) { issue("growthPerYuan", "每元成长值应为 0-1000", "Growth per yuan is 0–1000") }
        let p = points
        if !(1...Self.maxPoints).contains(p.points) { issue("points.points", "抵扣积分数超出范围", "The points per step are out of range") }
        if !(1...Self.maxPoints).contains(p.fen) { issue("points.fen", "抵扣金额超出范围", "The amount per step is out of range") }
        if let share = p.maxShareBP, !(1...10_000).contains(share) { issue("points.maxShareBP", "抵扣上限比例应为 1-10000 个基点", "The share cap is 1–10000 basis points") }
        if let amount = p.maxAmountFen, !(0...Self.maxPoints).contains(amount) { issue("points.maxAmountFen", "抵扣上限金额超出范围", "The amount cap is out of range") }
        for (field, value) in [("points.signIn", p.signIn), ("points.review", p.review), ("points.reviewWithPhotos", p.reviewWithPhotos)]
        where !(0...1_000_000).contains(value) {
            issue(field, "奖励积分应为 0-1000000", "Awarded points are 0–1000000")
        }
        if !["never", "year_end", "months"].contains(p.expiry) { issue("points.expiry", "有效期应为 never、year_end 或 months", "Expiry is never, year_end or months") }
        if !(1...120).contains(p.expiryMonths) { issue("points.expiryMonths", "有效月数应为 1-120", "Months of validity are 1–120") }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        _ = try levelBook()
        _ = try spendRule()
    }
}

extension MembersConfig: StoredSettings {}
