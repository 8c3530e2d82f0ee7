import Fluent
import MallCore
import Vapor

/// Storefront pages of the catalog: category entrances, search results, product detail, a shop.
struct CatalogPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("categories", use: categories)
        routes.get("search", use: search)
        routes.get("products", ":productID", use: product)
        routes.get("shops", ":merchantID", use: shop)
    }

    struct Card: Encodable, Sendable {
        let id: String
        let title: String
        let subtitle: String
        let price: String
        let soldOut: Bool
        let salesCount: Int64
        /// "" when the product has no main image.
        let image: String
    }

    struct CategoryLink: Encodable, Sendable {
        let id: String
        let name: String
        let icon: String
        let children: [CategoryLink]
    }

    static func cards(_ page: ProductPageDTO) -> [Card] {
        page.items.map { Card(id: $0.id.uuidString, title: $0.title, subtitle: $0.subtitle, price: $0.price.display, soldOut: !$0.inStock, salesCount: $0.salesCount,
                                    image: $0.mainImage?.url ?? "") }
    }

    static func categoryTree(on db: any Database) async throws -> [CategoryLink] {
        let all = try await Category.query(on: db).sort(\.$sortOrder).sort(\.$name).all()
        func children(of parent: UUID?) -> [CategoryLink] {
            all.filter { $0.$parent.id == parent }.compactMap { category in
                guard let id = category.id else { return nil }
                return CategoryLink(id: id.uuidString, name: category.name, icon: category.icon, children: children(of: id))
            }
        }
        return children(of: nil)
    }

    @Sendable func categories(req: Request) async throws -> Response {
        struct Page: Encodable, Sendable { let categories: [CategoryLink] }
        return try await req.page("catalog/categories", Page(categories: try await Self.categoryTree(on: req.db)))
    }

    struct SearchPage: Encodable, Sendable {
        struct SortOption: Encodable, Sendable { let url: String; let label: String; let selected: Bool }
        let q: String
        let categoryId: String
        let heading: String
        let sorts: [SortOption]
        let products: [Card]
        let nextURL: String?
        let isEmpty: Bool
    }

    @Sendable func search(req: Request) async throws -> Response {
        var params = (try? req.query.decode(ProductListQuery.self)) ?? ProductListQuery()
        params.limit = 20
        let t = PageStrings.dictionary(req.locale)
        // Chinese punctuation carries its own space; English wants one.
        let separator = req.locale == .zhHans ? "" : " "
        var heading = params.q.map { "\(t["search_results_for"] ?? "")\(separator)“\($0)”" } ?? (t["search_all"] ?? "")
        if let categoryID = params.categoryId, let category = try await Category.find(categoryID, on: req.db) { heading = category.name }
        do {
            let page = try await ProductQueries.list(params, on: req.db, locale: req.locale, storage: req.application.imageStorage)
            func url(sort: String?, cursor: String?) -> String {
                var components = URLComponents()
                components.path = "/search"
                components.queryItems = [
                    params.q.map { URLQueryItem(name: "q", value: $0) },
                    params.categoryId.map { URLQueryItem(name: "categoryId", value: $0.uuidString) },
                    sort.map { URLQueryItem(name: "sort", value: $0) },
                    cursor.map { URLQueryItem(name: "cursor", value: $0) },
                ].compactMap { $0 }
                return components.string ?? "/search"
            }
            let selected = params.sort ?? "default"
            let sorts = ProductSort.allCases.map { SearchPage.SortOption(url: url(sort: $0.rawValue, cursor: nil), label: t["sort_\($0.rawValue)"] ?? $0.rawValue, selected: $0.rawValue == selected) }
            let next = page.nextCursor.map { url(sort: params.sort, cursor: $0) }
            return try await req.page("catalog/search", SearchPage(q: params.q ?? "", categoryId: params.categoryId?.uuidString ?? "", heading: heading,
                                                                    sorts: sorts, products: Self.cards(page), nextURL: next, isEmpty: page.items.isEmpty))
        } catch let error as CatalogError {
            let apiError = error.apiError
            return try await req.page("catalog/search", SearchPage(q: params.q ?? "", categoryId: "", heading: heading, sorts: [], products: [], nextURL: nil, isEmpty: true),
                                      status: apiError.status, error: apiError)
        }
    }

    struct ProductPage: Encodable, Sendable {
        struct SpecGroup: Encodable, Sendable { let name: String; let values: [String] }
        struct SkuRow: Encodable, Sendable { let id: String; let key: String; let price: String; let marketPrice: String; let stock: Int64; let code: String; let image: String }
        struct StoreLink: Encodable, Sendable { let id: String; let name: String; let address: String }
        let id: String
        let title: String
        let subtitle: String
        let description: String
        let price: String
        let merchantID: String
        let merchantName: String
        let isService: Bool
        let validityDays: Int
        let specs: [SpecGroup]
        let hasSpecs: Bool
        let skus: [SkuRow]
        let totalStock: Int64
        /// Main image first, then the gallery.
        let images: [String]
        let hasImages: Bool
        let firstImage: String
        let redeemStores: [StoreLink]
        let hasRedeemStores: Bool
        /// The SKU to buy when there is only one; otherwise the spec picker sets it.
        let onlySku: String
        /// Average, count and the latest visible reviews.
        let reviews: ProductReviewSection
        /// For a signed-in active distributor: what sharing earns and where its link, QR and poster are.
        let share: DistributionPageController.ShareBlock?
        /// Running 满减 and 限时折扣 activities that cover it.
        let promotions: [PromotionBadge]
    }

    @Sendable func product(req: Request) async throws -> Response {
        let detail = try await ProductQueries.storefrontDetail(try req.uuidParameter("productID"), on: req.db, locale: req.locale, storage: req.application.imageStorage)
        let merchant = try await Merchant.find(detail.merchantId, on: req.db)
        let specNames = detail.specs.map(\.name)
        let skus = detail.skus.map { sku in
            ProductPage.SkuRow(id: sku.id.uuidString, key: specNames.map { "\($0):\(sku.specs[$0] ?? "")" }.joined(separator: ";"), price: sku.price.display,
                               marketPrice: sku.marketPrice?.display ?? "", stock: sku.stock, code: sku.code,
                               image: sku.image?.url ?? "")
        }
        // The gallery holds the main image too; it leads.
        let images = ([detail.mainImage?.url].compactMap { $0 } + detail.gallery.map(\.url)).reduce(into: [String]()) { list, url in
            if !list.contains(url) { list.append(url) }
        }
        let stores = detail.redeemStores.map { ProductPage.StoreLink(id: $0.id.uuidString, name: $0.name, address: $0.address) }
        let reviews = try await ProductReviewSection.load(productID: detail.id, on: req.db, locale: req.locale, storage: req.application.imageStorage)
        return try await req.page("catalog/product", ProductPage(
            id: detail.id.uuidString, title: detail.title, subtitle: detail.subtitle, description: detail.description,
            price: detail.price.display, merchantID: detail.merchantId.uuidString, merchantName: merchant?.name ?? "",
            isService: detail.kind == Product.Kind.service.rawValue, validityDays: detail.validityDays ?? 0,
            specs: detail.specs.map { .init(name: $0.name, values: $0.values) }, hasSpecs: !detail.specs.isEmpty, skus: skus,
            totalStock: detail.skus.reduce(0) { $0 + $1.stock }, images: images, hasImages: !images.isEmpty, firstImage: images.first ?? "",
            redeemStores: stores, hasRedeemStores: !stores.isEmpty, onlySku: skus.count == 1 ? skus[0].id : "", reviews: reviews,
            share: try await DistributionPageController.shareBlock(req, productID: detail.id),
            promotions: try await PromotionQueries.badges(productID: detail.id, merchantID: detail.merchantId, skuIDs: Set(detail.skus.map(\.id)),
                                                          on: req.db, now: req.now, locale: req.locale)
                + ActivityBadges.badges(productID: detail.id, on: req.db, now: req.now, locale: req.locale)
                + FlashSaleQueries.badges(skuIDs: Set(detail.skus.map(\.id)), on: req.db, now: req.now, locale: req.locale)
                + MemberCheckout.priceBadge(req, lowest: Money(fen: detail.price.fen))))
    }

    @Sendable func shop(req: Request) async throws -> Response {
        struct ShopPage: Encodable, Sendable { let name: String; let selfOperated: Bool; let products: [Card]; let isEmpty: Bool }
        let id = try req.uuidParameter("merchantID")
        guard let merchant = try await Merchant.find(id, on: req.db), merchant.status == Merchant.Status.active.rawValue else { throw APIError.notFound }
        var params = ProductListQuery()
        params.merchantId = id
        params.limit = 40
        let page = try await ProductQueries.list(params, on: req.db, locale: req.locale, storage: req.application.imageStorage)
        return try await req.page("catalog/shop", ShopPage(name: merchant.name, selfOperated: merchant.kind == Merchant.Kind.selfOperated.rawValue,
                                                           products: Self.cards(page), isEmpty: page.items.isEmpty))
    }
}
