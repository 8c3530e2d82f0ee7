import Foundation

/// Where a withdrawal is paid to.
public enum WithdrawalChannel: String, Codable, Sendable, CaseIterable {
    /// Into the mall balance (余额), at once.
    case balance
    case wechatTransfer = "wechat_transfer"
    case alipayTransfer = "alipay_transfer"
    /// Paid by the operator by bank transfer, with the proof uploaded afterwards.
    case bankCard = "bank_card"

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .balance: DistributionText.pick(locale, "商城余额", "mall balance")
        case .wechatTransfer: DistributionText.pick(locale, "微信零钱", "WeChat transfer")
        case .alipayTransfer: DistributionText.pick(locale, "支付宝", "Alipay transfer")
        case .bankCard: DistributionText.pick(locale, "银行卡", "bank card")
        }
    }

    /// Shown before the distributor confirms, so nobody waits for money that takes days.
    public func expectedArrival(_ locale: MallLocale) -> String {
        switch self {
        case .balance: DistributionText.pick(locale, "审核通过后即时到账", "At once after approval")
        case .wechatTransfer: DistributionText.pick(locale, "审核通过后 2 小时内到账", "Within 2 hours after approval")
        case .alipayTransfer: DistributionText.pick(locale, "审核通过后 2 小时内到账", "Within 2 hours after approval")
        case .bankCard: DistributionText.pick(locale, "审核通过后 1–3 个工作日到账", "1–3 working days after approval")
        }
    }

    /// True where an operator pays by hand and uploads proof.
    public var isOffline: Bool { self == .bankCard }
}

/// The days on which withdrawals may be asked for.
public enum WithdrawalAllowedDays: Hashable, Codable, Sendable {
    case everyDay
    /// ISO weekdays: 1 is Monday, 7 is Sunday.
    case weekdays(Set<Int>)
    /// Days of the month, 1 to 31.
    case daysOfMonth(Set<Int>)
}

public struct WithdrawalSettings: Hashable, Codable, Sendable {
    public var minimumAmount: Money
    public var maximumAmount: Money
    public var maxPerDay: Int
    public var maxPerMonth: Int
    public var allowedDays: WithdrawalAllowedDays
    public var feeRate: BasisPoints
    /// The fee is never less than this.
    public var minimumFee: Money
    /// Requests for less than this are approved without review; zero approves nothing by itself.
    public var autoApproveBelow: Money
    public var channels: [WithdrawalChannel]

    public init(minimumAmount: Money = Money(fen: 100), maximumAmount: Money = Money(fen: 5_000_000), maxPerDay: Int = 3,
                maxPerMonth: Int = 30, allowedDays: WithdrawalAllowedDays = .everyDay, feeRate: BasisPoints = BasisPoints(0),
                minimumFee: Money = .zero, autoApproveBelow: Money = .zero,
                channels: [WithdrawalChannel] = WithdrawalChannel.allCases) {
        self.minimumAmount = minimumAmount
        self.maximumAmount = maximumAmount
        self.maxPerDay = maxPerDay
        self.maxPerMonth = maxPerMonth
        self.allowedDays = allowedDays
        self.feeRate = feeRate
        self.minimumFee = minimumFee
        self.autoApproveBelow = autoApproveBelow
        self.channels = channels
    }

    public func validate() throws(WithdrawalError) {
        guard minimumAmount.fen > 0 else { throw .settingsMinimumNotPositive }
        guard maximumAmount >= minimumAmount else { throw .settingsMaximumBelowMinimum }
        guard maxPerDay >= 1, maxPerMonth >= maxPerDay else { throw .settingsCountsInvalid }
        switch allowedDays {
        case .everyDay: break
        case .weekdays(let days):
            guard !days.isEmpty, days.allSatisfy({ (1...7).contains($0) }) else { throw .settingsDaysInvalid }
        case .daysOfMonth(let days):
            guard !days.isEmpty, days.allSatisfy({ (1...31).contains($0) }) else { throw .settingsDaysInvalid }
        }
        guard feeRate.isValidShare, minimumFee.fen >= 0, autoApproveBelow.fen >= 0 else { throw .settingsFeeInvalid }
        // The smallest withdrawal must leave something after its fee.
        guard let smallestFee = try? fee(for: minimumAmount), smallestFee < minimumAmount else { throw .settingsFeeInvalid }
        guard !channels.isEmpty, Set(channels).count == channels.count else { throw .settingsChannelsInvalid }
    }

    /// The fee: the rate rounded half up to the fen, but at least the minimum fee.
    public func fee(for amount: Money) throws(WithdrawalError) -> Money {
        guard amount.fen >= 0 else { throw .amountNotPositive }
        guard let byRate = try? amount.applying(feeRate) else { throw .overflow }
        return max(byRate, minimumFee)
    }
}

/// Where the distributor stands when asking, as the caller reads it.
public struct WithdrawalContext: Hashable, Sendable {
    public var available: Money
    public var debt: Money
    /// Withdrawals already asked for today and this month, rejected ones excluded.
    public var countToday: Int
    public var countThisMonth: Int
    /// ISO weekday of today in the mall's time zone: 1 is Monday, 7 is Sunday.
    public var weekday: Int
    public var dayOfMonth: Int

    public init(available: Money, debt: Money = .zero, countToday: Int = 0, countThisMonth: Int = 0, weekday: Int, dayOfMonth: Int) {
        self.available = available
        self.debt = debt
        self.countToday = countToday
        self.countThisMonth = countThisMonth
        self.weekday = weekday
        self.dayOfMonth = dayOfMonth
    }
}

/// An accepted request: what is frozen, what the fee is and what arrives.
public struct WithdrawalQuote: Hashable, Sendable {
    public let amount: Money
    public let fee: Money
    /// What reaches the distributor: the amount less the fee.
    public let net: Money
    public let channel: WithdrawalChannel
    public let autoApprove: Bool

    public func expectedArrival(_ locale: MallLocale) -> String { channel.expectedArrival(locale) }
}

public enum WithdrawalRules {
    /// Checks a request; the first rule it breaks is the refusal the distributor sees.
    public static func check(amount: Money, channel: WithdrawalChannel, context: WithdrawalContext, settings: WithdrawalSettings)
        throws(WithdrawalError) -> WithdrawalQuote {
        try settings.validate()
        guard (1...7).contains(context.weekday), (1...31).contains(context.dayOfMonth),
              context.countToday >= 0, context.countThisMonth >= 0, context.available.fen >= 0, context.debt.fen >= 0 else {
            throw .invalidContext
        }
        guard context.debt.fen == 0 else { throw .debtOpen(context.debt) }
        guard amount.fen > 0 else { throw .amountNotPositive }
        guard settings.channels.contains(channel) else { throw .channelNotEnabled(channel) }
        switch settings.allowedDays {
        case .everyDay: break
        case .weekdays(let days): guard days.contains(context.weekday) else { throw .dayNotAllowed(settings.allowedDays) }
        case .daysOfMonth(let days): guard days.contains(context.dayOfMonth) else { throw .dayNotAllowed(settings.allowedDays) }
        }
        guard context.countToday < settings.maxPerDay else { throw .dailyLimitReached(settings.maxPerDay) }
        guard context.countThisMonth < settings.maxPerMonth else { throw .monthlyLimitReached(settings.maxPerMonth) }
        guard amount >= settings.minimumAmount else { throw .belowMinimum(settings.minimumAmount) }
        guard amount <= settings.maximumAmount else { throw .aboveMaximum(settings.maximumAmount) }
        guard amount <= context.available else { throw .insufficientBalance(context.available) }
        let fee = try settings.fee(for: amount)
        guard fee < amount else { throw .feeNotCovered(fee) }
        return WithdrawalQuote(amount: amount, fee: fee, net: Money(fen: amount.fen - fee.fen), channel: channel,
                               autoApprove: amount < settings.autoApproveBelow)
    }
}

/// A withdrawal's state. The amount is frozen from the request until it is paid or returned.
public enum WithdrawalState: String, Codable, Sendable, CaseIterable {
    case requested, approved
    /// Handed to WeChat Pay or Alipay: only the provider's answer (its callback or a query) ends it.
    case transferring
    case paid
    /// The payout failed; the amount went back to the available balance.
    case failed
    /// Refused in review; the amount went back, with a reason.
    case rejected

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .requested: DistributionText.pick(locale, "待审核", "requested")
        case .approved: DistributionText.pick(locale, "待打款", "approved")
        case .transferring: DistributionText.pick(locale, "打款中", "transferring")
        case .paid: DistributionText.pick(locale, "已到账", "paid")
        case .failed: DistributionText.pick(locale, "打款失败", "failed")
        case .rejected: DistributionText.pick(locale, "已驳回", "rejected")
        }
    }

    public var holdsFrozenAmount: Bool { self == .requested || self == .approved || self == .transferring }
    public var isFinal: Bool { !holdsFrozenAmount }
}

public enum WithdrawalEvent: Hashable, Sendable {
    case approve
    case reject(reason: String)
    /// The operator paid by hand (offline channels, or a provider that is not configured).
    case pay
    case fail(reason: String)
    /// The transfer is handed to the provider; from here on only the provider's outcome moves it.
    case startTransfer
    case transferSucceeded
    case transferFailed(reason: String)
}

/// The outcome of a move: the new state and whether the frozen amount goes back to the balance.
public struct WithdrawalTransition: Hashable, Sendable {
    public let state: WithdrawalState
    public let returnsAmount: Bool
}

public enum WithdrawalLifecycle {
    public static func apply(_ event: WithdrawalEvent, to state: WithdrawalState) throws(WithdrawalError) -> WithdrawalTransition {
        switch (event, state) {
        case (.approve, .requested):
            return WithdrawalTransition(state: .approved, returnsAmount: false)
        case (.reject(let reason), .requested):
            guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .reasonRequired }
            return WithdrawalTransition(state: .rejected, returnsAmount: true)
        case (.pay, .approved):
            return WithdrawalTransition(state: .paid, returnsAmount: false)
        case (.fail(let reason), .approved), (.transferFailed(let reason), .transferring):
            guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .reasonRequired }
            return WithdrawalTransition(state: .failed, returnsAmount: true)
        case (.startTransfer, .approved):
            return WithdrawalTransition(state: .transferring, returnsAmount: false)
        case (.transferSucceeded, .transferring):
            return WithdrawalTransition(state: .paid, returnsAmount: false)
        default:
            throw .illegalTransition(from: state)
        }
    }
}

public enum WithdrawalError: DistributionFailure, Hashable, Sendable {
    case debtOpen(Money)
    case amountNotPositive
    case channelNotEnabled(WithdrawalChannel)
    case dayNotAllowed(WithdrawalAllowedDays)
    case dailyLimitReached(Int)
    case monthlyLimitReached(Int)
    case belowMinimum(Money)
    case aboveMaximum(Money)
    case insufficientBalance(Money)
    case feeNotCovered(Money)
    case overflow
    case invalidContext
    case settingsMinimumNotPositive
    case settingsMaximumBelowMinimum
    case settingsCountsInvalid
    case settingsDaysInvalid
    case settingsFeeInvalid
    case settingsChannelsInvalid
    case illegalTransition(from: WithdrawalState)
    case reasonRequired

    public var code: String {
        switch self {
        case .debtOpen: "withdrawal_debt_open"
        case .amountNotPositive: "withdrawal_amount_not_positive"
        case .channelNotEnabled: "withdrawal_channel_not_enabled"
        case .dayNotAllowed: "withdrawal_day_not_allowed"
        case .dailyLimitReached: "withdrawal_daily_limit"
        case .monthlyLimitReached: "withdrawal_monthly_limit"
        case .belowMinimum: "withdrawal_below_minimum"
        case .aboveMaximum: "withdrawal_above_maximum"
        case .insufficientBalance: "withdrawal_insufficient_balance"
        case .feeNotCovered: "withdrawal_fee_not_covered"
        case .overflow: "withdrawal_overflow"
        case .invalidContext: "withdrawal_invalid_context"
        case .settingsMinimumNotPositive: "withdrawal_settings_minimum"
        case .settingsMaximumBelowMinimum: "withdrawal_settings_maximum"
        case .settingsCountsInvalid: "withdrawal_settings_counts"
        case .settingsDaysInvalid: "withdrawal_settings_days"
        case .settingsFeeInvalid: "withdrawal_settings_fee"
        case .settingsChannelsInvalid: "withdrawal_settings_channels"
        case .illegalTransition: "withdrawal_illegal_transition"
        case .reasonRequired: "withdrawal_reason_required"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        let zh = MallLocale.zhHans
        switch self {
        case .debtOpen(let debt):
            return DistributionText.pick(locale, "您有 \(debt.formatted(zh)) 佣金欠款未还清，暂不能提现；之后结算的佣金会先抵扣欠款。",
                                         "You owe \(debt.formatted(.en)) of commission; withdrawals open again once later commission has paid it off.")
        case .amountNotPositive: return DistributionText.pick(locale, "提现金额须大于零。", "The amount must be above zero.")
        case .channelNotEnabled(let channel):
            return DistributionText.pick(locale, "暂不支持提现到\(channel.name(locale))。", "Withdrawals to \(channel.name(locale)) are not offered.")
        case .dayNotAllowed(let days): return Self.dayMessage(locale, days)
        case .dailyLimitReached(let n):
            return DistributionText.pick(locale, "每天最多提现 \(n) 次，请明天再来。", "At most \(n) withdrawals a day; please try tomorrow.")
        case .monthlyLimitReached(let n):
            return DistributionText.pick(locale, "每月最多提现 \(n) 次。", "At most \(n) withdrawals a month.")
        case .belowMinimum(let min):
            return DistributionText.pick(locale, "单次提现不能少于 \(min.formatted(zh))。", "A withdrawal must be at least \(min.formatted(.en)).")
        case .aboveMaximum(let max):
            return DistributionText.pick(locale, "单次提现不能超过 \(max.formatted(zh))。", "A withdrawal cannot exceed \(max.formatted(.en)).")
        case .insufficientBalance(let available):
            return DistributionText.pick(locale, "可提现余额只有 \(available.formatted(zh))。", "Only \(available.formatted(.en)) is available.")
        case .feeNotCovered(let fee):
            return DistributionText.pick(locale, "手续费 \(fee.formatted(zh)) 不低于提现金额。", "The fee of \(fee.formatted(.en)) is not less than the amount.")
        case .overflow: return DistributionText.pick(locale, "金额过大。", "The amount is too large.")
        case .invalidContext: return DistributionText.pick(locale, "提现日期或次数数据无效。", "The date or counts given are not valid.")
        case .settingsMinimumNotPositive: return DistributionText.pick(locale, "最低提现金额须大于零。", "The minimum amount must be above zero.")
        case .settingsMaximumBelowMinimum: return DistributionText.pick(locale, "最高提现金额不能低于最低金额。", "The maximum cannot be below the minimum.")
        case .settingsCountsInvalid:
            return DistributionText.pick(locale, "每日次数至少为 1，每月次数不能少于每日次数。",
                                         "At least 1 a day, and no fewer a month than a day.")
        case .settingsDaysInvalid:
            return DistributionText.pick(locale, "可提现日须为周一到周日（1–7）或每月 1–31 日，且至少选一天。",
                                         "Allowed days must be weekdays 1–7 or days of the month 1–31, at least one.")
        case .settingsFeeInvalid:
            return DistributionText.pick(locale, "手续费比例须在 0% 到 100% 之间，且最低提现金额须高于其手续费。",
                                         "The fee rate must be 0% to 100%, and the minimum amount must exceed its fee.")
        case .settingsChannelsInvalid:
            return DistributionText.pick(locale, "请至少开启一个提现方式，且不要重复。", "Enable at least one channel, each once.")
        case .illegalTransition(let from):
            return DistributionText.pick(locale, "提现单当前状态（\(from.name(locale))）不允许此操作。",
                                         "This cannot be done to a withdrawal that is \(from.name(locale)).")
        case .reasonRequired: return DistributionText.pick(locale, "请填写原因。", "Please give a reason.")
        }
    }

    private static func dayMessage(_ locale: MallLocale, _ days: WithdrawalAllowedDays) -> String {
        switch days {
        case .everyDay:
            return DistributionText.pick(locale, "今天不能提现。", "Withdrawals are not open today.")
        case .weekdays(let set):
            let zhNames = ["一", "二", "三", "四", "五", "六", "日"]
            let enNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            let sorted = set.sorted().filter { (1...7).contains($0) }
            return DistributionText.pick(locale, "仅\(sorted.map { "周" + zhNames[$0 - 1] }.joined(separator: "、"))可提现。",
                                         "Withdrawals are open on \(sorted.map { enNames[$0 - 1] }.joined(separator: ", ")) only.")
        case .daysOfMonth(let set):
            let sorted = set.sorted().map(String.init)
            return DistributionText.pick(locale, "仅每月 \(sorted.joined(separator: "、")) 日可提现。",
                                         "Withdrawals are open on these days of the month only: \(sorted.joined(separator: ", ")).")
        }
    }
}
