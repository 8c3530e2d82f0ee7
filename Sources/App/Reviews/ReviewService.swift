import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct ReviewInput: Content {
    let lineId: UUID
    let stars: Int
    let text: String?
    /// Image keys from `POST /api/v1/me/images`; at most 6.
    let photos: [String]?
}

struct ReplyInput: Content {
    let text: String
}

enum ReviewError: Error, APIErrorConvertible {
    case notReceived
    case alreadyReviewed
    case lineRefunded
    case alreadyReplied
    case alreadyHidden
    case notHidden

    var apiError: APIError {
        switch self {
        case .notReceived:
            APIError(.conflict, "review.not_received", .init("确认收货后才能评价", "Reviews can be written after receipt"))
        case .alreadyReviewed:
            APIError(.conflict, "review.already_reviewed", .init("这件商品已经评价过了", "This item has already been reviewed"))
        case .lineRefunded:
            APIError(.conflict, "review.line_refunded", .init("这件商品已全部退款，无需评价", "This item was refunded in full and is not reviewed"))
        case .alreadyReplied:
            APIError(.conflict, "review.already_replied", .init("商家已回复过这条评价", "The shop has already replied to this review"))
        case .alreadyHidden:
            APIError(.conflict, "review.already_hidden", .init("这条评价已被隐藏", "This review is already hidden"))
        case .notHidden:
            APIError(.conflict, "review.not_hidden", .init("这条评价没有被隐藏", "This review is not hidden"))
        }
    }
}

/// Writing and moderating reviews. Every method expects a write transaction.
struct ReviewService {
    let db: any Database
    let now: Date

    /// The buyer rates one line of a received order, once. When every line still held is rated,
    /// the order is marked reviewed (it leaves the 待评价 tab).
    func create(orderID: UUID, memberID: UUID, _ input: ReviewInput) async throws -> Review {
        guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
        let photos = input.photos ?? []
        // The length as sent, what the contract's maxLength counts; stored trimmed.
        var issues = ReviewRules.check(stars: input.stars, text: input.text ?? "", photoCount: photos.count).map { problem in
            APIError.FieldIssue(problem.field, .init(problem.message(.zhHans), problem.message(.en)))
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let text = (input.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let line = try await OrderLine.query(on: db).filter(\.$id == input.lineId).filter(\.$order.$id == orderID).first() else {
            throw APIError.validation([.init("lineId", .init("订单中没有这件商品", "No such line in this order"))])
        }
        guard ReviewRules.orderAllowsReview(order.orderState) else { throw ReviewError.notReceived }
        guard line.refundedQuantity < line.quantity else { throw ReviewError.lineRefunded }
        issues = try await ImageService.requireOwnedByMember(photos.enumerated().map { (key: $0.element, field: "photos[\($0.offset)]") }, memberID: memberID, on: db)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let lineID = try line.requireID()
        guard try await Review.query(on: db).filter(\.$orderLineID == lineID).count() == 0 else { throw ReviewError.alreadyReviewed }

        let member = try await Member.find(memberID, on: db)
        let review = Review()
        review.orderID = orderID
        review.orderLineID = lineID
        review.productID = line.productID
        review.skuID = line.skuID
        review.merchantID = order.merchantID
        review.memberID = memberID
        review.buyerLabel = ReviewRules.maskedName(member?.nickname ?? "")
        review.productTitle = line.title
        review.specText = line.specText
        review.stars = input.stars
        review.text = text
        review.photos = photos.joined(separator: ",")
        review.hidden = false
        review.hiddenReason = ""
        review.createdAt = Date(timeIntervalSince1970: TimeInterval(CheckedNumber.int64(now.timeIntervalSince1970, rounding: .down) ?? 0))
        do {
            try await review.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw ReviewError.alreadyReviewed
        }
        try await PointsJobs.reviewed(try review.requireID(), memberID: memberID, withPhotos: !photos.isEmpty, on: db, now: now)

        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).all()
        let held = Set(lines.filter { $0.refundedQuantity < $0.quantity }.compactMap(\.id))
        let reviewed = Set(try await Review.query(on: db).filter(\.$orderID == orderID).all().map(\.orderLineID))
        if held.isSubset(of: reviewed) {
            try await sqlDatabase(db).raw("UPDATE orders SET reviewed = \(bind: true) WHERE id = \(bind: orderID) AND reviewed = \(bind: false)").run()
        }
        return review
    }

    /// The shop's one reply, by a conditional update: of two racing replies one wins.
    func reply(reviewID: UUID, merchantID: UUID, text: String) async throws -> Review {
        guard let review = try await Review.query(on: db).filter(\.$id == reviewID).filter(\.$merchantID == merchantID).first() else { throw APIError.notFound }
        guard review.reply == nil else { throw ReviewError.alreadyReplied }
        let updated = try await sqlDatabase(db).raw("""
            UPDATE reviews SET reply = \(bind: text), replied_at = \(bind: now) WHERE id = \(bind: reviewID) AND reply IS NULL RETURNING id
            """).all()
        guard !updated.isEmpty else { throw ReviewError.alreadyReplied }
        review.reply = text
        review.repliedAt = now
        return review
    }

    /// Hides (with the operator's reason) or shows again; recorded in the audit log.
    func setHidden(_ hidden: Bool, reviewID: UUID, reason: String, staff: StaffUser, ip: String) async throws -> Review {
        guard let review = try await Review.find(reviewID, on: db) else { throw APIError.notFound }
        guard review.hidden != hidden else { throw hidden ? ReviewError.alreadyHidden : ReviewError.notHidden }
        let updated = try await sqlDatabase(db).raw("""
            UPDATE reviews SET hidden = \(bind: hidden), hidden_reason = \(bind: hidden ? reason : "")
            WHERE id = \(bind: reviewID) AND hidden = \(bind: !hidden) RETURNING id
            """).all()
        guard !updated.isEmpty else { throw hidden ? ReviewError.alreadyHidden : ReviewError.notHidden }
        review.hidden = hidden
        review.hiddenReason = hidden ? reason : ""
        try await AuditLog.record(on: db, actor: staff, action: hidden ? "review.hide" : "review.unhide", target: "review:\(reviewID)",
                                  detail: String(reason.prefix(200)), ip: ip, at: now)
        return review
    }
}
