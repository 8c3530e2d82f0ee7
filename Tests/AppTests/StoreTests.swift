import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct LowStockTests {
    @Test func aMerchantIsToldOnceWhenStockFallsToItsThreshold() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            func save(stock: Int64, id: UUID? = nil) async throws -> ProductDetailDTO {
                let json = #"{"title":"奶粉","categoryId":"\#(f.milk)","skus":[{"code":"LOW-1","priceFen":100,"stock":\#(stock),"lowStockThreshold":5}],"onShelf":true}"#
                guard let id else { return try await f.createProduct(json) }
                let response = try await t.app.testing().sendRequest(.PUT, "/api/v1/merchant/products/\(id)",
                                                                     headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"], body: .init(string: json))
                return try response.content.decode(ProductDetailDTO.self)
            }
            func messages(_ token: String) async throws -> [MerchantMessageDTO] {
                try await t.get("/api/v1/merchant/messages", token: token).content.decode([MerchantMessageDTO].self)
            }
            let product = try await save(stock: 10)
            #expect(try await messages(f.shopAToken).isEmpty)
            _ = try await save(stock: 5, id: product.id)
            _ = try await save(stock: 2, id: product.id)
            var inbox = try await messages(f.shopAToken)
            #expect(inbox.count == 1)
            #expect(inbox[0].title == "库存预警：奶粉 LOW-1")
            #expect(inbox[0].body.hasPrefix("库存 5，已不高于预警值 5"))
            // Restocked, then low again: a second message.
            _ = try await save(stock: 20, id: product.id)
            _ = try await save(stock: 4, id: product.id)
            inbox = try await messages(f.shopAToken)
            #expect(inbox.count == 2)
            #expect(try await messages(f.shopBToken).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/messages/\(inbox[0].id)/read", "{}", token: f.shopBToken).status == .notFound)
            let read = try await t.postJSON("/api/v1/merchant/messages/\(inbox[0].id)/read", "{}", token: f.shopAToken).content.decode(MerchantMessageDTO.self)
            #expect(read.read)

            // Store stock alerts name the store.
            let store = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"静安店","kind":"direct","address":"南京西路1号","latitude":31.22,"longitude":121.44}"#, token: f.shopAToken).content.decode(StoreDTO.self)
            _ = try await t.app.testing().sendRequest(.PUT, "/api/v1/merchant/stores/\(store.id)/stock",
                                                     headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.shopAToken)"],
                                                     body: .init(string: #"{"items":[{"skuId":"\#(product.skus[0].id)","stock":1,"lowStockThreshold":2}]}"#))
            inbox = try await messages(f.shopAToken)
            #expect(inbox.count == 3)
            #expect(inbox.contains { $0.title == "库存预警：奶粉 LOW-1（静安店）" })
        }
    }
}

@Suite struct StoreTests {
    func storeJSON(_ name: String, lat: Double, lng: Double, kind: String = "direct") -> String {
        #"{"name":"\#(name)","kind":"\#(kind)","address":"上海市某路1号","latitude":\#(lat),"longitude":\#(lng),"hours":"10:00-21:00","phone":"021-1234"}"#
    }

    func put(_ t: TestContext, _ path: String, _ json: String, token: String) async throws -> TestingHTTPResponse {
        try await t.app.testing().sendRequest(.PUT, path, headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: .init(string: json))
    }

    @Test func shoppersFindTheNearestStoresAndScanTheirCodes() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let jingan = try await t.postJSON("/api/v1/merchant/stores", storeJSON("静安店", lat: 31.2243, lng: 121.4466), token: f.shopAToken).content.decode(StoreDTO.self)
            _ = try await t.postJSON("/api/v1/merchant/stores", storeJSON("浦东店", lat: 31.2397, lng: 121.4998, kind: "franchise"), token: f.shopAToken)
            _ = try await t.postJSON("/api/v1/merchant/stores", storeJSON("杭州店", lat: 30.2741, lng: 120.1551), token: f.shopBToken)

            // Standing at Jing'an Temple.
            let near = try await t.get("/api/v1/stores?lat=31.2235&lng=121.4456&limit=2").content.decode([StoreDTO].self)
            #expect(near.map(\.name) == ["静安店", "浦东店"])
            #expect((near[0].distanceMetres ?? 0) < 200)
            #expect((near[1].distanceMetres ?? 0) > 4_000)
            #expect(try await t.get("/api/v1/stores?lat=91&lng=0").status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/stores?lat=31").status == .unprocessableEntity)

            let png = try await t.get("/api/v1/stores/\(jingan.id)/qrcode.png")
            #expect(png.status == .ok)
            #expect(png.headers.contentType == .png)
            #expect(Array(png.body.readableBytesView.prefix(8)) == PNG.signature)
            let svg = try await t.get("/api/v1/stores/\(jingan.id)/qrcode.svg").body.string
            #expect(svg.hasPrefix("<svg"))
            // What the code says is the store page's address.
            let matrix = try QRCode.matrix(for: "http://127.0.0.1:8080/stores/\(jingan.id.uuidString.lowercased())")
            #expect(svg == matrix.svg())

            let page = try await PageClient(app: t.app).get("/stores/\(jingan.id.uuidString.lowercased())")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("静安店"))
            #expect(page.body.string.contains("直营店"))
            #expect(page.body.string.contains("/qrcode.svg"))
        }
    }

    @Test func merchantsKeepTheirOwnStoresAndStock() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let mine = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, prices: [100, 200]))
            let theirs = try await f.createProduct(f.productJSON("乙店奶粉", category: f.milk), token: f.shopBToken)
            let store = try await t.postJSON("/api/v1/merchant/stores", storeJSON("静安店", lat: 31.2243, lng: 121.4466), token: f.shopAToken).content.decode(StoreDTO.self)

            let bad = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"","kind":"shop","address":"","latitude":200,"longitude":0}"#, token: f.shopAToken)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.error?.details.map(\.field) == ["name", "kind", "address", "latitude"])
            #expect(try await put(t, "/api/v1/merchant/stores/\(store.id)", storeJSON("改名", lat: 31, lng: 121), token: f.shopBToken).status == .notFound)

            let stock = #"{"items":[{"skuId":"\#(mine.skus[0].id)","stock":2,"lowStockThreshold":3},{"skuId":"\#(mine.skus[1].id)","stock":9}]}"#
            let set = try await put(t, "/api/v1/merchant/stores/\(store.id)/stock", stock, token: f.shopAToken)
            #expect(set.status == .ok, "\(set.body.string)")
            let rows = try set.content.decode([StoreStockDTO].self)
            #expect(rows.map(\.stock) == [2, 9])
            #expect(rows.map(\.low) == [true, false])

            let foreign = try await put(t, "/api/v1/merchant/stores/\(store.id)/stock", #"{"items":[{"skuId":"\#(theirs.skus[0].id)","stock":1},{"skuId":"\#(mine.skus[0].id)","stock":-1}]}"#, token: f.shopAToken)
            #expect(foreign.status == .unprocessableEntity)
            #expect(foreign.error?.details.map(\.field).sorted() == ["items[0].skuId", "items[1].stock"])
            #expect(try await StoreStock.query(on: t.app.db).count() == 2)
            #expect(try await t.get("/api/v1/merchant/stores/\(store.id)/stock", token: f.shopBToken).status == .notFound)

            // A suspended merchant's stores disappear for shoppers.
            let merchant = try #require(try await Merchant.find(f.shopA, on: t.app.db))
            merchant.status = "suspended"
            try await merchant.save(on: t.app.db)
            #expect(try await t.get("/api/v1/stores/\(store.id)").status == .notFound)
            #expect(try await t.get("/api/v1/stores").content.decode([StoreDTO].self).isEmpty)
        }
    }
}
