import Fluent

/// The export walks a merchant's products in listing order, a page at a time: this index makes
/// each page a range read instead of a scan of the merchant's products.
struct CreateProductMerchantIndex: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await createIndex("products_merchant_listed", on: Product.schema, columns: ["merchant_id", "listed_at", "id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await sqlDatabase(db).raw("DROP INDEX IF EXISTS products_merchant_listed").run()
    }
}
