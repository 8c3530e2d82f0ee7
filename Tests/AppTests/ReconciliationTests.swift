import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Reconciliation against the providers' fakes: the production gateways download and read the
/// bills the fakes build from what they saw, and the service compares them with the ledger.
@Suite struct ReconciliationTests {
    /// The test clock's day in China time (2026-11-18 19:06).
    static let day = "2026-11-18"

    static func run(_ t: TestContext, token: String, provider: String, date: String = day) async throws -> [ReconciliationRunDTO] {
        let response = try await t.postJSON("/api/v1/admin/reconciliation/runs", #"{"date":"\#(date)","provider":"\#(provider)"}"#, token: token)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode([ReconciliationRunDTO].self)
    }

    static func differences(_ t: TestContext, token: String, query: String = "") async throws -> [ReconciliationDifferenceDTO] {
        let response = try await t.get("/api/v1/admin/reconciliation/differences\(query)", token: token)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode([ReconciliationDifferenceDTO].self)
    }

    /// A refund of the first line of the checkout's first order, asked for by the buyer and agreed
    /// by the shop; the refund is sent to the payment's provider. Returns its number.
    static func refundFirstLine(_ t: TestContext, shop: OrderFlowTests.Shop, _ checkout: CheckoutResultDTO) async throws -> String {
        let order = checkout.orders[0]
        let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                             #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: shop.buyer)
        #expect(requested.status == .created, "\(requested.body.string)")
        let sale = try requested.content.decode(AfterSaleDTO.self)
        let token = order.merchantId == shop.f.shopA ? shop.f.shopAToken : shop.f.shopBToken
        let approved = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: token)
        #expect(approved.status == .ok, "\(approved.body.string)")
        return try #require(try await Refund.query(on: t.app.db).filter(\.$afterSaleID == sale.id).first()?.refundNo)
    }

    // MARK: WeChat Pay

    /// Pays a checkout at WeChat and delivers the notification (or not, as a lost one).
    static func paidAtWeChat(_ rig: WeChatPayProviderTests.Rig, notify: Bool = true) async throws -> CheckoutResultDTO {
        let (checkout, transaction) = try await rig.paidAtWeChat()
        if notify {
            let delivered = try await rig.fake.deliver(try rig.fake.paidNotification(transaction), to: rig.callbackURL)
            #expect(delivered.status == .noContent)
        }
        return checkout
    }

    static func weChatRefund(_ rig: WeChatPayProviderTests.Rig, _ checkout: CheckoutResultDTO) async throws -> (String, Int64) {
        let refundNo = try await refundFirstLine(rig.t, shop: rig.shop, checkout)
        let refund = try #require(rig.fake.refunds.withLockedValue { $0[refundNo] })
        let delivered = try await rig.fake.deliver(try rig.fake.refundNotification(refund), to: rig.callbackURL)
        #expect(delivered.status == .noContent)
        #expect(try await Refund.query(on: rig.t.app.db).filter(\.$refundNo == refundNo).first()?.status == "succeeded")
        return (refundNo, refund.refund)
    }

    @Test func aWeChatDayThatMatchesHasNoDifferences() async throws {
        try await WeChatPayProviderTests.withRig { rig in
            // setup: two paid checkouts, one line refunded
            let first = try await Self.paidAtWeChat(rig)
            let second = try await Self.paidAtWeChat(rig)
            let (_, refunded) = try await Self.weChatRefund(rig, first)

            // act
            let runs = try await Self.run(rig.t, token: rig.shop.f.operatorToken, provider: "wechat")

            // check
            let run = try #require(runs.first)
            #expect(runs.count == 1)
            #expect(run.status == "completed", "\(run.message)")
            #expect(run.date == Self.day)
            #expect(run.matched == 3)
            #expect(run.differences == 0)
            #expect(run.providerTotals == run.ourTotals)
            #expect(run.providerTotals.payments == 2)
            #expect(run.providerTotals.paymentAmount.fen == first.payment.amount.fen + second.payment.amount.fen)
            #expect(run.providerTotals.refunds == 1)
            #expect(run.providerTotals.refundAmount.fen == refunded)
            #expect(try await Self.differences(rig.t, token: rig.shop.f.operatorToken).isEmpty)
            #expect(rig.fake.refused.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func aWeChatBillWithALostPaymentAMissingRefundAndAnotherAmountGivesExactlyThoseThree() async throws {
        try await WeChatPayProviderTests.withRig { rig in
            // setup: P1 paid; P2 paid with its refund; P3 paid at WeChat but its notification lost.
            let first = try await Self.paidAtWeChat(rig)
            let second = try await Self.paidAtWeChat(rig)
            let (refundNo, refunded) = try await Self.weChatRefund(rig, second)
            let lost = try await Self.paidAtWeChat(rig, notify: false)
            // WeChat's bill lacks the refund and has P1 one fen short.
            rig.fake.billTweaks.withLockedValue {
                $0.omitted = ["refund:\(refundNo)"]
                $0.amounts = ["payment:\(first.payment.paymentNo)": first.payment.amount.fen - 1]
            }
            let token = rig.shop.f.operatorToken

            // act
            let run = try #require(try await Self.run(rig.t, token: token, provider: "wechat").first)
            let found = try await Self.differences(rig.t, token: token, query: "?provider=wechat&date=\(Self.day)")

            // check
            #expect(run.status == "completed")
            #expect(run.matched == 1)
            #expect(run.differences == 3)
            #expect(run.openDifferences == 3)
            #expect(found.count == 3)
            let mismatch = try #require(found.first { $0.kind == "amount_mismatch" })
            #expect(mismatch.lineKind == "payment")
            #expect(mismatch.ourNo == first.payment.paymentNo)
            #expect(mismatch.ourAmount?.fen == first.payment.amount.fen)
            #expect(mismatch.providerAmount?.fen == first.payment.amount.fen - 1)
            let extra = try #require(found.first { $0.kind == "extra_at_provider" })
            #expect(extra.lineKind == "payment")
            #expect(extra.ourNo == lost.payment.paymentNo)
            #expect(extra.ourAmount == nil)
            #expect(extra.providerAmount?.fen == lost.payment.amount.fen)
            #expect(extra.providerNo == rig.fake.order(lost.payment.paymentNo)?.transactionID)
            let missing = try #require(found.first { $0.kind == "missing_at_provider" })
            #expect(missing.lineKind == "refund")
            #expect(missing.ourNo == refundNo)
            #expect(missing.ourAmount?.fen == refunded)
            #expect(missing.providerAmount == nil)
            #expect(found.allSatisfy { $0.status == "open" && $0.provider == "wechat" && $0.date == Self.day })

            // A second run of the day finds the same three and keeps them as they were.
            let again = try #require(try await Self.run(rig.t, token: token, provider: "wechat").first)
            #expect(again.id == run.id)
            #expect(again.attempts == 2)
            let afterRerun = try await Self.differences(rig.t, token: token, query: "?status=all")
            #expect(afterRerun.count == 3)
            #expect(Set(afterRerun.map(\.id)) == Set(found.map(\.id)))
            #expect(try await ReconciliationRun.query(on: rig.t.app.db).count() == 1)

            // Resolving one is recorded with who and when, and a later run does not raise it again.
            let resolved = try await rig.t.postJSON("/api/v1/admin/reconciliation/differences/\(extra.id)/resolve",
                                                    #"{"note":"回调丢失，已按渠道账单补单"}"#, token: token)
            #expect(resolved.status == .ok, "\(resolved.body.string)")
            let dto = try resolved.content.decode(ReconciliationDifferenceDTO.self)
            #expect(dto.status == "resolved")
            #expect(dto.note == "回调丢失，已按渠道账单补单")
            #expect(dto.resolvedBy == "boss")
            #expect(dto.resolvedAt == rig.t.clock.now())
            let twice = try await rig.t.postJSON("/api/v1/admin/reconciliation/differences/\(extra.id)/resolve", #"{"note":"again"}"#, token: token)
            #expect(twice.status == .conflict)
            #expect(twice.error?.code == "reconciliation.already_resolved")
            #expect(try await AuditLogEntry.query(on: rig.t.app.db).filter(\.$action == "reconciliation.resolve").count() == 1)
            _ = try await Self.run(rig.t, token: token, provider: "wechat")
            #expect(try await Self.differences(rig.t, token: token).map(\.id).sorted { $0.uuidString < $1.uuidString }
                == [mismatch.id, missing.id].sorted { $0.uuidString < $1.uuidString })
            #expect(try await Self.differences(rig.t, token: token, query: "?status=resolved").map(\.id) == [extra.id])

            // Once WeChat's bill agrees, the open ones go; the resolved one stays as history.
            rig.fake.billTweaks.withLockedValue { $0 = .init() }
            let late = try #require(rig.fake.order(lost.payment.paymentNo)?.transactionID)
            let now = rig.t.clock.now()
            _ = try await rig.t.app.writeGate.transaction(on: rig.t.app.db) { db in
                try await PaymentService(db: db, now: now).confirm(paymentNo: lost.payment.paymentNo, method: .wechat, tradeNo: late, amount: lost.payment.amount.money)
            }
            let clean = try #require(try await Self.run(rig.t, token: token, provider: "wechat").first)
            #expect(clean.differences == 0)
            #expect(clean.matched == 4)
            #expect(try await Self.differences(rig.t, token: token).isEmpty)
            #expect(try await Self.differences(rig.t, token: token, query: "?status=all").count == 1)
        }
    }

    @Test func aWeChatBillThatCannotBeFetchedIsAFailedRun() async throws {
        try await WeChatPayProviderTests.withRig { rig in
            _ = try await Self.paidAtWeChat(rig)
            rig.fake.billTweaks.withLockedValue { $0.failing = true }
            let run = try #require(try await Self.run(rig.t, token: rig.shop.f.operatorToken, provider: "wechat").first)
            #expect(run.status == "failed")
            #expect(run.message.contains("HTTP 500"), "\(run.message)")
            #expect(try await Self.differences(rig.t, token: rig.shop.f.operatorToken).isEmpty)

            // A file that does not match its hash is not read either.
            rig.fake.billTweaks.withLockedValue { $0 = .init(corruptFile: true) }
            let corrupt = try #require(try await Self.run(rig.t, token: rig.shop.f.operatorToken, provider: "wechat").first)
            #expect(corrupt.status == "failed")
            #expect(corrupt.message.contains("SHA-1"), "\(corrupt.message)")
            #expect(corrupt.attempts == 2)
            let listed = try await rig.t.get("/api/v1/admin/reconciliation/runs?provider=wechat&date=\(Self.day)", token: rig.shop.f.operatorToken)
            #expect(try listed.content.decode([ReconciliationRunDTO].self).map(\.status) == ["failed"])

            // Once WeChat answers, the same row completes.
            rig.fake.billTweaks.withLockedValue { $0 = .init() }
            let completed = try #require(try await Self.run(rig.t, token: rig.shop.f.operatorToken, provider: "wechat").first)
            #expect(completed.status == "completed")
            #expect(completed.message == "")
            #expect(completed.matched == 1)
            #expect(try await ReconciliationRun.query(on: rig.t.app.db).count() == 1)
        }
    }

    // MARK: Alipay

    static func paidAtAlipay(_ rig: AlipayProviderTests.Rig, notify: Bool = true) async throws -> CheckoutResultDTO {
        let (checkout, trade) = try await rig.paidAtAlipay()
        if notify {
            let (status, text) = try await rig.deliver(try rig.fake.notification(trade))
            #expect(status == 200 && text == "success", "\(text)")
        }
        return checkout
    }

    static func withAlipayRig(_ body: (AlipayProviderTests.Rig) async throws -> Void) async throws {
        try await withMallApp { t in
            let shop = try await OrderFlowTests.shop(t)
            try await t.withLiveServer { live in
                let fake = try await AlipayFake(clock: t.clock)
                do {
                    let env = AlipayTestFiles.environment(gateway: fake.gateway, notify: live.base + "/callbacks/alipay")
                    let settings = try #require(try AlipaySettings.load(env, publicBaseURL: live.base))
                    let gateway = AlipayGateway(app: t.app, settings: settings)
                    t.app.paymentGateways[.alipay] = gateway
                    try await body(AlipayProviderTests.Rig(t: t, live: live, fake: fake, gateway: gateway, shop: shop))
                } catch {
                    try await fake.stop()
                    throw error
                }
                try await fake.stop()
            }
        }
    }

    @Test func anAlipayDayThatMatchesHasNoDifferencesAndOneThatDoesNotListsThem() async throws {
        try await Self.withAlipayRig { rig in
            // setup: two paid checkouts, one line refunded at once through Alipay
            let first = try await Self.paidAtAlipay(rig)
            let second = try await Self.paidAtAlipay(rig)
            let refundNo = try await Self.refundFirstLine(rig.t, shop: rig.shop, second)
            let refund = try #require(try await Refund.query(on: rig.t.app.db).filter(\.$refundNo == refundNo).first())
            #expect(refund.status == "succeeded")
            let token = rig.shop.f.operatorToken

            // act, check: the GBK bill in its ZIP agrees to the fen
            let run = try #require(try await Self.run(rig.t, token: token, provider: "alipay").first)
            #expect(run.status == "completed", "\(run.message)")
            #expect(run.matched == 3)
            #expect(run.differences == 0)
            #expect(run.providerTotals == run.ourTotals)
            #expect(run.providerTotals.paymentAmount.fen == first.payment.amount.fen + second.payment.amount.fen)
            #expect(run.providerTotals.refundAmount.fen == refund.total)

            // act: a lost notification, a payment Alipay has that we never issued, the refund left
            // out of the bill and the first payment a yuan higher
            let lost = try await Self.paidAtAlipay(rig, notify: false)
            rig.fake.billTweaks.withLockedValue {
                $0.omitted = ["refund:\(refundNo)"]
                $0.amounts = ["payment:\(first.payment.paymentNo)": first.payment.amount.fen + 100]
                $0.extra = [ProviderBillLine(kind: .payment, ourNo: "P20261118999999999999", providerNo: "2026111822001999", amount: Money(fen: 1), at: nil)]
            }
            let second_run = try #require(try await Self.run(rig.t, token: token, provider: "alipay").first)
            let found = try await Self.differences(rig.t, token: token, query: "?provider=alipay")

            // check
            #expect(second_run.differences == 4)
            #expect(second_run.matched == 1)
            #expect(found.count == 4)
            #expect(found.filter { $0.kind == "extra_at_provider" }.map(\.ourNo).sorted() == [lost.payment.paymentNo, "P20261118999999999999"].sorted())
            #expect(found.first { $0.ourNo == lost.payment.paymentNo }?.providerAmount?.fen == lost.payment.amount.fen)
            let mismatch = try #require(found.first { $0.kind == "amount_mismatch" })
            #expect(mismatch.ourNo == first.payment.paymentNo)
            #expect(mismatch.ourAmount?.fen == first.payment.amount.fen)
            #expect(mismatch.providerAmount?.fen == first.payment.amount.fen + 100)
            let missing = try #require(found.first { $0.kind == "missing_at_provider" })
            #expect(missing.ourNo == refundNo)
            #expect(missing.lineKind == "refund")
            #expect(missing.ourAmount?.fen == refund.total)

            // No bill: a failed run with Alipay's reason.
            rig.fake.billTweaks.withLockedValue { $0.failing = true }
            let failed = try #require(try await Self.run(rig.t, token: token, provider: "alipay").first)
            #expect(failed.status == "failed")
            #expect(failed.message.contains("isp.bill_not_exist"), "\(failed.message)")
            #expect(try await Self.differences(rig.t, token: token).count == 4)
        }
    }

    // MARK: sandbox, access, input

    @Test func theSandboxBillIsItsOwnChargesAndALostCallbackIsAnExtraLine() async throws {
        try await withMallApp { t in
            let shop = try await OrderFlowTests.shop(t)
            func paidAtSandbox(confirm: Bool) async throws -> CheckoutResultDTO {
                let checkout = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(shop), token: shop.buyer).content.decode(CheckoutResultDTO.self)
                let chose = try await t.postJSON("/api/v1/payments/\(checkout.payment.id)/pay", #"{"method":"sandbox"}"#, token: shop.buyer)
                #expect(chose.status == .ok)
                let payment = try #require(try await Payment.find(checkout.payment.id, on: t.app.db))
                let charge = try await SandboxCharges.charge(payment, app: t.app)
                if confirm {
                    let now = t.clock.now()
                    _ = try await t.app.writeGate.transaction(on: t.app.db) { db in
                        try await PaymentService(db: db, now: now).confirm(paymentNo: charge.paymentNo, method: .sandbox, tradeNo: charge.tradeNo, amount: Money(fen: charge.amountFen))
                    }
                }
                return checkout
            }
            let paid = try await paidAtSandbox(confirm: true)
            let refundNo = try await Self.refundFirstLine(t, shop: shop, paid)
            let lost = try await paidAtSandbox(confirm: false)
            let token = shop.f.operatorToken

            // Without a provider: every configured one (here only the sandbox).
            let response = try await t.postJSON("/api/v1/admin/reconciliation/runs", #"{"date":"\#(Self.day)"}"#, token: token)
            #expect(response.status == .ok, "\(response.body.string)")
            let runs = try response.content.decode([ReconciliationRunDTO].self)
            #expect(runs.map(\.provider) == ["sandbox"])
            #expect(runs.first?.matched == 2)
            let found = try await Self.differences(t, token: token)
            #expect(found.map(\.kind) == ["extra_at_provider"])
            #expect(found.first?.ourNo == lost.payment.paymentNo)
            #expect(found.first?.providerAmount?.fen == lost.payment.amount.fen)
            #expect(try await Refund.query(on: t.app.db).filter(\.$refundNo == refundNo).first()?.status == "succeeded")

            // The console page lists it with a form; resolving there is recorded too.
            let differenceID = try #require(found.first?.id)
            try await ReconciliationPageTests.resolveOnPage(t, differenceID: differenceID)
            #expect(try await Self.differences(t, token: token).isEmpty)
            #expect(try await ReconciliationDifferenceRecord.find(differenceID, on: t.app.db)?.resolvedByName == "boss")

            // The command runs the same day again: nothing new.
            let day = try #require(BillDay(Self.day))
            let again = try await ReconciliationService.run(day: day, app: t.app)
            #expect(again.map(\.differences) == [1])
            #expect(try await Self.differences(t, token: token).isEmpty)
            #expect(try await ReconciliationDifferenceRecord.query(on: t.app.db).count() == 1)
        }
    }

    @Test func onlyOperatorsWithTheReconcilePermissionGetIn() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            try await t.createStaff("finance", role: .platformFinance, merchantID: nil)
            try await t.createStaff("support", role: .platformSupport, merchantID: nil)
            let finance = try await t.staffToken("finance", console: "platform")
            let support = try await t.staffToken("support", console: "platform")
            let member = try await t.registerMember("13600000009")
            let paths: [(HTTPMethod, String, String?)] = [
                (.GET, "/api/v1/admin/reconciliation/runs", nil),
                (.POST, "/api/v1/admin/reconciliation/runs", #"{"date":"\#(Self.day)"}"#),
                (.GET, "/api/v1/admin/reconciliation/differences", nil),
                (.POST, "/api/v1/admin/reconciliation/differences/\(UUID())/resolve", #"{"note":"x"}"#),
            ]
            for (method, path, body) in paths {
                for token in [f.shopAToken, support, member] {
                    let response = try await t.send(method, path, body, token: token)
                    #expect(response.status == .forbidden, "\(method) \(path): \(response.status)")
                }
                #expect(try await t.send(method, path, body).status == .unauthorized, "\(path)")
            }
            #expect(try await t.get("/api/v1/admin/reconciliation/runs", token: finance).status == .ok)
            #expect(try await t.postJSON("/api/v1/admin/reconciliation/runs", #"{"date":"\#(Self.day)"}"#, token: finance).status == .ok)
            #expect(try await t.postJSON("/api/v1/admin/reconciliation/differences/\(UUID())/resolve", #"{"note":"x"}"#, token: finance).status == .notFound)
        }
    }

    @Test func badInputIsAClearRefusal() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let token = f.operatorToken
            let cases: [(String, String, UInt, String)] = [
                (#"{"date":"2026-02-30"}"#, "date", 422, "validation_failed"),
                (#"{"date":"18/11/2026"}"#, "date", 422, "validation_failed"),
                (#"{"date":"2026-11-19"}"#, "date", 422, "validation_failed"),
                (#"{"date":"2026-11-18","provider":"balance"}"#, "provider", 422, "validation_failed"),
                (#"{"date":"2026-11-18","provider":"paypal"}"#, "provider", 422, "validation_failed"),
                (#"{"date":"2026-11-18","provider":"wechat"}"#, "provider", 422, "reconciliation.provider_not_configured"),
                (#"{"date":12}"#, "", 400, ""),
                (#"{}"#, "", 400, ""),
            ]
            for (body, field, status, code) in cases {
                let response = try await t.postJSON("/api/v1/admin/reconciliation/runs", body, token: token)
                #expect(response.status.code == status, "\(body): \(response.body.string)")
                if !code.isEmpty { #expect(response.error?.code == code, "\(body)") }
                if !field.isEmpty { #expect(response.error?.details.map(\.field) == [field], "\(body)") }
            }
            for query in ["?date=2026-13-01", "?provider=x", "?limit=0", "?limit=99999999999999999999", "?status=closed", "?kind=lost"] {
                let path = query.contains("status") || query.contains("kind") ? "differences" : "runs"
                let response = try await t.get("/api/v1/admin/reconciliation/\(path)\(query)", token: token)
                #expect([400, 422].contains(response.status.code), "\(path)\(query): \(response.status)")
            }
            #expect(try await t.postJSON("/api/v1/admin/reconciliation/differences/not-a-uuid/resolve", #"{"note":"x"}"#, token: token).status == .notFound)
            let empty = try await t.postJSON("/api/v1/admin/reconciliation/differences/\(UUID())/resolve", #"{"note":"  "}"#, token: token)
            #expect(empty.status == .unprocessableEntity)
            #expect(empty.error?.details.map(\.field) == ["note"])
            let long = try await t.postJSON("/api/v1/admin/reconciliation/differences/\(UUID())/resolve", #"{"note":"\#(String(repeating: "长", count: 201))"}"#, token: token)
            #expect(long.status == .unprocessableEntity)
        }
    }
}

/// The console page, as an operator's browser uses it.
enum ReconciliationPageTests {
    static func resolveOnPage(_ t: TestContext, differenceID: UUID) async throws {
        let client = PageClient(app: t.app)
        try await client.get("/admin/login")
        let login = try await client.post("/admin/login", form: ["username": "boss", "password": "Staff2026"])
        #expect(login.headers.first(name: .location) == "/admin")
        #expect(try await client.get("/admin").body.string.contains(#"href="/admin/reconciliation""#))
        let page = try await client.get("/admin/reconciliation")
        #expect(page.status == .ok)
        #expect(page.body.string.contains("支付对账"))
        #expect(page.body.string.contains("渠道多出"))
        #expect(page.body.string.contains("/admin/reconciliation/differences/\(differenceID.uuidString)/resolve"))
        let empty = try await client.post("/admin/reconciliation/differences/\(differenceID.uuidString)/resolve", form: ["note": ""])
        #expect(empty.headers.first(name: .location) == "/admin/reconciliation")
        #expect(try await ReconciliationDifferenceRecord.find(differenceID, on: t.app.db)?.status == "open")
        let posted = try await client.post("/admin/reconciliation/differences/\(differenceID.uuidString)/resolve", form: ["note": "已核对：沙箱测试单"])
        #expect(posted.headers.first(name: .location) == "/admin/reconciliation")
        let after = try await client.get("/admin/reconciliation")
        #expect(after.body.string.contains("差异已标记为已处理"))
        #expect(after.body.string.contains("没有未处理的差异"))
    }
}
