import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct AfterSaleTests {
    /// A paid order of 3 × ¥100.00 from shop A (shipping ¥8 + ¥5 × 2 = ¥18), paid from the balance.
    static func paidOrder(_ t: TestContext, method: String = "balance") async throws -> (s: OrderFlowTests.Shop, order: OrderDTO, payment: PaymentDTO) {
        let s = try await OrderFlowTests.shop(t)
        try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
        try await Sku.query(on: t.app.db).filter(\.$id == s.milk.skus[0].id).set(\.$price, to: 10_000).update()
        let json = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":3}],"addressId":"\#(s.address)"}"#
        let result = try await t.postJSON("/api/v1/checkout", json, token: s.buyer).content.decode(CheckoutResultDTO.self)
        let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"\#(method)"}"#, token: s.buyer)
        #expect(paid.status == .ok, "\(paid.body.string)")
        if method == "sandbox" {
            let payment = try #require(try await Payment.find(result.payment.id, on: t.app.db))
            let notification = try await SandboxCharges.charge(payment, app: t.app)
            let body = Array(try JSONEncoder().encode(notification))
            let timestamp = Int64(t.clock.now().timeIntervalSince1970)
            let delivered = try await t.app.testing().sendRequest(.POST, "/callbacks/sandbox", headers: [
                "Content-Type": "application/json", "X-Sandbox-Timestamp": String(timestamp),
                "X-Sandbox-Signature": t.app.sandboxGateway.sign(body: body, timestamp: timestamp)], body: .init(bytes: body))
            #expect(delivered.status == .ok)
        }
        let order = try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)
        #expect(order.state == "paid")
        return (s, order, try await t.get("/api/v1/payments/\(result.payment.id)", token: s.buyer).content.decode(PaymentDTO.self))
    }

    static func ledger(_ t: TestContext) -> LedgerService { LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate) }

    @Test func oneUnitOfAThreeUnitLineIsReturnedAndRefundedToTheFen() async throws {
        try await withMallApp { t in
            // setup: paid, shipped, received
            let (s, order, _) = try await Self.paidOrder(t)
            #expect(order.payable.fen == 31_800)
            let shipped = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)
            #expect(shipped.status == .ok, "\(shipped.body.string)")
            #expect(try await t.postJSON("/api/v1/me/orders/\(order.id)/confirm-receipt", "{}", token: s.buyer).status == .ok)
            let member = try await t.memberID(phone: "13600000001")
            let balanceBefore = try await Self.ledger(t).balance(of: LedgerAccountKey(.memberBalance, .member(member)))
            let pendingBefore = try await Self.ledger(t).balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA)))

            // act: return one unit; the shop agrees, the buyer sends it, the shop receives it
            let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                 #"{"lineId":"\#(order.lines[0].id)","kind":"return_and_refund","units":1,"reason":"尺码不合适"}"#, token: s.buyer)
            #expect(requested.status == .created, "\(requested.body.string)")
            let sale = try requested.content.decode(AfterSaleDTO.self)
            #expect(sale.amount.fen == 10_000)
            #expect(sale.shippingAmount.fen == 0)
            let approved = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken).content.decode(AfterSaleDTO.self)
            #expect(approved.state == "awaiting_return")
            #expect(try await t.postJSON("/api/v1/me/after-sales/\(sale.id)/return-shipment", #"{"carrier":"中通","trackingNo":"ZT200"}"#, token: s.buyer).status == .ok)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/confirm-return", "{}", token: s.f.shopAToken).content.decode(AfterSaleDTO.self)

            // check: ¥100 back to the balance; the shop gives back ¥100 less the fee it no longer pays
            #expect(done.state == "refunded")
            #expect(done.stateLabel == "已退款")
            let fresh = try await t.get("/api/v1/me/orders/\(order.id)", token: s.buyer).content.decode(OrderDTO.self)
            #expect(fresh.refundedAmount.fen == 10_000)
            #expect(fresh.lines[0].refundedQuantity == 1)
            #expect(fresh.lines[0].refundedAmount.fen == 10_000)
            #expect(fresh.state == "received")
            let row = try #require(try await Order.find(order.id, on: t.app.db))
            #expect(row.openAfterSales == 0)
            let reversal = try ServiceFee.reversal(fee: Money(fen: row.serviceFee), base: Money(fen: 30_000), refundedBefore: .zero, refunding: Money(fen: 10_000))
            #expect(row.feeReturned == reversal.fen)
            #expect(try await Self.ledger(t).balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == balanceBefore.fen + 10_000)
            #expect(try await Self.ledger(t).balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == pendingBefore.fen - (10_000 - reversal.fen))
            #expect(try await Self.ledger(t).verify().ok)

            // The other two units; then nothing is left to ask for.
            let second = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                              #"{"lineId":"\#(order.lines[0].id)","kind":"return_and_refund","units":2,"reason":"都退了"}"#, token: s.buyer)
            #expect(try second.content.decode(AfterSaleDTO.self).amount.fen == 20_000)
            let tooMany = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                               #"{"lineId":"\#(order.lines[0].id)","kind":"return_and_refund","units":1,"reason":"再退一件"}"#, token: s.buyer)
            #expect(tooMany.status == .conflict)
            #expect(tooMany.error?.code == "after_sale_too_many_units")
        }
    }

    @Test func refundingEverythingBeforeShipmentReturnsShippingAndClosesTheOrder() async throws {
        try await withMallApp { t in
            let (s, order, payment) = try await Self.paidOrder(t, method: "sandbox")
            #expect(payment.status == "succeeded")
            let clearingBefore = try await Self.ledger(t).balance(of: .platform(.paymentClearing))
            let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                 #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":3,"reason":"不想要了"}"#, token: s.buyer)
            let sale = try requested.content.decode(AfterSaleDTO.self)
            #expect(sale.amount.fen == 30_000)
            #expect(sale.shippingAmount.fen == 1_800)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken).content.decode(AfterSaleDTO.self)
            #expect(done.state == "refunded")
            let fresh = try await t.get("/api/v1/me/orders/\(order.id)", token: s.buyer).content.decode(OrderDTO.self)
            #expect(fresh.state == "closed")
            #expect(fresh.refundedAmount.fen == 31_800)
            // Sent back through the sandbox: payment clearing gives back all of it.
            #expect(try await Self.ledger(t).balance(of: .platform(.paymentClearing)).fen == clearingBefore.fen - 31_800)
            #expect(try await Self.ledger(t).balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await Self.ledger(t).balance(of: .platform(.feeRevenue)).fen == 0)
            #expect(try await Refund.query(on: t.app.db).first()?.status == "succeeded")
            #expect(try await Self.ledger(t).verify().ok)
        }
    }

    @Test func aRejectionCanBeAppealedAndTheOperatorDecides() async throws {
        try await withMallApp { t in
            let (s, order, _) = try await Self.paidOrder(t)
            // Refund only after shipment needs an agreement; without one it is refused.
            _ = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)
            let refused = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                               #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: s.buyer)
            #expect(refused.status == .conflict, "\(refused.body.string)")
            #expect(refused.error?.code == "after_sale_refund_only_after_delivery")
            let agreed = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                              #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":0,"amountFen":1000,"reason":"外盒破损，商量补偿 ¥10"}"#, token: s.buyer)
            #expect(agreed.status == .created, "\(agreed.body.string)")
            let sale = try agreed.content.decode(AfterSaleDTO.self)
            #expect(sale.amount.fen == 1_000)

            let noReason = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/reject", #"{"reason":" "}"#, token: s.f.shopAToken)
            #expect(noReason.status == .unprocessableEntity)
            let rejected = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/reject", #"{"reason":"包装完好"}"#, token: s.f.shopAToken).content.decode(AfterSaleDTO.self)
            #expect(rejected.stateLabel == "已拒绝")
            #expect(try await Order.find(order.id, on: t.app.db)?.openAfterSales == 1)
            // The other shop cannot touch it; the buyer appeals; support upholds it.
            #expect(try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.postJSON("/api/v1/me/after-sales/\(sale.id)/appeal", #"{"reason":"有照片为证"}"#, token: s.buyer).status == .ok)
            let boss = try await t.staffToken("boss", console: "platform")
            let appealed = try await t.get("/api/v1/admin/after-sales?state=appealed", token: boss).content.decode([AfterSaleDTO].self)
            #expect(appealed.map(\.id) == [sale.id])
            let decided = try await t.postJSON("/api/v1/admin/after-sales/\(sale.id)/decide", #"{"approve":true,"reason":"照片显示破损"}"#, token: boss).content.decode(AfterSaleDTO.self)
            #expect(decided.state == "refunded")
            #expect(decided.timeline?.map(\.action) == ["request", "reject", "appeal", "approve", "start_refund", "refund_succeeded"])
            #expect(try await Order.find(order.id, on: t.app.db)?.openAfterSales == 0)
            #expect(try await Self.ledger(t).verify().ok)
        }
    }
}

@Suite struct OrderJobTests {
    @Test func unpaidCheckoutsCloseAfterTheirTimeUnlessTheProviderSaysTheyWerePaid() async throws {
        try await withMallApp { t in
            // setup: two checkouts at the sandbox; one was paid but its callback was lost
            let s = try await OrderFlowTests.shop(t)
            let one = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"addressId":"\#(s.address)"}"#
            let unpaid = try await t.postJSON("/api/v1/checkout", one, token: s.buyer).content.decode(CheckoutResultDTO.self)
            let lost = try await t.postJSON("/api/v1/checkout", one, token: s.buyer).content.decode(CheckoutResultDTO.self)
            for payment in [unpaid.payment, lost.payment] {
                #expect(try await t.postJSON("/api/v1/payments/\(payment.id)/pay", #"{"method":"sandbox"}"#, token: s.buyer).status == .ok)
            }
            _ = try await SandboxCharges.charge(try #require(try await Payment.find(lost.payment.id, on: t.app.db)), app: t.app)
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 6)

            // act: nothing before the time; both handled after it, by two runs at once
            #expect(try await OrderJobs.runAll(t.app).closed == 0)
            t.clock.advance(seconds: 31 * 60)
            let reports = try await withThrowingTaskGroup(of: OrderJobs.Report.self) { group in
                for _ in 0..<2 { group.addTask { try await OrderJobs.runAll(t.app) } }
                return try await group.reduce(into: [OrderJobs.Report]()) { $0.append($1) }
            }

            // check
            #expect(reports.map(\.closed).reduce(0, +) == 1)
            #expect(reports.map(\.paidOnQuery).reduce(0, +) == 1)
            #expect(try await Order.find(unpaid.orders[0].id, on: t.app.db)?.state == "closed")
            #expect(try await Order.find(lost.orders[0].id, on: t.app.db)?.state == "paid")
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 8)
            #expect(try await OrderEvent.query(on: t.app.db).filter(\.$action == "close_unpaid").count() == 1)
            #expect(try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify().ok)
        }
    }

    @Test func shippedOrdersAreReceivedAndThenCompletedWithTheShopPaid() async throws {
        try await withMallApp { t in
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            #expect(try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken).status == .ok)
            t.clock.advance(seconds: 9 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).received == 0)
            t.clock.advance(seconds: 2 * 86_400)
            let reports = try await withThrowingTaskGroup(of: OrderJobs.Report.self) { group in
                for _ in 0..<2 { group.addTask { try await OrderJobs.runAll(t.app) } }
                return try await group.reduce(into: [OrderJobs.Report]()) { $0.append($1) }
            }
            #expect(reports.map(\.received).reduce(0, +) == 1)
            #expect(try await Order.find(order.id, on: t.app.db)?.state == "received")
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            #expect(try await OrderJobs.runAll(t.app).completed == 0)
            let row = try #require(try await Order.find(order.id, on: t.app.db))
            #expect(row.state == "completed")
            let ledger = AfterSaleTests.ledger(t)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantReceivable, .merchant(s.f.shopA))).fen == 31_800 - row.serviceFee)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.completed").count() == 1)
            #expect(try await ledger.verify().ok)
        }
    }
}

@Suite struct PickupTests {
    @Test func aPickupOrderTakesTheStoresStockAndItsCodeWorksOnce() async throws {
        try await withMallApp { t in
            // setup: shop A keeps 2 of the milk in its store
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            let store = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"静安店","kind":"direct","address":"南京西路1号","latitude":31.22,"longitude":121.44}"#, token: s.f.shopAToken).content.decode(StoreDTO.self)
            let stocked = try await t.send(.PUT, "/api/v1/merchant/stores/\(store.id)/stock", #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","stock":2}]}"#, token: s.f.shopAToken)
            #expect(stocked.status == .ok)
            let pickup = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"deliveries":[{"merchantId":"\#(s.f.shopA)","method":"pickup","storeId":"\#(store.id)"}]}"#

            // act: pick up in the store; too many for the store is refused
            let tooMany = try await t.postJSON("/api/v1/checkout", pickup.replacingOccurrences(of: #""quantity":2"#, with: #""quantity":3"#), token: s.buyer)
            #expect(tooMany.status == .conflict)
            #expect(tooMany.error?.code == "checkout.pickup_unavailable")
            let result = try await t.postJSON("/api/v1/checkout", pickup, token: s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(result.orders[0].fulfilment == "pickup")
            #expect(result.orders[0].shippingFee.fen == 0)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer).status == .ok)
            let order = try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)
            #expect(order.stateLabel == "待自提")
            let codes = try await t.get("/api/v1/me/orders/\(order.id)/codes", token: s.buyer).content.decode([RedemptionCodeDTO].self)
            #expect(codes.count == 1)

            // The store's stock went down, the central stock did not.
            #expect(try await StoreStock.query(on: t.app.db).filter(\.$store.$id == store.id).first()?.stock == 0)
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 10)

            // The other shop cannot use it; the right store uses it once; a second time is refused.
            let spaced = String(codes[0].code.enumerated().map { $0.offset > 0 && $0.offset % 4 == 0 ? " \($0.element)" : String($0.element) }.joined())
            let foreign = try await t.postJSON("/api/v1/merchant/redemptions", #"{"code":"\#(spaced)","storeId":"\#(store.id)"}"#, token: s.f.shopBToken)
            #expect(foreign.status == .notFound)
            let used = try await t.postJSON("/api/v1/merchant/redemptions", #"{"code":"\#(spaced)","storeId":"\#(store.id)"}"#, token: s.f.shopAToken)
            #expect(used.status == .ok, "\(used.body.string)")
            #expect(try used.content.decode(RedemptionResultDTO.self).orderStateLabel == "已收货")
            let again = try await t.postJSON("/api/v1/merchant/redemptions", #"{"code":"\#(codes[0].code)","storeId":"\#(store.id)"}"#, token: s.f.shopAToken)
            #expect(again.status == .conflict)
            #expect(again.error?.code == "redemption_already_used")
            #expect(try await Order.find(order.id, on: t.app.db)?.state == "received")
        }
    }
}
