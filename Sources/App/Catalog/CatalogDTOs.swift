import Foundation
import MallCore
import Vapor

struct CategoryInput: Content {
    let name: String?
    let parentId: UUID?
    let icon: String?
    let sortOrder: Int?
    /// On update: true moves the category to the top level (a null parentId means "unchanged").
    let makeRoot: Bool?
}

struct CategoryDTO: Content, Equatable {
    let id: UUID
    let parentId: UUID?
    let name: String
    let icon: String
    let sortOrder: Int

    init(_ category: Category) throws {
        id = try category.requireID()
        parentId = category.$parent.id
        name = category.name
        icon = category.icon
        sortOrder = category.sortOrder
    }
}

struct BrandInput: Content {
    let name: String
}

struct BrandDTO: Content {
    let id: UUID
    let name: String
    init(_ brand: Brand) throws {
        id = try brand.requireID()
        name = brand.name
    }
}

struct SkuInput: Content {
    /// Spec name → value, e.g. {"颜色": "红", "尺码": "M"}; omitted for a product without specs.
    let specs: [String: String]?
    let code: String
    let priceFen: Int64
    let memberPriceFen: Int64?
    let marketPriceFen: Int64?
    let weightGrams: Int?
    let stock: Int64
    let lowStockThreshold: Int64?
    /// An image `key` from `POST /api/v1/merchant/images`, shown when this SKU is chosen.
    var image: String? = nil
}

struct ProductInput: Content {
    let title: String
    let subtitle: String?
    let description: String?
    let categoryId: UUID
    let brandId: UUID?
    /// "physical" (default) or "service".
    let kind: String?
    let validityDays: Int?
    let tags: [String]?
    let specs: [SpecMatrix.Spec]?
    let skus: [SkuInput]
    let onShelf: Bool?
    let sortWeight: Int64?
    /// Image keys from `POST /api/v1/merchant/images`; absent means none. The saved gallery always
    /// includes the main image (first if it was missing), and a gallery without a main image lends its first.
    var mainImage: String? = nil
    var gallery: [String]? = nil
    /// Service products: the merchant's stores where the voucher can be redeemed.
    var redeemStoreIds: [UUID]? = nil
}

struct ShelfInput: Content {
    let onShelf: Bool
}

struct SkuDTO: Content {
    let id: UUID
    let code: String
    let specs: [String: String]
    let price: MoneyDTO
    let memberPrice: MoneyDTO?
    let marketPrice: MoneyDTO?
    let weightGrams: Int
    let stock: Int64
    let lowStockThreshold: Int64
    let image: ImageRef?

    init(_ sku: Sku, _ locale: MallLocale, storage: any ImageStorage) throws {
        id = try sku.requireID()
        code = sku.code
        specs = sku.specValues
        price = MoneyDTO(Money(fen: sku.price), locale)
        memberPrice = sku.memberPrice.map { MoneyDTO(Money(fen: $0), locale) }
        marketPrice = sku.marketPrice.map { MoneyDTO(Money(fen: $0), locale) }
        weightGrams = sku.weightGrams
        stock = sku.stock
        lowStockThreshold = sku.lowStockThreshold
        image = ImageRef(sku.image, storage)
    }
}

struct ProductSummaryDTO: Content {
    let id: UUID
    let title: String
    let subtitle: String
    let merchantId: UUID
    let categoryId: UUID
    let kind: String
    let price: MoneyDTO
    let salesCount: Int64
    let inStock: Bool
    let onShelf: Bool
    let tags: [String]
    let mainImage: ImageRef?

    init(_ product: Product, _ locale: MallLocale, storage: any ImageStorage) throws {
        id = try product.requireID()
        title = product.title
        subtitle = product.subtitle
        merchantId = product.$merchant.id
        categoryId = product.$category.id
        kind = product.kind
        price = MoneyDTO(Money(fen: product.minPrice), locale)
        salesCount = product.salesCount
        inStock = product.totalStock > 0
        onShelf = product.onShelf
        tags = product.tagList
        mainImage = ImageRef(product.mainImage, storage)
    }

    init(_ row: ProductSummaryRow, _ locale: MallLocale, storage: any ImageStorage) {
        id = row.id
        title = row.title
        subtitle = row.subtitle
        merchantId = row.merchantID
        categoryId = row.categoryID
        kind = row.kind
        price = MoneyDTO(Money(fen: row.minPrice), locale)
        salesCount = row.salesCount
        inStock = row.totalStock > 0
        onShelf = row.onShelf
        tags = row.tags.split(separator: ",").map(String.init)
        mainImage = ImageRef(row.mainImage, storage)
    }
}

/// An image as clients need it: the key to send back on edits and the address to load.
struct ImageRef: Content, Equatable {
    let key: String
    let url: String

    init?(_ key: String, _ storage: any ImageStorage) {
        guard !key.isEmpty else { return nil }
        self.key = key
        url = storage.url(for: key)
    }
}

struct RedeemStoreDTO: Content {
    let id: UUID
    let name: String
    let address: String
}

struct ProductDetailDTO: Content {
    let id: UUID
    let title: String
    let subtitle: String
    let description: String
    let merchantId: UUID
    let categoryId: UUID
    let brandId: UUID?
    let kind: String
    let validityDays: Int?
    let onShelf: Bool
    let sortWeight: Int64
    let salesCount: Int64
    let tags: [String]
    let price: MoneyDTO
    let specs: [SpecMatrix.Spec]
    let skus: [SkuDTO]
    let mainImage: ImageRef?
    let gallery: [ImageRef]
    let redeemStores: [RedeemStoreDTO]

    init(_ product: Product, skus: [Sku], redeemStores: [Store] = [], _ locale: MallLocale, storage: any ImageStorage) throws {
        id = try product.requireID()
        title = product.title
        subtitle = product.subtitle
        description = product.description
        merchantId = product.$merchant.id
        categoryId = product.$category.id
        brandId = product.$brand.id
        kind = product.kind
        validityDays = product.validityDays
        onShelf = product.onShelf
        sortWeight = product.sortWeight
        salesCount = product.salesCount
        tags = product.tagList
        price = MoneyDTO(Money(fen: product.minPrice), locale)
        specs = product.specs
        self.skus = try skus.sorted { $0.position < $1.position }.map { try SkuDTO($0, locale, storage: storage) }
        mainImage = ImageRef(product.mainImage, storage)
        gallery = product.galleryKeys.compactMap { ImageRef($0, storage) }
        self.redeemStores = try redeemStores.map { RedeemStoreDTO(id: try $0.requireID(), name: $0.name, address: $0.address) }
    }
}

struct ProductPageDTO: Content {
    let items: [ProductSummaryDTO]
    /// Pass as `cursor` for the next page; absent on the last page.
    let nextCursor: String?
}
