import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

/// The member level at checkout with the demo ladder: silver (growth 1 000) pays 98折, gold
/// (growth 5 000) 95折 with free shipping; the platform pays the shop for both.
@Suite struct MemberLevelCheckoutTests {
    /// Puts the member at a growth value (and so a level of `MembersConfig()`).
    static func setGrowth(_ t: TestContext, phone: String = "13600000001", _ growth: Int64) async throws {
        let member = try await t.memberID(phone: phone)
        try await PointsService(db: t.app.db, now: t.clock.now()).ensureAccount(member)
        try await sqlDatabase(t.app.db).raw("UPDATE member_points SET growth = \(bind: growth) WHERE id = \(bind: member)").run()
    }

    static func milkJSON(_ s: OrderFlowTests.Shop, quantity: Int = 2) -> String {
        #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":\#(quantity)}],"addressId":"\#(s.address)","couponIds":[]}"#
    }

    static func refundOneUnit(_ t: TestContext, _ s: OrderFlowTests.Shop, orderID: UUID, units: Int = 1) async throws -> OrderDTO {
        let order = try await t.get("/api/v1/me/orders/\(orderID)", token: s.buyer).content.decode(OrderDTO.self)
        let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                             #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":\#(units),"reason":"不想要了"}"#, token: s.buyer)
        #expect(requested.status == .created, "\(requested.body.string)")
        let sale = try requested.content.decode(AfterSaleDTO.self)
        let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken)
        #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded", "\(done.body.string)")
        return order
    }

    @Test func silverMembersDiscountComesBeforeFullReductionThenCouponThenPointsAndARefundReversesItsShare() async throws {
        try await withMallApp { t in
            // setup: a silver member with 3 000 points; the platform's 满199减20 / 满245减30 and a 满200减15 platform coupon
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            try await Self.setGrowth(t, 1_000)
            let member = try await t.memberID(phone: "13600000001")
            _ = try await PointsService(db: t.app.db, now: t.clock.now()).earn(member, points: 3_000, reason: .adjustment, ref: "test", expiry: .never)
            let (start, end) = PromotionTests.window(t)
            _ = try await PromotionTests.create(t, #"{"name":"平台满减","kind":"full_reduction","startsAt":"\#(start)","endsAt":"\#(end)","tiers":[{"thresholdFen":19900,"amountOffFen":2000},{"thresholdFen":24500,"amountOffFen":3000}]}"#,
                                                token: s.f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"平台满200减15","kind":"full_reduction","thresholdFen":20000,"amountOffFen":1500,"validDays":7}"#,
                                                          token: s.f.operatorToken)
            let held = try await CouponTests.claim(t, coupon.id, token: s.buyer)
            let json = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2},{"skuId":"\#(s.cream.skus[0].id)","quantity":1}],"addressId":"\#(s.address)","couponIds":["\#(held.id)"],"points":3000}"#

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", json, token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: 98折 per line: ¥198 → ¥194.04 (¥3.96 off), ¥50 → ¥49 (¥1 off); ¥243.04 is below ¥245,
            // so 满199减20 (¥15.97 + ¥4.03); the coupon's ¥200 is met by ¥223.04: ¥15 (¥11.98 + ¥3.02);
            // 3 000 points pay ¥30 (¥23.95 + ¥6.05); ¥13 shipping for shop A
            #expect(preview.coupons.savings.map(\.source) == ["member", "full_reduction", "coupon", "points"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [496, 2_000, 1_500, 3_000])
            #expect(preview.coupons.savings[0].label == "会员折扣（白银会员 98折）")
            let dto = try #require(preview.member)
            #expect(dto.levelId == "silver" && dto.discountBP == 9_800 && dto.discount.fen == 496)
            #expect(!dto.freeShipping && dto.shippingWaived.fen == 0)
            #expect(preview.orders.map(\.shippingFee.fen) == [1_300, 0])
            #expect(preview.total.fen == 24_800 - 496 - 2_000 - 1_500 - 3_000 + 1_300)
            #expect(result.payment.amount.fen == 19_104)
            let milkLine = try #require(try await OrderLine.query(on: t.app.db).filter(\.$skuID == s.milk.skus[0].id).first())
            let creamLine = try #require(try await OrderLine.query(on: t.app.db).filter(\.$skuID == s.cream.skus[0].id).first())
            func parts(_ line: OrderLine) async throws -> [String: Int64] {
                let rows = try await OrderLineDiscount.query(on: t.app.db).filter(\.$orderLineID == line.requireID()).all()
                return Dictionary(rows.map { ($0.sourceKind, $0.amount) }, uniquingKeysWith: +)
            }
            #expect(try await parts(milkLine) == ["member": 396, "full_reduction": 1_597, "coupon": 1_198, "points": 2_395])
            #expect(try await parts(creamLine) == ["member": 100, "full_reduction": 403, "coupon": 302, "points": 605])
            #expect(milkLine.paidAmount == 14_214 && creamLine.paidAmount == 3_590)
            let memberRows = try await OrderLineDiscount.query(on: t.app.db).filter(\.$sourceKind == "member").all()
            #expect(memberRows.allSatisfy { $0.payer == "platform" && $0.sourceID == "silver" && $0.paysCommission })
            // the platform pays the shops every platform saving
            let ledger = CouponTests.ledger(t)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 496 + 2_000 + 1_500 + 3_000)

            // act: one of the two milk units back
            let order = try await Self.refundOneUnit(t, s, orderID: milkLine.$order.id)

            // check: half the line's paid ¥142.14 goes back, and half of each of its savings: the member's ¥3.96 → ¥1.98
            let refunded = try #require(try await OrderLine.find(order.lines[0].id, on: t.app.db))
            #expect(refunded.refundedAmount == 7_107)
            let rows = try await OrderLineDiscount.query(on: t.app.db).filter(\.$orderLineID == refunded.requireID()).all()
            let reversed = Dictionary(rows.map { ($0.sourceKind, $0.reversedAmount) }, uniquingKeysWith: +)
            #expect(reversed["member"] == 198)
            #expect(reversed["coupon"] == 599)
            #expect(rows.allSatisfy { $0.reversedAmount <= $0.amount })
            let back = rows.reduce(0) { $0 + $1.reversedAmount }
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 6_996 - back)
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000 - 19_104 + 7_107)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aLineAtALimitedTimePriceGetsNoMemberDiscount() async throws {
        try await withMallApp { t in
            // setup: silver; milk at ¥89 for the time being
            let s = try await OrderFlowTests.shop(t)
            try await Self.setGrowth(t, 1_000)
            _ = try await PromotionTests.create(t, PromotionTests.limitedTimeJSON(t, sku: s.milk.skus[0].id, priceFen: 8_900, limit: 2),
                                                token: s.f.shopAToken, path: "/api/v1/merchant/promotions")

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer)
                .content.decode(CheckoutPreviewDTO.self)

            // check: the milk keeps its ¥89 (¥20 off two), the cream gets 98折 (¥1 off)
            #expect(preview.coupons.savings.map(\.source) == ["limited_time", "member"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [2_000, 100])
            #expect(preview.orders.flatMap(\.lines).map(\.paid.fen) == [17_800, 4_900])
            #expect(preview.member?.discount.fen == 100)
        }
    }

    @Test func aGoldMemberPaysNoShippingAndThePlatformPaysTheShopItsFee() async throws {
        try await withMallApp { t in
            // setup: gold (95折, free shipping)
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            try await Self.setGrowth(t, 5_000)

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s), token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let html = try await client.get("/checkout?sku=\(s.milk.skus[0].id)&qty=2&address=\(s.address)").body.string
            let productPage = try await client.get("/products/\(s.milk.id)").body.string
            let anonymous = try await t.get("/products/\(s.milk.id)").body.string
            let placed = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s), token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            // the shop cannot charge the buyer the shipping the platform pays it
            let recharged = try await t.postJSON("/api/v1/merchant/orders/\(result.orders[0].id)/price", #"{"shippingFeeFen":1300}"#, token: s.f.shopAToken)
            #expect(recharged.status == .unprocessableEntity, "\(recharged.body.string)")
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: ¥198 at 95折 is ¥188.10; the ¥13 shipping is waived
            #expect(preview.orders.map(\.shippingFee.fen) == [0])
            #expect(preview.shippingFee.fen == 0)
            #expect(preview.total.fen == 18_810)
            #expect(preview.coupons.savings.map(\.label) == ["会员折扣（黄金会员 95折）", "会员包邮"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [990, 1_300])
            let dto = try #require(preview.member)
            #expect(dto.freeShipping && dto.shippingWaived.fen == 1_300 && dto.shippingLabel == "会员包邮")
            #expect(html.contains("会员包邮"), "\(html)")
            #expect(html.contains("会员折扣（黄金会员 95折）"))
            #expect(html.contains("-¥9.90"))
            #expect(html.contains("¥0.00"))
            #expect(productPage.contains("会员价"), "\(productPage)")
            #expect(productPage.contains("¥94.05（黄金会员 95折）"))
            #expect(!anonymous.contains("黄金会员 95折"))
            #expect(result.payment.amount.fen == 18_810)
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.shippingFee == 0 && order.payable == 18_810)
            // the shop gets the full ¥198 and its ¥13 shipping less its service fee; the platform pays ¥9.90 + ¥13
            let ledger = CouponTests.ledger(t)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 2_290)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 19_800 + 1_300 - order.serviceFee)

            // act: both units back before shipping: the whole order is undone
            _ = try await Self.refundOneUnit(t, s, orderID: order.requireID(), units: 2)

            // check: the platform takes the discount and the shipping back; nobody is owed anything
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            let member = try await t.memberID(phone: "13600000001")
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func aRegularMemberSeesNoMemberDiscount() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            try await Self.setGrowth(t, 999)
            let preview = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer)
                .content.decode(CheckoutPreviewDTO.self)
            #expect(preview.member == nil)
            #expect(preview.coupons.savings.isEmpty)
            #expect(preview.total.fen == 19_800 + 1_300 + 5_000)
            let raw = try await t.postJSON("/api/v1/checkout/preview", CouponTests.checkoutJSON(s, coupons: []), token: s.buyer).body.string
            #expect(!raw.contains("\"member\""))
        }
    }
}
