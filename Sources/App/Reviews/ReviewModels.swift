import Fluent
import Foundation
import MallCore

/// A buyer's rating of one order line, given once after receipt. The shop may reply once; the
/// platform may hide it (and show it again), which takes it out of the list and the average.
final class Review: Model, @unchecked Sendable {
    static let schema = "reviews"

    @ID(key: .id) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    /// Unique: one review per line, also under two racing submissions.
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "product_id") var productID: UUID
    @Field(key: "sku_id") var skuID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "member_id") var memberID: UUID
    /// The buyer as the public sees them, masked when written ("张**").
    @Field(key: "buyer_label") var buyerLabel: String
    /// The product and spec as bought, copied from the line.
    @Field(key: "product_title") var productTitle: String
    @Field(key: "spec_text") var specText: String
    @Field(key: "stars") var stars: Int
    @Field(key: "text") var text: String
    /// Image keys, comma-separated.
    @Field(key: "photos") var photos: String
    @OptionalField(key: "reply") var reply: String?
    @OptionalField(key: "replied_at") var repliedAt: Date?
    @Field(key: "hidden") var hidden: Bool
    @Field(key: "hidden_reason") var hiddenReason: String
    /// Whole seconds, so the page cursor compares exactly on both databases.
    @Field(key: "created_at") var createdAt: Date

    init() {}

    var photoKeys: [String] { photos.split(separator: ",").map(String.init) }
}

struct CreateReviews: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Review.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("product_id", .uuid, .required)
            .field("sku_id", .uuid, .required)
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("buyer_label", .string, .required)
            .field("product_title", .string, .required)
            .field("spec_text", .string, .required)
            .field("stars", .int, .required)
            .field("text", .string, .required)
            .field("photos", .string, .required)
            .field("reply", .string)
            .field("replied_at", .datetime)
            .field("hidden", .bool, .required)
            .field("hidden_reason", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "order_line_id")
            .create()
        try await createIndex("reviews_product", on: Review.schema, columns: ["product_id", "hidden", "created_at"], db: db)
        try await createIndex("reviews_merchant", on: Review.schema, columns: ["merchant_id", "created_at"], db: db)
        try await createIndex("reviews_order", on: Review.schema, columns: ["order_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(Review.schema).delete()
    }
}
