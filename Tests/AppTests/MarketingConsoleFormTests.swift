import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 营销中心's create forms: what a shop or the operator types (yuan, China time) becomes exactly the
/// activity the API would create; a refused form says why beside the form, keeps what was typed
/// and creates nothing.
@Suite struct MarketingConsoleFormTests {
    /// A `datetime-local` value `hours` from now, and the instant it means in China time.
    static func local(_ t: TestContext, hours: Double) throws -> (String, Date) {
        let text = MarketingConsolePageController.localChina(t.clock.now().addingTimeInterval(hours * 3_600))
        return (text, try #require(ISO8601DateFormatter().date(from: text + ":00+08:00")))
    }

    static func expectCreated(_ response: TestingHTTPResponse, _ back: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .seeOther, "\(response.body.string.prefix(600))", sourceLocation: sourceLocation)
        #expect(response.headers.first(name: .location) == back, sourceLocation: sourceLocation)
    }

    static func expectRefused(_ response: TestingHTTPResponse, form: String, _ message: String, kept: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .unprocessableEntity, "\(response.status)", sourceLocation: sourceLocation)
        let body = response.body.string
        #expect(body.contains(#"id="\#(form)-error""#) && body.contains(message), "\(message) not in \(body.prefix(300))", sourceLocation: sourceLocation)
        #expect(body.contains(kept), "\(kept) was not kept", sourceLocation: sourceLocation)
    }

    @Test func aShopCreatesCouponsOnTheConsoleInYuanAndChinaTimeAndABadFormCreatesNothing() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await shop.get("/merchant/marketing").status == .ok)
            let (start, startDate) = try Self.local(t, hours: 1)
            let (end, endDate) = try Self.local(t, hours: 24 * 30)
            let good = ["name": "甲店88折", "kind": "discount", "threshold": "100.50", "payRate": "8.8", "maximumOff": "19.90",
                        "scope": "products", "scopeIds": "\(s.milk.id)", "validity": "window", "startsAt": start, "endsAt": end,
                        "total": "500", "perMember": "2"]

            // act + check: the refusals first, each beside the coupon form with the input kept
            Self.expectRefused(try await shop.post("/merchant/marketing/coupons", form: good.merging(["payRate": "10"]) { $1 }),
                               form: "coupon", "折扣应在 0.01 到 9.99 折之间", kept: #"value="100.50""#)
            Self.expectRefused(try await shop.post("/merchant/marketing/coupons", form: good.merging(["payRate": "0"]) { $1 }),
                               form: "coupon", "折扣应在 0.01 到 9.99 折之间", kept: "甲店88折")
            Self.expectRefused(try await shop.post("/merchant/marketing/coupons", form: ["name": "坏券", "kind": "full_reduction", "threshold": "100",
                                                                                         "amountOff": "abc", "validity": "days", "validDays": "7"]),
                               form: "coupon", "请输入金额，如 20 或 19.90", kept: #"value="abc""#)
            Self.expectRefused(try await shop.post("/merchant/marketing/coupons", form: good.merging(["startsAt": end, "endsAt": start]) { $1 }),
                               form: "coupon", "结束时间应晚于开始时间", kept: "甲店88折")
            Self.expectRefused(try await shop.post("/merchant/marketing/coupons", form: good.merging(["scopeIds": "\(s.cream.id)"]) { $1 }),
                               form: "coupon", "只能选择本店的商品", kept: s.cream.id.uuidString)
            #expect(try await CouponTemplate.query(on: t.app.db).count() == 0)

            Self.expectCreated(try await shop.post("/merchant/marketing/coupons", form: good), "/merchant/marketing")
            Self.expectCreated(try await shop.post("/merchant/marketing/coupons", form: ["name": "甲店无门槛5元", "kind": "no_threshold", "amountOff": "5",
                                                                                         "scope": "all", "validity": "days", "validDays": "3",
                                                                                         "perMember": "1", "claimable": "on"]), "/merchant/marketing")
            let discount = try #require(try await CouponTemplate.query(on: t.app.db).filter(\.$name == "甲店88折").first())
            #expect((discount.kind, discount.threshold, discount.payRateBP, discount.maximumOff) == ("discount", 10_050, 8_800, 1_990))
            #expect((discount.validity, discount.startsAt, discount.endsAt) == ("window", startDate, endDate))
            #expect((discount.totalCount, discount.perMember, discount.claimable) == (500, 2, false))
            #expect((discount.scope, discount.payer, discount.merchantID) == ("products", "merchant", s.f.shopA))
            #expect(discount.scopeIDs.contains(s.milk.id.uuidString))
            let plain = try #require(try await CouponTemplate.query(on: t.app.db).filter(\.$name == "甲店无门槛5元").first())
            #expect((plain.amountOff, plain.validity, plain.validDays, plain.scope, plain.claimable) == (500, "days", 3, "merchant", true))
            #expect(try await CouponTemplate.query(on: t.app.db).count() == 2)
            // Read back through the shop's API as well.
            let listed = try await t.get("/api/v1/merchant/coupons", token: s.f.shopAToken).body.string
            #expect(listed.contains("甲店88折") && listed.contains("甲店无门槛5元"))
            let page = try await shop.get("/merchant/marketing").body.string
            #expect(page.contains("甲店88折") && page.contains(#"id="coupon-create""#) && !page.contains("/api/v1/merchant/…"))
        }
    }

    @Test func aShopCreatesALimitedTimePriceAndAFlashSaleForItsOwnSkusOnly() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await shop.get("/merchant/marketing").status == .ok)
            let (start, startDate) = try Self.local(t, hours: 2)
            let (end, endDate) = try Self.local(t, hours: 50)
            let mine = s.milk.skus[0].id.uuidString
            let theirs = s.cream.skus[0].id.uuidString
            let limited = ["name": "甲店限时价", "startsAt": start, "endsAt": end, "sku1": mine, "price1": "89.90", "perMemberLimit": "2"]
            let flash = ["name": "甲店秒杀", "startsAt": start, "endsAt": end, "sku1": mine, "price1": "59.90", "stock1": "3", "limit1": "1",
                         "unpaidMinutes": "10"]

            // act + check: refusals
            Self.expectRefused(try await shop.post("/merchant/marketing/limited-time", form: limited.merging(["sku1": theirs]) { $1 }),
                               form: "limited", "只能选择本店的商品规格", kept: "甲店限时价")
            Self.expectRefused(try await shop.post("/merchant/marketing/limited-time", form: limited.merging(["price1": "abc"]) { $1 }),
                               form: "limited", "请输入金额，如 20 或 19.90", kept: #"value="abc""#)
            Self.expectRefused(try await shop.post("/merchant/marketing/limited-time", form: limited.merging(["price1": "99"]) { $1 }),
                               form: "limited", "活动价应低于原价", kept: "甲店限时价")
            Self.expectRefused(try await shop.post("/merchant/marketing/flash-sales", form: flash.merging(["startsAt": end, "endsAt": start]) { $1 }),
                               form: "flash", "结束时间应晚于开始时间", kept: "甲店秒杀")
            Self.expectRefused(try await shop.post("/merchant/marketing/flash-sales", form: flash.merging(["sku1": theirs]) { $1 }),
                               form: "flash", "只能选择本店的商品规格", kept: "甲店秒杀")
            Self.expectRefused(try await shop.post("/merchant/marketing/flash-sales", form: flash.merging(["stock1": "三"]) { $1 }),
                               form: "flash", "请输入整数", kept: "甲店秒杀")
            #expect(try await PromotionActivity.query(on: t.app.db).count() == 0)
            #expect(try await FlashSaleActivity.query(on: t.app.db).count() == 0)

            Self.expectCreated(try await shop.post("/merchant/marketing/limited-time", form: limited), "/merchant/marketing")
            Self.expectCreated(try await shop.post("/merchant/marketing/flash-sales", form: flash), "/merchant/marketing")
            let offer = try #require(try await PromotionActivity.query(on: t.app.db).first())
            #expect((offer.kind, offer.owner, offer.merchantID, offer.perMemberLimit) == ("limited_time", "merchant", s.f.shopA, 2))
            #expect((offer.startsAt, offer.endsAt) == (startDate, endDate))
            let prices = PromotionService.skuPrices(offer)
            #expect(prices.count == 1 && prices.first?.skuId == s.milk.skus[0].id && prices.first?.priceFen == 8_990)
            let sale = try #require(try await FlashSaleActivity.query(on: t.app.db).first())
            #expect((sale.owner, sale.merchantID, sale.unpaidMinutes) == ("merchant", s.f.shopA, 10))
            let sessions = try await FlashSaleSessionRecord.query(on: t.app.db).all()
            #expect(sessions.count == 1 && sessions.first?.startsAt == startDate && sessions.first?.endsAt == endDate)
            let items = try await FlashSaleItem.query(on: t.app.db).all()
            #expect(items.count == 1)
            #expect((items.first?.skuID, items.first?.price, items.first?.activityStock, items.first?.perMemberLimit) == (s.milk.skus[0].id, 5_990, 3, 1))
            let page = try await shop.get("/merchant/marketing").body.string
            #expect(page.contains("甲店限时价") && page.contains("甲店秒杀"))
        }
    }

    @Test func aShopCreatesAGroupBuyAndABargainAndTheOperatorCreatesPlatformActivitiesBySkuCode() async throws {
        try await withMallApp { t in
            // setup: both shops use the code SAME-0 for one of their SKUs
            let s = try await OrderFlowTests.shop(t)
            let shared = try await s.f.createProduct(s.f.productJSON("甲店同码", category: s.f.milk, prices: [3_000], code: "SAME"))
            let other = try await s.f.createProduct(s.f.productJSON("乙店同码", category: s.f.beauty, prices: [4_000], code: "SAME"), token: s.f.shopBToken)
            let unique = try await s.f.createProduct(s.f.productJSON("乙店独码", category: s.f.beauty, prices: [6_000], code: "ONLYB"), token: s.f.shopBToken)
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await shop.get("/merchant/marketing").status == .ok)
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            #expect(try await boss.get("/admin/marketing").status == .ok)
            let (start, startDate) = try Self.local(t, hours: 0.5)
            let (end, endDate) = try Self.local(t, hours: 24 * 7)
            let mine = s.milk.skus[0].id.uuidString
            let group = ["name": "甲店3人团", "sku": mine, "price": "69.90", "size": "3", "hours": "12", "startsAt": start, "endsAt": end]
            let bargain = ["name": "甲店砍价", "sku": mine, "floor": "9.90", "maxCuts": "5", "hours": "24", "dailyCutLimit": "2",
                           "newMemberDouble": "on", "startsAt": start, "endsAt": end]

            // act + check: the shop's refusals, then its activities
            Self.expectRefused(try await shop.post("/merchant/marketing/group-buys", form: group.merging(["sku": s.cream.skus[0].id.uuidString]) { $1 }),
                               form: "groupbuy", "商品规格不存在", kept: "甲店3人团")
            Self.expectRefused(try await shop.post("/merchant/marketing/group-buys", form: group.merging(["hours": "200"]) { $1 }),
                               form: "groupbuy", "时限应为 1 到 168 小时", kept: #"value="200""#)
            Self.expectRefused(try await shop.post("/merchant/marketing/bargains", form: bargain.merging(["floor": "99"]) { $1 }),
                               form: "bargain", "底价应不低于 0 且低于原价", kept: "甲店砍价")
            Self.expectRefused(try await shop.post("/merchant/marketing/bargains", form: bargain.merging(["sku": s.cream.skus[0].id.uuidString]) { $1 }),
                               form: "bargain", "商品规格不存在", kept: "甲店砍价")
            #expect(try await GroupBuyActivity.query(on: t.app.db).count() == 0)
            #expect(try await BargainActivity.query(on: t.app.db).count() == 0)
            Self.expectCreated(try await shop.post("/merchant/marketing/group-buys", form: group), "/merchant/marketing")
            Self.expectCreated(try await shop.post("/merchant/marketing/bargains", form: bargain), "/merchant/marketing")
            let team = try #require(try await GroupBuyActivity.query(on: t.app.db).first())
            #expect((team.skuID, team.price, team.size, team.durationSeconds, team.virtualCompletion) == (s.milk.skus[0].id, 6_990, 3, 43_200, false))
            #expect((team.startsAt, team.endsAt, team.owner, team.merchantID) == (startDate, endDate, "merchant", s.f.shopA))
            let cut = try #require(try await BargainActivity.query(on: t.app.db).first())
            #expect((cut.floorPrice, cut.maxCuts, cut.durationSeconds, cut.dailyCutLimit, cut.newMemberDouble) == (990, 5, 86_400, 2, true))
            #expect((cut.startsAt, cut.endsAt, cut.owner) == (startDate, endDate, "merchant"))
            // A shop may also type its own SKU code, never another shop's.
            Self.expectRefused(try await shop.post("/merchant/marketing/group-buys", form: group.merging(["sku": "ONLYB-0"]) { $1 }),
                               form: "groupbuy", "没有这个规格编码", kept: "甲店3人团")

            // The operator: a platform coupon, and a group buy on a shop's SKU by its code.
            let admin = try await boss.get("/admin/marketing").body.string
            #expect(admin.contains(#"id="coupon-create""#) && admin.contains(#"id="group-buy-create""#) && !admin.contains(#"id="gift-create""#))
            Self.expectCreated(try await boss.post("/admin/marketing/coupons", form: ["name": "平台满199减20", "kind": "full_reduction", "threshold": "199",
                                                                                      "amountOff": "20", "scope": "all", "validity": "days", "validDays": "7",
                                                                                      "perMember": "1", "claimable": "on"]), "/admin/marketing")
            let platformCoupon = try #require(try await CouponTemplate.query(on: t.app.db).first())
            #expect((platformCoupon.payer, platformCoupon.merchantID, platformCoupon.threshold, platformCoupon.amountOff) == ("platform", nil, 19_900, 2_000))
            Self.expectRefused(try await boss.post("/admin/marketing/group-buys", form: group.merging(["name": "平台同码团", "sku": "SAME-0", "price": "19.90"]) { $1 }),
                               form: "groupbuy", "多个店铺使用该规格编码", kept: "SAME-0")
            Self.expectCreated(try await boss.post("/admin/marketing/group-buys", form: group.merging(["name": "平台乙店团", "sku": "ONLYB-0", "price": "49.90"]) { $1 }),
                               "/admin/marketing")
            let platformTeam = try #require(try await GroupBuyActivity.query(on: t.app.db).filter(\.$name == "平台乙店团").first())
            #expect((platformTeam.skuID, platformTeam.price, platformTeam.owner, platformTeam.merchantID) == (unique.skus[0].id, 4_990, "platform", nil))
            Self.expectCreated(try await boss.post("/admin/marketing/limited-time", form: ["name": "平台限时价", "startsAt": start, "endsAt": end,
                                                                                          "sku1": other.skus[0].id.uuidString, "price1": "35"]), "/admin/marketing")
            let platformOffer = try #require(try await PromotionActivity.query(on: t.app.db).filter(\.$name == "平台限时价").first())
            #expect(platformOffer.owner == "platform" && PromotionService.skuPrices(platformOffer).first?.priceFen == 3_500)
            #expect(try await GroupBuyActivity.query(on: t.app.db).count() == 2)
            #expect(shared.skus.count == 1)
            let list = try await boss.get("/admin/marketing").body.string
            #expect(list.contains("平台满199减20") && list.contains("平台乙店团") && list.contains("甲店砍价"))
        }
    }
}
