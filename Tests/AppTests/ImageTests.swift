import CZlib
import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct ImageTests {
    @Test func aMerchantUploadsPicturesAndTheStorefrontShowsThem() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            func upload(_ width: Int) async throws -> ImageDTO {
                let response = try await t.upload("/api/v1/merchant/images", bytes: TestImages.png(width: width, height: 5), token: f.shopAToken)
                #expect(response.status == .created, "\(response.body.string)")
                return try response.content.decode(ImageDTO.self)
            }
            let main = try await upload(8)
            let second = try await upload(9)
            let red = try await upload(10)
            #expect(main.width == 8)
            #expect(main.height == 5)
            #expect(main.contentType == "image/png")
            #expect(main.byteSize == Int64(TestImages.png(width: 8, height: 5).count))
            #expect(main.url == "/uploads/" + main.key)

            // The bytes come back as they went in, with a long cache life.
            let served = try await t.get(main.url)
            #expect(served.status == .ok)
            #expect(served.headers.contentType == .png)
            #expect(served.headers.first(name: .cacheControl) == "public, max-age=31536000, immutable")
            #expect(Array(served.body.readableBytesView) == TestImages.png(width: 8, height: 5))

            // The gallery leaves the main image out; it is put first.
            let json = """
            {"title":"纯棉T恤","categoryId":"\(f.baby)","mainImage":"\(main.key)","gallery":["\(second.key)","\(second.key)"],
             "specs":[{"name":"颜色","values":["红","蓝"]}],
             "skus":[{"specs":{"颜色":"红"},"code":"TEE-R","priceFen":5990,"stock":3,"image":"\(red.key)"},
                     {"specs":{"颜色":"蓝"},"code":"TEE-B","priceFen":5990,"stock":3}],"onShelf":true}
            """
            let product = try await f.createProduct(json)
            #expect(product.mainImage == ImageRef(main.key, t.app.imageStorage))
            #expect(product.gallery.map(\.key) == [main.key, second.key])
            #expect(product.skus.map { $0.image?.url } == ["/uploads/" + red.key, nil])

            let listed = try await f.list("categoryId=\(f.baby)")
            #expect(listed.items.first?.mainImage?.url == main.url)
            let page = try await t.get("/products/\(product.id)", headers: ["Accept": "text/html"]).body.string
            #expect(page.contains(#"id="gallery-main" src="\#(main.url)""#))
            #expect(page.contains(#"data-src="\#(second.url)""#))
            #expect(page.contains(#"data-code="TEE-R" data-image="\#(red.url)""#))
            #expect(try await t.get("/search?q=T恤", headers: ["Accept": "text/html"]).body.string.contains(#"src="\#(main.url)""#))
        }
    }

    @Test func drawnPicturesAreRealCompressedPNGs() throws {
        let pixels = DrawnPicture.pixels(size: 64, hue: 0.3, motif: .rings)
        let png = PNG.encodeRGB(width: 64, height: 64, pixels: pixels, deflate: Zlib.compress)
        #expect(png.count < PNG.encodeRGB(width: 64, height: 64, pixels: pixels).count / 2)
        // Inflate the IDAT chunk and find the scanlines again: a filter byte, then each row.
        let length = Int(png[33]) << 24 | Int(png[34]) << 16 | Int(png[35]) << 8 | Int(png[36])
        #expect(Array(png[37..<41]) == Array("IDAT".utf8))
        let stream = Array(png[41..<41 + length])
        var size = uLong(65 * 3 * 64 + 64)
        var inflated = [UInt8](repeating: 0, count: Int(size))
        let status = inflated.withUnsafeMutableBufferPointer { out in stream.withUnsafeBufferPointer { uncompress(out.baseAddress, &size, $0.baseAddress, uLong(stream.count)) } }
        #expect(status == Z_OK)
        #expect(Int(size) == (64 * 3 + 1) * 64)
        #expect(Array(inflated[1..<193]) == Array(pixels[0..<192]))
    }

    @Test func whatIsNotAPictureIsRefusedAndNothingIsKept() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let text = try await t.upload("/api/v1/merchant/images", bytes: Array("<svg onload=alert(1)>".utf8), filename: "x.png", token: f.shopAToken)
            #expect(text.status == .unsupportedMediaType)
            #expect(text.error?.message == "只能上传 JPG、PNG、GIF 或 WebP 图片")
            #expect(text.error?.details.map(\.field) == ["file"])

            // A real PNG header padded past 5 MB.
            let huge = TestImages.png() + [UInt8](repeating: 0, count: ImageInspection.maxBytes)
            let tooLarge = try await t.upload("/api/v1/merchant/images", bytes: huge, token: f.shopAToken)
            #expect(tooLarge.status == .payloadTooLarge)
            #expect(tooLarge.error?.message == "图片不能超过 5 MB")

            // A multipart body with no parts at all.
            var headers = HTTPHeaders()
            headers.contentType = HTTPMediaType(type: "multipart", subType: "form-data", parameters: ["boundary": "b"])
            headers.bearerAuthorization = .init(token: f.shopAToken)
            let noParts = try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/images", headers: headers, body: .init(string: "--b--\r\n"))
            #expect(noParts.status == .badRequest)
            #expect(noParts.error?.message == "请选择要上传的图片")
            // Part headers the form parser cannot read safely are refused wherever they are sent.
            headers.contentType = HTTPMediaType(type: "multipart", subType: "form-data", parameters: ["boundary": "b7"])
            var hostile = ByteBuffer(string: "--b7\r\n")
            hostile.writeBytes([0xF2, 0xB9, 0xA6, 0x8C, 0xC3, 0x8E])
            hostile.writeString(",--b7--\r\n")
            for path in ["/api/v1/merchant/images", "/merchant/apply"] {
                let refused = try await t.app.testing().sendRequest(.POST, path, headers: headers, body: hostile)
                #expect(refused.status == .badRequest, "\(path)")
                #expect(refused.body.string.contains("上传内容格式不正确"), "\(path)")
            }
            // A JSON login takes no multipart at all.
            let login = try await t.app.testing().sendRequest(.POST, "/api/v1/auth/login", headers: headers, body: hostile)
            #expect(login.status == .unsupportedMediaType)
            let empty = try await t.upload("/api/v1/merchant/images", bytes: [], token: f.shopAToken)
            #expect(empty.status == .badRequest)
            #expect(empty.error?.message == "请选择要上传的图片")

            #expect(try await t.upload("/api/v1/merchant/images", bytes: TestImages.png()).status == .unauthorized)
            #expect(try await UploadedImage.query(on: t.app.db).count() == 0)
            let files = FileManager.default.enumerator(atPath: t.app.config.uploadsDirectory)?.allObjects.compactMap { $0 as? String }.filter { $0.contains(".") } ?? []
            #expect(files.isEmpty)

            // Keys are checked before any path is touched.
            #expect(try await t.get("/uploads/..%2F..%2Fetc/passwd").status.code >= 400)
            #expect(try await t.get("/uploads/ab/ab000000000000000000000000000000.png").status == .notFound)
        }
    }

    @Test func productsOnlyUseTheirOwnMerchantsPictures() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let theirs = try await t.upload("/api/v1/merchant/images", bytes: TestImages.png(), token: f.shopBToken).content.decode(ImageDTO.self)
            var json = f.productJSON("借图商品", category: f.baby, code: "BORROW")
            json.removeLast()
            json += #","mainImage":"\#(theirs.key)","gallery":["zz/not-a-key.png"]}"#
            let refused = try await t.postJSON("/api/v1/merchant/products", json, token: f.shopAToken)
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.error?.details.map(\.field) == ["mainImage", "gallery[0]"])
            #expect(refused.error?.details.first?.message == "图片不存在，请先上传")
            #expect(try await Product.query(on: t.app.db).count() == 0)
        }
    }

    @Test func serviceProductsNameTheStoresThatRedeemThem() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            func store(_ name: String, token: String) async throws -> UUID {
                let response = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"\#(name)","kind":"direct","address":"上海市静安区南京西路1号","latitude":31.22,"longitude":121.45}"#, token: token)
                #expect(response.status == .created, "\(response.body.string)")
                return try response.content.decode(StoreDTO.self).id
            }
            let own = try await store("甲店 静安店", token: f.shopAToken)
            let others = try await store("乙店 徐汇店", token: f.shopBToken)
            func course(_ stores: [UUID], kind: String = "service") -> String {
                #"{"title":"亲子早教体验课","categoryId":"\#(f.baby)","kind":"\#(kind)","validityDays":90,"skus":[{"code":"EDU-\#(UUID().uuidString.prefix(6))","priceFen":39900,"stock":50}],"redeemStoreIds":[\#(stores.map { #""\#($0)""# }.joined(separator: ","))],"onShelf":true}"#
            }
            let product = try await f.createProduct(course([own]))
            #expect(product.redeemStores.map(\.name) == ["甲店 静安店"])
            let shown = try await t.get("/api/v1/products/\(product.id)").content.decode(ProductDetailDTO.self)
            #expect(shown.redeemStores.map(\.id) == [own])
            #expect(try await t.get("/products/\(product.id)", headers: ["Accept": "text/html"]).body.string.contains(#"<a href="/stores/\#(own)">甲店 静安店</a>"#))

            let borrowed = try await t.postJSON("/api/v1/merchant/products", course([own, others]), token: f.shopAToken)
            #expect(borrowed.status == .unprocessableEntity)
            #expect(borrowed.error?.details.map(\.message) == ["核销门店需是本店铺的门店"])
            let physical = try await t.postJSON("/api/v1/merchant/products", course([own], kind: "physical"), token: f.shopAToken)
            #expect(physical.error?.details.map(\.field) == ["redeemStoreIds"])
            #expect(try await Product.query(on: t.app.db).count() == 1)
        }
    }

    @Test func ownersAddStoreClerksWhoSeeButDoNotChange() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let storeJSON = #"{"name":"甲店 静安店","kind":"direct","address":"上海市静安区南京西路1号","latitude":31.22,"longitude":121.45}"#
            let store = try await t.postJSON("/api/v1/merchant/stores", storeJSON, token: f.shopAToken).content.decode(StoreDTO.self)
            let otherStore = try await t.postJSON("/api/v1/merchant/stores", storeJSON, token: f.shopBToken).content.decode(StoreDTO.self)

            let clerkJSON = #"{"username":"jingan-01","displayName":"小王","password":"Clerk2026","role":"store_clerk","storeId":"\#(store.id)"}"#
            let created = try await t.postJSON("/api/v1/merchant/staff", clerkJSON, token: f.shopAToken)
            #expect(created.status == .created, "\(created.body.string)")
            let clerk = try created.content.decode(StaffDTO.self)
            #expect(clerk.role == "store_clerk")
            #expect(clerk.storeId == store.id)
            #expect(clerk.merchantId == f.shopA)

            let clerkToken = try await t.staffToken("jingan-01", console: "merchant", password: "Clerk2026")
            #expect(try await t.get("/api/v1/merchant/products", token: clerkToken).status == .ok)
            #expect(try await t.postJSON("/api/v1/merchant/products", f.productJSON("店员商品", category: f.baby), token: clerkToken).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/merchant/staff", clerkJSON.replacingOccurrences(of: "jingan-01", with: "jingan-02"), token: clerkToken).status == .forbidden)

            let wrongStore = try await t.postJSON("/api/v1/merchant/staff", clerkJSON.replacingOccurrences(of: "jingan-01", with: "jingan-03")
                .replacingOccurrences(of: store.id.uuidString, with: otherStore.id.uuidString), token: f.shopAToken)
            #expect(wrongStore.status == .unprocessableEntity)
            #expect(wrongStore.error?.details.map(\.field) == ["storeId"])
            let again = try await t.postJSON("/api/v1/merchant/staff", clerkJSON, token: f.shopAToken)
            #expect(again.status == .conflict)
            let bad = try await t.postJSON("/api/v1/merchant/staff", #"{"username":"x","displayName":"","password":"short","role":"merchant_owner"}"#, token: f.shopAToken)
            #expect(bad.error?.details.map(\.field) == ["username", "displayName", "password", "role"])
            #expect(try await StaffUser.query(on: t.app.db).filter(\.$merchant.$id == f.shopA).count() == 2)
        }
    }
}
