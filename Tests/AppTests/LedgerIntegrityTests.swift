import Fluent
import Foundation
import MallCore
import SQLiteNIO
import SQLKit
import Testing
import VaporTesting
@testable import App

/// What the ledger refuses and what verify-ledger finds, on SQLite and on PostgreSQL.
@Suite struct LedgerIntegrityTests {
    let clearing = LedgerAccountKey.platform(.paymentClearing)

    func topUp(_ member: UUID, _ fen: Int64, key: String, memo: String = "") throws -> LedgerTransactionDraft {
        LedgerTransactionDraft(idempotencyKey: key, kind: "member_topup", memo: memo, entries: [
            .debit(clearing, Money(fen: fen)),
            .credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: fen)),
        ])
    }

    func ledger(_ t: TestContext) -> LedgerService { LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate) }

    // MARK: idempotency

    @Test func aKeyReusedForADifferentDraftIsRefused() async throws {
        try await withMallApp { t in
            // setup
            let member = UUID()
            let other = UUID()
            let ledger = ledger(t)
            let first = try await ledger.post(try topUp(member, 500, key: "callback:wx:1", memo: "第一次"))
            // act + check: the same draft (other memo, other entry order) is a replay…
            let same = LedgerTransactionDraft(idempotencyKey: "callback:wx:1", kind: "member_topup", memo: "重发", entries: [
                .credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: 500)),
                .debit(clearing, Money(fen: 500)),
            ])
            #expect(try await ledger.post(same) == .init(transactionID: first.transactionID, replayed: true))
            // …another amount, another account or another kind is not.
            await #expect(throws: LedgerError.idempotencyKeyReused) { try await ledger.post(try topUp(member, 501, key: "callback:wx:1")) }
            await #expect(throws: LedgerError.idempotencyKeyReused) { try await ledger.post(try topUp(other, 500, key: "callback:wx:1")) }
            let otherKind = LedgerTransactionDraft(idempotencyKey: "callback:wx:1", kind: "refund", entries: try topUp(member, 500, key: "x").entries)
            await #expect(throws: LedgerError.idempotencyKeyReused) { try await ledger.post(otherKind) }
            // Inside a caller's transaction too.
            await #expect(throws: LedgerError.idempotencyKeyReused) {
                try await t.app.writeGate.transaction(on: t.app.db) { tx in
                    try await LedgerService(db: tx, now: Date()).postWithinTransaction(try topUp(member, 900, key: "callback:wx:1"))
                }
            }
            let replayedInside = try await t.app.writeGate.transaction(on: t.app.db) { tx in
                try await LedgerService(db: tx, now: Date()).postWithinTransaction(same)
            }
            #expect(replayedInside == .init(transactionID: first.transactionID, replayed: true))
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 500))
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(other))) == .zero)
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).count() == 1)
            let api = LedgerError.idempotencyKeyReused.apiError
            #expect(api.status == .conflict)
            #expect(api.code == "idempotency_key_reused")
            #expect(try await ledger.verify().ok)
        }
    }

    // MARK: append-only holes, tried with raw SQL

    @Test func rowsCannotBeReplacedTruncatedOrAddedTo() async throws {
        try await withMallApp { t in
            // setup
            let member = UUID()
            let ledger = ledger(t)
            let posted = try await ledger.post(try topUp(member, 5_000, key: "topup"))
            let sql = try sqlDatabase(t.app.db)
            let clearingID = try #require(try await ledger.openAccounts([clearing])[clearing])

            // act + check: rewriting a row in place
            if t.isPostgres {
                await #expect(throws: (any Error).self) {
                    try await sql.raw("""
                        INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at)
                        SELECT id, transaction_id, account_id, side, 1, created_at FROM ledger_postings
                        ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount
                        """).run()
                }
                for table in ["ledger_postings", "ledger_transactions", "ledger_chain_head"] {
                    await #expect(throws: (any Error).self) { try await sql.raw("TRUNCATE \(unsafeRaw: table) CASCADE").run() }
                }
            } else {
                await #expect(throws: (any Error).self) {
                    try await sql.raw("""
                        INSERT OR REPLACE INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at)
                        SELECT id, transaction_id, account_id, side, 1, created_at FROM ledger_postings
                        """).run()
                }
                await #expect(throws: (any Error).self) {
                    try await sql.raw("""
                        INSERT OR REPLACE INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
                        SELECT id, idempotency_key, 'forged', memo, created_at, draft_digest, sequence, hash, posting_count FROM ledger_transactions
                        """).run()
                }
                await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM ledger_chain_head").run() }
            }
            // A balanced pair of postings added to the old transaction.
            await #expect(throws: (any Error).self) {
                try await sql.raw("""
                    INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at) VALUES
                    (\(bind: UUID()), \(bind: posted.transactionID), \(bind: clearingID), 'debit', 700, \(bind: Date())),
                    (\(bind: UUID()), \(bind: posted.transactionID), \(bind: clearingID), 'credit', 700, \(bind: Date()))
                    """).run()
            }
            await #expect(throws: (any Error).self) {
                try await sql.raw("""
                    INSERT INTO ledger_postings (id, transaction_id, account_id, side, amount, created_at) VALUES
                    (\(bind: UUID()), \(bind: posted.transactionID), \(bind: clearingID), 'debit', 700, \(bind: Date()))
                    """).run()
            }
            // A transaction that is not the next link.
            await #expect(throws: (any Error).self) {
                try await sql.raw("""
                    INSERT INTO ledger_transactions (id, idempotency_key, kind, memo, created_at, draft_digest, sequence, hash, posting_count)
                    VALUES (\(bind: UUID()), 'forged', 'member_topup', '', \(bind: Date()), 'x', 7, 'x', 2)
                    """).run()
            }
            // check
            #expect(try await LedgerPosting.query(on: t.app.db).count() == 2)
            #expect(try await LedgerPosting.query(on: t.app.db).all().allSatisfy { $0.amount == 5_000 })
            #expect(try await ledger.verify().ok)
            _ = try await ledger.post(try topUp(member, 100, key: "topup:2"))
            #expect(try await ledger.verify().ok)
        }
    }

    // MARK: tamper evidence

    @Test func anEditThatKeepsEverySumIsFoundByTheChain() async throws {
        try await withMallApp(ledgerBrokenOnPurpose: true) { t in
            // setup
            let member = UUID()
            let ledger = ledger(t)
            _ = try await ledger.post(try topUp(member, 1_000, key: "topup:1"))
            let target = try await ledger.post(try topUp(member, 5_000, key: "topup:2"))
            _ = try await ledger.post(try topUp(member, 2_000, key: "topup:3"))
            #expect(try await ledger.verify().ok)
            // act: with the guards dropped, as someone with the database's owner rights would, both
            // postings of one transaction and both cached balances are raised by the same amount.
            let sql = try sqlDatabase(t.app.db)
            try await LedgerAppendOnly().revert(on: t.app.db)
            try await sql.raw("UPDATE ledger_postings SET amount = 50000 WHERE transaction_id = \(bind: target.transactionID)").run()
            try await sql.raw("UPDATE ledger_accounts SET balance = balance + 45000 WHERE purpose IN ('payment_clearing', 'member_balance')").run()
            // check: every sum and balance agrees; only the chain shows it.
            let report = try await ledger.verify()
            #expect(report.problems == [LedgerVerification.Problem.brokenChain(transactionID: LedgerHashing.text(target.transactionID)).description])
            #expect(report.totalDebits == 53_000)
        }
    }

    @Test func removingTheLastTransactionIsFoundByTheHead() async throws {
        try await withMallApp(ledgerBrokenOnPurpose: true) { t in
            // setup
            let member = UUID()
            let ledger = ledger(t)
            _ = try await ledger.post(try topUp(member, 1_000, key: "topup:1"))
            let last = try await ledger.post(try topUp(member, 5_000, key: "topup:2"))
            // act: the last transaction and its effect on both balances removed, guards dropped first
            let sql = try sqlDatabase(t.app.db)
            try await LedgerAppendOnly().revert(on: t.app.db)
            try await sql.raw("DELETE FROM ledger_postings WHERE transaction_id = \(bind: last.transactionID)").run()
            try await sql.raw("DELETE FROM ledger_transactions WHERE id = \(bind: last.transactionID)").run()
            try await sql.raw("UPDATE ledger_accounts SET balance = balance - 5000 WHERE purpose IN ('payment_clearing', 'member_balance')").run()
            // check
            #expect(try await ledger.verify().problems == [LedgerVerification.Problem.chainHeadMismatch(headSequence: 2, lastSequence: 1).description])
        }
    }

    @Test func verifyReadsALongLedgerInPages() async throws {
        try await withMallApp { t in
            // setup: more transactions than one page, written the way posting writes them
            let ledger = ledger(t)
            try await LedgerFill(app: t.app, ledger: ledger).fill(transactions: 120, members: 7, batch: 50)
            _ = try await ledger.post(try topUp(UUID(), 300, key: "after-fill"))
            // act
            let report = try await ledger.verify(pageSize: 16)
            // check
            #expect(report.ok, "\(report.problems)")
            #expect(report.transactionCount == 121)
            #expect(report.postingCount == 242)
            #expect(report.accountCount == 9)
            #expect(try await ledger.chainHead().sequence == 121)
        }
    }

    // MARK: accounts and bounds

    @Test func firstPostingsInOppositeOrdersDoNotDeadlock() async throws {
        try await withMallApp { t in
            // setup: four accounts that do not exist yet, named in a different order by each draft
            let members = (0..<4).map { _ in UUID() }
            let app = t.app
            let now = t.clock.now()
            // act
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        var order = members
                        if i % 2 == 1 { order.reverse() }
                        order = Array(order[(i % 4)...] + order[..<(i % 4)])
                        var entries: [LedgerEntry] = [.debit(.platform(.paymentClearing), Money(fen: 400))]
                        for member in order { entries.append(.credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: 100))) }
                        if i % 3 == 0 { entries.reverse() }
                        let draft = LedgerTransactionDraft(idempotencyKey: "first:\(i)", kind: "member_topup", entries: entries)
                        return try await LedgerService(db: app.db, now: now, gate: app.writeGate).post(draft).replayed
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            // check
            #expect(results.count == 24 && results.allSatisfy { !$0 })
            let ledger = LedgerService(db: app.db, now: now, gate: app.writeGate)
            for member in members {
                #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))) == Money(fen: 2_400))
            }
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aBalanceBeyondInt64IsRefusedNotRounded() async throws {
        try await withMallApp { t in
            // setup: a member holding all but 10 fen of what Int64 can count
            let member = UUID()
            let ledger = ledger(t)
            let memberKey = try LedgerAccountKey(.memberBalance, .member(member))
            _ = try await ledger.post(try topUp(member, Int64.max - 10, key: "huge"))
            // act + check: 11 fen more would pass Int64: refused, nothing written
            await #expect(throws: LedgerError.overflow) { try await ledger.post(try topUp(member, 11, key: "one-too-many")) }
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).count() == 1)
            _ = try await ledger.post(try topUp(member, 10, key: "exactly-full"))
            let stored = try #require(try await LedgerAccount.query(on: t.app.db).filter(\.$purpose == "member_balance").first())
            #expect(stored.balance == Int64.max)
            #expect(try await ledger.balance(of: memberKey) == Money(fen: Int64.max))
            // Past the service, the database itself refuses a sum that leaves Int64 (SQLite would store a float).
            let sql = try sqlDatabase(t.app.db)
            await #expect(throws: (any Error).self) {
                try await sql.raw("UPDATE ledger_accounts SET balance = balance + 1 WHERE purpose = 'member_balance'").run()
            }
            if !t.isPostgres {
                let kinds = try await sql.raw("SELECT DISTINCT typeof(balance) AS kind FROM ledger_accounts").all().map { try $0.decode(column: "kind", as: String.self) }
                #expect(kinds == ["integer"])
            }
            #expect(try await ledger.verify().ok)
        }
    }

    // MARK: waiting for another writer

    @Test func aWriterHeldUpByAnotherConnectionGivesUpWithA503() async throws {
        try await withMallApp { t in
            guard let path = t.sqlitePath else { return }
            // setup: another connection (as another process would) holds the write lock
            let other = try await SQLiteConnection.open(storage: .file(path: path))
            _ = try await other.query("BEGIN IMMEDIATE", [])
            let gate = WriteGate.serial(busyTimeoutMilliseconds: 400)
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: gate)
            // act
            let start = ContinuousClock.now
            var caught: (any Error)?
            do { _ = try await ledger.post(try topUp(UUID(), 100, key: "waits")) } catch { caught = error }
            let waited = ContinuousClock.now - start
            _ = try await other.query("ROLLBACK", [])
            try await other.close()
            // check: it waited about the timeout, then a clear 503
            let apiError = try #require(caught as? APIError, "\(String(describing: caught))")
            #expect(apiError.code == "database_busy")
            #expect(apiError.status == .serviceUnavailable)
            #expect(waited >= .milliseconds(350) && waited < .seconds(5), "\(waited)")
            #expect(try await ledger.post(try topUp(UUID(), 100, key: "waits")).replayed == false)
        }
    }
}
