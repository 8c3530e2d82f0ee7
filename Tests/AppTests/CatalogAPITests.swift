import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// A catalog with an operator, two merchants and a category tree, built through the API.
struct CatalogFixture {
    let t: TestContext
    let operatorToken: String
    let shopA: UUID
    let shopAToken: String
    let shopBToken: String
    let baby: UUID
    let milk: UUID
    let beauty: UUID

    static func make(_ t: TestContext) async throws -> CatalogFixture {
        try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
        let a = try await t.createMerchant("甲店")
        let b = try await t.createMerchant("乙店")
        try await t.createStaff("a-owner", role: .merchantOwner, merchantID: a)
        try await t.createStaff("b-owner", role: .merchantOwner, merchantID: b)
        let boss = try await t.staffToken("boss", console: "platform")
        func category(_ name: String, parent: UUID?) async throws -> UUID {
            let parentJSON = parent.map { #","parentId":"\#($0)""# } ?? ""
            let response = try await t.postJSON("/api/v1/admin/categories", #"{"name":"\#(name)"\#(parentJSON)}"#, token: boss)
            #expect(response.status == .created, "\(response.body.string)")
            return try response.content.decode(CategoryDTO.self).id
        }
        let baby = try await category("母婴", parent: nil)
        let milk = try await category("奶粉", parent: baby)
        let beauty = try await category("美妆", parent: nil)
        return CatalogFixture(t: t, operatorToken: boss, shopA: a, shopAToken: try await t.staffToken("a-owner", console: "merchant"),
                              shopBToken: try await t.staffToken("b-owner", console: "merchant"), baby: baby, milk: milk, beauty: beauty)
    }

    /// A product JSON with one SKU per price (no specs when there is one price).
    func productJSON(_ title: String, category: UUID, prices: [Int64] = [9_900], code: String? = nil, stock: Int64 = 10, onShelf: Bool = true, tags: [String] = []) -> String {
        let codeBase = code ?? "C" + UUID().uuidString.prefix(8)
        let specs = prices.count > 1 ? #"[{"name":"规格","values":[\#(prices.indices.map { #""v\#($0)""# }.joined(separator: ","))]}]"# : "[]"
        let skus = prices.enumerated().map { index, price in
            let specJSON = prices.count > 1 ? #","specs":{"规格":"v\#(index)"}"# : ""
            return #"{"code":"\#(codeBase)-\#(index)","priceFen":\#(price),"stock":\#(stock)\#(specJSON)}"#
        }.joined(separator: ",")
        let tagJSON = tags.map { #""\#($0)""# }.joined(separator: ",")
        return #"{"title":"\#(title)","categoryId":"\#(category)","specs":\#(specs),"skus":[\#(skus)],"onShelf":\#(onShelf),"tags":[\#(tagJSON)]}"#
    }

    @discardableResult
    func createProduct(_ json: String, token: String? = nil) async throws -> ProductDetailDTO {
        let response = try await t.postJSON("/api/v1/merchant/products", json, token: token ?? shopAToken)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(ProductDetailDTO.self)
    }

    func list(_ query: String) async throws -> ProductPageDTO {
        let response = try await t.get("/api/v1/products?" + query)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode(ProductPageDTO.self)
    }
}

@Suite struct CatalogAPITests {
    @Test func aMerchantCreatesAProductWithTwoByThreeSpecs() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let json = """
            {"title":"纯棉婴儿连体衣","subtitle":"A类面料","categoryId":"\(f.baby)","tags":["新品","纯棉"],
             "specs":[{"name":"颜色","values":["粉","蓝"]},{"name":"尺码","values":["59","66","73"]}],
             "skus":[
              {"specs":{"颜色":"粉","尺码":"59"},"code":"BODY-P-59","priceFen":5990,"memberPriceFen":5490,"marketPriceFen":7990,"stock":12},
              {"specs":{"颜色":"粉","尺码":"66"},"code":"BODY-P-66","priceFen":5990,"stock":0},
              {"specs":{"颜色":"粉","尺码":"73"},"code":"BODY-P-73","priceFen":6490,"stock":3},
              {"specs":{"颜色":"蓝","尺码":"59"},"code":"BODY-B-59","priceFen":5990,"stock":8},
              {"specs":{"颜色":"蓝","尺码":"66"},"code":"BODY-B-66","priceFen":5990,"stock":8},
              {"specs":{"颜色":"蓝","尺码":"73"},"code":"BODY-B-73","priceFen":6490,"stock":1}],
             "onShelf":true}
            """
            let product = try await f.createProduct(json)
            #expect(product.skus.count == 6)
            #expect(product.price.fen == 5_990)
            #expect(product.specs.map(\.name) == ["颜色", "尺码"])
            #expect(product.skus[0].specs == ["颜色": "粉", "尺码": "59"])
            #expect(product.skus[0].memberPrice?.fen == 5_490)
            #expect(product.skus[2].price.display == "¥64.90")

            let detail = try await t.get("/api/v1/products/\(product.id)")
            #expect(detail.status == .ok)
            #expect(try detail.content.decode(ProductDetailDTO.self).skus.map(\.code) == ["BODY-P-59", "BODY-P-66", "BODY-P-73", "BODY-B-59", "BODY-B-66", "BODY-B-73"])
        }
    }

    @Test func badProductsAreRefusedWithEveryReasonAndNothingIsSaved() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            try await f.createProduct(f.productJSON("已有商品", category: f.milk, code: "TAKEN"))
            let cases: [(json: String, status: HTTPStatus, fields: [String])] = [
                (#"{"title":"负库存","categoryId":"\#(f.milk)","skus":[{"code":"N1","priceFen":100,"stock":-1}]}"#, .unprocessableEntity, ["skus[0].stock"]),
                (#"{"title":"零价格","categoryId":"\#(f.milk)","skus":[{"code":"N1","priceFen":0,"stock":1}]}"#, .unprocessableEntity, ["skus[0].priceFen"]),
                (#"{"title":"","categoryId":"\#(f.milk)","skus":[]}"#, .unprocessableEntity, ["title", "skus"]),
                (#"{"title":"缺组合","categoryId":"\#(f.milk)","specs":[{"name":"颜色","values":["红","蓝"]}],"skus":[{"code":"N1","priceFen":100,"stock":1,"specs":{"颜色":"红"}}]}"#, .unprocessableEntity, ["skus"]),
                (#"{"title":"无此组合","categoryId":"\#(f.milk)","specs":[{"name":"颜色","values":["红"]}],"skus":[{"code":"N1","priceFen":100,"stock":1,"specs":{"颜色":"绿"}}]}"#, .unprocessableEntity, ["skus[0]"]),
                (#"{"title":"重复编码","categoryId":"\#(f.milk)","specs":[{"name":"颜色","values":["红","蓝"]}],"skus":[{"code":"D1","priceFen":100,"stock":1,"specs":{"颜色":"红"}},{"code":"D1","priceFen":100,"stock":1,"specs":{"颜色":"蓝"}}]}"#, .unprocessableEntity, ["skus[1].code"]),
                (#"{"title":"编码已占用","categoryId":"\#(f.milk)","skus":[{"code":"TAKEN-0","priceFen":100,"stock":1}]}"#, .conflict, ["skus[0].code"]),
                (#"{"title":"无分类","categoryId":"\#(UUID())","skus":[{"code":"N2","priceFen":100,"stock":1}]}"#, .unprocessableEntity, ["categoryId"]),
                (#"{"title":"服务无有效期","kind":"service","categoryId":"\#(f.milk)","skus":[{"code":"N3","priceFen":100,"stock":1}]}"#, .unprocessableEntity, ["validityDays"]),
                (#"{"title":"类型错","kind":"digital","categoryId":"\#(f.milk)","skus":[{"code":"N4","priceFen":100,"stock":1}]}"#, .unprocessableEntity, ["kind"]),
                (#"{"title":"价格不是数","categoryId":"\#(f.milk)","skus":[{"code":"N5","priceFen":"9.90","stock":1}]}"#, .badRequest, ["skus[0].priceFen"]),
            ]
            for c in cases {
                let response = try await t.postJSON("/api/v1/merchant/products", c.json, token: f.shopAToken)
                #expect(response.status == c.status, "\(c.json) → \(response.body.string)")
                #expect(response.error?.details.map(\.field) == c.fields, "\(c.json) → \(response.body.string)")
            }
            #expect(try await Product.query(on: t.app.db).count() == 1)
            #expect(try await Sku.query(on: t.app.db).count() == 1)
        }
    }

    @Test func skuCodesAreUniquePerMerchantNotAcrossTheMall() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let first = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, code: "A001"))

            // act: the other shop numbers its goods the same way; the first shop repeats itself
            let otherShop = try await t.postJSON("/api/v1/merchant/products", f.productJSON("乙店奶粉", category: f.milk, code: "A001"), token: f.shopBToken)
            let sameShop = try await t.postJSON("/api/v1/merchant/products", f.productJSON("甲店新品", category: f.milk, code: "A001"), token: f.shopAToken)

            // check
            #expect(otherShop.status == .created, "\(otherShop.body.string)")
            #expect(sameShop.status == .conflict)
            #expect(sameShop.error?.code == "catalog.duplicate_sku_code")
            #expect(sameShop.error?.details.map(\.field) == ["skus[0].code"])
            #expect(sameShop.body.string.contains("已被本店其他商品使用"))
            #expect(try await Sku.query(on: t.app.db).filter(\.$code == "A001-0").count() == 2)
            #expect(try await Sku.query(on: t.app.db).filter(\.$product.$id == first.id).first()?.merchantID == f.shopA)
        }
    }

    /// The table rebuild on SQLite (and the constraint swap on PostgreSQL) keeps every SKU and the
    /// store stock that refers to them, and fills in each SKU's merchant.
    @Test func scopingSkuCodesKeepsSkusAndStoreStock() async throws {
        try await withMallApp { t in
            // setup: the schema as it was, with a product and store stock in it
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, prices: [100, 200], code: "M1"))
            let store = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"静安店","kind":"direct","address":"南京西路1号","latitude":31.22,"longitude":121.44}"#, token: f.shopAToken).content.decode(StoreDTO.self)
            let stock = try await t.app.testing().sendRequest(.PUT, "/api/v1/merchant/stores/\(store.id)/stock",
                                                              headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"],
                                                              body: .init(string: #"{"items":[{"skuId":"\#(product.skus[0].id)","stock":7}]}"#))
            #expect(stock.status == .ok)
            try await ScopeSkuCodesToMerchant().revert(on: t.app.db)
            let sql = try sqlDatabase(t.app.db)
            // The old schema keeps codes unique across the mall.
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE skus SET code = 'M1-0' WHERE code = 'M1-1'").run() }

            // act
            try await ScopeSkuCodesToMerchant().prepare(on: t.app.db)

            // check
            let skus = try await Sku.query(on: t.app.db).sort(\.$position).all()
            #expect(skus.map(\.code) == ["M1-0", "M1-1"])
            #expect(skus.map(\.merchantID) == [f.shopA, f.shopA])
            #expect(try await StoreStock.query(on: t.app.db).all().map(\.stock) == [7])
            let again = try await t.postJSON("/api/v1/merchant/products", f.productJSON("乙店奶粉", category: f.milk, code: "M1"), token: f.shopBToken)
            #expect(again.status == .created, "\(again.body.string)")
            let foreignKeys = try await sql.raw("SELECT 1 AS one FROM store_stock s JOIN skus k ON k.id = s.sku_id").all()
            #expect(foreignKeys.count == 1)
        }
    }

    @Test func merchantsCannotTouchEachOthersProducts() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk))
            #expect(try await t.get("/api/v1/merchant/products/\(product.id)", token: f.shopBToken).status == .notFound)
            let put = try await t.app.testing().sendRequest(.PUT, "/api/v1/merchant/products/\(product.id)",
                                                            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopBToken)"],
                                                            body: .init(string: f.productJSON("乙店改名", category: f.milk)))
            #expect(put.status == .notFound)
            #expect(try await t.postJSON("/api/v1/merchant/products/\(product.id)/shelf", #"{"onShelf":false}"#, token: f.shopBToken).status == .notFound)
            #expect(try await t.get("/api/v1/merchant/products", token: f.shopBToken).content.decode([ProductSummaryDTO].self).isEmpty)
            #expect(try await Product.find(product.id, on: t.app.db)?.title == "甲店奶粉")
            #expect(try await t.postJSON("/api/v1/merchant/products", f.productJSON("会员发布", category: f.milk), token: t.registerMember("13812345678")).status == .forbidden)
        }
    }

    @Test func searchFindsTwoCharacterChineseTerms() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let formula = try await f.createProduct(f.productJSON("飞鹤星飞帆婴儿奶粉3段", category: f.milk))
            let goat = try await f.createProduct(f.productJSON("佳贝艾特羊奶粉 800g", category: f.milk, code: "GOAT"))
            try await f.createProduct(f.productJSON("纯牛奶 粉色包装", category: f.milk))
            let mask = try await f.createProduct(f.productJSON("玻尿酸补水面膜", category: f.beauty, tags: ["Hydra"]))
            try await f.createProduct(f.productJSON("下架的奶粉", category: f.milk, onShelf: false))

            #expect(Set(try await f.list("q=%E5%A5%B6%E7%B2%89").items.map(\.id)) == [formula.id, goat.id]) // 奶粉
            #expect(try await f.list("q=%E9%9D%A2%E8%86%9C").items.map(\.id) == [mask.id]) // 面膜
            #expect(try await f.list("q=hydra").items.map(\.id) == [mask.id])
            #expect(try await f.list("q=goat-0").items.map(\.id) == [goat.id])
            #expect(try await f.list("q=%E7%BE%8A").items.map(\.id) == [goat.id]) // a single 羊
            #expect(try await f.list("q=%E5%A5%B6%E7%B2%89%E9%9D%A2%E8%86%9C").items.isEmpty) // 奶粉面膜
        }
    }

    @Test func filtersSortingAndKeysetPages() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            for i in 0..<25 {
                try await f.createProduct(f.productJSON("奶粉\(i)号", category: f.milk, prices: [Int64(1_000 + (i * 7 % 25) * 100)], stock: i % 5 == 0 ? 0 : 5))
            }
            try await f.createProduct(f.productJSON("口红", category: f.beauty, prices: [500]))

            var seen: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await f.list("categoryId=\(f.baby)&sort=price_asc&limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += page.items.map(\.price.fen)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil
            #expect(pages == 3)
            #expect(seen.count == 25)
            #expect(seen == seen.sorted())
            #expect(Set(seen).count == 25)

            let descending = try await f.list("sort=price_desc&limit=3").items.map(\.price.fen)
            #expect(descending == [3_400, 3_300, 3_200])
            let range = try await f.list("minPrice=1000&maxPrice=1200&limit=100").items.map(\.price.fen)
            #expect(range.sorted() == [1_000, 1_100, 1_200])
            #expect(try await f.list("categoryId=\(f.milk)&inStock=true&limit=100").items.count == 20)
            #expect(try await f.list("categoryId=\(f.beauty)").items.map(\.title) == ["口红"])

            for bad in ["sort=cheapest", "limit=0", "limit=101", "cursor=nonsense", "cursor=1_nonsense", "minPrice=-1", "maxPrice=-1"] {
                let response = try await t.get("/api/v1/products?" + bad)
                #expect(response.status == .unprocessableEntity, "\(bad)")
            }
            // Filters that match nothing are an empty page, not an error.
            for empty in ["minPrice=500&maxPrice=100", "categoryId=\(UUID())"] {
                let response = try await t.get("/api/v1/products?" + empty)
                #expect(response.status == .ok, "\(empty)")
                #expect(try response.content.decode(ProductPageDTO.self).items.isEmpty)
            }
            #expect(try await t.get("/api/v1/products?limit=abc").status == .badRequest)
        }
    }

    @Test func bothQueryStrategiesGiveTheSamePages() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            for i in 0..<30 {
                try await f.createProduct(f.productJSON(i % 3 == 0 ? "婴儿奶粉\(i)" : "面膜\(i)", category: i % 2 == 0 ? f.milk : f.beauty, prices: [Int64(100 + i)]))
            }
            let questions: [ProductListQuery] = [
                ProductListQuery(q: "奶粉", limit: 4), ProductListQuery(q: "面膜", sort: "price_asc", limit: 7),
                ProductListQuery(categoryId: f.baby, limit: 5), ProductListQuery(q: "婴儿奶粉", categoryId: f.milk, sort: "price_desc", limit: 3),
                ProductListQuery(q: "不存在", limit: 5),
            ]
            for question in questions {
                // Walking the list order (threshold 0) against collecting matches first (threshold max).
                var walk = question, collect = question
                var walkIDs: [UUID] = [], collectIDs: [UUID] = []
                repeat {
                    let page = try await ProductQueries.list(walk, on: t.app.db, locale: .zhHans, storage: t.app.imageStorage, walkThreshold: 0)
                    walkIDs += page.items.map(\.id)
                    walk.cursor = page.nextCursor
                } while walk.cursor != nil
                repeat {
                    let page = try await ProductQueries.list(collect, on: t.app.db, locale: .zhHans, storage: t.app.imageStorage, walkThreshold: .max)
                    collectIDs += page.items.map(\.id)
                    collect.cursor = page.nextCursor
                } while collect.cursor != nil
                #expect(walkIDs == collectIDs, "\(question)")
            }
            #expect(try await ProductQueries.list(ProductListQuery(q: "奶粉", limit: 100), on: t.app.db, locale: .zhHans, storage: t.app.imageStorage, walkThreshold: 0).items.count == 10)
        }
    }

    @Test func suspendedMerchantsAndOffShelfProductsLeaveTheStorefront() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk))
            #expect(try await f.list("").items.count == 1)
            let off = try await t.postJSON("/api/v1/merchant/products/\(product.id)/shelf", #"{"onShelf":false}"#, token: f.shopAToken)
            #expect(try off.content.decode(ProductSummaryDTO.self).onShelf == false)
            #expect(try await f.list("").items.isEmpty)
            #expect(try await t.get("/api/v1/products/\(product.id)").status == .notFound)
            _ = try await t.postJSON("/api/v1/merchant/products/\(product.id)/shelf", #"{"onShelf":true}"#, token: f.shopAToken)

            let merchant = try #require(try await Merchant.find(f.shopA, on: t.app.db))
            merchant.status = Merchant.Status.suspended.rawValue
            try await merchant.save(on: t.app.db)
            #expect(try await f.list("").items.isEmpty)
            // Its data stays.
            #expect(try await Product.find(product.id, on: t.app.db) != nil)
        }
    }

    @Test func editingKeepsSkusAndMaySwapCodes() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let created = try await f.createProduct(f.productJSON("连衣裙", category: f.beauty, prices: [100, 200, 300], code: "DRESS"))
            // Swap the first two codes, drop the third combination's SKU by dropping the value.
            let json = #"{"title":"连衣裙（新款）","categoryId":"\#(f.beauty)","specs":[{"name":"规格","values":["v0","v1"]}],"skus":[{"code":"DRESS-1","priceFen":150,"stock":4,"specs":{"规格":"v0"}},{"code":"DRESS-0","priceFen":250,"stock":5,"specs":{"规格":"v1"}}],"onShelf":true}"#
            let put = try await t.app.testing().sendRequest(.PUT, "/api/v1/merchant/products/\(created.id)",
                                                            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"], body: .init(string: json))
            #expect(put.status == .ok, "\(put.body.string)")
            let updated = try put.content.decode(ProductDetailDTO.self)
            #expect(updated.title == "连衣裙（新款）")
            #expect(updated.skus.map(\.code) == ["DRESS-1", "DRESS-0"])
            #expect(updated.skus[0].id == created.skus[0].id)
            #expect(updated.price.fen == 150)
            #expect(try await Sku.query(on: t.app.db).count() == 2)
            #expect(try await f.list("q=%E6%96%B0%E6%AC%BE").items.map(\.id) == [created.id]) // 新款
        }
    }

    @Test func theStorefrontAnswersRepeatedQuestionsFromMemory() async throws {
        try await withMallApp(storefrontCacheMilliseconds: 60_000) { t in
            let f = try await CatalogFixture.make(t)
            try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk))
            #expect(try await f.list("limit=10").items.count == 1)
            try await f.createProduct(f.productJSON("乙店奶粉", category: f.milk))
            // The same question within the time-to-live gets the same answer…
            #expect(try await f.list("limit=10").items.count == 1)
            // …another question, or another language, is asked afresh.
            #expect(try await f.list("limit=11").items.count == 2)
            let english = try await t.get("/api/v1/products?limit=10", headers: ["Accept-Language": "en"]).content.decode(ProductPageDTO.self)
            #expect(english.items.count == 2)
            #expect(english.items[0].price.display.hasPrefix("CN¥"))
            // Merchants' own views are never cached.
            #expect(try await t.get("/api/v1/merchant/products", token: f.shopAToken).content.decode([ProductSummaryDTO].self).count == 2)
        }
    }

    @Test func theCategoryTreeRefusesCycles() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            func patch(_ id: UUID, _ json: String) async throws -> TestingHTTPResponse {
                try await t.app.testing().sendRequest(.PATCH, "/api/v1/admin/categories/\(id)",
                                                     headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.operatorToken)"], body: .init(string: json))
            }
            let cycle = try await patch(f.baby, #"{"parentId":"\#(f.milk)"}"#)
            #expect(cycle.status == .unprocessableEntity)
            #expect(cycle.error?.details.first?.field == "parentId")
            #expect(try await patch(f.baby, #"{"parentId":"\#(f.baby)"}"#).status == .unprocessableEntity)
            let moved = try await patch(f.milk, #"{"parentId":"\#(f.beauty)","name":"进口奶粉"}"#)
            #expect(try moved.content.decode(CategoryDTO.self).parentId == f.beauty)
            let root = try await patch(f.milk, #"{"makeRoot":true}"#)
            #expect(try root.content.decode(CategoryDTO.self).parentId == nil)

            try await f.createProduct(f.productJSON("奶粉", category: f.milk))
            let delete = try await t.app.testing().sendRequest(.DELETE, "/api/v1/admin/categories/\(f.milk)", headers: ["Authorization": "Bearer \(f.operatorToken)"])
            #expect(delete.status == .conflict)
            let emptyDelete = try await t.app.testing().sendRequest(.DELETE, "/api/v1/admin/categories/\(f.baby)", headers: ["Authorization": "Bearer \(f.operatorToken)"])
            #expect(emptyDelete.status == .noContent)
            #expect(try await t.postJSON("/api/v1/admin/categories", #"{"name":"越权"}"#, token: f.shopAToken).status == .forbidden)
            let categories = try await t.get("/api/v1/categories").content.decode([CategoryDTO].self)
            #expect(Set(categories.map(\.name)) == ["进口奶粉", "美妆"])
        }
    }
}
