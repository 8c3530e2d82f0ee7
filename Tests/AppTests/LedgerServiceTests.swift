import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

@Suite struct LedgerServiceTests {
    func topUp(_ member: UUID, _ fen: Int64, key: String) throws -> LedgerTransactionDraft {
        LedgerTransactionDraft(idempotencyKey: key, kind: "member_topup", entries: [
            .debit(.platform(.paymentClearing), Money(fen: fen)),
            .credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: fen)),
        ])
    }

    func spend(_ member: UUID, _ fen: Int64, key: String) throws -> LedgerTransactionDraft {
        LedgerTransactionDraft(idempotencyKey: key, kind: "balance_payment", entries: [
            .debit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: fen)),
            .credit(try LedgerAccountKey(.merchantReceivable, .merchant(Merchant.selfOperatedID)), Money(fen: fen)),
        ])
    }

    @Test func postingMovesBalancesBothWays() async throws {
        try await withMallApp { t in
            // setup
            let member = UUID()
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            // act
            _ = try await ledger.post(try topUp(member, 10_000, key: "topup:1"))
            _ = try await ledger.post(try spend(member, 2_550, key: "pay:1"))
            // check
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 7_450))
            #expect(try await ledger.balance(of: .platform(.paymentClearing)) == Money(fen: 10_000))
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantReceivable, .merchant(Merchant.selfOperatedID))) == Money(fen: 2_550))
            let report = try await ledger.verify()
            #expect(report.ok)
            #expect(report.transactionCount == 2)
            #expect(report.postingCount == 4)
            #expect(report.totalDebits == 12_550)
        }
    }

    @Test func theSameKeyPostsOnce() async throws {
        try await withMallApp { t in
            let member = UUID()
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            let first = try await ledger.post(try topUp(member, 500, key: "callback:wx:42"))
            var replays: [LedgerService.Posted] = []
            for _ in 0..<9 { replays.append(try await ledger.post(try topUp(member, 500, key: "callback:wx:42"))) }
            #expect(!first.replayed)
            #expect(replays.allSatisfy { $0.replayed && $0.transactionID == first.transactionID })
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 500))
            #expect(try await LedgerPosting.query(on: t.app.db).count() == 2)
        }
    }

    @Test func concurrentDeliveriesOfOneKeyPostOnce() async throws {
        try await withMallApp { t in
            let member = UUID()
            let app = t.app
            let now = t.clock.now()
            let results = try await withThrowingTaskGroup(of: LedgerService.Posted.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await LedgerService(db: app.db, now: now, gate: app.writeGate).post(try topUp(member, 800, key: "notify:alipay:7")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { !$0.replayed }.count == 1)
            #expect(Set(results.map(\.transactionID)).count == 1)
            #expect(try await LedgerService(db: app.db, now: now, gate: app.writeGate).balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 800))
        }
    }

    @Test func refusesToTakeABalanceBelowZero() async throws {
        try await withMallApp { t in
            let member = UUID()
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            _ = try await ledger.post(try topUp(member, 1_000, key: "topup:1"))
            await #expect(throws: LedgerError.insufficientFunds(account: "member_balance@member:\(member.uuidString.lowercased())")) {
                try await ledger.post(try spend(member, 1_001, key: "pay:too-much"))
            }
            // Nothing of the refused transaction remains, and its key is free again.
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).count() == 1)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 1_000))
            let retried = try await ledger.post(try spend(member, 1_000, key: "pay:too-much"))
            #expect(!retried.replayed)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == .zero)
        }
    }

    @Test func racingSpendsNeverOverdraw() async throws {
        try await withMallApp { t in
            // setup: ¥1.00 and twenty concurrent attempts to spend ¥0.30
            let member = UUID()
            let app = t.app
            let now = t.clock.now()
            _ = try await LedgerService(db: app.db, now: now, gate: app.writeGate).post(try topUp(member, 100, key: "topup"))
            // act
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await LedgerService(db: app.db, now: now, gate: app.writeGate).post(try spend(member, 30, key: "spend:\(i)"))
                            return true
                        } catch LedgerError.insufficientFunds {
                            return false
                        } catch {
                            Issue.record("unexpected error: \(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            // check
            #expect(outcomes.filter { $0 }.count == 3)
            let ledger = LedgerService(db: app.db, now: now, gate: app.writeGate)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 10))
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func verifyCatchesATamperedRow() async throws {
        try await withMallApp(ledgerBrokenOnPurpose: true) { t in
            let member = UUID()
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            _ = try await ledger.post(try topUp(member, 5_000, key: "topup"))
            #expect(try await ledger.verify().ok)
            try await runVerifyCommand(t.app)

            // The database refuses edits and deletions of postings outright…
            let sql = try sqlDatabase(t.app.db)
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE ledger_postings SET amount = 50000 WHERE side = 'credit'").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM ledger_postings").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM ledger_transactions").run() }
            #expect(try await ledger.verify().ok)

            // …so a tamperer with rights to drop the guard goes first, then edits a posting.
            try await LedgerAppendOnly().revert(on: t.app.db)
            try await sql.raw("UPDATE ledger_postings SET amount = 50000 WHERE side = 'credit'").run()

            let report = try await ledger.verify()
            #expect(report.problems.count == 3)
            #expect(report.problems.contains { $0.contains("does not balance") })
            #expect(report.problems.contains { $0.contains("hash chain broken") })
            #expect(report.problems.contains { $0.contains("member_balance") && $0.contains("stored balance 50.00 ≠ postings 500.00") })
            await #expect(throws: LedgerVerificationFailed.self) { try await runVerifyCommand(t.app) }
        }
    }

    @Test func verifyCatchesAnEditedCachedBalance() async throws {
        try await withMallApp(ledgerBrokenOnPurpose: true) { t in
            let member = UUID()
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            _ = try await ledger.post(try topUp(member, 5_000, key: "topup"))
            try await sqlDatabase(t.app.db).raw("UPDATE ledger_accounts SET balance = balance + 1 WHERE purpose = 'member_balance'").run()
            #expect(try await ledger.verify().problems == [
                "account member_balance@member:\(member.uuidString.lowercased()): stored balance 50.01 ≠ postings 50.00",
            ])
        }
    }

    private func runVerifyCommand(_ app: Application) async throws {
        var context = CommandContext(console: Terminal(), input: CommandInput(arguments: ["fission"]))
        context.application = app
        try await VerifyLedgerCommand().run(using: &context)
    }
}
