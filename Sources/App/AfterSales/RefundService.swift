import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Money back through the payment's own channel, in two steps so that no provider call happens
/// inside a database transaction: `open` reserves the units and amounts and writes a pending
/// refund (in the after-sale's transaction); the provider is asked after the commit; `confirm`
/// books the ledger and finishes the after-sale once the provider says it is done. A refund left
/// pending by a crash is asked for again by the refund job (providers dedupe by our refund number).
struct RefundService {
    let db: any Database
    let now: Date

    /// Reserves and records the refund of an after-sale that has just moved to `refunding`.
    func open(for sale: AfterSale) async throws -> Refund {
        guard let order = try await Order.find(sale.orderID, on: db), let line = try await OrderLine.find(sale.orderLineID, on: db),
              let payment = try await Payment.find(order.paymentID, on: db) else { throw APIError.notFound }
        let total = try Money(fen: sale.amount).adding(Money(fen: sale.shippingAmount))
        try Refunds.checkOrderTotal(paid: Money(fen: order.payable), refundedBefore: Money(fen: order.refundedAmount), refunding: total)
        let goodsBase = Money(fen: order.payable - order.shippingFee)
        let goodsRefundedBefore = Money(fen: order.refundedAmount - (try await shippingRefunded(order)))
        let feeReversal = try ServiceFee.reversal(fee: Money(fen: order.serviceFee), base: goodsBase,
                                                  refundedBefore: goodsRefundedBefore, refunding: Money(fen: sale.amount))
        let sql = try sqlDatabase(db)
        // Reserved by conditional updates, so two refunds can never take more than the line and the order hold.
        let lineMoved = try await sql.raw("""
            UPDATE order_lines SET refunded_quantity = refunded_quantity + \(bind: sale.units), refunded_amount = refunded_amount + \(bind: sale.amount)
            WHERE id = \(bind: line.requireID()) AND refunded_quantity + \(bind: sale.units) <= quantity AND refunded_amount + \(bind: sale.amount) <= paid_amount
            RETURNING id
            """).all()
        let orderMoved = try await sql.raw("""
            UPDATE orders SET refunded_amount = refunded_amount + \(bind: total.fen), fee_returned = fee_returned + \(bind: feeReversal.fen)
            WHERE id = \(bind: order.requireID()) AND refunded_amount + \(bind: total.fen) <= payable RETURNING id
            """).all()
        guard !lineMoved.isEmpty, !orderMoved.isEmpty else {
            throw RefundError.exceedsRefundable(requested: total, refundable: Money(fen: max(order.payable - order.refundedAmount, 0)))
        }
        let refund = Refund()
        refund.refundNo = OrderService.number(prefix: "R", at: now)
        refund.paymentID = try payment.requireID()
        refund.orderID = try order.requireID()
        refund.afterSaleID = try sale.requireID()
        refund.orderLineID = try line.requireID()
        refund.units = sale.units
        refund.goodsAmount = sale.amount
        refund.shippingAmount = sale.shippingAmount
        refund.feeReversal = feeReversal.fen
        refund.status = RefundStatus.pending.rawValue
        refund.method = payment.provider
        refund.providerRefundNo = ""
        refund.reason = String(sale.reason.prefix(80))
        refund.createdAt = now
        try await refund.create(on: db)
        return refund
    }

    private func shippingRefunded(_ order: Order) async throws -> Int64 {
        let rows = try await Refund.query(on: db).filter(\.$orderID == order.requireID()).all()
        return rows.reduce(0) { $0 + $1.shippingAmount }
    }

    /// The provider's answer about a refund, from its synchronous reply or its callback. Applied
    /// once: a refund that is no longer pending is left alone.
    func confirm(refundNo: String, outcome: ProviderRefundState) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT id FROM refunds WHERE refund_no = \(bind: refundNo) FOR UPDATE").run()
        }
        guard let refund = try await Refund.query(on: db).filter(\.$refundNo == refundNo).first() else { throw APIError.notFound }
        guard refund.status == RefundStatus.pending.rawValue || refund.status == RefundStatus.failed.rawValue else { return }
        switch outcome {
        case .pending(let providerRefundNo):
            refund.providerRefundNo = providerRefundNo
            try await refund.save(on: db)
        case .failed(let reason):
            refund.status = RefundStatus.failed.rawValue
            refund.reason = String(("\(refund.reason) · \(reason)").prefix(200))
            try await refund.save(on: db)
        case .succeeded(let providerRefundNo):
            try await succeed(refund, providerRefundNo: providerRefundNo)
        }
    }

    private func succeed(_ refund: Refund, providerRefundNo: String) async throws {
        let moved = try await sqlDatabase(db).raw("""
            UPDATE refunds SET status = 'succeeded', provider_refund_no = \(bind: providerRefundNo), finished_at = \(bind: now)
            WHERE id = \(bind: refund.requireID()) AND status <> 'succeeded' RETURNING id
            """).all()
        guard !moved.isEmpty, let order = try await Order.find(refund.orderID, on: db) else { return }
        // The line's commission comes back to the shop first, so the shop can pay the buyer.
        try await CommissionService(db: db, now: now).refundSucceeded(refund, order: order)
        let total = Money(fen: refund.total)
        let fee = Money(fen: refund.feeReversal)
        // The shop gives back what it got for this money; the platform gives back its fee.
        let shopAccount: LedgerAccountPurpose = order.orderState == .completed ? .merchantReceivable : .merchantPending
        // The platform's share of the refunded units' coupons goes back to the platform's marketing cost.
        let coupons = CouponService(db: db, now: now)
        let points = PointsService(db: db, now: now)
        let pointsBefore = try await points.checkoutPoints(paymentID: order.paymentID)
        // A member's waived shipping goes back too when this refund undoes an order that never shipped.
        let platformShare = try await coupons.reverseDiscounts(refund)
            .adding(try await MemberCheckout(db: db, now: now).takeBackShipping(order))
        // Points spent on the checkout come back in the share of their value this refund reversed.
        let pointsAfter = try await points.checkoutPoints(paymentID: order.paymentID)
        let pointsBack = PointsReturn.earnedBack(reversed: pointsAfter.reversed, spent: pointsAfter.spent, value: pointsAfter.value)
            - PointsReturn.earnedBack(reversed: pointsBefore.reversed, spent: pointsBefore.spent, value: pointsBefore.value)
        try await points.giveBack(paymentID: order.paymentID, points: pointsBack,
                                  returnRef: PointsService.spendRef(paymentID: order.paymentID) + ":return:" + refund.refundNo)
        var entries: [LedgerEntry] = [.debit(try LedgerAccountKey(shopAccount, .merchant(order.merchantID)), try total.subtracting(fee).adding(platformShare))]
        if fee.fen > 0 { entries.append(.debit(.platform(.feeRevenue), fee)) }
        if platformShare.fen > 0 { entries.append(.credit(.platform(.marketingCost), platformShare)) }
        if refund.method == PaymentMethod.balance.rawValue {
            entries.append(.credit(try LedgerAccountKey(.memberBalance, .member(order.memberID)), total))
        } else {
            entries.append(.credit(.platform(.paymentClearing), total))
        }
        entries = entries.filter { $0.amount.fen > 0 }
        if entries.count >= 2 {
            _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "refund:\(refund.refundNo)", kind: "order_refund", memo: refund.method, entries: entries))
        }
        let orders = OrderService(db: db, now: now)
        if let saleID = refund.afterSaleID, let sale = try await AfterSale.find(saleID, on: db) {
            try await AfterSaleService(db: db, now: now).move(sale, .refundSucceeded, actor: .provider, note: providerRefundNo)
        }
        try await orders.enqueue("order.refunded", subject: refund.requireID(), payload: order.requireID().uuidString)
        try await coupons.giveBackIfFullyRefunded(paymentID: order.paymentID)
        // Goods redeemed in the points mall and refunded whole: the points come back.
        if let lineID = refund.orderLineID { try await PointsMallService(db: db, now: now).refunded(orderLineID: lineID) }
        // Everything paid has gone back: the order closes.
        guard let fresh = try await Order.find(refund.orderID, on: db), try await orders.whollyRefunded(fresh),
              [.paid, .shipped, .received].contains(fresh.orderState) else { return }
        try await orders.transition(fresh, .closeFullyRefunded, actor: .system, reason: "refunded in full",
                                    facts: OrderFacts(fulfilment: fresh.fulfilmentKind, fullyRefunded: true), stamp: "finished_at")
    }

    /// Asks the payment's provider for a refund that was opened, after its transaction committed,
    /// and applies an immediate answer. The balance refunds inside the ledger and needs no provider.
    static func send(_ refundID: UUID, app: Application) async throws {
        guard let refund = try await Refund.find(refundID, on: app.db), refund.status == RefundStatus.pending.rawValue,
              let payment = try await Payment.find(refund.paymentID, on: app.db) else { return }
        let outcome: ProviderRefundState
        if refund.method == PaymentMethod.balance.rawValue {
            outcome = .succeeded(providerRefundNo: "BAL" + refund.refundNo)
        } else if let method = PaymentMethod(rawValue: refund.method), let gateway = app.paymentGateways[method] {
            outcome = try await gateway.refund(ProviderRefundRequest(
                paymentNo: payment.paymentNo, providerTradeNo: payment.providerTradeNo, refundNo: refund.refundNo,
                paymentAmount: Money(fen: payment.amount), refundAmount: Money(fen: refund.total), reason: refund.reason))
        } else {
            app.logger.error("refund \(refund.refundNo): no gateway for \(refund.method)")
            return
        }
        let now = app.clock.now()
        try await app.writeGate.transaction(on: app.db) { db in
            try await RefundService(db: db, now: now).confirm(refundNo: refund.refundNo, outcome: outcome)
        }
    }
}
