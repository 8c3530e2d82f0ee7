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

    var column: String {
        switch self {
        case .standard: "sort_weight"
        case .sales: "sales_count"
        case .priceAscending, .priceDescending: "min_price"
        case .newest: "listed_at"
        }
    }

    var ascending: Bool { self == .priceAscending }
}

/// A keyset position: the last row's sort value and id.
struct ProductCursor: Equatable {
    let value: Int64
    let id: UUID

    /// `<sort value>_<product id>`: readable, and a shape the contract states as a pattern.
    var encoded: String { "\(value)_\(id.uuidString.lowercased())" }

    init(value: Int64, id: UUID) {
        self.value = value
        self.id = id
    }

    init?(encoded: String) {
        guard encoded.utf8.count <= 60 else { return nil }
        let parts = encoded.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts[0].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }),
              let value = Int64(parts[0]), let id = UUID(uuidString: parts[1]) else { return nil }
        self.value = value
        self.id = id
    }
}

/// One row of a storefront list, decoded column by column.
struct ProductSummaryRow {
    static let columns = ["id", "title", "subtitle", "merchant_id", "category_id", "kind", "on_shelf", "tags", "main_image",
                          "min_price", "total_stock", "sort_weight", "sales_count", "listed_at"]
    let id: UUID
    let title: String
    let subtitle: String
    let merchantID: UUID
    let categoryID: UUID
    let kind: String
    let onShelf: Bool
    let tags: String
    let mainImage: String
    let minPrice: Int64
    let totalStock: Int64
    let sortWeight: Int64
    let salesCount: Int64
    let listedAt: Int64

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: UUID.self)
        title = try row.decode(column: "title", as: String.self)
        subtitle = try row.decode(column: "subtitle", as: String.self)
        merchantID = try row.decode(column: "merchant_id", as: UUID.self)
        categoryID = try row.decode(column: "category_id", as: UUID.self)
        kind = try row.decode(column: "kind", as: String.self)
        onShelf = try row.decode(column: "on_shelf", as: Bool.self)
        tags = try row.decode(column: "tags", as: String.self)
        mainImage = try row.decode(column: "main_image", as: String.self)
        minPrice = try row.decode(column: "min_price", as: Int64.self)
        totalStock = try row.decode(column: "total_stock", as: Int64.self)
        sortWeight = try row.decode(column: "sort_weight", as: Int64.self)
        salesCount = try row.decode(column: "sales_count", as: Int64.self)
        listedAt = try row.decode(column: "listed_at", as: Int64.self)
    }

    func sortValue(_ sort: ProductSort) -> Int64 {
        switch sort {
        case .standard: sortWeight
        case .sales: salesCount
        case .priceAscending, .priceDescending: minPrice
        case .newest: listedAt
        }
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
        if let max = params.maxPrice, max < 0 { issues.append(.init("maxPrice", .init("最高价不能为负数", "maxPrice cannot be negative"))) }
        let cursor = params.cursor.map(ProductCursor.init(encoded:))
        if case .some(.none) = cursor { issues.append(CatalogError.invalidCursor.apiError.details[0]) }
        let q = (params.q ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.fits(params.q ?? "", max: 50) { issues.append(.init("q", .init("搜索词最多 50 个字", "The search has at most 50 characters"))) }
        guard issues.isEmpty, let sort else { throw CatalogError.invalid(issues) }
        // Filters that can match nothing give an empty page, not an error.
        let empty = ProductPageDTO(items: [], nextCursor: nil)
        if let min = params.minPrice, let max = params.maxPrice, max < min { return empty }

        // Plain SQL and column-wise decoding: Fluent's model hydration (reflection per row and
        // property) cost more than the query itself on this, the busiest storefront path.
        let sql = try sqlDatabase(db)
        let products = SQLIdentifier(Product.schema)
        func column(_ name: String) -> SQLColumn { SQLColumn(SQLIdentifier(name), table: products) }
        var conditions: [any SQLExpression] = [
            SQLQueryString("\(ident: Merchant.schema).\(ident: "status") = \(bind: Merchant.Status.active.rawValue)"),
            SQLBinaryExpression(column("on_shelf"), .equal, SQLBind(true)),
        ]
        if let categoryID = params.categoryId {
            let subtree: Set<UUID>
            do {
                subtree = try await categoryWithDescendants(categoryID, on: db)
            } catch CatalogError.categoryNotFound {
                return empty
            }
            conditions.append(try await categoryCondition(Array(subtree), on: sql, walkThreshold: walkThreshold))
        }
        if let merchantID = params.merchantId { conditions.append(SQLBinaryExpression(column("merchant_id"), .equal, SQLBind(merchantID))) }
        if let min = params.minPrice { conditions.append(SQLBinaryExpression(column("min_price"), .greaterThanOrEqual, SQLBind(min))) }
        if let max = params.maxPrice { conditions.append(SQLBinaryExpression(column("min_price"), .lessThanOrEqual, SQLBind(max))) }
        if params.inStock == true { conditions.append(SQLBinaryExpression(column("total_stock"), .greaterThan, SQLBind(Int64(0)))) }
        if !q.isEmpty {
            guard let searched = try await searchConditions(q, on: sql, walkThreshold: walkThreshold) else { return empty }
            conditions += searched
        }
        let key = column(sort.column)
        if let cursor = cursor ?? nil {
            let beyond: SQLBinaryOperator = sort.ascending ? .greaterThan : .lessThan
            conditions.append(SQLGroupExpression(SQLBinaryExpression(
                SQLBinaryExpression(key, beyond, SQLBind(cursor.value)), .or,
                SQLGroupExpression(SQLBinaryExpression(
                    SQLBinaryExpression(key, .equal, SQLBind(cursor.value)), .and, SQLBinaryExpression(column("id"), beyond, SQLBind(cursor.id)))))))
        }
        let direction: SQLDirection = sort.ascending ? .ascending : .descending
        var select = sql.select()
            .columns(ProductSummaryRow.columns.map(column))
            .from(products)
            .join(SQLIdentifier(Merchant.schema), on: column("merchant_id"), .equal, SQLColumn(SQLIdentifier("id"), table: SQLIdentifier(Merchant.schema)))
        for condition in conditions { select = select.where(condition) }
        let rows = try await select.orderBy(key, direction).orderBy(column("id"), direction).limit(limit + 1).all()
            .map { try ProductSummaryRow(row: $0) }
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { ProductCursor(value: $0.sortValue(sort), id: $0.id).encoded } : nil
        return ProductPageDTO(items: page.map { ProductSummaryDTO($0, locale, storage: storage) }, nextCursor: next)
    }

    /// Above this many matches, walking the sort index and probing each product beats sorting all matches.
    static let walkThreshold = 500

    /// Every search pair or word must be among the product's terms; a lone Chinese character
    /// (too short for a pair) is matched as a substring of the title or subtitle instead.
    /// Returns nil when a term matches nothing at all.
    static func searchConditions(_ q: String, on sql: any SQLDatabase, walkThreshold: Int) async throws -> [any SQLExpression]? {
        if SearchTerms.needsSubstringMatch(q) {
            let pattern = "%" + SearchTerms.normalized(q).replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            return [SQLQueryString("""
                (LOWER(\(ident: Product.schema).\(ident: "title")) LIKE \(bind: pattern) OR LOWER(\(ident: Product.schema).\(ident: "subtitle")) LIKE \(bind: pattern))
                """)]
        }
        let terms = Array(SearchTerms.query(q)).sorted()
        guard !terms.isEmpty else { return [] }
        // PostgreSQL plans from its own statistics; SQLite, without them, needs to be told.
        guard sql.dialect.name == "sqlite" else { return [collectFirst(terms)] }
        let counts = try await sql.raw("""
            SELECT term, CAST(COUNT(*) AS BIGINT) AS n FROM product_search_terms WHERE term IN (\(binds: terms)) GROUP BY term
            """).all().map { try $0.decode(column: "n", as: Int64.self) }
        guard counts.count == terms.count, let rarest = counts.min() else { return nil }
        if rarest > walkThreshold {
            // Common terms: let the database walk products in list order and stop at a page.
            return terms.map { term in
                SQLQueryString("""
                    EXISTS (SELECT 1 FROM product_search_terms t WHERE t.product_id = \(ident: Product.schema).\(ident: "id") AND t.term = \(bind: term))
                    """)
            }
        }
        return [collectFirst(terms)]
    }

    /// Collects the products that have every term, then sorts those: best when the terms are rare.
    private static func collectFirst(_ terms: [String]) -> SQLQueryString {
        SQLQueryString("""
            \(ident: Product.schema).\(ident: "id") IN (SELECT product_id FROM product_search_terms WHERE term IN (\(binds: terms))
            GROUP BY product_id HAVING COUNT(*) = \(bind: terms.count))
            """)
    }

    /// Products of these categories. A large share of the catalog is found faster by walking the
    /// list order than through the category index and a sort, which SQLite would pick without statistics.
    static func categoryCondition(_ ids: [UUID], on sql: any SQLDatabase, walkThreshold: Int) async throws -> SQLQueryString {
        guard sql.dialect.name == "sqlite" else {
            return SQLQueryString("\(ident: Product.schema).\(ident: "category_id") IN (\(binds: ids))")
        }
        let count = try await sql.raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS n FROM products WHERE category_id IN (\(binds: ids))
            """).first()?.decode(column: "n", as: Int64.self) ?? 0
        // SQLite's unary + keeps the planner off the category index.
        return count > walkThreshold
            ? SQLQueryString("+\(ident: Product.schema).\(ident: "category_id") IN (\(binds: ids))")
            : SQLQueryString("\(ident: Product.schema).\(ident: "category_id") IN (\(binds: ids))")
    }

    static func categoryWithDescendants(_ id: UUID, on db: any Database) async throws -> Set<UUID> {
        // Two columns of every category, read without building models.
        let rows = try await sqlDatabase(db).select().column("id").column("parent_id").from(Category.schema).all()
        let parents = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(column: "id", as: UUID.self), try $0.decode(column: "parent_id", as: UUID?.self)) })
        guard parents[id] != nil else { throw CatalogError.categoryNotFound }
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
