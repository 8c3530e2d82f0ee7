import Fluent
import Foundation
import MallCore
import Vapor

/// `fission bench-catalog --products 10000`: fills a throw-away database with a large catalog for
/// the HTTP benchmarks and prints the ids the benchmark requests (scripts/bench.sh reads them).
struct BenchCatalogCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "products", help: "How many products (default 10000)")
        var products: Int?
    }

    var help: String { "Creates a large catalog on a throw-away database for benchmarks." }

    static let words = ["婴儿", "奶粉", "面膜", "补水", "有机", "进口", "纯棉", "新款", "儿童", "保温", "轻薄", "大容量", "家用", "便携", "礼盒", "特级"]

    static func mix(_ index: Int, _ salt: Int) -> Int {
        var x = UInt64(truncatingIfNeeded: index &* 31 &+ salt) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (x ^ (x >> 31)) >> 1)
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let count = signature.products ?? 10_000
        guard try await Product.query(on: app.db).count() == 0 else {
            throw ConfigError("bench-catalog needs a database without products")
        }
        let now = app.clock.now()
        let categories = try await app.writeGate.transaction(on: app.db) { db -> [UUID] in
            var leaves: [UUID] = []
            let service = CatalogService(db: db, now: now)
            for root in 0..<8 {
                let parent = try await service.createCategory(CategoryInput(name: "类目\(root)", parentId: nil, icon: "", sortOrder: root, makeRoot: nil))
                for child in 0..<3 {
                    let leaf = try await service.createCategory(CategoryInput(name: "类目\(root)-\(child)", parentId: parent.id, icon: "", sortOrder: child, makeRoot: nil))
                    leaves.append(try leaf.requireID())
                }
            }
            return leaves
        }
        let batch = 500
        for start in stride(from: 0, to: count, by: batch) {
            try await app.writeGate.transaction(on: app.db) { db in
                let service = CatalogService(db: db, now: now)
                for index in start..<min(start + batch, count) {
                    // Deterministic mixing, so that every run benchmarks the same catalog.
                    let words = (0..<4).map { k in Self.words[Self.mix(index, k) % Self.words.count] }
                    let price = Int64(100 + Self.mix(index, 9) % 99_900)
                    let input = ProductInput(
                        title: "\(words.joined()) \(index)号", subtitle: words.reversed().joined(separator: " "), description: "",
                        categoryId: categories[index % categories.count], brandId: nil, kind: "physical", validityDays: nil, tags: [],
                        specs: [.init(name: "颜色", values: ["红", "蓝"])],
                        skus: ["红", "蓝"].enumerated().map { position, colour in
                            SkuInput(specs: ["颜色": colour], code: "B\(index)-\(position)", priceFen: price + Int64(position) * 100, memberPriceFen: nil,
                                     marketPriceFen: nil, weightGrams: 100, stock: Int64(index % 50), lowStockThreshold: 5)
                        },
                        onShelf: true, sortWeight: Int64(index % 1_000))
                    _ = try await service.createProduct(input, merchantID: Merchant.selfOperatedID)
                }
            }
        }
        let sample = try await Product.query(on: app.db).sort(\.$sortWeight, .descending).first()
        context.console.print("category=\(categories[0].uuidString)")
        context.console.print("product=\(try sample?.requireID().uuidString ?? "")")
        let milk = try await ProductQueries.list(ProductListQuery(q: "奶粉", limit: 100), on: app.db, locale: .zhHans, storage: app.imageStorage).items.count
        context.console.print("created=\(count) milk-first-page=\(milk)")
    }
}
