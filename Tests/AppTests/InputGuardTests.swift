import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct InputGuardTests {
    @Test func aNulCharacterIsRefusedBeforeAnythingIsSaved() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let json = f.productJSON("奶粉\\u0000特价", category: f.milk, code: "NUL-1")
            let refused = try await t.postJSON("/api/v1/merchant/products", json, token: f.shopAToken)
            #expect(refused.status == .badRequest)
            #expect(refused.error?.code == "unstorable_text")
            #expect(refused.error?.message == "内容含有无法保存的字符（如空字符）")

            let query = try await t.get("/api/v1/products?q=%00")
            #expect(query.status == .badRequest)

            let page = PageClient(app: t.app)
            try await page.get("/merchant/apply")
            let form = try await page.post("/merchant/apply", form: ["companyName": "青禾\u{0}农场"])
            #expect(form.status == .badRequest)

            // Inside a multipart form the text reaches the database; PostgreSQL's refusal is a 400 too.
            let fields = ["companyName": "青禾\u{0}农场", "contactName": "李青", "contactPhone": "13612345678", "licenceNumber": "91330100",
                          "businessCategory": "生鲜", "username": "qinghe", "password": "Farm2026ok"]
            let multipart = try await page.postMultipart("/merchant/apply", fields: fields, files: [("licenceFile", "l.png", "image/png", TestImages.png())])
            #expect(multipart.status.code < 500)
            if t.isPostgres {
                #expect(multipart.status == .badRequest)
                #expect(multipart.body.string.contains("内容含有无法保存的字符"))
                #expect(try await MerchantApplication.query(on: t.app.db).count() == 0)
            }
            try await MerchantApplication.query(on: t.app.db).delete()

            let csv = try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/products/import",
                                                          headers: ["Content-Type": "text/csv", "Authorization": "Bearer \(f.shopAToken)"],
                                                          body: .init(string: "商品编号,商品名称,分类,规格,SKU编码,售价,库存\nP1,奶\u{0}粉,母婴/奶粉,,N-1,1.00,1\n"))
            #expect(csv.status == .badRequest)
            #expect(try await Product.query(on: t.app.db).count() == 0)
            #expect(try await MerchantApplication.query(on: t.app.db).count() == 0)

            // JSON bodies stay small; over real HTTP a large one streams in and is cut off at 1 MB.
            let huge = #"{"title":""# + String(repeating: "奶", count: 400_000) + #""}"#
            try await t.withLiveServer { live in
                let tooBig = try await live.send(.POST, "/api/v1/merchant/products",
                                                 headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"], body: huge)
                #expect(tooBig.status == .payloadTooLarge)
            }

            // A picture sent as the raw body is full of zero bytes and still welcome.
            var headers = HTTPHeaders()
            headers.contentType = .png
            headers.bearerAuthorization = .init(token: f.shopAToken)
            let picture = try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/images", headers: headers, body: ByteBuffer(bytes: TestImages.png()))
            #expect(picture.status == .created)
        }
    }
}
