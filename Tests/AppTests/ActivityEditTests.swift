import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 修改活动: 满减/满赠/限时折扣, flash sales, group buys and bargains change freely until they
/// start; after that only what buyers and orders do not hold.
@Suite struct ActivityEditTests {
    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// A window from `startsIn` seconds from now, for a week.
    static func window(_ t: TestContext, startsIn: Double) -> (String, String) {
        let start = t.clock.now().addingTimeInterval(startsIn)
        return (iso(start), iso(start.addingTimeInterval(7 * 86_400)))
    }

    @Test func aPromotionChangesFreelyUntilItStartsThenOnlyItsNameEndAndCommissionSwitch() async throws {
        try await withMallApp { t in
            // setup: the platform's 满199减20 from five minutes from now
            let f = try await CatalogFixture.make(t)
            let member = try await t.quickMember("13600000001")
            let (start, end) = Self.window(t, startsIn: 300)
            func body(_ tiers: String, name: String = "平台满减", endsAt: String? = nil, extra: String = "") -> String {
                #"{"name":"\#(name)","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(endsAt ?? end)","tiers":[\#(tiers)]\#(extra)}"#
            }
            let created = try await PromotionTests.create(t, body(#"{"thresholdFen":19900,"amountOffFen":2000}"#), token: f.operatorToken)
            let path = "/api/v1/admin/promotions/\(created.id)"
            func stored() async throws -> PromotionActivity { try #require(try await PromotionActivity.find(created.id, on: t.app.db)) }

            // act + check: before it starts the tiers change (满100减10 / 满300减40)
            let changed = try await t.send(.PUT, path, body(#"{"thresholdFen":10000,"amountOffFen":1000},{"thresholdFen":30000,"amountOffFen":4000}"#),
                                           token: f.operatorToken)
            #expect(changed.status == .ok, "\(changed.body.string)")
            #expect(try changed.content.decode(PromotionDTO.self).summary == "满100减10 / 满300减40")
            // an amount above its threshold is a 422, a shop's token on the platform's a 404, a member's a 403: nothing changes
            #expect(try await t.send(.PUT, path, body(#"{"thresholdFen":1000,"amountOffFen":3000}"#), token: f.operatorToken).status == .unprocessableEntity)
            #expect(try await t.send(.PUT, "/api/v1/merchant/promotions/\(created.id)", body(#"{"thresholdFen":100,"amountOffFen":10}"#),
                                     token: f.shopAToken).status == .notFound)
            #expect(try await t.send(.PUT, path, body(#"{"thresholdFen":100,"amountOffFen":10}"#), token: member).status == .forbidden)
            #expect(PromotionService.tiers(try await stored()).map(\.thresholdFen) == [10_000, 30_000])

            // act: it starts; the operator tries a deeper cut, then renames it and runs it longer without commission
            t.clock.advance(seconds: 360)
            let deeper = try await t.send(.PUT, path, body(#"{"thresholdFen":10000,"amountOffFen":2000},{"thresholdFen":30000,"amountOffFen":4000}"#),
                                          token: f.operatorToken)
            let later = Self.iso(t.clock.now().addingTimeInterval(30 * 86_400))
            let renamed = try await t.send(.PUT, path, body(#"{"thresholdFen":10000,"amountOffFen":1000},{"thresholdFen":30000,"amountOffFen":4000}"#,
                                                            name: "双旦满减", endsAt: later, extra: #","paysCommission":false"#), token: f.operatorToken)

            // check: the terms stay; the name, end and switch change
            #expect(deeper.status == .conflict)
            #expect(deeper.body.string.contains("promotion.terms_locked") && deeper.body.string.contains("活动已开始"), "\(deeper.body.string)")
            #expect(renamed.status == .ok, "\(renamed.body.string)")
            let now = try await stored()
            #expect((now.name, now.paysCommission, PromotionService.tiers(now).compactMap(\.amountOffFen)) == ("双旦满减", false, [1_000, 4_000]))
            #expect(Self.iso(now.endsAt) == later)
            // an end already past is a 422; a stopped activity is a 409; neither changes anything
            let past = try await t.send(.PUT, path, body(#"{"thresholdFen":10000,"amountOffFen":1000},{"thresholdFen":30000,"amountOffFen":4000}"#,
                                                         endsAt: Self.iso(t.clock.now().addingTimeInterval(-60))), token: f.operatorToken)
            #expect(past.status == .unprocessableEntity && past.body.string.contains("结束时间应晚于现在"), "\(past.body.string)")
            #expect(try await t.postJSON(path + "/stop", "{}", token: f.operatorToken).status == .ok)
            #expect(try await t.send(.PUT, path, body(#"{"thresholdFen":10000,"amountOffFen":1000}"#, name: "再改"), token: f.operatorToken).status == .conflict)
            #expect(try await stored().name == "双旦满减")
        }
    }

    @Test func aGroupBuyAndABargainKeepTheirTermsOnceStarted() async throws {
        try await withMallApp { t in
            // setup: shop A's milk (¥99) in a two-person group at ¥69 and a bargain down to ¥49, both from five minutes from now
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let (start, end) = Self.window(t, startsIn: 300)
            func group(_ price: Int64, size: Int, name: String = "奶粉团") -> String {
                #"{"name":"\#(name)","skuId":"\#(milk)","priceFen":\#(price),"size":\#(size),"startsAt":"\#(start)","endsAt":"\#(end)"}"#
            }
            func bargain(_ floor: Int64, cuts: Int, name: String = "帮砍") -> String {
                #"{"name":"\#(name)","skuId":"\#(milk)","floorPriceFen":\#(floor),"maxCuts":\#(cuts),"startsAt":"\#(start)","endsAt":"\#(end)"}"#
            }
            let groupBuy = try await t.postJSON("/api/v1/merchant/group-buys", group(6_900, size: 2), token: s.f.shopAToken).content.decode(GroupBuyActivityDTO.self)
            let cutting = try await t.postJSON("/api/v1/merchant/bargains", bargain(4_900, cuts: 5), token: s.f.shopAToken).content.decode(BargainActivityDTO.self)
            let groupPath = "/api/v1/merchant/group-buys/\(groupBuy.id)"
            let bargainPath = "/api/v1/merchant/bargains/\(cutting.id)"

            // act + check: before the start, a three-person group at ¥59 and a floor of ¥39 in 3 cuts
            #expect(try await t.send(.PUT, groupPath, group(5_900, size: 3), token: s.f.shopAToken).status == .ok)
            #expect(try await t.send(.PUT, bargainPath, bargain(3_900, cuts: 3), token: s.f.shopAToken).status == .ok)
            // a group price above the SKU's is a 422, shop B's token a 404
            #expect(try await t.send(.PUT, groupPath, group(19_900, size: 3), token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await t.send(.PUT, bargainPath, bargain(3_900, cuts: 3), token: s.f.shopBToken).status == .notFound)
            // the operator stops a shop's activity but does not change it; its page has no form for it
            let byOperator = try await t.send(.PUT, "/api/v1/admin/group-buys/\(groupBuy.id)", group(100, size: 2), token: s.f.operatorToken)
            #expect(byOperator.status == .conflict && byOperator.body.string.contains("店铺的活动，由店铺修改"), "\(byOperator.body.string)")
            var g = try #require(try await GroupBuyActivity.find(groupBuy.id, on: t.app.db))
            var b = try #require(try await BargainActivity.find(cutting.id, on: t.app.db))
            #expect((g.price, g.size, b.floorPrice, b.maxCuts) == (5_900, 3, 3_900, 3))

            // act: they start; the shop tries a cheaper group and fewer cuts, then renames both
            t.clock.advance(seconds: 360)
            let cheaper = try await t.send(.PUT, groupPath, group(4_900, size: 3), token: s.f.shopAToken)
            let fewer = try await t.send(.PUT, bargainPath, bargain(3_900, cuts: 2), token: s.f.shopAToken)
            let groupRenamed = try await t.send(.PUT, groupPath, group(5_900, size: 3, name: "三人团"), token: s.f.shopAToken)
            let bargainRenamed = try await t.send(.PUT, bargainPath, bargain(3_900, cuts: 3, name: "好友砍"), token: s.f.shopAToken)

            // check
            #expect(cheaper.status == .conflict && cheaper.body.string.contains("group_buy.terms_locked"), "\(cheaper.body.string)")
            #expect(fewer.status == .conflict && fewer.body.string.contains("bargain.terms_locked"), "\(fewer.body.string)")
            #expect(groupRenamed.status == .ok && bargainRenamed.status == .ok)
            g = try #require(try await GroupBuyActivity.find(groupBuy.id, on: t.app.db))
            b = try #require(try await BargainActivity.find(cutting.id, on: t.app.db))
            #expect((g.name, g.price, g.size, b.name, b.floorPrice, b.maxCuts) == ("三人团", 5_900, 3, "好友砍", 3_900, 3))
        }
    }

    @Test func aFlashSaleIsRewrittenBeforeItStartsAndAfterwardsOnlyItsStockMoves() async throws {
        try await withMallApp { t in
            // setup: shop A's ¥99 milk (10 in stock), 5 units at ¥49 from five minutes from now
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let (start, end) = Self.window(t, startsIn: 300)
            func body(price: Int64, stock: Int64, name: String = "整点秒杀") -> String {
                #"{"name":"\#(name)","sessions":[{"startsAt":"\#(start)","endsAt":"\#(end)","items":[{"skuId":"\#(milk)","priceFen":\#(price),"stock":\#(stock),"perMemberLimit":1}]}]}"#
            }
            let sale = try await FlashSaleTests.create(t, body(price: 4_900, stock: 5), token: s.f.shopAToken)
            let path = "/api/v1/merchant/flash-sales/\(sale.id)"
            #expect(try await FlashSaleTests.skuStock(t, milk) == 5)

            // act + check: before it starts, 3 units at ¥39: two units go back to the SKU
            let rewritten = try await t.send(.PUT, path, body(price: 3_900, stock: 3), token: s.f.shopAToken)
            #expect(rewritten.status == .ok, "\(rewritten.body.string)")
            let dto = try rewritten.content.decode(FlashSaleDTO.self)
            let item = FlashSaleTests.item(dto)
            #expect(try await FlashSaleTests.skuStock(t, milk) == 7)
            var stored = try await FlashSaleTests.flashItem(t, item)
            #expect((stored.price, stored.activityStock, stored.available) == (3_900, 3, 3))
            // more units than the SKU has is a 409 with what there is; nothing moves
            let greedy = try await t.send(.PUT, path, body(price: 3_900, stock: 20), token: s.f.shopAToken)
            #expect(greedy.status == .conflict && greedy.body.string.contains("规格库存不足：现有 10 件，活动需要 20 件"), "\(greedy.body.string)")
            #expect(try await FlashSaleTests.skuStock(t, milk) == 7)
            #expect(try await FlashSaleTests.flashItem(t, item).activityStock == 3)

            // act: it starts and two members each take a unit
            t.clock.advance(seconds: 360)
            let buyers = [try await FlashSaleTests.buyer(t, "13600000011"), try await FlashSaleTests.buyer(t, "13600000012")]
            for buyer in buyers {
                let placed = try await FlashSaleTests.buy(t, item, address: buyer.address, token: buyer.token)
                #expect(placed.status == .created, "\(placed.body.string)")
            }

            // check: the price is held; the stock cannot go below the 2 taken; it can go up from the SKU and down to them
            let cheaper = try await t.send(.PUT, path, body(price: 2_900, stock: 3), token: s.f.shopAToken)
            #expect(cheaper.status == .conflict && cheaper.body.string.contains("flash_sale.terms_locked"), "\(cheaper.body.string)")
            let below = try await t.send(.PUT, path, body(price: 3_900, stock: 1), token: s.f.shopAToken)
            #expect(below.status == .conflict && below.body.string.contains("已售出或待支付 2 件"), "\(below.body.string)")
            let more = try await t.send(.PUT, path, body(price: 3_900, stock: 6, name: "加库存秒杀"), token: s.f.shopAToken)
            #expect(more.status == .ok, "\(more.body.string)")
            stored = try await FlashSaleTests.flashItem(t, item)
            #expect((stored.activityStock, stored.available, try await FlashSaleTests.skuStock(t, milk)) == (6, 4, 4))
            #expect(try await FlashSaleActivity.find(sale.id, on: t.app.db)?.name == "加库存秒杀")
            #expect(try await t.send(.PUT, path, body(price: 3_900, stock: 2), token: s.f.shopAToken).status == .ok)
            stored = try await FlashSaleTests.flashItem(t, item)
            #expect((stored.activityStock, stored.available, try await FlashSaleTests.skuStock(t, milk)) == (2, 0, 8))

            // the console offers the name and the row's stock, saying how many are taken; 4 units come from the SKU
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            let page = "/merchant/marketing/flash_sale/\(sale.id)"
            let locked = try await shop.get(page).body.string
            #expect(locked.contains("秒杀已开始：只能修改名称和未结束场次的活动库存") && locked.contains("第 1 行 活动库存（已占用 2 件）"), "\(locked)")
            #expect(!locked.contains(#"name="price1""#))
            _ = try await shop.post(page + "/edit", form: ["name": "加库存秒杀", "stock1": "6", "price1": "0.01"])
            stored = try await FlashSaleTests.flashItem(t, item)
            #expect((stored.price, stored.activityStock, stored.available, try await FlashSaleTests.skuStock(t, milk)) == (3_900, 6, 4, 4))
        }
    }

    @Test func theConsolePageEditsAnActivityAndLocksItsTermsOnceStarted() async throws {
        try await withMallApp { t in
            // setup: shop A's bargain on its milk, from five minutes from now, on the shop's console
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let (start, end) = Self.window(t, startsIn: 300)
            let json = #"{"name":"好友帮砍","skuId":"\#(milk)","floorPriceFen":4900,"maxCuts":5,"durationMinutes":1440,"startsAt":"\#(start)","endsAt":"\#(end)"}"#
            let cutting = try await t.postJSON("/api/v1/merchant/bargains", json, token: s.f.shopAToken).content.decode(BargainActivityDTO.self)
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            let path = "/merchant/marketing/bargain/\(cutting.id)"
            func stored() async throws -> BargainActivity { try #require(try await BargainActivity.find(cutting.id, on: t.app.db)) }
            let open = try await shop.get(path).body.string
            var form = ["name": "三刀砍到底", "sku": milk.uuidString, "floor": "39.90", "maxCuts": "3", "hours": "12", "dailyCutLimit": "2",
                        "startsAt": MarketingConsolePageController.localChina(t.clock.now().addingTimeInterval(7_200)),
                        "endsAt": MarketingConsolePageController.localChina(t.clock.now().addingTimeInterval(86_400))]

            // act: a floor that is no amount, then the whole change
            _ = try await shop.post(path + "/edit", form: form.merging(["floor": "abc"]) { _, new in new })
            let refused = try await shop.get(path).body.string
            _ = try await shop.post(path + "/edit", form: form)

            // check: the form showed the bargain as it was; the typo was refused with the reason; then everything changed
            #expect(open.contains(#"id="activity-edit-form""#) && open.contains("活动开始前可以修改任何内容") && open.contains(#"value="49.00""#))
            #expect(refused.contains("请输入金额，如 20 或 19.90"))
            var now = try await stored()
            #expect((now.name, now.floorPrice, now.maxCuts, now.durationSeconds, now.dailyCutLimit) == ("三刀砍到底", 3_990, 3, 43_200, 2))

            // act: it starts; the shop types a lower floor and a new name
            t.clock.advance(seconds: 7_300)
            let locked = try await shop.get(path).body.string
            form["floor"] = "9.90"
            form["name"] = "周末帮砍"
            _ = try await shop.post(path + "/edit", form: form)

            // check: only the name and end time were offered and read
            #expect(locked.contains("活动已开始：只能修改名称和结束时间") && !locked.contains(#"name="floor""#))
            now = try await stored()
            #expect((now.name, now.floorPrice, now.maxCuts) == ("周末帮砍", 3_990, 3))
            // the operator sees the shop's bargain and may stop it, but has no form to change it
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            let operatorPage = try await boss.get("/admin/marketing/bargain/\(cutting.id)").body.string
            #expect(operatorPage.contains("周末帮砍") && !operatorPage.contains("activity-edit-form"))
        }
    }

    @Test func hostileEditsAreRefusedWithFourHundredsAndChangeNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let (start, end) = Self.window(t, startsIn: 300)
            let group = #"{"name":"奶粉团","skuId":"\#(s.milk.skus[0].id)","priceFen":6900,"size":2,"startsAt":"\#(start)","endsAt":"\#(end)"}"#
            let created = try await t.postJSON("/api/v1/merchant/group-buys", group, token: s.f.shopAToken).content.decode(GroupBuyActivityDTO.self)
            let paths = ["/api/v1/merchant/promotions/", "/api/v1/merchant/flash-sales/", "/api/v1/merchant/group-buys/", "/api/v1/merchant/bargains/"]
            let bodies = ["", "[]", "{}", #"{"name":1e400}"#, #"{"name":"x","skuId":"not-a-uuid"}"#, #"{"name":"x","sessions":[{"items":null}]}"#,
                          #"{"name":"x","skuId":"\#(s.milk.skus[0].id)","priceFen":-1,"size":2147483648,"startsAt":"x","endsAt":"y"}"#,
                          #"{"name":"x","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","tiers":[{"thresholdFen":9223372036854775807,"amountOffFen":1}]}"#,
                          #"{"name":"x","sessions":[{"startsAt":"\#(start)","endsAt":"\#(end)","items":[{"skuId":"\#(s.milk.skus[0].id)","priceFen":1,"stock":9223372036854775807}]}]}"#]
            for path in paths {
                for id in [created.id.uuidString, "x", "00000000-0000-0000-0000-000000000000", "%00", String(repeating: "9", count: 400)] {
                    for body in bodies {
                        let response = try await t.send(.PUT, path + id, body, token: s.f.shopAToken)
                        #expect((400..<500).contains(Int(response.status.code)), "\(path)\(id) \(body): \(response.status) \(response.body.string)")
                    }
                }
            }
            let kept = try #require(try await GroupBuyActivity.find(created.id, on: t.app.db))
            #expect((kept.name, kept.price, kept.size) == ("奶粉团", 6_900, 2))
        }
    }
}
