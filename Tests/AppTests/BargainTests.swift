import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// A seeded generator, so the cut amounts are the same on every run.
struct BargainTestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct BargainTests {
    /// Shop A's milk (¥99.00) cut down to ¥49.00 in at most `cuts` cuts.
    static func activity(_ t: TestContext, _ s: OrderFlowTests.Shop, cuts: Int = 2, limit: Int = 3, token: String? = nil) async throws -> BargainActivityDTO {
        t.app.bargainRandom = { BargainTestRandom(state: 42) }
        let (start, end) = PromotionTests.window(t)
        let json = #"{"name":"好友帮砍","skuId":"\#(s.milk.skus[0].id)","floorPriceFen":4900,"maxCuts":\#(cuts),"dailyCutLimit":\#(limit),"startsAt":"\#(start)","endsAt":"\#(end)"}"#
        let response = try await t.postJSON("/api/v1/merchant/bargains", json, token: token ?? s.f.shopAToken)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(BargainActivityDTO.self)
    }

    static func start(_ t: TestContext, _ activity: BargainActivityDTO, token: String) async throws -> BargainDTO {
        let response = try await t.postJSON("/api/v1/bargains", #"{"activityId":"\#(activity.id)"}"#, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(BargainDTO.self)
    }

    static func cut(_ t: TestContext, _ bargain: UUID, token: String, device: String) async throws -> TestingHTTPResponse {
        try await t.postJSON("/api/v1/bargains/\(bargain)/cut", "{}", token: token, headers: ["X-Device-Id": device])
    }

    @Test func aBargainFinishedWithTwoHelpersReachesThePriceExactlyAndIsPaidAtIt() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s)
            #expect(!activity.paysCommission)
            let bargain = try await Self.start(t, activity, token: s.buyer)
            let helperA = try await t.quickMember("13600000002")
            let helperB = try await t.quickMember("13600000003")

            // act: two friends cut, then the starter pays
            let first = try await Self.cut(t, bargain.id, token: helperA, device: "device-aaaa-0001")
            let second = try await Self.cut(t, bargain.id, token: helperB, device: "device-bbbb-0002")
            let placed = try await t.postJSON("/api/v1/checkout", #"{"addressId":"\#(s.address)","bargainId":"\#(bargain.id)"}"#, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: the two cuts add up to ¥50.00 exactly; the order is ¥49.00 + ¥8.00 shipping
            #expect(first.status == .ok && second.status == .ok, "\(first.body.string) \(second.body.string)")
            let done = try second.content.decode(BargainDTO.self)
            #expect(done.currentPrice.fen == 4_900 && done.progressPercent == 100 && done.cutsLeft == 0 && done.helpers == 2)
            #expect(done.cuts.map(\.amount.fen).reduce(0, +) == 5_000)
            #expect(done.cuts.allSatisfy { $0.amount.fen >= 1 })
            #expect(done.cuts.count == 2)
            #expect(result.payment.amount.fen == 5_700)
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect(line.unitPrice == 9_900 && line.paidAmount == 4_900 && line.discountAmount == 5_000)
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.map(\.amount) == [5_000])
            #expect(shares.allSatisfy { $0.sourceKind == "bargain" && !$0.paysCommission && $0.payer == "merchant" })
            let fresh = try await t.get("/api/v1/bargains/\(bargain.id)").content.decode(BargainDTO.self)
            #expect(fresh.status == "paid" && fresh.orderId == result.orders[0].id)
            let results = try await t.get("/api/v1/merchant/bargains/\(activity.id)/results", token: s.f.shopAToken).content.decode(BargainResultsDTO.self)
            #expect(results.paid == 1 && results.cuts == 2 && results.sales.fen == 5_700 && results.discountCost.fen == 5_000)
            // The page shows the progress and the cuts.
            let page = try await t.get("/bargains/\(bargain.id)")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("¥49.00"))
            #expect(page.body.string.contains("value=\"100\""))
            #expect(try await t.get("/bargains/\(bargain.id)/qr.svg").status == .ok)
            let poster = try await t.get("/bargains/\(bargain.id)/poster.png")
            #expect(poster.status == .ok && poster.headers.contentType == .png)
            let product = try await t.get("/products/\(s.milk.id)")
            #expect(product.body.string.contains("最低砍至 ¥49.00"))
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func oneCutPerMemberAndDeviceNeverOnesOwnAndTheDailyLimit() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.activity(t, s, cuts: 10, limit: 1)
            let bargain = try await Self.start(t, activity, token: s.buyer)
            let helper = try await t.quickMember("13600000002")
            let other = try await t.quickMember("13600000003")
            let first = try await Self.cut(t, bargain.id, token: helper, device: "device-aaaa-0001")
            #expect(first.status == .ok)
            let priceAfterFirst = try first.content.decode(BargainDTO.self).currentPrice.fen

            // act
            let again = try await Self.cut(t, bargain.id, token: helper, device: "device-aaaa-0009")
            let own = try await Self.cut(t, bargain.id, token: s.buyer, device: "device-own-0001")
            let sameDevice = try await Self.cut(t, bargain.id, token: other, device: "device-aaaa-0001")
            let noDevice = try await t.postJSON("/api/v1/bargains/\(bargain.id)/cut", "{}", token: other)
            // the same helper on another member's bargain of this activity: over the daily limit of one
            let thirdToken = try await t.quickMember("13600000004")
            let third = try await Self.start(t, activity, token: thirdToken)
            let overLimit = try await Self.cut(t, third.id, token: helper, device: "device-aaaa-0007")

            // check: each refused with its reason; the price is where the first cut left it
            #expect(again.status == .conflict && again.error?.code == "bargain.already_cut")
            #expect(own.status == .conflict && own.error?.code == "bargain.own")
            #expect(sameDevice.status == .conflict && sameDevice.error?.code == "bargain.device_used")
            #expect(noDevice.status == .badRequest && noDevice.error?.code == "bargain.device_missing")
            #expect(overLimit.status == .tooManyRequests && overLimit.error?.code == "bargain.daily_limit")
            let fresh = try #require(try await BargainRecord.find(bargain.id, on: t.app.db))
            #expect(fresh.currentPrice == priceAfterFirst && fresh.helpers == 1)
            #expect(try await BargainCut.query(on: t.app.db).count() == 1)
        }
    }

    @Test func concurrentCutsNeverGoUnderTheFloor() async throws {
        try await withMallApp { t in
            // setup: at most five cuts; twelve helpers
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.activity(t, s, cuts: 5)
            let bargain = try await Self.start(t, activity, token: s.buyer)
            var helpers: [String] = []
            for index in 0..<12 { helpers.append(try await t.quickMember("136000001\(String(format: "%02d", index))")) }

            // act: all at once
            let statuses = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { tasks in
                for (index, token) in helpers.enumerated() {
                    tasks.addTask {
                        let response = try await Self.cut(t, bargain.id, token: token, device: "device-\(index)-concurrent")
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await tasks.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: five cuts took it to the floor exactly; every other was refused, none went below
            let fresh = try #require(try await BargainRecord.find(bargain.id, on: t.app.db))
            let cuts = try await BargainCut.query(on: t.app.db).all()
            #expect(statuses.filter { $0.0 == .ok }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0.0 == .conflict }.allSatisfy { ["bargain.finished", "bargain.changed"].contains($0.1) }, "\(statuses)")
            #expect(fresh.currentPrice == 4_900 && fresh.cutsLeft == 0)
            #expect(cuts.count == 5 && cuts.map(\.amount).reduce(0, +) == 5_000)
        }
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let (start, end) = PromotionTests.window(t)
            let sku = s.milk.skus[0].id
            for (json, field) in [
                (#"{"name":"x","skuId":"\#(sku)","floorPriceFen":9900,"maxCuts":3,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "floorPriceFen"),
                (#"{"name":"x","skuId":"\#(sku)","floorPriceFen":-1,"maxCuts":3,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "floorPriceFen"),
                (#"{"name":"x","skuId":"\#(sku)","floorPriceFen":100,"maxCuts":0,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "maxCuts"),
                (#"{"name":"x","skuId":"\#(sku)","floorPriceFen":100,"maxCuts":3,"dailyCutLimit":0,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "dailyCutLimit"),
                (#"{"name":"x","skuId":"\#(UUID())","floorPriceFen":100,"maxCuts":3,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "skuId"),
            ] {
                let response = try await t.postJSON("/api/v1/merchant/bargains", json, token: s.f.shopAToken)
                #expect(response.status == .unprocessableEntity, "\(json)")
                #expect(response.error?.details.map(\.field).contains(field) == true, "\(response.body.string)")
            }
            #expect(try await BargainActivity.query(on: t.app.db).count() == 0)
            // Someone else's bargain cannot be paid; a made-up one neither.
            let activity = try await Self.activity(t, s)
            let bargain = try await Self.start(t, activity, token: s.buyer)
            let other = try await GroupBuyTests.member(t, "13600000002")
            let foreign = try await t.postJSON("/api/v1/checkout", #"{"addressId":"\#(other.address)","bargainId":"\#(bargain.id)"}"#, token: other.token)
            #expect(foreign.status == .unprocessableEntity)
            let unknown = try await t.postJSON("/api/v1/checkout", #"{"addressId":"\#(s.address)","bargainId":"\#(UUID())"}"#, token: s.buyer)
            #expect(unknown.status == .unprocessableEntity)
            #expect(try await Order.query(on: t.app.db).count() == 0)
            #expect(try await t.postJSON("/api/v1/bargains", #"{"activityId":"\#(UUID())"}"#, token: s.buyer).status == .notFound)
            #expect(try await BargainRecord.query(on: t.app.db).count() == 1)
        }
    }

    @Test func aShopSeesAndChangesOnlyItsOwnBargains() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.activity(t, s)
            #expect(try await t.get("/api/v1/merchant/bargains", token: s.f.shopBToken).content.decode([BargainActivityDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/bargains/\(activity.id)/stop", "{}", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.get("/api/v1/merchant/bargains/\(activity.id)/results", token: s.f.shopBToken).status == .notFound)
            #expect(try await BargainActivity.find(activity.id, on: t.app.db)?.status == "active")
            #expect(try await t.postJSON("/api/v1/admin/bargains/\(activity.id)/stop", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await t.postJSON("/api/v1/bargains", #"{"activityId":"\#(activity.id)"}"#, token: s.buyer).status == .conflict)
        }
    }
}
