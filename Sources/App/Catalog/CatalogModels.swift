import Fluent
import Foundation
import MallCore

final class Category: Model, @unchecked Sendable {
    static let schema = "categories"

    @ID(key: .id) var id: UUID?
    @OptionalParent(key: "parent_id") var parent: Category?
    @Field(key: "name") var name: String
    /// An emoji or an uploaded image path shown on category entrances.
    @Field(key: "icon") var icon: String
    @Field(key: "sort_order") var sortOrder: Int
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

final class Brand: Model, @unchecked Sendable {
    static let schema = "brands"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// A product (SPU). Its SKUs carry prices and stock; `min_price` and `total_stock` are kept
/// from them for listing, filtering and sorting.
final class Product: Model, @unchecked Sendable {
    static let schema = "products"

    enum Kind: String, Codable, CaseIterable { case physical, service }

    @ID(key: .id) var id: UUID?
    @Parent(key: "merchant_id") var merchant: Merchant
    @Parent(key: "category_id") var category: Category
    @OptionalParent(key: "brand_id") var brand: Brand?
    @Field(key: "title") var title: String
    @Field(key: "subtitle") var subtitle: String
    @Field(key: "description") var description: String
    @Field(key: "kind") var kind: String
    /// Service products: days a bought voucher stays redeemable.
    @OptionalField(key: "validity_days") var validityDays: Int?
    @Field(key: "on_shelf") var onShelf: Bool
    @Field(key: "sort_weight") var sortWeight: Int64
    @Field(key: "sales_count") var salesCount: Int64
    /// JSON of `[SpecMatrix.Spec]`.
    @Field(key: "specs_json") var specsJSON: String
    /// Tags joined by commas.
    @Field(key: "tags") var tags: String
    @Field(key: "min_price") var minPrice: Int64
    @Field(key: "total_stock") var totalStock: Int64
    /// Milliseconds since 1970, the key for "newest" ordering.
    @Field(key: "listed_at") var listedAt: Int64
    /// Image storage keys: the main image and the gallery (joined by commas), "" for none.
    @Field(key: "main_image") var mainImage: String
    @Field(key: "gallery") var gallery: String
    @Field(key: "updated_at") var updatedAt: Date

    @Children(for: \.$product) var skus: [Sku]

    init() {}

    var tagList: [String] { tags.split(separator: ",").map(String.init) }
    var galleryKeys: [String] { gallery.split(separator: ",").map(String.init) }

    /// The specs as saved; a product without specs has none.
    var specs: [SpecMatrix.Spec] { (try? JSONDecoder().decode([SpecMatrix.Spec].self, from: Data(specsJSON.utf8))) ?? [] }
}

extension Category {
    /// Each category's parent, for tree checks in MallCore's `CategoryTree`.
    static func parents(_ all: [Category]) -> [UUID: UUID?] {
        Dictionary(uniqueKeysWithValues: all.compactMap { category in category.id.map { ($0, category.$parent.id) } })
    }
}

final class Sku: Model, @unchecked Sendable {
    static let schema = "skus"

    @ID(key: .id) var id: UUID?
    @Parent(key: "product_id") var product: Product
    /// The product's merchant, kept here so a SKU code is unique per merchant.
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "code") var code: String
    /// "颜色:红;尺码:M", "" for a product without specs.
    @Field(key: "spec_key") var specKey: String
    @Field(key: "price") var price: Int64
    @OptionalField(key: "member_price") var memberPrice: Int64?
    @OptionalField(key: "market_price") var marketPrice: Int64?
    @Field(key: "weight_grams") var weightGrams: Int
    @Field(key: "stock") var stock: Int64
    @Field(key: "low_stock_threshold") var lowStockThreshold: Int64
    @Field(key: "position") var position: Int
    /// Image storage key, "" for none.
    @Field(key: "image") var image: String

    init() {}

    var specValues: [String: String] { Self.parseSpecKey(specKey) }
}

/// One row per (term, product): bigrams of Chinese text and lower-cased words, see `SearchTerms`.
final class ProductSearchTerm: Model, @unchecked Sendable {
    static let schema = "product_search_terms"

    @ID(key: .id) var id: UUID?
    @Field(key: "term") var term: String
    @Parent(key: "product_id") var product: Product

    init() {}
}

extension Product: MerchantOwned {
    static func scoped(_ query: QueryBuilder<Product>, to merchantID: UUID) -> QueryBuilder<Product> {
        query.filter(\.$merchant.$id == merchantID)
    }
}
