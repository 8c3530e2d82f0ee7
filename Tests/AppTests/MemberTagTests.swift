import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

/// Member tags (manual and by rule), sending coupons to a tag, and the birthday coupon.
@Suite struct MemberTagAppTests {
    static func createTag(_ t: TestContext, _ json: String, token: String) async throws -> MemberTagDTO {
        let response = try await t.postJSON("/api/v1/admin/member-tags", json, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(MemberTagDTO.self)
    }

    static func recompute(_ t: TestContext, _ tag: UUID, token: String) async throws -> MemberTagRecomputeDTO {
        let response = try await t.postJSON("/api/v1/admin/member-tags/\(tag)/recompute", "{}", token: token)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode(MemberTagRecomputeDTO.self)
    }

    static func memberIDs(_ t: TestContext, _ tag: UUID) async throws -> Set<UUID> {
        Set(try await MemberTagMember.query(on: t.app.db).filter(\.$tagID == tag).all().map(\.memberID))
    }

    @Test func theOperatorCreatesChangesAndDeletesTagsAndAddsMembersByHand() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            _ = try await t.quickMember("13600000001")
            _ = try await t.quickMember("13600000002")
            let a = try await t.memberID(phone: "13600000001")
            let b = try await t.memberID(phone: "13600000002")

            // act: a manual tag, then bad ones
            let vip = try await Self.createTag(t, #"{"name":" 重点客户 "}"#, token: f.operatorToken)
            let duplicate = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"重点客户"}"#, token: f.operatorToken)
            let blank = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"   "}"#, token: f.operatorToken)
            let empty = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"空规则","rule":{}}"#, token: f.operatorToken)
            let days = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"天数","rule":{"inactiveDays":3651}}"#, token: f.operatorToken)
            let category = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"类目","rule":{"categoryId":"\#(UUID())"}}"#, token: f.operatorToken)
            let shop = try await t.postJSON("/api/v1/admin/member-tags", #"{"name":"商家"}"#, token: f.shopAToken)

            // check: one tag, each refusal clear and nothing written
            #expect(vip.name == "重点客户")
            #expect(vip.kind == "manual")
            #expect(vip.members == 0)
            #expect(duplicate.status == .conflict)
            #expect(blank.status == .unprocessableEntity)
            #expect(empty.status == .unprocessableEntity)
            #expect(empty.body.string.contains("至少要有一个条件"))
            #expect(days.status == .unprocessableEntity)
            #expect(days.body.string.contains("rule.inactiveDays"))
            #expect(category.status == .unprocessableEntity)
            #expect(shop.status == .forbidden)
            #expect(try await MemberTag.query(on: t.app.db).count() == 1)

            // act: members by id and phone, an unknown one, a repeat
            let added = try await t.postJSON("/api/v1/admin/member-tags/\(vip.id)/members",
                                             #"{"memberIds":["\#(a)","\#(UUID())"],"phones":["13600000002","13900000009"]}"#, token: f.operatorToken)
            #expect(added.status == .ok, "\(added.body.string)")
            let result = try added.content.decode(MemberTagAddResultDTO.self)
            #expect(result.added == 2)
            #expect(result.notFound.count == 2)
            #expect(result.notFound.contains("139****0009"))
            let again = try await t.postJSON("/api/v1/admin/member-tags/\(vip.id)/members", #"{"memberIds":["\#(a)"]}"#, token: f.operatorToken)
                .content.decode(MemberTagAddResultDTO.self)
            #expect(again.added == 0)
            #expect(again.alreadyTagged == 1)
            #expect(try await t.postJSON("/api/v1/admin/member-tags/\(vip.id)/members", #"{}"#, token: f.operatorToken).status == .unprocessableEntity)
            #expect(try await Self.memberIDs(t, vip.id) == [a, b])

            // check: the members page masks phones; the list counts
            let page = try await t.get("/api/v1/admin/member-tags/\(vip.id)/members?limit=1", token: f.operatorToken).content.decode(MemberTagMembersPageDTO.self)
            #expect(page.total == 2)
            #expect(page.items.count == 1)
            #expect(page.nextOffset == 1)
            #expect(page.items.allSatisfy { $0.phone.contains("****") && $0.source == "manual" })
            #expect(try await t.get("/api/v1/admin/member-tags/\(vip.id)/members?limit=0", token: f.operatorToken).status == .unprocessableEntity)
            let listed = try await t.get("/api/v1/admin/member-tags", token: f.operatorToken).content.decode([MemberTagDTO].self)
            #expect(listed.map(\.members) == [2])
            // A shop reads the tags (to send to them) but cannot change one.
            #expect(try await t.get("/api/v1/merchant/member-tags", token: f.shopAToken).content.decode([MemberTagDTO].self).count == 1)
            #expect(try await t.send(.DELETE, "/api/v1/admin/member-tags/\(vip.id)", token: f.shopAToken).status == .forbidden)

            // act: rename, a rule for a manual tag, remove a member
            let renamed = try await t.send(.PATCH, "/api/v1/admin/member-tags/\(vip.id)", #"{"name":"大客户"}"#, token: f.operatorToken)
            #expect(renamed.status == .ok)
            #expect(try renamed.content.decode(MemberTagDTO.self).name == "大客户")
            let ruled = try await t.send(.PATCH, "/api/v1/admin/member-tags/\(vip.id)", #"{"rule":{"minSpentFen":100}}"#, token: f.operatorToken)
            #expect(ruled.status == .unprocessableEntity)
            #expect(try await t.send(.DELETE, "/api/v1/admin/member-tags/\(vip.id)/members/\(a)", token: f.operatorToken).status == .noContent)
            #expect(try await t.send(.DELETE, "/api/v1/admin/member-tags/\(vip.id)/members/\(a)", token: f.operatorToken).status == .notFound)
            #expect(try await Self.memberIDs(t, vip.id) == [b])
            #expect(try await t.postJSON("/api/v1/admin/member-tags/\(vip.id)/recompute", "{}", token: f.operatorToken).status == .conflict)

            // act: delete
            #expect(try await t.send(.DELETE, "/api/v1/admin/member-tags/\(vip.id)", token: f.operatorToken).status == .noContent)
            #expect(try await t.get("/api/v1/admin/member-tags/\(vip.id)", token: f.operatorToken).status == .notFound)
            #expect(try await MemberTagMember.query(on: t.app.db).count() == 0)
        }
    }

    /// Four members: A completed ¥107 of milk (母婴 › 奶粉), B received ¥50 of cream (美妆), C paid
    /// ¥211 of milk not yet received, D bought nothing.
    @Test func ruleTagsHoldExactlyTheMembersMeetingEveryCondition() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            for phone in ["13600000002", "13600000003", "13600000004"] { _ = try await t.quickMember(phone) }
            let (a, b, c, d) = (try await t.memberID(phone: "13600000001"), try await t.memberID(phone: "13600000002"),
                                try await t.memberID(phone: "13600000003"), try await t.memberID(phone: "13600000004"))
            let first = try await t.postJSON("/api/v1/checkout", OrderFlowTests.checkoutJSON(s, milk: 1, cream: 1), token: s.buyer)
            #expect(first.status == .created, "\(first.body.string)")
            try await PromotionTests.pay(t, try first.content.decode(CheckoutResultDTO.self), token: s.buyer)
            t.clock.advance(seconds: 60)
            let second = try await t.postJSON("/api/v1/checkout", #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}],"addressId":"\#(s.address)"}"#, token: s.buyer)
            #expect(second.status == .created, "\(second.body.string)")
            try await PromotionTests.pay(t, try second.content.decode(CheckoutResultDTO.self), token: s.buyer)
            let orders = try await Order.query(on: t.app.db).sort(\.$placedAt).sort(\.$payable, .descending).all()
            #expect(orders.map(\.payable) == [10_700, 5_000, 21_100])
            let sql = try sqlDatabase(t.app.db)
            try await sql.raw("UPDATE orders SET state = 'completed' WHERE id = \(bind: orders[0].requireID())").run()
            try await sql.raw("UPDATE orders SET state = 'received', member_id = \(bind: b) WHERE id = \(bind: orders[1].requireID())").run()
            try await sql.raw("UPDATE orders SET member_id = \(bind: c) WHERE id = \(bind: orders[2].requireID())").run()

            // act: one tag per condition, and all three together
            let spent = try await Self.createTag(t, #"{"name":"消费满百","rule":{"minSpentFen":10000}}"#, token: s.f.operatorToken)
            let baby = try await Self.createTag(t, #"{"name":"母婴客","rule":{"categoryId":"\#(s.f.baby)"}}"#, token: s.f.operatorToken)
            let beauty = try await Self.createTag(t, #"{"name":"美妆客","rule":{"categoryId":"\#(s.f.beauty)"}}"#, token: s.f.operatorToken)
            let spent50 = try await Self.createTag(t, #"{"name":"消费满五十","rule":{"minSpentFen":5000}}"#, token: s.f.operatorToken)
            let sleeping = try await Self.createTag(t, #"{"name":"沉睡","rule":{"inactiveDays":30}}"#, token: s.f.operatorToken)
            let all = try await Self.createTag(t, #"{"name":"沉睡母婴大客","rule":{"minSpentFen":4000,"categoryId":"\#(s.f.baby)","inactiveDays":30}}"#,
                                               token: s.f.operatorToken)
            #expect(all.ruleSummary == "累计消费满 ¥40.00 且 买过「母婴」类目 且 30 天未活跃")
            let counts = try await MemberTagService.recomputeAll(t.app)

            // check: spent counts received/completed orders only; the category includes its sub-category;
            // nobody is inactive who joined within the window
            #expect(counts.tags == 6)
            #expect(try await Self.memberIDs(t, spent.id) == [a])
            #expect(try await Self.memberIDs(t, spent50.id) == [a, b])
            #expect(try await Self.memberIDs(t, baby.id) == [a, c])
            #expect(try await Self.memberIDs(t, beauty.id) == [b])
            #expect(try await Self.memberIDs(t, sleeping.id) == [])
            #expect(try await Self.memberIDs(t, all.id) == [])

            // act: 31 days on; C orders again today, D signs in today, B's app renews its token today
            // (still signed in); A's order is refunded ¥8
            t.clock.advance(seconds: 31 * 86_400)
            try await sql.raw("UPDATE orders SET placed_at = \(bind: t.clock.now()) WHERE id = \(bind: orders[2].requireID())").run()
            try await LoginAttempt(accountKey: "member:" + t.app.personalData.lookupHash("13600000004"), ip: "127.0.0.1", succeeded: true,
                                   at: t.clock.now()).create(on: t.app.db)
            let renewed = RefreshToken()
            renewed.tokenHash = Tokens.sha256Hex(Tokens.random())
            renewed.subjectKind = "member"
            renewed.subjectID = b
            renewed.createdAt = t.clock.now()
            renewed.expiresAt = t.clock.now().addingTimeInterval(86_400)
            renewed.familyID = UUID()
            try await renewed.create(on: t.app.db)
            try await sql.raw("UPDATE orders SET refunded_amount = 800 WHERE id = \(bind: orders[0].requireID())").run()
            let addedAt = try #require(try await MemberTagMember.query(on: t.app.db).filter(\.$tagID == spent50.id).filter(\.$memberID == b).first()?.addedAt)
            let boss = try await t.staffToken("boss", console: "platform")
            let spentResult = try await Self.recompute(t, spent.id, token: boss)
            _ = try await MemberTagService.recomputeAll(t.app)

            // check: A's ¥99 net is below ¥100 and leaves; A slept 31 days; B stayed signed in, C ordered and D signed in
            #expect(spentResult.added == 0)
            #expect(spentResult.removed == 1)
            #expect(spentResult.members == 0)
            #expect(try await Self.memberIDs(t, spent.id) == [])
            #expect(try await Self.memberIDs(t, sleeping.id) == [a])
            #expect(try await Self.memberIDs(t, all.id) == [a])
            #expect(try await Self.memberIDs(t, spent50.id) == [a, b])
            // A member who stays keeps the time they joined the tag.
            #expect(try await MemberTagMember.query(on: t.app.db).filter(\.$tagID == spent50.id).filter(\.$memberID == b).first()?.addedAt == addedAt)
            #expect(!(try await Self.memberIDs(t, sleeping.id).contains(d)))

            // A rule tag's members follow the rule only.
            let byHand = try await t.postJSON("/api/v1/admin/member-tags/\(spent50.id)/members", #"{"memberIds":["\#(d)"]}"#, token: boss)
            #expect(byHand.status == .conflict)
            // A changed rule takes effect at the next recompute.
            let changed = try await t.send(.PATCH, "/api/v1/admin/member-tags/\(beauty.id)", #"{"rule":{"categoryId":"\#(s.f.milk)"}}"#, token: boss)
            #expect(changed.status == .ok, "\(changed.body.string)")
            let moved = try await Self.recompute(t, beauty.id, token: boss)
            #expect((moved.added, moved.removed) == (2, 1))
            #expect(try await Self.memberIDs(t, beauty.id) == [a, c])
        }
    }

    @Test func aCouponSentToATagReachesEachMemberOnceWithinTheLimits() async throws {
        try await withMallApp { t in
            // setup: a tag of three members; the platform's coupon one per member
            let f = try await CatalogFixture.make(t)
            var members: [UUID] = []
            for phone in ["13600000001", "13600000002", "13600000003"] {
                _ = try await t.quickMember(phone)
                members.append(try await t.memberID(phone: phone))
            }
            let tag = try await Self.createTag(t, #"{"name":"老客"}"#, token: f.operatorToken)
            let ids = members.map { #""\#($0)""# }.joined(separator: ",")
            _ = try await t.postJSON("/api/v1/admin/member-tags/\(tag.id)/members", #"{"memberIds":[\#(ids)]}"#, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"老客券","kind":"no_threshold","amountOffFen":500,"validDays":7,"perMember":1,"claimable":false}"#,
                                                            token: f.operatorToken)

            // act: to the tag (queued, then the worker), again, and to no tag
            let sent = try await CouponSendJobTests.queue(t, coupon: coupon.id, tag: tag.id, token: f.operatorToken)
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$templateID == coupon.id).count() == 0)
            _ = try await CouponSendWorker.run(t.app)
            let again = try await CouponSendJobTests.queue(t, coupon: coupon.id, tag: tag.id, token: f.operatorToken)
            _ = try await CouponSendWorker.run(t.app)
            let unknown = try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"tagId":"\#(UUID())"}"#, token: f.operatorToken)

            // check: each member once; the repeat skipped per member within the limit
            let first = try await CouponSendJobTests.job(t, sent.id, token: f.operatorToken)
            #expect((first.status, first.total, first.issued, first.skipped) == ("done", 3, 3, 0))
            let second = try await CouponSendJobTests.job(t, again.id, token: f.operatorToken)
            #expect((second.status, second.issued, second.skipped) == ("done", 0, 3))
            #expect(unknown.status == .unprocessableEntity)
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$templateID == coupon.id).count() == 3)

            // A shop sends its own coupon to the tag; not another's.
            let shopCoupon = try await CouponTests.createCoupon(t, #"{"name":"甲店券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#,
                                                                token: f.shopAToken, path: "/api/v1/merchant/coupons")
            let byShop = try await CouponSendJobTests.queue(t, coupon: shopCoupon.id, tag: tag.id, token: f.shopAToken, shop: true)
            #expect(try await t.postJSON("/api/v1/merchant/coupons/\(shopCoupon.id)/send", #"{"tagId":"\#(tag.id)"}"#, token: f.shopBToken).status == .notFound)
            // A member who joins the tag after the send was made is not in it, whatever their id.
            t.clock.advance(seconds: 1)
            _ = try await t.quickMember("13600000004")
            let late = try await t.memberID(phone: "13600000004")
            _ = try await t.postJSON("/api/v1/admin/member-tags/\(tag.id)/members", #"{"memberIds":["\#(late)"]}"#, token: f.operatorToken)
            _ = try await CouponSendWorker.run(t.app)
            let shopJob = try await CouponSendJobTests.job(t, byShop.id, token: f.shopAToken, shop: true)
            #expect((shopJob.status, shopJob.total, shopJob.issued, shopJob.skipped) == ("done", 3, 3, 0))
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$templateID == shopCoupon.id).count() == 3)
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == late).count() == 0)
        }
    }

    static let settingsJSON = PointsTests.settingsJSON()

    @Test func birthdaysAreSetOnceAndValidated() async throws {
        try await withMallApp { t in
            let token = try await t.quickMember("13600000001")
            let member = try await t.memberID(phone: "13600000001")
            // The test clock is 2026-11-18 in China.
            for bad in [#"{"month":13,"day":1}"#, #"{"month":0,"day":1}"#, #"{"month":2,"day":30}"#, #"{"month":4,"day":31}"#,
                        #"{"month":6,"day":31}"#, #"{"month":-1,"day":1}"#, #"{"month":1}"#,
                        #"{"month":1,"day":0}"#, #"{"month":9223372036854775807,"day":1}"#, #"{"month":"x","day":1}"#] {
                let response = try await t.send(.PUT, "/api/v1/me/birthday", bad, token: token)
                #expect((400..<500).contains(response.status.code), "\(bad)")
                #expect(response.status != .ok)
            }
            #expect(try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":13,"day":1}"#, token: token).status == .unprocessableEntity)
            #expect(try await MemberBirthdayRecord.find(member, on: t.app.db) == nil)
            #expect(try await t.get("/api/v1/me/birthday", token: token).content.decode(BirthdayDTO.self).canSet)

            let set = try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":2,"day":29}"#, token: token)
            #expect(set.status == .ok, "\(set.body.string)")
            let moved = try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":11,"day":20}"#, token: token)
            #expect(moved.status == .conflict)
            let mine = try await t.get("/api/v1/me/birthday", token: token).content.decode(BirthdayDTO.self)
            #expect((mine.month, mine.day, mine.canSet) == (2, 29, false))
            #expect(try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":2,"day":29}"#).status == .unauthorized)

            // the operator clears it on the member's word: the member sets it once more
            _ = try await t.createStaff("care", role: .platformAdmin, merchantID: nil)
            let care = try await t.staffToken("care", console: "platform")
            #expect(try await t.send(.DELETE, "/api/v1/admin/members/\(UUID())/birthday", token: care).status == .notFound)
            #expect(try await t.send(.DELETE, "/api/v1/admin/members/\(member)/birthday", token: token).status == .forbidden)
            #expect(try await MemberBirthdayRecord.find(member, on: t.app.db) != nil)
            #expect(try await t.send(.DELETE, "/api/v1/admin/members/\(member)/birthday", token: care).status == .noContent)
            #expect(try await t.get("/api/v1/me/birthday", token: token).content.decode(BirthdayDTO.self).canSet)
            #expect(try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":11,"day":20}"#, token: token).status == .ok)
            #expect(try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":11,"day":21}"#, token: token).status == .conflict)
            let fixed = try await t.get("/api/v1/me/birthday", token: token).content.decode(BirthdayDTO.self)
            #expect((fixed.month, fixed.day, fixed.canSet) == (11, 20, false))
        }
    }

    @Test func theBirthdayJobSendsOnceAYearInTheMonthToLevelsWithThePerk() async throws {
        try await withMallApp { t in
            // setup: silver (the perk) from growth 100; A silver born in November, B regular in November,
            // C silver in December; the clock is in November
            let f = try await CatalogFixture.make(t)
            #expect(try await t.send(.PUT, "/api/v1/admin/members/settings", Self.settingsJSON, token: f.operatorToken).status == .ok)
            var members: [UUID] = []
            for (phone, month, growth) in [("13600000001", 11, 200), ("13600000002", 11, 0), ("13600000003", 12, 500)] {
                let token = try await t.quickMember(phone)
                let id = try await t.memberID(phone: phone)
                #expect(try await t.send(.PUT, "/api/v1/me/birthday", #"{"month":\#(month),"day":28}"#, token: token).status == .ok)
                try await PointsService(db: t.app.db, now: t.clock.now()).ensureAccount(id)
                try await sqlDatabase(t.app.db).raw("UPDATE member_points SET growth = \(bind: Int64(growth)) WHERE id = \(bind: id)").run()
                members.append(id)
            }
            #expect(try await BirthdayCoupons.run(t.app) == .init())
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"生日券","kind":"no_threshold","amountOffFen":1000,"validDays":30,"claimable":false}"#,
                                                            token: f.operatorToken)
            let shopCoupon = try await CouponTests.createCoupon(t, #"{"name":"甲店券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#,
                                                                token: f.shopAToken, path: "/api/v1/merchant/coupons")
            let refused = try await t.send(.PUT, "/api/v1/admin/members/birthday-settings", #"{"couponTemplateId":"\#(shopCoupon.id)"}"#, token: f.operatorToken)
            #expect(refused.status == .unprocessableEntity)
            let saved = try await t.send(.PUT, "/api/v1/admin/members/birthday-settings", #"{"couponTemplateId":"\#(coupon.id)"}"#, token: f.operatorToken)
            #expect(saved.status == .ok, "\(saved.body.string)")

            // act: the job, then twice at once, then the command's path again
            let first = try await BirthdayCoupons.run(t.app)
            async let x = BirthdayCoupons.run(t.app)
            async let y = BirthdayCoupons.run(t.app)
            let (second, third) = try await (x, y)

            // check: A only, once
            #expect(first == .init(issued: 1, skipped: 1))
            #expect(second.issued + third.issued == 0)
            func held(_ member: UUID) async throws -> Int {
                try await MemberCouponRecord.query(on: t.app.db).filter(\.$templateID == coupon.id).filter(\.$memberID == member).count()
            }
            #expect(try await held(members[0]) == 1)
            #expect(try await held(members[1]) == 0)
            #expect(try await held(members[2]) == 0)
            let mark = try #require(try await BirthdayCouponRecord.query(on: t.app.db).first())
            #expect(mark.year == 2026)
            #expect(try await MemberCouponRecord.find(mark.memberCouponID, on: t.app.db)?.source == "birthday")

            // December: C; a year on, in November: A again
            t.clock.advance(seconds: 20 * 86_400)
            #expect(try await BirthdayCoupons.run(t.app).issued == 1)
            #expect(try await held(members[2]) == 1)
            t.clock.advance(seconds: 345 * 86_400)
            #expect(BirthdayCoupons.today(t.clock.now()).year == 2027)
            #expect(BirthdayCoupons.today(t.clock.now()).month == 11)
            #expect(try await BirthdayCoupons.run(t.app).issued == 1)
            #expect(try await held(members[0]) == 2)
            #expect(try await BirthdayCoupons.run(t.app).issued == 0)
        }
    }

    @Test func theOperatorPageListsTagsAndTheMemberSetsABirthdayOnThePointsPage() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            _ = try await Self.createTag(t, #"{"name":"重点客户"}"#, token: f.operatorToken)
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            #expect(try await console.get("/admin").body.string.contains("/admin/member-tags"))
            _ = try await console.post("/admin/member-tags", form: ["name": "母婴客", "kind": "rule", "categoryId": f.baby.uuidString])
            let page = try await console.get("/admin/member-tags")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("重点客户"))
            #expect(page.body.string.contains("买过「母婴」类目"))

            _ = try await t.registerMember("13600000001")
            let member = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13600000001", "password": "Member2026"])
            #expect(try await member.get("/me/points").body.string.contains("birthday-form"))
            _ = try await member.post("/me/birthday", form: ["month": "2", "day": "30"])
            #expect(try await MemberBirthdayRecord.query(on: t.app.db).count() == 0)
            _ = try await member.post("/me/birthday", form: ["month": "6", "day": "1"])
            let after = try await member.get("/me/points").body.string
            #expect(after.contains("6 月 1 日"))
            #expect(!after.contains("birthday-form"))

            // the operator resets it by phone number; a bad or unknown number changes nothing
            #expect(try await console.get("/admin/member-tags").body.string.contains("birthday-reset-form"))
            _ = try await console.post("/admin/member-tags/birthday-reset", form: ["phone": "12345"])
            #expect(try await console.get("/admin/member-tags").body.string.contains("手机号格式不正确"))
            _ = try await console.post("/admin/member-tags/birthday-reset", form: ["phone": "13600000009"])
            #expect(try await console.get("/admin/member-tags").body.string.contains("没有使用这个手机号的会员"))
            #expect(try await MemberBirthdayRecord.query(on: t.app.db).count() == 1)
            _ = try await console.post("/admin/member-tags/birthday-reset", form: ["phone": "13600000001"])
            #expect(try await console.get("/admin/member-tags").body.string.contains("已重置 136****0001 的生日"))
            #expect(try await MemberBirthdayRecord.query(on: t.app.db).count() == 0)
            #expect(try await member.get("/me/points").body.string.contains("birthday-form"))
        }
    }
}
