import Foundation
import Testing
@testable import MallCore

@Suite struct CommissionLifecycleTests {
    func status(_ state: CommissionState, held: Bool = false) -> CommissionStatus { CommissionStatus(state: state, held: held) }

    @Test func aCommissionGoesPendingFrozenSettled() throws {
        var current = CommissionStatus()
        current = try CommissionLifecycle.apply(.received, to: current)
        #expect(current == status(.frozen))
        current = try CommissionLifecycle.apply(.settle, to: current)
        #expect(current == status(.settled))
    }

    static let illegal: [(CommissionEvent, CommissionState)] = [
        (.received, .frozen), (.received, .settled), (.received, .voided),
        (.settle, .pending), (.settle, .settled), (.settle, .voided),
        (.void, .settled), (.void, .voided), (.hold, .settled), (.hold, .voided),
    ]

    @Test(arguments: illegal)
    func illegalMovesThrow(_ event: CommissionEvent, _ state: CommissionState) {
        #expect(throws: CommissionLifecycleError.illegalTransition(from: state, event: event)) {
            try CommissionLifecycle.apply(event, to: status(state))
        }
    }

    @Test func aFullRefundBeforeSettlementVoids() throws {
        #expect(try CommissionLifecycle.apply(.void, to: status(.pending)) == status(.voided))
        #expect(try CommissionLifecycle.apply(.void, to: status(.frozen, held: true)) == status(.voided))
    }

    @Test func aHeldCommissionDoesNotSettleUntilReleased() throws {
        let held = try CommissionLifecycle.apply(.hold, to: status(.pending))
        #expect(held == status(.pending, held: true))
        let frozen = try CommissionLifecycle.apply(.received, to: held)
        #expect(frozen == status(.frozen, held: true))
        #expect(throws: CommissionLifecycleError.held) { try CommissionLifecycle.apply(.settle, to: frozen) }
        #expect(throws: CommissionLifecycleError.alreadyHeld) { try CommissionLifecycle.apply(.hold, to: frozen) }
        let released = try CommissionLifecycle.apply(.release, to: frozen)
        #expect(released == status(.frozen))
        #expect(throws: CommissionLifecycleError.notHeld) { try CommissionLifecycle.apply(.release, to: released) }
        #expect(try CommissionLifecycle.apply(.settle, to: released) == status(.settled))
    }

    @Test func settlementWaitsForTheWindowAndOpenAfterSales() {
        let received = Date(timeIntervalSince1970: 1_700_000_000)
        let sixDays = received.addingTimeInterval(6 * 86_400)
        let sevenDays = received.addingTimeInterval(7 * 86_400)
        let frozen = status(.frozen)
        #expect(!CommissionLifecycle.isSettleable(frozen, receivedAt: received, windowDays: 7, hasOpenAfterSale: false, now: sixDays))
        #expect(CommissionLifecycle.isSettleable(frozen, receivedAt: received, windowDays: 7, hasOpenAfterSale: false, now: sevenDays))
        #expect(!CommissionLifecycle.isSettleable(frozen, receivedAt: received, windowDays: 7, hasOpenAfterSale: true, now: sevenDays))
        #expect(!CommissionLifecycle.isSettleable(status(.frozen, held: true), receivedAt: received, windowDays: 7,
                                                  hasOpenAfterSale: false, now: sevenDays))
        #expect(!CommissionLifecycle.isSettleable(status(.pending), receivedAt: received, windowDays: 0, hasOpenAfterSale: false, now: sevenDays))
        #expect(CommissionLifecycle.isSettleable(frozen, receivedAt: received, windowDays: 0, hasOpenAfterSale: false, now: received))
        #expect(!CommissionLifecycle.isSettleable(frozen, receivedAt: received, windowDays: -1, hasOpenAfterSale: false, now: sevenDays))
    }

    // MARK: debt netting

    struct NettingCase: Sendable, CustomTestStringConvertible {
        let name: String
        let available: Int64
        let debt: Int64
        let event: CommissionBalanceEvent
        let newAvailable: Int64
        let newDebt: Int64
        let toDebt: Int64
        let toAvailable: Int64
        var testDescription: String { name }
    }

    static let nettingCases: [NettingCase] = [
        .init(name: "settle without debt", available: 500, debt: 0, event: .settle(Money(fen: 300)),
              newAvailable: 800, newDebt: 0, toDebt: 0, toAvailable: 300),
        .init(name: "settle pays part of a debt", available: 0, debt: 1_000, event: .settle(Money(fen: 300)),
              newAvailable: 0, newDebt: 700, toDebt: 300, toAvailable: 0),
        .init(name: "settle pays the debt and the rest is available", available: 0, debt: 200, event: .settle(Money(fen: 300)),
              newAvailable: 100, newDebt: 0, toDebt: 200, toAvailable: 100),
        .init(name: "claw back from the balance", available: 500, debt: 0, event: .clawBack(Money(fen: 300)),
              newAvailable: 200, newDebt: 0, toDebt: 0, toAvailable: 300),
        .init(name: "claw back more than the balance", available: 100, debt: 0, event: .clawBack(Money(fen: 300)),
              newAvailable: 0, newDebt: 200, toDebt: 200, toAvailable: 100),
        .init(name: "claw back on top of a debt", available: 0, debt: 50, event: .clawBack(Money(fen: 300)),
              newAvailable: 0, newDebt: 350, toDebt: 300, toAvailable: 0),
        .init(name: "nothing moves", available: 10, debt: 0, event: .settle(.zero),
              newAvailable: 10, newDebt: 0, toDebt: 0, toAvailable: 0),
    ]

    @Test(arguments: nettingCases)
    func debtIsNettedAgainstLaterCommission(_ c: NettingCase) throws {
        let result = try CommissionDebtNetting.apply(c.event, to: CommissionBalance(available: Money(fen: c.available), debt: Money(fen: c.debt)))
        #expect(result.balance == CommissionBalance(available: Money(fen: c.newAvailable), debt: Money(fen: c.newDebt)))
        #expect(result.toDebt.fen == c.toDebt)
        #expect(result.toAvailable.fen == c.toAvailable)
    }

    @Test func nettingRefusesNegativesAndOverflow() {
        #expect(throws: CommissionNettingError.negativeAmount) {
            try CommissionDebtNetting.apply(.settle(Money(fen: -1)), to: CommissionBalance())
        }
        #expect(throws: CommissionNettingError.negativeAmount) {
            try CommissionDebtNetting.apply(.clawBack(Money(fen: -1)), to: CommissionBalance())
        }
        #expect(throws: CommissionNettingError.negativeBalance) {
            try CommissionDebtNetting.apply(.settle(Money(fen: 1)), to: CommissionBalance(available: Money(fen: -1)))
        }
        #expect(throws: CommissionNettingError.overflow) {
            try CommissionDebtNetting.apply(.settle(Money(fen: 1)), to: CommissionBalance(available: Money(fen: .max)))
        }
        #expect(throws: CommissionNettingError.overflow) {
            try CommissionDebtNetting.apply(.clawBack(Money(fen: 2)), to: CommissionBalance(available: Money(fen: 1), debt: Money(fen: .max)))
        }
    }

    @Test func aDebtBlocksWithdrawalsUntilPaid() throws {
        // A settled ¥50 is clawed back from a ¥20 balance: ¥30 owed, withdrawal refused; ¥40 settles later.
        let owed = try CommissionDebtNetting.apply(.clawBack(Money(fen: 5_000)), to: CommissionBalance(available: Money(fen: 2_000)))
        #expect(owed.balance.hasDebt)
        let context = WithdrawalContext(available: owed.balance.available, debt: owed.balance.debt, weekday: 1, dayOfMonth: 1)
        #expect(throws: WithdrawalError.debtOpen(Money(fen: 3_000))) {
            try WithdrawalRules.check(amount: Money(fen: 100), channel: .balance, context: context, settings: WithdrawalSettings())
        }
        let repaid = try CommissionDebtNetting.apply(.settle(Money(fen: 4_000)), to: owed.balance)
        #expect(repaid.balance == CommissionBalance(available: Money(fen: 1_000), debt: .zero))
        let quote = try WithdrawalRules.check(amount: Money(fen: 1_000), channel: .balance,
                                              context: WithdrawalContext(available: repaid.balance.available, weekday: 1, dayOfMonth: 1),
                                              settings: WithdrawalSettings())
        #expect(quote.net == Money(fen: 1_000))
    }

    // MARK: refunds

    @Test func aRefundLowersVoidsOrClawsBack() throws {
        #expect(try CommissionLifecycle.refundEffect(state: .pending, before: Money(fen: 500), after: Money(fen: 500)) == CommissionRefundEffect.none)
        #expect(try CommissionLifecycle.refundEffect(state: .pending, before: Money(fen: 500), after: Money(fen: 200)) == .reduce(to: Money(fen: 200)))
        #expect(try CommissionLifecycle.refundEffect(state: .frozen, before: Money(fen: 500), after: .zero) == .void)
        #expect(try CommissionLifecycle.refundEffect(state: .settled, before: Money(fen: 500), after: Money(fen: 200)) == .clawBack(Money(fen: 300)))
        #expect(try CommissionLifecycle.refundEffect(state: .settled, before: Money(fen: 500), after: .zero) == .clawBack(Money(fen: 500)))
        #expect(throws: CommissionLifecycleError.amountWouldRise) {
            try CommissionLifecycle.refundEffect(state: .pending, before: Money(fen: 500), after: Money(fen: 501))
        }
        #expect(throws: CommissionLifecycleError.amountWouldRise) {
            try CommissionLifecycle.refundEffect(state: .pending, before: Money(fen: 500), after: Money(fen: -1))
        }
        #expect(throws: CommissionLifecycleError.illegalRefund(.voided)) {
            try CommissionLifecycle.refundEffect(state: .voided, before: Money(fen: 500), after: .zero)
        }
    }
}
