import Fluent
import Foundation
import MallCore

/// A member's delivery address. The receiver's phone is personal data: sealed, shown masked.
final class Address: Model, @unchecked Sendable {
    static let schema = "addresses"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "receiver_name") var receiverName: String
    @Field(key: "phone_cipher") var phoneCipher: String
    /// GB/T 2260 code of the province-level division, see `ChinaRegions`.
    @Field(key: "province_code") var provinceCode: String
    @Field(key: "city") var city: String
    @Field(key: "district") var district: String
    @Field(key: "detail") var detail: String
    @Field(key: "is_default") var isDefault: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// One SKU in a member's cart. The price when added is kept so the cart can say it changed.
final class CartItem: Model, @unchecked Sendable {
    static let schema = "cart_items"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Parent(key: "sku_id") var sku: Sku
    @Field(key: "quantity") var quantity: Int64
    @Field(key: "selected") var selected: Bool
    @Field(key: "price_when_added") var priceWhenAdded: Int64
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

struct CreateAddressesAndCart: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Address.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("receiver_name", .string, .required)
            .field("phone_cipher", .string, .required)
            .field("province_code", .string, .required)
            .field("city", .string, .required)
            .field("district", .string, .required)
            .field("detail", .string, .required)
            .field("is_default", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("addresses_member", on: Address.schema, columns: ["member_id"], db: db)
        try await db.schema(CartItem.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("sku_id", .uuid, .required, .references(Sku.schema, .id, onDelete: .cascade))
            .field("quantity", .int64, .required)
            .field("selected", .bool, .required)
            .field("price_when_added", .int64, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "member_id", "sku_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(CartItem.schema).delete()
        try await db.schema(Address.schema).delete()
    }
}
