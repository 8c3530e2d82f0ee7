import Foundation

/// One of the commission levels: 1 is the buyer's distributor (or the buyer), 2 and 3 its uplines.
///
/// There is no fourth level and no way to make one: more than three is multi-level marketing,
/// which the law forbids (合规), so the refusal is in the type rather than in a setting.
public struct CommissionLevel: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int

    public static let maximum = 3

    public init(_ number: Int) throws(CommissionConfigError) {
        guard number >= 1 else { throw .invalidLevel(number) }
        guard number <= Self.maximum else { throw .tooManyLevels(number) }
        self.number = number
    }

    private init(unchecked number: Int) { self.number = number }

    public static let one = CommissionLevel(unchecked: 1)
    public static let two = CommissionLevel(unchecked: 2)
    public static let three = CommissionLevel(unchecked: 3)
    public static let all: [CommissionLevel] = [.one, .two, .three]

    public static func < (lhs: CommissionLevel, rhs: CommissionLevel) -> Bool { lhs.number < rhs.number }
    public var description: String { "L\(number)" }
}

/// What one level earns on one order line: a share of the base, a fixed amount per unit, a fixed
/// amount per order, or any sum of them ("rate plus fixed amount").
///
/// The per-order amount is paid once per order for each rule that grants it, split over the lines
/// that rule governs by their bases, so that every commission still belongs to one line.
public struct CommissionFormula: Hashable, Codable, Sendable {
    public var rate: BasisPoints
    public var perUnit: Money
    public var perOrder: Money

    public init(rate: BasisPoints = BasisPoints(0), perUnit: Money = .zero, perOrder: Money = .zero) {
        self.rate = rate
        self.perUnit = perUnit
        self.perOrder = perOrder
    }

    public static func rate(_ basisPoints: Int) -> CommissionFormula { .init(rate: BasisPoints(basisPoints)) }
    public static func perUnit(_ amount: Money) -> CommissionFormula { .init(perUnit: amount) }
    public static func perOrder(_ amount: Money) -> CommissionFormula { .init(perOrder: amount) }

    public static let none = CommissionFormula()

    /// How the console names the rule: rate, fixed per unit, fixed per order, or combined.
    public var kind: CommissionFormulaKind {
        let parts = (rate.value != 0 ? 1 : 0) + (perUnit.fen != 0 ? 1 : 0) + (perOrder.fen != 0 ? 1 : 0)
        if parts == 0 { return .none }
        if parts > 1 { return .combined }
        if rate.value != 0 { return .rate }
        return perUnit.fen != 0 ? .perUnit : .perOrder
    }

    var hasFixedAmount: Bool { perUnit.fen != 0 || perOrder.fen != 0 }
}

public enum CommissionFormulaKind: String, Codable, Sendable {
    case none, rate, perUnit = "per_unit", perOrder = "per_order", combined
}

/// 阶梯: a formula that replaces the level's base formula once the beneficiary's own sales in the
/// period reach `minimumPeriodSales`.
public struct CommissionTier: Hashable, Codable, Sendable {
    public var minimumPeriodSales: Money
    public var formula: CommissionFormula

    public init(minimumPeriodSales: Money, formula: CommissionFormula) {
        self.minimumPeriodSales = minimumPeriodSales
        self.formula = formula
    }
}

/// The formula for one level of one rule, with optional tiers.
///
/// Tiers are whole-amount brackets, not marginal ones: the highest tier whose threshold the
/// beneficiary's period sales reach applies to the whole line; below the first tier the base
/// formula applies. Thresholds strictly ascend, so the choice is never ambiguous.
public struct CommissionLevelRule: Hashable, Codable, Sendable {
    public var formula: CommissionFormula
    public var tiers: [CommissionTier]

    public init(_ formula: CommissionFormula, tiers: [CommissionTier] = []) {
        self.formula = formula
        self.tiers = tiers
    }

    /// The formula for a beneficiary with these period sales, and which tier it is: 0 for the
    /// base formula, n for `tiers[n - 1]`.
    public func formula(forPeriodSales sales: Money) -> (formula: CommissionFormula, tier: Int) {
        var chosen = formula
        var tier = 0
        for (index, candidate) in tiers.enumerated() where sales >= candidate.minimumPeriodSales {
            chosen = candidate.formula
            tier = index + 1
        }
        return (chosen, tier)
    }

    /// Every formula the rule can give, for bounds and cap checks.
    var allFormulas: [CommissionFormula] { [formula] + tiers.map(\.formula) }

    var maximumRate: BasisPoints { allFormulas.map(\.rate).max() ?? formula.rate }

    func validate(level: CommissionLevel) throws(CommissionConfigError) {
        for formula in allFormulas {
            guard formula.rate.isValidShare else { throw .rateOutOfRange(level: level.number, rate: formula.rate) }
            guard formula.perUnit.fen >= 0, formula.perOrder.fen >= 0 else { throw .negativeAmount(level: level.number) }
        }
        var previous = Money.zero
        for tier in tiers {
            guard tier.minimumPeriodSales > previous else { throw .tiersNotAscending(level: level.number) }
            previous = tier.minimumPeriodSales
        }
    }
}

/// Where a rule applies, in order of precedence: SKU over product over category over the
/// beneficiary's grade over the global default.
public enum CommissionRuleScope: Hashable, Codable, Sendable {
    case sku(UUID)
    case product(UUID)
    case category(UUID)
    case grade(UUID)
    case global

    public var source: CommissionRuleSource {
        switch self {
        case .sku: .sku
        case .product: .product
        case .category: .category
        case .grade: .grade
        case .global: .global
        }
    }

    public var id: UUID? {
        switch self {
        case .sku(let id), .product(let id), .category(let id), .grade(let id): id
        case .global: nil
        }
    }
}

/// The kind of rule a commission came from, most specific first; `<` means "takes precedence".
public enum CommissionRuleSource: String, Codable, Sendable, CaseIterable, Comparable {
    case sku, product, category, grade, global

    private var rank: Int {
        switch self {
        case .sku: 0
        case .product: 1
        case .category: 2
        case .grade: 3
        case .global: 4
        }
    }

    public static func < (lhs: CommissionRuleSource, rhs: CommissionRuleSource) -> Bool { lhs.rank < rhs.rank }

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .sku: DistributionText.pick(locale, "SKU 规则", "SKU rule")
        case .product: DistributionText.pick(locale, "商品规则", "product rule")
        case .category: DistributionText.pick(locale, "类目规则", "category rule")
        case .grade: DistributionText.pick(locale, "等级规则", "grade rule")
        case .global: DistributionText.pick(locale, "全局默认", "global default")
        }
    }
}

/// A commission rule for one scope. A level left nil falls through to the next rule down the
/// precedence, so a SKU rule may raise level 1 and leave levels 2 and 3 to the category.
public struct CommissionRule: Hashable, Codable, Sendable {
    public let scope: CommissionRuleScope
    public let level1: CommissionLevelRule?
    public let level2: CommissionLevelRule?
    public let level3: CommissionLevelRule?

    public init(scope: CommissionRuleScope, level1: CommissionLevelRule? = nil, level2: CommissionLevelRule? = nil,
                level3: CommissionLevelRule? = nil) {
        self.scope = scope
        self.level1 = level1
        self.level2 = level2
        self.level3 = level3
    }

    /// From levels keyed by number, as an editor submits them; a key of 4 or more is refused (合规).
    public init(scope: CommissionRuleScope, levels: [Int: CommissionLevelRule]) throws(CommissionConfigError) {
        for number in levels.keys.sorted() { _ = try CommissionLevel(number) }
        self.init(scope: scope, level1: levels[1], level2: levels[2], level3: levels[3])
    }

    public subscript(level: CommissionLevel) -> CommissionLevelRule? {
        switch level.number {
        case 1: level1
        case 2: level2
        default: level3
        }
    }

    func levelRule(_ number: Int) -> CommissionLevelRule? {
        switch number {
        case 1: level1
        case 2: level2
        case 3: level3
        default: nil
        }
    }

    /// Checks formulas and tiers; a rule that sets no level is refused as a likely mistake.
    public func validate() throws(CommissionConfigError) {
        var setAny = false
        for level in CommissionLevel.all {
            guard let rule = self[level] else { continue }
            setAny = true
            try rule.validate(level: level)
        }
        guard setAny else { throw .noLevelSet }
    }
}

/// What a line's commission is computed on.
public enum CommissionBaseMode: String, Codable, Sendable {
    /// What the buyer actually paid for the line: after allocated discounts and points, without shipping.
    case paidAmount = "paid_amount"
    /// The list price times the quantity, whatever discounts applied.
    case listPrice = "list_price"
}

/// The operator's switches for the whole commission calculation.
public struct CommissionSettings: Hashable, Codable, Sendable {
    /// How many levels pay, 1 to 3.
    public var levelCount: Int
    /// 自购返佣: a distributor buying for themselves is their own level 1.
    public var selfPurchaseCommission: Bool
    public var base: CommissionBaseMode
    /// The most all levels together may take from one line, as a share of its base (合规).
    public var capRate: BasisPoints

    public static let defaultCapRate = BasisPoints(5_000)

    public init(levelCount: Int = 3, selfPurchaseCommission: Bool = false, base: CommissionBaseMode = .paidAmount,
                capRate: BasisPoints = CommissionSettings.defaultCapRate) {
        self.levelCount = levelCount
        self.selfPurchaseCommission = selfPurchaseCommission
        self.base = base
        self.capRate = capRate
    }

    public func validate() throws(CommissionConfigError) {
        _ = try CommissionLevel(levelCount)
        guard capRate.isValidShare else { throw .capOutOfRange(capRate) }
    }

    func pays(_ level: CommissionLevel) -> Bool { level.number <= levelCount }
}

/// The platform's limits on the rules a merchant sets for its own SKUs and products.
public struct CommissionMerchantBounds: Hashable, Codable, Sendable {
    /// The highest rate any one level may have.
    public var maxLevelRate: BasisPoints
    /// The highest sum of rates over the paying levels.
    public var maxTotalRate: BasisPoints
    public var maxPerUnit: Money
    public var maxPerOrder: Money

    public init(maxLevelRate: BasisPoints, maxTotalRate: BasisPoints, maxPerUnit: Money, maxPerOrder: Money) {
        self.maxLevelRate = maxLevelRate
        self.maxTotalRate = maxTotalRate
        self.maxPerUnit = maxPerUnit
        self.maxPerOrder = maxPerOrder
    }

    /// Checks a merchant's rule: only SKU and product scopes, every formula and tier within bounds.
    /// Whether the SKU or product belongs to the merchant is the caller's check.
    public func validate(_ rule: CommissionRule, settings: CommissionSettings) throws(CommissionConfigError) {
        switch rule.scope.source {
        case .sku, .product: break
        default: throw .scopeNotAllowedForMerchant(rule.scope.source)
        }
        try rule.validate()
        var total = 0
        for level in CommissionLevel.all where settings.pays(level) {
            guard let levelRule = rule[level] else { continue }
            for formula in levelRule.allFormulas {
                guard formula.rate <= maxLevelRate else {
                    throw .aboveMerchantBound(level: level.number, limit: .levelRate(maxLevelRate))
                }
                guard formula.perUnit <= maxPerUnit else {
                    throw .aboveMerchantBound(level: level.number, limit: .perUnit(maxPerUnit))
                }
                guard formula.perOrder <= maxPerOrder else {
                    throw .aboveMerchantBound(level: level.number, limit: .perOrder(maxPerOrder))
                }
            }
            total += levelRule.maximumRate.value
        }
        guard total <= maxTotalRate.value else { throw .aboveMerchantBound(level: nil, limit: .totalRate(maxTotalRate)) }
    }
}

/// Which platform bound a merchant's rule went past.
public enum CommissionMerchantLimit: Hashable, Sendable {
    case levelRate(BasisPoints)
    case totalRate(BasisPoints)
    case perUnit(Money)
    case perOrder(Money)
}

/// Why a commission configuration was refused.
public enum CommissionConfigError: DistributionFailure, Equatable, Sendable {
    /// A level number above three (合规).
    case tooManyLevels(Int)
    case invalidLevel(Int)
    case rateOutOfRange(level: Int, rate: BasisPoints)
    case negativeAmount(level: Int)
    case tiersNotAscending(level: Int)
    case noLevelSet
    case capOutOfRange(BasisPoints)
    /// Some line could take more than the cap by the rates alone (合规).
    case ratesExceedCap(scope: CommissionRuleScope, total: BasisPoints, cap: BasisPoints)
    case duplicateScope(CommissionRuleScope)
    case tooManyRules
    case categoryCycle(UUID)
    case scopeNotAllowedForMerchant(CommissionRuleSource)
    case aboveMerchantBound(level: Int?, limit: CommissionMerchantLimit)

    public var code: String {
        switch self {
        case .tooManyLevels: "commission_too_many_levels"
        case .invalidLevel: "commission_invalid_level"
        case .rateOutOfRange: "commission_rate_out_of_range"
        case .negativeAmount: "commission_negative_amount"
        case .tiersNotAscending: "commission_tiers_not_ascending"
        case .noLevelSet: "commission_no_level_set"
        case .capOutOfRange: "commission_cap_out_of_range"
        case .ratesExceedCap: "commission_rates_exceed_cap"
        case .duplicateScope: "commission_duplicate_scope"
        case .tooManyRules: "commission_too_many_rules"
        case .categoryCycle: "commission_category_cycle"
        case .scopeNotAllowedForMerchant: "commission_scope_not_allowed_for_merchant"
        case .aboveMerchantBound: "commission_above_merchant_bound"
        }
    }

    public var isCompliance: Bool {
        switch self {
        case .tooManyLevels, .ratesExceedCap: true
        default: false
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .tooManyLevels(let n):
            DistributionText.compliance(locale, "分销最多三级，不能设置第 \(n) 级。",
                                        "distribution has at most three levels; level \(n) cannot be set.")
        case .invalidLevel(let n):
            DistributionText.pick(locale, "分销层级须为 1 到 3，收到 \(n)。", "A level must be 1 to 3, not \(n).")
        case .rateOutOfRange(let level, let rate):
            DistributionText.pick(locale, "第 \(level) 级比例 \(DistributionText.percent(rate)) 须在 0% 到 100% 之间。",
                                  "The level \(level) rate \(DistributionText.percent(rate)) must be between 0% and 100%.")
        case .negativeAmount(let level):
            DistributionText.pick(locale, "第 \(level) 级固定佣金不能为负数。", "The level \(level) fixed amount cannot be negative.")
        case .tiersNotAscending(let level):
            DistributionText.pick(locale, "第 \(level) 级阶梯的销售额门槛须大于零且逐级递增。",
                                  "The level \(level) tier thresholds must be above zero and strictly ascending.")
        case .noLevelSet:
            DistributionText.pick(locale, "规则至少要设置一个层级。", "A rule must set at least one level.")
        case .capOutOfRange(let cap):
            DistributionText.pick(locale, "佣金总上限 \(DistributionText.percent(cap)) 须在 0% 到 100% 之间。",
                                  "The commission cap \(DistributionText.percent(cap)) must be between 0% and 100%.")
        case .ratesExceedCap(let scope, let total, let cap):
            DistributionText.compliance(
                locale,
                "\(scope.source.name(locale))各级比例合计可达 \(DistributionText.percent(total))，超过佣金总上限 \(DistributionText.percent(cap))。",
                "the \(scope.source.name(locale)) rates can add up to \(DistributionText.percent(total)), above the commission cap of \(DistributionText.percent(cap)).")
        case .duplicateScope(let scope):
            DistributionText.pick(locale, "同一\(scope.source.name(locale))只能有一条。", "There is already a \(scope.source.name(locale)) for this scope.")
        case .tooManyRules:
            DistributionText.pick(locale, "佣金规则太多。", "There are too many commission rules.")
        case .categoryCycle:
            DistributionText.pick(locale, "类目的上级关系形成了循环。", "The category parents form a cycle.")
        case .scopeNotAllowedForMerchant:
            DistributionText.pick(locale, "商家只能为自己的商品或 SKU 设置佣金规则。", "A merchant may set rules only for its own products and SKUs.")
        case .aboveMerchantBound(let level, let limit):
            Self.boundMessage(locale, level: level, limit: limit)
        }
    }

    private static func boundMessage(_ locale: MallLocale, level: Int?, limit: CommissionMerchantLimit) -> String {
        let zhLevel = level.map { "第 \($0) 级" } ?? ""
        let enLevel = level.map { "Level \($0): " } ?? ""
        switch limit {
        case .levelRate(let max):
            return DistributionText.pick(locale, "\(zhLevel)比例超过平台上限 \(DistributionText.percent(max))。",
                                         "\(enLevel)the rate is above the platform's limit of \(DistributionText.percent(max)).")
        case .totalRate(let max):
            return DistributionText.pick(locale, "各级比例合计超过平台上限 \(DistributionText.percent(max))。",
                                         "The rates together are above the platform's limit of \(DistributionText.percent(max)).")
        case .perUnit(let max):
            return DistributionText.pick(locale, "\(zhLevel)每件固定佣金超过平台上限 \(max.formatted(.zhHans))。",
                                         "\(enLevel)the fixed amount per unit is above the platform's limit of \(max.formatted(.en)).")
        case .perOrder(let max):
            return DistributionText.pick(locale, "\(zhLevel)每单固定佣金超过平台上限 \(max.formatted(.zhHans))。",
                                         "\(enLevel)the fixed amount per order is above the platform's limit of \(max.formatted(.en)).")
        }
    }
}
