import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

/// 发券任务: a coupon sent to a tag of any size by the worker, each member once, resumable, safe
/// with two workers, ending with the reason when the coupon runs out.
@Suite struct CouponSendJobTests {
    /// A tag holding `count` new members (written in bulk, as a rule tag's recompute would).
    static func bigTag(_ t: TestContext, _ name: String, count: Int, token: String) async throws -> (tag: UUID, members: [UUID]) {
        let tag = try await MemberTagAppTests.createTag(t, #"{"name":"\#(name)"}"#, token: token)
        var ids: [UUID] = []
        let now = t.clock.now()
        var offset = 0
        while offset < count {
            let chunk = min(500, count - offset)
            var members: [Member] = []
            var rows: [MemberTagMember] = []
            for index in offset..<(offset + chunk) {
                let member = Member()
                member.id = UUID()
                member.phoneCipher = "x"
                member.phoneHash = "\(name)-\(index)"
                member.nickname = "m"
                member.userAgreementVersion = "test"
                member.privacyPolicyVersion = "test"
                member.agreedAt = now
                member.createdAt = now
                members.append(member)
                let row = MemberTagMember()
                row.id = UUID()
                row.tagID = tag.id
                row.memberID = try member.requireID()
                row.addedAt = now
                row.source = "manual"
                rows.append(row)
                ids.append(try member.requireID())
            }
            let (newMembers, newRows) = (members, rows)
            try await t.app.db.transaction { db in
                try await newMembers.create(on: db)
                try await newRows.create(on: db)
            }
            offset += chunk
        }
        return (tag.id, ids)
    }

    static func queue(_ t: TestContext, coupon: UUID, tag: UUID, token: String, shop: Bool = false) async throws -> CouponSendJobDTO {
        let path = shop ? "/api/v1/merchant/coupons/\(coupon)/send" : "/api/v1/admin/coupons/\(coupon)/send"
        let response = try await t.postJSON(path, #"{"tagId":"\#(tag)"}"#, token: token)
        #expect(response.status == .accepted, "\(response.body.string)")
        return try response.content.decode(CouponSendJobDTO.self)
    }

    static func job(_ t: TestContext, _ id: UUID, token: String, shop: Bool = false) async throws -> CouponSendJobDTO {
        let response = try await t.get(shop ? "/api/v1/merchant/coupon-sends/\(id)" : "/api/v1/admin/coupon-sends/\(id)", token: token)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode(CouponSendJobDTO.self)
    }

    /// [coupons issued, distinct members holding one].
    static func issued(_ t: TestContext, _ template: UUID) async throws -> [Int] {
        let row = try await sqlDatabase(t.app.db).raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS coupons, CAST(COUNT(DISTINCT member_id) AS BIGINT) AS members FROM member_coupons WHERE template_id = \(bind: template)
            """).first()
        return [Int(try row?.decode(column: "coupons", as: Int64.self) ?? -1), Int(try row?.decode(column: "members", as: Int64.self) ?? -1)]
    }

    static let couponJSON = #"{"name":"老客回馈券","kind":"no_threshold","amountOffFen":500,"validDays":7,"perMember":1,"claimable":false}"#

    @Test func aTagOfSeveralBatchesGetsExactlyOneCouponEach() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let (tag, members) = try await Self.bigTag(t, "老客", count: 450, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, Self.couponJSON, token: f.operatorToken)

            // act: the send answers with a queued job and issues nothing
            let queued = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)

            // check
            #expect(queued.status == "queued")
            #expect(queued.statusLabel == "排队中")
            #expect(queued.total == 450)
            #expect((queued.issued, queued.skipped, queued.percent) == (0, 0, 0))
            #expect(queued.tagName == "老客")
            #expect(queued.couponName == "老客回馈券")
            #expect(try await Self.issued(t, coupon.id).first == 0)
            #expect(try await Self.job(t, queued.id, token: f.operatorToken).status == "queued")

            // act: the worker
            let report = try await CouponSendWorker.run(t.app)

            // check: 450 coupons over three batches, one per member, counts exact
            #expect(report == .init(batches: 3, issued: 450, skipped: 0, finished: 1))
            #expect(try await Self.issued(t, coupon.id) == [450, 450])
            let done = try await Self.job(t, queued.id, token: f.operatorToken)
            #expect((done.status, done.issued, done.skipped, done.percent) == ("done", 450, 0, 100))
            #expect(done.reasonCode == nil)
            #expect(done.finishedAt != nil)
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.issued == 450)
            #expect(try await CouponSendJobMember.query(on: t.app.db).filter(\.$outcome == "issued").count() == 450)
            let sample = try #require(members.randomElement())
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == sample).first()?.source == "send")
            let listed = try await t.get("/api/v1/admin/coupon-sends?templateId=\(coupon.id)", token: f.operatorToken).content.decode([CouponSendJobDTO].self)
            #expect(listed.map(\.id) == [queued.id])
            #expect(try await CouponSendWorker.run(t.app) == .init())

            // act: the same again; everyone is at the per-member limit
            let again = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)
            _ = try await CouponSendWorker.run(t.app)
            let second = try await Self.job(t, again.id, token: f.operatorToken)
            #expect((second.status, second.issued, second.skipped) == ("done", 0, 450))
            #expect(try await Self.issued(t, coupon.id) == [450, 450])
            #expect(try await CouponSendJobMember.query(on: t.app.db).filter(\.$jobID == again.id).filter(\.$code == "coupon_member_limit").count() == 450)
        }
    }

    @Test func twoWorkersAtOnceIssueEachMemberOnce() async throws {
        try await withMallApp { t in
            // setup: two tags that overlap in nothing, two jobs
            let f = try await CatalogFixture.make(t)
            let (tag, _) = try await Self.bigTag(t, "甲", count: 900, token: f.operatorToken)
            let (other, _) = try await Self.bigTag(t, "乙", count: 350, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#, token: f.operatorToken)
            let first = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)
            let second = try await Self.queue(t, coupon: coupon.id, tag: other, token: f.operatorToken)

            // act: two instances, each with small batches, at the same time (on SQLite one may find the
            // writer held by the other past the busy timeout and leave the rest to it)
            let app = t.app
            let (a, b) = try await t.withSecondInstance { instance in try await Self.together(app, instance) }

            // check: each member once, the counts add up between the two workers
            #expect(a.issued + b.issued == 1_250)
            #expect(a.skipped + b.skipped == 0)
            #expect(a.finished + b.finished == 2)
            #expect(try await Self.issued(t, coupon.id) == [1_250, 1_250])
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.issued == 1_250)
            for (job, size) in [(first.id, Int64(900)), (second.id, Int64(350))] {
                let dto = try await Self.job(t, job, token: f.operatorToken)
                #expect((dto.status, dto.issued, dto.skipped, dto.total) == ("done", size, 0, size))
            }
        }
    }

    static func together(_ one: Application, _ other: Application) async throws -> (CouponSendWorker.Report, CouponSendWorker.Report) {
        async let x = CouponSendWorker.run(one, batchSize: 40)
        async let y = CouponSendWorker.run(other, batchSize: 40)
        return try await (x, y)
    }

    struct Crash: Error {}

    @Test func aWorkerThatStopsMidWayIsResumedByAnother() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let (tag, _) = try await Self.bigTag(t, "沉睡", count: 450, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"唤醒券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#, token: f.operatorToken)
            let queued = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)

            // act: one batch commits; the next one dies before its commit
            let batch = try await CouponSendWorker.runBatch(t.app)
            let now = t.clock.now()
            await #expect(throws: Crash.self) {
                try await t.app.writeGate.transaction(on: t.app.db) { db -> Void in
                    _ = try await CouponSendJobService(db: db, now: now).processBatch()
                    throw Crash()
                }
            }

            // check: the first batch is kept, the lost one left nothing
            #expect(batch?.issued == 200)
            #expect(batch?.status == .running)
            let midway = try await Self.job(t, queued.id, token: f.operatorToken)
            #expect((midway.status, midway.issued, midway.percent) == ("running", 200, 44))
            #expect(try await Self.issued(t, coupon.id).first == 200)

            // act: another instance takes over
            let report = try await t.withSecondInstance { other in try await CouponSendWorker.run(other) }

            // check: the rest, each member once
            #expect(report.issued == 250)
            #expect(try await Self.issued(t, coupon.id) == [450, 450])
            let done = try await Self.job(t, queued.id, token: f.operatorToken)
            #expect((done.status, done.issued, done.skipped) == ("done", 450, 0))

            // A worker that lost its cursor (the job reopened from the start) still issues nobody twice.
            try await sqlDatabase(t.app.db).raw("UPDATE coupon_send_jobs SET status = 'running', cursor = NULL WHERE id = \(bind: queued.id)").run()
            let rerun = try await CouponSendWorker.run(t.app)
            #expect((rerun.issued, rerun.skipped) == (0, 0))
            #expect(try await Self.issued(t, coupon.id) == [450, 450])
            #expect(try await Self.job(t, queued.id, token: f.operatorToken).issued == 450)
        }
    }

    @Test func aCouponThatRunsOutEndsTheJobWithTheReason() async throws {
        try await withMallApp { t in
            // setup: 300 coupons in all, one per member; the first member in id order already has one
            let f = try await CatalogFixture.make(t)
            let (tag, members) = try await Self.bigTag(t, "全员", count: 500, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, #"{"name":"限量券","kind":"no_threshold","amountOffFen":300,"validDays":7,"totalCount":300,"perMember":1,"claimable":false}"#,
                                                            token: f.operatorToken)
            let firstMember = try #require(try await MemberTagMember.query(on: t.app.db).filter(\.$tagID == tag).sort(\.$memberID).first()?.memberID)
            #expect(members.contains(firstMember))
            let direct = try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"memberIds":["\#(firstMember)"]}"#, token: f.operatorToken)
            #expect(direct.status == .ok, "\(direct.body.string)")
            #expect(try direct.content.decode(CouponSendResultDTO.self).sent == 1)

            // act
            let queued = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)
            _ = try await CouponSendWorker.run(t.app)

            // check: what was left went out, the member at the limit was skipped, the reason is given
            let ended = try await Self.job(t, queued.id, token: f.operatorToken)
            #expect((ended.status, ended.issued, ended.skipped) == ("failed", 299, 1))
            #expect(ended.reasonCode == "sold_out")
            #expect(ended.reason == "优惠券发放总量已用完，其余会员未发放")
            #expect(ended.statusLabel == "已中止")
            #expect(try await Self.issued(t, coupon.id) == [300, 300])
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.issued == 300)
            let english = try await t.get("/api/v1/admin/coupon-sends/\(queued.id)", token: f.operatorToken, headers: ["Accept-Language": "en"])
            #expect(try english.content.decode(CouponSendJobDTO.self).reason == "The coupon's total ran out; the remaining members got none")

            // A sold-out coupon is refused before any job is queued.
            let refused = try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"tagId":"\#(tag)"}"#, token: f.operatorToken)
            #expect(refused.status == .conflict)
            #expect(try await CouponSendJob.query(on: t.app.db).count() == 1)

            // A coupon paused while its job waits ends the job at its next batch.
            let paused = try await CouponTests.createCoupon(t, #"{"name":"暂停券","kind":"no_threshold","amountOffFen":100,"validDays":7}"#, token: f.operatorToken)
            let waiting = try await Self.queue(t, coupon: paused.id, tag: tag, token: f.operatorToken)
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(paused.id)/pause", "{}", token: f.operatorToken).status == .ok)
            _ = try await CouponSendWorker.run(t.app)
            let stopped = try await Self.job(t, waiting.id, token: f.operatorToken)
            #expect((stopped.status, stopped.issued, stopped.reasonCode) == ("failed", 0, "not_claimable"))
            #expect(try await Self.issued(t, paused.id).first == 0)
        }
    }

    @Test func shopsSendTheirOwnCouponsAndReadOnlyTheirOwnJobs() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let (tag, _) = try await Self.bigTag(t, "母婴客", count: 260, token: f.operatorToken)
            let shopCoupon = try await CouponTests.createCoupon(t, #"{"name":"甲店券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#,
                                                                token: f.shopAToken, path: "/api/v1/merchant/coupons")

            // act
            let queued = try await Self.queue(t, coupon: shopCoupon.id, tag: tag, token: f.shopAToken, shop: true)
            let byOtherShop = try await t.postJSON("/api/v1/merchant/coupons/\(shopCoupon.id)/send", #"{"tagId":"\#(tag)"}"#, token: f.shopBToken)

            // check: the shop reads its job, another shop gets 404 for it and an empty list
            #expect(queued.merchantId == f.shopA)
            #expect(byOtherShop.status == .notFound)
            #expect(try await Self.job(t, queued.id, token: f.shopAToken, shop: true).total == 260)
            #expect(try await t.get("/api/v1/merchant/coupon-sends/\(queued.id)", token: f.shopBToken).status == .notFound)
            #expect(try await t.get("/api/v1/merchant/coupon-sends", token: f.shopBToken).content.decode([CouponSendJobDTO].self).isEmpty)
            #expect(try await t.get("/api/v1/merchant/coupon-sends", token: f.shopAToken).content.decode([CouponSendJobDTO].self).map(\.id) == [queued.id])
            #expect(try await t.get("/api/v1/admin/coupon-sends", token: f.shopAToken).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/admin/coupon-sends/\(queued.id)/cancel", "{}", token: f.shopAToken).status == .forbidden)

            // act: one batch; another shop tries to cancel it, then the shop itself does, then the operator
            _ = try await CouponSendWorker.runBatch(t.app)
            let byOtherShop2 = try await t.postJSON("/api/v1/merchant/coupon-sends/\(queued.id)/cancel", "{}", token: f.shopBToken)
            let stillRunning = try await Self.job(t, queued.id, token: f.shopAToken, shop: true).status
            let cancelled = try await t.postJSON("/api/v1/merchant/coupon-sends/\(queued.id)/cancel", "{}", token: f.shopAToken)
            let twice = try await t.postJSON("/api/v1/admin/coupon-sends/\(queued.id)/cancel", "{}", token: f.operatorToken)
            let after = try await CouponSendWorker.run(t.app)

            // check: what was issued stays, nothing more is
            #expect(byOtherShop2.status == .notFound)
            #expect(stillRunning == "running")
            #expect(cancelled.status == .ok, "\(cancelled.body.string)")
            let dto = try cancelled.content.decode(CouponSendJobDTO.self)
            #expect((dto.status, dto.issued, dto.reasonCode) == ("cancelled", 200, "cancelled"))
            #expect(twice.status == .conflict)
            #expect(after == .init())
            #expect(try await Self.issued(t, shopCoupon.id).first == 200)
            #expect(try await Self.job(t, queued.id, token: f.shopAToken, shop: true).status == "cancelled")
        }
    }

    @Test func badSendsAreRefusedAndChangeNothing() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let (tag, members) = try await Self.bigTag(t, "标签", count: 3, token: f.operatorToken)
            let empty = try await MemberTagAppTests.createTag(t, #"{"name":"空标签"}"#, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, Self.couponJSON, token: f.operatorToken)
            let stopped = try await CouponTests.createCoupon(t, #"{"name":"停用券","kind":"no_threshold","amountOffFen":100,"validDays":7}"#, token: f.operatorToken)
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(stopped.id)/stop", "{}", token: f.operatorToken).status == .ok)
            let send = "/api/v1/admin/coupons/\(coupon.id)/send"

            // act and check: each refused with a 4xx
            let cases: [(String, HTTPStatus?)] = [(#"{"tagId":"\#(UUID())"}"#, .unprocessableEntity),
                                   (#"{"tagId":"\#(empty.id)"}"#, .unprocessableEntity),
                                   (#"{"tagId":"\#(tag)","memberIds":["\#(members[0])"]}"#, .unprocessableEntity),
                                   (#"{"tagId":"\#(tag)","phones":["13600000001"]}"#, .unprocessableEntity),
                                   (#"{"tagId":"x"}"#, nil), (#"{"tagId":12}"#, nil), (#"{"tagId":[]}"#, nil), (#"{}"#, .unprocessableEntity)]
            for (body, status) in cases {
                let response = try await t.postJSON(send, body, token: f.operatorToken)
                if let status {
                    #expect(response.status == status, "\(body): \(response.body.string)")
                } else {
                    #expect((400..<500).contains(response.status.code), "\(body): \(response.body.string)")
                }
                #expect(response.error != nil, "\(body)")
            }
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(stopped.id)/send", #"{"tagId":"\#(tag)"}"#, token: f.operatorToken).status == .conflict)
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(UUID())/send", #"{"tagId":"\#(tag)"}"#, token: f.operatorToken).status == .notFound)
            #expect(try await t.postJSON(send, #"{"tagId":"\#(tag)"}"#, token: nil).status == .unauthorized)
            let together = try await t.postJSON(send, #"{"tagId":"\#(tag)","memberIds":["\#(members[0])"]}"#, token: f.operatorToken)
            #expect(together.body.string.contains("发给标签时不能同时填写会员 ID 或手机号"))
            #expect(try await CouponSendJob.query(on: t.app.db).count() == 0)
            #expect(try await Self.issued(t, coupon.id).first == 0)

            // A second send of the same coupon to the same tag waits for the first.
            let queued = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)
            let repeated = try await t.postJSON(send, #"{"tagId":"\#(tag)"}"#, token: f.operatorToken)
            #expect(repeated.status == .conflict)
            #expect(repeated.body.string.contains("coupon_send.in_progress"))
            #expect(try await CouponSendJob.query(on: t.app.db).count() == 1)

            // Reading: bad limits, ids and unknown jobs.
            for query in ["limit=0", "limit=101", "limit=-1", "limit=1e3", "limit=9223372036854775808", "templateId=x", "templateId=\(String(repeating: "a", count: 40))"] {
                #expect(try await t.get("/api/v1/admin/coupon-sends?\(query)", token: f.operatorToken).status == .unprocessableEntity, "\(query)")
            }
            #expect(try await t.get("/api/v1/admin/coupon-sends?limit=1", token: f.operatorToken).content.decode([CouponSendJobDTO].self).count == 1)
            #expect(try await t.get("/api/v1/admin/coupon-sends/\(UUID())", token: f.operatorToken).status == .notFound)
            #expect(try await t.get("/api/v1/admin/coupon-sends/x", token: f.operatorToken).status == .notFound)
            #expect(try await t.postJSON("/api/v1/admin/coupon-sends/\(UUID())/cancel", "{}", token: f.operatorToken).status == .notFound)
            #expect(try await Self.job(t, queued.id, token: f.operatorToken).status == "queued")
        }
    }

    @Test func theConsoleQueuesASendToATagAndShowsItsProgress() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let (tag, _) = try await Self.bigTag(t, "重点客户", count: 30, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, Self.couponJSON, token: f.operatorToken)
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])

            // act: the coupon's page has the form; a missing tag is refused, a good one queued
            let page = try await console.get("/admin/marketing/coupon/\(coupon.id)")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("coupon-send-form"))
            #expect(page.body.string.contains("重点客户"))
            let refused = try await console.post("/admin/coupon-sends", form: ["templateId": coupon.id.uuidString, "tagId": "x"])
            #expect(refused.status == .seeOther)
            #expect(try await CouponSendJob.query(on: t.app.db).count() == 0)
            let queued = try await console.post("/admin/coupon-sends", form: ["templateId": coupon.id.uuidString, "tagId": tag.uuidString])
            #expect(queued.status == .seeOther)
            #expect(queued.headers.first(name: .location) == "/admin/marketing/coupon/\(coupon.id.uuidString)")
            let job = try #require(try await CouponSendJob.query(on: t.app.db).first())
            #expect(job.status == "queued")

            // check: both pages list the job with its progress; after the worker, done
            let waiting = try await console.get("/admin/marketing/coupon/\(coupon.id)").body.string
            #expect(waiting.contains("排队中"))
            #expect(waiting.contains("已排队发送"))
            #expect(try await console.get("/admin/coupons").body.string.contains("data-job=\"\(try job.requireID().uuidString)\""))
            _ = try await CouponSendWorker.run(t.app)
            let finished = try await console.get("/admin/marketing/coupon/\(coupon.id)").body.string
            #expect(finished.contains("已完成"))
            #expect(finished.contains("value=\"100\""))

            // A shop's console shows its own coupon's page with the form, not the operator's cancel.
            let shopCoupon = try await CouponTests.createCoupon(t, #"{"name":"甲店券","kind":"no_threshold","amountOffFen":300,"validDays":7}"#,
                                                                token: f.shopAToken, path: "/api/v1/merchant/coupons")
            let shop = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await shop.get("/merchant/marketing/coupon/\(shopCoupon.id)").body.string.contains("coupon-send-form"))
            let shopQueued = try await shop.post("/merchant/coupon-sends", form: ["templateId": shopCoupon.id.uuidString, "tagId": tag.uuidString])
            #expect(shopQueued.status == .seeOther)
            let shopPage = try await shop.get("/merchant/marketing/coupon/\(shopCoupon.id)").body.string
            #expect(shopPage.contains("coupon-send-form"))
            #expect(shopPage.contains("排队中"))
            #expect(!shopPage.contains("/admin/coupon-sends/"))
            #expect(shopPage.contains("/merchant/coupon-sends/"))
            _ = try await shop.post("/merchant/coupon-sends", form: ["templateId": coupon.id.uuidString, "tagId": tag.uuidString])
            #expect(try await CouponSendJob.query(on: t.app.db).count() == 2)
            // Another shop cannot cancel it from its console: back to its coupon list, the job still queued.
            let shopB = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "b-owner", "password": "Staff2026"])
            let shopJobID = try #require(try await CouponSendJob.query(on: t.app.db).filter(\.$templateID == shopCoupon.id).first()?.requireID())
            _ = try await shopB.get("/merchant/marketing")
            let refusedByOther = try await shopB.post("/merchant/coupon-sends/\(shopJobID)/cancel", form: [:])
            #expect(refusedByOther.headers.first(name: .location) == "/merchant/marketing", "\(refusedByOther.status) \(refusedByOther.body.string.prefix(300))")
            #expect(try await CouponSendJob.find(shopJobID, on: t.app.db)?.status == "queued")

            // act: the operator cancels the shop's job from the coupon list
            let shopJob = try #require(try await CouponSendJob.query(on: t.app.db).filter(\.$templateID == shopCoupon.id).first())
            let cancelled = try await console.post("/admin/coupon-sends/\(try shopJob.requireID())/cancel", form: ["back": "coupons"])
            #expect(cancelled.headers.first(name: .location) == "/admin/coupons")
            #expect(try await CouponSendJob.find(shopJob.requireID(), on: t.app.db)?.status == "cancelled")
        }
    }

    /// How long a 20 000-member tag takes, printed (not asserted): FISSION_MEASURE_COUPON_SEND=20000.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FISSION_MEASURE_COUPON_SEND"] != nil))
    func measureALargeTag() async throws {
        let count = Int(ProcessInfo.processInfo.environment["FISSION_MEASURE_COUPON_SEND"] ?? "") ?? 20_000
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let (tag, _) = try await Self.bigTag(t, "测量", count: count, token: f.operatorToken)
            let coupon = try await CouponTests.createCoupon(t, Self.couponJSON, token: f.operatorToken)
            _ = try await Self.queue(t, coupon: coupon.id, tag: tag, token: f.operatorToken)
            let started = Date()
            let report = try await CouponSendWorker.run(t.app)
            let seconds = Date().timeIntervalSince(started)
            print("coupon send measurement (\(t.isPostgres ? "PostgreSQL" : "SQLite")): \(report.issued) members in \(String(format: "%.1f", seconds)) s, \(String(format: "%.0f", Double(report.issued) / seconds)) /s")
            #expect(report.issued == count)
        }
    }
}
