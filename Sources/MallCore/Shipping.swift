import Foundation

/// What a shipping-fee template counts: pieces, or grams of weight.
public enum ShippingBasis: String, CaseIterable, Codable, Sendable {
    case count
    case weight
}

/// 首件/首重 and 续件/续重: the first `firstUnits` (pieces or grams) cost `firstFee`; each further
/// `stepUnits` or part of it costs `stepFee`.
public struct ShippingRule: Hashable, Codable, Sendable {
    public let firstUnits: Int64
    public let firstFee: Money
    public let stepUnits: Int64
    public let stepFee: Money

    public init(firstUnits: Int64, firstFee: Money, stepUnits: Int64, stepFee: Money) {
        self.firstUnits = firstUnits
        self.firstFee = firstFee
        self.stepUnits = stepUnits
        self.stepFee = stepFee
    }

    /// The fee for `units`. Any parcel pays the first fee, even one of 0 g. A rule built outside a
    /// template is checked here too, so a zero step cannot divide by zero.
    public func fee(forUnits units: Int64) throws(ShippingError) -> Money {
        try validate(province: nil)
        guard units > firstUnits else { return firstFee }
        let extra = units - firstUnits // both non-negative: cannot overflow
        let steps = extra / stepUnits + (extra % stepUnits == 0 ? 0 : 1)
        do {
            return try firstFee.adding(stepFee.multiplied(by: steps))
        } catch {
            throw .tooLarge
        }
    }

    func validate(province: String?) throws(ShippingError) {
        guard firstUnits >= 1 else { throw .invalidRule(province: province, field: .firstUnits) }
        guard firstFee.fen >= 0 else { throw .invalidRule(province: province, field: .firstFee) }
        guard stepUnits >= 1 else { throw .invalidRule(province: province, field: .stepUnits) }
        guard stepFee.fen >= 0 else { throw .invalidRule(province: province, field: .stepFee) }
    }
}

/// A merchant's 运费模板. Provinces are named by the code the caller stores for them (GB/T 2260,
/// e.g. "440000" for 广东); the template compares codes exactly.
public struct ShippingTemplate: Hashable, Codable, Sendable {
    public let basis: ShippingBasis
    /// The rule for every province without its own.
    public let defaultRule: ShippingRule
    public let provinceRules: [String: ShippingRule]
    /// Provinces the merchant does not deliver to (不配送区域).
    public let undeliverable: Set<String>
    /// 满额包邮: free when the goods of this merchant in the order come to at least this much.
    public let freeFromAmount: Money?
    /// 满件包邮: free when the order holds at least this many pieces.
    public let freeFromCount: Int64?

    public static let maxProvinceCodeLength = 16

    /// Refuses a template that could charge a negative fee, loop on a zero step, name a province
    /// both as delivered and as not delivered, or set a threshold no order can meet sensibly.
    public init(
        basis: ShippingBasis,
        defaultRule: ShippingRule,
        provinceRules: [String: ShippingRule] = [:],
        undeliverable: Set<String> = [],
        freeFromAmount: Money? = nil,
        freeFromCount: Int64? = nil
    ) throws(ShippingError) {
        try defaultRule.validate(province: nil)
        for (code, rule) in provinceRules.sorted(by: { $0.key < $1.key }) {
            guard Self.isProvinceCode(code) else { throw .invalidProvinceCode(code) }
            try rule.validate(province: code)
        }
        for code in undeliverable.sorted() {
            guard Self.isProvinceCode(code) else { throw .invalidProvinceCode(code) }
            guard provinceRules[code] == nil else { throw .provinceBothRuledAndUndeliverable(code) }
        }
        if let freeFromAmount, freeFromAmount.fen < 1 { throw .invalidFreeThreshold }
        if let freeFromCount, freeFromCount < 1 { throw .invalidFreeThreshold }
        self.basis = basis
        self.defaultRule = defaultRule
        self.provinceRules = provinceRules
        self.undeliverable = undeliverable
        self.freeFromAmount = freeFromAmount
        self.freeFromCount = freeFromCount
    }

    /// 1 to 16 ASCII letters or digits.
    public static func isProvinceCode(_ code: String) -> Bool {
        !code.isEmpty && code.utf8.count <= maxProvinceCodeLength && code.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
    }

    /// The fee for one merchant's parcel to `province`.
    ///
    /// Pass only the lines that ship: pickup and virtual products carry no shipping and do not
    /// count towards the free-shipping thresholds. No lines, no parcel: zero. A province the
    /// merchant does not deliver to is refused even when shipping would be free.
    /// - Parameter provinceName: shown in the refusal instead of the bare code when given.
    public func fee(to province: String, provinceName: String? = nil, lines: [ShippingLine]) throws(ShippingError) -> Money {
        guard !undeliverable.contains(province) else {
            throw .regionNotDelivered(province: province, name: provinceName)
        }
        guard !lines.isEmpty else { return .zero }
        var pieces: Int64 = 0
        var grams: Int64 = 0
        var amount = Money.zero
        for (index, line) in lines.enumerated() {
            guard line.quantity >= 1, line.unitWeightGrams >= 0, line.amount.fen >= 0 else { throw .invalidLine(index: index) }
            let (morePieces, o1) = pieces.addingReportingOverflow(line.quantity)
            let (lineGrams, o2) = line.quantity.multipliedReportingOverflow(by: line.unitWeightGrams)
            let (moreGrams, o3) = grams.addingReportingOverflow(lineGrams)
            let (moreAmount, o4) = amount.fen.addingReportingOverflow(line.amount.fen)
            guard !(o1 || o2 || o3 || o4) else { throw .tooLarge }
            pieces = morePieces
            grams = moreGrams
            amount = Money(fen: moreAmount)
        }
        if let freeFromAmount, amount >= freeFromAmount { return .zero }
        if let freeFromCount, pieces >= freeFromCount { return .zero }
        let rule = provinceRules[province] ?? defaultRule
        return try rule.fee(forUnits: basis == .count ? pieces : grams)
    }
}

extension ShippingTemplate {
    enum CodingKeys: String, CodingKey {
        case basis, defaultRule, provinceRules, undeliverable, freeFromAmount, freeFromCount
    }

    /// A stored template is checked again as it is read, so a hand-edited row cannot bypass the rules.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            basis: c.decode(ShippingBasis.self, forKey: .basis),
            defaultRule: c.decode(ShippingRule.self, forKey: .defaultRule),
            provinceRules: c.decodeIfPresent([String: ShippingRule].self, forKey: .provinceRules) ?? [:],
            undeliverable: c.decodeIfPresent(Set<String>.self, forKey: .undeliverable) ?? [],
            freeFromAmount: c.decodeIfPresent(Money.self, forKey: .freeFromAmount),
            freeFromCount: c.decodeIfPresent(Int64.self, forKey: .freeFromCount)
        )
    }
}

/// One shipped line of a merchant's parcel.
public struct ShippingLine: Hashable, Sendable {
    public let quantity: Int64
    public let unitWeightGrams: Int64
    /// The line's goods amount, for 满额包邮 (the caller decides before or after discounts).
    public let amount: Money

    public init(quantity: Int64, unitWeightGrams: Int64 = 0, amount: Money) {
        self.quantity = quantity
        self.unitWeightGrams = unitWeightGrams
        self.amount = amount
    }
}

public enum ShippingError: LocalizedRuleError, Equatable {
    public enum RuleField: String, Sendable {
        case firstUnits = "first_units"
        case firstFee = "first_fee"
        case stepUnits = "step_units"
        case stepFee = "step_fee"
    }

    case regionNotDelivered(province: String, name: String?)
    /// `province` is nil for the default rule.
    case invalidRule(province: String?, field: RuleField)
    case invalidProvinceCode(String)
    case provinceBothRuledAndUndeliverable(String)
    case invalidFreeThreshold
    /// A line with no pieces, a negative weight or a negative amount.
    case invalidLine(index: Int)
    /// The pieces, grams or fee leave the range of numbers the mall keeps.
    case tooLarge

    public var code: String {
        switch self {
        case .regionNotDelivered: "region_not_delivered"
        case .invalidRule: "shipping_invalid_rule"
        case .invalidProvinceCode: "shipping_invalid_province_code"
        case .provinceBothRuledAndUndeliverable: "shipping_province_conflict"
        case .invalidFreeThreshold: "shipping_invalid_free_threshold"
        case .invalidLine: "shipping_invalid_line"
        case .tooLarge: "shipping_too_large"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .regionNotDelivered: .conflict
        default: .invalid
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case let .regionNotDelivered(province, name):
            let place = name ?? province
            return locale.choose(zh: "商家不配送至\(place)", en: "The shop does not deliver to \(place)")
        case let .invalidRule(province, field):
            let which = province.map { locale.choose(zh: "地区 \($0) 的", en: "The rule for \($0): ") } ?? locale.choose(zh: "默认", en: "The default rule: ")
            let what = switch field {
            case .firstUnits: locale.choose(zh: "首件（首重）至少为 1", en: "the first units must be at least 1")
            case .firstFee: locale.choose(zh: "首费不能为负", en: "the first fee cannot be negative")
            case .stepUnits: locale.choose(zh: "续件（续重）至少为 1", en: "the additional units must be at least 1")
            case .stepFee: locale.choose(zh: "续费不能为负", en: "the additional fee cannot be negative")
            }
            return which + what
        case .invalidProvinceCode(let code):
            return locale.choose(zh: "地区编码无效：\(code)", en: "Invalid region code: \(code)")
        case .provinceBothRuledAndUndeliverable(let code):
            return locale.choose(zh: "地区 \(code) 既设置了运费又设为不配送", en: "Region \(code) has a rule and is also marked as not delivered")
        case .invalidFreeThreshold:
            return locale.choose(zh: "包邮条件必须大于 0", en: "A free-shipping threshold must be above zero")
        case .invalidLine(let index):
            return locale.choose(zh: "第 \(index + 1) 行商品的数量、重量或金额无效", en: "Line \(index + 1) has an invalid quantity, weight or amount")
        case .tooLarge:
            return locale.choose(zh: "数量、重量或运费超出范围", en: "The quantity, weight or fee is out of range")
        }
    }
}
