import Fluent
import MallCore
import Vapor

/// The catalog under `/api/v1`: public browsing, the operator's category tree and brands, and
/// each merchant's own products.
struct CatalogAPIController: RouteCollection {
    let storefrontCache: StorefrontCacheMiddleware

    func boot(routes: any RoutesBuilder) throws {
        let storefront = routes.grouped(storefrontCache)
        storefront.get("categories", use: categories)
        storefront.get("brands", use: brands)
        storefront.get("products", use: products)
        storefront.get("products", ":productID", use: product)

        let admin = routes.grouped("admin")
        admin.post("categories", use: createCategory)
        admin.patch("categories", ":categoryID", use: updateCategory)
        admin.delete("categories", ":categoryID", use: deleteCategory)
        admin.post("brands", use: createBrand)

        let merchant = routes.grouped("merchant", "products")
        merchant.get(use: merchantProducts)
        merchant.post(use: createProduct)
        merchant.get("export", use: exportCSV)
        merchant.on(.POST, "import", body: .collect(maxSize: "10mb"), use: importCSV)
        merchant.get(":productID", use: merchantProduct)
        merchant.put(":productID", use: updateProduct)
        merchant.post(":productID", "shelf", use: setShelf)
    }

    // MARK: public

    @Sendable func categories(req: Request) async throws -> [CategoryDTO] {
        try await Category.query(on: req.db).sort(\.$sortOrder).sort(\.$name).all().map(CategoryDTO.init)
    }

    @Sendable func brands(req: Request) async throws -> [BrandDTO] {
        try await Brand.query(on: req.db).sort(\.$name).all().map(BrandDTO.init)
    }

    @Sendable func products(req: Request) async throws -> ProductPageDTO {
        try await ProductQueries.list(try req.query.decode(ProductListQuery.self), on: req.db, locale: req.locale, storage: req.application.imageStorage)
    }

    @Sendable func product(req: Request) async throws -> ProductDetailDTO {
        try await ProductQueries.storefrontDetail(try req.uuidParameter("productID"), on: req.db, locale: req.locale, storage: req.application.imageStorage)
    }

    // MARK: operator

    @Sendable func createCategory(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageCatalog)
        let input = try req.content.decode(CategoryInput.self)
        let category = try await CatalogService(db: req.db, now: req.now).createCategory(input)
        try await AuditLog.record(on: req.db, actor: staff, action: "category.create", target: "category:\(try category.requireID())", detail: category.name, ip: req.clientIP, at: req.now)
        return try await CategoryDTO(category).encodeResponse(status: .created, for: req)
    }

    @Sendable func updateCategory(req: Request) async throws -> CategoryDTO {
        let staff = try req.requireStaff(.manageCatalog)
        let id = try req.uuidParameter("categoryID")
        let input = try req.content.decode(CategoryInput.self)
        let category = try await CatalogService(db: req.db, now: req.now).updateCategory(id, input)
        try await AuditLog.record(on: req.db, actor: staff, action: "category.update", target: "category:\(id)", detail: category.name, ip: req.clientIP, at: req.now)
        return try CategoryDTO(category)
    }

    @Sendable func deleteCategory(req: Request) async throws -> HTTPStatus {
        let staff = try req.requireStaff(.manageCatalog)
        let id = try req.uuidParameter("categoryID")
        try await CatalogService(db: req.db, now: req.now).deleteCategory(id)
        try await AuditLog.record(on: req.db, actor: staff, action: "category.delete", target: "category:\(id)", ip: req.clientIP, at: req.now)
        return .noContent
    }

    @Sendable func createBrand(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageCatalog)
        let brand = try await CatalogService(db: req.db, now: req.now).createBrand(try req.content.decode(BrandInput.self))
        try await AuditLog.record(on: req.db, actor: staff, action: "brand.create", target: "brand:\(try brand.requireID())", detail: brand.name, ip: req.clientIP, at: req.now)
        return try await BrandDTO(brand).encodeResponse(status: .created, for: req)
    }

    // MARK: merchant

    @Sendable func merchantProducts(req: Request) async throws -> [ProductSummaryDTO] {
        let scope = try req.merchantScope()
        return try await scope.query(Product.self, on: req.db).sort(\.$listedAt, .descending).limit(500).all().map { try ProductSummaryDTO($0, req.locale, storage: req.application.imageStorage) }
    }

    @Sendable func merchantProduct(req: Request) async throws -> ProductDetailDTO {
        let scope = try req.merchantScope()
        let product = try await scope.find(Product.self, id: try req.uuidParameter("productID"), on: req.db)
        return try await Self.detail(product, req)
    }

    @Sendable func createProduct(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        let input = try req.content.decode(ProductInput.self)
        let now = req.now
        let product = try await req.writeTransaction { db in
            try await CatalogService(db: db, now: now).createProduct(input, merchantID: scope.merchantID)
        }
        return try await Self.detail(product, req).encodeResponse(status: .created, for: req)
    }

    @Sendable func updateProduct(req: Request) async throws -> ProductDetailDTO {
        let scope = try req.merchantScope(.manageShop)
        let id = try req.uuidParameter("productID")
        let input = try req.content.decode(ProductInput.self)
        let now = req.now
        let product = try await req.writeTransaction { db in
            let product = try await scope.find(Product.self, id: id, on: db)
            try await CatalogService(db: db, now: now).updateProduct(product, input)
            return product
        }
        return try await Self.detail(product, req)
    }

    @Sendable func exportCSV(req: Request) async throws -> Response {
        try await CatalogCSV.download(merchantID: try req.merchantScope().merchantID, on: req.db)
    }

    struct ImportResult: Content {
        let created: Int
    }

    /// Takes the CSV as the raw request body; all rows are created or none.
    @Sendable func importCSV(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        let bytes = req.body.data.map { Array($0.readableBytesView) } ?? []
        let created = try await CatalogCSV.importAll(bytes, merchantID: scope.merchantID, on: req.db, gate: req.application.writeGate, now: req.now)
        return try await ImportResult(created: created).encodeResponse(status: .created, for: req)
    }

    @Sendable func setShelf(req: Request) async throws -> ProductSummaryDTO {
        let scope = try req.merchantScope(.manageShop)
        let product = try await scope.find(Product.self, id: try req.uuidParameter("productID"), on: req.db)
        try await CatalogService(db: req.db, now: req.now).setShelf(product, onShelf: try req.content.decode(ShelfInput.self).onShelf)
        return try ProductSummaryDTO(product, req.locale, storage: req.application.imageStorage)
    }
}

extension CatalogAPIController {
    /// A merchant's own view of a product: every SKU, image and redemption store.
    static func detail(_ product: Product, _ req: Request) async throws -> ProductDetailDTO {
        let skus = try await product.$skus.get(on: req.db)
        let stores = product.kind == Product.Kind.service.rawValue
            ? try await ProductQueries.redeemStores(of: try product.requireID(), on: req.db, activeOnly: false) : []
        return try ProductDetailDTO(product, skus: skus, redeemStores: stores, req.locale, storage: req.application.imageStorage)
    }
}

extension Request {
    /// A UUID path parameter; anything else is simply not found.
    func uuidParameter(_ name: String) throws -> UUID {
        guard let id = parameters.get(name, as: UUID.self) else { throw APIError.notFound }
        return id
    }
}
