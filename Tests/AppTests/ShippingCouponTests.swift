import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 运费券: a platform one is paid to the shop like a level's free shipping; a shop's own lowers
/// the shop's shipping. The shop's template charges ¥13 for the test order.
@Suite struct ShippingCouponTests {
    @Test func aPlatformFreeShippingCouponIsPaidToTheShopAndComesBackWithAFullRefund() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            try await t.createStaff("marketer", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("marketer", console: "platform")
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"包邮券","kind":"shipping","validDays":7,"perMember":1}"#, token: boss)
            let held = try await CouponTests.claim(t, coupon.id, token: s.buyer)
            let body = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"addressId":"\#(s.address)","couponIds":["\#(held.id)"]}"#

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", body, token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", body, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: ¥198 of goods, the ¥13 shipping off; the platform pays the shop its ¥13
            #expect(coupon.summary == "免运费", "\(coupon.summary)")
            #expect(preview.shippingFee.fen == 0 && preview.total.fen == 19_800)
            #expect(preview.coupons.savings.map(\.label) == ["包邮券"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [1_300])
            #expect(result.payment.amount.fen == 19_800)
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.shippingFee == 0 && order.payable == 19_800)
            let ledger = CouponTests.ledger(t)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 1_300)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 19_800 + 1_300 - order.serviceFee)
            // its results: one order, ¥198 of goods, the ¥13 of shipping it cost
            let results = try await t.get("/api/v1/admin/coupons/\(coupon.id)/results", token: boss).content.decode(ActivityResultsDTO.self)
            #expect(results.orders == 1 && results.used == 1)
            #expect(results.sales.fen == 19_800 && results.discountCost.fen == 1_300)

            // act: the whole order refunded before it ships
            _ = try await MemberLevelCheckoutTests.refundOneUnit(t, s, orderID: order.requireID(), units: 2)

            // check: the platform takes the shipping back, the buyer has the ¥198 and the coupon again
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            let member = try await t.memberID(phone: "13600000001")
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000)
            let mine = try await t.get("/api/v1/me/coupons", token: s.buyer).content.decode([MemberCouponDTO].self)
            #expect(mine.first { $0.id == held.id }?.state == "available")
            // the closed order no longer counts
            let after = try await t.get("/api/v1/admin/coupons/\(coupon.id)/results", token: boss).content.decode(ActivityResultsDTO.self)
            #expect(after.orders == 0 && after.sales.fen == 0 && after.discountCost.fen == 0)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aShopsShippingCouponTakesUpToItsAmountOffTheShopsOwnShipping() async throws {
        try await withMallApp { t in
            // setup: the shop's coupon takes at most ¥5 off its shipping
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"运费减5元","kind":"shipping","amountOffFen":500,"validDays":7}"#,
                                                            token: s.f.shopAToken, path: "/api/v1/merchant/coupons")
            let held = try await CouponTests.claim(t, coupon.id, token: s.buyer)
            let body = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"addressId":"\#(s.address)","couponIds":["\#(held.id)"]}"#

            // act
            let placed = try await t.postJSON("/api/v1/checkout", body, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: ¥13 − ¥5 = ¥8 shipping paid; the shop bears the ¥5, the platform nothing
            #expect(coupon.summary == "运费减5", "\(coupon.summary)")
            #expect(result.payment.amount.fen == 19_800 + 800)
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.shippingFee == 800)
            let ledger = CouponTests.ledger(t)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 19_800 + 800 - order.serviceFee)
            // the shop's results show the ¥5 it bore
            let results = try await t.get("/api/v1/merchant/coupons/\(coupon.id)/results", token: s.f.shopAToken).content.decode(ActivityResultsDTO.self)
            #expect(results.orders == 1 && results.sales.fen == 19_800 && results.discountCost.fen == 500)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aShippingCouponWithARateIsRefusedAndNothingIsCreated() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let rated = try await t.postJSON("/api/v1/admin/coupons", #"{"name":"运费8折","kind":"shipping","payRateBp":8000,"validDays":7}"#, token: boss)
            #expect(rated.status == .unprocessableEntity)
            #expect(rated.body.string.contains("运费券只能设门槛"), "\(rated.body.string)")
            #expect(try await CouponTemplate.query(on: t.app.db).count() == 0)
        }
    }
}
