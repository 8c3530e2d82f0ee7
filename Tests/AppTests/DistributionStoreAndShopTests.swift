import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Store QR codes, the distributor's homepage, documents and the review checklist, and the
/// shop's own side of distribution (its batches, rules and stores).
@Suite struct DistributionStoreAndShopTests {
    static func store(_ t: TestContext, token: String) async throws -> StoreDTO {
        let made = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"静安店","kind":"direct","address":"南京西路1号","latitude":31.22,"longitude":121.44}"#, token: token)
        #expect(made.status == .created, "\(made.body.string)")
        return try made.content.decode(StoreDTO.self)
    }

    @Test func aStoresQRCodeBindsToItsStaffDistributorAndRecruitsUnderTheStoreMode() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            let store = try await Self.store(t, token: n.s.f.shopAToken)
            let path = "/api/v1/merchant/distribution/stores/\(store.id)"

            // Bad input changes nothing; another shop's store is not found.
            let unknown = try await t.send(.PUT, path, #"{"staffDistributorCode":"ZZZZZZZZ","recruitsDistributors":true}"#, token: n.s.f.shopAToken)
            #expect(unknown.status == .unprocessableEntity)
            #expect(unknown.body.string.contains("没有这个推广码的正常分销员"))
            #expect(try await Store.find(store.id, on: t.app.db)?.recruitsDistributors == nil)
            #expect(try await t.send(.PUT, path, #"{"staffDistributorCode":"\#(n.sharerCode)"}"#, token: n.s.f.shopBToken).status == .notFound)

            // act: shop A names the sharer as the store's staff distributor and recruits there
            let set = try await t.send(.PUT, path, #"{"staffDistributorCode":"\#(n.sharerCode.lowercased())","recruitsDistributors":true}"#, token: n.s.f.shopAToken)
            #expect(set.status == .ok, "\(set.body.string)")
            #expect(try set.content.decode(DistributionAPIController.StoreDistributionDTO.self).staffDistributorCode == n.sharerCode)

            // A new visitor scans the QR (the store page), then registers: bound to the staff distributor.
            let visitor = PageClient(app: t.app)
            let page = try await visitor.get("/stores/\(store.id)")
            #expect(page.status == .ok)
            #expect(visitor.cookies["fm_share"] == n.sharerCode)
            #expect(visitor.cookies["fm_store"] == store.id.uuidString.lowercased())
            #expect(try await DistributionVisit.query(on: t.app.db).filter(\.$source == "store").count() == 1)
            try await t.registerMember("13700000031")
            try await visitor.get("/login")
            _ = try await visitor.post("/login", form: ["phone": "13700000031", "password": "Member2026"])
            let newcomer = try await t.memberID(phone: "13700000031")
            #expect(try await CustomerBinding.find(newcomer, on: t.app.db)?.distributorID == n.sharerID)
            #expect(try await DistributionStoreScan.query(on: t.app.db).filter(\.$memberID == newcomer).count() == 1)

            // Under the store_qr mode, a member who never scanned is refused; one who scanned is admitted.
            try await DistributionTests.settings(t, token: n.s.f.operatorToken) { $0.admission.mode = "store_qr" }
            let stranger = try await t.registerMember("13700000032")
            let refused = try await t.postJSON("/api/v1/distribution/apply", DistributionTests.applyJSON(), token: stranger)
            #expect(refused.status == .unprocessableEntity || refused.status == .conflict || refused.status == .forbidden, "\(refused.body.string)")
            #expect(try await Distributor.find(try await t.memberID(phone: "13700000032"), on: t.app.db) == nil)
            let scanner = try await DistributionTests.token(t, newcomer)
            let admitted = try await t.postJSON("/api/v1/distribution/apply", DistributionTests.applyJSON(), token: scanner)
            #expect(admitted.status == .created, "\(admitted.body.string)")
            let joined = try admitted.content.decode(DistributorDTO.self)
            #expect(joined.status == "active")
            #expect(joined.parentId == n.sharerID)
        }
    }

    @Test func theShopLinkOpensTheDistributorsHomepageWithProductsThroughItsLinks() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            let visitor = PageClient(app: t.app)
            let followed = try await visitor.get("/s/\(n.sharerCode)")
            #expect(followed.headers.first(name: .location) == "/d/\(n.sharerCode)")
            let home = try await visitor.get("/d/\(n.sharerCode)")
            #expect(home.status == .ok)
            let html = home.body.string
            #expect(html.contains(#"id="distributor-home""#))
            #expect(html.contains("的推荐"))
            #expect(html.contains("/s/\(n.sharerCode)/p/\(n.s.milk.id.uuidString.lowercased())"))
            #expect(html.contains("甲店奶粉"))
            #expect(!html.contains(#"id="distributor-home-mine""#))
            #expect(try await visitor.get("/d/ZZZZZZZZ").headers.first(name: .location) == "/")

            // The distributor sees its own link there, and sets an avatar only from its own upload.
            let sharer = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13700000002", "password": "Member2026"])
            #expect(try await sharer.get("/d/\(n.sharerCode)").body.string.contains(#"id="distributor-home-mine""#))
            try await sharer.get("/distribution")
            let uploaded = try await sharer.postMultipart("/distribution/avatar", fields: [:], files: [("avatar", "me.png", "image/png", TestImages.png(width: 8, height: 8))])
            #expect(uploaded.status == .seeOther || uploaded.status == .found, "\(uploaded.status) \(uploaded.body.string.suffix(1500))")
            let avatar = try #require(try await Distributor.find(n.sharerID, on: t.app.db)?.avatar)
            #expect(try await sharer.get("/d/\(n.sharerCode)").body.string.contains("/uploads/\(avatar)"))
            let stolen = try await t.send(.PUT, "/api/v1/distribution/me/avatar", #"{"imageKey":"\#(avatar)"}"#, token: n.upline)
            #expect(stolen.status == .unprocessableEntity)
            #expect(stolen.body.string.contains("请使用自己上传的图片"))
            #expect(try await Distributor.find(n.uplineID, on: t.app.db)?.avatar == nil)
        }
    }

    @Test func anApplicationWithALicencePhotoIsApprovedOnlyWithEveryChecklistItemTicked() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            let boss = n.s.f.operatorToken
            try await DistributionTests.settings(t, token: boss) { $0.admission.reviewChecklist = ["营业执照有效", "实名一致"] }
            try await t.registerMember("13700000041")
            let applicant = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13700000041", "password": "Member2026"])
            try await applicant.get("/distribution")

            // Someone else's picture cannot be named as a document.
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13700000041"))
            let sharerAvatar = try await ImageService.store(TestImages.png(), purpose: .member, merchantID: nil, memberID: n.sharerID,
                                                            storage: t.app.imageStorage, on: t.app.db, at: t.clock.now())
            let borrowed = DistributionTests.applyJSON().replacingOccurrences(of: #""agree":true"#, with: #""agree":true,"documents":["\#(sharerAvatar.storageKey)"]"#)
            let refused = try await t.postJSON("/api/v1/distribution/apply", borrowed, token: token)
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("请使用自己上传的图片"))

            // act: the page form with the enterprise's licence photo
            let sent = try await applicant.postMultipart("/distribution/apply", fields: [
                "kind": "enterprise", "realName": "王五", "idNumber": DistributionTests.idNumber, "enterpriseName": "王五商贸",
                "licenceNumber": "91310000MA1K000001", "agreementVersion": "2026-11", "agree": "on", "answers[]": "wangwu",
            ], files: [("document", "licence.png", "image/png", TestImages.png(width: 20, height: 10))])
            #expect(sent.status == .seeOther || sent.status == .found, "\(sent.body.string.prefix(400))")
            let member = try await t.memberID(phone: "13700000041")
            let applied = try #require(try await Distributor.find(member, on: t.app.db))
            #expect(applied.status == "applied")
            #expect(applied.documentKeys.count == 1)

            // The console shows the photo and the checklist; approving without every tick is refused.
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            let html = try await console.get("/admin/distribution").body.string
            #expect(html.contains("/uploads/\(applied.documentKeys[0])"))
            #expect(html.contains("营业执照有效"))
            let path = "/api/v1/admin/distribution/distributors/\(member)/decision"
            let half = try await t.postJSON(path, #"{"decision":"approve","checklist":["营业执照有效"]}"#, token: boss)
            #expect(half.status == .unprocessableEntity)
            #expect(half.body.string.contains("实名一致"))
            #expect(try await Distributor.find(member, on: t.app.db)?.status == "applied")
            _ = try await console.post("/admin/distribution/distributors/\(member.uuidString.lowercased())/approve", pairs: [("checked[]", "营业执照有效"), ("checked[]", "实名一致")])
            let approved = try #require(try await Distributor.find(member, on: t.app.db))
            #expect(approved.status == "active")
            #expect(approved.checkedItems == ["营业执照有效", "实名一致"])
        }
    }

    @Test func aShopApprovesItsOwnBatchNeverAnothersAndKeepsItsRulesOnItsConsole() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            try await DistributionTests.settings(t, token: n.s.f.operatorToken) {
                $0.settlement.schedule = "daily"
                $0.settlement.approval = "manual"
            }
            let order = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            try await DistributionTests.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 9 * 86_400)
            #expect(try await OrderJobs.runAll(t.app).completed == 1)
            _ = try await OutboxDispatcher.run(t.app)
            t.clock.advance(seconds: 86_400)
            #expect(try await CommissionSettlement.run(t.app).awaitingApproval == 1)
            let shopA = try await t.staffToken("a-owner", console: "merchant")
            let shopB = try await t.staffToken("b-owner", console: "merchant")
            let batches = try await t.get("/api/v1/merchant/distribution/batches", token: shopA).content.decode([DistributionAPIController.BatchDTO].self)
            #expect(batches.map(\.state) == ["awaiting_approval"])
            #expect(batches.first?.total.fen == 4_500)
            #expect(try await t.get("/api/v1/merchant/distribution/batches", token: shopB).content.decode([DistributionAPIController.BatchDTO].self).isEmpty)

            // act: shop B cannot approve shop A's batch; shop A can, once
            #expect(try await t.postJSON("/api/v1/merchant/distribution/batches/\(batches[0].id)/approve", "{}", token: shopB).status == .notFound)
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.sharerID) == 0)
            let approved = try await t.postJSON("/api/v1/merchant/distribution/batches/\(batches[0].id)/approve", "{}", token: shopA)
            #expect(approved.status == .ok, "\(approved.body.string)")
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.sharerID) == 3_000)
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.uplineID) == 1_500)
            #expect(try await t.postJSON("/api/v1/merchant/distribution/batches/\(batches[0].id)/approve", "{}", token: shopA).status == .conflict)

            // The shop's console: the settled batch, a rule for its product within bounds, one beyond refused.
            let console = try await ConsolePageTests.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await console.get("/merchant/distribution").body.string.contains("已结算"))
            _ = try await console.post("/merchant/distribution/rules", form: ["scope": "product", "scopeId": n.s.milk.id.uuidString, "rate1": "12"])
            let rule = try #require(try await CommissionRuleRecord.query(on: t.app.db).filter(\.$merchantID == n.s.f.shopA).first())
            #expect(rule.scopeKey == "product:\(n.s.milk.id.uuidString.lowercased())")
            _ = try await console.post("/merchant/distribution/rules", form: ["scope": "product", "scopeId": n.s.milk.id.uuidString, "rate1": "45"])
            #expect(try await console.get("/merchant/distribution").body.string.contains("30%"))
            _ = try await console.post("/merchant/distribution/rules", form: ["scope": "product", "scopeId": n.s.cream.id.uuidString, "rate1": "5"])
            let kept = try await CommissionRuleRecord.query(on: t.app.db).filter(\.$merchantID == n.s.f.shopA).all()
            #expect(kept.count == 1)
            #expect(kept.first?.ruleJSON.contains("1200") == true)
        }
    }

    @Test func theOperatorEditsGradesAndScopedRulesInTheConsoleKeepingOtherConditions() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            let boss = n.s.f.operatorToken
            let ladder = #"[{"id":"\#(UUID())","name":"普通","honourTitle":"推广员","rank":1,"promotion":[],"promotionMatch":"all","minimum":[]},"#
                + #"{"id":"\#(UUID())","name":"金牌","honourTitle":"金牌","rank":2,"promotion":[{"metric":"own_sales","window":"cumulative","threshold":100000}],"promotionMatch":"all","minimum":[]}]"#
            let seeded = try await t.send(.PUT, "/api/v1/admin/distribution/grades", ladder, token: boss)
            #expect(seeded.status == .ok, "\(seeded.body.string)")
            let grades = try await t.get("/api/v1/admin/distribution/grades", token: boss).content.decode([DistributionAPIController.GradeDTO].self)
            #expect(grades.count == 2)
            // A condition on own order count, set through the API, must survive a console edit.
            var withCount = grades
            if let last = withCount.indices.last {
                let g = withCount[last]
                withCount[last] = .init(id: g.id, name: g.name, honourTitle: g.honourTitle, rank: g.rank,
                                        promotion: g.promotion + [GradeCondition(.ownOrderCount, atLeast: 7)], promotionMatch: "all", minimum: g.minimum)
            }
            let put = try await t.send(.PUT, "/api/v1/admin/distribution/grades", String(decoding: try JSONEncoder().encode(withCount), as: UTF8.self), token: boss)
            #expect(put.status == .ok, "\(put.body.string)")
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            try await console.get("/admin/distribution")
            var pairs: [(String, String)] = []
            for (index, g) in withCount.enumerated() {
                pairs += [("gradeId[]", g.id.uuidString), ("rank[]", String(g.rank)), ("name[]", g.name), ("title[]", index == withCount.count - 1 ? "金牌推广官" : g.honourTitle),
                          ("promoteYuan[]", index == withCount.count - 1 ? "2000.00" : ""), ("keepYuan[]", "")]
            }
            pairs += [("gradeId[]", ""), ("rank[]", "99"), ("name[]", "钻石"), ("title[]", "钻石推广官"), ("promoteYuan[]", "abc"), ("keepYuan[]", "")]
            _ = try await console.post("/admin/distribution/grades", pairs: pairs)
            #expect(try await console.get("/admin/distribution").body.string.contains("请输入金额"))
            #expect(try await t.get("/api/v1/admin/distribution/grades", token: boss).content.decode([DistributionAPIController.GradeDTO].self).count == withCount.count)
            pairs[pairs.count - 2] = ("promoteYuan[]", "5000")
            let saved = try await console.post("/admin/distribution/grades", pairs: pairs)
            #expect(saved.status == .seeOther || saved.status == .found, "\(saved.body.string.prefix(300))")
            let after = try await t.get("/api/v1/admin/distribution/grades", token: boss).content.decode([DistributionAPIController.GradeDTO].self)
            #expect(after.count == withCount.count + 1)
            let top = try #require(after.first { $0.id == withCount.last?.id })
            #expect(top.honourTitle == "金牌推广官")
            #expect(top.promotion.contains(GradeCondition(.ownOrderCount, atLeast: 7)))
            #expect(top.promotion.first { $0.metric == .ownSales }?.threshold == 200_000)
            #expect(after.contains { $0.name == "钻石" && $0.promotion.first?.threshold == 500_000 })

            // A SKU rule from the console form, then deleted.
            _ = try await console.post("/admin/distribution/rules", form: ["scope": "sku", "scopeId": n.s.milk.skus[0].id.uuidString, "rate1": "15", "unit2": "1.50"])
            let record = try #require(try await CommissionRuleRecord.query(on: t.app.db).filter(\.$scopeKey == "sku:\(n.s.milk.skus[0].id.uuidString.lowercased())").first())
            let rule = try JSONDecoder().decode(CommissionRule.self, from: Data(record.ruleJSON.utf8))
            #expect(rule.level1?.formula.rate == BasisPoints(1_500))
            #expect(rule.level2?.formula.perUnit == Money(fen: 150))
            _ = try await console.post("/admin/distribution/rules/\(try record.requireID().uuidString.lowercased())/delete", form: [:])
            #expect(try await CommissionRuleRecord.find(record.id, on: t.app.db) == nil)
        }
    }

    @Test func theCentreAndTheAPIShowCommissionEarnedAndThisMonthsRanking() async throws {
        try await withMallApp { t in
            // setup: 3 × ¥100 paid by the sharer's customer: ¥30.00 at level 1, ¥15.00 at level 2
            let n = try await DistributionTests.network(t)
            _ = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)

            // check: today, this month and in all
            let me = try await t.get("/api/v1/distribution/me", token: n.sharer).content.decode(MyDistributionDTO.self)
            #expect(me.earned?.today.fen == 3_000)
            #expect(me.earned?.month.fen == 3_000)
            #expect(me.earned?.total.fen == 3_000)
            let upline = try await t.get("/api/v1/distribution/me", token: n.upline).content.decode(MyDistributionDTO.self)
            #expect(upline.earned?.total.fen == 1_500)

            // The ranking: the sharer first by own sales of ¥300, its name masked for anyone else.
            let mine = try await t.get("/api/v1/distribution/ranking", token: n.sharer).content.decode([DistributionAPIController.RankingEntryDTO].self)
            #expect(mine.first?.isMe == true)
            #expect(mine.first?.sales.fen == 30_000)
            let seen = try await t.get("/api/v1/distribution/ranking", token: n.upline).content.decode([DistributionAPIController.RankingEntryDTO].self)
            #expect(seen.first?.isMe == false)
            #expect(seen.first?.name.contains("*") == true)
            #expect(try await t.get("/api/v1/distribution/ranking", token: n.s.buyer).status == .notFound)

            // The centre page shows the same.
            let sharer = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13700000002", "password": "Member2026"])
            let html = try await sharer.get("/distribution").body.string
            #expect(html.contains(#"id="dist-earned""#))
            #expect(html.contains("今日 ¥30.00"))
        }
    }
}
