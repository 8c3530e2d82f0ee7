import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 营销中心: a shop runs its own activities on the console and sees what each brought; the operator sees and stops any.
@Suite struct MarketingConsoleTests {
    @Test func aShopCreatesAndStopsItsActivitiesOnTheConsoleAndSeesEachOnesResults() async throws {
        try await withMallApp { t in
            // setup: shop A's 9折 coupon held by the buyer; shop B's own coupon; a sample SKU to give
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"甲店9折","kind":"discount","payRateBp":9000,"maximumOffFen":5000,"validDays":7}"#,
                                                          token: s.f.shopAToken, path: "/api/v1/merchant/coupons")
            let theirs = try await CouponTests.createCoupon(t, #"{"name":"乙店立减","kind":"no_threshold","amountOffFen":100,"validDays":7}"#,
                                                          token: s.f.shopBToken, path: "/api/v1/merchant/coupons")
            let held = try await CouponTests.claim(t, coupon.id, token: s.buyer)
            let sample = try await s.f.createProduct(s.f.productJSON("甲店试用装", category: s.f.milk, prices: [1_000], stock: 5))
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            let (start, end) = PromotionTests.window(t)

            // act: the shop creates 满100减10 and 满150送试用装 on its console; the buyer spends ¥198 with the coupon
            let console = try await shop.get("/merchant/marketing")
            _ = try await shop.post("/merchant/marketing/promotions", form: ["kind": "full_reduction", "name": "甲店满减", "startsAt": start, "endsAt": end,
                                                                           "threshold1": "100", "amountOff1": "10"])
            _ = try await shop.post("/merchant/marketing/promotions", form: ["kind": "gift", "name": "甲店满赠", "startsAt": start, "endsAt": end,
                                                                           "threshold1": "150", "giftSkuId": sample.skus[0].id.uuidString, "giftQuantity": "1"])
            let reduction = try #require(try await PromotionActivity.query(on: t.app.db).filter(\.$kind == "full_reduction").first())
            let gift = try #require(try await PromotionActivity.query(on: t.app.db).filter(\.$kind == "gift").first())
            let json = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"addressId":"\#(s.address)","couponIds":["\#(held.id)"]}"#
            let placed = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            try await PromotionTests.pay(t, try placed.content.decode(CheckoutResultDTO.self), token: s.buyer)

            // check: ¥198 − ¥10 − ¥18.80 = ¥169.20 on the line; each activity's page says what it brought
            #expect(console.status == .ok)
            #expect(console.body.string.contains(#"id="gift-create""#) && console.body.string.contains("甲店试用装"))
            let list = try await shop.get("/merchant/marketing").body.string
            #expect(list.contains("甲店满减") && list.contains("甲店满赠") && list.contains("甲店9折"))
            #expect(!list.contains("乙店立减"))
            let reductionPage = try await shop.get("/merchant/marketing/promotion/\(try reduction.requireID())").body.string
            #expect(reductionPage.contains("¥169.20") && reductionPage.contains("¥10.00"))
            let giftResults = try await t.get("/api/v1/merchant/promotions/\(try gift.requireID())/results", token: s.f.shopAToken)
                .content.decode(ActivityResultsDTO.self)
            #expect((giftResults.orders, giftResults.giftsGiven, giftResults.sales.fen) == (1, 1, 16_920))
            let couponResults = try await t.get("/api/v1/merchant/coupons/\(coupon.id)/results", token: s.f.shopAToken).content.decode(ActivityResultsDTO.self)
            #expect((couponResults.issued, couponResults.used, couponResults.orders) == (1, 1, 1))
            #expect((couponResults.sales.fen, couponResults.discountCost.fen) == (16_920, 1_880))
            let couponPage = try await shop.get("/merchant/marketing/coupon/\(coupon.id)").body.string
            #expect(couponPage.contains("已使用") && couponPage.contains("¥18.80"))
            // Another shop's activity is not found, on the page and in the API.
            #expect(try await shop.get("/merchant/marketing/coupon/\(theirs.id)").status == .notFound)
            #expect(try await t.get("/api/v1/merchant/coupons/\(theirs.id)/results", token: s.f.shopAToken).status == .notFound)
            #expect(try await t.postJSON("/api/v1/merchant/coupons/\(theirs.id)/pause", "{}", token: s.f.shopAToken).status == .notFound)

            // The shop pauses its coupon by the API and stops its gift on the page; the operator stops shop B's coupon.
            let paused = try await t.postJSON("/api/v1/merchant/coupons/\(coupon.id)/pause", "{}", token: s.f.shopAToken)
            #expect(paused.status == .ok, "\(paused.body.string)")
            _ = try await shop.post("/merchant/marketing/promotion/\(try gift.requireID())/stop", form: [:])
            _ = try await shop.post("/merchant/marketing/coupon/\(theirs.id)/stop", form: [:])
            #expect(try await PromotionActivity.find(gift.requireID(), on: t.app.db)?.status == "stopped")
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.status == "paused")
            #expect(try await CouponTemplate.find(theirs.id, on: t.app.db)?.status == "active")
            #expect(try await boss.get("/admin/marketing").body.string.contains("乙店立减"))
            _ = try await boss.post("/admin/marketing/coupon/\(theirs.id)/stop", form: [:])
            #expect(try await CouponTemplate.find(theirs.id, on: t.app.db)?.status == "stopped")
            // A form with a bad amount changes nothing.
            let bad = try await shop.post("/merchant/marketing/promotions", form: ["kind": "full_reduction", "name": "坏", "startsAt": start, "endsAt": end,
                                                                                  "threshold1": "abc", "amountOff1": "10"])
            #expect(bad.status.code < 500)
            #expect(try await PromotionActivity.query(on: t.app.db).count() == 2)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }
}
