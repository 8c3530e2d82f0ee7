import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 改价 and address changes by the shop.
@Suite struct OrderChangeTests {
    static func place(_ t: TestContext, _ s: OrderFlowTests.Shop) async throws -> (CheckoutResultDTO, OrderDTO) {
        let result = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(s), token: s.buyer).content.decode(CheckoutResultDTO.self)
        let shopA = try #require(result.orders.first { $0.merchantName == "甲店" })
        return (result, shopA)
    }

    @Test func aPriceChangeSpreadsOverTheLinesMovesThePaymentAndIsLogged() async throws {
        try await withMallApp { t in
            // setup: shop A's order is 2 × ¥99.00 + ¥13.00 shipping, shop B's ¥50.00; one payment of ¥261.00
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let (result, order) = try await Self.place(t, s)
            #expect(result.payment.amount.fen == 26_100)
            try await t.createStaff("a-clerk", role: .merchantStaff, merchantID: s.f.shopA)
            let clerk = try await t.staffToken("a-clerk", console: "merchant")
            let path = "/api/v1/merchant/orders/\(order.id)/price"

            // act + check: refused changes change nothing
            let byClerk = try await t.postJSON(path, #"{"goodsTotalFen":15000}"#, token: clerk)
            #expect(byClerk.status == .forbidden)
            #expect(try await t.postJSON(path, #"{"goodsTotalFen":15000}"#, token: s.f.shopBToken).status == .notFound)
            let zero = try await t.postJSON(path, #"{"goodsTotalFen":0}"#, token: s.f.shopAToken)
            #expect(zero.status == .unprocessableEntity)
            #expect(zero.error?.details.first?.field == "goodsTotalFen")
            #expect(try await t.postJSON(path, #"{"shippingFeeFen":-1}"#, token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await t.postJSON(path, #"{"goodsTotalFen":100000001}"#, token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await t.postJSON(path, #"{"goodsTotalFen":1e400}"#, token: s.f.shopAToken).status == .badRequest)
            let nothing = try await t.postJSON(path, #"{"reason":"老客户"}"#, token: s.f.shopAToken)
            #expect(nothing.status == .unprocessableEntity)
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.amount == 26_100)

            // act: ¥198.00 → ¥150.01 on the goods, shipping ¥13.00 → ¥0.00
            let changed = try await t.postJSON(path, #"{"goodsTotalFen":15001,"shippingFeeFen":0,"reason":"老客户优惠"}"#, token: s.f.shopAToken)

            // check: the order, its line, the payment and the timeline
            #expect(changed.status == .ok, "\(changed.body.string)")
            let dto = try changed.content.decode(OrderDTO.self)
            #expect(dto.payable.fen == 15_001)
            #expect(dto.shippingFee.fen == 0)
            #expect(dto.adjustmentAmount.fen == -4_799)
            #expect(dto.lines.map(\.paidAmount.fen) == [15_001])
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.amount == 20_001)
            let event = try #require(dto.timeline?.last)
            #expect(event.action == "change_price")
            #expect(event.stateLabel == "商家改价")
            #expect(event.reason == "商品 ¥198.00 → ¥150.01，运费 ¥13.00 → ¥0.00（老客户优惠）")
            #expect(event.actorKind == "staff")

            // The buyer pays the new amount; shop A's pending account gets its new payable less the fee.
            let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(paid.status == .ok, "\(paid.body.string)")
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            let member = try await t.memberID(phone: "13600000001")
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000 - 20_001)
            #expect(try await Product.find(s.milk.id, on: t.app.db)?.salesCount == 2)
            #expect(try await Product.find(s.cream.id, on: t.app.db)?.salesCount == 1)
            let paidOrder = try #require(try await Order.find(order.id, on: t.app.db))
            let pending = try await ledger.balance(of: try LedgerAccountKey(.merchantPending, .merchant(s.f.shopA)))
            #expect(pending.fen == 15_001 - paidOrder.serviceFee)
            let late = try await t.postJSON(path, #"{"goodsTotalFen":100}"#, token: s.f.shopAToken)
            #expect(late.status == .conflict)
            #expect(late.error?.code == "order_transition_not_allowed")
            #expect(try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify().ok)
        }
    }

    @Test func aPriceChangeWaitsForNoCashierAndABalancePaymentReadBeforeItIsRefused() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let (result, order) = try await Self.place(t, s)
            let stale = try #require(try await Payment.find(result.payment.id, on: t.app.db))

            // act: the price changes after a balance payment read the payment
            let changed = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/price", #"{"goodsTotalFen":10000}"#, token: s.f.shopAToken)
            #expect(changed.status == .ok, "\(changed.body.string)")
            let now = t.clock.now()
            let refused = await #expect(throws: PaymentRefusal.self) {
                try await t.app.writeGate.transaction(on: t.app.db) { db in try await PaymentService(db: db, now: now).payWithBalance(stale) }
            }
            #expect(refused?.apiError.code == "payment.amount_changed")
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.status == "created")

            // Once the buyer opens the sandbox cashier, the amount is fixed there.
            let chosen = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"sandbox"}"#, token: s.buyer)
            #expect(chosen.status == .ok)
            let locked = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/price", #"{"goodsTotalFen":9000}"#, token: s.f.shopAToken)
            #expect(locked.status == .conflict)
            #expect(locked.error?.code == "order.payment_started")
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.amount == 10_000 + 1_300 + 5_000)
        }
    }

    @Test func theAddressChangesBeforeShipmentOnlyAndIsLogged() async throws {
        try await withMallApp { t in
            // setup: a paid order of shop A (which does not deliver to Tibet, 54)
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let (result, order) = try await Self.place(t, s)
            _ = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            let path = "/api/v1/merchant/orders/\(order.id)/address"
            let address = #"{"receiverName":"李四","phone":"13912345678","provinceCode":"44","city":"深圳市","district":"南山区","detail":"科技园 1 号"}"#

            // act + check: refused inputs change nothing
            let tibet = try await t.postJSON(path, address.replacingOccurrences(of: #""44""#, with: #""54""#), token: s.f.shopAToken)
            #expect(tibet.status == .unprocessableEntity)
            #expect(tibet.error?.code == "order.region_not_delivered")
            let badPhone = try await t.postJSON(path, address.replacingOccurrences(of: "13912345678", with: "12"), token: s.f.shopAToken)
            #expect(badPhone.status == .unprocessableEntity)
            #expect(badPhone.error?.details.map(\.field) == ["phone"])
            #expect(try await t.postJSON(path, address, token: s.f.shopBToken).status == .notFound)
            #expect(try await Order.find(order.id, on: t.app.db)?.receiverName == "张三")

            // act: a good change
            let changed = try await t.postJSON(path, address, token: s.f.shopAToken)

            // check
            #expect(changed.status == .ok, "\(changed.body.string)")
            let dto = try changed.content.decode(OrderDTO.self)
            #expect(dto.address?.receiverName == "李四")
            #expect(dto.address?.phone == "139****5678")
            #expect(dto.address?.province == "广东省")
            let event = try #require(dto.timeline?.last)
            #expect(event.action == "change_address")
            #expect(event.reason.hasPrefix("原地址：张三 138****8000 "), "\(event.reason)")
            #expect(dto.state == "paid")

            // After shipment the address stays.
            let shipped = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF1000000001"}"#, token: s.f.shopAToken)
            #expect(shipped.status == .ok, "\(shipped.body.string)")
            let late = try await t.postJSON(path, address.replacingOccurrences(of: "李四", with: "王五"), token: s.f.shopAToken)
            #expect(late.status == .conflict)
            #expect(try await Order.find(order.id, on: t.app.db)?.receiverName == "李四")
        }
    }

    @Test func theConsoleChangesThePriceAndTheAddressAndTheBuyerSeesIt() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            let (_, order) = try await Self.place(t, s)
            let console = PageClient(app: t.app)
            try await console.get("/merchant/login")
            _ = try await console.post("/merchant/login", form: ["username": "a-owner", "password": "Staff2026"])
            let page = try await console.get("/merchant/orders/\(order.id)")
            #expect(page.body.string.contains("id=\"price-form\""))
            #expect(page.body.string.contains("id=\"address-form\""))

            // act: a wrong amount, then ¥150.00 with free shipping, then a new address
            _ = try await console.post("/merchant/orders/\(order.id)/price", form: ["goodsTotal": "150,5", "shippingFee": ""])
            let refused = try await console.get("/merchant/orders/\(order.id)")
            _ = try await console.post("/merchant/orders/\(order.id)/price", form: ["goodsTotal": "¥150.00", "shippingFee": "0", "reason": "包邮"])
            _ = try await console.post("/merchant/orders/\(order.id)/address", form: [
                "receiverName": "李四", "phone": "13912345678", "provinceCode": "44", "city": "深圳市", "district": "南山区", "detail": "科技园 1 号"])
            let after = try await console.get("/merchant/orders/\(order.id)")

            // check: the console and the buyer's page
            #expect(refused.body.string.contains("金额格式不正确"))
            #expect(try await Order.find(order.id, on: t.app.db)?.payable == 15_000)
            #expect(after.body.string.contains("商家改价"))
            #expect(after.body.string.contains("商品 ¥198.00 → ¥150.00，运费 ¥13.00 → ¥0.00（包邮）"))
            #expect(after.body.string.contains("李四 139****5678 广东省深圳市南山区科技园 1 号"))
            let buyer = try await t.get("/api/v1/me/orders/\(order.id)", token: s.buyer).content.decode(OrderDTO.self)
            #expect(buyer.payable.fen == 15_000)
            #expect(buyer.adjustmentAmount.fen == -4_800)
            #expect(buyer.address?.receiverName == "李四")
        }
    }

    @Test func aPayRequestRepeatedWithItsIdempotencyKeyAnswersAsTheFirstDid() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let (result, _) = try await Self.place(t, s)
            let path = "/api/v1/payments/\(result.payment.id)/pay"

            // act: five at once with one key, then the same key for another method
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<5 {
                    group.addTask { try await t.postJSON(path, #"{"method":"balance"}"#, token: s.buyer, headers: ["Idempotency-Key": "pay-1"]).status }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            let other = try await t.postJSON(path, #"{"method":"sandbox"}"#, token: s.buyer, headers: ["Idempotency-Key": "pay-1"])
            let withoutKey = try await t.postJSON(path, #"{"method":"balance"}"#, token: s.buyer)

            // check: paid once, every repeat answered 200 with the paid payment
            #expect(statuses == Array(repeating: .ok, count: 5), "\(statuses)")
            #expect(other.status == .conflict)
            #expect(other.error?.code == "idempotency_key_reused")
            #expect(withoutKey.status == .conflict)
            #expect(withoutKey.error?.code == "payment.already_paid")
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == "order_payment").count() == 1)
            let member = try await t.memberID(phone: "13600000001")
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000 - 26_100)
            #expect(try await ledger.verify().ok)
        }
    }
}
