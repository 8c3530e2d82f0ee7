import Foundation
import Testing
@testable import MallCore

@Suite struct WithdrawalTests {
    static let settings = WithdrawalSettings(
        minimumAmount: Money(fen: 1_000), maximumAmount: Money(fen: 500_000), maxPerDay: 2, maxPerMonth: 5,
        allowedDays: .everyDay, feeRate: BasisPoints(60), minimumFee: Money(fen: 100), autoApproveBelow: Money(fen: 20_000),
        channels: [.balance, .wechatTransfer, .bankCard])

    static func context(available: Int64 = 1_000_000, debt: Int64 = 0, today: Int = 0, month: Int = 0,
                        weekday: Int = 3, day: Int = 15) -> WithdrawalContext {
        WithdrawalContext(available: Money(fen: available), debt: Money(fen: debt), countToday: today, countThisMonth: month,
                          weekday: weekday, dayOfMonth: day)
    }

    struct RefusalCase: Sendable, CustomTestStringConvertible {
        let name: String
        let amount: Int64
        let channel: WithdrawalChannel
        let context: WithdrawalContext
        let settings: WithdrawalSettings
        let error: WithdrawalError
        var testDescription: String { name }
    }

    static let refusals: [RefusalCase] = [
        .init(name: "an open debt", amount: 5_000, channel: .balance, context: context(debt: 1), settings: settings,
              error: .debtOpen(Money(fen: 1))),
        .init(name: "zero", amount: 0, channel: .balance, context: context(), settings: settings, error: .amountNotPositive),
        .init(name: "a channel not offered", amount: 5_000, channel: .alipayTransfer, context: context(), settings: settings,
              error: .channelNotEnabled(.alipayTransfer)),
        .init(name: "below the minimum", amount: 999, channel: .balance, context: context(), settings: settings,
              error: .belowMinimum(Money(fen: 1_000))),
        .init(name: "above the maximum", amount: 500_001, channel: .balance, context: context(), settings: settings,
              error: .aboveMaximum(Money(fen: 500_000))),
        .init(name: "more than is available", amount: 5_001, channel: .balance, context: context(available: 5_000), settings: settings,
              error: .insufficientBalance(Money(fen: 5_000))),
        .init(name: "the daily count", amount: 5_000, channel: .balance, context: context(today: 2, month: 2), settings: settings,
              error: .dailyLimitReached(2)),
        .init(name: "the monthly count", amount: 5_000, channel: .balance, context: context(today: 0, month: 5), settings: settings,
              error: .monthlyLimitReached(5)),
        .init(name: "a weekday not allowed", amount: 5_000, channel: .balance, context: context(weekday: 6),
              settings: with(settings) { $0.allowedDays = .weekdays([1, 3]) }, error: .dayNotAllowed(.weekdays([1, 3]))),
        .init(name: "a day of the month not allowed", amount: 5_000, channel: .balance, context: context(day: 16),
              settings: with(settings) { $0.allowedDays = .daysOfMonth([1, 15]) }, error: .dayNotAllowed(.daysOfMonth([1, 15]))),
        .init(name: "a bad weekday from the caller", amount: 5_000, channel: .balance, context: context(weekday: 0), settings: settings,
              error: .invalidContext),
        .init(name: "a negative count from the caller", amount: 5_000, channel: .balance, context: context(today: -1), settings: settings,
              error: .invalidContext),
    ]

    static func with(_ settings: WithdrawalSettings, _ change: (inout WithdrawalSettings) -> Void) -> WithdrawalSettings {
        var copy = settings
        change(&copy)
        return copy
    }

    @Test(arguments: refusals)
    func everyRuleRefusesWithItsOwnError(_ c: RefusalCase) {
        #expect(throws: c.error) {
            try WithdrawalRules.check(amount: Money(fen: c.amount), channel: c.channel, context: c.context, settings: c.settings)
        }
        #expect(!c.error.localizedMessage(.zhHans).isEmpty)
        #expect(c.error.localizedMessage(.zhHans) != c.error.localizedMessage(.en))
    }

    @Test func allowedDaysPass() throws {
        let weekdays = Self.with(Self.settings) { $0.allowedDays = .weekdays([1, 3]) }
        _ = try WithdrawalRules.check(amount: Money(fen: 5_000), channel: .balance, context: Self.context(weekday: 3), settings: weekdays)
        let days = Self.with(Self.settings) { $0.allowedDays = .daysOfMonth([1, 15]) }
        _ = try WithdrawalRules.check(amount: Money(fen: 5_000), channel: .balance, context: Self.context(day: 15), settings: days)
        #expect(WithdrawalError.dayNotAllowed(.weekdays([3, 1])).localizedMessage(.zhHans) == "仅周一、周三可提现。")
    }

    @Test(arguments: [
        // 0.6 %: ¥300.75 → ¥1.8045 → ¥1.80; ¥300.84 → ¥1.80504 → ¥1.81; ¥100.00 → ¥0.60, below the ¥1 minimum.
        (Int64(30_075), BasisPoints(60), Int64(100), Int64(180)),
        (30_084, BasisPoints(60), 100, 181),
        (10_000, BasisPoints(60), 100, 100),
        // 0.5 % lands on half a fen: ¥3.00 → 1.5 fen → 2; ¥5.00 → 2.5 fen → 3 (half up).
        (300, BasisPoints(50), 0, 2),
        (500, BasisPoints(50), 0, 3),
        (1_000, BasisPoints(0), 0, 0),
    ])
    func theFeeRoundsHalfUpAndHasAMinimum(_ amount: Int64, _ rate: BasisPoints, _ minimumFee: Int64, _ expected: Int64) throws {
        let settings = WithdrawalSettings(minimumAmount: Money(fen: minimumFee + 100), feeRate: rate, minimumFee: Money(fen: minimumFee))
        #expect(try settings.fee(for: Money(fen: amount)) == Money(fen: expected))
        let quote = try WithdrawalRules.check(amount: Money(fen: amount), channel: .wechatTransfer, context: Self.context(), settings: settings)
        #expect(quote.fee == Money(fen: expected))
        #expect(quote.net == Money(fen: amount - expected))
    }

    @Test func anAcceptedRequestQuotesFeeNetArrivalAndReview() throws {
        let small = try WithdrawalRules.check(amount: Money(fen: 19_999), channel: .wechatTransfer, context: Self.context(), settings: Self.settings)
        #expect(small.autoApprove)
        #expect(small.fee == Money(fen: 120))
        #expect(small.net == Money(fen: 19_879))
        #expect(small.expectedArrival(.zhHans) == "审核通过后 2 小时内到账")
        let large = try WithdrawalRules.check(amount: Money(fen: 20_000), channel: .bankCard, context: Self.context(), settings: Self.settings)
        #expect(!large.autoApprove)
        #expect(large.channel.isOffline)
        #expect(large.expectedArrival(.en) == "1–3 working days after approval")
        // Exactly the balance, the last count of the day and month.
        _ = try WithdrawalRules.check(amount: Money(fen: 5_000), channel: .balance, context: Self.context(available: 5_000, today: 1, month: 4),
                                      settings: Self.settings)
        for channel in WithdrawalChannel.allCases {
            #expect(channel.expectedArrival(.zhHans) != channel.expectedArrival(.en))
        }
    }

    @Test func aFeeThatEatsTheAmountIsRefused() throws {
        let settings = WithdrawalSettings(minimumAmount: Money(fen: 200), feeRate: BasisPoints(0), minimumFee: Money(fen: 150))
        _ = try WithdrawalRules.check(amount: Money(fen: 200), channel: .balance, context: Self.context(), settings: settings)
        let full = WithdrawalSettings(minimumAmount: Money(fen: 200), feeRate: BasisPoints(10_000))
        #expect(throws: WithdrawalError.settingsFeeInvalid) { try full.validate() }
    }

    @Test func badSettingsAreRefused() {
        #expect(throws: WithdrawalError.settingsMinimumNotPositive) { try WithdrawalSettings(minimumAmount: .zero).validate() }
        #expect(throws: WithdrawalError.settingsMaximumBelowMinimum) {
            try WithdrawalSettings(minimumAmount: Money(fen: 200), maximumAmount: Money(fen: 100)).validate()
        }
        #expect(throws: WithdrawalError.settingsCountsInvalid) { try WithdrawalSettings(maxPerDay: 0).validate() }
        #expect(throws: WithdrawalError.settingsCountsInvalid) { try WithdrawalSettings(maxPerDay: 5, maxPerMonth: 4).validate() }
        #expect(throws: WithdrawalError.settingsDaysInvalid) { try WithdrawalSettings(allowedDays: .weekdays([])).validate() }
        #expect(throws: WithdrawalError.settingsDaysInvalid) { try WithdrawalSettings(allowedDays: .weekdays([8])).validate() }
        #expect(throws: WithdrawalError.settingsDaysInvalid) { try WithdrawalSettings(allowedDays: .daysOfMonth([0])).validate() }
        #expect(throws: WithdrawalError.settingsFeeInvalid) { try WithdrawalSettings(feeRate: BasisPoints(-1)).validate() }
        #expect(throws: WithdrawalError.settingsFeeInvalid) {
            try WithdrawalSettings(minimumAmount: Money(fen: 100), minimumFee: Money(fen: 100)).validate()
        }
        #expect(throws: WithdrawalError.settingsChannelsInvalid) { try WithdrawalSettings(channels: []).validate() }
        #expect(throws: WithdrawalError.settingsChannelsInvalid) { try WithdrawalSettings(channels: [.balance, .balance]).validate() }
    }

    // MARK: state machine

    @Test func aWithdrawalIsApprovedThenPaidOrFailed() throws {
        let approved = try WithdrawalLifecycle.apply(.approve, to: .requested)
        #expect(approved == WithdrawalTransition(state: .approved, returnsAmount: false))
        #expect(try WithdrawalLifecycle.apply(.pay, to: .approved) == WithdrawalTransition(state: .paid, returnsAmount: false))
        #expect(try WithdrawalLifecycle.apply(.fail(reason: "账户已注销"), to: .approved) == WithdrawalTransition(state: .failed, returnsAmount: true))
        #expect(try WithdrawalLifecycle.apply(.reject(reason: "信息不符"), to: .requested) == WithdrawalTransition(state: .rejected, returnsAmount: true))
        #expect(WithdrawalState.requested.holdsFrozenAmount && WithdrawalState.approved.holdsFrozenAmount)
        #expect(WithdrawalState.paid.isFinal && WithdrawalState.failed.isFinal && WithdrawalState.rejected.isFinal)
    }

    @Test func aProviderTransferEndsOnlyWithTheProvidersOutcome() throws {
        #expect(try WithdrawalLifecycle.apply(.startTransfer, to: .approved) == WithdrawalTransition(state: .transferring, returnsAmount: false))
        #expect(try WithdrawalLifecycle.apply(.transferSucceeded, to: .transferring) == WithdrawalTransition(state: .paid, returnsAmount: false))
        #expect(try WithdrawalLifecycle.apply(.transferFailed(reason: "FAIL"), to: .transferring) == WithdrawalTransition(state: .failed, returnsAmount: true))
        #expect(WithdrawalState.transferring.holdsFrozenAmount && !WithdrawalState.transferring.isFinal)
        // The operator's hand cannot end a transfer the provider is still handling.
        #expect(throws: WithdrawalError.illegalTransition(from: .transferring)) { try WithdrawalLifecycle.apply(.pay, to: .transferring) }
        #expect(throws: WithdrawalError.illegalTransition(from: .transferring)) { try WithdrawalLifecycle.apply(.fail(reason: "x"), to: .transferring) }
        #expect(throws: WithdrawalError.reasonRequired) { try WithdrawalLifecycle.apply(.transferFailed(reason: " "), to: .transferring) }
    }

    static let illegal: [(WithdrawalEvent, WithdrawalState)] = [
        (.pay, .requested), (.fail(reason: "x"), .requested), (.approve, .approved), (.reject(reason: "x"), .approved),
        (.approve, .paid), (.pay, .paid), (.approve, .rejected), (.pay, .failed), (.reject(reason: "x"), .failed),
        (.startTransfer, .requested), (.startTransfer, .transferring), (.transferSucceeded, .approved), (.transferSucceeded, .paid),
        (.transferFailed(reason: "x"), .approved), (.transferFailed(reason: "x"), .failed), (.reject(reason: "x"), .transferring),
    ]

    @Test(arguments: illegal)
    func illegalMovesThrow(_ event: WithdrawalEvent, _ state: WithdrawalState) {
        #expect(throws: WithdrawalError.illegalTransition(from: state)) { try WithdrawalLifecycle.apply(event, to: state) }
    }

    @Test func rejectionsAndFailuresNeedAReason() {
        #expect(throws: WithdrawalError.reasonRequired) { try WithdrawalLifecycle.apply(.reject(reason: "  "), to: .requested) }
        #expect(throws: WithdrawalError.reasonRequired) { try WithdrawalLifecycle.apply(.fail(reason: ""), to: .approved) }
    }
}
