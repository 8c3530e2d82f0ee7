import Fluent
import Foundation
import MallCore
import Vapor

/// An in-app message to a merchant, such as a low-stock alert.
final class MerchantMessage: Model, @unchecked Sendable {
    static let schema = "merchant_messages"

    @ID(key: .id) var id: UUID?
    @Parent(key: "merchant_id") var merchant: Merchant
    @Field(key: "kind") var kind: String
    @Field(key: "title") var title: String
    @Field(key: "body") var body: String
    @OptionalField(key: "read_at") var readAt: Date?
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

extension MerchantMessage: MerchantOwned {
    static func scoped(_ query: QueryBuilder<MerchantMessage>, to merchantID: UUID) -> QueryBuilder<MerchantMessage> {
        query.filter(\.$merchant.$id == merchantID)
    }
}

struct CreateMerchantMessages: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(MerchantMessage.schema)
            .id()
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("kind", .string, .required)
            .field("title", .string, .required)
            .field("body", .string, .required)
            .field("read_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("merchant_messages_merchant", on: MerchantMessage.schema, columns: ["merchant_id", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(MerchantMessage.schema).delete()
    }
}

struct MerchantMessageDTO: Content {
    let id: UUID
    let kind: String
    let title: String
    let body: String
    let read: Bool
    let createdAt: Date

    init(_ message: MerchantMessage) throws {
        id = try message.requireID()
        kind = message.kind
        title = message.title
        body = message.body
        read = message.readAt != nil
        createdAt = message.createdAt
    }
}

/// Low-stock alerts: a message when stock falls to or below its threshold, once per fall.
enum LowStockAlerts {
    /// Whether a change of stock from `old` (nil for a new SKU) to `new` crosses `threshold` downwards.
    static func crosses(old: Int64?, new: Int64, threshold: Int64) -> Bool {
        guard new <= threshold else { return false }
        guard let old else { return true }
        return old > threshold
    }

    static func notify(merchantID: UUID, skuCode: String, productTitle: String, store: String?, stock: Int64, threshold: Int64, on db: any Database, at date: Date) async throws {
        let message = MerchantMessage()
        message.$merchant.id = merchantID
        message.kind = "low_stock"
        let place = store.map { "（\($0)）" } ?? ""
        message.title = "库存预警：\(productTitle) \(skuCode)\(place)"
        message.body = "库存 \(stock)，已不高于预警值 \(threshold)，请及时补货。Low stock: \(stock) left, at or below the threshold of \(threshold)."
        message.createdAt = date
        try await message.create(on: db)
    }
}
