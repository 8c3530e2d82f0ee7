import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct RatingSummaryDTO: Content {
    let count: Int64
    /// To one decimal, e.g. 4.5; 0 without reviews.
    let average: Double
    /// The same as text: "4.5".
    let averageText: String

    init(_ summary: RatingSummary) {
        count = summary.count
        average = Double(summary.averageTenths) / 10
        averageText = summary.averageText
    }
}

/// A review as everyone may read it.
struct PublicReviewDTO: Content {
    let id: UUID
    let buyer: String
    let stars: Int
    let text: String
    let specText: String
    let photos: [ImageRef]
    let reply: String?
    let repliedAt: Date?
    let createdAt: Date

    init(_ review: Review, storage: any ImageStorage) throws {
        id = try review.requireID()
        buyer = review.buyerLabel
        stars = review.stars
        text = review.text
        specText = review.specText
        photos = review.photoKeys.compactMap { ImageRef($0, storage) }
        reply = review.reply
        repliedAt = review.repliedAt
        createdAt = review.createdAt
    }
}

/// A review as its buyer, its shop and the platform see it.
struct ReviewDTO: Content {
    let id: UUID
    let orderId: UUID
    let lineId: UUID
    let productId: UUID
    let productTitle: String
    let specText: String
    let buyer: String
    let stars: Int
    let text: String
    let photos: [ImageRef]
    let reply: String?
    let repliedAt: Date?
    let hidden: Bool
    let hiddenReason: String
    let createdAt: Date

    init(_ review: Review, storage: any ImageStorage) throws {
        id = try review.requireID()
        orderId = review.orderID
        lineId = review.orderLineID
        productId = review.productID
        productTitle = review.productTitle
        specText = review.specText
        buyer = review.buyerLabel
        stars = review.stars
        text = review.text
        photos = review.photoKeys.compactMap { ImageRef($0, storage) }
        reply = review.reply
        repliedAt = review.repliedAt
        hidden = review.hidden
        hiddenReason = review.hiddenReason
        createdAt = review.createdAt
    }
}

struct ProductReviewsDTO: Content {
    let productId: UUID
    let summary: RatingSummaryDTO
    /// Newest first.
    let items: [PublicReviewDTO]
    /// Pass as `cursor` for the next page; absent on the last.
    let nextCursor: String?
}

/// Read side of reviews: static functions, called by the API, the product page and tests.
enum ReviewQueries {
    /// Count and average of a product's visible reviews.
    static func summary(productID: UUID, on db: any Database) async throws -> RatingSummary {
        let row = try await sqlDatabase(db).raw("""
            SELECT COUNT(*) AS n, CAST(COALESCE(SUM(stars), 0) AS BIGINT) AS total FROM reviews WHERE product_id = \(bind: productID) AND hidden = \(bind: false)
            """).first()
        let count = try row?.decode(column: "n", as: Int64.self) ?? 0
        let total = try row?.decode(column: "total", as: Int64.self) ?? 0
        return RatingSummary(count: count, starsTotal: total)
    }

    /// Visible reviews, newest first, after the cursor ("<epoch seconds>_<review id>").
    static func visible(productID: UUID, limit: Int, cursor: String?, on db: any Database) async throws -> (reviews: [Review], next: String?) {
        var query = Review.query(on: db).filter(\.$productID == productID).filter(\.$hidden == false)
        if let cursor {
            guard let position = Self.decode(cursor) else {
                throw APIError.validation([.init("cursor", .init("分页游标无效", "Invalid page cursor"))])
            }
            let (time, id) = position
            query = query.group(.or) { either in
                either.filter(\.$createdAt < time)
                either.group(.and) { tie in tie.filter(\.$createdAt == time).filter(\.$id < id) }
            }
        }
        let rows = try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit + 1).all()
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.flatMap { last in last.id.map { Self.encode(last.createdAt, $0) } } : nil
        return (page, next)
    }

    static func encode(_ time: Date, _ id: UUID) -> String {
        "\(CheckedNumber.int64(time.timeIntervalSince1970, rounding: .down) ?? 0)_\(id.uuidString.lowercased())"
    }

    static func decode(_ cursor: String) -> (Date, UUID)? {
        guard cursor.utf8.count <= 80 else { return nil }
        let parts = cursor.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, (1...12).contains(parts[0].count), parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let seconds = Int64(parts[0]), (0...253_402_300_799).contains(seconds), let id = UUID(uuidString: String(parts[1])) else { return nil }
        return (Date(timeIntervalSince1970: TimeInterval(seconds)), id)
    }

    /// A product the storefront shows: on the shelf, of an active shop.
    static func requireListedProduct(_ productID: UUID, on db: any Database) async throws {
        let found = try await Product.query(on: db)
            .join(Merchant.self, on: \Product.$merchant.$id == \Merchant.$id)
            .filter(Merchant.self, \.$status == Merchant.Status.active.rawValue)
            .filter(\.$id == productID).filter(\.$onShelf == true)
            .count()
        guard found > 0 else { throw APIError.notFound }
    }
}

/// The reviews block of the product page: average, count and the latest reviews, in the
/// visitor's language.
struct ProductReviewSection: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        let buyer: String
        let stars: Int
        /// "★★★★☆"
        let starText: String
        let text: String
        let specText: String
        let photos: [String]
        let hasPhotos: Bool
        let reply: String
        let hasReply: Bool
        let date: String
    }

    let count: Int64
    let average: String
    let hasReviews: Bool
    let items: [Item]
    let heading: String
    let countLabel: String
    let averageLabel: String
    let emptyText: String
    let replyLabel: String

    static let latest = 5

    static func load(productID: UUID, on db: any Database, locale: MallLocale, storage: any ImageStorage) async throws -> ProductReviewSection {
        let summary = try await ReviewQueries.summary(productID: productID, on: db)
        let (reviews, _) = try await ReviewQueries.visible(productID: productID, limit: latest, cursor: nil, on: db)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd"
        let zh = locale == .zhHans
        return ProductReviewSection(
            count: summary.count, average: summary.averageText, hasReviews: summary.count > 0,
            items: reviews.map { review in
                let stars = min(max(review.stars, 0), 5)
                let photos = review.photoKeys.map { storage.url(for: $0) }
                return Item(buyer: review.buyerLabel, stars: stars, starText: ReviewRules.starText(stars),
                            text: review.text, specText: review.specText, photos: photos, hasPhotos: !photos.isEmpty,
                            reply: review.reply ?? "", hasReply: review.reply != nil, date: formatter.string(from: review.createdAt))
            },
            heading: zh ? "商品评价" : "Reviews",
            countLabel: zh ? "\(summary.count) 条评价" : (summary.count == 1 ? "1 review" : "\(summary.count) reviews"),
            averageLabel: zh ? "平均评分" : "Average rating",
            emptyText: zh ? "还没有评价" : "No reviews yet",
            replyLabel: zh ? "商家回复" : "Shop reply")
    }
}
