import Foundation
import Testing
@testable import MallCore

@Suite struct LedgerTests {
    let member = UUID()
    let merchant = UUID()

    var memberBalance: LedgerAccountKey { get throws { try LedgerAccountKey(.memberBalance, .member(member)) } }

    @Test func aBalancedTransactionValidates() throws {
        let draft = LedgerTransactionDraft(idempotencyKey: "topup:1", kind: "member_topup", entries: [
            .debit(.platform(.paymentClearing), Money(fen: 5_000)),
            .credit(try memberBalance, Money(fen: 5_000)),
        ])
        let valid = try draft.validated()
        #expect(try valid.balanceDeltas[.platform(.paymentClearing)] == 5_000)
        #expect(try valid.balanceDeltas[memberBalance] == 5_000)
    }

    @Test func refusesWhatDoesNotBalance() throws {
        let unbalanced = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [
            .debit(.platform(.paymentClearing), Money(fen: 5_000)),
            .credit(try memberBalance, Money(fen: 4_999)),
        ])
        #expect(throws: LedgerError.unbalanced(debits: Money(fen: 5_000), credits: Money(fen: 4_999))) { try unbalanced.validated() }

        let single = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [.debit(.platform(.platformCash), Money(fen: 1))])
        #expect(throws: LedgerError.tooFewEntries) { try single.validated() }

        let zero = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [
            .debit(.platform(.platformCash), Money(fen: 0)), .credit(.platform(.feeRevenue), Money(fen: 0)),
        ])
        #expect(throws: LedgerError.nonPositiveAmount) { try zero.validated() }

        let noKey = LedgerTransactionDraft(idempotencyKey: " ", kind: "x", entries: [
            .debit(.platform(.platformCash), Money(fen: 1)), .credit(.platform(.feeRevenue), Money(fen: 1)),
        ])
        #expect(throws: LedgerError.invalidIdempotencyKey) { try noKey.validated() }

        let overflow = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [
            .debit(.platform(.platformCash), Money(fen: .max)), .debit(.platform(.platformCash), Money(fen: 1)),
            .credit(.platform(.feeRevenue), Money(fen: .max)),
        ])
        #expect(throws: LedgerError.overflow) { try overflow.validated() }
    }

    @Test func accountsBelongToTheRightKindOfOwner() {
        #expect(throws: LedgerError.wrongOwner(purpose: .merchantReceivable)) { try LedgerAccountKey(.merchantReceivable, .member(member)) }
        #expect(throws: LedgerError.wrongOwner(purpose: .platformCash)) { try LedgerAccountKey(.platformCash, .merchant(merchant)) }
        #expect((try? LedgerAccountKey(.merchantReceivable, .merchant(merchant))) != nil)
    }

    @Test func deltasFollowEachAccountsNormalSide() throws {
        // Commission moving from pending to available: both are liabilities, so pending falls and available rises.
        let pending = try LedgerAccountKey(.commissionPending, .member(member))
        let available = try LedgerAccountKey(.commissionAvailable, .member(member))
        let draft = try LedgerTransactionDraft(idempotencyKey: "settle:1", kind: "commission_settle", entries: [
            .debit(pending, Money(fen: 320)), .credit(available, Money(fen: 320)),
        ]).validated()
        #expect(try draft.balanceDeltas[pending] == -320)
        #expect(try draft.balanceDeltas[available] == 320)
    }

    @Test func deltasOfAnUnvalidatedDraftRefuseOverflowInsteadOfTrapping() throws {
        // platform_cash is an asset: a credit lowers it, and −Int64.min does not exist.
        let cash = LedgerAccountKey.platform(.platformCash)
        #expect(throws: LedgerError.overflow) { try LedgerEntry.credit(cash, Money(fen: .min)).balanceDelta }
        #expect(try LedgerEntry.debit(cash, Money(fen: .min)).balanceDelta == .min)
        let twice = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [
            .debit(cash, Money(fen: .max)), .debit(cash, Money(fen: 1)), .credit(.platform(.feeRevenue), Money(fen: 1)),
        ])
        #expect(throws: LedgerError.overflow) { try twice.balanceDeltas }
        let negative = LedgerTransactionDraft(idempotencyKey: "k", kind: "x", entries: [.credit(cash, Money(fen: .min))])
        #expect(throws: LedgerError.overflow) { try negative.balanceDeltas }
    }

    @Test func verificationReportsTotalsTooFarApartInsteadOfTrapping() {
        let problems = LedgerVerification.problems(transactions: [], accounts: [
            .init(accountID: "a1", label: "platform_cash@platform", purpose: .platformCash, cached: 0, debits: .max, credits: -1),
            .init(accountID: "a2", label: "member_balance@member:x", purpose: .memberBalance, cached: 0, debits: 1, credits: .min),
        ])
        #expect(problems == [
            .postingTotalsOutOfRange(account: "platform_cash@platform", debits: .max, credits: -1),
            .postingTotalsOutOfRange(account: "member_balance@member:x", debits: 1, credits: .min),
        ])
    }

    @Test func onlyClearingMayGoNegative() {
        #expect(LedgerAccountPurpose.allCases.filter(\.mayGoNegative) == [.paymentClearing])
    }

    @Test func verificationFindsEveryKindOfDifference() {
        let problems = LedgerVerification.problems(
            transactions: [
                .init(transactionID: "t1", debits: 100, credits: 100),
                .init(transactionID: "t2", debits: 100, credits: 90),
                .init(transactionID: "t3", debits: 0, credits: 0),
            ],
            accounts: [
                .init(accountID: "a1", label: "member_balance@member:x", purpose: .memberBalance, cached: 100, debits: 0, credits: 100),
                .init(accountID: "a2", label: "member_balance@member:y", purpose: .memberBalance, cached: 50, debits: 0, credits: 40),
                .init(accountID: "a3", label: "platform_cash@platform", purpose: .platformCash, cached: -5, debits: 0, credits: 5),
                .init(accountID: "a4", label: "payment_clearing@platform", purpose: .paymentClearing, cached: -5, debits: 0, credits: 5),
            ])
        #expect(problems == [
            .unbalancedTransaction(id: "t2", debits: 100, credits: 90),
            .unbalancedTransaction(id: "t3", debits: 0, credits: 0),
            .balanceMismatch(account: "member_balance@member:y", cached: 50, derived: 40),
            .negativeBalance(account: "platform_cash@platform", balance: -5),
        ])
    }
}
