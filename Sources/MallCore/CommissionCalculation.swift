import Foundation

/// Whether a distributor may earn. Frozen and removed distributors keep their place in the
/// network but their level goes unpaid; it is never passed up to the next distributor.
public enum DistributorStatus: String, Codable, Sendable, CaseIterable {
    case active, frozen, removed
}

/// What the calculation needs to know about one distributor, read by the caller at payment time.
public struct DistributorSnapshot: Hashable, Codable, Sendable {
    public var id: UUID
    public var status: DistributorStatus
    /// The grade whose rules apply when this distributor is the beneficiary; nil for none.
    public var gradeID: UUID?
    /// The distributor's own sales in the current period, which picks the tier (阶梯).
    public var periodSales: Money

    public init(id: UUID, status: DistributorStatus = .active, gradeID: UUID? = nil, periodSales: Money = .zero) {
        self.id = id
        self.status = status
        self.gradeID = gradeID
        self.periodSales = periodSales
    }
}

/// Who could earn on an order.
public struct CommissionParticipants: Hashable, Sendable {
    public var buyerID: UUID
    /// The buyer's own distributor record when the buyer is a distributor.
    public var buyerAsDistributor: DistributorSnapshot?
    /// The chain above the buyer, nearest first: for a plain member their bound distributor and
    /// its uplines, for a distributor their parent and its uplines. Only the first three are read.
    public var upline: [DistributorSnapshot]

    public init(buyerID: UUID, buyerAsDistributor: DistributorSnapshot? = nil, upline: [DistributorSnapshot] = []) {
        self.buyerID = buyerID
        self.buyerAsDistributor = buyerAsDistributor
        self.upline = upline
    }
}

/// One order line as the calculation sees it.
public struct CommissionLineInput: Hashable, Sendable {
    public var lineID: UUID
    public var skuID: UUID
    public var productID: UUID
    public var categoryID: UUID?
    public var quantity: Int64
    public var unitListPrice: Money
    /// What the buyer paid for the line after allocated discounts and points, without shipping.
    public var paidAmount: Money
    /// True for a marketing order (flash sale, group buy …) whose activity does not pay commission.
    public var marketingExcluded: Bool

    public init(lineID: UUID, skuID: UUID, productID: UUID, categoryID: UUID? = nil, quantity: Int64,
                unitListPrice: Money, paidAmount: Money, marketingExcluded: Bool = false) {
        self.lineID = lineID
        self.skuID = skuID
        self.productID = productID
        self.categoryID = categoryID
        self.quantity = quantity
        self.unitListPrice = unitListPrice
        self.paidAmount = paidAmount
        self.marketingExcluded = marketingExcluded
    }
}

/// Why a level pays nothing, or why it pays less than its rule gives.
public enum CommissionUnpaidReason: String, Codable, Sendable, CaseIterable {
    /// The buyer has no bound distributor, so no level pays.
    case noBoundDistributor = "no_bound_distributor"
    /// The buyer is a distributor, self-purchase commission is off, and the buyer has no parent.
    case selfPurchaseOff = "self_purchase_off"
    /// The chain ends below this level.
    case noUpline = "no_upline"
    /// The operator pays fewer levels.
    case levelDisabled = "level_disabled"
    case beneficiaryFrozen = "beneficiary_frozen"
    case beneficiaryRemoved = "beneficiary_removed"
    /// The buyer's bound distributor is the buyer: no one earns on being bound to themselves.
    case selfBinding = "self_binding"
    /// The beneficiary already appears at a lower level or is the buyer: the network data has a cycle.
    case networkCycle = "network_cycle"
    /// A marketing order whose activity does not pay commission.
    case marketingExcluded = "marketing_excluded"
    /// No rule sets this level.
    case noRule = "no_rule"
    /// The rule gives nothing on this line (a zero rate or a zero base).
    case ruleGivesZero = "rule_gives_zero"
    /// The cap per line left nothing for this level.
    case reducedByCap = "reduced_by_cap"

    public func explanation(_ locale: MallLocale) -> String {
        switch self {
        case .noBoundDistributor: DistributionText.pick(locale, "买家没有绑定分销员", "the buyer has no bound distributor")
        case .selfPurchaseOff: DistributionText.pick(locale, "未开启自购返佣，且买家没有上级", "self-purchase commission is off and the buyer has no parent")
        case .noUpline: DistributionText.pick(locale, "没有这一级的上级", "there is no upline at this level")
        case .levelDisabled: DistributionText.pick(locale, "这一级未启用", "this level is not enabled")
        case .beneficiaryFrozen: DistributionText.pick(locale, "分销员已冻结", "the distributor is frozen")
        case .beneficiaryRemoved: DistributionText.pick(locale, "分销员已清退", "the distributor was removed")
        case .selfBinding: DistributionText.pick(locale, "买家绑定的是自己", "the buyer is bound to themselves")
        case .networkCycle: DistributionText.pick(locale, "上下级关系重复（循环）", "the network repeats a member (a cycle)")
        case .marketingExcluded: DistributionText.pick(locale, "该营销活动不计佣金", "this marketing activity pays no commission")
        case .noRule: DistributionText.pick(locale, "没有适用于这一级的规则", "no rule sets this level")
        case .ruleGivesZero: DistributionText.pick(locale, "规则在本行计得零元", "the rule gives nothing on this line")
        case .reducedByCap: DistributionText.pick(locale, "超过单行佣金上限，已扣减为零", "cut to nothing by the cap per line")
        }
    }
}

/// One level of one line: who earns, how much, from which rule, and why not when nothing.
public struct CommissionLevelResult: Hashable, Codable, Sendable {
    public let level: Int
    /// The distributor in this seat, also when it is frozen or removed and so unpaid.
    public internal(set) var beneficiaryID: UUID?
    public internal(set) var amount: Money
    /// The rule that set this level; nil when none applied.
    public internal(set) var scope: CommissionRuleScope?
    /// 0 for the rule's base formula, n for its n-th tier.
    public internal(set) var tier: Int
    /// The formula that applied, kept so a refund can be recomputed under the rules of payment time.
    public internal(set) var formula: CommissionFormula?
    /// This line's part of the rule's fixed amount per order.
    public internal(set) var perOrderShare: Money
    /// What the rule gave before the cap.
    public internal(set) var beforeCap: Money
    public internal(set) var unpaidReason: CommissionUnpaidReason?

    public var source: CommissionRuleSource? { scope?.source }
    /// How much the cap took off.
    public var capReduction: Money { Money(fen: beforeCap.fen &- amount.fen) }

    init(level: Int, beneficiaryID: UUID?, unpaidReason: CommissionUnpaidReason?) {
        self.level = level
        self.beneficiaryID = beneficiaryID
        self.amount = .zero
        self.scope = nil
        self.tier = 0
        self.formula = nil
        self.perOrderShare = .zero
        self.beforeCap = .zero
        self.unpaidReason = unpaidReason
    }
}

/// The commission of one order line, level by level: the preview, the order-time record and the
/// snapshot a refund is recomputed from.
public struct CommissionLineResult: Hashable, Codable, Sendable {
    public let lineID: UUID
    public let baseMode: CommissionBaseMode
    public let base: Money
    public let capRate: BasisPoints
    /// The most all levels together may take from this line.
    public let cap: Money
    public let quantity: Int64
    public let unitListPrice: Money
    public let paidAmount: Money
    public internal(set) var level1: CommissionLevelResult
    public internal(set) var level2: CommissionLevelResult
    public internal(set) var level3: CommissionLevelResult

    public var levels: [CommissionLevelResult] { [level1, level2, level3] }

    public var total: Money { Money(fen: level1.amount.fen &+ level2.amount.fen &+ level3.amount.fen) }

    subscript(level: Int) -> CommissionLevelResult {
        get {
            switch level {
            case 1: level1
            case 2: level2
            default: level3
            }
        }
        set {
            switch level {
            case 1: level1 = newValue
            case 2: level2 = newValue
            default: level3 = newValue
            }
        }
    }
}

/// The commission of one order.
public struct CommissionCalculation: Hashable, Codable, Sendable {
    public let lines: [CommissionLineResult]

    /// Every level of every line together; never past Int64, since each line stays within its base.
    public var total: Money {
        Money(fen: lines.reduce(Int64(0)) { $0 &+ $1.total.fen })
    }

    /// What each beneficiary earns over the order.
    public var totalsByBeneficiary: [UUID: Money] {
        var totals: [UUID: Money] = [:]
        for line in lines {
            for level in line.levels where level.amount.fen > 0 {
                if let id = level.beneficiaryID { totals[id] = Money(fen: totals[id, default: .zero].fen &+ level.amount.fen) }
            }
        }
        return totals
    }
}

public enum CommissionCalculationError: DistributionFailure, Equatable, Sendable {
    case negativeQuantity(lineID: UUID)
    case negativeAmount(lineID: UUID)
    case overflow(lineID: UUID)
    /// A stored snapshot holds values the rules could never have produced.
    case invalidSnapshot(lineID: UUID)
    /// A refund left more of the line than was bought or paid.
    case remainingAboveOriginal(lineID: UUID)
    case wrongLevelCount

    public var code: String {
        switch self {
        case .negativeQuantity: "commission_negative_quantity"
        case .negativeAmount: "commission_negative_amount"
        case .overflow: "commission_overflow"
        case .invalidSnapshot: "commission_invalid_snapshot"
        case .remainingAboveOriginal: "commission_remaining_above_original"
        case .wrongLevelCount: "commission_wrong_level_count"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .negativeQuantity: DistributionText.pick(locale, "订单行数量不能为负数。", "A line's quantity cannot be negative.")
        case .negativeAmount: DistributionText.pick(locale, "订单行金额不能为负数。", "A line's amounts cannot be negative.")
        case .overflow: DistributionText.pick(locale, "金额过大，无法计算佣金。", "The amounts are too large to calculate commission.")
        case .invalidSnapshot: DistributionText.pick(locale, "佣金快照数据无效。", "The commission snapshot is not valid.")
        case .remainingAboveOriginal:
            DistributionText.pick(locale, "退款后剩余的数量或金额不能超过原订单行。", "What remains after a refund cannot exceed the original line.")
        case .wrongLevelCount: DistributionText.pick(locale, "须给出三个层级的金额。", "Amounts must be given for the three levels.")
        }
    }
}

/// Fen arithmetic for commission: floors, never traps.
enum CommissionMath {
    /// `amount × rate`, rounded down to the fen: a level never gets more than its exact share.
    @inline(__always)
    static func floorShare(_ amount: Money, _ rate: BasisPoints) -> Money? {
        guard amount.fen >= 0, rate.isValidShare else { return nil }
        let product = UInt64(amount.fen).multipliedFullWidth(by: UInt64(rate.value))
        // The quotient is at most `amount` because the rate is at most 10 000 bp.
        let (quotient, _) = UInt64(10_000).dividingFullWidth(product)
        return Money(fen: Int64(truncatingIfNeeded: quotient))
    }

    /// `amount × part / whole` rounded down, for `0 ≤ part ≤ whole`; zero for an empty whole.
    static func floorProportion(_ amount: Money, part: Money, whole: Money) -> Money? {
        guard amount.fen >= 0, part.fen >= 0, part.fen <= whole.fen else { return nil }
        guard whole.fen > 0 else { return .zero }
        let product = UInt64(amount.fen).multipliedFullWidth(by: UInt64(part.fen))
        let (quotient, _) = UInt64(whole.fen).dividingFullWidth(product)
        return Money(fen: Int64(truncatingIfNeeded: quotient))
    }

    /// Cuts the amounts to the cap from the deepest level up: level 3 gives way first, then 2,
    /// then 1, so the distributor closest to the sale keeps the most.
    @inline(__always)
    static func cut(_ amounts: (Int64, Int64, Int64), to cap: Int64) -> (Int64, Int64, Int64) {
        let first = min(amounts.0, cap)
        let second = min(amounts.1, cap - first)
        let third = min(amounts.2, cap - first - second)
        return (first, second, third)
    }
}

extension CommissionRuleBook {
    /// Who sits at each level of an order, and why a seat is empty or unpaid.
    struct Seat {
        var distributor: DistributorSnapshot?
        var reason: CommissionUnpaidReason?
        var gradeSlots: Slots

        var pays: Bool { distributor != nil && reason == nil }
    }

    func seats(for participants: CommissionParticipants) -> (Seat, Seat, Seat) {
        var chain: (DistributorSnapshot?, DistributorSnapshot?, DistributorSnapshot?)
        let upline = participants.upline
        let selfPaid = settings.selfPurchaseCommission && participants.buyerAsDistributor != nil
        if selfPaid {
            chain = (participants.buyerAsDistributor, upline.first, upline.count > 1 ? upline[1] : nil)
        } else {
            chain = (upline.first, upline.count > 1 ? upline[1] : nil, upline.count > 2 ? upline[2] : nil)
        }
        let missingFirst: CommissionUnpaidReason = participants.buyerAsDistributor != nil ? .selfPurchaseOff : .noBoundDistributor
        func seat(_ distributor: DistributorSnapshot?, level: Int, below: (UUID?, UUID?)) -> Seat {
            var reason: CommissionUnpaidReason?
            if level > settings.levelCount {
                reason = .levelDisabled
            } else if let distributor {
                let isBuyer = distributor.id == participants.buyerID
                if isBuyer && !(selfPaid && level == 1) {
                    reason = level == 1 ? .selfBinding : .networkCycle
                } else if distributor.id == below.0 || distributor.id == below.1 {
                    reason = .networkCycle
                } else if distributor.status == .frozen {
                    reason = .beneficiaryFrozen
                } else if distributor.status == .removed {
                    reason = .beneficiaryRemoved
                }
            } else {
                reason = level == 1 || chain.0 == nil ? missingFirst : .noUpline
            }
            let grade = reason == nil ? gradeSlots(distributor?.gradeID) : global
            return Seat(distributor: distributor, reason: reason, gradeSlots: grade)
        }
        return (seat(chain.0, level: 1, below: (nil, nil)),
                seat(chain.1, level: 2, below: (chain.0?.id, nil)),
                seat(chain.2, level: 3, below: (chain.0?.id, chain.1?.id)))
    }

    /// What an order pays, line by line and level by level, with the reasons. The console preview
    /// and the order-time calculation both call this.
    public func calculate(_ participants: CommissionParticipants, lines: [CommissionLineInput])
        throws(CommissionCalculationError) -> CommissionCalculation {
        let seats = seats(for: participants)
        var results: [CommissionLineResult] = []
        results.reserveCapacity(lines.count)
        var anyPerOrder = false
        for line in lines {
            let result = try firstPass(line, seats: seats, perOrderFound: &anyPerOrder)
            results.append(result)
        }
        if anyPerOrder { try splitPerOrder(&results) }
        for index in results.indices { applyCap(&results[index]) }
        return CommissionCalculation(lines: results)
    }

    /// Base, cap, rule and the rate and per-unit parts of each level; the per-order part comes later.
    private func firstPass(_ line: CommissionLineInput, seats: (Seat, Seat, Seat), perOrderFound: inout Bool)
        throws(CommissionCalculationError) -> CommissionLineResult {
        guard line.quantity >= 0 else { throw .negativeQuantity(lineID: line.lineID) }
        guard line.paidAmount.fen >= 0, line.unitListPrice.fen >= 0 else { throw .negativeAmount(lineID: line.lineID) }
        let base: Money
        switch settings.base {
        case .paidAmount: base = line.paidAmount
        case .listPrice:
            let (product, overflow) = line.unitListPrice.fen.multipliedReportingOverflow(by: line.quantity)
            guard !overflow else { throw .overflow(lineID: line.lineID) }
            base = Money(fen: product)
        }
        // On the list price the cap still counts what the buyer paid, so a heavily discounted line
        // never costs the shop more than the cap's share of its money.
        guard let cap = CommissionMath.floorShare(min(base, line.paidAmount), settings.capRate) else { throw .overflow(lineID: line.lineID) }
        var result = CommissionLineResult(
            lineID: line.lineID, baseMode: settings.base, base: base, capRate: settings.capRate, cap: cap,
            quantity: line.quantity, unitListPrice: line.unitListPrice, paidAmount: line.paidAmount,
            level1: .init(level: 1, beneficiaryID: seats.0.distributor?.id, unpaidReason: seats.0.reason),
            level2: .init(level: 2, beneficiaryID: seats.1.distributor?.id, unpaidReason: seats.1.reason),
            level3: .init(level: 3, beneficiaryID: seats.2.distributor?.id, unpaidReason: seats.2.reason))
        guard seats.0.pays || seats.1.pays || seats.2.pays else { return result }
        if line.marketingExcluded {
            for level in 1...3 where result[level].unpaidReason == nil { result[level].unpaidReason = .marketingExcluded }
            return result
        }
        let lineSlots = slots(sku: line.skuID, product: line.productID, category: line.categoryID)
        try fill(&result.level1, seat: seats.0, lineSlots: lineSlots, base: base, line: line, perOrderFound: &perOrderFound)
        try fill(&result.level2, seat: seats.1, lineSlots: lineSlots, base: base, line: line, perOrderFound: &perOrderFound)
        try fill(&result.level3, seat: seats.2, lineSlots: lineSlots, base: base, line: line, perOrderFound: &perOrderFound)
        return result
    }

    @inline(__always)
    private func fill(_ level: inout CommissionLevelResult, seat: Seat, lineSlots: Slots, base: Money,
                      line: CommissionLineInput, perOrderFound: inout Bool) throws(CommissionCalculationError) {
        guard seat.pays, let distributor = seat.distributor else { return }
        var index = lineSlots[level.level]
        if index < 0 { index = seat.gradeSlots[level.level] }
        guard index >= 0, Int(index) < rules.count else {
            level.unpaidReason = .noRule
            return
        }
        let rule = rules[Int(index)]
        guard let levelRule = rule.levelRule(level.level) else {
            level.unpaidReason = .noRule
            return
        }
        let (formula, tier) = levelRule.formula(forPeriodSales: distributor.periodSales)
        level.scope = rule.scope
        level.tier = tier
        level.formula = formula
        guard let share = CommissionMath.floorShare(base, formula.rate) else { throw .overflow(lineID: line.lineID) }
        let (units, o1) = formula.perUnit.fen.multipliedReportingOverflow(by: line.quantity)
        let (sum, o2) = share.fen.addingReportingOverflow(units)
        guard !o1, !o2 else { throw .overflow(lineID: line.lineID) }
        level.beforeCap = Money(fen: sum)
        if formula.perOrder.fen > 0 { perOrderFound = true }
    }

    /// Pays each rule's per-order amount once per order, split over the lines that rule governs at
    /// that level by their bases (largest remainder, so the parts add up to the amount).
    private func splitPerOrder(_ results: inout [CommissionLineResult]) throws(CommissionCalculationError) {
        for level in 1...3 {
            var groups: [CommissionRuleScope: [Int]] = [:]
            for (index, result) in results.enumerated() {
                let entry = result[level]
                guard let scope = entry.scope, let formula = entry.formula, formula.perOrder.fen > 0 else { continue }
                groups[scope, default: []].append(index)
            }
            for (_, members) in groups.sorted(by: { ($0.value.first ?? 0) < ($1.value.first ?? 0) }) {
                guard let first = members.first, let amount = results[first][level].formula?.perOrder else { continue }
                let weights = members.map { results[$0].base.fen }
                let shares: [Money]
                do throws(AllocationError) {
                    shares = try Allocation.split(amount, byWeights: weights)
                } catch .zeroTotalWeight {
                    // Every line is free: the cap would leave nothing anyway.
                    shares = Array(repeating: .zero, count: members.count)
                } catch {
                    throw .overflow(lineID: results[first].lineID)
                }
                for (member, share) in zip(members, shares) {
                    var entry = results[member][level]
                    let (sum, overflow) = entry.beforeCap.fen.addingReportingOverflow(share.fen)
                    guard !overflow else { throw .overflow(lineID: results[member].lineID) }
                    entry.perOrderShare = share
                    entry.beforeCap = Money(fen: sum)
                    results[member][level] = entry
                }
            }
        }
    }

    private func applyCap(_ result: inout CommissionLineResult) {
        let capped = CommissionMath.cut((result.level1.beforeCap.fen, result.level2.beforeCap.fen, result.level3.beforeCap.fen),
                                        to: result.cap.fen)
        Self.settle(&result.level1, capped.0)
        Self.settle(&result.level2, capped.1)
        Self.settle(&result.level3, capped.2)
    }

    @inline(__always)
    static func settle(_ level: inout CommissionLevelResult, _ amount: Int64) {
        level.amount = Money(fen: amount)
        guard level.unpaidReason == nil, level.formula != nil else { return }
        if amount == 0 { level.unpaidReason = level.beforeCap.fen > 0 ? .reducedByCap : .ruleGivesZero }
    }
}

extension CommissionLineResult {
    /// One sentence per level for the rule editor's preview (佣金预览): amount, rule, tier, rate
    /// and base, or why nothing is paid. Names of people are the caller's to add.
    public func explanation(_ locale: MallLocale) -> [String] {
        levels.map { level in
            let zhHead = "第 \(level.level) 级："
            let enHead = "Level \(level.level): "
            guard level.amount.fen > 0, let scope = level.scope, let formula = level.formula else {
                let reason = (level.unpaidReason ?? .ruleGivesZero).explanation(locale)
                return DistributionText.pick(locale, "\(zhHead)不计佣金——\(reason)", "\(enHead)nothing, because \(reason)")
            }
            var zhParts = [scope.source.name(locale)]
            var enParts = [scope.source.name(locale)]
            if level.tier > 0 {
                zhParts.append("阶梯 \(level.tier)")
                enParts.append("tier \(level.tier)")
            }
            if formula.rate.value > 0 {
                zhParts.append("比例 \(DistributionText.percent(formula.rate)) × 基数 \(base.formatted(.zhHans))")
                enParts.append("\(DistributionText.percent(formula.rate)) of \(base.formatted(.en))")
            }
            if formula.perUnit.fen > 0 {
                zhParts.append("每件 \(formula.perUnit.formatted(.zhHans)) × \(quantity)")
                enParts.append("\(formula.perUnit.formatted(.en)) × \(quantity) units")
            }
            if level.perOrderShare.fen > 0 {
                zhParts.append("每单 \(formula.perOrder.formatted(.zhHans)) 分摊 \(level.perOrderShare.formatted(.zhHans))")
                enParts.append("\(level.perOrderShare.formatted(.en)) of \(formula.perOrder.formatted(.en)) per order")
            }
            if level.capReduction.fen > 0 {
                zhParts.append("超出单行上限扣减 \(level.capReduction.formatted(.zhHans))")
                enParts.append("\(level.capReduction.formatted(.en)) cut by the cap per line")
            }
            return DistributionText.pick(locale, "\(zhHead)\(level.amount.formatted(.zhHans))（\(zhParts.joined(separator: "，"))）",
                                         "\(enHead)\(level.amount.formatted(.en)) (\(enParts.joined(separator: ", ")))")
        }
    }
}
