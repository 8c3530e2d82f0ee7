import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct ProductEditorPageTests {
    /// A signed-in console for the fixture's shop A owner.
    func console(_ t: TestContext, username: String = "a-owner") async throws -> PageClient {
        let client = PageClient(app: t.app)
        try await client.get("/merchant/login")
        let login = try await client.post("/merchant/login", form: ["username": username, "password": "Staff2026"])
        #expect(login.status == .seeOther)
        return client
    }

    func basics(_ category: UUID, title: String = "亲子纯棉T恤") -> [(String, String)] {
        [("title", title), ("subtitle", "A类面料"), ("categoryId", category.uuidString), ("kind", "physical"), ("tags", "新品, 纯棉"),
         ("description", "柔软透气"), ("sortWeight", "5"), ("onShelf", "1"),
         ("spec1Name", "颜色"), ("spec1Values", "红色，蓝色"), ("spec2Name", "尺码"), ("spec2Values", "S、M、L"), ("spec3Name", ""), ("spec3Values", "")]
    }

    /// The SKU rows the page laid out, read back from its hidden keys.
    func keys(in html: String) -> [String] {
        html.components(separatedBy: #"name="skuKey[]" value=""#).dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
    }

    @Test func aMerchantCreatesATwoByThreeProductOnThePage() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let client = try await console(t)
            #expect(try await client.get("/merchant").body.string.contains(#"href="/merchant/products/new""#))
            #expect(try await client.get("/merchant/products/new").status == .ok)

            // "Generate SKUs" lays out one row per combination, in spec order.
            let generated = try await client.post("/merchant/products/new", pairs: basics(f.baby) + [("action", "generate")])
            #expect(generated.status == .ok)
            let rowKeys = keys(in: generated.body.string)
            #expect(rowKeys == ["颜色:红色;尺码:S", "颜色:红色;尺码:M", "颜色:红色;尺码:L", "颜色:蓝色;尺码:S", "颜色:蓝色;尺码:M", "颜色:蓝色;尺码:L"])
            #expect(generated.body.string.contains("红色 / S"))

            func rows(prices: [String]) -> [(String, String)] {
                rowKeys.enumerated().flatMap { index, key in
                    [("skuKey[]", key), ("skuCode[]", "TEE-\(index + 1)"), ("skuPrice[]", prices[index]), ("skuMemberPrice[]", ""),
                     ("skuMarketPrice[]", "99"), ("skuStock[]", "\(index * 2)"), ("skuThreshold[]", "1"), ("skuWeight[]", "200"), ("skuImage[]", "")]
                }
            }
            // A price that does not parse is named on its row and nothing is saved.
            let refused = try await client.post("/merchant/products/new", pairs: basics(f.baby) + rows(prices: ["59.90", "59.90", "abc", "59.9", "64.90", "64.90"]) + [("action", "save")])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("价格格式不正确：abc（例如 99.90）"))
            #expect(refused.body.string.contains(#"value="abc""#))
            #expect(try await Product.query(on: t.app.db).count() == 0)

            let saved = try await client.post("/merchant/products/new", pairs: basics(f.baby) + rows(prices: ["59.90", "59.90", "62", "59.9", "64.90", "64.90"]) + [("action", "save")])
            #expect(saved.status == .seeOther)
            let product = try #require(try await Product.query(on: t.app.db).first())
            #expect(saved.headers.first(name: .location) == "/merchant/products/\(try product.requireID().uuidString)/edit")
            #expect(product.title == "亲子纯棉T恤")
            #expect(product.tagList == ["新品", "纯棉"])
            #expect(product.onShelf)
            #expect(product.minPrice == 5_990)
            let skus = try await product.$skus.get(on: t.app.db).sorted { $0.position < $1.position }
            #expect(skus.map(\.code) == (1...6).map { "TEE-\($0)" })
            #expect(skus.map(\.price) == [5_990, 5_990, 6_200, 5_990, 6_490, 6_490])
            #expect(skus.map(\.marketPrice) == Array(repeating: 9_900, count: 6))
            #expect(skus.map(\.stock) == [0, 2, 4, 6, 8, 10])
            #expect(skus[2].specValues == ["颜色": "红色", "尺码": "L"])

            // Pictures: the first upload becomes the main image, a SKU can have its own.
            let productID = try product.requireID().uuidString
            let edit = try await client.get("/merchant/products/\(productID)/edit")
            #expect(edit.body.string.contains(#"value="62.00""#))
            let uploaded = try await client.postMultipart("/merchant/products/\(productID)/images", fields: ["slot": "gallery"],
                                                          files: [("file", "a.png", "image/png", TestImages.png(width: 6, height: 6))])
            #expect(uploaded.status == .seeOther)
            let second = try await client.postMultipart("/merchant/products/\(productID)/images", fields: ["slot": "sku:\(try skus[3].requireID().uuidString)"],
                                                        files: [("file", "b.png", "image/png", TestImages.png(width: 7, height: 7))])
            #expect(second.status == .seeOther)
            let notImage = try await client.postMultipart("/merchant/products/\(productID)/images", fields: ["slot": "gallery"],
                                                          files: [("file", "c.png", "image/png", Array("hello".utf8))])
            #expect(notImage.status == .seeOther)
            #expect(try await client.get("/merchant/products/\(productID)/edit").body.string.contains("只能上传 JPG、PNG、GIF 或 WebP 图片"))
            try await product.$skus.load(on: t.app.db)
            let reloaded = try #require(try await Product.find(product.requireID(), on: t.app.db))
            #expect(!reloaded.mainImage.isEmpty)
            #expect(reloaded.galleryKeys == [reloaded.mainImage])
            #expect(try await Sku.find(skus[3].requireID(), on: t.app.db)?.image.isEmpty == false)
            #expect(try await UploadedImage.query(on: t.app.db).count() == 2)

            // Saving the form again keeps the pictures it carries.
            let resave = try await client.post("/merchant/products/\(productID)/edit", pairs: basics(f.baby, title: "亲子纯棉T恤 新款")
                + [("mainImage", reloaded.mainImage), ("gallery[]", reloaded.mainImage)] + rows(prices: ["59.90", "59.90", "62", "59.9", "64.90", "64.90"]) + [("action", "save")])
            #expect(resave.status == .seeOther)
            let after = try #require(try await Product.find(product.requireID(), on: t.app.db))
            #expect(after.title == "亲子纯棉T恤 新款")
            #expect(after.mainImage == reloaded.mainImage)

            let storefront = try await t.get("/products/\(productID)", headers: ["Accept": "text/html"]).body.string
            #expect(storefront.contains(#"src="/uploads/\#(reloaded.mainImage)""#))
        }
    }

    @Test func anotherMerchantsProductCannotBeOpenedOrChanged() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, code: "MILK"))
            let other = try await console(t, username: "b-owner")
            #expect(try await other.get("/merchant/products/\(product.id)/edit").status == .notFound)
            #expect(try await other.post("/merchant/products/\(product.id)/edit", pairs: basics(f.baby, title: "改名") + [("action", "save")]).status == .notFound)
            #expect(try await other.post("/merchant/products/\(product.id)/shelf", pairs: []).status == .notFound)
            #expect(try await other.postMultipart("/merchant/products/\(product.id)/images", fields: [:], files: [("file", "a.png", "image/png", TestImages.png())]).status == .notFound)
            #expect(try await Product.find(product.id, on: t.app.db)?.title == "甲店奶粉")
            #expect(try await Product.find(product.id, on: t.app.db)?.onShelf == true)
            #expect(try await UploadedImage.query(on: t.app.db).count() == 0)
        }
    }

    @Test func aCSVImportOnTheConsoleIsAllOrNothing() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let client = try await console(t)
            try await client.get("/merchant")
            let header = "商品编号,商品名称,分类,规格,SKU编码,售价,库存\n"
            let bad = header + "P1,婴儿奶粉,母婴/奶粉,,MILK-1,128.00,10\nP2,婴儿湿巾,母婴,,WIPE-1,十元,5\n"
            let refused = try await client.postMultipart("/merchant/products/import", fields: [:], files: [("file", "bad.csv", "text/csv", [0xEF, 0xBB, 0xBF] + Array(bad.utf8))])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("没有导入任何商品"))
            #expect(refused.body.string.contains("第 3 行"))
            #expect(try await Product.query(on: t.app.db).count() == 0)

            let good = header + (1...100).map { "P\($0),导入商品\($0),母婴/奶粉,,IMP-\($0),\($0).50,\($0)" }.joined(separator: "\n") + "\n"
            let imported = try await client.postMultipart("/merchant/products/import", fields: [:], files: [("file", "good.csv", "text/csv", [0xEF, 0xBB, 0xBF] + Array(good.utf8))])
            #expect(imported.status == .ok, "\(imported.body.string)")
            #expect(imported.body.string.contains("<strong>100</strong>"))
            #expect(try await Product.query(on: t.app.db).filter(\.$merchant.$id == f.shopA).count() == 100)
            #expect(try await Sku.query(on: t.app.db).filter(\.$code == "IMP-7").first()?.price == 750)

            let exported = try await client.get("/merchant/products/export.csv")
            #expect(exported.headers.contentType?.subType == "csv")
            #expect(exported.body.string.contains("导入商品42"))
        }
    }

    @Test func ownersAddAStoreClerkOnTheConsole() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let storeJSON = #"{"name":"甲店 静安店","kind":"direct","address":"上海市静安区南京西路1号","latitude":31.22,"longitude":121.45}"#
            let store = try await t.postJSON("/api/v1/merchant/stores", storeJSON, token: f.shopAToken).content.decode(StoreDTO.self)
            let client = try await console(t)
            let page = try await client.get("/merchant").body.string
            #expect(page.contains(#"<option value="\#(store.id.uuidString)">甲店 静安店</option>"#))
            let weak = try await client.post("/merchant/staff", form: ["username": "jingan-01", "displayName": "小王", "password": "123", "role": "store_clerk", "storeId": store.id.uuidString])
            #expect(weak.status == .seeOther)
            #expect(try await client.get("/merchant").body.string.contains("提交的信息有误"))
            let added = try await client.post("/merchant/staff", form: ["username": "jingan-01", "displayName": "小王", "password": "Clerk2026", "role": "store_clerk", "storeId": store.id.uuidString])
            #expect(added.status == .seeOther)
            let list = try await client.get("/merchant").body.string
            #expect(list.contains("已添加员工：jingan-01"))
            #expect(list.contains("<td>jingan-01</td><td>小王</td><td>门店店员</td><td>甲店 静安店</td>"))

            let clerk = PageClient(app: t.app)
            try await clerk.get("/merchant/login")
            #expect(try await clerk.post("/merchant/login", form: ["username": "jingan-01", "password": "Clerk2026"]).status == .seeOther)
            let clerkPage = try await clerk.get("/merchant").body.string
            #expect(clerkPage.contains(#"<span id="clerk-store">甲店 静安店</span>"#))
            #expect(!clerkPage.contains(#"href="/merchant/products/new""#))
            #expect(try await clerk.get("/merchant/products/new").status == .forbidden)
        }
    }

    @Test func aRowsErrorStaysOnItsRowAndTheFormIsReadInOnePass() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let client = try await console(t)
            try await client.get("/merchant/products/new")
            var specs = basics(f.baby)
            specs[specs.firstIndex { $0.0 == "spec1Values" }!].1 = "红色、蓝色、白色"
            specs[specs.firstIndex { $0.0 == "spec2Values" }!].1 = "S、M、L、XL"
            let generated = try await client.post("/merchant/products/new", pairs: specs + [("action", "generate")])
            let rowKeys = keys(in: generated.body.string)
            #expect(rowKeys.count == 12, "\(generated.status)")
            // Row 10's bad price is shown on row 10 only, not also on row 1 ("skus[1]" is a prefix of "skus[10]").
            let pairs = rowKeys.enumerated().flatMap { index, key in
                [("skuKey[]", key), ("skuCode[]", "ROW-\(index)"), ("skuPrice[]", index == 10 ? "abc" : "10"), ("skuMemberPrice[]", ""),
                 ("skuMarketPrice[]", ""), ("skuStock[]", "1"), ("skuThreshold[]", "0"), ("skuWeight[]", "0"), ("skuImage[]", "")]
            }
            let refused = try await client.post("/merchant/products/new", pairs: specs + pairs + [("action", "save")])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.components(separatedBy: "价格格式不正确：abc").count - 1 == 1)

            // More rows than the spec generator can make are refused before anything is read row by row.
            let tooMany = (0...SpecMatrix.maxCombinations).flatMap { [("skuKey[]", "k\($0)"), ("skuPrice[]", "1")] }
            let flooded = try await client.post("/merchant/products/new", pairs: specs + tooMany + [("action", "save")])
            #expect(flooded.status.code >= 400 && flooded.status.code < 500)
            #expect(try await Product.query(on: t.app.db).count() == 0)
        }
    }
}
