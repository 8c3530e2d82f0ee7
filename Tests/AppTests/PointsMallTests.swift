import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct PointsMallTests {
    struct Mall {
        let boss: String
        let coupon: CouponTemplateDTO
        let item: PointsMallItemDTO
    }

    /// The operator's 无门槛5元 coupon and a points-mall item for it.
    static func setUp(_ t: TestContext, price: Int64 = 300, stock: Int64 = 5, perMemberLimit: Int64? = 2,
                      coupon: String = #"{"name":"积分券","kind":"no_threshold","amountOffFen":500,"validDays":30,"claimable":false}"#,
                      window: String = "") async throws -> Mall {
        try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
        let boss = try await t.staffToken("boss", console: "platform")
        let template = try await CouponTests.createCoupon(t, coupon, token: boss)
        let limit = perMemberLimit.map(String.init) ?? "null"
        let item = try await createItem(t, #"{"kind":"coupon","name":"无门槛5元券","couponTemplateId":"\#(template.id)","pointsPrice":\#(price),"stock":\#(stock),"perMemberLimit":\#(limit)\#(window)}"#, token: boss)
        return Mall(boss: boss, coupon: template, item: item)
    }

    static func createItem(_ t: TestContext, _ json: String, token: String) async throws -> PointsMallItemDTO {
        let response = try await t.postJSON("/api/v1/admin/points-mall/items", json, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(PointsMallItemDTO.self)
    }

    /// A member with `points` given by the operator.
    static func member(_ t: TestContext, _ phone: String, points: Int64, boss: String) async throws -> (token: String, id: UUID) {
        let token = try await t.quickMember(phone)
        let id = try await t.memberID(phone: phone)
        if points > 0 {
            let given = try await t.postJSON("/api/v1/admin/members/\(id)/points", #"{"delta":\#(points),"reason":"活动奖励"}"#, token: boss)
            #expect(given.status == .ok, "\(given.body.string)")
        }
        return (token, id)
    }

    static func redeem(_ t: TestContext, _ item: UUID, token: String, key: String? = nil) async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = [:]
        if let key { headers.add(name: "Idempotency-Key", value: key) }
        return try await t.postJSON("/api/v1/points-mall/items/\(item)/redeem", "{}", token: token, headers: headers)
    }

    /// What a refusal must leave as it was.
    struct Snapshot: Equatable {
        let account: Int64
        let lots: Int64
        let movements: Int
        let available: Int64
        let redeemed: Int64
        let coupons: Int
        let issued: Int64
        let redemptions: Int
    }

    static func snapshot(_ t: TestContext, _ mall: Mall, member: UUID) async throws -> Snapshot {
        let db = t.app.db
        let item = try await PointsMallItem.find(mall.item.id, on: db)
        return Snapshot(account: try await MemberPointsAccount.find(member, on: db)?.balance ?? 0,
                        lots: try await PointLotRecord.query(on: db).filter(\.$memberID == member).all().reduce(0) { $0 + $1.remaining },
                        movements: try await PointMovementRecord.query(on: db).filter(\.$memberID == member).count(),
                        available: item?.available ?? -1, redeemed: item?.redeemed ?? -1,
                        coupons: try await MemberCouponRecord.query(on: db).filter(\.$memberID == member).count(),
                        issued: try await CouponTemplate.find(mall.coupon.id, on: db)?.issued ?? -1,
                        redemptions: try await PointsMallRedemption.query(on: db).count())
    }

    @Test func redeemingSpendsExactlyThePriceTakesAUnitAndIssuesTheCouponOncePerKey() async throws {
        try await withMallApp { t in
            // setup: 1 000 points, an item at 300 with 5 units, 2 per member
            let mall = try await Self.setUp(t)
            let (token, memberID) = try await Self.member(t, "13700000001", points: 1_000, boss: mall.boss)

            // act: redeem, then the same key again
            let first = try await Self.redeem(t, mall.item.id, token: token, key: "mall-1")
            let again = try await Self.redeem(t, mall.item.id, token: token, key: "mall-1")

            // check: 700 left, one unit gone, one coupon from the points mall, one movement 积分兑换 −300
            #expect(first.status == .created, "\(first.body.string)")
            let redemption = try first.content.decode(PointsMallRedemptionDTO.self)
            #expect(redemption.points == 300)
            #expect(redemption.pointsLeft == 700)
            #expect(again.status == .ok)
            #expect(try again.content.decode(PointsMallRedemptionDTO.self).id == redemption.id)
            var now = try await Self.snapshot(t, mall, member: memberID)
            #expect(now.account == 700 && now.lots == 700)
            #expect(now.available == 4 && now.redeemed == 1)
            #expect(now.coupons == 1 && now.issued == 1 && now.redemptions == 1)
            let coupon = try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == memberID).first()
            #expect(coupon?.source == "points_mall")
            #expect(coupon?.id == redemption.memberCouponId)
            let spent = try await PointMovementRecord.query(on: t.app.db).filter(\.$memberID == memberID).filter(\.$reason == "mall_redeem").all()
            #expect(spent.map(\.delta) == [-300])
            let mine = try await t.get("/api/v1/me/points", token: token).content.decode(MemberPointsDTO.self)
            #expect(mine.points == 700)
            #expect(mine.movements.map(\.reasonText).sorted() == ["平台调整", "积分兑换"].sorted())

            // A second redemption (another key), then the member's limit of 2: 409 and nothing changes.
            #expect(try await Self.redeem(t, mall.item.id, token: token, key: "mall-2").status == .created)
            let before = try await Self.snapshot(t, mall, member: memberID)
            #expect(before.account == 400 && before.available == 3 && before.coupons == 2)
            let over = try await Self.redeem(t, mall.item.id, token: token, key: "mall-3")
            #expect(over.status == .conflict)
            #expect(over.error?.code == "points_mall.member_limit")
            now = try await Self.snapshot(t, mall, member: memberID)
            #expect(now == before)

            // The member's redemptions, newest first; the public list shows what is left.
            let list = try await t.get("/api/v1/points-mall/redemptions", token: token).content.decode([PointsMallRedemptionDTO].self)
            #expect(list.count == 2)
            #expect(list.allSatisfy { $0.pointsLeft == 400 && $0.points == 300 && $0.name == "无门槛5元券" })
            let items = try await t.get("/api/v1/points-mall/items").content.decode([PointsMallItemDTO].self)
            #expect(items.map(\.available) == [3])
            #expect(items.first?.summary.contains("5") == true)
            // The same key for another item is refused.
            let other = try await Self.createItem(t, #"{"kind":"coupon","name":"另一件","couponTemplateId":"\#(mall.coupon.id)","pointsPrice":1,"stock":1}"#, token: mall.boss)
            let reused = try await Self.redeem(t, other.id, token: token, key: "mall-1")
            #expect(reused.status == .conflict)
            #expect(reused.error?.code == "idempotency_key_reused")
        }
    }

    @Test func everyRefusalChangesNothing() async throws {
        try await withMallApp { t in
            // setup: an item at 300 with 1 unit, no member limit, the coupon at most 1 per member
            let mall = try await Self.setUp(t, stock: 2, perMemberLimit: nil,
                                            coupon: #"{"name":"积分券","kind":"no_threshold","amountOffFen":500,"validDays":30,"perMember":1,"claimable":false}"#)
            let (poor, poorID) = try await Self.member(t, "13700000002", points: 299, boss: mall.boss)
            let (rich, richID) = try await Self.member(t, "13700000003", points: 10_000, boss: mall.boss)
            func refused(_ token: String, _ member: UUID, status: HTTPStatus, code: String, item: UUID? = nil) async throws {
                let before = try await Self.snapshot(t, mall, member: member)
                let response = try await Self.redeem(t, item ?? mall.item.id, token: token)
                #expect(response.status == status, "\(code): \(response.body.string)")
                #expect(response.error?.code == code)
                #expect(try await Self.snapshot(t, mall, member: member) == before, "\(code)")
            }

            // Too few points.
            try await refused(poor, poorID, status: .conflict, code: "points_insufficient")
            // The coupon's own per-member limit, after one redemption: the points and the unit come back.
            #expect(try await Self.redeem(t, mall.item.id, token: rich).status == .created)
            try await refused(rich, richID, status: .conflict, code: "coupon_member_limit")
            #expect(try await Self.snapshot(t, mall, member: richID).account == 9_700)
            // Paused, then stopped (and a stopped item cannot come back).
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(mall.item.id)/pause", "{}", token: mall.boss).status == .ok)
            try await refused(poor, poorID, status: .conflict, code: "points_mall.paused")
            #expect(try await t.get("/api/v1/points-mall/items").content.decode([PointsMallItemDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(mall.item.id)/pause", "{}", token: mall.boss).status == .conflict)
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(mall.item.id)/resume", "{}", token: mall.boss).status == .ok)
            #expect(try await t.postJSON("/api/v1/admin/points-mall/items/\(mall.item.id)/stop", "{}", token: mall.boss).status == .ok)
            try await refused(rich, richID, status: .conflict, code: "points_mall.stopped")
            let resumed = try await t.postJSON("/api/v1/admin/points-mall/items/\(mall.item.id)/resume", "{}", token: mall.boss)
            #expect(resumed.status == .conflict)
            #expect(resumed.error?.code == "points_mall.status")
            // Not started yet, and ended.
            let now = t.clock.now()
            let formatter = ISO8601DateFormatter()
            let later = try await Self.createItem(t, #"{"kind":"coupon","name":"明日兑换","couponTemplateId":"\#(mall.coupon.id)","pointsPrice":1,"stock":1,"startsAt":"\#(formatter.string(from: now.addingTimeInterval(3_600)))","endsAt":"\#(formatter.string(from: now.addingTimeInterval(7_200)))"}"#, token: mall.boss)
            try await refused(poor, poorID, status: .conflict, code: "points_mall.not_started", item: later.id)
            t.clock.advance(seconds: 7_200)
            let poorAgain = try await DistributionTests.token(t, poorID)
            try await refused(poorAgain, poorID, status: .conflict, code: "points_mall.ended", item: later.id)
            // Sold out.
            let bossAgain = try await t.staffToken("boss", console: "platform")
            let single = try await Self.createItem(t, #"{"kind":"coupon","name":"最后一张","couponTemplateId":"\#(mall.coupon.id)","pointsPrice":1,"stock":1}"#, token: bossAgain)
            #expect(try await Self.redeem(t, single.id, token: poorAgain).status == .created)
            let richAgain = try await DistributionTests.token(t, richID)
            try await refused(richAgain, richID, status: .conflict, code: "points_mall.sold_out", item: single.id)
            // No such item, no login, a bad key.
            try await refused(richAgain, richID, status: .notFound, code: "not_found", item: UUID())
            #expect(try await t.postJSON("/api/v1/points-mall/items/\(mall.item.id)/redeem", "{}").status == .unauthorized)
            let badKey = try await Self.redeem(t, mall.item.id, token: richAgain, key: String(repeating: "k", count: 65))
            #expect(badKey.status == .badRequest)
        }
    }

    @Test func manyMembersRacingForTheLastUnitGetExactlyOne() async throws {
        try await withMallApp { t in
            // setup: one unit, eight members with points for it
            let mall = try await Self.setUp(t, stock: 1)
            var members: [(token: String, id: UUID)] = []
            for index in 0..<8 { members.append(try await Self.member(t, "1370001\(String(format: "%04d", index))", points: 1_000, boss: mall.boss)) }

            // act: all at once
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for member in members {
                    group.addTask {
                        let response = try await Self.redeem(t, mall.item.id, token: member.token)
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: one redemption, seven sold out; only the winner paid
            #expect(results.filter { $0.0 == .created }.count == 1, "\(results)")
            #expect(results.filter { $0.0 == .conflict && $0.1 == "points_mall.sold_out" }.count == 7, "\(results)")
            let item = try await PointsMallItem.find(mall.item.id, on: t.app.db)
            #expect(item?.available == 0 && item?.redeemed == 1)
            #expect(try await MemberCouponRecord.query(on: t.app.db).count() == 1)
            var balances: [Int64] = []
            for member in members { balances.append(try await MemberPointsAccount.find(member.id, on: t.app.db)?.balance ?? -1) }
            #expect(balances.sorted() == [700] + Array(repeating: 1_000, count: 7))
        }
    }

    @Test func aMemberWithPointsForOneFiringSeveralAtOnceGetsOne() async throws {
        try await withMallApp { t in
            // setup: 300 points, an item at 300 with plenty of units and no member limit
            let mall = try await Self.setUp(t, stock: 10, perMemberLimit: nil)
            let (token, memberID) = try await Self.member(t, "13700000009", points: 300, boss: mall.boss)

            // act: six redemptions at once, each with its own key
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let response = try await Self.redeem(t, mall.item.id, token: token, key: "burst-\(index)")
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: one redemption, five refused for points; the balance is exactly zero, never below
            #expect(results.filter { $0.0 == .created }.count == 1, "\(results)")
            #expect(results.filter { $0.0 == .conflict && $0.1 == "points_insufficient" }.count == 5, "\(results)")
            let now = try await Self.snapshot(t, mall, member: memberID)
            #expect(now.account == 0 && now.lots == 0)
            #expect(now.available == 9 && now.redeemed == 1 && now.coupons == 1 && now.redemptions == 1)
        }
    }

    @Test func theOperatorsItemsAreChecked() async throws {
        try await withMallApp { t in
            let mall = try await Self.setUp(t)
            let shop = try await t.createMerchant("甲店")
            let shopCoupon = try await CouponService(db: t.app.db, now: t.clock.now()).create(CouponTemplateInput(
                name: "店铺券", kind: "no_threshold", thresholdFen: nil, amountOffFen: 100, payRateBp: nil, maximumOffFen: nil, scope: "all", scopeIds: nil,
                startsAt: nil, endsAt: nil, validDays: 7, totalCount: nil, perMember: nil, perMemberPerDay: nil, perDay: nil, paysCommission: true,
                claimable: true), merchantID: shop)
            let valid = #""kind":"coupon","name":"券","couponTemplateId":"\#(mall.coupon.id)""#
            let cases: [(String, String)] = [
                (#"{\#(valid),"pointsPrice":0,"stock":1}"#, "pointsPrice"),
                (#"{\#(valid),"pointsPrice":10000001,"stock":1}"#, "pointsPrice"),
                (#"{\#(valid),"pointsPrice":-9223372036854775808,"stock":1}"#, "pointsPrice"),
                (#"{\#(valid),"pointsPrice":1,"stock":0}"#, "stock"),
                (#"{\#(valid),"pointsPrice":1,"stock":1000001}"#, "stock"),
                (#"{\#(valid),"pointsPrice":1,"stock":1,"perMemberLimit":0}"#, "perMemberLimit"),
                (#"{\#(valid),"pointsPrice":1,"stock":1,"startsAt":"2030-01-02T00:00:00Z","endsAt":"2030-01-01T00:00:00Z"}"#, "endsAt"),
                (#"{\#(valid),"pointsPrice":1,"stock":1,"startsAt":"tomorrow"}"#, "startsAt"),
                (#"{"kind":"coupon","name":"  ","couponTemplateId":"\#(mall.coupon.id)","pointsPrice":1,"stock":1}"#, "name"),
                (#"{"kind":"product","name":"券","couponTemplateId":"\#(mall.coupon.id)","pointsPrice":1,"stock":1}"#, "kind"),
                (#"{"kind":"coupon","name":"券","couponTemplateId":"\#(try shopCoupon.requireID())","pointsPrice":1,"stock":1}"#, "couponTemplateId"),
                (#"{"kind":"coupon","name":"券","couponTemplateId":"\#(UUID())","pointsPrice":1,"stock":1}"#, "couponTemplateId"),
                (#"{"kind":"coupon","name":"券","pointsPrice":1,"stock":1}"#, "couponTemplateId"),
            ]
            for (json, field) in cases {
                let response = try await t.postJSON("/api/v1/admin/points-mall/items", json, token: mall.boss)
                #expect(response.status == .unprocessableEntity, "\(json): \(response.body.string)")
                #expect(response.error?.details.map(\.field).contains(field) == true, "\(json): \(response.body.string)")
            }
            #expect(try await PointsMallItem.query(on: t.app.db).count() == 1)
            let list = try await t.get("/api/v1/admin/points-mall/items", token: mall.boss).content.decode([PointsMallItemDTO].self)
            #expect(list.map(\.id) == [mall.item.id])
            let buyer = try await t.quickMember("13700000010")
            #expect(try await t.get("/api/v1/admin/points-mall/items", token: buyer).status == .forbidden)
            #expect(try await t.get("/api/v1/admin/points-mall/items").status == .unauthorized)
            #expect(try await t.get("/api/v1/points-mall/redemptions").status == .unauthorized)
        }
    }

    @Test func theMemberRedeemsOnThePageAndTheOperatorAddsAnItemOnTheConsole() async throws {
        try await withMallApp { t in
            // setup: a signed-in member with 1 000 points; the operator signed in on the console
            let mall = try await Self.setUp(t)
            _ = try await t.registerMember("13600000001")
            let memberID = try await t.memberID(phone: "13600000001")
            _ = try await t.postJSON("/api/v1/admin/members/\(memberID)/points", #"{"delta":1000,"reason":"活动奖励"}"#, token: mall.boss)
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])

            // act + check: the points page links to the mall; the mall lists the item with its price and stock
            #expect(try await client.get("/me/points").body.string.contains("/points-mall"))
            let page = try await client.get("/points-mall")
            #expect(page.status == .ok)
            let html = page.body.string
            #expect(html.contains("无门槛5元券") && html.contains("300 积分") && html.contains("剩余 5"))
            #expect(html.contains("1000"))
            let marker = try #require(html.range(of: #"name="key" value=""#))
            let key = String(html[marker.upperBound...].prefix(36))
            #expect(UUID(uuidString: key) != nil)
            // Posting the form twice (a double click) redeems once.
            let posted = try await client.post("/points-mall/items/\(mall.item.id)/redeem", form: ["key": key])
            #expect(posted.status == .seeOther || posted.status == .found)
            _ = try await client.post("/points-mall/items/\(mall.item.id)/redeem", form: ["key": key])
            let after = try await client.get("/points-mall").body.string
            #expect(after.contains("兑换成功"))
            #expect(after.contains("剩余 4"))
            #expect(try await MemberPointsAccount.find(memberID, on: t.app.db)?.balance == 700)
            #expect(try await client.get("/me/points").body.string.contains("积分兑换"))
            // Without the CSRF token nothing happens.
            let forged = try await client.post("/points-mall/items/\(mall.item.id)/redeem", form: ["key": "forged-key"], includeCSRF: false)
            #expect(forged.status == .forbidden)
            #expect(try await PointsMallRedemption.query(on: t.app.db).count() == 1)

            // The operator's console: the item, a new one from the form, pause.
            let console = try await boss.get("/admin/points-mall")
            #expect(console.status == .ok)
            #expect(console.body.string.contains("无门槛5元券") && console.body.string.contains("4 / 5"))
            _ = try await boss.post("/admin/points-mall", form: ["name": "新品券", "couponTemplateId": mall.coupon.id.uuidString, "pointsPrice": "50",
                                                               "stock": "20", "perMemberLimit": "1"])
            let created = try await PointsMallItem.query(on: t.app.db).filter(\.$name == "新品券").first()
            #expect(created?.pointsPrice == 50 && created?.stock == 20 && created?.perMemberLimit == 1)
            _ = try await boss.post("/admin/points-mall", form: ["name": "坏的", "couponTemplateId": mall.coupon.id.uuidString, "pointsPrice": "0", "stock": "1"])
            #expect(try await boss.get("/admin/points-mall").body.string.contains("所需积分应为"))
            _ = try await boss.post("/admin/points-mall/\(mall.item.id)/pause", form: [:])
            #expect(try await PointsMallItem.find(mall.item.id, on: t.app.db)?.status == "paused")
            #expect(try await client.get("/admin/points-mall").status != .ok)
        }
    }
}
