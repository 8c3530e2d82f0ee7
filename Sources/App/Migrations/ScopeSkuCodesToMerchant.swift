import Fluent
import SQLKit

/// SKU codes are a merchant's own numbering: two shops may both sell a `A001`. Each SKU now
/// carries its product's merchant, and the code is unique per merchant instead of across the mall.
///
/// SQLite cannot drop a constraint declared in `CREATE TABLE`, so there the table is rebuilt the
/// way SQLite documents it: foreign keys off on one connection, copy into a new table, drop, rename,
/// check every foreign key, commit. PostgreSQL drops the constraint in place.
struct ScopeSkuCodesToMerchant: AsyncMigration {
    static let columns = ["id", "product_id", "code", "spec_key", "price", "member_price", "market_price", "weight_grams",
                          "stock", "low_stock_threshold", "position", "image"]

    func prepare(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("ALTER TABLE skus ADD COLUMN merchant_id UUID REFERENCES merchants (id)").run()
            try await sql.raw("UPDATE skus SET merchant_id = products.merchant_id FROM products WHERE products.id = skus.product_id").run()
            try await sql.raw("ALTER TABLE skus ALTER COLUMN merchant_id SET NOT NULL").run()
            try await sql.raw(#"ALTER TABLE skus DROP CONSTRAINT "uq:skus.code""#).run()
            try await sql.raw("CREATE UNIQUE INDEX skus_merchant_code ON skus (merchant_id, code)").run()
        } else {
            let list = Self.columns.map { #""\#($0)""# }.joined(separator: ", ")
            let fromSkus = Self.columns.map { #"s."\#($0)""# }.joined(separator: ", ")
            try await Self.rebuildSQLiteSkus(on: db, createTable: """
                CREATE TABLE "skus_rebuilt" ("id" UUID PRIMARY KEY,
                  "product_id" UUID NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
                  "merchant_id" UUID NOT NULL REFERENCES "merchants" ("id"),
                  "code" TEXT NOT NULL, "spec_key" TEXT NOT NULL, "price" INTEGER NOT NULL, "member_price" INTEGER,
                  "market_price" INTEGER, "weight_grams" INTEGER NOT NULL, "stock" INTEGER NOT NULL,
                  "low_stock_threshold" INTEGER NOT NULL, "position" INTEGER NOT NULL, "image" TEXT NOT NULL DEFAULT '',
                  CONSTRAINT "uq:skus.product_id+skus.spec_key" UNIQUE ("product_id", "spec_key"))
                """, copy: """
                INSERT INTO "skus_rebuilt" (\(list), "merchant_id")
                SELECT \(fromSkus), p."merchant_id" FROM "skus" s JOIN "products" p ON p."id" = s."product_id"
                """, indexes: [#"CREATE UNIQUE INDEX skus_merchant_code ON "skus" ("merchant_id", "code")"#])
        }
    }

    func revert(on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        if sql.dialect.name == "postgresql" {
            try await sql.raw("DROP INDEX IF EXISTS skus_merchant_code").run()
            try await sql.raw(#"ALTER TABLE skus ADD CONSTRAINT "uq:skus.code" UNIQUE (code)"#).run()
            try await sql.raw("ALTER TABLE skus DROP COLUMN merchant_id").run()
        } else {
            let list = Self.columns.map { #""\#($0)""# }.joined(separator: ", ")
            try await Self.rebuildSQLiteSkus(on: db, createTable: """
                CREATE TABLE "skus_rebuilt" ("id" UUID PRIMARY KEY,
                  "product_id" UUID NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
                  "code" TEXT NOT NULL, "spec_key" TEXT NOT NULL, "price" INTEGER NOT NULL, "member_price" INTEGER,
                  "market_price" INTEGER, "weight_grams" INTEGER NOT NULL, "stock" INTEGER NOT NULL,
                  "low_stock_threshold" INTEGER NOT NULL, "position" INTEGER NOT NULL, "image" TEXT NOT NULL DEFAULT '',
                  CONSTRAINT "uq:skus.code" UNIQUE ("code"),
                  CONSTRAINT "uq:skus.product_id+skus.spec_key" UNIQUE ("product_id", "spec_key"))
                """, copy: #"INSERT INTO "skus_rebuilt" (\#(list)) SELECT \#(list) FROM "skus""#, indexes: [])
        }
    }

    /// SQLite's documented table rebuild. Foreign keys must really be off (a `PRAGMA` inside a
    /// transaction is ignored): with them on, dropping `skus` would cascade into store stock.
    static func rebuildSQLiteSkus(on db: any Database, createTable: String, copy: String, indexes: [String]) async throws {
        try await db.withConnection { connection in
            let sql = try sqlDatabase(connection)
            try await sql.raw("PRAGMA foreign_keys = OFF").run()
            let enforced = try await sql.raw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self)
            guard enforced == 0 else {
                try await sql.raw("PRAGMA foreign_keys = ON").run()
                throw RebuildError.foreignKeysStillOn
            }
            do {
                try await sql.raw("BEGIN IMMEDIATE").run()
                do {
                    try await sql.raw(SQLQueryString(createTable)).run()
                    try await sql.raw(SQLQueryString(copy)).run()
                    try await sql.raw(#"DROP TABLE "skus""#).run()
                    try await sql.raw(#"ALTER TABLE "skus_rebuilt" RENAME TO "skus""#).run()
                    for index in indexes { try await sql.raw(SQLQueryString(index)).run() }
                    let broken = try await sql.raw("PRAGMA foreign_key_check").all()
                    guard broken.isEmpty else { throw RebuildError.brokenForeignKeys(broken.count) }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            } catch {
                try await sql.raw("PRAGMA foreign_keys = ON").run()
                throw error
            }
            try await sql.raw("PRAGMA foreign_keys = ON").run()
        }
    }

    enum RebuildError: Error, CustomStringConvertible {
        case foreignKeysStillOn
        case brokenForeignKeys(Int)

        var description: String {
            switch self {
            case .foreignKeysStillOn: "could not turn SQLite foreign keys off for the skus rebuild"
            case .brokenForeignKeys(let count): "the skus rebuild would leave \(count) broken foreign keys"
            }
        }
    }
}
