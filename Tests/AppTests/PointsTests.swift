import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct PointsTests {
    /// 100 points = ¥1 at most half the goods; sign-in pays `signIn`; two levels: silver from 100 growth at 2 points per yuan.
    static func settingsJSON(signIn: Int64 = 5_000, expiry: String = "year_end", months: Int = 12, firstDiscountBP: Int = 10_000,
                             firstGrowth: Int64 = 0) -> String {
        #"{"levels":[{"id":"regular","name":"普通会员","minimumGrowth":\#(firstGrowth),"discountBP":\#(firstDiscountBP),"pointsPerYuan":1,"perks":[]},{"id":"silver","name":"白银会员","minimumGrowth":100,"discountBP":10000,"pointsPerYuan":2,"perks":["birthday_coupon"]}],"growthPerYuan":1,"points":{"points":100,"fen":100,"maxShareBP":5000,"signIn":\#(signIn),"review":10,"reviewWithPhotos":20,"expiry":"\#(expiry)","expiryMonths":\#(months)}}"#
    }

    static func setUp(_ t: TestContext, expiry: String = "year_end", months: Int = 12) async throws -> OrderFlowTests.Shop {
        let s = try await OrderFlowTests.shop(t)
        let saved = try await t.send(.PUT, "/api/v1/admin/members/settings", settingsJSON(expiry: expiry, months: months), token: s.f.operatorToken)
        #expect(saved.status == .ok, "\(saved.body.string)")
        try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
        return s
    }

    static func signIn(_ t: TestContext, _ token: String) async throws -> TestingHTTPResponse {
        try await t.postJSON("/api/v1/me/points/sign-in", "{}", token: token)
    }

    static func milkJSON(_ s: OrderFlowTests.Shop, quantity: Int = 1, points: Int64) -> String {
        #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":\#(quantity)}],"addressId":"\#(s.address)","couponIds":[],"points":\#(points)}"#
    }

    /// The stored balance, and the lots' remaining points, which must agree.
    static func balances(_ t: TestContext) async throws -> (account: Int64, lots: Int64) {
        let member = try await t.memberID(phone: "13600000001")
        let account = try await MemberPointsAccount.find(member, on: t.app.db)?.balance ?? 0
        let lots = try await PointLotRecord.query(on: t.app.db).filter(\.$memberID == member).all().reduce(0) { $0 + $1.remaining }
        return (account, lots)
    }

    @Test func aDailySignInEarnsOnceAndCheckoutSpendsPointsUpToHalfTheGoods() async throws {
        try await withMallApp { t in
            // setup: 5 000 points from today's sign-in
            let s = try await Self.setUp(t)
            let first = try await Self.signIn(t, s.buyer)
            #expect(try first.content.decode(SignInResultDTO.self).awarded == 5_000, "\(first.body.string)")
            let again = try await Self.signIn(t, s.buyer)
            #expect(again.status == .conflict)
            #expect(again.body.string.contains("今天已经签到过了"))
            #expect(try await Self.balances(t) == (5_000, 5_000))

            // act: a minute later, one ¥99 milk, asking for all 5 000 points
            t.clock.advance(seconds: 60)
            let preview = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s, points: 5_000), token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, points: 5_000), token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: at most ¥49.50 of the ¥99 in whole ¥1 steps: 4 900 points pay ¥49; ¥50 + ¥8 shipping left to pay
            #expect(preview.points.balance == 5_000)
            #expect(preview.points.usable == 4_900)
            #expect(preview.points.used == 4_900)
            #expect(preview.points.value.fen == 4_900)
            #expect(preview.coupons.savings.map(\.source) == ["points"])
            #expect(preview.total.fen == 5_800)
            #expect(result.payment.amount.fen == 5_800)
            #expect(try await Self.balances(t) == (100, 100))
            let rows = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(rows.map(\.amount) == [4_900])
            #expect(rows.allSatisfy { $0.sourceKind == "points" && $0.payer == "platform" })
            // The platform pays the shop for the points: the shop is not short of the ¥49.
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 4_900)
            #expect(try await CouponTests.ledger(t).verify().ok)
            let mine = try await t.get("/api/v1/me/points", token: s.buyer).content.decode(MemberPointsDTO.self)
            #expect(mine.points == 100)
            #expect(mine.signedInToday)
            #expect(mine.movements.map(\.delta) == [-4_900, 5_000])
            #expect(mine.movements.map(\.reasonText) == ["下单抵扣", "每日签到"])

            // A new China day: one more sign-in.
            t.clock.advance(seconds: 86_400)
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            #expect(try await Self.signIn(t, token).status == .ok)
            #expect(try await Self.balances(t) == (5_100, 5_100))
        }
    }

    @Test func fiveSignInsAtOnceEarnOnce() async throws {
        try await withMallApp { t in
            let s = try await Self.setUp(t)
            let codes = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<5 { group.addTask { try await Self.signIn(t, s.buyer).status.code } }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            #expect(codes.sorted() == [200, 409, 409, 409, 409])
            #expect(try await Self.balances(t) == (5_000, 5_000))
        }
    }

    @Test func twoCheckoutsAtOnceNeverSpendMorePointsThanTheMemberHolds() async throws {
        try await withMallApp { t in
            // setup: 5 000 points
            let s = try await Self.setUp(t)
            _ = try await Self.signIn(t, s.buyer)

            // act: four checkouts at once, each asking for 4 900 points
            let codes = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, points: 4_900), token: s.buyer).status.code }
                }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }

            // check: whatever order they ran in, the points spent are what the orders saved, never more than 5 000
            #expect(codes.allSatisfy { $0 == 201 || $0 == 409 }, "\(codes)")
            let saved = try await OrderLineDiscount.query(on: t.app.db).filter(\.$sourceKind == "points").all().reduce(0) { $0 + $1.amount }
            let (account, lots) = try await Self.balances(t)
            #expect(account == lots)
            #expect(account >= 0)
            #expect(saved == 5_000 - account)
            #expect(saved >= 4_900)
        }
    }

    @Test func cancellingGivesThePointsBackAndARefundGivesBackItsShare() async throws {
        try await withMallApp { t in
            // setup: 5 000 points; two ¥99 milks using all of them (¥50 off ¥198)
            let s = try await Self.setUp(t)
            _ = try await Self.signIn(t, s.buyer)
            let unpaid = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, points: 5_000), token: s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await Self.balances(t) == (0, 0))

            // act: cancelled before paying
            #expect(try await t.postJSON("/api/v1/me/orders/\(unpaid.orders[0].id)/cancel", "{}", token: s.buyer).status == .ok)

            // check: all back
            #expect(try await Self.balances(t) == (5_000, 5_000))

            // act: bought again and paid, then one of the two milks refunded
            let result = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, points: 5_000), token: s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(result.payment.amount.fen == 19_800 - 5_000 + 1_300)
            try await PromotionTests.pay(t, result, token: s.buyer)
            let order = try await t.get("/api/v1/me/orders/\(result.orders[0].id)", token: s.buyer).content.decode(OrderDTO.self)
            let sale = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                            #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: s.buyer)
                .content.decode(AfterSaleDTO.self)
            let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: s.f.shopAToken)
            #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded", "\(done.body.string)")

            // check: half the ¥50 reversed, so half the points back; the platform takes back its ¥25 from the shop
            let rows = try await OrderLineDiscount.query(on: t.app.db).filter(\.$orderID == order.id).all()
            #expect(rows.map(\.reversedAmount) == [2_500])
            #expect(try await Self.balances(t) == (2_500, 2_500))
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 2_500)
            #expect(try await CouponTests.ledger(t).verify().ok)
            let reasons = try await PointMovementRecord.query(on: t.app.db).all().map(\.reason)
            #expect(reasons.filter { $0 == "refund_return" }.count == 2)
        }
    }

    @Test func aCompletedOrderEarnsPointsAtTheLevelRateAndItsGrowthRaisesTheLevel() async throws {
        try await withMallApp { t in
            // setup: two ¥99 milks paid (¥211 with shipping), delivered
            let s = try await Self.setUp(t)
            let result = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, points: 0), token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)
            try await ReviewTests.receive(t, order: result.orders[0].id, shop: s.f.shopAToken, buyer: s.buyer, number: "SF1001")

            // act: the after-sales window passes and the order completes
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)

            // check: 211 points at the regular rate; growth 211 reaches silver
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            let mine = try await t.get("/api/v1/me/points", token: token).content.decode(MemberPointsDTO.self)
            #expect(mine.points == 211)
            #expect(mine.growth == 211)
            #expect(mine.level.name == "白银会员")
            #expect(mine.nextLevel == nil)
            #expect(mine.movements.map(\.reasonText) == ["订单完成"])
            // The outbox runs once per message: a second run adds nothing.
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.balances(t) == (211, 211))

            // A review earns 10 more.
            let review = try await t.postJSON("/api/v1/me/orders/\(result.orders[0].id)/reviews",
                                              #"{"lineId":"\#(result.orders[0].lines[0].id)","stars":5,"text":"很好喝"}"#, token: token)
            #expect(review.status == .created, "\(review.body.string)")
            #expect(try await Self.balances(t) == (221, 221))
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let page = try await client.get("/me/points")
            #expect(page.body.string.contains("白银会员"))
            #expect(page.body.string.contains("221"))
            #expect(page.body.string.contains("评价奖励"))
            // Signing in from the page: once, then the page says so.
            _ = try await client.post("/me/points/sign-in", form: [:])
            #expect(try await client.get("/me/points").body.string.contains("今日已签到"))
            #expect(try await Self.balances(t) == (5_221, 5_221))
        }
    }

    @Test func aRefundAfterCompletionTakesBackItsShareAndTheOperatorAdjustsWithAReason() async throws {
        try await withMallApp { t in
            // setup: ¥211 paid and completed: 211 points earned
            let s = try await Self.setUp(t)
            let result = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, quantity: 2, points: 0), token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)
            try await ReviewTests.receive(t, order: result.orders[0].id, shop: s.f.shopAToken, buyer: s.buyer, number: "SF1002")
            t.clock.advance(seconds: 8 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)
            #expect(try await Self.balances(t) == (211, 211))
            let member = try await t.memberID(phone: "13600000001")
            // A token signed before the eight days would have expired.
            let boss = try await t.staffToken("boss", console: "platform")
            let line = result.orders[0].lines[0].id
            let refund = #"{"lineId":"\#(line)","units":1,"reason":"质量投诉"}"#

            // act: the operator refunds one milk (¥99 of ¥211) after completion
            t.clock.advance(seconds: 60)
            let first = try await t.postJSON("/api/v1/admin/orders/\(result.orders[0].id)/refunds", refund, token: boss)
            #expect(first.status.code < 300, "\(first.body.string)")
            _ = try await OutboxDispatcher.run(t.app)
            _ = try await OutboxDispatcher.run(t.app)
            let afterFirst = try await Self.balances(t)

            // act: the operator adds 50 with a reason, twice under one key; takes too many; takes 62
            let path = "/api/v1/admin/members/\(member)/points"
            for _ in 0..<2 {
                let added = try await t.app.testing().sendRequest(.POST, path, headers: ["Authorization": "Bearer \(boss)",
                    "Content-Type": "application/json", "Idempotency-Key": "adjust-1"], body: .init(string: #"{"delta":50,"reason":"客诉补偿"}"#))
                #expect(added.status == .ok, "\(added.body.string)")
            }
            let tooMany = try await t.postJSON(path, #"{"delta":-1000,"reason":"扣回"}"#, token: boss)
            let taken = try await t.postJSON(path, #"{"delta":-62,"reason":"误发扣回"}"#, token: boss)
            let afterAdjust = try await Self.balances(t)
            // The rest of the line refunded: its share goes too, leaving what the shipping earned.
            t.clock.advance(seconds: 60)
            _ = try await t.postJSON("/api/v1/admin/orders/\(result.orders[0].id)/refunds", refund, token: boss)
            _ = try await OutboxDispatcher.run(t.app)

            // check: ⌊9 900 × 211 / 21 100⌋ = 99 back, once; +50 once, −62; then 198 in all
            #expect(afterFirst == (112, 112))
            #expect(tooMany.status == .conflict)
            #expect(taken.status == .ok)
            #expect(afterAdjust == (100, 100))
            #expect(try await Self.balances(t) == (1, 1))
            let movements = try await PointMovementRecord.query(on: t.app.db).filter(\.$memberID == member).all()
            // The second 99 takes the 50 left in the order's own lot, then 49 from the next.
            #expect(movements.filter { $0.reason == "clawback" }.map(\.delta).sorted() == [-99, -50, -49])
            #expect(movements.filter { $0.reason == "adjustment" }.map(\.delta).sorted() == [-62, 50])
            let token = try await DistributionTests.token(t, member)
            let mine = try await t.get("/api/v1/me/points", token: token).content.decode(MemberPointsDTO.self)
            #expect(mine.movements.map(\.reasonText).contains("退款扣回") && mine.movements.map(\.reasonText).contains("平台调整"))

            // Bad adjustments are refused and change nothing.
            for (json, status) in [(#"{"delta":0,"reason":"x"}"#, HTTPStatus.unprocessableEntity), (#"{"delta":5,"reason":"  "}"#, .unprocessableEntity),
                                   (#"{"delta":9223372036854775807,"reason":"x"}"#, .unprocessableEntity),
                                   (#"{"delta":-9223372036854775808,"reason":"x"}"#, .unprocessableEntity)] {
                #expect(try await t.postJSON(path, json, token: boss).status == status, "\(json)")
            }
            #expect(try await t.postJSON("/api/v1/admin/members/\(UUID())/points", #"{"delta":5,"reason":"x"}"#, token: boss).status == .notFound)
            #expect(try await t.postJSON(path, #"{"delta":5,"reason":"x"}"#, token: token).status == .forbidden)
            #expect(try await Self.balances(t) == (1, 1))
        }
    }

    @Test func expiredPointsLeaveTheBalanceAndCannotBeSpent() async throws {
        try await withMallApp { t in
            // setup: points valid for one month
            let s = try await Self.setUp(t, expiry: "months", months: 1)
            _ = try await Self.signIn(t, s.buyer)

            // act: 40 days later
            t.clock.advance(seconds: 40 * 86_400)
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            let preview = try await t.postJSON("/api/v1/checkout/preview", Self.milkJSON(s, points: 5_000), token: token).content.decode(CheckoutPreviewDTO.self)
            let expired = try await PointsJobs.expire(t.app)

            // check: nothing to spend, the lot emptied once with its reason
            #expect(preview.points.balance == 0)
            #expect(preview.points.used == 0)
            #expect(expired == 5_000)
            #expect(try await PointsJobs.expire(t.app) == 0)
            #expect(try await Self.balances(t) == (0, 0))
            let mine = try await t.get("/api/v1/me/points", token: token).content.decode(MemberPointsDTO.self)
            #expect(mine.movements.map(\.reasonText) == ["积分过期", "每日签到"])
            #expect(mine.movements.map(\.delta) == [-5_000, 5_000])
        }
    }

    @Test func badSettingsAndBadPointsAreRefusedAndChangeNothing() async throws {
        try await withMallApp { t in
            // setup
            let s = try await Self.setUp(t)
            let before = try await t.get("/api/v1/admin/members/settings", token: s.f.operatorToken).content.decode(MembersConfig.self)

            // act + check: a level ladder not starting at 0, a discount of 0 bp, a member, negative points
            let notFromZero = try await t.send(.PUT, "/api/v1/admin/members/settings", Self.settingsJSON(firstGrowth: 5), token: s.f.operatorToken)
            #expect(notFromZero.status == .unprocessableEntity)
            #expect(notFromZero.body.string.contains("会员等级应从成长值 0 开始"))
            let zeroDiscount = try await t.send(.PUT, "/api/v1/admin/members/settings", Self.settingsJSON(firstDiscountBP: 0), token: s.f.operatorToken)
            #expect(zeroDiscount.status == .unprocessableEntity)
            #expect(try await t.send(.PUT, "/api/v1/admin/members/settings", Self.settingsJSON(), token: s.buyer).status == .forbidden)
            #expect(try await t.get("/api/v1/admin/members/settings", token: s.f.operatorToken).content.decode(MembersConfig.self) == before)
            let negative = try await t.postJSON("/api/v1/checkout", Self.milkJSON(s, points: -1), token: s.buyer)
            #expect(negative.status == .unprocessableEntity)
            #expect(negative.body.string.contains("积分数应为"))
            #expect(try await Order.query(on: t.app.db).count() == 0)
        }
    }
}
