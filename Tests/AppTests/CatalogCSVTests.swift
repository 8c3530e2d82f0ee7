import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct CatalogCSVTests {
    func importCSV(_ t: TestContext, _ body: [UInt8], token: String) async throws -> TestingHTTPResponse {
        try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/products/import",
                                              headers: ["Content-Type": "text/csv", "Authorization": "Bearer \(token)"], body: .init(bytes: body))
    }

    /// What a catalog is, independent of ids: products by title with their SKUs.
    func snapshot(_ t: TestContext, merchantToken: String) async throws -> [String] {
        let list = try await t.get("/api/v1/merchant/products", token: merchantToken).content.decode([ProductSummaryDTO].self)
        let paths = try await CatalogCSV.categoryPaths(on: t.app.db)
        var lines: [String] = []
        for summary in list {
            let p = try await t.get("/api/v1/merchant/products/\(summary.id)", token: merchantToken).content.decode(ProductDetailDTO.self)
            lines.append("\(p.title)|\(p.subtitle)|\(paths[p.categoryId] ?? "?")|\(p.kind)|\(p.validityDays ?? 0)|\(p.tags)|\(p.onShelf)|\(p.sortWeight)|\(p.description)|\(p.specs.map { "\($0.name)=\($0.values)" })")
            for s in p.skus {
                lines.append("  \(s.code)|\(s.specs.sorted { $0.key < $1.key })|\(s.price.fen)|\(s.memberPrice?.fen ?? -1)|\(s.marketPrice?.fen ?? -1)|\(s.weightGrams)|\(s.stock)|\(s.lowStockThreshold)")
            }
        }
        return lines.sorted()
    }

    @Test func exportThenImportIntoAnEmptyDatabaseGivesTheSameCatalog() async throws {
        var exported: [UInt8] = []
        var before: [String] = []
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            try await f.createProduct("""
            {"title":"纯棉连体衣, \\"A类\\"","subtitle":"多行\\n说明","description":"=不是公式","categoryId":"\(f.baby)","tags":["新品","纯棉"],"sortWeight":7,
             "specs":[{"name":"颜色","values":["粉","蓝"]},{"name":"尺码","values":["59","66","73"]}],
             "skus":[{"specs":{"颜色":"粉","尺码":"59"},"code":"B-P-59","priceFen":5990,"memberPriceFen":5490,"marketPriceFen":7990,"weightGrams":120,"stock":12,"lowStockThreshold":3},
                     {"specs":{"颜色":"粉","尺码":"66"},"code":"B-P-66","priceFen":5990,"stock":0},{"specs":{"颜色":"粉","尺码":"73"},"code":"B-P-73","priceFen":6490,"stock":3},
                     {"specs":{"颜色":"蓝","尺码":"59"},"code":"B-B-59","priceFen":5990,"stock":8},{"specs":{"颜色":"蓝","尺码":"66"},"code":"B-B-66","priceFen":5990,"stock":8},
                     {"specs":{"颜色":"蓝","尺码":"73"},"code":"B-B-73","priceFen":6490,"stock":1}],"onShelf":true}
            """)
            try await f.createProduct(#"{"title":"早教体验课","kind":"service","validityDays":90,"categoryId":"\#(f.milk)","skus":[{"code":"EDU-1","priceFen":39900,"stock":100}],"onShelf":false}"#)
            let response = try await t.get("/api/v1/merchant/products/export", token: f.shopAToken)
            #expect(response.status == .ok)
            #expect(response.headers.contentType?.subType == "csv")
            exported = Array(response.body.readableBytesView)
            #expect(exported.starts(with: [0xEF, 0xBB, 0xBF]))
            before = try await snapshot(t, merchantToken: f.shopAToken)
        }
        try await withMallApp { t in
            // Operators build the same category tree first; merchants cannot create categories.
            let f = try await CatalogFixture.make(t)
            let response = try await importCSV(t, exported, token: f.shopAToken)
            #expect(response.status == .created, "\(response.body.string)")
            #expect(try response.content.decode(CatalogAPIController.ImportResult.self).created == 2)
            let after = try await snapshot(t, merchantToken: f.shopAToken)
            #expect(after == before, "\(Set(after).symmetricDifference(before))")
        }
    }

    @Test func aHundredProductsImportInOneGo() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            var csv = "product_ref,title,category,specs,sku_code,price,stock,on_shelf\n"
            for i in 1...100 {
                csv += "P\(i),有机奶粉\(i)号,母婴/奶粉,规格=小罐,MILK\(i)-S,\(100 + i).50,\(i),yes\n"
                csv += "P\(i),,,规格=大罐,MILK\(i)-L,\(200 + i).00,\(i * 2),\n"
            }
            let response = try await importCSV(t, Array(csv.utf8), token: f.shopAToken)
            #expect(response.status == .created, "\(response.body.string)")
            #expect(try await Product.query(on: t.app.db).count() == 100)
            #expect(try await Sku.query(on: t.app.db).count() == 200)
            let page = try await f.list("q=%E5%A5%B6%E7%B2%89&limit=100&sort=price_asc")
            #expect(page.items.count == 100)
            #expect(page.items.first?.price.fen == 10_150)
        }
    }

    @Test func badFilesListEveryBadRowAndCreateNothing() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let csv = """
            商品编号,商品名称,分类,规格,SKU编码,售价,库存
            A,奶粉,母婴/奶粉,,A-1,99.90,5
            B,面膜,美妆,,B-1,9.999,5
            C,口红,美妆,,C-1,59,-3
            D,无分类,不存在,,D-1,1,1
            E,重复,美妆,,A-1,1,1
            F,缺组合,美妆,颜色=红,F-1,1,1
            F,缺组合,美妆,尺寸=S,F-2,1,1
            """
            let response = try await importCSV(t, Array(csv.utf8), token: f.shopAToken)
            #expect(response.status == .unprocessableEntity)
            let details = try #require(response.error?.details)
            #expect(details.map(\.field) == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"], "\(details.map(\.message))")
            #expect(details[0].message.contains("售价格式不正确：9.999"))
            #expect(details[1].message.contains("库存不能为负数"))
            #expect(details[2].message.contains("分类不存在：不存在"))
            #expect(details[3].message.contains("与第 2 行重复"))
            #expect(try await Product.query(on: t.app.db).count() == 0)

            let gbk: [UInt8] = [0xC9, 0xCC, 0xC6, 0xB7, 0x0A, 0xC4, 0xCC, 0xB7, 0xDB] // 商品\n奶粉 in GBK
            let wrongEncoding = try await importCSV(t, gbk, token: f.shopAToken)
            #expect(wrongEncoding.status == .unprocessableEntity)
            #expect(wrongEncoding.error?.details.first?.message.contains("UTF-8") == true)

            let missing = try await importCSV(t, Array("商品编号,商品名称\nA,奶粉\n".utf8), token: f.shopAToken)
            #expect(missing.error?.details.first?.message == "缺少列：分类、SKU编码、售价、库存")
            #expect(try await importCSV(t, [], token: f.shopAToken).status == .unprocessableEntity)
            #expect(try await importCSV(t, Array(csv.utf8), token: "bad-token").status == .unauthorized)
        }
    }
}
