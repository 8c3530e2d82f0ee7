import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 修改优惠券: everything until a member holds one; after, what the coupons held are worth stays.
@Suite struct CouponEditTests {
    static let shopCoupons = "/api/v1/merchant/coupons"

    @Test func aCouponChangesFreelyUntilClaimedThenOnlyItsNameQuantitiesAndListing() async throws {
        try await withMallApp { t in
            // setup: shop A's 满100减10
            let f = try await CatalogFixture.make(t)
            let buyer = try await t.quickMember("13600000001")
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"甲店券","kind":"full_reduction","thresholdFen":10000,"amountOffFen":1000,"validDays":7}"#,
                                                            token: f.shopAToken, path: Self.shopCoupons)
            func put(_ json: String, token: String? = nil, shop: Bool = true) async throws -> TestingHTTPResponse {
                try await t.send(.PUT, "\(shop ? Self.shopCoupons : "/api/v1/admin/coupons")/\(coupon.id)", json, token: token ?? f.shopAToken)
            }
            func stored() async throws -> CouponTemplate { try #require(try await CouponTemplate.find(coupon.id, on: t.app.db)) }

            // act + check: before anyone holds it, the amount and threshold change (满200减30)
            let changed = try await put(#"{"name":"甲店满200减30","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":10,"totalCount":5}"#)
            #expect(changed.status == .ok, "\(changed.body.string)")
            let dto = try changed.content.decode(CouponTemplateDTO.self)
            #expect((dto.name, dto.summary, dto.validDays, dto.totalCount) == ("甲店满200减30", "满200减30", 10, 5))
            // an amount above its threshold is a 422, another shop's coupon a 404, a member's token a 403: nothing changes
            let refused = try await put(#"{"name":"x","kind":"full_reduction","thresholdFen":1000,"amountOffFen":3000,"validDays":10}"#)
            #expect(refused.status == .unprocessableEntity)
            #expect(try await put(#"{"name":"乙","kind":"no_threshold","amountOffFen":100,"validDays":1}"#, token: f.shopBToken).status == .notFound)
            #expect(try await put(#"{"name":"会员","kind":"no_threshold","amountOffFen":100,"validDays":1}"#, token: buyer).status == .forbidden)
            #expect(try await stored().name == "甲店满200减30")
            #expect(try await stored().amountOff == 3_000)

            // act: two members claim
            _ = try await CouponTests.claim(t, coupon.id, token: buyer)
            _ = try await CouponTests.claim(t, coupon.id, token: try await t.quickMember("13600000002"))

            // check: what the held coupons are worth stays; the name, total and listing change
            let worth = try await put(#"{"name":"甲店满200减50","kind":"full_reduction","thresholdFen":20000,"amountOffFen":5000,"validDays":10,"totalCount":5}"#)
            #expect(worth.status == .conflict)
            #expect(worth.body.string.contains("coupon.terms_locked"), "\(worth.body.string)")
            let longer = try await put(#"{"name":"甲店满200减30","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":30,"totalCount":5}"#)
            #expect(longer.status == .conflict)
            let kept = try await stored()
            #expect(kept.amountOff == 3_000 && kept.validDays == 10)
            let below = try await put(#"{"name":"甲店满200减30","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":10,"totalCount":1}"#)
            #expect(below.status == .unprocessableEntity)
            #expect(below.body.string.contains("发放总量不能少于已领取的 2 张"), "\(below.body.string)")
            // the operator stops a shop's coupon but does not change it
            let byOperator = try await put(#"{"name":"平台改名","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":10,"totalCount":5}"#,
                                           token: f.operatorToken, shop: false)
            #expect(byOperator.status == .conflict && byOperator.body.string.contains("activity.shop_owned"), "\(byOperator.body.string)")
            let renamed = try await put(#"{"name":"老客专享","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":10,"totalCount":2,"claimable":false}"#)
            #expect(renamed.status == .ok, "\(renamed.body.string)")
            let now = try await stored()
            #expect((now.name, now.totalCount, now.claimable, now.issued, now.amountOff) == ("老客专享", 2, false, 2, 3_000))
            #expect(try await t.get("/api/v1/coupons", token: buyer).content.decode([CouponOfferDTO].self).allSatisfy { $0.id != coupon.id })

            // a stopped coupon is not changed
            #expect(try await t.postJSON("\(Self.shopCoupons)/\(coupon.id)/stop", "{}", token: f.shopAToken).status == .ok)
            #expect(try await put(#"{"name":"再改","kind":"full_reduction","thresholdFen":20000,"amountOffFen":3000,"validDays":10}"#).status == .conflict)
            #expect(try await stored().name == "老客专享")
        }
    }

    @Test func theCouponsConsolePageEditsItLockingWhatMembersHold() async throws {
        try await withMallApp { t in
            // setup: shop A's 无门槛 ¥5, on its console
            let f = try await CatalogFixture.make(t)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"立减5元","kind":"no_threshold","amountOffFen":500,"validDays":7,"perMemberPerDay":1}"#,
                                                            token: f.shopAToken, path: Self.shopCoupons)
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            let path = "/merchant/marketing/coupon/\(coupon.id)"
            func stored() async throws -> CouponTemplate { try #require(try await CouponTemplate.find(coupon.id, on: t.app.db)) }

            // act: nobody holds it: ¥8 off, for 3 days, 100 of them
            let open = try await shop.get(path).body.string
            _ = try await shop.post(path + "/edit", form: ["name": "立减8元", "kind": "no_threshold", "amountOff": "8", "scope": "all",
                                                           "validity": "days", "validDays": "3", "total": "100", "perMember": "1", "claimable": "on"])

            // check: the form showed the coupon as it was; everything changed but the daily limit it does not show
            #expect(open.contains(#"id="coupon-edit-form""#) && open.contains(#"value="立减5元""#) && open.contains(#"value="5.00""#))
            #expect(open.contains("还没有会员领取"))
            var now = try await stored()
            #expect((now.name, now.amountOff, now.validDays, now.totalCount, now.perMemberPerDay) == ("立减8元", 800, 3, 100, 1))
            #expect(try await shop.get(path).body.string.contains("已保存"))

            // act: a member holds one; the shop types ¥20 off and a new name
            _ = try await CouponTests.claim(t, coupon.id, token: try await t.quickMember("13600000001"))
            let locked = try await shop.get(path).body.string
            _ = try await shop.post(path + "/edit", form: ["name": "老客立减", "kind": "no_threshold", "amountOff": "20", "total": "50", "perMember": "2"])

            // check: the terms were locked on the form and stay; the name, total, limit and listing change
            #expect(locked.contains("已有会员领取") && locked.contains("disabled"))
            now = try await stored()
            #expect((now.name, now.amountOff, now.validDays, now.totalCount, now.perMember, now.claimable) == ("老客立减", 800, 3, 50, 2, false))
            // a total below what was claimed is refused with the reason, and nothing changes
            _ = try await shop.post(path + "/edit", form: ["name": "再改", "total": "0"])
            #expect(try await shop.get(path).body.string.contains("数量应在 1 到 1 亿之间"))
            #expect(try await stored().name == "老客立减")
        }
    }
}
