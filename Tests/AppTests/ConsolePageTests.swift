import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// The pages around reviews and disputes: the buyer's review form, the shop's replies, the
/// operator's moderation, appeals and the list of every order.
@Suite struct ConsolePageTests {
    static func signedIn(_ t: TestContext, _ path: String, _ form: [String: String]) async throws -> PageClient {
        let client = PageClient(app: t.app)
        try await client.get(path)
        _ = try await client.post(path, form: form)
        return client
    }

    @Test func aBuyerReviewsWithAPhotoTheShopRepliesAndTheOperatorHidesIt() async throws {
        try await withMallApp { t in
            // setup: a received order of one line, the three of them signed in on the pages
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            try await ReviewTests.receive(t, order: order.id, shop: s.f.shopAToken, buyer: s.buyer, number: "SF5000000009")
            let buyer = try await Self.signedIn(t, "/login", ["phone": "13600000001", "password": "Member2026"])
            let shop = try await Self.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            let boss = try await Self.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])

            // act + check: the buyer's order page offers the form; a review without stars is refused on the page
            #expect(try await buyer.get("/orders/\(order.id)").body.string.contains(#"id="write-review""#))
            let form = try await buyer.get("/orders/\(order.id)/review")
            #expect(form.body.string.contains(#"class="stack review-form""#))
            let noStars = try await buyer.postMultipart("/orders/\(order.id)/review", fields: ["line": order.lines[0].id.uuidString, "stars": "9"], files: [])
            #expect(noStars.status == .unprocessableEntity)
            #expect(try await Review.query(on: t.app.db).count() == 0)
            let sent = try await buyer.postMultipart("/orders/\(order.id)/review", fields: ["line": order.lines[0].id.uuidString, "stars": "4", "text": "奶粉很好冲"],
                                                     files: [(name: "photo", filename: "a.png", contentType: "image/png", bytes: TestImages.png())])
            #expect(sent.status == .seeOther || sent.status == .found, "\(sent.status) \(sent.body.string.prefix(300))")
            let done = try await buyer.get("/orders/\(order.id)/review")
            #expect(done.body.string.contains(#"id="review-done""#))
            #expect(done.body.string.contains("★★★★☆"))
            let review = try #require(try await Review.query(on: t.app.db).first())
            #expect(review.stars == 4)
            #expect(review.text == "奶粉很好冲")
            #expect(try await ReviewDTO(review, storage: t.app.imageStorage).photos.count == 1)

            // The shop replies on its console; the operator hides it with a reason.
            #expect(try await shop.get("/merchant/reviews").body.string.contains("奶粉很好冲"))
            _ = try await shop.post("/merchant/reviews/\(try review.requireID())/reply", form: ["text": "感谢支持"])
            #expect(try await Review.find(review.requireID(), on: t.app.db)?.reply == "感谢支持")
            _ = try await boss.post("/admin/reviews/\(try review.requireID())/hide", form: ["reason": ""])
            #expect(try await Review.find(review.requireID(), on: t.app.db)?.hidden == false)
            _ = try await boss.post("/admin/reviews/\(try review.requireID())/hide", form: ["reason": "含广告"])
            #expect(try await Review.find(review.requireID(), on: t.app.db)?.hidden == true)
            let moderated = try await boss.get("/admin/reviews")
            #expect(moderated.body.string.contains("含广告"))
            #expect(moderated.body.string.contains("感谢支持"))
        }
    }

    @Test func theOperatorListsEveryOrderAndDecidesAnAppealOnThePage() async throws {
        try await withMallApp { t in
            // setup: an appealed after-sale of ¥10.00 on a shipped order
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            _ = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)
            let sale = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                            #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":0,"amountFen":1000,"reason":"外盒破损"}"#, token: s.buyer)
                .content.decode(AfterSaleDTO.self)
            _ = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/reject", #"{"reason":"包装完好"}"#, token: s.f.shopAToken)
            _ = try await t.postJSON("/api/v1/me/after-sales/\(sale.id)/appeal", #"{"reason":"有照片为证"}"#, token: s.buyer)
            let boss = try await Self.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])

            // act + check: every order, one by its number, and the appeal decided
            let all = try await boss.get("/admin/orders")
            #expect(all.body.string.contains(order.orderNo))
            #expect(all.body.string.contains("甲店"))
            #expect(try await boss.get("/admin/orders?q=000").body.string.contains("还没有订单"))
            let disputes = try await boss.get("/admin/disputes")
            #expect(disputes.body.string.contains("有照片为证"))
            #expect(disputes.body.string.contains("包装完好"))
            _ = try await boss.post("/admin/disputes/\(sale.id)", form: ["decision": "approve", "reason": ""])
            #expect(try await AfterSale.find(sale.id, on: t.app.db)?.state == "appealed")
            _ = try await boss.post("/admin/disputes/\(sale.id)", form: ["decision": "approve", "reason": "照片显示破损"])
            #expect(try await AfterSale.find(sale.id, on: t.app.db)?.state == "refunded")
            #expect(try await Order.find(order.id, on: t.app.db)?.refundedAmount == 1_000)
            #expect(try await boss.get("/admin/disputes").body.string.contains("暂无待处理的申诉"))
            // A shop's staff is sent to sign in as an operator.
            let shop = try await Self.signedIn(t, "/merchant/login", ["username": "a-owner", "password": "Staff2026"])
            #expect(try await shop.get("/admin/orders").headers.first(name: .location) == "/admin/login")
        }
    }
}
