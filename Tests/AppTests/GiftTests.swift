import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct GiftTests {
    /// Shop A's sample (¥10.00, `stock` units) given with ¥150 or more of its goods.
    static func gift(_ t: TestContext, _ s: OrderFlowTests.Shop, stock: Int64 = 1) async throws -> (activity: PromotionDTO, sku: UUID) {
        let sample = try await s.f.createProduct(s.f.productJSON("甲店试用装", category: s.f.milk, prices: [1_000], stock: stock))
        let (start, end) = PromotionTests.window(t)
        let json = #"{"name":"满150送试用装","kind":"gift","tiers":[{"thresholdFen":15000}],"giftSkuId":"\#(sample.skus[0].id)","giftQuantity":1,"startsAt":"\#(start)","endsAt":"\#(end)"}"#
        let response = try await t.postJSON("/api/v1/merchant/promotions", json, token: s.f.shopAToken)
        #expect(response.status == .created, "\(response.body.string)")
        return (try response.content.decode(PromotionDTO.self), sample.skus[0].id)
    }

    static func milkJSON(_ s: OrderFlowTests.Shop, quantity: Int, address: UUID? = nil) -> String {
        #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":\#(quantity)}],"addressId":"\#(address ?? s.address)","couponIds":[]}"#
    }

    static func stock(_ t: TestContext, _ sku: UUID) async throws -> Int64 {
        try #require(try await Sku.find(sku, on: t.app.db)).stock
    }

    @Test func aBuyerOverTheThresholdGetsTheGiftFreeUntilItsStockRunsOut() async throws {
        try await withMallApp { t in
            // setup: one sample to give; a second buyer
            let s = try await OrderFlowTests.shop(t)
            let (activity, sample) = try await Self.gift(t, s)
            let other = try await GroupBuyTests.member(t, "13600000002")

            // act: ¥99 is short of ¥150; ¥198 reaches it and is placed; the second buyer then places ¥198 too
            let short = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s, quantity: 1), token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let reached = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s, quantity: 2), token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let page = try await t.get("/products/\(s.milk.id)")
            let placed = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2), token: s.buyer)
            let first = try placed.content.decode(CheckoutResultDTO.self)
            let stockAfterFirst = try await Self.stock(t, sample)
            let late = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, address: other.address), token: other.token)
                .content.decode(CheckoutResultDTO.self)

            // check: the summary, the badge and each verdict in the buyer's words
            #expect(activity.kind == "gift" && activity.summary == "满150送赠品" && activity.giftSkuId == sample && activity.giftQuantity == 1)
            #expect(page.body.string.contains("满150送 甲店试用装 ×1"))
            #expect(short.orders[0].gifts.map(\.status) == ["below_threshold"])
            #expect(short.orders[0].gifts.first?.missing?.fen == 5_100)
            #expect(short.orders[0].gifts.first?.text == "还差 ¥51.00 送 甲店试用装")
            #expect(reached.orders[0].gifts.map(\.text) == ["赠 甲店试用装 ×1"])
            // The gift changes no amount: ¥198.00 + ¥13.00 shipping.
            #expect(reached.total.fen == 21_100)
            #expect(placed.status == .created, "\(placed.body.string)")
            #expect(first.payment.amount.fen == 21_100)
            let lines = try await OrderLine.query(on: t.app.db).filter(\.$order.$id == first.orders[0].id).sort(\.$position).all()
            #expect(lines.map(\.title) == ["甲店奶粉", "甲店试用装"])
            #expect(lines.map(\.paidAmount) == [19_800, 0])
            #expect(lines.map(\.unitPrice) == [9_900, 0])
            #expect(lines[1].giftActivityID == activity.id && lines[0].giftActivityID == nil)
            #expect(stockAfterFirst == 0)
            // The second buyer pays the same and is told the gift ran out; no gift line.
            #expect(late.payment.amount.fen == 21_100)
            #expect(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == late.orders[0].id).count() == 1)
            let seen = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s, quantity: 2, address: other.address), token: other.token)
                .content.decode(CheckoutPreviewDTO.self)
            #expect(seen.orders[0].gifts.map(\.text) == ["赠品 甲店试用装 已送完"])
        }
    }

    @Test func aCancelledOrderGivesTheGiftBackAndAGiftTakesNoAfterSales() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            let (_, sample) = try await Self.gift(t, s)

            // act: placed and cancelled; placed again and paid; the buyer asks a refund of the gift
            let unpaid = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2), token: s.buyer).content.decode(CheckoutResultDTO.self)
            let taken = try await Self.stock(t, sample)
            #expect(try await t.postJSON("/api/v1/me/orders/\(unpaid.orders[0].id)/cancel", "{}", token: s.buyer).status == .ok)
            let back = try await Self.stock(t, sample)
            let paid = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2), token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, paid, token: s.buyer)
            let giftLine = try #require(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == paid.orders[0].id).all().first { $0.giftActivityID != nil })
            let asked = try await t.postJSON("/api/v1/me/orders/\(paid.orders[0].id)/after-sales",
                                             #"{"lineId":"\#(try giftLine.requireID())","kind":"refund_only","units":1,"reason":"不要赠品"}"#, token: s.buyer)
            let detail = try await t.get("/api/v1/me/orders/\(paid.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)

            // check
            #expect((taken, back) == (0, 1))
            #expect(try await Self.stock(t, sample) == 0)
            #expect(asked.status == .unprocessableEntity)
            #expect(asked.body.string.contains("赠品不单独退款"))
            #expect(try await AfterSale.query(on: t.app.db).count() == 0)
            #expect(detail.lines.map(\.isGift) == [false, true])
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func simultaneousCheckoutsGiveTheLastGiftOnce() async throws {
        try await withMallApp { t in
            // setup: one sample; six buyers with addresses
            let s = try await OrderFlowTests.shop(t, milkStock: 50)
            let (_, sample) = try await Self.gift(t, s)
            var buyers: [(token: String, address: UUID)] = []
            for index in 0..<6 { buyers.append(try await GroupBuyTests.member(t, "1370000000\(index)")) }

            // act: all check out ¥198 at once
            let statuses = try await withThrowingTaskGroup(of: (UInt, String).self) { group in
                for buyer in buyers {
                    group.addTask {
                        let response = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, address: buyer.address), token: buyer.token)
                        return (response.status.code, response.body.string)
                    }
                }
                return try await group.reduce(into: [(UInt, String)]()) { $0.append($1) }
            }

            // check: one gift line in all; a checkout that priced the gift and lost it was told so and wrote nothing
            #expect(statuses.allSatisfy { code, body in code == 201 || (code == 409 && body.contains("刚刚送完")) }, "\(statuses)")
            let gifts = try await OrderLine.query(on: t.app.db).filter(\.$giftActivityID != nil).all()
            #expect(gifts.count == 1)
            #expect(try await Self.stock(t, sample) == 0)
            #expect(try await Order.query(on: t.app.db).count() == statuses.filter { $0.0 == 201 }.count)
        }
    }

    @Test func onlyAShopGivesGiftsAndOnlyItsOwnSkus() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let (start, end) = PromotionTests.window(t)
            let theirs = s.cream.skus[0].id
            func json(_ sku: UUID, tiers: String = #"[{"thresholdFen":15000}]"#) -> String {
                #"{"name":"满赠","kind":"gift","tiers":\#(tiers),"giftSkuId":"\#(sku)","startsAt":"\#(start)","endsAt":"\#(end)"}"#
            }
            let byOperator = try await t.postJSON("/api/v1/admin/promotions", json(s.milk.skus[0].id), token: s.f.operatorToken)
            let otherShops = try await t.postJSON("/api/v1/merchant/promotions", json(theirs), token: s.f.shopAToken)
            let withAmount = try await t.postJSON("/api/v1/merchant/promotions", json(s.milk.skus[0].id, tiers: #"[{"thresholdFen":15000,"amountOffFen":100}]"#),
                                                  token: s.f.shopAToken)
            let noGift = try await t.postJSON("/api/v1/merchant/promotions",
                                              #"{"name":"满赠","kind":"gift","tiers":[{"thresholdFen":15000}],"startsAt":"\#(start)","endsAt":"\#(end)"}"#, token: s.f.shopAToken)
            let tooMany = try await t.postJSON("/api/v1/merchant/promotions",
                                               #"{"name":"满赠","kind":"gift","tiers":[{"thresholdFen":15000}],"giftSkuId":"\#(s.milk.skus[0].id)","giftQuantity":100,"startsAt":"\#(start)","endsAt":"\#(end)"}"#,
                                               token: s.f.shopAToken)
            for (response, field) in [(byOperator, "kind"), (otherShops, "giftSkuId"), (withAmount, "tiers"), (noGift, "giftSkuId"), (tooMany, "giftQuantity")] {
                #expect(response.status == .unprocessableEntity, "\(response.body.string)")
                #expect(response.error?.details.map(\.field).contains(field) == true, "\(response.body.string)")
            }
            #expect(byOperator.body.string.contains("满赠活动由店铺创建"))
            #expect(try await PromotionActivity.query(on: t.app.db).count() == 0)
        }
    }
}
