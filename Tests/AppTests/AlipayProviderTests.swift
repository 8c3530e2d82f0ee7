import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Alipay end to end against the fake gateway on loopback, with the production gateway and
/// callback route configured from the environment.
@Suite struct AlipayProviderTests {
    struct Rig {
        let t: TestContext
        let live: LiveServer
        let fake: AlipayFake
        let gateway: AlipayGateway
        let shop: OrderFlowTests.Shop
        var callbackURL: String { live.base + "/callbacks/alipay" }

        func checkout() async throws -> CheckoutResultDTO {
            let placed = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(shop, milk: 1, cream: 1), token: shop.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            return try placed.content.decode(CheckoutResultDTO.self)
        }

        /// Starts paying with Alipay and opens the cashier link, as the buyer's browser does.
        func startAndOpen(_ checkout: CheckoutResultDTO, channel: String = "wap") async throws -> URL {
            let started = try await t.postJSON("/api/v1/payments/\(checkout.payment.id)/pay", #"{"method":"alipay","channel":"\#(channel)"}"#, token: shop.buyer)
            #expect(started.status == .ok, "\(started.body.string)")
            let link = try #require(try started.content.decode(PayResultDTO.self).instruction?.url)
            let page = try await t.app.client.get(URI(string: link))
            #expect(page.body.map { String(buffer: $0) }?.contains("收银台") == true)
            return try #require(URL(string: link))
        }

        func paidAtAlipay() async throws -> (CheckoutResultDTO, AlipayFake.Trade) {
            let checkout = try await checkout()
            _ = try await startAndOpen(checkout)
            return (checkout, try #require(fake.pay(checkout.payment.paymentNo)))
        }

        func deliver(_ body: String) async throws -> (UInt, String) {
            let response = try await fake.deliver(body, to: callbackURL)
            return (response.status.code, response.body.map { String(buffer: $0) } ?? "")
        }

        func status(_ payment: PaymentDTO) async throws -> String? {
            try await Payment.find(payment.id, on: t.app.db)?.status
        }

        func paymentTransactions() async throws -> Int {
            try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == "order_payment").count()
        }
    }

    static func withRig(_ body: (Rig) async throws -> Void) async throws {
        // A request waiting its turn on a loaded machine must not be cut by the idle timer.
        try await withMallApp(idleTimeoutSeconds: 300) { t in
            let shop = try await OrderFlowTests.shop(t)
            try await t.withLiveServer { live in
                let fake = try await AlipayFake()
                do {
                    let env = AlipayTestFiles.environment(gateway: fake.gateway, notify: live.base + "/callbacks/alipay")
                    let settings = try #require(try AlipaySettings.load(env, publicBaseURL: live.base))
                    let gateway = AlipayGateway(app: t.app, settings: settings)
                    t.app.paymentGateways[.alipay] = gateway
                    try await body(Rig(t: t, live: live, fake: fake, gateway: gateway, shop: shop))
                } catch {
                    try await fake.stop()
                    throw error
                }
                try await fake.stop()
            }
        }
    }

    @Test func aCheckoutPaidWithAlipayEndToEnd() async throws {
        try await Self.withRig { rig in
            // setup
            let checkout = try await rig.checkout()

            // act: the signed cashier link, the buyer pays, Alipay notifies
            let link = try await rig.startAndOpen(checkout)
            let trade = try #require(rig.fake.pay(checkout.payment.paymentNo))
            let (status, text) = try await rig.deliver(try rig.fake.notification(trade))

            // check
            let query = try AlipayForm.decode(Array((link.query ?? "").utf8))
            #expect(link.absoluteString.hasPrefix(rig.fake.gateway + "?"))
            #expect(query["method"] == "alipay.trade.wap.pay")
            #expect(query["notify_url"] == rig.callbackURL)
            #expect(query["return_url"] == "https://mall.example.com/me/orders")
            #expect(trade.totalAmount == "157.00")
            #expect(trade.productCode == "QUICK_WAP_WAY")
            #expect(trade.subject == "甲店奶粉 等2件")
            #expect(trade.timeExpire == ProviderTime.alipay(checkout.payment.expiresAt))
            #expect(status == 200)
            #expect(text == "success")
            let payment = try #require(try await Payment.find(checkout.payment.id, on: rig.t.app.db))
            #expect(payment.status == "succeeded")
            #expect(payment.provider == "alipay")
            #expect(payment.providerTradeNo == trade.tradeNo)
            #expect(try await Order.query(on: rig.t.app.db).all().allSatisfy { $0.state == "paid" })
            #expect(try await rig.paymentTransactions() == 1)
            #expect(try await LedgerService(db: rig.t.app.db, now: rig.t.clock.now(), gate: rig.t.app.writeGate).verify().ok)
            // TRADE_FINISHED later is the same payment again.
            var finished = trade
            finished.status = "TRADE_FINISHED"
            #expect(try await rig.deliver(try rig.fake.notification(finished)) == (200, "success"))
            #expect(try await rig.paymentTransactions() == 1)
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func theComputerCashierIsAPagePayLink() async throws {
        try await Self.withRig { rig in
            let checkout = try await rig.checkout()
            let link = try await rig.startAndOpen(checkout, channel: "page")
            #expect(try AlipayForm.decode(Array((link.query ?? "").utf8))["method"] == "alipay.trade.page.pay")
            #expect(rig.fake.trade(checkout.payment.paymentNo)?.productCode == "FAST_INSTANT_TRADE_PAY")
            let other = try await rig.checkout()
            let wrong = try await rig.t.postJSON("/api/v1/payments/\(other.payment.id)/pay", #"{"method":"alipay","channel":"native"}"#, token: rig.shop.buyer)
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.error?.code == "payment.channel_unavailable")
        }
    }

    @Test func theSameNotificationTenTimesAtOncePaysOnce() async throws {
        try await Self.withRig { rig in
            let (checkout, trade) = try await rig.paidAtAlipay()
            let body = try rig.fake.notification(trade)
            let (fake, url) = (rig.fake, rig.callbackURL)
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await fake.deliver(body, to: url).body.map { String(buffer: $0) } ?? "" } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(answers == Array(repeating: "success", count: 10))
            #expect(try await rig.status(checkout.payment) == "succeeded")
            #expect(try await rig.paymentTransactions() == 1)
            #expect(try await LedgerService(db: rig.t.app.db, now: rig.t.clock.now(), gate: rig.t.app.writeGate).verify().ok)
        }
    }

    @Test func forgedTamperedAndWrongNotificationsChangeNothing() async throws {
        try await Self.withRig { rig in
            let (checkout, trade) = try await rig.paidAtAlipay()
            let genuine = try rig.fake.notification(trade)
            let tampered = genuine.replacingOccurrences(of: "total_amount=157.00", with: "total_amount=1.57")
            #expect(tampered != genuine)
            let cases: [(String, String, UInt)] = [
                ("signed with another key", try rig.fake.notification(trade, key: PaymentTestKeys.signer(PaymentTestKeys.stranger)), 401),
                ("changed after signing", tampered, 401),
                ("RSA instead of RSA2", genuine.replacingOccurrences(of: "sign_type=RSA2", with: "sign_type=RSA"), 401),
                ("without sign", genuine.components(separatedBy: "&").filter { !$0.hasPrefix("sign=") }.joined(separator: "&"), 400),
                ("another app", try rig.fake.notification(trade, changes: ["app_id": "2021000000000000"]), 401),
                ("another seller", try rig.fake.notification(trade, changes: ["seller_id": "2088000000000000"]), 400),
                ("wrong amount", try rig.fake.notification(trade, changes: ["total_amount": "156.99"]), 400),
                ("amount in floating point", try rig.fake.notification(trade, changes: ["total_amount": "1.57e2"]), 400),
                ("unknown payment", try rig.fake.notification(trade, changes: ["out_trade_no": "P20261118000000000001"]), 404),
                ("GBK", try rig.fake.notification(trade, changes: ["charset": "gbk"]), 400),
                ("repeated field", genuine + "&trade_status=TRADE_SUCCESS", 400),
                ("not a form", "{}", 400),
            ]
            for (name, body, expected) in cases {
                let (status, text) = try await rig.deliver(body)
                #expect(status == expected, "\(name): \(status) \(text)")
                #expect(text == "failure" || status == 415, "\(name): \(text)")
            }
            // Waiting and closed notices are acknowledged and do nothing.
            var waiting = trade
            waiting.status = "WAIT_BUYER_PAY"
            #expect(try await rig.deliver(try rig.fake.notification(waiting)) == (200, "success"))
            #expect(try await rig.status(checkout.payment) == "created")
            #expect(try await LedgerTransactionRecord.query(on: rig.t.app.db).count() == 0)
            #expect(try await Order.query(on: rig.t.app.db).all().allSatisfy { $0.state == "pending_payment" })
            #expect(try await rig.deliver(genuine) == (200, "success"))
            #expect(try await rig.status(checkout.payment) == "succeeded")
        }
    }

    @Test func aLostNotificationIsFoundByQueryingAndClosingStopsPayment() async throws {
        try await Self.withRig { rig in
            let (checkout, trade) = try await rig.paidAtAlipay()
            let state = try await rig.gateway.query(paymentNo: checkout.payment.paymentNo)
            #expect(state == .paid(tradeNo: trade.tradeNo, amount: Money(fen: 15_700)))
            let now = rig.t.clock.now()
            let outcome = try await rig.t.app.writeGate.transaction(on: rig.t.app.db) { db in
                try await PaymentService(db: db, now: now).confirm(paymentNo: checkout.payment.paymentNo, method: .alipay, tradeNo: trade.tradeNo, amount: Money(fen: 15_700))
            }
            #expect(outcome == .moved(to: .succeeded))
            #expect(try await rig.paymentTransactions() == 1)

            let other = try await rig.checkout()
            // Not opened yet: Alipay has no trade, so it is unpaid and there is nothing to close.
            _ = try await rig.t.postJSON("/api/v1/payments/\(other.payment.id)/pay", #"{"method":"alipay"}"#, token: rig.shop.buyer)
            #expect(try await rig.gateway.query(paymentNo: other.payment.paymentNo) == .unpaid)
            try await rig.gateway.close(paymentNo: other.payment.paymentNo)
            _ = try await rig.startAndOpen(other)
            #expect(try await rig.gateway.query(paymentNo: other.payment.paymentNo) == .unpaid)
            try await rig.gateway.close(paymentNo: other.payment.paymentNo)
            #expect(try await rig.gateway.query(paymentNo: other.payment.paymentNo) == .closed)
            await #expect(throws: PaymentProviderError.refused(code: "ACQ.TRADE_STATUS_ERROR", message: "40004")) {
                try await rig.gateway.close(paymentNo: checkout.payment.paymentNo)
            }
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func refundsAreSynchronousAndARepeatIsConfirmedByItsAmount() async throws {
        try await Self.withRig { rig in
            let (checkout, trade) = try await rig.paidAtAlipay()
            #expect(try await rig.deliver(try rig.fake.notification(trade)) == (200, "success"))
            let request = ProviderRefundRequest(paymentNo: checkout.payment.paymentNo, providerTradeNo: trade.tradeNo, refundNo: "R20261118000001",
                                                paymentAmount: Money(fen: 15_700), refundAmount: Money(fen: 5_000), reason: "商品已售完")
            #expect(try await rig.gateway.refund(request) == .succeeded(providerRefundNo: "R20261118000001"))
            // The same out_request_no again moves no money (fund_change N); the refund is looked up.
            #expect(try await rig.gateway.refund(request) == .succeeded(providerRefundNo: "R20261118000001"))
            #expect(rig.fake.trade(checkout.payment.paymentNo)?.refundedFen == 5_000)
            let tooMuch = try await rig.gateway.refund(ProviderRefundRequest(
                paymentNo: request.paymentNo, providerTradeNo: request.providerTradeNo, refundNo: "R20261118000002",
                paymentAmount: request.paymentAmount, refundAmount: Money(fen: 10_701), reason: ""))
            #expect(tooMuch == .failed(reason: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL 退款金额超限"))
            // A refund's notification (Alipay sends the trade again with refund_fee) is the same payment.
            let refunded = try rig.fake.notification(trade, changes: ["refund_fee": "50.00", "gmt_refund": "2026-11-18 11:00:00.000", "out_biz_no": "R20261118000001"])
            #expect(try await rig.deliver(refunded) == (200, "success"))
            #expect(try await rig.paymentTransactions() == 1)
        }
    }

    @Test func answersNotSignedByAlipayAreNotBelieved() async throws {
        try await Self.withRig { rig in
            let (checkout, _) = try await rig.paidAtAlipay()
            rig.fake.signer.withLockedValue { $0 = PaymentTestKeys.signer(PaymentTestKeys.stranger) }
            await #expect(throws: PaymentProviderError.badResponse("answer signature: bad_signature")) {
                _ = try await rig.gateway.query(paymentNo: checkout.payment.paymentNo)
            }
            // And our requests signed with another application key are refused by Alipay.
            rig.fake.signer.withLockedValue { $0 = PaymentTestKeys.signer(PaymentTestKeys.alipay) }
            let s = rig.gateway.settings
            let wrongKey = AlipayGateway(app: rig.t.app, settings: AlipaySettings(
                appID: s.appID, appKey: PaymentTestKeys.signer(PaymentTestKeys.stranger), alipayPublicKey: s.alipayPublicKey, sellerID: s.sellerID,
                gatewayURL: s.gatewayURL, notifyURL: s.notifyURL, returnURL: s.returnURL))
            await #expect(throws: PaymentProviderError.refused(code: "isv.invalid-signature", message: "40002")) {
                _ = try await wrongKey.query(paymentNo: checkout.payment.paymentNo)
            }
            #expect(rig.fake.refused.withLockedValue { $0 } == ["bad_signature"])
        }
    }
}
