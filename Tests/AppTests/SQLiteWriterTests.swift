import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// On SQLite every write waits its turn: shoppers browsing (with sessions), a merchant saving a
/// product over and over and a CSV import running at once give no 5xx.
@Suite struct SQLiteWriterTests {
    @Test func browsingSavesAndImportsTogetherNeverFail() async throws {
        // The server's idle timeout counts silence on a connection even while a request is being
        // handled; with the whole suite running on two cores the import can take longer than the
        // default 30 s, so the connection is given longer here. What this test checks is the writer.
        try await withMallApp(idleTimeoutSeconds: 600) { t in
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("奶粉", category: f.milk, code: "RACE"))
            let member = try await t.registerMember("13800138011")
            _ = member
            let rows = (0..<200).map { "P\($0),商品\($0),母婴/奶粉,,CSV-\($0),\($0 % 90 + 1).00,\($0 % 7)" }
            let csv = "商品编号,商品名称,分类,规格,SKU编码,售价,库存\n" + rows.joined(separator: "\n") + "\n"

            var statuses: [UInt] = []
            try await t.withLiveServer { live in
            statuses = try await withThrowingTaskGroup(of: [UInt].self) { group in
                for loop in 0..<3 {
                    group.addTask {
                        // A signed-in shopper: every page reads the session; a sign-in writes it.
                        let page = PageClient(app: t.app)
                        var seen: [UInt] = []
                        if loop == 0 {
                            _ = try await page.get("/login")
                            seen.append(try await page.post("/login", form: ["phone": "13800138011", "password": "Member2026"]).status.code)
                        }
                        for _ in 0..<25 {
                            seen.append(try await live.send(.GET, "/", headers: ["Accept": "text/html"]).status.code)
                            seen.append(try await page.get("/products/\(product.id)").status.code)
                        }
                        return seen
                    }
                }
                group.addTask {
                    var seen: [UInt] = []
                    for round in 0..<30 {
                        let json = f.productJSON("奶粉 第\(round)版", category: f.milk, code: "RACE")
                        seen.append(try await live.send(.PUT, "/api/v1/merchant/products/\(product.id)",
                                                        headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"],
                                                        body: json).status.code)
                    }
                    return seen
                }
                group.addTask {
                    [try await live.send(.POST, "/api/v1/merchant/products/import",
                                         headers: ["Content-Type": "text/csv", "Authorization": "Bearer \(f.shopAToken)"],
                                         body: csv).status.code]
                }
                var all: [UInt] = []
                for try await part in group { all += part }
                return all
            }
            }
            #expect(statuses.allSatisfy { $0 < 500 }, "\(statuses.filter { $0 >= 500 })")
            #expect(statuses.allSatisfy { [200, 201, 303].contains($0) }, "\(statuses.filter { ![200, 201, 303].contains($0) })")
            #expect(try await Product.query(on: t.app.db).count() == 201)
            let saved = try await t.get("/api/v1/merchant/products/\(product.id)", token: f.shopAToken).content.decode(ProductDetailDTO.self)
            #expect(saved.title == "奶粉 第29版")
        }
    }
}
