import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// The distribution pages: a link followed before signing in, the distributor centre's forms,
/// and the operator's console.
@Suite struct DistributionPageTests {
    @Test func aLinkFollowedBeforeSigningInBindsAtLoginAndTheCentreShowsIt() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            try await t.registerMember("13700000009")
            let visitor = PageClient(app: t.app)

            // act: the shared product link, then the login page
            let followed = try await visitor.get("/s/\(n.sharerCode)/p/\(n.s.milk.id)?src=poster")
            #expect(followed.status == .seeOther || followed.status == .found)
            #expect(followed.headers.first(name: .location) == "/products/\(n.s.milk.id.uuidString.lowercased())")
            #expect(visitor.cookies["fm_share"] == n.sharerCode)
            #expect(try await DistributionVisit.query(on: t.app.db).filter(\.$source == "poster").count() == 1)
            let unknown = try await PageClient(app: t.app).get("/s/ZZZZZZZZ")
            #expect(unknown.headers.first(name: .location) == "/")
            try await visitor.get("/login")
            _ = try await visitor.post("/login", form: ["phone": "13700000009", "password": "Member2026"])

            // check: bound to the sharer by the cookie
            let member = try await t.memberID(phone: "13700000009")
            #expect(try await CustomerBinding.find(member, on: t.app.db)?.distributorID == n.sharerID)

            // The sharer's centre and product page.
            let sharer = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13700000002", "password": "Member2026"])
            let centre = try await sharer.get("/distribution")
            #expect(centre.body.string.contains(#"data-status="active""#))
            #expect(centre.body.string.contains("/s/\(n.sharerCode)"))
            let product = try await sharer.get("/products/\(n.s.milk.id)")
            #expect(product.body.string.contains(#"id="share-earn""#))
            #expect(product.body.string.contains("¥9.90"))
            let poster = try await sharer.get("/distribution/posters/\(n.s.milk.id)")
            #expect(poster.status == .ok)
            #expect(poster.headers.contentType == .png)
            #expect(try await visitor.get("/distribution/posters/\(n.s.milk.id)").status == .forbidden)

            // A withdrawal with a bad amount is refused on the page; a good one is frozen.
            try await OrderFlowTests.topUp(t, phone: "13700000002", fen: 0 + 1)
            _ = try await AfterSaleTests.ledger(t).post(LedgerTransactionDraft(
                idempotencyKey: "test-available:\(n.sharerID)", kind: "commission_settled",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 2_000)), .credit(try LedgerAccountKey(.commissionAvailable, .member(n.sharerID)), Money(fen: 2_000))]))
            let bad = try await sharer.post("/distribution/withdraw", form: ["amount": "abc", "channel": "balance", "key": "k1"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("请输入正确的金额"))
            let good = try await sharer.post("/distribution/withdraw", form: ["amount": "5.00", "channel": "balance", "key": "k2"])
            #expect(good.status == .seeOther || good.status == .found)
            #expect(try await Withdrawal.query(on: t.app.db).first()?.amount == 500)
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.sharerID) == 1_500)
        }
    }

    @Test func aMemberAppliesOnThePageAndTheOperatorDecidesInTheConsole() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            try await t.registerMember("13700000008")
            let applicant = try await ConsolePageTests.signedIn(t, "/login", ["phone": "13700000008", "password": "Member2026"])
            let form = try await applicant.get("/distribution")
            #expect(form.body.string.contains(#"id="dist-agreement""#))
            #expect(form.body.string.contains("成为分销员不收取任何费用"))

            // act: a bad ID number, then a good application
            var fields = ["kind": "individual", "realName": "李四", "idNumber": "123", "agreementVersion": "2026-11", "agree": "on", "answers[]": "lisi"]
            let bad = try await applicant.post("/distribution/apply", form: fields)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("身份证号格式不正确"))
            fields["idNumber"] = DistributionTests.idNumber
            let sent = try await applicant.post("/distribution/apply", form: fields)
            #expect(sent.status == .seeOther || sent.status == .found, "\(sent.body.string.prefix(400))")
            let member = try await t.memberID(phone: "13700000008")
            #expect(try await Distributor.find(member, on: t.app.db)?.status == "applied")

            // The operator's console lists it; approving makes it active; settings beyond three levels are refused.
            let boss = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            let console = try await boss.get("/admin/distribution")
            #expect(console.status == .ok)
            #expect(console.body.string.contains(#"data-member="\#(member.uuidString.lowercased())""#))
            _ = try await boss.post("/admin/distribution/distributors/\(member.uuidString.lowercased())/approve", form: [:])
            #expect(try await Distributor.find(member, on: t.app.db)?.status == "active")
            _ = try await boss.post("/admin/distribution/settings", form: ["enabled": "on", "levelCount": "4", "capPercent": "50", "feePercent": "1", "minimumYuan": "1.00"])
            #expect(try await boss.get("/admin/distribution").body.string.contains("合规限制"))
            #expect(try await DistributionConfig.load(on: t.app.db).commission.levelCount == 2)
            _ = try await boss.post("/admin/distribution/rule", form: ["level1": "12", "level2": "4"])
            // The team tree below the upline, and a buyer's binding moved by hand.
            let tree = try await boss.get("/admin/distribution?tree=\(try #require(try await Distributor.find(n.uplineID, on: t.app.db)).code)")
            #expect(tree.body.string.contains(n.sharerCode))
            let binding = try await boss.get("/admin/distribution?phone=13600000001")
            #expect(binding.body.string.contains(#"id="dc-move""#))
            _ = try await boss.post("/admin/distribution/bindings/\(n.buyerID.uuidString.lowercased())", form: ["code": try #require(try await Distributor.find(n.uplineID, on: t.app.db)).code, "reason": "客户要求"])
            #expect(try await CustomerBinding.find(n.buyerID, on: t.app.db)?.distributorID == n.uplineID)
            #expect(try await BindingHistoryEntry.query(on: t.app.db).filter(\.$memberID == n.buyerID).filter(\.$reason == "operator").count() == 1)
            let preview = try await boss.get("/admin/distribution?sku=\(n.s.milk.skus[0].id)&quantity=1&code=\(n.sharerCode)")
            #expect(preview.body.string.contains("第 1 级：¥11.88"))
            #expect(preview.body.string.contains("第 2 级：¥3.96"))
        }
    }
}
