import Foundation

/// Where a commission record stands. Withdrawal is a matter of the balance, not of the record.
public enum CommissionState: String, Codable, Sendable, CaseIterable {
    /// Created within seconds of payment; the goods have not arrived.
    case pending
    /// The buyer received the goods (or receipt was confirmed automatically); the after-sales window runs.
    case frozen
    /// The window passed without an open after-sale: the amount is available to the distributor.
    case settled
    /// Fully refunded before settlement: nothing is owed.
    case voided

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .pending: DistributionText.pick(locale, "待收货", "pending")
        case .frozen: DistributionText.pick(locale, "冻结中", "frozen")
        case .settled: DistributionText.pick(locale, "已结算", "settled")
        case .voided: DistributionText.pick(locale, "已作废", "voided")
        }
    }
}

/// A commission record's state and its hold flag: a held record (risk review) does not settle
/// until it is released, whatever its window says.
public struct CommissionStatus: Hashable, Codable, Sendable {
    public let state: CommissionState
    public let held: Bool

    public init(state: CommissionState = .pending, held: Bool = false) {
        self.state = state
        self.held = held
    }
}

/// What may happen to a commission record.
public enum CommissionEvent: Hashable, Sendable {
    /// The buyer received the goods.
    case received
    /// The settlement job found the after-sales window over and no after-sale open.
    case settle
    /// A full refund before settlement.
    case void
    case hold
    case release
}

/// The commission state machine: a transition table with guards; anything else throws.
public enum CommissionLifecycle {
    public static func apply(_ event: CommissionEvent, to status: CommissionStatus) throws(CommissionLifecycleError) -> CommissionStatus {
        switch (event, status.state) {
        case (.received, .pending):
            return CommissionStatus(state: .frozen, held: status.held)
        case (.settle, .frozen):
            guard !status.held else { throw .held }
            return CommissionStatus(state: .settled, held: false)
        case (.void, .pending), (.void, .frozen):
            return CommissionStatus(state: .voided, held: false)
        case (.hold, .pending), (.hold, .frozen):
            guard !status.held else { throw .alreadyHeld }
            return CommissionStatus(state: status.state, held: true)
        case (.release, _):
            guard status.held else { throw .notHeld }
            return CommissionStatus(state: status.state, held: false)
        default:
            throw .illegalTransition(from: status.state, event: event)
        }
    }

    /// Whether a frozen record may settle now: its after-sales window has passed since receipt,
    /// no after-sale is open, and it is not held. A window of zero days settles at receipt.
    public static func isSettleable(_ status: CommissionStatus, receivedAt: Date, windowDays: Int, hasOpenAfterSale: Bool,
                                    now: Date) -> Bool {
        guard status.state == .frozen, !status.held, !hasOpenAfterSale, windowDays >= 0 else { return false }
        return now >= receivedAt.addingTimeInterval(TimeInterval(windowDays) * 86_400)
    }
}

public enum CommissionLifecycleError: DistributionFailure, Equatable, Sendable {
    case illegalTransition(from: CommissionState, event: CommissionEvent)
    case held
    case alreadyHeld
    case notHeld
    /// A refund may only lower a commission.
    case amountWouldRise
    case illegalRefund(CommissionState)

    public var code: String {
        switch self {
        case .amountWouldRise: "commission_amount_would_rise"
        case .illegalRefund: "commission_illegal_refund"
        case .illegalTransition: "commission_illegal_transition"
        case .held: "commission_held"
        case .alreadyHeld: "commission_already_held"
        case .notHeld: "commission_not_held"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .illegalTransition(let from, _):
            DistributionText.pick(locale, "佣金当前状态（\(from.name(locale))）不允许此操作。",
                                  "This cannot be done to a commission that is \(from.name(locale)).")
        case .held: DistributionText.pick(locale, "佣金正在风控审核中，暂不结算。", "The commission is held for review and cannot settle.")
        case .alreadyHeld: DistributionText.pick(locale, "佣金已被暂扣。", "The commission is already held.")
        case .notHeld: DistributionText.pick(locale, "佣金未被暂扣。", "The commission is not held.")
        case .amountWouldRise: DistributionText.pick(locale, "退款后佣金不能增加。", "A refund cannot raise a commission.")
        case .illegalRefund(let state):
            DistributionText.pick(locale, "\(state.name(locale))的佣金不能再退款。", "A \(state.name(locale)) commission takes no more refunds.")
        }
    }
}

/// A distributor's commission balance: what is available to withdraw and what is owed back.
/// At most one of the two is above zero after any netting.
public struct CommissionBalance: Hashable, Codable, Sendable {
    public let available: Money
    public let debt: Money

    public init(available: Money = .zero, debt: Money = .zero) {
        self.available = available
        self.debt = debt
    }

    /// Withdrawals are refused while anything is owed.
    public var hasDebt: Bool { debt.fen > 0 }
}

/// What moves a settled balance.
public enum CommissionBalanceEvent: Hashable, Sendable {
    /// Commission settled: it pays any debt first, the rest becomes available.
    case settle(Money)
    /// Settled commission reduced by a refund: taken from the available balance, the rest owed.
    case clawBack(Money)
}

/// The result of netting one event: the new balance and how the amount was split.
public struct CommissionNetting: Hashable, Sendable {
    public let balance: CommissionBalance
    /// The part of the amount that paid or became debt.
    public let toDebt: Money
    /// The part of the amount that went into or came out of the available balance.
    public let toAvailable: Money
}

/// Debt netting (冲抵), as a pure function so the ledger postings can follow it exactly.
public enum CommissionDebtNetting {
    public static func apply(_ event: CommissionBalanceEvent, to balance: CommissionBalance)
        throws(CommissionNettingError) -> CommissionNetting {
        guard balance.available.fen >= 0, balance.debt.fen >= 0 else { throw .negativeBalance }
        switch event {
        case .settle(let amount):
            guard amount.fen >= 0 else { throw .negativeAmount }
            let repaid = min(amount.fen, balance.debt.fen)
            let (available, overflow) = balance.available.fen.addingReportingOverflow(amount.fen - repaid)
            guard !overflow else { throw .overflow }
            return CommissionNetting(balance: CommissionBalance(available: Money(fen: available), debt: Money(fen: balance.debt.fen - repaid)),
                                     toDebt: Money(fen: repaid), toAvailable: Money(fen: amount.fen - repaid))
        case .clawBack(let amount):
            guard amount.fen >= 0 else { throw .negativeAmount }
            let taken = min(amount.fen, balance.available.fen)
            let (debt, overflow) = balance.debt.fen.addingReportingOverflow(amount.fen - taken)
            guard !overflow else { throw .overflow }
            return CommissionNetting(balance: CommissionBalance(available: Money(fen: balance.available.fen - taken), debt: Money(fen: debt)),
                                     toDebt: Money(fen: amount.fen - taken), toAvailable: Money(fen: taken))
        }
    }
}

public enum CommissionNettingError: DistributionFailure, Equatable, Sendable {
    case negativeAmount
    case negativeBalance
    case overflow

    public var code: String {
        switch self {
        case .negativeAmount: "commission_netting_negative_amount"
        case .negativeBalance: "commission_netting_negative_balance"
        case .overflow: "commission_netting_overflow"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .negativeAmount: DistributionText.pick(locale, "金额不能为负数。", "The amount cannot be negative.")
        case .negativeBalance: DistributionText.pick(locale, "余额或欠款不能为负数。", "A balance or debt cannot be negative.")
        case .overflow: DistributionText.pick(locale, "金额过大。", "The amount is too large.")
        }
    }
}

/// What a refund does to one commission record, from its state and its recomputed amount.
public enum CommissionRefundEffect: Hashable, Sendable {
    /// The amount did not change.
    case none
    /// A pending or frozen record is lowered to the new amount.
    case reduce(to: Money)
    /// A pending or frozen record fell to zero: void it.
    case void
    /// A settled record went down: take the difference back through `CommissionDebtNetting`.
    case clawBack(Money)
}

extension CommissionLifecycle {
    /// Turns a recomputed amount into the action the record needs. Voided records take no more
    /// refunds; amounts never rise.
    public static func refundEffect(state: CommissionState, before: Money, after: Money)
        throws(CommissionLifecycleError) -> CommissionRefundEffect {
        guard after.fen >= 0, after <= before else { throw .amountWouldRise }
        if after == before { return .none }
        switch state {
        case .pending, .frozen: return after.fen == 0 ? .void : .reduce(to: after)
        case .settled: return .clawBack(Money(fen: before.fen - after.fen))
        case .voided: throw .illegalRefund(state)
        }
    }
}
