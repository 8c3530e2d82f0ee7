import Fluent
import Foundation
import MallCore
import SQLKit
import Testing
import VaporTesting
@testable import App

@Suite struct PlatformTests {
    @Test func healthAndMetricsAnswer() async throws {
        try await withMallApp { t in
            let health = try await t.get("/healthz")
            #expect(health.status == .ok)
            #expect(try health.content.decode(HealthResponse.self).database == "ok")
            #expect(health.headers.first(name: "X-Request-ID")?.isEmpty == false)
            _ = try await t.get("/api/v1/me")
            // Metrics are the operator's: anonymous callers and merchants are refused.
            #expect(try await t.get("/metrics").status == .unauthorized)
            try await t.createStaff("ops", role: .platformAdmin, merchantID: nil)
            let metrics = try await t.get("/metrics", token: try await t.staffToken("ops", console: "platform")).body.string
            #expect(metrics.contains(#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#))
            #expect(metrics.contains(#"http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#))
            #expect(metrics.contains("http_request_duration_seconds_bucket"))
        }
    }

    @Test func everyAPIRouteIsInTheOpenAPIDocument() async throws {
        try await withMallApp { t in
            let response = try await t.get("/openapi.json")
            #expect(response.status == .ok)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let apiRoutes = t.app.routes.all.filter { $0.path.first?.description == "api" }
            #expect(apiRoutes.count >= 13)
            for route in apiRoutes {
                let path = "/" + route.path.map { component -> String in
                    if case .parameter(let name) = component { return "{\(name)}" }
                    return component.description
                }.joined(separator: "/")
                let operations = paths[path]
                #expect(operations?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(path) is missing from openapi.json")
            }
            // And nothing documented that does not exist.
            let served = Set(apiRoutes.map { route in
                "/" + route.path.map { c -> String in if case .parameter(let n) = c { return "{\(n)}" }; return c.description }.joined(separator: "/")
            })
            #expect(Set(paths.keys) == served)
        }
    }

    @Test func noPlaintextPhoneIsStored() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            if let path = t.sqlitePath {
                // Push the WAL into the main file, then read the bytes.
                try await sqlDatabase(t.app.db).raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
                for file in [path, path + "-wal"] {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    #expect(data.range(of: Data("13812345678".utf8)) == nil, "plaintext phone in \(file)")
                }
            }
            let rows = try await sqlDatabase(t.app.db).raw("SELECT phone_cipher, phone_hash, nickname FROM members").all()
            for row in rows {
                for column in ["phone_cipher", "phone_hash", "nickname"] {
                    #expect(try !row.decode(column: column, as: String.self).contains("13812345678"))
                }
            }
            let member = try #require(try await Member.query(on: t.app.db).first())
            #expect(try t.app.personalData.open(member.phoneCipher) == "13812345678")
        }
    }

    @Test func migrationsRevertAndReapply() async throws {
        try await withMallApp { t in
            try await t.app.autoRevert()
            try await t.app.autoMigrate()
            #expect(try await Merchant.find(Merchant.selfOperatedID, on: t.app.db)?.kind == "self_operated")
        }
    }

    @Test func demoDataSeedsOnceWithABalancedLedger() async throws {
        try await withMallApp { t in
            #expect(try await DemoData.seed(app: t.app))
            #expect(try await DemoData.seed(app: t.app) == false)
            #expect(try await StaffUser.query(on: t.app.db).count() == 5)
            #expect(try await Member.query(on: t.app.db).count() == 2)
            #expect(try await Merchant.query(on: t.app.db).count() == 2)
            #expect(try await Category.query(on: t.app.db).filter(\.$parent.$id == nil).count() == 8)
            #expect(try await Product.query(on: t.app.db).count() == 40)
            #expect(try await Product.query(on: t.app.db).filter(\.$merchant.$id == DemoData.onboardedMerchantID).count() >= 10)
            let page = try await t.get("/api/v1/products?q=%E5%A5%B6%E7%B2%89&limit=100").content.decode(ProductPageDTO.self) // 奶粉
            #expect(page.items.count == 3)
            #expect(page.items.allSatisfy { $0.title.contains("奶粉") })
            #expect(try await LedgerService(db: t.app.db, now: t.clock.now()).verify().ok)
            let token = try await t.staffToken("admin", console: "platform", password: DemoData.operatorPassword)
            #expect(try await t.get("/api/v1/admin/merchants", token: token).content.decode([MerchantDTO].self).count == 2)
            _ = try await t.staffToken("nuannuan", console: "merchant", password: DemoData.merchantPassword)
        }
    }
}

@Suite struct LocalizationTests {
    @Test func everyPageStringHasBothLanguages() {
        for (key, text) in PageStrings.all {
            #expect(!text.zh.isEmpty && !text.en.isEmpty, "\(key)")
            #expect(text.zh != text.en || key == "brand", "\(key) is not translated")
        }
    }

    @Test func everyStringTheTemplatesUseExists() throws {
        let views = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Resources/Views").standardized
        let files = try #require(FileManager.default.enumerator(at: views, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }.filter { $0.pathExtension == "leaf" })
        #expect(files.count >= 9)
        let pattern = try Regex(#"#\(t\.([a-z_]+)\)"#)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                let key = String(text[match.range].dropFirst(4).dropLast())
                #expect(PageStrings.all[key] != nil, "\(file.lastPathComponent) uses t.\(key), which has no text")
            }
        }
    }

    @Test(arguments: [
        (nil as String?, MallLocale.zhHans), ("en-US,en;q=0.9", .en), ("zh-TW,zh;q=0.9,en;q=0.8", .zhHans),
        ("fr-FR,en;q=0.5", .en), ("fr-FR", .zhHans), ("en;q=0.4,zh;q=0.8", .zhHans), ("", .zhHans),
    ])
    func acceptLanguagePicksTheBestSupportedLocale(header: String?, expected: MallLocale) {
        #expect(LanguageNegotiation.locale(acceptLanguage: header) == expected)
    }
}
