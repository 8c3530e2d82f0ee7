import Fluent
import Foundation
import MallCore
import Vapor

/// Reviews under `/api/v1`: the buyer writes, the shop replies, the platform moderates, and
/// everyone reads a product's visible ones.
struct ReviewAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("products", ":productID", "reviews", use: productReviews)
        routes.post("me", "orders", ":orderID", "reviews", use: create)
        routes.get("me", "orders", ":orderID", "reviews", use: myReviews)
        let shop = routes.grouped("merchant", "reviews")
        shop.get(use: shopList)
        shop.post(":reviewID", "reply", use: reply)
        let admin = routes.grouped("admin", "reviews")
        admin.get(use: adminList)
        admin.post(":reviewID", "hide", use: hide)
        admin.post(":reviewID", "unhide", use: unhide)
    }

    struct PageQuery: Content {
        let limit: Int?
        let cursor: String?
    }

    @Sendable func productReviews(req: Request) async throws -> ProductReviewsDTO {
        let productID = try req.uuidParameter("productID")
        let query = try req.query.decode(PageQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 20)
        try await ReviewQueries.requireListedProduct(productID, on: req.db)
        let summary = try await ReviewQueries.summary(productID: productID, on: req.db)
        let (reviews, next) = try await ReviewQueries.visible(productID: productID, limit: limit, cursor: query.cursor, on: req.db)
        let storage = req.application.imageStorage
        return ProductReviewsDTO(productId: productID, summary: RatingSummaryDTO(summary), items: try reviews.map { try PublicReviewDTO($0, storage: storage) }, nextCursor: next)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let orderID = try req.uuidParameter("orderID")
        let input = try req.content.decode(ReviewInput.self)
        let now = req.now
        let review = try await req.writeTransaction { db in
            try await ReviewService(db: db, now: now).create(orderID: orderID, memberID: memberID, input)
        }
        return try await ReviewDTO(review, storage: req.application.imageStorage).encodeResponse(status: .created, for: req)
    }

    @Sendable func myReviews(req: Request) async throws -> [ReviewDTO] {
        let memberID = try req.requireMember().requireID()
        let order = try await OrderAPIController.ownOrder(req, memberID: memberID, on: req.db)
        let storage = req.application.imageStorage
        return try await Review.query(on: req.db).filter(\.$orderID == order.requireID()).sort(\.$createdAt).all()
            .map { try ReviewDTO($0, storage: storage) }
    }

    @Sendable func shopList(req: Request) async throws -> [ReviewDTO] {
        let scope = try req.merchantScope()
        let limit = try req.query.decode(LimitQuery.self).validatedLimit(default: 50)
        let storage = req.application.imageStorage
        return try await Review.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$createdAt, .descending).sort(\.$id, .descending)
            .limit(limit).all().map { try ReviewDTO($0, storage: storage) }
    }

    @Sendable func reply(req: Request) async throws -> ReviewDTO {
        try await Self.reply(req, text: try req.content.decode(ReplyInput.self).text)
    }

    /// The shop's reply, for the API and the console page alike.
    static func reply(_ req: Request, text raw: String) async throws -> ReviewDTO {
        let scope = try req.merchantScope(.handleOrders)
        let reviewID = try req.uuidParameter("reviewID")
        guard TextLength.isFilled(raw, max: ReviewRules.maxReplyLength) else {
            throw APIError.validation([.init("text", .init("请填写 1-\(ReviewRules.maxReplyLength) 字的回复", "Give a reply of 1–\(ReviewRules.maxReplyLength) characters"))])
        }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = req.now
        let review = try await req.writeTransaction { db in
            try await ReviewService(db: db, now: now).reply(reviewID: reviewID, merchantID: scope.merchantID, text: text)
        }
        return try ReviewDTO(review, storage: req.application.imageStorage)
    }

    struct AdminQuery: Content {
        let hidden: Bool?
        let limit: Int?
    }

    @Sendable func adminList(req: Request) async throws -> [ReviewDTO] {
        _ = try req.requireStaff(.handleDisputes)
        let query = try req.query.decode(AdminQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit()
        var reviews = Review.query(on: req.db)
        if let hidden = query.hidden { reviews = reviews.filter(\.$hidden == hidden) }
        let storage = req.application.imageStorage
        return try await reviews.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all().map { try ReviewDTO($0, storage: storage) }
    }

    func moderate(_ req: Request, hidden: Bool) async throws -> ReviewDTO {
        try await Self.moderate(req, hidden: hidden, reason: try req.content.decode(NoteInput.self).reason)
    }

    /// Hiding or showing a review, for the API and the console page alike.
    static func moderate(_ req: Request, hidden: Bool, reason raw: String) async throws -> ReviewDTO {
        let staff = try req.requireStaff(.handleDisputes)
        let reviewID = try req.uuidParameter("reviewID")
        let reason = try AfterSaleAPIController.text(raw, field: "reason", max: ReviewRules.maxHideReasonLength)
        let (now, ip) = (req.now, req.clientIP)
        let review = try await req.writeTransaction { db in
            try await ReviewService(db: db, now: now).setHidden(hidden, reviewID: reviewID, reason: reason, staff: staff, ip: ip)
        }
        return try ReviewDTO(review, storage: req.application.imageStorage)
    }

    /// Hides an abusive review: it leaves the product's list and average. Audited.
    @Sendable func hide(req: Request) async throws -> ReviewDTO { try await moderate(req, hidden: true) }

    /// Shows a hidden review again. Audited.
    @Sendable func unhide(req: Request) async throws -> ReviewDTO { try await moderate(req, hidden: false) }
}
