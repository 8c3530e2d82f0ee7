import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

/// Goods for points (积分 + 现金): shop A's ¥99.00 milk for 1 000 points + ¥9.90, bought through
/// checkout with shop A's ¥8.00 shipping; the platform pays the shop the other ¥89.10.
@Suite struct PointsMallGoodsTests {
    struct Rig {
        let s: OrderFlowTests.Shop
        let item: PointsMallItemDTO
        let buyerID: UUID
        var milk: UUID { s.milk.skus[0].id }
    }

    static func goodsJSON(sku: UUID, points: Int64 = 1_000, cash: Int64 = 990, stock: Int64 = 2, limit: String = "1", extra: String = "") -> String {
        #"{"kind":"goods","name":"积分换奶粉","skuId":"\#(sku)","pointsPrice":\#(points),"cashFen":\#(cash),"stock":\#(stock),"perMemberLimit":\#(limit)\#(extra)}"#
    }

    /// The shop, the buyer (¥500.00 balance, `points` points) and the item.
    static func setUp(_ t: TestContext, points: Int64 = 1_500, stock: Int64 = 2, limit: String = "1", milkStock: Int64 = 10) async throws -> Rig {
        let s = try await OrderFlowTests.shop(t, milkStock: milkStock)
        try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
        let buyerID = try await t.memberID(phone: "13600000001")
        try await give(t, buyerID, points: points, token: s.f.operatorToken)
        let item = try await PointsMallTests.createItem(t, goodsJSON(sku: s.milk.skus[0].id, stock: stock, limit: limit), token: s.f.operatorToken)
        return Rig(s: s, item: item, buyerID: buyerID)
    }

    static func give(_ t: TestContext, _ member: UUID, points: Int64, token: String) async throws {
        guard points > 0 else { return }
        let given = try await t.postJSON("/api/v1/admin/members/\(member)/points", #"{"delta":\#(points),"reason":"活动奖励"}"#, token: token)
        #expect(given.status == .ok, "\(given.body.string)")
    }

    static func redeem(_ t: TestContext, _ item: UUID, address: UUID, token: String, key: String? = nil) async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = [:]
        if let key { headers.add(name: "Idempotency-Key", value: key) }
        return try await t.postJSON("/api/v1/checkout", #"{"pointsMallItemId":"\#(item)","addressId":"\#(address)"}"#, token: token, headers: headers)
    }

    /// Everything a redemption moves, to compare before and after.
    struct Snapshot: Equatable {
        let points: Int64
        let lots: Int64
        let movements: Int
        let available: Int64
        let redeemed: Int64
        let skuStock: Int64
        let orders: Int
        let payments: Int
        let redemptions: Int
    }

    static func snapshot(_ t: TestContext, _ rig: Rig, member: UUID? = nil) async throws -> Snapshot {
        let db = t.app.db
        let who = member ?? rig.buyerID
        let item = try await PointsMallItem.find(rig.item.id, on: db)
        return Snapshot(points: try await MemberPointsAccount.find(who, on: db)?.balance ?? 0,
                        lots: try await PointLotRecord.query(on: db).filter(\.$memberID == who).all().reduce(0) { $0 + $1.remaining },
                        movements: try await PointMovementRecord.query(on: db).filter(\.$memberID == who).count(),
                        available: item?.available ?? -1, redeemed: item?.redeemed ?? -1,
                        skuStock: try await FlashSaleTests.skuStock(t, rig.milk),
                        orders: try await Order.query(on: db).count(), payments: try await Payment.query(on: db).count(),
                        redemptions: try await PointsMallRedemption.query(on: db).filter(\.$returnedAt == nil).count())
    }

    static func reasons(_ t: TestContext, _ member: UUID) async throws -> [String: Int64] {
        try await PointMovementRecord.query(on: t.app.db).filter(\.$memberID == member).all()
            .reduce(into: [:]) { $0[$1.reason, default: 0] += $1.delta }
    }

    @Test func aRedemptionIsARealOrderAtTheCashPartAndAWholeRefundGivesThePointsBack() async throws {
        try await withMallApp { t in
            // setup
            let rig = try await Self.setUp(t)
            let ledger = CouponTests.ledger(t)

            // act: preview, place under a key (twice), pay from the balance
            let preview = try await t.postJSON("/api/v1/checkout/preview", #"{"pointsMallItemId":"\#(rig.item.id)","addressId":"\#(rig.s.address)"}"#,
                                               token: rig.s.buyer)
            #expect(preview.status == .ok, "\(preview.body.string)")
            let shown = try preview.content.decode(CheckoutPreviewDTO.self)
            let placed = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer, key: "mall-order-1")
            let again = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer, key: "mall-order-1")

            // check: ¥9.90 + ¥8.00 shipping; the ¥89.10 the platform's saving on the line, without commission
            #expect(shown.total.fen == 1_790)
            #expect(shown.shippingFee.fen == 800)
            #expect(shown.coupons.savings.map(\.source) == ["points_mall"])
            #expect(shown.coupons.savings.map(\.amount.fen) == [8_910])
            #expect(shown.pointsMall?.points == 1_000)
            #expect(shown.pointsMall?.cash.fen == 990)
            #expect(shown.pointsMall?.label == "积分兑换 1000 积分 + ¥9.90")
            #expect(shown.points.used == 0)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            #expect(again.status == .ok)
            #expect(try again.content.decode(CheckoutResultDTO.self).payment.id == result.payment.id)
            #expect(result.payment.amount.fen == 1_790)
            #expect(result.orders.map(\.payable.fen) == [1_790])
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect((line.unitPrice, line.quantity, line.paidAmount, line.discountAmount) == (9_900, 1, 990, 8_910))
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.map(\.amount) == [8_910])
            #expect(shares.allSatisfy { $0.sourceKind == "points_mall" && $0.payer == "platform" && $0.payerMerchantID == nil && !$0.paysCommission })
            #expect(shares.first?.sourceID == rig.item.id.uuidString.lowercased())
            // 1 000 of 1 500 points spent once (积分兑换), one unit of the item and one of the SKU taken
            var now = try await Self.snapshot(t, rig)
            #expect(now.points == 500 && now.lots == 500)
            #expect((now.available, now.redeemed, now.skuStock, now.orders, now.redemptions) == (1, 1, 9, 1, 1))
            #expect(try await Self.reasons(t, rig.buyerID)["mall_redeem"] == -1_000)
            let mine = try await t.get("/api/v1/points-mall/redemptions", token: rig.s.buyer).content.decode([PointsMallRedemptionDTO].self)
            #expect(mine.map(\.orderId) == [result.orders[0].id])
            #expect(mine.map(\.cashFen) == [990])
            #expect(mine.map(\.pointsLeft) == [500])
            // The order is an ordinary one: 我的订单 lists it, and it pays.
            let orders = try await t.get("/api/v1/me/orders", token: rig.s.buyer)
            #expect(orders.body.string.contains(result.orders[0].id.uuidString))
            try await PromotionTests.pay(t, result, token: rig.s.buyer)
            let order = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(order.state == "paid")
            // The shop is paid its normal price: ¥17.90 from the buyer and ¥89.10 from the platform's marketing cost, less its fee on ¥9.90.
            #expect(try await ledger.balance(of: .platform(.marketingCost)) == Money(fen: 8_910))
            #expect(try await ledger.balance(of: try LedgerAccountKey(.merchantPending, .merchant(rig.s.f.shopA))) == Money(fen: 1_790 + 8_910 - order.serviceFee))
            #expect(try await ledger.verify().ok)

            // act: a refund of everything before shipping
            _ = try await MemberLevelCheckoutTests.refundOneUnit(t, rig.s, orderID: order.requireID())

            // check: ¥17.90 back; the points back once (积分兑换退回); no unit or stock back (like any refund); the platform's cost reversed
            let refunded = try #require(try await Order.find(result.orders[0].id, on: t.app.db))
            #expect(refunded.refundedAmount == 1_790)
            #expect(refunded.state == "closed")
            now = try await Self.snapshot(t, rig)
            #expect(now.points == 1_500 && now.lots == 1_500)
            #expect((now.available, now.redeemed, now.skuStock, now.redemptions) == (1, 1, 9, 0))
            #expect(try await Self.reasons(t, rig.buyerID)["mall_return"] == 1_000)
            let back = try await t.get("/api/v1/me/points", token: rig.s.buyer).content.decode(MemberPointsDTO.self)
            #expect(back.movements.map(\.reasonText).contains("积分兑换退回"))
            #expect(try await ledger.balance(of: .platform(.marketingCost)) == .zero)
            #expect(try await ledger.verify().ok)
            // The limit counts what the member holds: the refunded redemption no longer does.
            let next = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer)
            #expect(next.status == .created, "\(next.body.string)")
            #expect(try await Self.snapshot(t, rig).points == 500)
        }
    }

    @Test func aCancelAndAnUnpaidCloseGiveThePointsTheUnitAndTheStockBackOnce() async throws {
        try await withMallApp { t in
            // setup: 2 000 points, the item at 1 000 with 2 units, one per member
            let rig = try await Self.setUp(t, points: 2_000)
            let start = try await Self.snapshot(t, rig)

            // act: redeem and cancel (twice)
            let first = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await Self.snapshot(t, rig).points == 1_000)
            let cancelled = try await t.postJSON("/api/v1/me/orders/\(first.orders[0].id)/cancel", "{}", token: rig.s.buyer)
            let twice = try await t.postJSON("/api/v1/me/orders/\(first.orders[0].id)/cancel", "{}", token: rig.s.buyer)

            // check: everything back once
            #expect(cancelled.status == .ok, "\(cancelled.body.string)")
            #expect(twice.status == .conflict)
            var now = try await Self.snapshot(t, rig)
            #expect((now.points, now.lots, now.available, now.redeemed, now.skuStock, now.redemptions) == (2_000, 2_000, 2, 0, 10, 0))
            #expect(now.movements == start.movements + 2)
            #expect(try await Self.reasons(t, rig.buyerID)["mall_return"] == 1_000)
            let returned = try await PointsMallRedemption.query(on: t.app.db).all()
            #expect(returned.map(\.returnedReason) == ["cancel"])

            // act: redeem again (the limit is free again) and leave it unpaid past the thirty minutes
            let second = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer)
            #expect(second.status == .created, "\(second.body.string)")
            let secondOrder = try second.content.decode(CheckoutResultDTO.self).orders[0].id
            #expect(try await Self.snapshot(t, rig).points == 1_000)
            t.clock.advance(seconds: 31 * 60)
            let closed = try await OrderJobs.closeUnpaid(t.app, settings: .init())
            _ = try await OrderJobs.closeUnpaid(t.app, settings: .init())

            // check: closed once, everything back once more
            #expect(closed.closed == 1)
            #expect(try await Order.find(secondOrder, on: t.app.db)?.state == "closed")
            now = try await Self.snapshot(t, rig)
            #expect((now.points, now.lots, now.available, now.redeemed, now.skuStock, now.redemptions) == (2_000, 2_000, 2, 0, 10, 0))
            #expect(now.movements == start.movements + 4)
            #expect(try await Self.reasons(t, rig.buyerID)["mall_return"] == 2_000)
            #expect(try await PointsMallRedemption.query(on: t.app.db).sort(\.$createdAt).all().map(\.returnedReason) == ["cancel", "close_unpaid"])
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func everyRefusalIsAFourHundredThatChangesNothing() async throws {
        try await withMallApp { t in
            // setup: one unit, one per member; a buyer with 1 500 points and one with 999
            let rig = try await Self.setUp(t, stock: 1)
            let poor = try await FlashSaleTests.buyer(t, "13600000002")
            let poorID = try await t.memberID(phone: "13600000002")
            try await Self.give(t, poorID, points: 999, token: rig.s.f.operatorToken)
            func refused(_ token: String, _ member: UUID, _ body: String? = nil, status: HTTPStatus, code: String, address: UUID? = nil,
                         item: UUID? = nil) async throws {
                let before = try await Self.snapshot(t, rig, member: member)
                let json = body ?? #"{"pointsMallItemId":"\#(item ?? rig.item.id)","addressId":"\#(address ?? rig.s.address)"}"#
                let response = try await t.postJSON("/api/v1/checkout", json, token: token)
                #expect(response.status == status, "\(code): \(response.body.string)")
                #expect(response.error?.code == code, "\(response.body.string)")
                #expect(try await Self.snapshot(t, rig, member: member) == before, "\(code)")
            }

            // Too few points (999 of 1 000), in the member's language.
            try await refused(poor.token, poorID, status: .conflict, code: "points_insufficient", address: poor.address)
            let english = try await t.postJSON("/api/v1/checkout", #"{"pointsMallItemId":"\#(rig.item.id)","addressId":"\#(poor.address)"}"#,
                                               token: poor.token, headers: ["Accept-Language": "en"])
            #expect(english.error?.message.hasPrefix("Not enough points") == true, "\(english.body.string)")
            // More than one unit, another SKU, with another activity, no such item, a coupon item.
            try await refused(rig.s.buyer, rig.buyerID, #"{"pointsMallItemId":"\#(rig.item.id)","addressId":"\#(rig.s.address)","items":[{"skuId":"\#(rig.milk)","quantity":2}]}"#,
                              status: .unprocessableEntity, code: "validation_failed")
            try await refused(rig.s.buyer, rig.buyerID, #"{"pointsMallItemId":"\#(rig.item.id)","addressId":"\#(rig.s.address)","items":[{"skuId":"\#(rig.s.cream.skus[0].id)","quantity":1}]}"#,
                              status: .unprocessableEntity, code: "validation_failed")
            try await refused(rig.s.buyer, rig.buyerID, #"{"pointsMallItemId":"\#(rig.item.id)","addressId":"\#(rig.s.address)","flashSaleItemId":"\#(UUID())"}"#,
                              status: .unprocessableEntity, code: "validation_failed")
            try await refused(rig.s.buyer, rig.buyerID, status: .unprocessableEntity, code: "validation_failed", item: UUID())
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"积分券","kind":"no_threshold","amountOffFen":500,"validDays":30,"claimable":false}"#,
                                                          token: rig.s.f.operatorToken)
            let couponItem = try await PointsMallTests.createItem(t, #"{"kind":"coupon","name":"券","couponTemplateId":"\#(coupon.id)","pointsPrice":1,"stock":1}"#,
                                                                 token: rig.s.f.operatorToken)
            try await refused(rig.s.buyer, rig.buyerID, status: .unprocessableEntity, code: "validation_failed", item: couponItem.id)
            // Goods are not redeemed on the coupon endpoint.
            let direct = try await PointsMallTests.redeem(t, rig.item.id, token: rig.s.buyer)
            #expect(direct.status == .conflict)
            #expect(direct.error?.code == "points_mall.goods_checkout")
            // Paused, not started, ended.
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(rig.item.id)/pause", "{}", token: rig.s.f.operatorToken).status == .ok)
            try await refused(rig.s.buyer, rig.buyerID, status: .conflict, code: "points_mall.paused")
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(rig.item.id)/resume", "{}", token: rig.s.f.operatorToken).status == .ok)
            let formatter = ISO8601DateFormatter()
            let clock = t.clock.now()
            let window = #","startsAt":"\#(formatter.string(from: clock.addingTimeInterval(3_600)))","endsAt":"\#(formatter.string(from: clock.addingTimeInterval(7_200)))""#
            let later = try await PointsMallTests.createItem(t, Self.goodsJSON(sku: rig.milk, extra: window), token: rig.s.f.operatorToken)
            try await refused(rig.s.buyer, rig.buyerID, status: .conflict, code: "points_mall.not_started", item: later.id)
            // The one unit, then the member's limit and sold out for the next.
            let won = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer)
            #expect(won.status == .created, "\(won.body.string)")
            let other = try await FlashSaleTests.buyer(t, "13600000003")
            let otherID = try await t.memberID(phone: "13600000003")
            try await Self.give(t, otherID, points: 5_000, token: rig.s.f.operatorToken)
            try await refused(other.token, otherID, status: .conflict, code: "points_mall.sold_out", address: other.address)
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(rig.item.id)/stop", "{}", token: rig.s.f.operatorToken).status == .ok)
            try await refused(other.token, otherID, status: .conflict, code: "points_mall.stopped", address: other.address)
            let more = try await PointsMallTests.createItem(t, Self.goodsJSON(sku: rig.milk, stock: 5), token: rig.s.f.operatorToken)
            #expect(try await Self.redeem(t, more.id, address: rig.s.address, token: rig.s.buyer).status == .conflict)
            #expect(try await Self.redeem(t, more.id, address: rig.s.address, token: rig.s.buyer).error?.code == "points_insufficient")
            try await Self.give(t, rig.buyerID, points: 5_000, token: rig.s.f.operatorToken)
            #expect(try await Self.redeem(t, more.id, address: rig.s.address, token: rig.s.buyer).status == .created)
            try await refused(rig.s.buyer, rig.buyerID, status: .conflict, code: "points_mall.member_limit", item: more.id)
            // After the window: ended.
            t.clock.advance(seconds: 7_200)
            let token = try await DistributionTests.token(t, otherID)
            try await refused(token, otherID, status: .conflict, code: "points_mall.ended", address: other.address, item: later.id)
            // No login.
            #expect(try await t.postJSON("/api/v1/checkout", #"{"pointsMallItemId":"\#(rig.item.id)"}"#).status == .unauthorized)
        }
    }

    @Test func membersRacingForTheLastUnitPlaceExactlyOneOrder() async throws {
        try await withMallApp { t in
            // setup: one unit; eight members with points and an address
            let rig = try await Self.setUp(t, points: 0, stock: 1)
            var buyers: [(token: String, address: UUID, id: UUID)] = []
            for index in 0..<8 {
                let phone = "1361000\(String(format: "%04d", index))"
                let buyer = try await FlashSaleTests.buyer(t, phone)
                let id = try await t.memberID(phone: phone)
                try await Self.give(t, id, points: 1_000, token: rig.s.f.operatorToken)
                buyers.append((buyer.token, buyer.address, id))
            }

            // act: all at once
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for buyer in buyers {
                    group.addTask {
                        let response = try await Self.redeem(t, rig.item.id, address: buyer.address, token: buyer.token)
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: one order, seven sold out; only the winner spent points
            #expect(results.filter { $0.0 == .created }.count == 1, "\(results)")
            #expect(results.filter { $0.0 == .conflict && $0.1 == "points_mall.sold_out" }.count == 7, "\(results)")
            #expect(try await Order.query(on: t.app.db).count() == 1)
            let item = try await PointsMallItem.find(rig.item.id, on: t.app.db)
            #expect(item?.available == 0 && item?.redeemed == 1)
            #expect(try await FlashSaleTests.skuStock(t, rig.milk) == 9)
            var balances: [Int64] = []
            for buyer in buyers { balances.append(try await MemberPointsAccount.find(buyer.id, on: t.app.db)?.balance ?? -1) }
            #expect(balances.sorted() == [0] + Array(repeating: 1_000, count: 7))
        }
    }

    @Test func oneMemberWithPointsForOneFiringSeveralAtOnceGetsOne() async throws {
        try await withMallApp { t in
            // setup: exactly 1 000 points; ten units and no member limit
            let rig = try await Self.setUp(t, points: 1_000, stock: 10, limit: "null")

            // act: six checkouts at once, each with its own key, and four more sharing one key
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String, UUID?).self) { group in
                for index in 0..<10 {
                    group.addTask {
                        let response = try await Self.redeem(t, rig.item.id, address: rig.s.address, token: rig.s.buyer,
                                                             key: index < 6 ? "burst-\(index)" : "twin")
                        let payment = response.status.code < 300 ? try? response.content.decode(CheckoutResultDTO.self).payment.id : nil
                        return (response.status, response.error?.code ?? "", payment)
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String, UUID?)]()) { $0.append($1) }
            }

            // check: one order; the rest refused for points, or given the twin's own payment; the balance exactly zero
            let created = results.filter { $0.0 == .created }
            #expect(created.count == 1, "\(results)")
            let payments = try await Payment.query(on: t.app.db).all()
            #expect(payments.count == 1)
            #expect(results.allSatisfy { ($0.0 == .conflict && $0.1 == "points_insufficient") || $0.2 == payments.first?.id }, "\(results)")
            let now = try await Self.snapshot(t, rig)
            #expect((now.points, now.lots, now.available, now.redeemed, now.skuStock) == (0, 0, 9, 1, 9))
            #expect((now.orders, now.redemptions) == (1, 1))
            #expect(try await Self.reasons(t, rig.buyerID)["mall_redeem"] == -1_000)
        }
    }

    @Test func theOperatorsGoodsItemsAreChecked() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"积分券","kind":"no_threshold","amountOffFen":500,"validDays":30,"claimable":false}"#,
                                                          token: s.f.operatorToken)
            let cases: [(String, String)] = [
                (Self.goodsJSON(sku: milk, cash: -1), "cashFen"),
                (Self.goodsJSON(sku: milk, cash: 9_901), "cashFen"),
                (Self.goodsJSON(sku: milk, cash: .max), "cashFen"),
                (Self.goodsJSON(sku: milk, points: 0), "pointsPrice"),
                (Self.goodsJSON(sku: milk, stock: 0), "stock"),
                (Self.goodsJSON(sku: UUID()), "skuId"),
                (#"{"kind":"goods","name":"积分换奶粉","pointsPrice":1,"cashFen":1,"stock":1}"#, "skuId"),
                (#"{"kind":"goods","name":"积分换奶粉","skuId":"\#(milk)","pointsPrice":1,"stock":1}"#, "cashFen"),
                (Self.goodsJSON(sku: milk, extra: #","couponTemplateId":"\#(coupon.id)""#), "couponTemplateId"),
                (#"{"kind":"coupon","name":"券","couponTemplateId":"\#(coupon.id)","pointsPrice":1,"stock":1,"skuId":"\#(milk)"}"#, "skuId"),
                (#"{"kind":"coupon","name":"券","couponTemplateId":"\#(coupon.id)","pointsPrice":1,"stock":1,"cashFen":100}"#, "cashFen"),
            ]
            for (json, field) in cases {
                let response = try await t.postJSON("/api/v1/admin/points-mall/items", json, token: s.f.operatorToken)
                #expect(response.status == .unprocessableEntity, "\(json): \(response.body.string)")
                #expect(response.error?.details.map(\.field).contains(field) == true, "\(json): \(response.body.string)")
            }
            let negative = try await t.postJSON("/api/v1/admin/points-mall/items", Self.goodsJSON(sku: milk, cash: -1), token: s.f.operatorToken)
            #expect(negative.body.string.contains("现金部分不能为负数"))
            // An off-shelf product's SKU cannot be listed.
            try await sqlDatabase(t.app.db).raw("UPDATE products SET on_shelf = \(bind: false) WHERE id = \(bind: s.milk.id)").run()
            let off = try await t.postJSON("/api/v1/admin/points-mall/items", Self.goodsJSON(sku: milk), token: s.f.operatorToken)
            #expect(off.error?.details.map(\.field) == ["skuId"])
            #expect(try await PointsMallItem.query(on: t.app.db).count() == 0)
            // Hostile numbers for the cash part.
            try await sqlDatabase(t.app.db).raw("UPDATE products SET on_shelf = \(bind: true) WHERE id = \(bind: s.milk.id)").run()
            for number in ["1e400", "9223372036854775808", "-9223372036854775809", "1.5", "NaN", "\"Infinity\"", "\"9.90\""] {
                let json = #"{"kind":"goods","name":"券","skuId":"\#(milk)","pointsPrice":1,"stock":1,"cashFen":\#(number)}"#
                let response = try await t.postJSON("/api/v1/admin/points-mall/items", json, token: s.f.operatorToken)
                #expect((400..<500).contains(response.status.code), "cashFen \(number) answered \(response.status.code)")
            }
            for bad in [#""x""#, "1", "null", #"{"a":1}"#] {
                let response = try await t.postJSON("/api/v1/checkout", #"{"pointsMallItemId":\#(bad)}"#, token: s.buyer)
                #expect((400..<500).contains(response.status.code), "pointsMallItemId \(bad) answered \(response.status.code)")
            }
            #expect(try await PointsMallItem.query(on: t.app.db).count() == 0)
            #expect(try await Order.query(on: t.app.db).count() == 0)
            // A good one shows its SKU, price and the price text.
            let item = try await PointsMallTests.createItem(t, Self.goodsJSON(sku: milk), token: s.f.operatorToken)
            #expect((item.kind, item.skuId, item.cashFen, item.skuPriceFen, item.priceText) == ("goods", milk, 990, 9_900, "1000 积分 + ¥9.90"))
            #expect(item.summary.contains("甲店奶粉"))
        }
    }

    @Test func theMemberRedeemsThroughTheCheckoutPageAndTheOperatorListsGoodsOnTheConsole() async throws {
        try await withMallApp { t in
            // setup: the buyer signed in on the pages; the operator on the console
            let rig = try await Self.setUp(t)
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])

            // act + check: the mall lists the goods with points + cash and a link to checkout
            let mall = try await client.get("/points-mall").body.string
            #expect(mall.contains("积分换奶粉") && mall.contains("1000 积分 + ¥9.90") && mall.contains("/checkout?mall=\(rig.item.id)"))
            // The checkout page: the address, 「积分兑换 1000 积分 + ¥9.90」, shipping ¥8.00 and ¥17.90 to pay
            let page = try await client.get("/checkout?mall=\(rig.item.id)")
            #expect(page.status == .ok)
            let html = page.body.string
            #expect(html.contains("积分兑换 1000 积分 + ¥9.90"))
            #expect(html.contains("¥8.00") && html.contains("¥17.90"))
            #expect(html.contains(#"name="mall" value="\#(rig.item.id)""#))
            let marker = try #require(html.range(of: #"name="idempotency_key" value=""#))
            let key = String(html[marker.upperBound...].prefix(while: { $0 != "\"" }))
            let form = ["mall": rig.item.id.uuidString, "address": rig.s.address.uuidString, "merchant": rig.s.f.shopA.uuidString,
                        "idempotency_key": key, "action": "place"]
            let placed = try await client.post("/checkout", form: form)
            _ = try await client.post("/checkout", form: form)
            #expect(placed.headers.first(name: .location)?.hasPrefix("/pay/") == true, "\(placed.status) \(placed.headers)")
            #expect(try await Order.query(on: t.app.db).count() == 1)
            #expect(try await Payment.query(on: t.app.db).first()?.amount == 1_790)
            #expect(try await MemberPointsAccount.find(rig.buyerID, on: t.app.db)?.balance == 500)
            // Over the limit now: back to the mall with the reason.
            let refused = try await client.get("/checkout?mall=\(rig.item.id)")
            #expect(refused.headers.first(name: .location) == "/points-mall")
            #expect(try await client.get("/points-mall").body.string.contains("已达到每人限兑数量"))

            // The console lists it and adds goods from its form, the cash part typed in yuan.
            let console = try await boss.get("/admin/points-mall")
            #expect(console.body.string.contains("积分换奶粉") && console.body.string.contains("1000 积分 + ¥9.90"))
            _ = try await boss.post("/admin/points-mall/goods", form: ["name": "积分换面霜", "sku": rig.s.cream.skus[0].id.uuidString, "pointsPrice": "200",
                                                                     "cash": "0.01", "stock": "3", "perMemberLimit": "1"])
            let created = try await PointsMallItem.query(on: t.app.db).filter(\.$name == "积分换面霜").first()
            #expect((created?.kind, created?.cashPrice, created?.pointsPrice, created?.stock) == ("goods", 1, 200, 3))
            // 纯积分: a cash part of nothing; a negative one is refused and kept out.
            _ = try await boss.post("/admin/points-mall/goods", form: ["name": "纯积分", "sku": rig.s.cream.skus[0].id.uuidString, "pointsPrice": "200",
                                                                     "cash": "0", "stock": "3"])
            let pure = try await PointsMallItem.query(on: t.app.db).filter(\.$name == "纯积分").first()
            #expect((pure?.cashPrice, pure?.pointsPrice) == (0, 200))
            #expect(try await boss.get("/admin/points-mall").body.string.contains("200 积分"))
            _ = try await boss.post("/admin/points-mall/goods", form: ["name": "负现金", "sku": rig.s.cream.skus[0].id.uuidString, "pointsPrice": "200",
                                                                     "cash": "-1", "stock": "3"])
            #expect(try await PointsMallItem.query(on: t.app.db).filter(\.$name == "负现金").count() == 0)
        }
    }
}
