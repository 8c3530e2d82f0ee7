import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct PromotionTests {
    static func window(_ t: TestContext, days: Double = 7) -> (String, String) {
        let formatter = ISO8601DateFormatter()
        let now = t.clock.now()
        return (formatter.string(from: now.addingTimeInterval(-60)), formatter.string(from: now.addingTimeInterval(days * 86_400)))
    }

    /// The platform's 满199减20 / 满299减40 over the whole mall.
    static func fullReductionJSON(_ t: TestContext, extra: String = "") -> String {
        let (start, end) = window(t)
        return #"{"name":"平台满减","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","tiers":[{"thresholdFen":19900,"amountOffFen":2000},{"thresholdFen":29900,"amountOffFen":4000}]\#(extra)}"#
    }

    static func limitedTimeJSON(_ t: TestContext, sku: UUID, priceFen: Int64, limit: Int64) -> String {
        let (start, end) = window(t)
        return #"{"name":"奶粉限时价","kind":"limited_time","startsAt":"\#(start)","endsAt":"\#(end)","skus":[{"skuId":"\#(sku)","priceFen":\#(priceFen)}],"perMemberLimit":\#(limit)}"#
    }

    static func create(_ t: TestContext, _ json: String, token: String, path: String = "/api/v1/admin/promotions") async throws -> PromotionDTO {
        let response = try await t.postJSON(path, json, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(PromotionDTO.self)
    }

    static func pay(_ t: TestContext, _ result: CheckoutResultDTO, token: String) async throws {
        let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: token)
        #expect(paid.status == .ok, "\(paid.body.string)")
    }

    @Test func aFullReductionTierAndAShopCouponAreEachSplitPerLineToTheFen() async throws {
        try await withMallApp { t in
            // setup: ¥198 of milk from shop A (¥13 shipping), ¥50 of cream from shop B; the platform's
            // 满199减20 / 满299减40 and shop A's 满100减10 coupon
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.create(t, Self.fullReductionJSON(t), token: s.f.operatorToken)
            #expect(activity.owner == "platform")
            #expect(activity.paysCommission)
            #expect(activity.summary == "满199减20 / 满299减40")
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"甲店满100减10","kind":"full_reduction","thresholdFen":10000,"amountOffFen":1000,"validDays":7}"#,
                                                          token: s.f.shopAToken, path: "/api/v1/merchant/coupons")
            let held = try await CouponTests.claim(t, coupon.id, token: s.buyer)

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: [held.id]), token: s.buyer)
                .content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", CouponTests.checkoutJSON(s, coupons: [held.id]), token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await Self.pay(t, result, token: s.buyer)

            // check: ¥20 over ¥248 (1 597 + 403), then the shop's ¥10 on its ¥182.03 left
            #expect(preview.coupons.savings.map(\.source) == ["full_reduction", "coupon"])
            #expect(preview.coupons.savings.map(\.label) == ["平台满减 满199减20", "甲店满100减10"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [2_000, 1_000])
            #expect(preview.total.fen == 23_100)
            #expect(result.payment.amount.fen == 23_100)
            let payables: [Int64] = [18_503, 4_597]
            #expect(result.orders.map(\.payable.fen) == payables)
            let lines = try await OrderLine.query(on: t.app.db).sort(\.$lineAmount, .descending).all()
            #expect(lines.map(\.paidAmount) == [17_203, 4_597])
            #expect(lines.map(\.discountAmount) == [2_597, 403])
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            let reductions = shares.filter { $0.sourceKind == "full_reduction" }.sorted { $0.amount > $1.amount }
            #expect(reductions.map(\.amount) == [1_597, 403])
            #expect(reductions.allSatisfy { $0.payer == "platform" && $0.sourceID == activity.id.uuidString.lowercased() && $0.paysCommission })
            let lineIDs = try lines.map { try $0.requireID() }
            #expect(reductions.map(\.orderLineID) == lineIDs)
            let couponShares = shares.filter { $0.sourceKind == "coupon" }
            #expect(couponShares.map(\.amount) == [1_000])
            #expect(couponShares.allSatisfy { $0.payer == "merchant" && $0.payerMerchantID == s.f.shopA && $0.orderLineID == lines[0].id })
            // The platform bears the ¥20, shop A its ¥10: its receivable is what was paid plus the platform's part, less its fee.
            let ledger = CouponTests.ledger(t)
            let rate = try #require(try await Merchant.find(s.f.shopA, on: t.app.db)).serviceRateBP
            let feeA = try Money(fen: 17_203).applying(BasisPoints(rate))
            let pendingA: Int64 = 17_203 + 1_300 + 1_597
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == pendingA - feeA.fen)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 2_000)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aLimitedTimePriceHoldsForTheMemberLimitAndLaterUnitsPayTheNormalPrice() async throws {
        try await withMallApp { t in
            // setup: shop A sells milk at ¥89 instead of ¥99, two per member
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            let sku = s.milk.skus[0].id
            let offer = try await Self.create(t, Self.limitedTimeJSON(t, sku: sku, priceFen: 8_900, limit: 2), token: s.f.shopAToken,
                                              path: "/api/v1/merchant/promotions")
            #expect(offer.owner == "merchant")
            #expect(offer.paysCommission)
            func buy(_ quantity: Int64) async throws -> CheckoutResultDTO {
                let json = #"{"items":[{"skuId":"\#(sku)","quantity":\#(quantity)}],"addressId":"\#(s.address)","couponIds":[]}"#
                let placed = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
                #expect(placed.status == .created, "\(placed.body.string)")
                let result = try placed.content.decode(CheckoutResultDTO.self)
                try await Self.pay(t, result, token: s.buyer)
                return result
            }

            // act: three units, then one more
            let first = try await buy(3)
            let second = try await buy(1)

            // check: two at ¥89 and one at ¥99 (+ ¥18 shipping); then ¥99 (+ ¥8)
            #expect(first.payment.amount.fen == 29_500)
            #expect(second.payment.amount.fen == 10_700)
            let firstLine = try #require(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == first.orders[0].id).first())
            #expect(firstLine.discountAmount == 2_000)
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.map(\.amount) == [2_000])
            #expect(shares.allSatisfy { $0.sourceKind == "limited_time" && $0.payer == "merchant" && $0.payerMerchantID == s.f.shopA })
            #expect(shares.first?.sourceID == "\(offer.id.uuidString.lowercased())/\(sku.uuidString.lowercased())")
            #expect(try await PromotionPurchase.query(on: t.app.db).all().map(\.units) == [2])
            // The shop bears its markdown: nothing from marketing_cost.
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await CouponTests.ledger(t).verify().ok)
            // Another member still gets the price.
            let other = try await t.quickMember("13600000055")
            let otherAddress = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: other).content.decode(AddressDTO.self)
            let preview = try await t.postJSON("/api/v1/checkout/preview",
                                               #"{"items":[{"skuId":"\#(sku)","quantity":1}],"addressId":"\#(otherAddress.id)","couponIds":[]}"#, token: other)
                .content.decode(CheckoutPreviewDTO.self)
            #expect(preview.coupons.savings.map(\.amount.fen) == [1_000])
            #expect(preview.coupons.savings.map(\.source) == ["limited_time"])
        }
    }

    @Test func aPausedOrStoppedActivityNoLongerApplies() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.create(t, Self.fullReductionJSON(t), token: s.f.operatorToken)
            func savings() async throws -> [Int64] {
                try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer)
                    .content.decode(CheckoutPreviewDTO.self).coupons.savings.map(\.amount.fen)
            }
            #expect(try await savings() == [2_000])
            #expect(try await t.get("/api/v1/promotions").content.decode([PromotionDTO].self).map(\.id) == [activity.id])

            #expect(try await t.postJSON("/api/v1/admin/promotions/\(activity.id)/pause", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await savings().isEmpty)
            #expect(try await t.get("/api/v1/promotions").content.decode([PromotionDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/admin/promotions/\(activity.id)/resume", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await savings() == [2_000])
            #expect(try await t.postJSON("/api/v1/admin/promotions/\(activity.id)/stop", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await savings().isEmpty)
            let resumed = try await t.postJSON("/api/v1/admin/promotions/\(activity.id)/resume", "{}", token: s.f.operatorToken)
            #expect(resumed.status == .conflict)
            #expect(resumed.error?.code == "promotion.stopped")
            // Past its end it applies no more either.
            let other = try await Self.create(t, Self.fullReductionJSON(t), token: s.f.operatorToken)
            #expect(try await savings() == [2_000])
            t.clock.advance(seconds: 8 * 86_400)
            let buyer = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            let later = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: buyer)
                .content.decode(CheckoutPreviewDTO.self)
            #expect(later.coupons.savings.isEmpty)
            #expect(try await PromotionActivity.find(other.id, on: t.app.db)?.status == "active")
        }
    }

    @Test func aShopCannotRunAPromotionOnAnotherShopsProducts() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let (start, end) = Self.window(t)
            let onCream = #"{"name":"越界","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","scope":"products","productIds":["\#(s.cream.id)"],"tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#
            let refused = try await t.postJSON("/api/v1/merchant/promotions", onCream, token: s.f.shopAToken)
            #expect(refused.status == .unprocessableEntity, "\(refused.body.string)")
            #expect(refused.body.string.contains("只能选择本店的商品"))
            let priced = try await t.postJSON("/api/v1/merchant/promotions", Self.limitedTimeJSON(t, sku: s.cream.skus[0].id, priceFen: 100, limit: 1),
                                              token: s.f.shopAToken)
            #expect(priced.status == .unprocessableEntity, "\(priced.body.string)")
            let otherShop = #"{"name":"越界","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","scope":"merchant","merchantId":"\#(UUID())","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#
            #expect(try await t.postJSON("/api/v1/merchant/promotions", otherShop, token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await PromotionActivity.query(on: t.app.db).count() == 0)

            // Its own: allowed, paid by it, covering only its lines; shop B neither sees nor stops it.
            let own = #"{"name":"甲店满减","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","tiers":[{"thresholdFen":10000,"amountOffFen":1000}]}"#
            let mine = try await Self.create(t, own, token: s.f.shopAToken, path: "/api/v1/merchant/promotions")
            #expect(mine.owner == "merchant")
            #expect(mine.scope == "merchant")
            #expect(try await t.get("/api/v1/merchant/promotions", token: s.f.shopBToken).content.decode([PromotionDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/promotions/\(mine.id)/stop", "{}", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.postJSON("/api/v1/admin/promotions", own, token: s.f.shopAToken).status == .forbidden)
            let preview = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer)
                .content.decode(CheckoutPreviewDTO.self)
            #expect(preview.coupons.savings.map(\.amount.fen) == [1_000])
            let payables: [Int64] = [20_100, 5_000]
            #expect(preview.orders.map(\.payable.fen) == payables)
            #expect(try await t.postJSON("/api/v1/merchant/promotions/\(mine.id)/pause", "{}", token: s.f.shopAToken).status == .ok)
        }
    }

    @Test func simultaneousCheckoutsOfOneMemberNeverTakeMoreThanTheLimitAtTheOfferPrice() async throws {
        try await withMallApp { t in
            // setup: milk at ¥89 instead of ¥99, two per member
            let s = try await OrderFlowTests.shop(t)
            let sku = s.milk.skus[0].id
            _ = try await Self.create(t, Self.limitedTimeJSON(t, sku: sku, priceFen: 8_900, limit: 2), token: s.f.shopAToken,
                                      path: "/api/v1/merchant/promotions")
            let json = #"{"items":[{"skuId":"\#(sku)","quantity":2}],"addressId":"\#(s.address)","couponIds":[]}"#

            // act: six checkouts of two units each at once
            let statuses = try await withThrowingTaskGroup(of: (UInt, String).self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let response = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
                        return (response.status.code, response.body.string)
                    }
                }
                return try await group.reduce(into: [(UInt, String)]()) { $0.append($1) }
            }

            // check: only two units were ever at ¥89; a checkout that lost the race was told so and wrote nothing
            #expect(statuses.allSatisfy { code, body in code == 201 || (code == 409 && body.contains("每人限购 2 件")) }, "\(statuses)")
            let codes = statuses.map(\.0)
            let placed = codes.filter { $0 == 201 }.count
            #expect(placed >= 1)
            #expect(try await PromotionPurchase.query(on: t.app.db).all().map(\.units) == [2])
            let discounted = try await OrderLine.query(on: t.app.db).all().filter { $0.discountAmount > 0 }
            #expect(discounted.map(\.discountAmount) == [2_000])
            let orders = try await Order.query(on: t.app.db).all()
            #expect(orders.count == placed)
            #expect(try await Payment.query(on: t.app.db).count() == placed)
        }
    }

    @Test func aRefundReversesAShopsLimitedTimeMarkdownWithoutTouchingThePlatformsCost() async throws {
        try await withMallApp { t in
            // setup: two milk units at ¥89 (¥10 off each, paid by shop A)
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let sku = s.milk.skus[0].id
            _ = try await Self.create(t, Self.limitedTimeJSON(t, sku: sku, priceFen: 8_900, limit: 2), token: s.f.shopAToken,
                                      path: "/api/v1/merchant/promotions")
            let json = #"{"items":[{"skuId":"\#(sku)","quantity":2}],"addressId":"\#(s.address)","couponIds":[]}"#
            let result = try await t.postJSON("/api/v1/checkout", json, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await Self.pay(t, result, token: s.buyer)

            // act: one unit back
            let order = try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)
            let sale = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                            #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: s.buyer)
                .content.decode(AfterSaleDTO.self)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken)
            #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded", "\(done.body.string)")

            // check: half the shop's ¥20 markdown is reversed; the platform paid nothing and takes nothing back
            let line = try #require(try await OrderLine.find(order.lines[0].id, on: t.app.db))
            #expect(line.refundedAmount == 8_900)
            let rows = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(rows.map(\.amount) == [2_000])
            #expect(rows.map(\.reversedAmount) == [1_000])
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func aRefundReversesThePlatformsPromotionShareInProportion() async throws {
        try await withMallApp { t in
            // setup: paid with the platform's ¥20 off
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            _ = try await Self.create(t, Self.fullReductionJSON(t), token: s.f.operatorToken)
            let result = try await t.postJSON("/api/v1/checkout", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await Self.pay(t, result, token: s.buyer)

            // act: one of the two milk units back
            let order = try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)
            let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                 #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: s.buyer)
            #expect(requested.status == .created, "\(requested.body.string)")
            let sale = try requested.content.decode(AfterSaleDTO.self)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken)
            #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded", "\(done.body.string)")

            // check: the milk line's ¥15.97 is reversed by the share refunded of the ¥182.03 paid
            let line = try #require(try await OrderLine.find(order.lines[0].id, on: t.app.db))
            #expect(line.paidAmount == 18_203)
            #expect(line.refundedAmount > 0)
            let expected = 1_597 * line.refundedAmount / 18_203
            let rows = try await OrderLineDiscount.query(on: t.app.db).filter(\.$orderLineID == order.lines[0].id).all()
            #expect(rows.map(\.reversedAmount) == [expected])
            #expect(expected > 0 && expected < 1_597)
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 2_000 - expected)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func thePagesShowTheBadgesAndTheCheckoutShowsEachSaving() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let reduction = try await Self.create(t, Self.fullReductionJSON(t), token: s.f.operatorToken)
            _ = try await Self.create(t, Self.limitedTimeJSON(t, sku: s.cream.skus[0].id, priceFen: 4_500, limit: 1), token: s.f.operatorToken)
            let milkPage = try await t.get("/products/\(s.milk.id)").body.string
            #expect(milkPage.contains("promotion-badges"))
            #expect(milkPage.contains("满199减20 / 满299减40"))
            #expect(!milkPage.contains("限时价"))
            let creamPage = try await t.get("/products/\(s.cream.id)").body.string
            #expect(creamPage.contains("限时价 ¥45.00"), "\(creamPage)")
            #expect(creamPage.contains("结束"))

            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let html = try await client.get("/checkout?sku=\(s.milk.skus[0].id)&qty=3").body.string
            // ¥297 ≥ ¥199: ¥20 off; ¥297 + ¥18 shipping − ¥20
            #expect(html.contains("满减 平台满减 满199减20"), "\(html)")
            #expect(html.contains("-¥20.00"))
            #expect(html.contains("¥295.00"))

            // act: the same three are bought; then the activity is renamed
            let placed = try await t.postJSON("/api/v1/checkout", #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":3}],"addressId":"\#(s.address)"}"#,
                                              token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let order = try placed.content.decode(CheckoutResultDTO.self).orders[0]
            let renamed = try await t.send(.PUT, "/api/v1/admin/promotions/\(reduction.id)", Self.fullReductionJSON(t).replacingOccurrences(of: "平台满减", with: "双旦满减"),
                                           token: s.f.operatorToken)
            #expect(renamed.status == .ok, "\(renamed.body.string)")

            // check: the order page lists the saving as the checkout named it, to the fen
            let orderPage = try await client.get("/orders/\(order.id)").body.string
            #expect(orderPage.contains(#"<ul class="plain small" id="order-savings"><li>满减 平台满减 满199减20 -¥20.00</li></ul>"#), "\(orderPage)")
            #expect(orderPage.contains("¥295.00") && !orderPage.contains("双旦满减"))
        }
    }

    @Test func hostileInputsAreRefusedWithFourHundredsAndChangeNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let boss = s.f.operatorToken
            let (start, end) = Self.window(t)
            let when = #""startsAt":"\#(start)","endsAt":"\#(end)""#
            let long = String(repeating: "满", count: 41)
            let tooMany = (0..<6).map { #"{"thresholdFen":\#(($0 + 1) * 1000),"amountOffFen":\#($0 + 1)}"# }.joined(separator: ",")
            let bad: [(String, HTTPStatus)] = [
                (#"{"name":"\#(long)","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"mystery",\#(when),"tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[\#(tooMany)]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":9223372036854775807,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":100,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":1000,"amountOffFen":-1}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":1000,"payRateBp":10000}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":1000,"amountOffFen":100,"payRateBp":9000}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":2000,"amountOffFen":200},{"thresholdFen":1000,"amountOffFen":300}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":1000,"amountOffFen":100},{"thresholdFen":2000,"payRateBp":9000}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction","startsAt":"\#(end)","endsAt":"\#(start)","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction","startsAt":"yesterday","endsAt":"\#(end)","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction","startsAt":"\#(start)","endsAt":"9999-01-01T00:00:00Z","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"scope":"products","productIds":["\#(UUID())"],"tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"scope":"products","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"scope":"galaxy","tiers":[{"thresholdFen":1000,"amountOffFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[{"skuId":"\#(UUID())","priceFen":100}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[{"skuId":"\#(s.milk.skus[0].id)","priceFen":9900}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[{"skuId":"\#(s.milk.skus[0].id)","priceFen":-1}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[{"skuId":"\#(s.milk.skus[0].id)","priceFen":100}],"perMemberLimit":0}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[{"skuId":"\#(s.milk.skus[0].id)","priceFen":100},{"skuId":"\#(s.milk.skus[0].id)","priceFen":200}]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"limited_time",\#(when),"skus":[]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction",\#(when),"tiers":[{"thresholdFen":99999999999999999999,"amountOffFen":100}]}"#, .badRequest),
                (#"{"name":"x"}"#, .badRequest),
                ("[]", .badRequest),
            ]
            for (json, status) in bad {
                let response = try await t.postJSON("/api/v1/admin/promotions", json, token: boss)
                #expect(response.status == status, "\(json) → \(response.body.string)")
                #expect(response.error?.message.isEmpty == false)
            }
            #expect(try await t.postJSON("/api/v1/admin/promotions", Self.fullReductionJSON(t), token: s.buyer).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/admin/promotions", Self.fullReductionJSON(t)).status == .unauthorized)
            #expect(try await PromotionActivity.query(on: t.app.db).count() == 0)
            #expect(try await t.postJSON("/api/v1/admin/promotions/not-a-uuid/pause", "{}", token: boss).status == .notFound)
            #expect(try await t.postJSON("/api/v1/admin/promotions/\(UUID())/stop", "{}", token: boss).status == .notFound)
            #expect(try await t.get("/api/v1/admin/promotions", token: s.buyer).status == .forbidden)
        }
    }
}
