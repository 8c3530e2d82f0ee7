import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// The order timers and payment convergence with two instances of the mall on one database.
@Suite struct TwoInstanceTests {
    static func place(_ t: TestContext, _ s: OrderFlowTests.Shop) async throws -> CheckoutResultDTO {
        let json = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(s.address)"}"#
        let placed = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
        #expect(placed.status == .created, "\(placed.body.string)")
        return try placed.content.decode(CheckoutResultDTO.self)
    }

    static func pay(_ t: TestContext, _ s: OrderFlowTests.Shop, _ result: CheckoutResultDTO, method: String) async throws {
        let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"\#(method)"}"#, token: s.buyer)
        #expect(paid.status == .ok, "\(paid.body.string)")
    }

    static func count(_ t: TestContext, action: String) async throws -> Int {
        try await OrderEvent.query(on: t.app.db).filter(\.$action == action).count()
    }

    @Test func twoInstancesRunningTheJobsHandleEachOrderOnce() async throws {
        try await withMallApp { t in
            // setup: three shipped orders, two unpaid ones, one paid at the sandbox whose callback was lost
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            for _ in 0..<3 {
                let result = try await Self.place(t, s)
                try await Self.pay(t, s, result, method: "balance")
                let shipped = try await t.postJSON("/api/v1/merchant/orders/\(result.orders[0].id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)
                #expect(shipped.status == .ok, "\(shipped.body.string)")
            }
            for _ in 0..<2 { _ = try await Self.place(t, s) }
            let lost = try await Self.place(t, s)
            try await Self.pay(t, s, lost, method: "sandbox")
            _ = try await SandboxCharges.charge(try #require(try await Payment.find(lost.payment.id, on: t.app.db)), app: t.app)

            // act: both instances run every job at once, after the receipt time and again after the after-sales window
            let first = try await t.withSecondInstance { other in
                t.clock.advance(seconds: 11 * 86_400)
                let receipts = try await Self.runTogether(t.app, other)
                t.clock.advance(seconds: 8 * 86_400)
                let completions = try await Self.runTogether(t.app, other)
                return (receipts, completions)
            }

            // check: every order handled exactly once between the two (by the runs' own reports
            // too, when none gave up midway and lost its report)
            let (receipts, completions) = first
            if !receipts.gaveUp {
                #expect(receipts.reports.map(\.received).reduce(0, +) == 3)
                #expect(receipts.reports.map(\.closed).reduce(0, +) == 2)
                #expect(receipts.reports.map(\.paidOnQuery).reduce(0, +) == 1)
            }
            if !completions.gaveUp { #expect(completions.reports.map(\.completed).reduce(0, +) == 3) }
            #expect(try await Self.count(t, action: "confirm_receipt") == 3)
            #expect(try await Self.count(t, action: "complete") == 3)
            #expect(try await Self.count(t, action: "close_unpaid") == 2)
            #expect(try await Self.count(t, action: "pay") == 4)
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.completed").count() == 3)
            #expect(try await Order.find(lost.orders[0].id, on: t.app.db)?.state == "paid")
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 10 - 4)
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            let receivable = try await ledger.balance(of: LedgerAccountKey(.merchantReceivable, .merchant(s.f.shopA)))
            let completed = try await Order.query(on: t.app.db).filter(\.$state == "completed").all()
            #expect(receivable.fen == completed.reduce(0) { $0 + $1.payable - $1.serviceFee })
            #expect(try await ledger.verify().ok)
        }
    }

    /// Four runs at once over the two instances, then one more after them. On one SQLite file a
    /// run may give up waiting for the other instance's writer (503 `database_busy`, as a timer's
    /// run would on a loaded machine); the run after finishes what it left, and each order is still
    /// handled once. PostgreSQL has no such wait: there every run must finish.
    static func runTogether(_ one: Application, _ two: Application) async throws -> (reports: [OrderJobs.Report], gaveUp: Bool) {
        let onSQLite = ProcessInfo.processInfo.environment["DATABASE_URL"].map(\.isEmpty) ?? true
        var reports = try await withThrowingTaskGroup(of: OrderJobs.Report?.self) { group in
            for app in [one, two, one, two] {
                group.addTask {
                    do {
                        return try await OrderJobs.runAll(app)
                    } catch let error as APIError where onSQLite && error.code == WriteGate.busy.code {
                        return nil
                    }
                }
            }
            return try await group.reduce(into: [OrderJobs.Report?]()) { $0.append($1) }
        }
        let gaveUp = reports.contains { $0 == nil }
        reports.append(try await OrderJobs.runAll(one))
        return (reports.compactMap { $0 }, gaveUp)
    }

    @Test func tenCallbacksWhileTwoInstancesQueryTheProviderPayOnce() async throws {
        try await withMallApp { t in
            // setup: a checkout paid at the sandbox, quiet long enough to be queried
            let s = try await OrderFlowTests.shop(t)
            let result = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(s), token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await Self.pay(t, s, result, method: "sandbox")
            let notification = try await SandboxCharges.charge(try #require(try await Payment.find(result.payment.id, on: t.app.db)), app: t.app)
            t.clock.advance(seconds: 181)
            let body = Array(try JSONEncoder().encode(notification))
            let timestamp = Int64(t.clock.now().timeIntervalSince1970)
            let signature = t.app.sandboxGateway.sign(body: body, timestamp: timestamp)

            // act: ten deliveries and the active query of both instances, all at once. On one SQLite
            // file either may give up waiting for the other instance's writer (503): a provider
            // delivers again after anything but success, and the next timer queries again.
            let onSQLite = ProcessInfo.processInfo.environment["DATABASE_URL"].map(\.isEmpty) ?? true
            let (statuses, paidOnQuery) = try await t.withSecondInstance { other in
                try await withThrowingTaskGroup(of: (HTTPStatus?, Int).self) { group in
                    for index in 0..<10 {
                        let app = index.isMultiple(of: 2) ? t.app : other
                        group.addTask {
                            var status = HTTPStatus.serviceUnavailable
                            for _ in 0..<(onSQLite ? 5 : 1) where status == .serviceUnavailable {
                                status = try await app.testing().sendRequest(.POST, "/callbacks/sandbox", headers: [
                                    "Content-Type": "application/json", "X-Sandbox-Timestamp": String(timestamp), "X-Sandbox-Signature": signature,
                                ], body: .init(bytes: body)).status
                            }
                            return (status, 0)
                        }
                    }
                    for app in [t.app, other] {
                        group.addTask {
                            do {
                                return (nil, try await OrderJobs.queryQuiet(app, settings: .init()))
                            } catch let error as APIError where onSQLite && error.code == WriteGate.busy.code {
                                return (nil, 0)
                            }
                        }
                    }
                    return try await group.reduce(into: ([HTTPStatus](), 0)) { total, each in
                        if let status = each.0 { total.0.append(status) }
                        total.1 += each.1
                    }
                }
            }

            // check: one payment, one ledger transaction, each order paid once
            #expect(statuses.count == 10)
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
            #expect(paidOnQuery <= 1)
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.status == "succeeded")
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == "order_payment").count() == 1)
            #expect(try await Self.count(t, action: "pay") == 2)
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.paid").count() == 2)
            #expect(try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify().ok)
        }
    }

    /// A handler that writes a row of its own in the dispatcher's transaction and fails once for
    /// the subject given, after writing.
    static func recordingHandler(_ calls: NIOLockedValueBox<[UUID]>, failOnceFor failing: UUID? = nil) -> OutboxHandler {
        let failed = NIOLockedValueBox(false)
        return OutboxHandler(name: "test") { message, db, now in
            try await sqlDatabase(db).raw("""
                INSERT INTO outbox_messages (id, topic, subject_id, payload, created_at, attempts, last_error)
                VALUES (\(bind: UUID()), 'test.seen', \(bind: message.subjectID), '', \(bind: now), 0, '')
                """).run()
            if message.subjectID == failing, !failed.withLockedValue({ let was = $0; $0 = true; return was }) {
                throw Abort(.internalServerError, reason: "handler failed once")
            }
            calls.withLockedValue { $0.append(message.subjectID) }
        }
    }

    @Test func orderEventsReachTheirHandlerOnceAcrossTwoInstancesAndAFailureIsRetried() async throws {
        try await withMallApp { t in
            // setup: four paid orders; a handler for order.paid on both instances
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            var orders: [UUID] = []
            for _ in 0..<5 {
                let result = try await Self.place(t, s)
                try await Self.pay(t, s, result, method: "balance")
                orders.append(result.orders[0].id)
            }
            let late = orders.removeLast()
            try await OutboxMessage.query(on: t.app.db).filter(\.$subjectID == late).set(\.$createdAt, to: t.clock.now().addingTimeInterval(3600)).update()
            let calls = NIOLockedValueBox<[UUID]>([])
            let handler = Self.recordingHandler(calls, failOnceFor: late)

            // act: both instances dispatch the first four at once
            try await t.withSecondInstance { other in
                for app in [t.app, other] { app.outboxHandlers["order.paid"] = [handler] }
                _ = try await withThrowingTaskGroup(of: OutboxDispatcher.Report.self) { group in
                    for app in [t.app, other] { group.addTask { try await OutboxDispatcher.run(app, batch: 4) } }
                    return try await group.reduce(into: [OutboxDispatcher.Report]()) { $0.append($1) }
                }
            }

            // check: each handled once
            #expect(calls.withLockedValue { $0 }.sorted(by: { $0.uuidString < $1.uuidString }) == orders.sorted(by: { $0.uuidString < $1.uuidString }))
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "test.seen").count() == 4)

            // act + check: the fifth fails once, its write rolled back, and is handled on the next run
            let failing = try await OutboxDispatcher.run(t.app)
            #expect(failing.failed == 1)
            let row = try #require(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.paid").filter(\.$subjectID == late).first())
            #expect(row.handledAt == nil)
            #expect(row.attempts == 1)
            #expect(row.lastError.contains("handler failed once"))
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "test.seen").count() == 4 + 0)
            let retried = try await OutboxDispatcher.run(t.app)
            #expect(retried.failed == 0)
            #expect(calls.withLockedValue { $0 }.filter { $0 == late }.count == 1)
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.paid").filter(\.$handledAt == nil).count() == 0)
        }
    }
}
