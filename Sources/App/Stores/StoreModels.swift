import Fluent
import Foundation
import MallCore
import Vapor

/// A physical outlet of a merchant: pickup point, its own stock and its own QR code.
final class Store: Model, @unchecked Sendable {
    static let schema = "stores"

    enum Kind: String, Codable, CaseIterable { case direct, franchise }

    @ID(key: .id) var id: UUID?
    @Parent(key: "merchant_id") var merchant: Merchant
    @Field(key: "name") var name: String
    @Field(key: "kind") var kind: String
    @Field(key: "address") var address: String
    @Field(key: "latitude") var latitude: Double
    @Field(key: "longitude") var longitude: Double
    @Field(key: "hours") var hours: String
    /// The shop's public telephone, not personal data.
    @Field(key: "phone") var phone: String
    @Field(key: "active") var active: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    /// The staff member (a distributor) a buyer who scans the store's QR code binds to.
    @OptionalField(key: "staff_distributor_id") var staffDistributorID: UUID?
    /// Scanning the store's QR code admits a member under the store_qr admission mode.
    @OptionalField(key: "recruits_distributors") var recruitsDistributors: Bool?

    init() {}
}

/// Stock of one SKU held in one store.
final class StoreStock: Model, @unchecked Sendable {
    static let schema = "store_stock"

    @ID(key: .id) var id: UUID?
    @Parent(key: "store_id") var store: Store
    @Parent(key: "sku_id") var sku: Sku
    @Field(key: "stock") var stock: Int64
    @Field(key: "low_stock_threshold") var lowStockThreshold: Int64

    init() {}
}

extension Store: MerchantOwned {
    static func scoped(_ query: QueryBuilder<Store>, to merchantID: UUID) -> QueryBuilder<Store> {
        query.filter(\.$merchant.$id == merchantID)
    }
}

struct CreateStores: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Store.schema)
            .id()
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("address", .string, .required)
            .field("latitude", .double, .required)
            .field("longitude", .double, .required)
            .field("hours", .string, .required)
            .field("phone", .string, .required)
            .field("active", .bool, .required)
            .field("created_at", .datetime)
            .create()
        try await createIndex("stores_merchant", on: Store.schema, columns: ["merchant_id"], db: db)
        try await db.schema(StoreStock.schema)
            .id()
            .field("store_id", .uuid, .required, .references(Store.schema, .id, onDelete: .cascade))
            .field("sku_id", .uuid, .required, .references(Sku.schema, .id, onDelete: .cascade))
            .field("stock", .int64, .required)
            .field("low_stock_threshold", .int64, .required)
            .unique(on: "store_id", "sku_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(StoreStock.schema).delete()
        try await db.schema(Store.schema).delete()
    }
}

struct StoreInput: Content {
    let name: String
    /// "direct" (直营) or "franchise" (加盟)
    let kind: String
    let address: String
    let latitude: Double
    let longitude: Double
    let hours: String?
    let phone: String?
    let active: Bool?
}

struct StoreStockInput: Content {
    struct Item: Content {
        let skuId: UUID
        let stock: Int64
        let lowStockThreshold: Int64?
    }
    let items: [Item]
}

struct StoreDTO: Content {
    let id: UUID
    let merchantId: UUID
    let name: String
    let kind: String
    let address: String
    let latitude: Double
    let longitude: Double
    let hours: String
    let phone: String
    let active: Bool
    /// Scanning this store's QR code can make a member a distributor.
    let recruitsDistributors: Bool
    /// Metres from the point asked about, when there was one.
    let distanceMetres: Int?

    init(_ store: Store, distance: Double? = nil) throws {
        id = try store.requireID()
        merchantId = store.$merchant.id
        name = store.name
        kind = store.kind
        address = store.address
        latitude = store.latitude
        longitude = store.longitude
        hours = store.hours
        phone = store.phone
        active = store.active
        recruitsDistributors = store.recruitsDistributors ?? false
        // A non-finite distance (a bad stored coordinate) is left out rather than converted.
        distanceMetres = distance.flatMap(Geo.roundedMetres)
    }
}

struct StoreStockDTO: Content {
    let skuId: UUID
    let skuCode: String
    let productTitle: String
    let stock: Int64
    let lowStockThreshold: Int64
    let low: Bool
}

enum StoreService {
    static func validate(_ input: StoreInput) throws -> Store.Kind {
        var issues: [APIError.FieldIssue] = []
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.name, max: 50) { issues.append(.init("name", .init("门店名称需为 1-50 个字", "The store name needs 1–50 characters"))) }
        let kind = Store.Kind(rawValue: input.kind)
        if kind == nil { issues.append(.init("kind", .init("门店类型只能是 direct（直营）或 franchise（加盟）", "kind must be direct or franchise"))) }
        let address = input.address.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.address, max: 200) { issues.append(.init("address", .init("请填写门店地址", "Enter the store's address"))) }
        if !Geo.isValid(lat: input.latitude, lng: input.longitude) {
            issues.append(.init("latitude", .init("经纬度无效", "Invalid coordinates")))
        }
        if !TextLength.fits(input.hours ?? "", max: 100) { issues.append(.init("hours", .init("营业时间最多 100 字", "Hours have at most 100 characters"))) }
        if !TextLength.fits(input.phone ?? "", max: 30) { issues.append(.init("phone", .init("电话最多 30 位", "The phone has at most 30 characters"))) }
        guard issues.isEmpty, let kind else { throw APIError.validation(issues) }
        return kind
    }

    static func apply(_ input: StoreInput, kind: Store.Kind, to store: Store) {
        store.name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        store.kind = kind.rawValue
        store.address = input.address.trimmingCharacters(in: .whitespacesAndNewlines)
        store.latitude = input.latitude
        store.longitude = input.longitude
        store.hours = input.hours ?? ""
        store.phone = input.phone ?? ""
        store.active = input.active ?? true
    }

    /// Active stores of active merchants, nearest first when a point is given.
    static func nearby(lat: Double?, lng: Double?, limit: Int, on db: any Database) async throws -> [StoreDTO] {
        let stores = try await Store.query(on: db)
            .join(Merchant.self, on: \Store.$merchant.$id == \Merchant.$id)
            .filter(Merchant.self, \.$status == Merchant.Status.active.rawValue)
            .filter(\.$active == true)
            .all()
        guard let lat, let lng else { return try stores.prefix(limit).map { try StoreDTO($0) } }
        return try stores
            .map { ($0, Geo.distanceMetres(lat1: lat, lng1: lng, lat2: $0.latitude, lng2: $0.longitude)) }
            .sorted { $0.1 < $1.1 }
            .prefix(limit)
            .map { try StoreDTO($0.0, distance: $0.1) }
    }
}

/// A store where a service product's voucher can be redeemed (核销门店).
final class ProductRedeemStore: Model, @unchecked Sendable {
    static let schema = "product_redeem_stores"

    @ID(key: .id) var id: UUID?
    @Parent(key: "product_id") var product: Product
    @Parent(key: "store_id") var store: Store

    init() {}

    init(productID: UUID, storeID: UUID) {
        self.$product.id = productID
        self.$store.id = storeID
    }
}

struct CreateRedemptionStoresAndStoreStaff: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(ProductRedeemStore.schema)
            .id()
            .field("product_id", .uuid, .required, .references(Product.schema, .id, onDelete: .cascade))
            .field("store_id", .uuid, .required, .references(Store.schema, .id, onDelete: .cascade))
            .unique(on: "product_id", "store_id")
            .create()
        try await createIndex("product_redeem_stores_store", on: ProductRedeemStore.schema, columns: ["store_id"], db: db)
        // Store clerks (店员) belong to one store of their merchant.
        try await db.schema(StaffUser.schema).field("store_id", .uuid, .references(Store.schema, .id)).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(StaffUser.schema).deleteField("store_id").update()
        try await db.schema(ProductRedeemStore.schema).delete()
    }
}
