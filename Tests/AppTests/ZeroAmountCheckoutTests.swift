import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 零元订单: when coupons, points or a points-mall item leave nothing to pay, the checkout is paid
/// as it is placed, without a provider, and a refund of it gives back what was used.
@Suite struct ZeroAmountCheckoutTests {
    @Test func aCheckoutTheCouponsCoverWhollyIsPaidAsItIsPlacedAndARefundGivesTheCouponsBack() async throws {
        try await withMallApp { t in
            // setup: the platform's ¥100 no-threshold coupon and its free-shipping coupon; shop A's ¥99.00 milk, ¥8.00 shipping; no balance
            let s = try await OrderFlowTests.shop(t)
            let goods = try await CouponTests.createCoupon(t, #"{"name":"百元无门槛","kind":"no_threshold","amountOffFen":10000,"validDays":7}"#,
                                                         token: s.f.operatorToken)
            let free = try await CouponTests.createCoupon(t, #"{"name":"包邮券","kind":"shipping","validDays":7}"#, token: s.f.operatorToken)
            let held = [try await CouponTests.claim(t, goods.id, token: s.buyer), try await CouponTests.claim(t, free.id, token: s.buyer)]
            let body = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(s.address)","couponIds":["\#(held[0].id)","\#(held[1].id)"]}"#
            let ledger = CouponTests.ledger(t)
            let buyer = try await t.memberID(phone: "13600000001")

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", body, token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", body, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            let payAgain = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)

            // check: ¥99.00 and ¥8.00 off, nothing to pay; paid at once, the platform paying the shop the ¥107.00
            #expect(preview.total.fen == 0)
            #expect(preview.coupons.savings.map(\.amount.fen).sorted() == [800, 9_900])
            #expect(result.payment.amount.fen == 0)
            #expect(result.payment.status == "succeeded")
            #expect(result.payment.paidAt != nil)
            #expect(payAgain.status == .conflict)
            #expect(payAgain.error?.code == "payment.already_paid")
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.state == "paid")
            #expect((order.payable, order.shippingFee, order.serviceFee) == (0, 0, 0))
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 10_700)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 10_700)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(buyer))).fen == 0)
            let mine = try await t.get("/api/v1/me/coupons", token: s.buyer).content.decode([MemberCouponDTO].self)
            #expect(Set(mine.filter { held.map(\.id).contains($0.id) }.map(\.state)) == ["used"])
            let shown = try await t.get("/api/v1/me/orders/\(order.requireID())", token: s.buyer).content.decode(OrderDTO.self)
            #expect(shown.state == "paid")
            #expect(try await ledger.verify().ok)

            // act: the whole order refunded before it ships
            _ = try await MemberLevelCheckoutTests.refundOneUnit(t, s, orderID: order.requireID())

            // check: nothing to send back; the order closes, the platform's cost is reversed and both coupons are the buyer's again
            let closed = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(closed.state == "closed")
            #expect(closed.refundedAmount == 0)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(buyer))).fen == 0)
            let after = try await t.get("/api/v1/me/coupons", token: s.buyer).content.decode([MemberCouponDTO].self)
            #expect(Set(after.filter { held.map(\.id).contains($0.id) }.map(\.state)) == ["available"])
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aShopsOwnCouponsCoveringEverythingMoveNoMoneyAtAll() async throws {
        try await withMallApp { t in
            // setup: shop A's ¥100 no-threshold coupon and its ¥8 shipping coupon on its ¥99.00 milk
            let s = try await OrderFlowTests.shop(t)
            let path = "/api/v1/merchant/coupons"
            let goods = try await CouponTests.createCoupon(t, #"{"name":"店铺百元券","kind":"no_threshold","amountOffFen":10000,"validDays":7}"#,
                                                         token: s.f.shopAToken, path: path)
            let free = try await CouponTests.createCoupon(t, #"{"name":"运费减8","kind":"shipping","amountOffFen":800,"validDays":7}"#,
                                                        token: s.f.shopAToken, path: path)
            let held = [try await CouponTests.claim(t, goods.id, token: s.buyer), try await CouponTests.claim(t, free.id, token: s.buyer)]
            let body = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(s.address)","couponIds":["\#(held[0].id)","\#(held[1].id)"]}"#
            let transactionsBefore = try await LedgerTransactionRecord.query(on: t.app.db).count()

            // act
            let placed = try await t.postJSON("/api/v1/checkout", body, token: s.buyer)

            // check: paid at once; the shop bears it all, so no ledger transaction is written
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            #expect((result.payment.amount.fen, result.payment.status) == (0, "succeeded"))
            #expect(try await Order.find(result.orders[0].id, on: t.app.db)?.state == "paid")
            #expect(try await LedgerTransactionRecord.query(on: t.app.db).count() == transactionsBefore)
            #expect(try await CouponTests.ledger(t).balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func goodsForPointsAloneCostOnlyTheShippingAndAWholeRefundGivesThePointsBack() async throws {
        try await withMallApp { t in
            // setup: 2 000 points and ¥500.00; the milk (¥99.00) for 1 500 points and no cash; shop A's ¥8.00 shipping
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let buyer = try await t.memberID(phone: "13600000001")
            try await PointsMallGoodsTests.give(t, buyer, points: 2_000, token: s.f.operatorToken)
            let created = try await t.postJSON("/api/v1/admin/points-mall/items",
                                               PointsMallGoodsTests.goodsJSON(sku: s.milk.skus[0].id, points: 1_500, cash: 0), token: s.f.operatorToken)
            #expect(created.status == .created, "\(created.body.string)")
            let item = try created.content.decode(PointsMallItemDTO.self)
            let ledger = CouponTests.ledger(t)

            // act
            let placed = try await PointsMallGoodsTests.redeem(t, item.id, address: s.address, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: 1 500 points and the ¥8.00 shipping; the line paid nothing, the platform pays the shop its ¥99.00
            #expect(item.cashFen == 0)
            #expect(result.payment.amount.fen == 800)
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect((line.paidAmount, line.discountAmount) == (0, 9_900))
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.state == "paid")
            #expect(try await MemberPointsAccount.find(buyer, on: t.app.db)?.balance == 500)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 9_900)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 800 + 9_900 - order.serviceFee)
            #expect(try await ledger.verify().ok)

            // act: refunded whole before it ships
            _ = try await MemberLevelCheckoutTests.refundOneUnit(t, s, orderID: order.requireID())

            // check: the shipping and the 1 500 points back, once; the platform's cost reversed
            let closed = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(closed.state == "closed")
            #expect(closed.refundedAmount == 800)
            #expect(try await MemberPointsAccount.find(buyer, on: t.app.db)?.balance == 2_000)
            #expect(try await PointsMallGoodsTests.reasons(t, buyer)["mall_return"] == 1_500)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(buyer))).fen == 50_000)
            #expect(try await ledger.verify().ok)
        }
    }
}
