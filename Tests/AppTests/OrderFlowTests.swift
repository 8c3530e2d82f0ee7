import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct OrderFlowTests {
    struct Shop {
        let f: CatalogFixture
        let milk: ProductDetailDTO
        let cream: ProductDetailDTO
        let buyer: String
        let address: UUID
    }

    static func shop(_ t: TestContext, milkStock: Int64 = 10) async throws -> Shop {
        let f = try await CatalogFixture.make(t)
        let milk = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, prices: [9_900], stock: milkStock))
        let cream = try await f.createProduct(f.productJSON("乙店面霜", category: f.beauty, prices: [5_000], stock: 3), token: f.shopBToken)
        // Shop A charges ¥8 for the first item and ¥5 for each further one; shop B ships free.
        let template = #"{"name":"默认","basis":"count","defaultRule":{"firstUnits":1,"firstFeeFen":800,"stepUnits":1,"stepFeeFen":500},"undeliverable":["54"]}"#
        let set = try await t.send(.PUT, "/api/v1/merchant/shipping-template", template, token: f.shopAToken)
        #expect(set.status == .ok, "\(set.body.string)")
        let buyer = try await t.registerMember("13600000001")
        let address = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: buyer).content.decode(AddressDTO.self)
        return Shop(f: f, milk: milk, cream: cream, buyer: buyer, address: address.id)
    }

    static func topUp(_ t: TestContext, phone: String, fen: Int64) async throws {
        let member = try await t.memberID(phone: phone)
        _ = try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).post(LedgerTransactionDraft(
            idempotencyKey: "topup:\(member):\(fen)", kind: "member_topup",
            entries: [.debit(.platform(.paymentClearing), Money(fen: fen)), .credit(try LedgerAccountKey(.memberBalance, .member(member)), Money(fen: fen))]))
    }

    static func checkoutJSON(_ s: Shop, milk: Int64 = 2, cream: Int64 = 1) -> String {
        #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":\#(milk)},{"skuId":"\#(s.cream.skus[0].id)","quantity":\#(cream)}],"addressId":"\#(s.address)","note":"请尽快发货"}"#
    }

    @Test func oneCheckoutAcrossTwoShopsIsOnePaymentAndTakesEachStockOnce() async throws {
        try await withMallApp { t in
            // setup
            let s = try await Self.shop(t)
            try await Self.topUp(t, phone: "13600000001", fen: 50_000)

            // act: preview, then place twice with one key, then pay from the balance
            let preview = try await t.postJSON("/api/v1/checkout/preview", Self.checkoutJSON(s), token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s), token: s.buyer, headers: ["Idempotency-Key": "order-1"])
            let again = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s), token: s.buyer, headers: ["Idempotency-Key": "order-1"])
            let otherBody = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, milk: 1), token: s.buyer, headers: ["Idempotency-Key": "order-1"])

            // check: ¥198 + ¥13 shipping for shop A, ¥50 free shipping for shop B
            #expect(preview.orders.map(\.merchantName) == ["甲店", "乙店"])
            #expect(preview.orders.map(\.shippingFee.fen) == [1_300, 0])
            #expect(preview.total.fen == 19_800 + 1_300 + 5_000)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            #expect(result.payment.amount.fen == 26_100)
            #expect(result.orders.map(\.payable.fen) == [21_100, 5_000])
            #expect(result.orders.allSatisfy { $0.state == "pending_payment" && $0.paymentId == result.payment.id })
            #expect(result.orders[0].address?.phone == "138****8000")
            #expect(again.status == .ok)
            #expect(try again.content.decode(CheckoutResultDTO.self).payment.id == result.payment.id)
            #expect(otherBody.status == .conflict)
            #expect(otherBody.error?.code == "idempotency_key_reused")
            #expect(try await Order.query(on: t.app.db).count() == 2)
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 8)
            #expect(try await Sku.find(s.cream.skus[0].id, on: t.app.db)?.stock == 2)

            let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(paid.status == .ok, "\(paid.body.string)")
            #expect(try paid.content.decode(PaymentDTO.self).status == "succeeded")
            let twice = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(twice.status == .conflict)
            let orders = try await t.get("/api/v1/me/orders?tab=awaiting_shipment", token: s.buyer).content.decode([OrderDTO].self)
            #expect(orders.count == 2)
            #expect(orders.allSatisfy { $0.stateLabel == "待发货" })
            // Paying changed no stock; the ledger moved the money and still verifies.
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 8)
            let ledger = LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate)
            let member = try await t.memberID(phone: "13600000001")
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000 - 26_100)
            // Shop A's fee is its service rate on the ¥198 of goods, not on the shipping.
            let rate = try #require(try await Merchant.find(s.f.shopA, on: t.app.db)).serviceRateBP
            let fee = try Money(fen: 19_800).applying(BasisPoints(rate))
            #expect(rate > 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 21_100 - fee.fen)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func cancellingReturnsTheStockAndAClosedPaymentCannotBePaid() async throws {
        try await withMallApp { t in
            let s = try await Self.shop(t)
            let result = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s), token: s.buyer).content.decode(CheckoutResultDTO.self)
            let cancelled = try await t.postJSON("/api/v1/me/orders/\(result.orders[1].id)/cancel", "{}", token: s.buyer)
            #expect(cancelled.status == .ok, "\(cancelled.body.string)")
            #expect(try cancelled.content.decode(OrderDTO.self).stateLabel == "已取消")
            #expect(try await Order.query(on: t.app.db).all().allSatisfy { $0.state == "cancelled" })
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 10)
            #expect(try await Sku.find(s.cream.skus[0].id, on: t.app.db)?.stock == 3)
            let pay = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(pay.status == .conflict)
            #expect(pay.error?.code == "payment.closed")
            let again = try await t.postJSON("/api/v1/me/orders/\(result.orders[0].id)/cancel", "{}", token: s.buyer)
            #expect(again.status == .conflict)
            #expect(again.body.string.contains("不能取消订单"))
            // A stranger sees none of it.
            let stranger = try await t.registerMember("13600000009")
            #expect(try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: stranger).status == .notFound)
        }
    }

    @Test func badCheckoutsAreRefusedAndTakeNothing() async throws {
        try await withMallApp { t in
            let s = try await Self.shop(t)
            let tibet = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON("扎西", province: "54"), token: s.buyer).content.decode(AddressDTO.self)
            let cases: [(String, HTTPStatus, String)] = [
                (#"{"items":[]}"#, .unprocessableEntity, "checkout.nothing_to_buy"),
                (#"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}]}"#, .unprocessableEntity, "checkout.address_required"),
                (#"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":11}],"addressId":"\#(s.address)"}"#, .conflict, "checkout.insufficient_stock"),
                (#"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":0}],"addressId":"\#(s.address)"}"#, .unprocessableEntity, "validation_failed"),
                (#"{"items":[{"skuId":"\#(UUID())","quantity":1}],"addressId":"\#(s.address)"}"#, .conflict, "checkout.sku_unavailable"),
                (#"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(tibet.id)"}"#, .unprocessableEntity, "checkout.region_not_delivered"),
                (#"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(UUID())"}"#, .notFound, "not_found"),
            ]
            for (json, status, code) in cases {
                let response = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
                #expect(response.status == status, "\(json) → \(response.body.string)")
                #expect(response.error?.code == code, "\(json) → \(response.body.string)")
            }
            #expect(try await Order.query(on: t.app.db).count() == 0)
            #expect(try await Payment.query(on: t.app.db).count() == 0)
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 10)
        }
    }

    @Test func twoHundredBuyersForFiftyInStockGetExactlyFiftyOrders() async throws {
        try await withMallApp { t in
            // setup: 50 in stock, 200 buyers each with an address
            let s = try await Self.shop(t, milkStock: 50)
            var buyers: [(String, UUID)] = []
            for index in 0..<200 {
                let token = try await t.quickMember("1350000\(String(format: "%04d", index))")
                let address = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: token).content.decode(AddressDTO.self)
                buyers.append((token, address.id))
            }
            // act: all at once
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for (token, address) in buyers {
                    group.addTask {
                        try await t.postJSON("/api/v1/checkout", #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(address)"}"#, token: token).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            // check
            #expect(statuses.filter { $0 == .created }.count == 50)
            #expect(statuses.filter { $0 == .conflict }.count == 150, "\(Dictionary(grouping: statuses, by: \.code).mapValues(\.count))")
            #expect(try await Sku.find(s.milk.skus[0].id, on: t.app.db)?.stock == 0)
            #expect(try await Product.find(s.milk.id, on: t.app.db)?.totalStock == 0)
            #expect(try await Order.query(on: t.app.db).count() == 50)
            #expect(try await OrderLine.query(on: t.app.db).all().reduce(0) { $0 + $1.quantity } == 50)
        }
    }

    @Test func aSandboxCallbackDeliveredTenTimesPaysOnceAndForgeriesChangeNothing() async throws {
        try await withMallApp { t in
            let s = try await Self.shop(t)
            let result = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s), token: s.buyer).content.decode(CheckoutResultDTO.self)
            let chosen = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"sandbox"}"#, token: s.buyer)
            #expect(try chosen.content.decode(PaymentDTO.self).payUrl == "/pay/sandbox/\(result.payment.paymentNo)")
            let payment = try #require(try await Payment.find(result.payment.id, on: t.app.db))
            let notification = try await SandboxCharges.charge(payment, app: t.app)
            let body = Array(try JSONEncoder().encode(notification))
            let timestamp = Int64(t.clock.now().timeIntervalSince1970)
            let gateway = t.app.sandboxGateway
            func deliver(_ body: [UInt8], timestamp: Int64, signature: String) async throws -> HTTPStatus {
                try await t.app.testing().sendRequest(.POST, "/callbacks/sandbox", headers: [
                    "Content-Type": "application/json", "X-Sandbox-Timestamp": String(timestamp), "X-Sandbox-Signature": signature,
                ], body: .init(bytes: body)).status
            }

            // Forged, stale and tampered notifications are refused.
            #expect(try await deliver(body, timestamp: timestamp, signature: String(repeating: "0", count: 64)) == .unauthorized)
            #expect(try await deliver(body, timestamp: timestamp - 301, signature: gateway.sign(body: body, timestamp: timestamp - 301)) == .unauthorized)
            var tampered = body
            if let index = tampered.firstIndex(of: UInt8(ascii: "1")) { tampered[index] = UInt8(ascii: "2") }
            #expect(try await deliver(tampered, timestamp: timestamp, signature: gateway.sign(body: body, timestamp: timestamp)) == .unauthorized)
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.status == "created")

            // Ten deliveries at once: one payment, one ledger transaction.
            let signature = gateway.sign(body: body, timestamp: timestamp)
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<10 { group.addTask { try await deliver(body, timestamp: timestamp, signature: signature) } }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
            #expect(try await Payment.find(result.payment.id, on: t.app.db)?.status == "succeeded")
            #expect(try await Order.query(on: t.app.db).all().allSatisfy { $0.state == "paid" })
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == "order_payment").count() == 1)
            #expect(try await OutboxMessage.query(on: t.app.db).filter(\.$topic == "order.paid").count() == 2)
            #expect(try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify().ok)
        }
    }
}
