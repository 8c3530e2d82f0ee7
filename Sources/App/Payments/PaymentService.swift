import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

enum PaymentMethod: String, Codable, CaseIterable, Sendable {
    case sandbox, balance, wechat, alipay
}

/// What can go wrong with paying, worded for the buyer.
enum PaymentRefusal: APIErrorConvertible {
    case notPayable(PaymentStatus)
    case expired
    case methodUnavailable(String)
    case methodChosen(String)
    case amountChanged

    var apiError: APIError {
        switch self {
        case .notPayable(let status):
            status == .succeeded
                ? APIError(.conflict, "payment.already_paid", .init("该订单已支付", "This has already been paid"))
                : APIError(.conflict, "payment.closed", .init("订单已取消或超时关闭，无法支付", "This checkout was cancelled or timed out and cannot be paid"))
        case .expired:
            APIError(.conflict, "payment.expired", .init("支付已超时，订单即将关闭", "The time to pay has run out; the order will close"))
        case .methodUnavailable(let method):
            APIError(.unprocessableEntity, "payment.method_unavailable", .init("暂不支持该支付方式：\(method)", "This payment method is not available: \(method)"),
                     details: [.init("method", .init("不支持的支付方式", "Unsupported method"))])
        case .amountChanged:
            APIError(.conflict, "payment.amount_changed", .init("商家刚刚修改了价格，请确认新金额后再支付", "The shop has just changed the price; check the new amount and pay again"))
        case .methodChosen(let method):
            APIError(.conflict, "payment.method_chosen", .init("该笔支付已选择其他支付方式（\(method)）", "This payment already uses another method (\(method))"))
        }
    }
}

/// Money in for orders. Every method expects `db` to be a write transaction: the payment's
/// status, the orders' states, the ledger and the outbox commit together.
struct PaymentService {
    let db: any Database
    let now: Date

    static func owned(_ id: UUID, memberID: UUID, on db: any Database) async throws -> Payment {
        guard let payment = try await Payment.query(on: db).filter(\.$id == id).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return payment
    }

    /// Pays from the member's balance. The ledger refuses to take the balance below zero, also for
    /// concurrent payments, and the payment moves only from `created`, so it is taken once.
    func payWithBalance(_ payment: Payment) async throws {
        try requirePayable(payment, method: .balance)
        let entries = [LedgerEntry.debit(try LedgerAccountKey(.memberBalance, .member(payment.memberID)), Money(fen: payment.amount))]
        try await settle(payment, method: .balance, tradeNo: "", source: entries)
    }

    /// 零元订单: coupons, points or a points-mall item left nothing to pay. Paid as it is placed,
    /// nothing taken from anyone; booked as the balance method, so a refund needs no provider either.
    func settleNothingDue(_ payment: Payment) async throws {
        guard payment.amount == 0 else { return }
        try requirePayable(payment, method: .balance)
        try await settle(payment, method: .balance, tradeNo: "", source: [])
    }

    /// Chooses a provider that confirms later (the sandbox, WeChat Pay, Alipay).
    func choose(_ payment: Payment, method: PaymentMethod) async throws {
        try requirePayable(payment, method: method)
        guard payment.provider.isEmpty else { return }
        let chosen = try await sqlDatabase(db).raw("""
            UPDATE payments SET provider = \(bind: method.rawValue) WHERE id = \(bind: payment.requireID()) AND provider = '' AND status = 'created' RETURNING id
            """).all()
        guard !chosen.isEmpty else { throw PaymentRefusal.methodChosen(payment.provider) }
        payment.provider = method.rawValue
    }

    private func requirePayable(_ payment: Payment, method: PaymentMethod) throws {
        let status = PaymentStatus(rawValue: payment.status) ?? .closed
        guard status == .created else { throw PaymentRefusal.notPayable(status) }
        guard now < payment.expiresAt else { throw PaymentRefusal.expired }
        if !payment.provider.isEmpty, payment.provider != method.rawValue { throw PaymentRefusal.methodChosen(payment.provider) }
    }

    /// A provider says `amount` was paid for `paymentNo`. Applied once however often it is said:
    /// a repeat is a duplicate, money for a closed payment is recorded and sent back, and an
    /// amount other than the payment's is refused with nothing changed.
    @discardableResult
    func confirm(paymentNo: String, method: PaymentMethod, tradeNo: String, amount: Money) async throws -> PaymentOutcome {
        // Concurrent deliveries queue on the payment's row (SQLite's write gate does this already),
        // so each reads the status the one before it left and a repeat is seen as a repeat.
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT id FROM payments WHERE payment_no = \(bind: paymentNo) FOR UPDATE").run()
        }
        guard let payment = try await Payment.query(on: db).filter(\.$paymentNo == paymentNo).first() else { throw APIError.notFound }
        let status = PaymentStatus(rawValue: payment.status) ?? .closed
        let outcome = try PaymentFlow.apply(.succeeded(amount: amount), to: status, expected: Money(fen: payment.amount), orderState: .pendingPayment)
        switch outcome {
        case .moved:
            try await settle(payment, method: method, tradeNo: tradeNo, source: [.debit(.platform(.paymentClearing), amount)])
        case .duplicate:
            break
        case .latePaymentToRefund:
            try await returnLatePayment(payment, method: method, tradeNo: tradeNo, amount: amount)
        }
        return outcome
    }

    /// Marks the payment and its orders paid and books the money: what the buyer paid goes to each
    /// merchant's pending account less the platform's service fee on the goods.
    private func settle(_ payment: Payment, method: PaymentMethod, tradeNo: String, source: [LedgerEntry]) async throws {
        let paymentID = try payment.requireID()
        let moved = try await sqlDatabase(db).raw("""
            UPDATE payments SET status = 'succeeded', provider = \(bind: method.rawValue), provider_trade_no = \(bind: tradeNo), paid_at = \(bind: now)
            WHERE id = \(bind: paymentID) AND status = 'created' AND amount = \(bind: payment.amount) RETURNING id
            """).all()
        guard !moved.isEmpty else {
            // Closed, paid or repriced by someone else between our read and this update.
            let current = try await Payment.find(paymentID, on: db)
            if let current, current.status == PaymentStatus.created.rawValue, current.amount != payment.amount { throw PaymentRefusal.amountChanged }
            throw PaymentRefusal.notPayable(PaymentStatus(rawValue: current?.status ?? "") ?? .closed)
        }
        payment.status = PaymentStatus.succeeded.rawValue
        payment.provider = method.rawValue
        payment.providerTradeNo = tradeNo
        payment.paidAt = now
        let orders = try await Order.query(on: db).filter(\.$paymentID == paymentID).sort(\.$orderNo).all()
        var entries = source
        var fees = Money.zero
        var subsidies = Money.zero
        let service = OrderService(db: db, now: now)
        for order in orders {
            let goods = Money(fen: order.payable - order.shippingFee)
            let fee = try ServiceFee.charge(on: goods, rate: BasisPoints(order.serviceRateBP))
            fees = try fees.adding(fee)
            // A platform coupon's part of the goods is the platform's cost: it pays the shop that part.
            let platformShare = try await CouponService(db: db, now: now).platformShare(orderID: order.requireID())
            subsidies = try subsidies.adding(platformShare)
            let toMerchant = try Money(fen: order.payable).adding(platformShare).subtracting(fee)
            if toMerchant.fen > 0 { entries.append(.credit(try LedgerAccountKey(.merchantPending, .merchant(order.merchantID)), toMerchant)) }
            try await sqlDatabase(db).raw("UPDATE orders SET service_fee = \(bind: fee.fen) WHERE id = \(bind: order.requireID())").run()
            order.serviceFee = fee.fen
            try await service.transition(order, .pay, actor: .provider, stamp: "paid_at")
            try await RedemptionService(db: db, now: now).issue(for: order)
            try await service.enqueue("order.paid", subject: order.requireID())
            let orderID = try order.requireID()
            try await sqlDatabase(db).raw("""
                UPDATE products SET sales_count = sales_count
                  + (SELECT COALESCE(SUM(quantity), 0) FROM order_lines WHERE order_lines.order_id = \(bind: orderID) AND order_lines.product_id = products.id)
                WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = \(bind: orderID))
                """).run()
        }
        if fees.fen > 0 { entries.append(.credit(.platform(.feeRevenue), fees)) }
        if subsidies.fen > 0 { entries.append(.debit(.platform(.marketingCost), subsidies)) }
        // Nothing paid and nothing owed by the platform (a shop's own coupons covered it all): no money moved.
        if !entries.isEmpty {
            _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "payment:\(payment.paymentNo)", kind: "order_payment", memo: method.rawValue, entries: entries))
        }
        // Group buys and bargains follow their orders; a joiner's payment too late for its group is
        // refunded (opened here, sent by the group-buy job after the commit).
        try await ActivityOrders(db: db, now: now).paid(orders)
    }

    /// Money arrived for a checkout that had closed: booked in and out again, the refund recorded
    /// for the provider to carry out. The orders stay closed.
    private func returnLatePayment(_ payment: Payment, method: PaymentMethod, tradeNo: String, amount: Money) async throws {
        let ledger = LedgerService(db: db, now: now)
        _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
            idempotencyKey: "late-payment:\(payment.paymentNo)", kind: "late_payment", memo: method.rawValue,
            entries: [.debit(.platform(.paymentClearing), amount), .credit(.platform(.paymentsToReturn), amount)]))
        _ = try await ledger.postWithinTransaction(LedgerTransactionDraft(
            idempotencyKey: "late-payment-refund:\(payment.paymentNo)", kind: "late_payment_refund", memo: tradeNo,
            entries: [.debit(.platform(.paymentsToReturn), amount), .credit(.platform(.paymentClearing), amount)]))
        let orders = try await Order.query(on: db).filter(\.$paymentID == payment.requireID()).all()
        let service = OrderService(db: db, now: now)
        for order in orders {
            try await service.appendEvent(orderID: order.requireID(), from: order.orderState, to: order.orderState, action: "late_payment_refunded",
                                          actor: .provider, reason: "\(method.rawValue) \(tradeNo) \(amount.formatted(.zhHans))")
        }
    }
}
