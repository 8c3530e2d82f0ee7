import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Distribution end to end through the API: admission, binding, commission from payment to
/// withdrawal, refunds before and after settlement, and the compliance refusals.
@Suite struct DistributionTests {
    struct Network {
        let s: OrderFlowTests.Shop
        /// Level 2 upline: the first distributor.
        let upline: String
        let uplineID: UUID
        /// Level 1: the distributor the buyer is bound to, whose parent is `upline`.
        let sharer: String
        let sharerID: UUID
        let sharerCode: String
        let buyerID: UUID
    }

    static let idNumber = "11010519491231002X"

    static func applyJSON(version: String = "2026-11") -> String {
        #"{"kind":"individual","realName":"张三","idNumber":"\#(idNumber)","answers":{"微信号 WeChat ID":"zhang3"},"agreementVersion":"\#(version)","agree":true}"#
    }

    static func settings(_ t: TestContext, token: String, _ change: (inout DistributionConfig) -> Void) async throws {
        var config = try await t.get("/api/v1/admin/distribution/settings", token: token).content.decode(DistributionConfig.self)
        change(&config)
        let saved = try await t.send(.PUT, "/api/v1/admin/distribution/settings", String(decoding: try JSONEncoder().encode(config), as: UTF8.self), token: token)
        #expect(saved.status == .ok, "\(saved.body.string)")
    }

    /// A member who applied and was approved: returns the token, id and link code.
    static func distributor(_ t: TestContext, phone: String, boss: String, via code: String? = nil) async throws -> (String, UUID, String) {
        let token = try await t.registerMember(phone)
        if let code {
            let touched = try await t.postJSON("/api/v1/distribution/touch", #"{"code":"\#(code)"}"#, token: token)
            #expect(touched.status == .ok, "\(touched.body.string)")
        }
        let applied = try await t.postJSON("/api/v1/distribution/apply", applyJSON(), token: token)
        #expect(applied.status == .created, "\(applied.body.string)")
        let dto = try applied.content.decode(DistributorDTO.self)
        #expect(dto.status == "applied")
        let approved = try await t.postJSON("/api/v1/admin/distribution/distributors/\(dto.memberId)/decision", #"{"decision":"approve"}"#, token: boss)
        #expect(approved.status == .ok, "\(approved.body.string)")
        return (token, dto.memberId, dto.code)
    }

    /// Two levels at 10 % and 5 %; the buyer 13600000001 bound to the sharer, whose parent is the upline.
    static func network(_ t: TestContext) async throws -> Network {
        let s = try await OrderFlowTests.shop(t)
        let boss = s.f.operatorToken
        try await settings(t, token: boss) { $0.commission.levelCount = 2 }
        let rule = try await t.send(.PUT, "/api/v1/admin/distribution/rules", #"{"scope":"global","levels":{"1":{"rateBp":1000},"2":{"rateBp":500}}}"#, token: boss)
        #expect(rule.status == .ok, "\(rule.body.string)")
        let (upline, uplineID, uplineCode) = try await distributor(t, phone: "13700000001", boss: boss)
        let (sharer, sharerID, sharerCode) = try await distributor(t, phone: "13700000002", boss: boss, via: uplineCode)
        let me = try await t.get("/api/v1/distribution/me", token: sharer).content.decode(MyDistributionDTO.self)
        #expect(me.distributor?.parentId == uplineID)
        let touched = try await t.postJSON("/api/v1/distribution/touch", #"{"code":"\#(sharerCode.lowercased())"}"#, token: s.buyer)
        #expect(try touched.content.decode(DistributionAPIController.TouchDTO.self).bound)
        return Network(s: s, upline: upline, uplineID: uplineID, sharer: sharer, sharerID: sharerID, sharerCode: sharerCode,
                       buyerID: try await t.memberID(phone: "13600000001"))
    }

    /// 3 × ¥100.00 of shop A's milk, paid from the balance; returns the order.
    static func buy(_ t: TestContext, _ n: Network, units: Int = 3, buyer: String? = nil) async throws -> OrderDTO {
        let buyer = buyer ?? n.s.buyer
        try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
        try await Sku.query(on: t.app.db).filter(\.$id == n.s.milk.skus[0].id).set(\.$price, to: 10_000).update()
        let json = #"{"items":[{"skuId":"\#(n.s.milk.skus[0].id)","quantity":\#(units)}],"addressId":"\#(n.s.address)"}"#
        let result = try await t.postJSON("/api/v1/checkout", json, token: buyer).content.decode(CheckoutResultDTO.self)
        let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: buyer)
        #expect(paid.status == .ok, "\(paid.body.string)")
        return try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: buyer).content.decode(OrderDTO.self)
    }

    static func balance(_ t: TestContext, _ purpose: LedgerAccountPurpose, _ member: UUID) async throws -> Int64 {
        try await AfterSaleTests.ledger(t).balance(of: LedgerAccountKey(purpose, .member(member))).fen
    }

    /// A fresh access token, for after the clock has jumped past the old one's life.
    static func token(_ t: TestContext, _ member: UUID) async throws -> String {
        try await TokenService(app: t.app, db: t.app.db).issue(kind: "member", subjectID: member).accessToken
    }

    static func commissions(_ t: TestContext, order: UUID) async throws -> [Commission] {
        try await Commission.query(on: t.app.db).filter(\.$orderID == order).sort(\.$level).all()
    }

    @Test func aBoundBuyersOrderPaysTwoLevelsFromPaymentToWithdrawal() async throws {
        try await withMallApp { t in
            // setup
            let n = try await Self.network(t)
            let order = try await Self.buy(t, n)
            #expect(order.payable.fen == 31_800)

            // act: the order.paid event is handled; delivering it again changes nothing
            #expect(try await OutboxDispatcher.run(t.app).handled >= 1)
            try await t.app.writeGate.transaction(on: t.app.db) { db in
                guard let fresh = try await Order.find(order.id, on: db) else { return }
                try await CommissionService(db: db, now: t.clock.now()).ensureBooked(fresh)
            }

            // check: one commission per line per level, on the paid ¥300.00 (not the shipping)
            var rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.level) == [1, 2])
            #expect(rows.map(\.beneficiaryID) == [n.sharerID, n.uplineID])
            #expect(rows.map(\.amount) == [3_000, 1_500])
            #expect(rows.map(\.state) == ["pending", "pending"])
            #expect(try await Self.balance(t, .commissionPending, n.sharerID) == 3_000)
            let shopPending = try await AfterSaleTests.ledger(t).balance(of: LedgerAccountKey(.merchantPending, .merchant(n.s.f.shopA))).fen
            let paidOrder = try #require(try await Order.find(order.id, on: t.app.db))
            #expect(shopPending == 31_800 - paidOrder.serviceFee - 4_500)
            let mine = try await t.get("/api/v1/distribution/commissions", token: n.sharer).content.decode([CommissionDTO].self)
            #expect(mine.map(\.amount.fen) == [3_000])
            #expect(mine.first?.buyer.contains("*") == true)

            // act: shipped and received → frozen
            #expect(try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: n.s.f.shopAToken).status == .ok)
            #expect(try await t.postJSON("/api/v1/me/orders/\(order.id)/confirm-receipt", "{}", token: n.s.buyer).status == .ok)
            _ = try await OutboxDispatcher.run(t.app)
            rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.state) == ["frozen", "frozen"])
            #expect(try await Self.balance(t, .commissionFrozen, n.sharerID) == 3_000)
            #expect(try await Self.balance(t, .commissionPending, n.sharerID) == 0)

            // act: the after-sales window passes; the order completes and the commission settles
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)
            rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.state) == ["settled", "settled"])
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 3_000)
            #expect(try await Self.balance(t, .commissionAvailable, n.uplineID) == 1_500)
            // The shop's receivable is what the order brought less the fee and the commission.
            let receivable = try await AfterSaleTests.ledger(t).balance(of: LedgerAccountKey(.merchantReceivable, .merchant(n.s.f.shopA))).fen
            #expect(receivable == 31_800 - paidOrder.serviceFee - 4_500)

            // act: withdraw ¥10.00 to the mall balance with the 1 % fee
            let sharer = try await Self.token(t, n.sharerID)
            let boss = try await t.staffToken("boss", console: "platform")
            let balanceBefore = try await Self.balance(t, .memberBalance, n.sharerID)
            let requested = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"balance"}"#, token: sharer,
                                                 headers: ["Idempotency-Key": "w-1"])
            #expect(requested.status == .created, "\(requested.body.string)")
            let withdrawal = try requested.content.decode(WithdrawalDTO.self)
            #expect(withdrawal.state == "requested")
            #expect(withdrawal.fee.fen == 10)
            #expect(withdrawal.net.fen == 990)
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 2_000)
            let again = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"balance"}"#, token: sharer,
                                             headers: ["Idempotency-Key": "w-1"])
            #expect(try again.content.decode(WithdrawalDTO.self).id == withdrawal.id)
            let approved = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss)
            #expect(approved.status == .ok, "\(approved.body.string)")
            #expect(try approved.content.decode(WithdrawalDTO.self).state == "paid")
            #expect(try await Self.balance(t, .memberBalance, n.sharerID) == balanceBefore + 990)
            let me = try await t.get("/api/v1/distribution/me", token: sharer).content.decode(MyDistributionDTO.self)
            #expect(me.balances?.available.fen == 2_000)
            #expect(me.balances?.withdrawn.fen == 1_000)
        }
    }

    static func ship(_ t: TestContext, _ n: Network, _ order: OrderDTO, buyer: String) async throws {
        let shop = try await t.staffToken("a-owner", console: "merchant")
        #expect(try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: shop).status == .ok)
        #expect(try await t.postJSON("/api/v1/me/orders/\(order.id)/confirm-receipt", "{}", token: buyer).status == .ok)
        _ = try await OutboxDispatcher.run(t.app)
    }

    @Test func refundsLowerPendingCommissionAndClawBackSettledCommissionIntoADebt() async throws {
        try await withMallApp { t in
            // setup: 3 × ¥100.00; commission ¥30.00 and ¥15.00
            let n = try await Self.network(t)
            let order = try await Self.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)

            // act: one unit refunded before shipment
            let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                 #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"买多了"}"#, token: n.s.buyer)
            #expect(requested.status == .created, "\(requested.body.string)")
            let sale = try requested.content.decode(AfterSaleDTO.self)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: n.s.f.shopAToken)
            #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded")

            // check: the rules of payment time on the ¥200.00 that remain
            var rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.amount) == [2_000, 1_000])
            #expect(rows.map(\.originalAmount) == [3_000, 1_500])
            #expect(rows.map(\.state) == ["pending", "pending"])
            #expect(try await Self.balance(t, .commissionPending, n.sharerID) == 2_000)

            // act: delivered, completed, settled; the sharer withdraws everything
            try await Self.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 2_000)
            let sharer = try await Self.token(t, n.sharerID)
            let boss = try await t.staffToken("boss", console: "platform")
            let all = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":2000,"channel":"bank_card","accountName":"张三","accountNumber":"6222020200112233445","bankName":"工商银行"}"#, token: sharer)
            #expect(all.status == .created, "\(all.body.string)")
            let withdrawal = try all.content.decode(WithdrawalDTO.self)
            #expect(withdrawal.accountHint == "3445")
            #expect(try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss).content.decode(WithdrawalDTO.self).state == "approved")
            let noProof = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay", "{}", token: boss)
            #expect(noProof.status == .unprocessableEntity)
            let proof = try await t.uploadLicence()
            let paid = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay", #"{"proofImage":"\#(proof)"}"#, token: boss)
            #expect(try paid.content.decode(WithdrawalDTO.self).state == "paid", "\(paid.body.string)")
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 0)

            // act: after settlement the platform refunds one more unit (¥100.00)
            let late = try await t.postJSON("/api/v1/admin/orders/\(order.id)/refunds", #"{"lineId":"\#(order.lines[0].id)","units":1,"reason":"质量问题投诉"}"#, token: boss)
            #expect(late.status == .created, "\(late.body.string)")
            #expect(try late.content.decode(AfterSaleDTO.self).state == "refunded")

            // check: ¥10.00 back from the sharer, who has nothing available: a debt; the upline pays ¥5.00 from its ¥10.00
            rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.amount) == [1_000, 500])
            #expect(rows.map(\.clawedBack) == [1_000, 500])
            #expect(try await Self.balance(t, .commissionDebt, n.sharerID) == 1_000)
            #expect(try await Self.balance(t, .commissionAvailable, n.uplineID) == 500)
            #expect(try await Self.balance(t, .commissionDebt, n.uplineID) == 0)
            let refused = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":100,"channel":"balance"}"#, token: sharer)
            #expect(refused.status == .conflict)
            #expect(refused.error?.code == "withdrawal_debt_open")
            #expect(refused.error?.message.contains("欠款") == true)

            // act: a later order's commission settles and pays the debt first
            let buyer = try await Self.token(t, n.buyerID)
            let second = try await Self.buy(t, n, units: 2, buyer: buyer)
            _ = try await OutboxDispatcher.run(t.app)
            try await Self.ship(t, n, second, buyer: buyer)
            t.clock.advance(seconds: 8 * 86_400)
            _ = try await OrderJobs.runAll(t.app)
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.balance(t, .commissionDebt, n.sharerID) == 0)
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 1_000)
        }
    }

    @Test func complianceLimitsAndBadInputAreRefusedWithAReason() async throws {
        try await withMallApp { t in
            let n = try await Self.network(t)
            let boss = n.s.f.operatorToken
            // A fourth level, anywhere.
            let fourth = try await t.send(.PUT, "/api/v1/admin/distribution/rules", #"{"scope":"global","levels":{"4":{"rateBp":100}}}"#, token: boss)
            #expect(fourth.status == .unprocessableEntity)
            #expect(fourth.error?.code == "commission_too_many_levels")
            #expect(fourth.error?.message.hasPrefix("合规限制") == true)
            var config = try await t.get("/api/v1/admin/distribution/settings", token: boss).content.decode(DistributionConfig.self)
            config.commission.levelCount = 4
            let four = try await t.send(.PUT, "/api/v1/admin/distribution/settings", String(decoding: try JSONEncoder().encode(config), as: UTF8.self), token: boss)
            #expect(four.error?.code == "commission_too_many_levels")
            // Rates above the cap (50 %).
            let greedy = try await t.send(.PUT, "/api/v1/admin/distribution/rules", #"{"scope":"category","scopeId":"\#(n.s.f.milk)","levels":{"1":{"rateBp":4000},"2":{"rateBp":2000}}}"#, token: boss)
            #expect(greedy.error?.code == "commission_rates_exceed_cap")
            // A fee to join, or a grade for headcount.
            config.commission.levelCount = 2
            config.admission.entryFeeFen = 9_900
            let fee = try await t.send(.PUT, "/api/v1/admin/distribution/settings", String(decoding: try JSONEncoder().encode(config), as: UTF8.self), token: boss)
            #expect(fee.error?.code == "admission_entry_fee")
            let grades = #"[{"id":"\#(UUID())","name":"普通","honourTitle":"","rank":1,"promotion":[],"promotionMatch":"all","minimum":[]},{"id":"\#(UUID())","name":"金牌","honourTitle":"金牌推广官","rank":2,"promotion":[{"metric":"team_size","window":"cumulative","threshold":10}],"promotionMatch":"all","minimum":[]}]"#
            let headcount = try await t.send(.PUT, "/api/v1/admin/distribution/grades", grades, token: boss)
            #expect(headcount.error?.code == "grade_headcount_condition")
            // A shop's rule above the platform's bound, or on another shop's product.
            let high = try await t.send(.PUT, "/api/v1/merchant/distribution/rules", #"{"scope":"product","scopeId":"\#(n.s.milk.id)","levels":{"1":{"rateBp":3500}}}"#, token: n.s.f.shopAToken)
            #expect(high.error?.code == "commission_above_merchant_bound")
            let foreign = try await t.send(.PUT, "/api/v1/merchant/distribution/rules", #"{"scope":"product","scopeId":"\#(n.s.cream.id)","levels":{"1":{"rateBp":1500}}}"#, token: n.s.f.shopAToken)
            #expect(foreign.status == .notFound)
            let own = try await t.send(.PUT, "/api/v1/merchant/distribution/rules", #"{"scope":"product","scopeId":"\#(n.s.milk.id)","levels":{"1":{"rateBp":1500}}}"#, token: n.s.f.shopAToken)
            #expect(own.status == .ok, "\(own.body.string)")
            // Applications with a bad ID number or without the agreement.
            let newcomer = try await t.registerMember("13700000009")
            let badID = try await t.postJSON("/api/v1/distribution/apply", Self.applyJSON().replacingOccurrences(of: Self.idNumber, with: "110105194912310021"), token: newcomer)
            #expect(badID.status == .unprocessableEntity)
            #expect(badID.error?.details.first?.field == "idNumber")
            let oldAgreement = try await t.postJSON("/api/v1/distribution/apply", Self.applyJSON(version: "2020-01"), token: newcomer)
            #expect(oldAgreement.error?.details.first?.field == "agree")
            #expect(try await Distributor.find(try await t.memberID(phone: "13700000009"), on: t.app.db) == nil)
            // No one binds to themselves.
            let me = try await t.postJSON("/api/v1/distribution/touch", #"{"code":"\#(n.sharerCode)"}"#, token: n.sharer)
            #expect(try me.content.decode(DistributionAPIController.TouchDTO.self).reason == "self_binding")

            // The preview explains each level: the product rule (15 %) at level 1, the global 5 % at level 2.
            let preview = try await t.postJSON("/api/v1/admin/distribution/preview", #"{"skuId":"\#(n.s.milk.skus[0].id)","quantity":2,"paidAmountFen":15000,"distributorId":"\#(n.sharerID)"}"#, token: boss)
            #expect(preview.status == .ok, "\(preview.body.string)")
            let dto = try preview.content.decode(CommissionPreviewDTO.self)
            #expect(dto.base.fen == 15_000)
            #expect(dto.levels.map(\.amount.fen) == [2_250, 750, 0])
            #expect(dto.levels.map(\.ruleSource) == ["product", "global", nil])
            #expect(dto.levels[2].unpaidReason == "level_disabled")
            #expect(dto.levels[0].explanation.contains("商品规则"))
            let earn = try await t.get("/api/v1/distribution/earn?productId=\(n.s.milk.id)", token: n.sharer).content.decode(DistributionAPIController.EarnDTO.self)
            #expect(earn.amount.fen == 1_485)
        }
    }

    @Test func theFirstPaidOrderBindsWhenThatIsTheTriggerAndTenDeliveriesBookOnce() async throws {
        try await withMallApp { t in
            let n = try await Self.network(t)
            // A second buyer arrives through the sharer's link before the trigger: not bound yet.
            try await Self.settings(t, token: n.s.f.operatorToken) { $0.binding.trigger = "first_paid_order" }
            let buyer = try await t.registerMember("13600000002")
            let touched = try await t.postJSON("/api/v1/distribution/touch", #"{"code":"\#(n.sharerCode)"}"#, token: buyer)
            #expect(try touched.content.decode(DistributionAPIController.TouchDTO.self).reason == "before_trigger")
            try await OrderFlowTests.topUp(t, phone: "13600000002", fen: 50_000)
            let address = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: buyer).content.decode(AddressDTO.self)
            let json = #"{"items":[{"skuId":"\#(n.s.milk.skus[0].id)","quantity":1}],"addressId":"\#(address.id)"}"#
            let result = try await t.postJSON("/api/v1/checkout", json, token: buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: buyer).status == .ok)
            let orderID = result.orders[0].id

            // act: the event handled while five more bookings race it
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await OutboxDispatcher.run(t.app) }
                for _ in 0..<5 {
                    group.addTask {
                        try await t.app.writeGate.transaction(on: t.app.db) { db in
                            guard let order = try await Order.find(orderID, on: db) else { return }
                            try await CommissionService(db: db, now: t.clock.now()).ensureBooked(order)
                        }
                    }
                }
                try await group.waitForAll()
            }

            // check: bound at payment, one commission per level, ¥99.00 × 10 % and 5 %
            let member = try await t.memberID(phone: "13600000002")
            #expect(try await CustomerBinding.find(member, on: t.app.db)?.distributorID == n.sharerID)
            #expect(try await CustomerBinding.find(member, on: t.app.db)?.trigger == "first_paid_order")
            let rows = try await Self.commissions(t, order: orderID)
            #expect(rows.map(\.amount) == [990, 495])
            #expect(try await Self.balance(t, .commissionPending, n.sharerID) == 990)
        }
    }

    @Test func twoWithdrawalsOverOneBalanceLeaveExactlyOneStanding() async throws {
        try await withMallApp { t in
            let n = try await Self.network(t)
            _ = try await AfterSaleTests.ledger(t).post(LedgerTransactionDraft(
                idempotencyKey: "test-commission:\(n.sharerID)", kind: "commission_settled",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 10_000)), .credit(try LedgerAccountKey(.commissionAvailable, .member(n.sharerID)), Money(fen: 10_000))]))
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":6000,"channel":"balance"}"#, token: n.sharer,
                                             headers: ["Idempotency-Key": "race-\(index)"]).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 1)
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 4_000)
            #expect(try await Withdrawal.query(on: t.app.db).count() == 1)
        }
    }

    @Test func aManualDailyBatchSettlesOnlyAfterApprovalOnceAndLeavesAHeldCommissionForLater() async throws {
        try await withMallApp { t in
            // setup: daily batches approved by hand; an order received and completed
            let n = try await Self.network(t)
            try await Self.settings(t, token: n.s.f.operatorToken) {
                $0.settlement.schedule = "daily"
                $0.settlement.approval = "manual"
            }
            let order = try await Self.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            try await Self.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)
            var rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.state) == ["frozen", "frozen"])
            #expect(rows.allSatisfy { $0.settleableAt != nil })

            // act: today's period is not over, so no batch; the next day one batch waits for approval
            #expect(try await CommissionSettlement.run(t.app).batches == 0)
            t.clock.advance(seconds: 86_400)
            let made = try await CommissionSettlement.run(t.app)
            #expect(made == CommissionSettlement.Report(batches: 1, settled: 0, awaitingApproval: 1))
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 0)
            let boss = try await t.staffToken("boss", console: "platform")
            let levelTwo = try #require(rows.first { $0.level == 2 }?.id)
            let held = try await t.postJSON("/api/v1/admin/distribution/commissions/\(levelTwo)/hold", #"{"reason":"风控复核"}"#, token: boss)
            #expect(held.status == .ok, "\(held.body.string)")
            let batches = try await t.get("/api/v1/admin/distribution/batches", token: boss).content.decode([DistributionAPIController.BatchDTO].self)
            #expect(batches.map(\.state) == ["awaiting_approval"])
            #expect(batches.first?.total.fen == 4_500)

            // act: approved twice at once — settled once
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<2 { group.addTask { try await t.postJSON("/api/v1/admin/distribution/batches/\(batches[0].id)/approve", "{}", token: boss).status } }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.sorted { $0.code < $1.code } == [.ok, .conflict])
            rows = try await Self.commissions(t, order: order.id)
            #expect(rows.map(\.state) == ["settled", "frozen"])
            #expect(try await Self.balance(t, .commissionAvailable, n.sharerID) == 3_000)
            #expect(try await Self.balance(t, .commissionAvailable, n.uplineID) == 0)

            // act: released, the held one goes into the next batch
            #expect(try await t.postJSON("/api/v1/admin/distribution/commissions/\(levelTwo)/release", "{}", token: boss).status == .ok)
            let next = try await t.postJSON("/api/v1/admin/distribution/settlement/run", "{}", token: boss).content.decode(CommissionSettlement.Report.self)
            #expect(next.awaitingApproval == 1)
            let second = try await t.get("/api/v1/admin/distribution/batches", token: boss).content.decode([DistributionAPIController.BatchDTO].self)
            let waiting = try #require(second.first { $0.state == "awaiting_approval" })
            #expect(waiting.period != batches[0].period)
            #expect(try await t.postJSON("/api/v1/admin/distribution/batches/\(waiting.id)/approve", "{}", token: boss).status == .ok)
            #expect(try await Self.balance(t, .commissionAvailable, n.uplineID) == 1_500)
        }
    }

    @Test func aDistributorPromotedByItsOwnSalesEarnsItsNewGradesRate() async throws {
        try await withMallApp { t in
            let n = try await Self.network(t)
            let boss = n.s.f.operatorToken
            let (standard, senior) = (UUID(), UUID())
            let ladder = #"[{"id":"\#(standard)","name":"普通","honourTitle":"推广员","rank":1,"promotion":[],"promotionMatch":"all","minimum":[]},{"id":"\#(senior)","name":"高级","honourTitle":"优秀推广官","rank":2,"promotion":[{"metric":"own_sales","window":"cumulative","threshold":20000}],"promotionMatch":"all","minimum":[]}]"#
            let saved = try await t.send(.PUT, "/api/v1/admin/distribution/grades", ladder, token: boss)
            #expect(saved.status == .ok, "\(saved.body.string)")
            let rule = try await t.send(.PUT, "/api/v1/admin/distribution/rules", #"{"scope":"grade","scopeId":"\#(senior)","levels":{"1":{"rateBp":2000}}}"#, token: boss)
            #expect(rule.status == .ok, "\(rule.body.string)")

            // act: ¥300.00 sold at 10 %, then the assessment
            let first = try await Self.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.commissions(t, order: first.id).first?.amount == 3_000)
            let report = try await t.postJSON("/api/v1/admin/distribution/grades/assess", "{}", token: boss).content.decode(GradeAssessment.Report.self)

            // check: the sharer is 高级 by its own sales; the upline stays 普通; the next sale pays 20 % at level 1
            #expect(report.promoted == 1)
            #expect(try await Distributor.find(n.sharerID, on: t.app.db)?.gradeID == senior)
            #expect(try await Distributor.find(n.uplineID, on: t.app.db)?.gradeID == standard)
            let second = try await Self.buy(t, n, units: 1)
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.commissions(t, order: second.id).map(\.amount) == [2_000, 500])
            #expect(try await Self.commissions(t, order: first.id).map(\.amount) == [3_000, 1_500])
        }
    }
}
