import Fluent
import Foundation
import MallCore
import Vapor

/// Reviews on the pages: the buyer's form after receipt, the shop's replies, the operator's moderation.
struct ReviewPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("orders", ":orderID", "review", use: form)
        routes.on(.POST, "orders", ":orderID", "review", body: .collect(maxSize: ImageAPIController.maxRequest), use: create)
        routes.get("merchant", "reviews", use: shopReviews)
        routes.post("merchant", "reviews", ":reviewID", "reply", use: reply)
        routes.get("admin", "reviews", use: adminReviews)
        routes.post("admin", "reviews", ":reviewID", "hide", use: hide)
        routes.post("admin", "reviews", ":reviewID", "unhide", use: unhide)
    }

    struct Card: Encodable, Sendable {
        let id: String
        let product: String
        let buyer: String
        let stars: String
        let text: String
        let photos: [String]
        let reply: String
        let hidden: Bool
        let hiddenReason: String
        let at: String

        init(_ review: ReviewDTO) {
            id = review.id.uuidString
            product = review.productTitle + (review.specText.isEmpty ? "" : " · " + review.specText)
            buyer = review.buyer
            stars = ReviewRules.starText(review.stars)
            text = review.text
            photos = review.photos.map(\.url)
            reply = review.reply ?? ""
            hidden = review.hidden
            hiddenReason = review.hiddenReason
            at = PageFormat.timeFormatter.string(from: review.createdAt)
        }
    }

    // MARK: buyer

    struct FormPage: Encodable, Sendable {
        struct Line: Encodable, Sendable { let id: String; let title: String; let image: String }
        let orderId: String
        let orderNo: String
        let lines: [Line]
        let reviewed: [Card]
        let isDone: Bool
    }

    static func formPage(_ order: Order, req: Request) async throws -> FormPage {
        let orderID = try order.requireID()
        let storage = req.application.imageStorage
        let reviews = try await Review.query(on: req.db).filter(\.$orderID == orderID).sort(\.$createdAt).all()
        let done = Set(reviews.map(\.orderLineID))
        let lines = try await OrderLine.query(on: req.db).filter(\.$order.$id == orderID).sort(\.$position).all()
        let open = lines.filter { line in line.id.map { !done.contains($0) } ?? false }
        return FormPage(orderId: orderID.uuidString, orderNo: order.orderNo,
                        lines: open.map { .init(id: $0.id?.uuidString ?? "", title: $0.title + ($0.specText.isEmpty ? "" : " · " + $0.specText),
                                                image: $0.image.isEmpty ? "" : storage.url(for: $0.image)) },
                        reviewed: try reviews.map { Card(try ReviewDTO($0, storage: storage)) }, isDone: open.isEmpty)
    }

    @Sendable func form(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await OrderPageController.ownOrder(req, member: member)
        return try await req.page("orders/review", try await Self.formPage(order, req: req))
    }

    /// One line's review: stars, text and at most one photo from the form (more through the API).
    @Sendable func create(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let order = try await OrderPageController.ownOrder(req, member: member)
        let (memberID, orderID, now) = (try member.requireID(), try order.requireID(), req.now)
        struct Fields: Decodable { let line: String?; let stars: String?; let text: String?; let photo: File? }
        let fields = (try? req.content.decode(Fields.self)) ?? Fields(line: nil, stars: nil, text: nil, photo: nil)
        do {
            guard let lineID = fields.line.flatMap(UUID.init(uuidString:)) else {
                throw APIError.validation([.init("lineId", .init("请选择要评价的商品", "Choose the item to review"))])
            }
            let stars = fields.stars.flatMap { Int($0) } ?? 0
            guard (1...5).contains(stars) else {
                throw APIError.validation([.init("stars", .init("请选择 1-5 星", "Choose 1 to 5 stars"))])
            }
            var photos: [String] = []
            if let photo = fields.photo, photo.data.readableBytes > 0 {
                try await req.takeAnonymousHit(RateLimits.memberImagesPerMember, key: memberID.uuidString)
                let image = try await ImageService.store(Array(photo.data.readableBytesView), purpose: .member, merchantID: nil, memberID: memberID,
                                                         storage: req.application.imageStorage, on: req.db, at: now)
                photos.append(image.storageKey)
            }
            let input = ReviewInput(lineId: lineID, stars: stars, text: fields.text, photos: photos)
            _ = try await req.writeTransaction { db in try await ReviewService(db: db, now: now).create(orderID: orderID, memberID: memberID, input) }
            req.flash(PageStrings.shopping["review_done"] ?? .init("评价成功", "Thank you for the review"))
            return req.redirect(to: "/orders/\(orderID.uuidString)/review")
        } catch {
            return try await req.pageAfterFailure(error, "orders/review", try await Self.formPage(order, req: req))
        }
    }

    // MARK: shop

    struct ListPage: Encodable, Sendable {
        let reviews: [Card]
        let isEmpty: Bool
        let canAct: Bool
    }

    @Sendable func shopReviews(req: Request) async throws -> Response {
        guard let (_, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let storage = req.application.imageStorage
        let reviews = try await Review.query(on: req.db).filter(\.$merchantID == scope.merchantID)
            .sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(100).all()
        let cards = try reviews.map { Card(try ReviewDTO($0, storage: storage)) }
        return try await req.page("console/reviews", ListPage(reviews: cards, isEmpty: cards.isEmpty, canAct: req.principalCan(.handleOrders)))
    }

    @Sendable func reply(req: Request) async throws -> Response {
        guard OrderConsolePageController.staff(req) != nil else { return req.redirect(to: "/merchant/login") }
        let text = req.formFields.first("text") ?? ""
        return try await OrderPageController.redirectBack(req, "/merchant/reviews") {
            _ = try await ReviewAPIController.reply(req, text: text)
        }
    }

    // MARK: operator

    @Sendable func adminReviews(req: Request) async throws -> Response {
        guard case .staff(_, let role) = req.principal, role.isPlatform else { return req.redirect(to: "/admin/login") }
        let storage = req.application.imageStorage
        let reviews = try await Review.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(100).all()
        let cards = try reviews.map { Card(try ReviewDTO($0, storage: storage)) }
        return try await req.page("console/admin-reviews", ListPage(reviews: cards, isEmpty: cards.isEmpty, canAct: role.can(.handleDisputes)))
    }

    func moderate(_ req: Request, hidden: Bool) async throws -> Response {
        guard case .staff(_, let role) = req.principal, role.isPlatform else { return req.redirect(to: "/admin/login") }
        let reason = req.formFields.first("reason") ?? ""
        return try await OrderPageController.redirectBack(req, "/admin/reviews") {
            _ = try await ReviewAPIController.moderate(req, hidden: hidden, reason: reason)
        }
    }

    @Sendable func hide(req: Request) async throws -> Response { try await moderate(req, hidden: true) }
    @Sendable func unhide(req: Request) async throws -> Response { try await moderate(req, hidden: false) }
}
