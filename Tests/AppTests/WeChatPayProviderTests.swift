import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// WeChat Pay end to end against the fake on loopback: the production gateway and callback route,
/// configured from the environment as an operator would, with only the base URL pointing here.
@Suite struct WeChatPayProviderTests {
    struct Rig {
        let t: TestContext
        let live: LiveServer
        let fake: WeChatPayFake
        let gateway: WeChatPayGateway
        let shop: OrderFlowTests.Shop
        var callbackURL: String { live.base + "/callbacks/wechat" }

        func checkout() async throws -> CheckoutResultDTO {
            let placed = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(shop, milk: 1, cream: 1), token: shop.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            return try placed.content.decode(CheckoutResultDTO.self)
        }

        func pay(_ payment: PaymentDTO, _ json: String) async throws -> TestingHTTPResponse {
            try await t.postJSON("/api/v1/payments/\(payment.id)/pay", json, token: shop.buyer)
        }

        /// A checkout the buyer has started paying with WeChat Native, and paid at WeChat.
        func paidAtWeChat() async throws -> (CheckoutResultDTO, WeChatPayTransaction) {
            let checkout = try await checkout()
            let started = try await pay(checkout.payment, #"{"method":"wechat","channel":"native"}"#)
            #expect(started.status == .ok, "\(started.body.string)")
            return (checkout, try #require(fake.pay(checkout.payment.paymentNo)))
        }

        func status(_ payment: PaymentDTO) async throws -> String? {
            try await Payment.find(payment.id, on: t.app.db)?.status
        }

        func paymentTransactions() async throws -> Int {
            try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == "order_payment").count()
        }
    }

    static func withRig(certificate: Bool = true, publicKey: Bool = false, _ body: (Rig) async throws -> Void) async throws {
        // A request waiting its turn on a loaded machine must not be cut by the idle timer.
        try await withMallApp(idleTimeoutSeconds: 300) { t in
            let shop = try await OrderFlowTests.shop(t)
            try await t.withLiveServer { live in
                let fake = try await WeChatPayFake(clock: t.clock)
                do {
                    let env = WeChatPayTestFiles.environment(base: fake.base, notify: live.base + "/callbacks/wechat",
                                                             certificate: certificate, publicKey: publicKey)
                    let settings = try #require(try WeChatPaySettings.load(env, publicBaseURL: live.base))
                    let gateway = WeChatPayGateway(app: t.app, settings: settings)
                    t.app.paymentGateways[.wechat] = gateway
                    try await body(Rig(t: t, live: live, fake: fake, gateway: gateway, shop: shop))
                } catch {
                    try await fake.stop()
                    throw error
                }
                try await fake.stop()
            }
        }
    }

    @Test func aCheckoutPaidWithWeChatNativeEndToEnd() async throws {
        try await Self.withRig { rig in
            // setup
            let placed = try await rig.t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(rig.shop), token: rig.shop.buyer)
            let checkout = try placed.content.decode(CheckoutResultDTO.self)

            // act: start at WeChat, the buyer scans and pays, WeChat notifies
            let started = try await rig.pay(checkout.payment, #"{"method":"wechat","channel":"native"}"#)
            #expect(started.status == .ok, "\(started.body.string)")
            let result = try started.content.decode(PayResultDTO.self)
            let order = try #require(rig.fake.order(checkout.payment.paymentNo))
            let transaction = try #require(rig.fake.pay(checkout.payment.paymentNo))
            let delivered = try await rig.fake.deliver(try rig.fake.paidNotification(transaction), to: order.notifyURL)

            // check: WeChat was asked for the right order and the mall booked the money once
            #expect(result.payment.method == "wechat")
            #expect(result.payment.payUrl == nil)
            #expect(result.instruction?.codeURL?.hasPrefix("weixin://wxpay/bizpayurl?pr=") == true)
            #expect(order.total == 26_100)
            #expect(order.tradeType == "native")
            #expect(order.notifyURL == rig.callbackURL)
            #expect(order.description == "甲店奶粉 等2件")
            #expect(order.timeExpire == ProviderTime.rfc3339(checkout.payment.expiresAt))
            #expect(order.timeExpire.hasSuffix("+08:00") && order.timeExpire.count == 25)
            #expect(delivered.status == .noContent, "\(delivered.body.map { String(buffer: $0) } ?? "")")
            let payment = try #require(try await Payment.find(checkout.payment.id, on: rig.t.app.db))
            #expect(payment.status == "succeeded")
            #expect(payment.provider == "wechat")
            #expect(payment.providerTradeNo == transaction.transactionID)
            #expect(try await Order.query(on: rig.t.app.db).all().allSatisfy { $0.state == "paid" })
            #expect(try await rig.paymentTransactions() == 1)
            #expect(try await LedgerService(db: rig.t.app.db, now: rig.t.clock.now(), gate: rig.t.app.writeGate).verify().ok)
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func jsapiParametersAreSignedForThePageAndH5NamesThePayersAddress() async throws {
        try await Self.withRig { rig in
            let first = try await rig.checkout()
            // JSAPI needs the payer's openid: refused before the method is chosen.
            let missing = try await rig.pay(first.payment, #"{"method":"wechat","channel":"jsapi"}"#)
            #expect(missing.status == .unprocessableEntity)
            #expect(missing.error?.code == "payment.openid_required")
            let unknown = try await rig.pay(first.payment, #"{"method":"wechat","channel":"app"}"#)
            #expect(unknown.error?.code == "payment.channel_unavailable")
            #expect(try await Payment.find(first.payment.id, on: rig.t.app.db)?.provider == "")

            let jsapi = try await rig.pay(first.payment, #"{"method":"wechat","channel":"jsapi","openId":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}"#)
            #expect(jsapi.status == .ok, "\(jsapi.body.string)")
            let parameters = try #require(try jsapi.content.decode(PayResultDTO.self).instruction?.jsapi)
            let order = try #require(rig.fake.order(first.payment.paymentNo))
            #expect(order.openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
            let signed = WeChatPayJSAPIParameters(appId: parameters["appId"] ?? "", timeStamp: parameters["timeStamp"] ?? "",
                                                  nonceStr: parameters["nonceStr"] ?? "", package: parameters["package"] ?? "",
                                                  signType: parameters["signType"] ?? "", paySign: parameters["paySign"] ?? "")
            #expect(signed.appId == WeChatPayFake.appid)
            #expect(signed.package == "prepay_id=" + order.prepayID)
            #expect(throws: Never.self) { try WeChatPayJSAPI.verify(signed, merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.merchant)) }
            // Asking again gives the same prepay order, as WeChat does for the same out_trade_no.
            let again = try await rig.pay(first.payment, #"{"method":"wechat","channel":"jsapi","openId":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}"#)
            #expect(try again.content.decode(PayResultDTO.self).instruction?.jsapi?["package"] == signed.package)

            let second = try await rig.checkout()
            let h5 = try await rig.pay(second.payment, #"{"method":"wechat","channel":"h5"}"#)
            #expect(h5.status == .ok, "\(h5.body.string)")
            #expect(try h5.content.decode(PayResultDTO.self).instruction?.url?.hasPrefix("https://wx.tenpay.com/") == true)
            #expect(rig.fake.order(second.payment.paymentNo)?.clientIP?.isEmpty == false)
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func theSameNotificationTenTimesAtOncePaysOnce() async throws {
        try await Self.withRig { rig in
            let (checkout, transaction) = try await rig.paidAtWeChat()
            let body = try rig.fake.paidNotification(transaction)
            let headers = try rig.fake.signedHeaders(body)
            let (fake, url) = (rig.fake, rig.callbackURL)
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<10 { group.addTask { try await fake.deliver(body, headers: headers, to: url).status.code } }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 204 }, "\(statuses)")
            #expect(try await rig.status(checkout.payment) == "succeeded")
            #expect(try await rig.paymentTransactions() == 1)
            #expect(try await OutboxMessage.query(on: rig.t.app.db).filter(\.$topic == "order.paid").count() == 2)
            #expect(try await LedgerService(db: rig.t.app.db, now: rig.t.clock.now(), gate: rig.t.app.writeGate).verify().ok)
        }
    }

    @Test func forgedStaleUnknownTamperedAndWrongNotificationsChangeNothing() async throws {
        try await Self.withRig { rig in
            let (checkout, transaction) = try await rig.paidAtWeChat()
            let body = try rig.fake.paidNotification(transaction)
            let now = Int64(rig.t.clock.now().timeIntervalSince1970)
            func deliver(_ body: Data, _ headers: [(String, String)]) async throws -> (UInt, String) {
                let response = try await rig.fake.deliver(body, headers: headers, to: rig.callbackURL)
                return (response.status.code, response.body.map { String(buffer: $0) } ?? "")
            }
            func resigned(_ change: (inout WeChatPayTransaction) -> Void) throws -> Data {
                var changed = transaction
                change(&changed)
                return try rig.fake.paidNotification(changed)
            }
            let stranger = WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial, key: PaymentTestKeys.signer(PaymentTestKeys.stranger))
            let unknownSerial = WeChatPayPlatformSigner(serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", key: PaymentTestKeys.signer(PaymentTestKeys.platformCertificateKey))
            var tampered = try JSONDecoder().decode(WeChatPayNotification.self, from: body)
            var ciphertext = Array(Data(base64Encoded: tampered.resource.ciphertext) ?? Data())
            ciphertext[0] ^= 0x01
            tampered.resource.ciphertext = Data(ciphertext).base64EncodedString()
            let tamperedBody = try JSONEncoder().encode(tampered)
            var flipped = Array(body)
            flipped[flipped.count / 2] ^= 0x01

            func signed(_ body: Data) throws -> [(String, String)] { try rig.fake.signedHeaders(body) }
            let wrongAmount = try resigned { $0.amount.total -= 1 }
            let wrongMchid = try resigned { $0.mchid = "1900000109" }
            let wrongAppid = try resigned { $0.appid = "wx0000000000000000" }
            let otherCurrency = try resigned { $0.amount.currency = "USD" }
            let notPaid = try resigned { $0.tradeState = "NOTPAY" }
            let unknownPayment = try resigned { $0.outTradeNo = "P20261118000000000001" }
            let cases: [(String, Data, [(String, String)], UInt)] = [
                ("forged signature", body, try rig.fake.signedHeaders(body, by: stranger), 401),
                ("stale timestamp", body, try rig.fake.signedHeaders(body, timestamp: now - 301), 401),
                ("from the future", body, try rig.fake.signedHeaders(body, timestamp: now + 301), 401),
                ("unknown serial", body, try rig.fake.signedHeaders(body, by: unknownSerial), 401),
                ("body changed after signing", Data(flipped), try signed(body), 401),
                ("no signature", body, [], 400),
                ("tampered ciphertext, signed", tamperedBody, try signed(tamperedBody), 400),
                ("wrong amount", wrongAmount, try signed(wrongAmount), 400),
                ("wrong mchid", wrongMchid, try signed(wrongMchid), 400),
                ("wrong appid", wrongAppid, try signed(wrongAppid), 400),
                ("another currency", otherCurrency, try signed(otherCurrency), 400),
                ("not paid", notPaid, try signed(notPaid), 400),
                ("unknown payment", unknownPayment, try signed(unknownPayment), 404),
            ]
            for (name, body, headers, expected) in cases {
                let (status, text) = try await deliver(body, headers)
                #expect(status == expected, "\(name): \(status) \(text)")
                #expect(text.contains(#""code":"FAIL""#), "\(name): \(text)")
            }
            #expect(try await rig.status(checkout.payment) == "created")
            #expect(try await rig.paymentTransactions() == 0)
            #expect(try await LedgerTransactionRecord.query(on: rig.t.app.db).count() == 0)
            #expect(try await Order.query(on: rig.t.app.db).all().allSatisfy { $0.state == "pending_payment" })
            // The genuine one still pays.
            #expect(try await deliver(body, try rig.fake.signedHeaders(body)).0 == 204)
            #expect(try await rig.status(checkout.payment) == "succeeded")
        }
    }

    @Test func bothKeyModesAtOnceAcceptNotificationsAndAnswersSignedByEither() async throws {
        try await Self.withRig(certificate: true, publicKey: true) { rig in
            // Answers signed with the public key, then with the certificate.
            rig.fake.signer.withLockedValue { $0 = WeChatPayFake.publicKeySigner }
            let (first, firstPaid) = try await rig.paidAtWeChat()
            rig.fake.signer.withLockedValue { $0 = WeChatPayFake.certificateSigner }
            let (second, secondPaid) = try await rig.paidAtWeChat()

            let byPublicKey = try rig.fake.paidNotification(firstPaid)
            let byCertificate = try rig.fake.paidNotification(secondPaid)
            let a = try await rig.fake.deliver(byPublicKey, headers: try rig.fake.signedHeaders(byPublicKey, by: WeChatPayFake.publicKeySigner), to: rig.callbackURL)
            let b = try await rig.fake.deliver(byCertificate, headers: try rig.fake.signedHeaders(byCertificate, by: WeChatPayFake.certificateSigner), to: rig.callbackURL)
            #expect(a.status == .noContent)
            #expect(b.status == .noContent)
            #expect(try await rig.status(first.payment) == "succeeded")
            #expect(try await rig.status(second.payment) == "succeeded")
            #expect(try await rig.paymentTransactions() == 2)
        }
    }

    @Test func onlyTheConfiguredKeyModeIsAccepted() async throws {
        try await Self.withRig(certificate: false, publicKey: true) { rig in
            rig.fake.signer.withLockedValue { $0 = WeChatPayFake.publicKeySigner }
            let (checkout, transaction) = try await rig.paidAtWeChat()
            let body = try rig.fake.paidNotification(transaction)
            let byCertificate = try await rig.fake.deliver(body, headers: try rig.fake.signedHeaders(body, by: WeChatPayFake.certificateSigner), to: rig.callbackURL)
            #expect(byCertificate.status == .unauthorized)
            #expect(try await rig.status(checkout.payment) == "created")
            // An answer signed with a key we do not hold is not believed either.
            rig.fake.signer.withLockedValue { $0 = WeChatPayFake.certificateSigner }
            await #expect(throws: PaymentProviderError.badResponse("answer signature: unknown_serial")) {
                _ = try await rig.gateway.query(paymentNo: checkout.payment.paymentNo)
            }
        }
    }

    @Test func aLostNotificationIsFoundByQueryingAndClosingStopsPayment() async throws {
        try await Self.withRig { rig in
            // setup: paid at WeChat, but the notification never arrives
            let (checkout, transaction) = try await rig.paidAtWeChat()

            // act
            let state = try await rig.gateway.query(paymentNo: checkout.payment.paymentNo)
            guard case .paid(let tradeNo, let amount) = state else {
                Issue.record("expected paid, got \(state)")
                return
            }
            let now = rig.t.clock.now()
            let outcome = try await rig.t.app.writeGate.transaction(on: rig.t.app.db) { db in
                try await PaymentService(db: db, now: now).confirm(paymentNo: checkout.payment.paymentNo, method: .wechat, tradeNo: tradeNo, amount: amount)
            }

            // check
            #expect(tradeNo == transaction.transactionID)
            #expect(amount == Money(fen: 9_900 + 800 + 5_000))
            #expect(amount.fen == checkout.payment.amount.fen)
            #expect(outcome == .moved(to: .succeeded))
            #expect(try await rig.status(checkout.payment) == "succeeded")
            #expect(try await rig.paymentTransactions() == 1)

            // An unpaid order is unpaid until closed; one never created is unpaid too.
            let other = try await rig.checkout()
            _ = try await rig.pay(other.payment, #"{"method":"wechat","channel":"native"}"#)
            #expect(try await rig.gateway.query(paymentNo: other.payment.paymentNo) == .unpaid)
            try await rig.gateway.close(paymentNo: other.payment.paymentNo)
            #expect(try await rig.gateway.query(paymentNo: other.payment.paymentNo) == .closed)
            #expect(try await rig.gateway.query(paymentNo: "P00000000000000000000") == .unpaid)
            try await rig.gateway.close(paymentNo: "P00000000000000000000")
            // A paid order cannot be closed.
            await #expect(throws: PaymentProviderError.refused(code: "ORDERPAID", message: "订单已支付")) {
                try await rig.gateway.close(paymentNo: checkout.payment.paymentNo)
            }
            // Numbers that could change the path are refused before any request.
            await #expect(throws: PaymentProviderError.self) { _ = try await rig.gateway.query(paymentNo: "../../v3/refund") }
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func aRefundStartsAtWeChatAndItsNotificationIsVerified() async throws {
        try await Self.withRig { rig in
            let (checkout, transaction) = try await rig.paidAtWeChat()
            let paid = try await rig.fake.deliver(try rig.fake.paidNotification(transaction), to: rig.callbackURL)
            #expect(paid.status == .noContent)
            let request = ProviderRefundRequest(paymentNo: checkout.payment.paymentNo, providerTradeNo: transaction.transactionID ?? "",
                                                refundNo: "R20261118000001", paymentAmount: checkout.payment.amount.money,
                                                refundAmount: Money(fen: 5_000), reason: "商品已售完")

            // act
            let answer = try await rig.gateway.refund(request)
            let again = try await rig.gateway.refund(request)
            let tooMuch = try await rig.gateway.refund(ProviderRefundRequest(
                paymentNo: request.paymentNo, providerTradeNo: request.providerTradeNo, refundNo: "R20261118000002",
                paymentAmount: request.paymentAmount, refundAmount: Money(fen: 99_999), reason: ""))

            // check: pending with WeChat's refund id, the same for a repeat; too much is refused
            let refund = try #require(rig.fake.refunds.withLockedValue { $0["R20261118000001"] })
            #expect(answer == .pending(providerRefundNo: refund.refundID))
            #expect(again == answer)
            #expect(refund.refund == 5_000)
            #expect(refund.notifyURL == rig.callbackURL)
            guard case .failed(let reason) = tooMuch else {
                Issue.record("expected failed, got \(tooMuch)")
                return
            }
            #expect(reason.contains("INVALID_REQUEST"))

            // The refund notification: verified and read here; what the refund then becomes is RefundService's.
            let body = try rig.fake.refundNotification(refund)
            let event = try rig.gateway.event(headers: try rig.fake.signedHeaders(body), body: body, now: rig.t.clock.now())
            #expect(event == .refund(refundNo: "R20261118000001", outcome: .succeeded(providerRefundNo: refund.refundID)))
            let abnormal = try rig.fake.refundNotification(refund, status: "ABNORMAL")
            #expect(try rig.gateway.event(headers: try rig.fake.signedHeaders(abnormal), body: abnormal, now: rig.t.clock.now())
                == .refund(refundNo: "R20261118000001", outcome: .failed(reason: "ABNORMAL")))
            let stranger = WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial, key: PaymentTestKeys.signer(PaymentTestKeys.stranger))
            let forged = try await rig.fake.deliver(body, headers: try rig.fake.signedHeaders(body, by: stranger), to: rig.callbackURL)
            #expect(forged.status == .unauthorized)
            var otherMerchant = refund
            otherMerchant.outRefundNo = "R20261118000009"
            let wrongMchid = try rig.fake.notificationBody(eventType: "REFUND.SUCCESS", resource: WeChatPayRefundNotice(
                mchid: "1900000109", outTradeNo: refund.outTradeNo, transactionID: refund.transactionID, outRefundNo: refund.outRefundNo,
                refundID: refund.refundID, refundStatus: "SUCCESS", successTime: nil, userReceivedAccount: nil,
                amount: .init(total: refund.total, refund: refund.refund, payerTotal: nil, payerRefund: nil)), originalType: "refund")
            #expect(try await rig.fake.deliver(wrongMchid, to: rig.callbackURL).status == .badRequest)
            #expect(try await rig.status(checkout.payment) == "succeeded")
        }
    }

    @Test func ourRequestsSignedWithAnotherKeyAreRefusedByWeChat() async throws {
        try await Self.withRig { rig in
            let s = rig.gateway.settings
            let wrongKey = WeChatPaySettings(merchantID: s.merchantID, appID: s.appID, merchantSerial: s.merchantSerial,
                                             merchantKey: PaymentTestKeys.signer(PaymentTestKeys.stranger), apiV3Key: s.apiV3Key,
                                             platformKeys: s.platformKeys, notifyURL: s.notifyURL, apiBaseURL: s.apiBaseURL)
            rig.t.app.paymentGateways[.wechat] = WeChatPayGateway(app: rig.t.app, settings: wrongKey)
            let checkout = try await rig.checkout()
            let started = try await rig.pay(checkout.payment, #"{"method":"wechat","channel":"native"}"#)
            #expect(started.status == .badGateway)
            #expect(started.error?.code == "payment.provider_refused")
            #expect(rig.fake.refused.withLockedValue { $0 } == ["bad_signature"])
            #expect(rig.fake.order(checkout.payment.paymentNo) == nil)
        }
    }

    @Test func theCheckoutCounterOffersWeChatWithAQRCodeOnComputersAndALinkOnPhones() async throws {
        try await Self.withRig { rig in
            // setup: the buyer signed in on the pages
            let browser = PageClient(app: rig.t.app)
            try await browser.get("/login")
            _ = try await browser.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let desktop = try await rig.checkout()
            let phone = try await rig.checkout()

            // act: on a computer, then on a phone
            let counter = try await browser.get("/pay/\(desktop.payment.id)")
            let qr = try await browser.post("/pay/\(desktop.payment.id)", form: ["method": "wechat"])
            browser.userAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
            let link = try await browser.post("/pay/\(phone.payment.id)", form: ["method": "wechat"])

            // check: the counter lists WeChat; the computer gets Native's QR, the phone H5's link
            #expect(counter.body.string.contains(#"value="wechat""#))
            #expect(!counter.body.string.contains(#"value="alipay""#))
            #expect(qr.status == .ok)
            #expect(qr.body.string.contains(#"id="pay-qr""#))
            #expect(qr.body.string.contains("data:image/png;base64,"))
            #expect(rig.fake.order(desktop.payment.paymentNo)?.tradeType == "native")
            #expect(link.body.string.contains(#"href="https://wx.tenpay.com/"#))
            #expect(!link.body.string.contains(#"id="pay-qr""#))
            #expect(rig.fake.order(phone.payment.paymentNo)?.clientIP?.isEmpty == false)
            #expect(try await Payment.find(desktop.payment.id, on: rig.t.app.db)?.provider == "wechat")
        }
    }

    @Test func aMethodThatIsNotConfiguredIsUnavailable() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let checkout = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(s), token: s.buyer).content.decode(CheckoutResultDTO.self)
            for json in [#"{"method":"wechat","channel":"native"}"#, #"{"method":"alipay"}"#, #"{"method":"bitcoin"}"#] {
                let response = try await t.postJSON("/api/v1/payments/\(checkout.payment.id)/pay", json, token: s.buyer)
                #expect(response.status == .unprocessableEntity, "\(json)")
                #expect(response.error?.code == "payment.method_unavailable", "\(json)")
            }
            // Neither provider's callback does anything here.
            let wechat = try await t.postJSON("/callbacks/wechat", "{}")
            #expect(wechat.status == .notFound)
            #expect(wechat.body.string.contains("FAIL"))
            let alipay = try await t.app.testing().sendRequest(.POST, "/callbacks/alipay", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                                               body: .init(string: "a=1"))
            #expect(alipay.body.string == "failure")
            // The sandbox still answers with its page, both as payUrl and as the instruction.
            let sandbox = try await t.postJSON("/api/v1/payments/\(checkout.payment.id)/pay", #"{"method":"sandbox"}"#, token: s.buyer)
            let result = try sandbox.content.decode(PayResultDTO.self)
            #expect(result.payment.payUrl == "/pay/sandbox/\(checkout.payment.paymentNo)")
            #expect(result.instruction?.url == result.payment.payUrl)
        }
    }
}

extension MoneyDTO {
    var money: Money { Money(fen: fen) }
}
