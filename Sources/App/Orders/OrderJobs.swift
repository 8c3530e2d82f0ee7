import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Vapor

/// The order timers. Each item is handled in a transaction of its own and moved by a conditional
/// update, so two instances running the jobs at once never handle an order twice: the second one's
/// move finds the state changed and skips it.
enum OrderJobs {
    struct Settings: Sendable {
        var autoReceiptDays = 10
        var afterSalesDays = AfterSaleService.windowDays
        /// A checkout at a provider with no callback after this long is asked about.
        var queryAfterSeconds: TimeInterval = 180
        var appealDays = 7
        var batch = 200
    }

    struct Report: Sendable, Equatable {
        var closed = 0
        var paidOnQuery = 0
        var received = 0
        var completed = 0
        var rejectionsClosed = 0
        var refundsSent = 0
        /// Flash sale items whose session ended, their unsold units back to the SKUs.
        var flashReleased = 0
    }

    static func runAll(_ app: Application, settings: Settings = .init()) async throws -> Report {
        var report = Report()
        report.paidOnQuery = try await queryQuiet(app, settings: settings)
        let closing = try await closeUnpaid(app, settings: settings)
        report.closed = closing.closed
        report.paidOnQuery += closing.paid
        report.received = try await confirmShipped(app, settings: settings)
        report.rejectionsClosed = try await closeStaleRejections(app, settings: settings)
        report.completed = try await complete(app, settings: settings)
        report.refundsSent = try await resendRefunds(app, settings: settings)
        report.flashReleased = try await FlashSaleService.releaseEnded(app, batch: settings.batch)
        return report
    }

    /// Unpaid checkouts past their time. A provider is asked first: a payment whose callback was
    /// lost is applied instead of closed. Then the provider's side is closed, and ours with it.
    static func closeUnpaid(_ app: Application, settings: Settings) async throws -> (closed: Int, paid: Int) {
        let now = app.clock.now()
        let due = try await Payment.query(on: app.db).filter(\.$status == PaymentStatus.created.rawValue)
            .filter(\.$expiresAt <= now).sort(\.$expiresAt).limit(settings.batch).all()
        var closed = 0
        var paid = 0
        for payment in due {
            if try await applyIfPaid(payment, app: app) {
                paid += 1
                continue
            }
            if let method = PaymentMethod(rawValue: payment.provider), let gateway = app.paymentGateways[method] {
                do { try await gateway.close(paymentNo: payment.paymentNo) } catch {
                    // Not closed at the provider: try again next round rather than risk a late payment.
                    app.logger.warning("closing \(payment.paymentNo) at \(method.rawValue) failed: \(error)")
                    continue
                }
            }
            let done = try await app.writeGate.transaction(on: app.db) { db in
                guard let fresh = try await Payment.find(payment.requireID(), on: db) else { return false }
                return try await OrderService(db: db, now: now).closeUnpaid(fresh, action: .closeUnpaid, actor: .system, reason: "unpaid in time")
            }
            if done { closed += 1 }
        }
        return (closed, paid)
    }

    /// Checkouts at a provider with no callback for a few minutes: asked actively. The answer and a
    /// late callback converge on one payment through `PaymentService.confirm`.
    static func queryQuiet(_ app: Application, settings: Settings) async throws -> Int {
        let now = app.clock.now()
        let quiet = try await Payment.query(on: app.db).filter(\.$status == PaymentStatus.created.rawValue)
            .filter(\.$provider != "").filter(\.$provider != PaymentMethod.balance.rawValue)
            .filter(\.$createdAt <= now.addingTimeInterval(-settings.queryAfterSeconds)).filter(\.$expiresAt > now)
            .sort(\.$createdAt).limit(settings.batch).all()
        var paid = 0
        for payment in quiet where try await applyIfPaid(payment, app: app) { paid += 1 }
        return paid
    }

    private static func applyIfPaid(_ payment: Payment, app: Application) async throws -> Bool {
        guard let method = PaymentMethod(rawValue: payment.provider), let gateway = app.paymentGateways[method] else { return false }
        let state: ProviderPaymentState
        do { state = try await gateway.query(paymentNo: payment.paymentNo) } catch {
            app.logger.warning("querying \(payment.paymentNo) at \(method.rawValue) failed: \(error)")
            return false
        }
        guard case let .paid(tradeNo, amount) = state else { return false }
        let now = app.clock.now()
        let outcome = try await app.writeGate.transaction(on: app.db) { db in
            try await PaymentService(db: db, now: now).confirm(paymentNo: payment.paymentNo, method: method, tradeNo: tradeNo, amount: amount)
        }
        return outcome != .duplicate
    }

    /// Shipped orders the buyer never confirmed are received after `autoReceiptDays`.
    static func confirmShipped(_ app: Application, settings: Settings) async throws -> Int {
        let now = app.clock.now()
        let due = try await Order.query(on: app.db).filter(\.$state == OrderState.shipped.rawValue)
            .filter(\.$shippedAt <= now.addingTimeInterval(-Double(settings.autoReceiptDays) * 86_400)).limit(settings.batch).all()
        var count = 0
        for order in due {
            let moved = try await skippingLostRaces {
                try await app.writeGate.transaction(on: app.db) { db in
                    guard let fresh = try await Order.find(order.requireID(), on: db) else { return }
                    let service = OrderService(db: db, now: now)
                    try await service.transition(fresh, .confirmReceipt, actor: .system, reason: "auto receipt", stamp: "received_at")
                    try await service.enqueue("order.received", subject: fresh.requireID())
                }
            }
            if moved { count += 1 }
        }
        return count
    }

    /// Received orders whose after-sales window has ended with nothing open: completed, and what
    /// the shop keeps of them moves from pending to receivable in the ledger.
    static func complete(_ app: Application, settings: Settings) async throws -> Int {
        let now = app.clock.now()
        let due = try await Order.query(on: app.db).filter(\.$state == OrderState.received.rawValue).filter(\.$openAfterSales == 0)
            .filter(\.$receivedAt <= now.addingTimeInterval(-Double(settings.afterSalesDays) * 86_400)).limit(settings.batch).all()
        var count = 0
        for order in due {
            let moved = try await skippingLostRaces {
                try await app.writeGate.transaction(on: app.db) { db in
                    guard let fresh = try await Order.find(order.requireID(), on: db), fresh.openAfterSales == 0 else { return }
                    let service = OrderService(db: db, now: now)
                    try await service.transition(fresh, .complete, actor: .system, reason: "after-sales window ended",
                                                 facts: OrderFacts(fulfilment: fresh.fulfilmentKind, afterSalesWindowEnded: true), stamp: "finished_at")
                    // Commission not yet settled left the shop's pending money at payment.
                    let commissions = CommissionService(db: db, now: now)
                    try await commissions.ensureBooked(fresh)
                    let kept = fresh.payable - fresh.serviceFee - (fresh.refundedAmount - fresh.feeReturned)
                        - (try await commissions.outstanding(orderID: fresh.requireID()))
                        + (try await CouponService(db: db, now: now).platformShare(orderID: fresh.requireID())).fen
                    if kept > 0 {
                        let shop = LedgerOwner.merchant(fresh.merchantID)
                        _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
                            idempotencyKey: "order-complete:\(fresh.orderNo)", kind: "order_completed", memo: fresh.orderNo,
                            entries: [.debit(try LedgerAccountKey(.merchantPending, shop), Money(fen: kept)),
                                      .credit(try LedgerAccountKey(.merchantReceivable, shop), Money(fen: kept))]))
                    }
                    try await service.enqueue("order.completed", subject: fresh.requireID())
                }
            }
            if moved { count += 1 }
        }
        return count
    }

    /// A rejection nobody appealed within `appealDays` closes, and no longer holds the order.
    static func closeStaleRejections(_ app: Application, settings: Settings) async throws -> Int {
        let now = app.clock.now()
        let due = try await AfterSale.query(on: app.db).filter(\.$state == AfterSaleState.rejected.rawValue)
            .filter(\.$updatedAt <= now.addingTimeInterval(-Double(settings.appealDays) * 86_400)).limit(settings.batch).all()
        var count = 0
        for sale in due {
            let moved = try await skippingLostRaces {
                try await app.writeGate.transaction(on: app.db) { db in
                    guard let fresh = try await AfterSale.find(sale.requireID(), on: db) else { return }
                    try await AfterSaleService(db: db, now: now).move(fresh, .close, actor: .system, note: "no appeal")
                }
            }
            if moved { count += 1 }
        }
        return count
    }

    /// Refunds opened but not answered (a crash or a provider error after the commit): asked again.
    static func resendRefunds(_ app: Application, settings: Settings) async throws -> Int {
        let now = app.clock.now()
        let pending = try await Refund.query(on: app.db).filter(\.$status == RefundStatus.pending.rawValue).filter(\.$providerRefundNo == "")
            .filter(\.$createdAt <= now.addingTimeInterval(-60)).limit(settings.batch).all()
        var count = 0
        for refund in pending {
            do {
                try await RefundService.send(refund.requireID(), app: app)
                count += 1
            } catch {
                app.logger.warning("refund \(refund.refundNo) failed again: \(error)")
            }
        }
        return count
    }

    /// Another instance moved it first: not an error, just nothing left to do.
    private static func skippingLostRaces(_ body: () async throws -> Void) async throws -> Bool {
        do {
            try await body()
            return true
        } catch is OrderTransitionError {
            return false
        } catch is AfterSaleError {
            return false
        }
    }
}

/// `fission order-jobs`: every order timer once (what `serve` runs each minute).
struct OrderJobsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "after-sales-days", help: "Complete received orders after this many days instead of the usual 7 (0 to try settlement at once)")
        var afterSalesDays: Int?
        @Option(name: "auto-receipt-days", help: "Confirm receipt of shipped orders after this many days instead of the usual 10")
        var autoReceiptDays: Int?
    }
    var help: String { "Closes unpaid checkouts (asking the provider first), confirms receipt, completes orders, closes stale rejections, resends refunds, hands order events to their handlers." }

    func run(using context: CommandContext, signature: Signature) async throws {
        var settings = OrderJobs.Settings()
        if let days = signature.afterSalesDays {
            guard (0...365).contains(days) else { throw ConfigError("--after-sales-days must be 0 to 365") }
            settings.afterSalesDays = days
        }
        if let days = signature.autoReceiptDays {
            guard (0...365).contains(days) else { throw ConfigError("--auto-receipt-days must be 0 to 365") }
            settings.autoReceiptDays = days
        }
        // Events first, so commission booked at payment exists before receipt and completion.
        _ = try await OutboxDispatcher.run(context.application)
        let report = try await OrderJobs.runAll(context.application, settings: settings)
        let outbox = try await OutboxDispatcher.run(context.application)
        context.console.print("outbox handled \(outbox.handled), failed \(outbox.failed)")
        let settlement = try await CommissionSettlement.run(context.application)
        context.console.print("commission batches \(settlement.batches), settled \(settlement.settled), awaiting approval \(settlement.awaitingApproval)")
        context.console.print("points expired \(try await PointsJobs.expire(context.application))")
        context.console.print("closed \(report.closed), paid on query \(report.paidOnQuery), received \(report.received), completed \(report.completed), rejections closed \(report.rejectionsClosed), refunds sent \(report.refundsSent)")
    }
}

/// One timer as a command of its own, for a cron that runs them separately.
struct OrderJobCommand: AsyncCommand {
    enum Job: String { case closeUnpaid = "close-unpaid-orders", confirmShipped = "confirm-shipped-orders", complete = "complete-orders" }
    struct Signature: CommandSignature {}
    let job: Job
    var help: String { "Runs the \(job.rawValue) job once." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let count: Int
        switch job {
        case .closeUnpaid: count = try await OrderJobs.closeUnpaid(app, settings: .init()).closed
        case .confirmShipped: count = try await OrderJobs.confirmShipped(app, settings: .init())
        case .complete: count = try await OrderJobs.complete(app, settings: .init())
        }
        context.console.print("\(job.rawValue): \(count)")
    }
}

/// While `fission serve` runs, the order timers and commission settlement run every minute, the outbox every five seconds and the grade assessment once a day (FISSION_JOBS=off turns them off).
struct ScheduledOrderJobs: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    /// Order events are handed on every few seconds, so commission shows soon after payment.
    private let outboxTask = NIOLockedValueBox<RepeatedTask?>(nil)
    private let assessedDay = NIOLockedValueBox("")

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve",
              ProcessInfo.processInfo.environment["FISSION_JOBS"] != "off" else { return }
        let assessedDay = self.assessedDay
        let started = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .seconds(20), delay: .minutes(1)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do {
                    let report = try await OrderJobs.runAll(app)
                    if report != .init() { app.logger.info("order jobs: \(report)") }
                } catch {
                    app.logger.error("order jobs failed: \(error)")
                }
                do {
                    let report = try await GroupBuyJobs.run(app)
                    if report != .init() { app.logger.info("group buys: \(report)") }
                } catch {
                    app.logger.error("group-buy jobs failed: \(error)")
                }
                do {
                    let report = try await CommissionSettlement.run(app)
                    if report != .init() { app.logger.info("commission settlement: \(report)") }
                } catch {
                    app.logger.error("commission settlement failed: \(error)")
                }
                do {
                    let expired = try await PointsJobs.expire(app)
                    if expired > 0 { app.logger.info("points expired: \(expired)") }
                } catch {
                    app.logger.error("points expiry failed: \(error)")
                }
                do {
                    let report = try await WithdrawalPayouts.sync(app)
                    if report != .init() { app.logger.info("withdrawal transfers: \(report)") }
                } catch {
                    app.logger.error("withdrawal transfer query failed: \(error)")
                }
                // Grades once a China day, after 03:00.
                let day = CommissionSettlement.period("daily", of: app.clock.now())
                if app.clock.now() >= day.start.addingTimeInterval(3 * 3_600), assessedDay.withLockedValue({ $0 }) != day.label {
                    do {
                        let report = try await GradeAssessment.run(app)
                        assessedDay.withLockedValue { $0 = day.label }
                        app.logger.info("grade assessment: \(report)")
                    } catch {
                        app.logger.error("grade assessment failed: \(error)")
                    }
                }
            }
        }
        task.withLockedValue { $0 = started }
        let outbox = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do {
                    let report = try await OutboxDispatcher.run(app)
                    if report.failed > 0 { app.logger.warning("outbox: \(report)") }
                } catch {
                    app.logger.error("outbox failed: \(error)")
                }
            }
        }
        outboxTask.withLockedValue { $0 = outbox }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
        outboxTask.withLockedValue { $0?.cancel() }
    }
}
