import Fluent
import FluentSQL
import Foundation
import MallCore
import SQLKit
import Vapor

/// What the storefront lists: on-shelf products of active merchants, filtered, sorted and paged by keyset.
struct ProductListQuery: Content {
    var q: String?
    var categoryId: UUID?
    var merchantId: UUID?
    /// In fen.
    var minPrice: Int64?
    var maxPrice: Int64?
    var inStock: Bool?
    /// default, sales, price_asc, price_desc, newest
    var sort: String?
    var limit: Int?
    var cursor: String?
}

enum ProductSort: String, CaseIterable {
    case standard = "default"
    case sales
    case priceAscending = "price_asc"
    case priceDescending = "price_desc"
    case newest

    var key: KeyPath<Product, FieldProperty<Product, Int64>> {
        switch self {
        case .standard: \.$sortWeight
        case .sales: \.$salesCount
        case .priceAscending, .priceDescending: \.$minPrice
        case .newest: \.$listedAt
        }
    }

    var ascending: Bool { self == .priceAscending }
}

/// A keyset position: the last row's sort value and id.
struct ProductCursor: Equatable {
    let value: Int64
    let id: UUID

    var encoded: String {
        Data("\(value)_\(id.uuidString)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init(value: Int64, id: UUID) {
        self.value = value
        self.id = id
    }

    init?(encoded: String) {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard encoded.count <= 120, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "_", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Int64(parts[0]), let id = UUID(uuidString: parts[1]) else { return nil }
        self.value = value
        self.id = id
    }
}

enum ProductQueries {
    static let defaultLimit = 20
    static let maxLimit = 100

    static func list(_ params: ProductListQuery, on db: any Database, locale: MallLocale, storage: any ImageStorage, walkThreshold: Int = walkThreshold) async throws -> ProductPageDTO {
        var issues: [APIError.FieldIssue] = []
        let sort = ProductSort(rawValue: params.sort ?? "default")
        if sort == nil { issues.append(.init("sort", .init("排序方式只能是 default、sales、price_asc、price_desc 或 newest", "sort must be default, sales, price_asc, price_desc or newest"))) }
        let limit = params.limit ?? defaultLimit
        if !(1...maxLimit).contains(limit) { issues.append(.init("limit", .init("每页数量需在 1-\(maxLimit) 之间", "limit must be between 1 and \(maxLimit)"))) }
        if let min = params.minPrice, min < 0 { issues.append(.init("minPrice", .init("最低价不能为负数", "minPrice cannot be negative"))) }
        if let min = params.minPrice, let max = params.maxPrice, max < min { issues.append(.init("maxPrice", .init("最高价不能低于最低价", "maxPrice cannot be below minPrice"))) }
        let cursor = params.cursor.map(ProductCursor.init(encoded:))
        if case .some(.none) = cursor { issues.append(CatalogError.invalidCursor.apiError.details[0]) }
        let q = (params.q ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if q.count > 50 { issues.append(.init("q", .init("搜索词最多 50 个字", "The search has at most 50 characters"))) }
        guard issues.isEmpty, let sort else { throw CatalogError.invalid(issues) }

        var query = Product.query(on: db)
            .join(Merchant.self, on: \Product.$merchant.$id == \Merchant.$id)
            .filter(Merchant.self, \.$status == Merchant.Status.active.rawValue)
            .filter(\.$onShelf == true)
        if let categoryID = params.categoryId {
            query = try await applyCategory(Array(try await categoryWithDescendants(categoryID, on: db)), to: query, on: db, walkThreshold: walkThreshold)
        }
        if let merchantID = params.merchantId { query = query.filter(\.$merchant.$id == merchantID) }
        if let min = params.minPrice { query = query.filter(\.$minPrice >= min) }
        if let max = params.maxPrice { query = query.filter(\.$minPrice <= max) }
        if params.inStock == true { query = query.filter(\.$totalStock > 0) }
        if !q.isEmpty {
            guard let searched = try await applySearch(q, to: query, on: db, walkThreshold: walkThreshold) else { return ProductPageDTO(items: [], nextCursor: nil) }
            query = searched
        }

        if let cursor = cursor ?? nil {
            let key = sort.key
            query = query.group(.or) { or in
                if sort.ascending { or.filter(key > cursor.value) } else { or.filter(key < cursor.value) }
                or.group(.and) { and in
                    and.filter(key == cursor.value)
                    if sort.ascending { and.filter(\.$id > cursor.id) } else { and.filter(\.$id < cursor.id) }
                }
            }
        }
        let direction: DatabaseQuery.Sort.Direction = sort.ascending ? .ascending : .descending
        let rows = try await selectSummaryColumns(query).sort(sort.key, direction).sort(\.$id, direction).limit(limit + 1).all()
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { ProductCursor(value: $0[keyPath: sort.key].value ?? 0, id: $0.id ?? UUID()).encoded } : nil
        return ProductPageDTO(items: try page.map { try ProductSummaryDTO($0, locale, storage: storage) }, nextCursor: next)
    }

    /// Only what a list shows and pages by: no description or specs, nothing of the joined merchant.
    static func selectSummaryColumns(_ query: QueryBuilder<Product>) -> QueryBuilder<Product> {
        query.field(\.$id).field(\.$title).field(\.$subtitle).field(\.$merchant.$id).field(\.$category.$id).field(\.$kind)
            .field(\.$onShelf).field(\.$tags).field(\.$mainImage).field(\.$minPrice).field(\.$totalStock)
            .field(\.$sortWeight).field(\.$salesCount).field(\.$listedAt)
    }

    /// Above this many matches, walking the sort index and probing each product beats sorting all matches.
    static let walkThreshold = 500

    /// Every search pair or word must be among the product's terms; a lone Chinese character
    /// (too short for a pair) is matched as a substring of the title or subtitle instead.
    /// Returns nil when a term matches nothing at all.
    static func applySearch(_ q: String, to query: QueryBuilder<Product>, on db: any Database, walkThreshold: Int) async throws -> QueryBuilder<Product>? {
        if SearchTerms.needsSubstringMatch(q) {
            let pattern = "%" + SearchTerms.normalized(q).replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            return query.group(.or) { or in
                or.filter(.sql(embed: "LOWER(\(ident: Product.schema).\(ident: "title")) LIKE \(bind: pattern)"))
                or.filter(.sql(embed: "LOWER(\(ident: Product.schema).\(ident: "subtitle")) LIKE \(bind: pattern)"))
            }
        }
        let terms = Array(SearchTerms.query(q)).sorted()
        guard !terms.isEmpty else { return query }
        let sql = try sqlDatabase(db)
        // PostgreSQL plans from its own statistics; SQLite, without them, needs to be told.
        guard sql.dialect.name == "sqlite" else { return collectFirst(terms, query) }
        let counts = try await sql.raw("""
            SELECT term, CAST(COUNT(*) AS BIGINT) AS n FROM product_search_terms WHERE term IN (\(binds: terms)) GROUP BY term
            """).all().map { try $0.decode(column: "n", as: Int64.self) }
        guard counts.count == terms.count, let rarest = counts.min() else { return nil }
        if rarest > walkThreshold {
            // Common terms: let the database walk products in list order and stop at a page.
            var query = query
            for term in terms {
                query = query.filter(.sql(embed: """
                    EXISTS (SELECT 1 FROM product_search_terms t WHERE t.product_id = \(ident: Product.schema).\(ident: "id") AND t.term = \(bind: term))
                    """))
            }
            return query
        }
        return collectFirst(terms, query)
    }

    /// Collects the products that have every term, then sorts those: best when the terms are rare.
    private static func collectFirst(_ terms: [String], _ query: QueryBuilder<Product>) -> QueryBuilder<Product> {
        query.filter(.sql(embed: """
            \(ident: Product.schema).\(ident: "id") IN (SELECT product_id FROM product_search_terms WHERE term IN (\(binds: terms))
            GROUP BY product_id HAVING COUNT(*) = \(bind: terms.count))
            """))
    }

    /// Products of these categories. A large share of the catalog is found faster by walking the
    /// list order than through the category index and a sort, which SQLite would pick without statistics.
    static func applyCategory(_ ids: [UUID], to query: QueryBuilder<Product>, on db: any Database, walkThreshold: Int) async throws -> QueryBuilder<Product> {
        let sql = try sqlDatabase(db)
        guard sql.dialect.name == "sqlite" else { return query.filter(\.$category.$id ~~ ids) }
        let count = try await sql.raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS n FROM products WHERE category_id IN (\(binds: ids))
            """).first()?.decode(column: "n", as: Int64.self) ?? 0
        guard count > walkThreshold else { return query.filter(\.$category.$id ~~ ids) }
        // SQLite's unary + keeps the planner off the category index.
        return query.filter(.sql(embed: "+\(ident: Product.schema).\(ident: "category_id") IN (\(binds: ids))"))
    }

    static func categoryWithDescendants(_ id: UUID, on db: any Database) async throws -> Set<UUID> {
        let all = try await Category.query(on: db).all()
        guard all.contains(where: { $0.id == id }) else { throw CatalogError.categoryNotFound }
        let parents = Category.parents(all)
        return CategoryTree.subtree(of: id, parents: parents)
    }

    /// A product as the storefront shows it: on the shelf, from an active merchant.
    static func storefrontDetail(_ id: UUID, on db: any Database, locale: MallLocale, storage: any ImageStorage) async throws -> ProductDetailDTO {
        guard let product = try await Product.query(on: db)
            .join(Merchant.self, on: \Product.$merchant.$id == \Merchant.$id)
            .filter(Merchant.self, \.$status == Merchant.Status.active.rawValue)
            .filter(\.$id == id).filter(\.$onShelf == true)
            .first() else { throw APIError.notFound }
        let skus = try await Sku.query(on: db).filter(\.$product.$id == id).all()
        let stores = product.kind == Product.Kind.service.rawValue ? try await redeemStores(of: id, on: db, activeOnly: true) : []
        return try ProductDetailDTO(product, skus: skus, redeemStores: stores, locale, storage: storage)
    }

    static func redeemStores(of productID: UUID, on db: any Database, activeOnly: Bool) async throws -> [Store] {
        var query = Store.query(on: db)
            .join(ProductRedeemStore.self, on: \Store.$id == \ProductRedeemStore.$store.$id)
            .filter(ProductRedeemStore.self, \.$product.$id == productID)
        if activeOnly { query = query.filter(\.$active == true) }
        return try await query.sort(\.$name).all()
    }
}
