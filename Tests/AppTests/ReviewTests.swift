import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct ReviewTests {
    /// Ships an order in one parcel and confirms its receipt as the buyer.
    static func receive(_ t: TestContext, order: UUID, shop: String, buyer: String, number: String) async throws {
        let shipped = try await t.postJSON("/api/v1/merchant/orders/\(order)/ship", #"{"parcels":[{"carrierCode":"SF","trackingNo":"\#(number)"}]}"#, token: shop)
        #expect(shipped.status == .ok, "\(shipped.body.string)")
        #expect(try await t.postJSON("/api/v1/me/orders/\(order)/confirm-receipt", "{}", token: buyer).status == .ok)
    }

    static func awaitingReview(_ t: TestContext, token: String) async throws -> [UUID] {
        try await t.get("/api/v1/me/orders?tab=awaiting_review", token: token).content.decode([OrderDTO].self).map(\.id)
    }

    @Test func aLineIsReviewedOnceAfterReceiptAndTheOrderLeavesTheTab() async throws {
        try await withMallApp { t in
            // setup: a paid order of one line
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            let url = "/api/v1/me/orders/\(order.id)/reviews"
            let line = order.lines[0].id
            let photo = try await t.upload("/api/v1/me/images", bytes: TestImages.png(), token: s.buyer).content.decode(ImageDTO.self).key

            // Before receipt: 409.
            let early = try await t.postJSON(url, #"{"lineId":"\#(line)","stars":5,"text":"很好"}"#, token: s.buyer)
            #expect(early.status == .conflict, "\(early.body.string)")
            #expect(early.error?.code == "review.not_received")
            try await Self.receive(t, order: order.id, shop: s.f.shopAToken, buyer: s.buyer, number: "SF5000000001")
            #expect(try await Self.awaitingReview(t, token: s.buyer) == [order.id])

            // Out of range, too long, too many photos, someone else's photo: 422.
            for stars in [0, 6, -1] {
                let refused = try await t.postJSON(url, #"{"lineId":"\#(line)","stars":\#(stars)}"#, token: s.buyer)
                #expect(refused.status == .unprocessableEntity)
                #expect(refused.error?.details.map(\.field) == ["stars"])
            }
            let long = try await t.postJSON(url, #"{"lineId":"\#(line)","stars":4,"text":"\#(String(repeating: "好", count: 501))"}"#, token: s.buyer)
            #expect(long.error?.details.map(\.field) == ["text"])
            let photos = (0..<7).map { _ in #""\#(photo)""# }.joined(separator: ",")
            #expect(try await t.postJSON(url, #"{"lineId":"\#(line)","stars":4,"photos":[\#(photos)]}"#, token: s.buyer).error?.details.map(\.field) == ["photos"])
            #expect(try await t.postJSON(url, #"{"lineId":"\#(line)","stars":4,"photos":["someone-else.png"]}"#, token: s.buyer).error?.details.map(\.field) == ["photos[0]"])
            let stranger = try await t.registerMember("13600000088")
            #expect(try await t.postJSON(url, #"{"lineId":"\#(line)","stars":4}"#, token: stranger).status == .notFound)

            // act
            let created = try await t.postJSON(url, #"{"lineId":"\#(line)","stars":5,"text":"  奶粉很好，宝宝爱喝  ","photos":["\#(photo)"]}"#, token: s.buyer)

            // check
            #expect(created.status == .created, "\(created.body.string)")
            let review = try created.content.decode(ReviewDTO.self)
            #expect(review.text == "奶粉很好，宝宝爱喝")
            #expect(review.buyer == "用**")
            #expect(review.photos.map(\.key) == [photo])
            let twice = try await t.postJSON(url, #"{"lineId":"\#(line)","stars":1,"text":"改主意了"}"#, token: s.buyer)
            #expect(twice.status == .conflict)
            #expect(twice.error?.code == "review.already_reviewed")
            #expect(try await Order.find(order.id, on: t.app.db)?.reviewed == true)
            #expect(try await Self.awaitingReview(t, token: s.buyer).isEmpty)
            #expect(try await t.get(url, token: s.buyer).content.decode([ReviewDTO].self).map(\.id) == [review.id])
        }
    }

    @Test func theAverageRepliesAndModerationShowOnTheProduct() async throws {
        try await withMallApp { t in
            // setup: three received orders of the milk, rated 5, 4 and 4
            let (s, orders) = try await LogisticsTests.paidOrders(t, count: 3)
            var reviews: [ReviewDTO] = []
            for (index, (order, stars)) in zip(orders, [5, 4, 4]).enumerated() {
                try await Self.receive(t, order: order.id, shop: s.f.shopAToken, buyer: s.buyer, number: "SF60000000\(index)")
                t.clock.advance(seconds: 60)
                let created = try await t.postJSON("/api/v1/me/orders/\(order.id)/reviews", #"{"lineId":"\#(order.lines[0].id)","stars":\#(stars),"text":"第\#(index + 1)单"}"#, token: s.buyer)
                #expect(created.status == .created, "\(created.body.string)")
                reviews.append(try created.content.decode(ReviewDTO.self))
            }
            let product = s.milk.id
            func listed() async throws -> ProductReviewsDTO {
                let response = try await t.get("/api/v1/products/\(product)/reviews")
                #expect(response.status == .ok, "\(response.body.string)")
                return try response.content.decode(ProductReviewsDTO.self)
            }

            // 13 / 3 = 4.33… → 4.3, newest first
            var page = try await listed()
            #expect(page.summary.count == 3)
            #expect(page.summary.averageText == "4.3")
            #expect(page.summary.average == 4.3)
            #expect(page.items.map(\.text) == ["第3单", "第2单", "第1单"])
            // Keyset pages of one.
            let first = try await t.get("/api/v1/products/\(product)/reviews?limit=1").content.decode(ProductReviewsDTO.self)
            let cursor = try #require(first.nextCursor)
            let second = try await t.get("/api/v1/products/\(product)/reviews?limit=1&cursor=\(cursor)").content.decode(ProductReviewsDTO.self)
            #expect(first.items.map(\.text) + second.items.map(\.text) == ["第3单", "第2单"])
            #expect(try await t.get("/api/v1/products/\(product)/reviews?cursor=nonsense").status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/products/\(UUID())/reviews").status == .notFound)
            var html = try await PageClient(app: t.app).get("/products/\(product)").body.string
            #expect(html.contains(#"id="rating-average">4.3<"#))
            #expect(html.contains("3 条评价"))
            #expect(html.contains("第3单"))
            let english = try await PageClient(app: t.app).get("/products/\(product)", headers: ["Accept-Language": "en"]).body.string
            #expect(english.contains("3 reviews"))
            #expect(english.contains("Average rating"))

            // The shop replies once; another shop and the buyer cannot.
            let replyURL = "/api/v1/merchant/reviews/\(reviews[0].id)/reply"
            #expect(try await t.postJSON(replyURL, #"{"text":"谢谢支持"}"#, token: s.f.shopBToken).status == .notFound)
            #expect(try await t.postJSON(replyURL, #"{"text":"谢谢支持"}"#, token: s.buyer).status == .forbidden)
            #expect(try await t.postJSON(replyURL, #"{"text":"   "}"#, token: s.f.shopAToken).status == .unprocessableEntity)
            let replied = try await t.postJSON(replyURL, #"{"text":"谢谢支持"}"#, token: s.f.shopAToken)
            #expect(replied.status == .ok, "\(replied.body.string)")
            #expect(try replied.content.decode(ReviewDTO.self).reply == "谢谢支持")
            let again = try await t.postJSON(replyURL, #"{"text":"再次感谢"}"#, token: s.f.shopAToken)
            #expect(again.status == .conflict)
            #expect(again.error?.code == "review.already_replied")
            #expect(try await t.get("/api/v1/merchant/reviews", token: s.f.shopAToken).content.decode([ReviewDTO].self).count == 3)
            #expect(try await t.get("/api/v1/merchant/reviews", token: s.f.shopBToken).content.decode([ReviewDTO].self).isEmpty)
            html = try await PageClient(app: t.app).get("/products/\(product)").body.string
            #expect(html.contains("商家回复"))
            #expect(html.contains("谢谢支持"))

            // act: the operator hides the five-star review
            let hideURL = "/api/v1/admin/reviews/\(reviews[0].id)/hide"
            #expect(try await t.postJSON(hideURL, #"{"reason":"广告"}"#, token: s.f.shopAToken).status == .forbidden)
            #expect(try await t.postJSON(hideURL, #"{"reason":""}"#, token: s.f.operatorToken).status == .unprocessableEntity)
            let hidden = try await t.postJSON(hideURL, #"{"reason":"含广告内容"}"#, token: s.f.operatorToken)
            #expect(hidden.status == .ok, "\(hidden.body.string)")
            #expect(try await t.postJSON(hideURL, #"{"reason":"含广告内容"}"#, token: s.f.operatorToken).status == .conflict)

            // check: gone from the list and the average, on the API and the page; audited
            page = try await listed()
            #expect(page.summary.count == 2)
            #expect(page.summary.averageText == "4.0")
            #expect(!page.items.map(\.id).contains(reviews[0].id))
            html = try await PageClient(app: t.app).get("/products/\(product)").body.string
            #expect(html.contains(#"id="rating-average">4.0<"#))
            #expect(!html.contains("第1单"))
            let audit = try await AuditLogEntry.query(on: t.app.db).filter(\.$action == "review.hide").all()
            #expect(audit.map(\.target) == ["review:\(reviews[0].id)"])
            #expect(try await t.get("/api/v1/admin/reviews?hidden=true", token: s.f.operatorToken).content.decode([ReviewDTO].self).map(\.id) == [reviews[0].id])

            // Shown again, it counts again.
            #expect(try await t.postJSON("/api/v1/admin/reviews/\(reviews[0].id)/unhide", #"{"reason":"申诉通过"}"#, token: s.f.operatorToken).status == .ok)
            #expect(try await listed().summary.averageText == "4.3")
        }
    }
}
