import Foundation

/// What a grade condition measures. Only a distributor's own results count; the headcount
/// metrics exist so that a submitted configuration naming them can be refused with a clear
/// compliance message (no reward for recruiting, 合规).
public enum GradeMetric: String, Codable, Sendable, CaseIterable {
    /// Own sales, in fen.
    case ownSales = "own_sales"
    /// Own commission earned, in fen.
    case ownCommission = "own_commission"
    case ownOrderCount = "own_order_count"
    case teamSize = "team_size"
    case invitations = "invitations"
    case downlineCount = "downline_count"

    /// True for a count of people: never a basis for a grade.
    public var isHeadcount: Bool {
        switch self {
        case .teamSize, .invitations, .downlineCount: true
        case .ownSales, .ownCommission, .ownOrderCount: false
        }
    }

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .ownSales: DistributionText.pick(locale, "个人销售额", "own sales")
        case .ownCommission: DistributionText.pick(locale, "个人佣金", "own commission")
        case .ownOrderCount: DistributionText.pick(locale, "个人订单数", "own order count")
        case .teamSize: DistributionText.pick(locale, "团队人数", "team size")
        case .invitations: DistributionText.pick(locale, "邀请人数", "invitations")
        case .downlineCount: DistributionText.pick(locale, "下级人数", "number of downlines")
        }
    }
}

/// Over which span a figure is counted.
public enum GradeWindow: String, Codable, Sendable {
    /// Since the distributor joined.
    case cumulative
    /// In the current assessment period (the month, the quarter …), as the caller counts it.
    case period
}

/// "Own sales of at least ¥5,000 this period": a metric, a window and a threshold (fen for money).
public struct GradeCondition: Hashable, Codable, Sendable {
    public var metric: GradeMetric
    public var window: GradeWindow
    public var threshold: Int64

    public init(_ metric: GradeMetric, atLeast threshold: Int64, window: GradeWindow = .cumulative) {
        self.metric = metric
        self.window = window
        self.threshold = threshold
    }

    func isMet(by figures: GradeFigures) -> Bool {
        let numbers = window == .cumulative ? figures.cumulative : figures.period
        switch metric {
        case .ownSales: return numbers.sales.fen >= threshold
        case .ownCommission: return numbers.commission.fen >= threshold
        case .ownOrderCount: return numbers.orderCount >= threshold
        case .teamSize, .invitations, .downlineCount: return false
        }
    }
}

/// A distributor's own results, counted by the caller.
public struct GradeFigures: Hashable, Sendable {
    public struct Numbers: Hashable, Sendable {
        public var sales: Money
        public var commission: Money
        public var orderCount: Int64
        public init(sales: Money = .zero, commission: Money = .zero, orderCount: Int64 = 0) {
            self.sales = sales
            self.commission = commission
            self.orderCount = orderCount
        }
    }

    public var cumulative: Numbers
    public var period: Numbers

    public init(cumulative: Numbers = Numbers(), period: Numbers = Numbers()) {
        self.cumulative = cumulative
        self.period = period
    }
}

/// A distributor grade (普通 / 高级 / 金牌 / 体验官 …) with its honour title and the conditions
/// to reach and to keep it. Its commission rates are grade-scoped `CommissionRule`s.
public struct DistributorGrade: Hashable, Codable, Sendable, Identifiable {
    public enum Match: String, Codable, Sendable {
        case all, any
    }

    public var id: UUID
    public var name: String
    /// Shown on the distributor's card and in rankings, e.g. 金牌推广官.
    public var honourTitle: String
    /// Higher is better; the lowest rank is the grade every distributor starts with.
    public var rank: Int
    /// Conditions to be promoted to this grade; empty for the entry grade.
    public var promotion: [GradeCondition]
    public var promotionMatch: Match
    /// Conditions, all required, to stay in this grade; a distributor below them is demoted.
    public var minimum: [GradeCondition]

    public init(id: UUID, name: String, honourTitle: String = "", rank: Int, promotion: [GradeCondition] = [],
                promotionMatch: Match = .all, minimum: [GradeCondition] = []) {
        self.id = id
        self.name = name
        self.honourTitle = honourTitle
        self.rank = rank
        self.promotion = promotion
        self.promotionMatch = promotionMatch
        self.minimum = minimum
    }

    func promotionMet(by figures: GradeFigures) -> Bool {
        switch promotionMatch {
        case .all: promotion.allSatisfy { $0.isMet(by: figures) }
        case .any: promotion.contains { $0.isMet(by: figures) }
        }
    }

    func minimumMet(by figures: GradeFigures) -> Bool { minimum.allSatisfy { $0.isMet(by: figures) } }
}

/// What an assessment decides for one distributor.
public enum GradeDecision: Hashable, Sendable {
    case keep(UUID)
    case promote(from: UUID, to: UUID)
    case demote(from: UUID, to: UUID)
    /// Below the minimum of every grade it could fall to: the operator's removal policy applies.
    case remove(from: UUID)
}

/// The grades of a mall, checked once and ordered by rank.
public struct GradeLadder: Hashable, Sendable {
    /// Lowest rank first.
    public let grades: [DistributorGrade]

    public init(_ grades: [DistributorGrade]) throws(GradeError) {
        guard !grades.isEmpty else { throw .emptyLadder }
        let sorted = grades.sorted { $0.rank < $1.rank }
        var ids = Set<UUID>()
        var ranks = Set<Int>()
        var names = Set<String>()
        for (index, grade) in sorted.enumerated() {
            let name = grade.name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else { throw .emptyName }
            guard ids.insert(grade.id).inserted else { throw .duplicateGrade(grade.id) }
            guard ranks.insert(grade.rank).inserted else { throw .duplicateRank(grade.rank) }
            guard names.insert(name).inserted else { throw .duplicateName(name) }
            for condition in grade.promotion + grade.minimum {
                guard !condition.metric.isHeadcount else { throw .headcountCondition(condition.metric) }
                guard condition.threshold >= 0 else { throw .negativeThreshold(grade: name) }
            }
            if index == 0 {
                guard grade.promotion.isEmpty else { throw .entryGradeHasPromotion(name) }
            } else {
                guard !grade.promotion.isEmpty else { throw .noPromotionCondition(name) }
            }
        }
        self.grades = sorted
    }

    public var entryGrade: DistributorGrade? { grades.first }

    public func grade(_ id: UUID) -> DistributorGrade? { grades.first { $0.id == id } }

    /// Assesses a distributor on its own figures.
    ///
    /// Demotion comes first: below the current grade's minimum, the distributor falls to the highest
    /// lower grade whose minimum it meets, or is marked for removal if there is none. Otherwise it
    /// rises to the highest grade whose promotion conditions and minimum it meets, so that a
    /// distributor is never promoted into a grade it would at once be demoted from.
    public func evaluate(current id: UUID, figures: GradeFigures) throws(GradeError) -> GradeDecision {
        guard let position = grades.firstIndex(where: { $0.id == id }) else { throw .unknownGrade(id) }
        let current = grades[position]
        if !current.minimumMet(by: figures) {
            let lower = grades[..<position].last { $0.minimumMet(by: figures) }
            guard let lower else { return .remove(from: id) }
            return .demote(from: id, to: lower.id)
        }
        let higher = grades[(position + 1)...].last { $0.promotionMet(by: figures) && $0.minimumMet(by: figures) }
        if let higher { return .promote(from: id, to: higher.id) }
        return .keep(id)
    }
}

public enum GradeError: DistributionFailure, Equatable, Sendable {
    case emptyLadder
    case emptyName
    case duplicateGrade(UUID)
    case duplicateRank(Int)
    case duplicateName(String)
    /// A condition on team size, invitations or downlines (合规).
    case headcountCondition(GradeMetric)
    case negativeThreshold(grade: String)
    case entryGradeHasPromotion(String)
    case noPromotionCondition(String)
    case unknownGrade(UUID)

    public var code: String {
        switch self {
        case .emptyLadder: "grade_empty_ladder"
        case .emptyName: "grade_empty_name"
        case .duplicateGrade: "grade_duplicate"
        case .duplicateRank: "grade_duplicate_rank"
        case .duplicateName: "grade_duplicate_name"
        case .headcountCondition: "grade_headcount_condition"
        case .negativeThreshold: "grade_negative_threshold"
        case .entryGradeHasPromotion: "grade_entry_has_promotion"
        case .noPromotionCondition: "grade_no_promotion_condition"
        case .unknownGrade: "grade_unknown"
        }
    }

    public var isCompliance: Bool { if case .headcountCondition = self { true } else { false } }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .emptyLadder: DistributionText.pick(locale, "至少需要一个分销等级。", "At least one grade is needed.")
        case .emptyName: DistributionText.pick(locale, "等级名称不能为空。", "A grade needs a name.")
        case .duplicateGrade: DistributionText.pick(locale, "等级重复。", "A grade appears twice.")
        case .duplicateRank(let rank): DistributionText.pick(locale, "等级序号 \(rank) 重复。", "Two grades share rank \(rank).")
        case .duplicateName(let name): DistributionText.pick(locale, "等级名称“\(name)”重复。", "Two grades are named “\(name)”.")
        case .headcountCondition(let metric):
            DistributionText.compliance(locale, "等级条件不能按\(metric.name(locale))设置，只能按个人销售额、个人佣金或个人订单数。",
                                        "a grade cannot depend on \(metric.name(locale)); use own sales, own commission or own order count.")
        case .negativeThreshold(let grade):
            DistributionText.pick(locale, "等级“\(grade)”的条件门槛不能为负数。", "The thresholds of “\(grade)” cannot be negative.")
        case .entryGradeHasPromotion(let grade):
            DistributionText.pick(locale, "最低等级“\(grade)”是默认等级，不能设置升级条件。",
                                  "“\(grade)” is the entry grade and cannot have promotion conditions.")
        case .noPromotionCondition(let grade):
            DistributionText.pick(locale, "等级“\(grade)”需要至少一个升级条件。", "“\(grade)” needs at least one promotion condition.")
        case .unknownGrade: DistributionText.pick(locale, "未知的分销等级。", "Unknown grade.")
        }
    }
}
