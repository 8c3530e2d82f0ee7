import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct PageTests {
    @Test func theStorefrontSpeaksChineseFirstAndEnglishOnRequest() async throws {
        try await withMallApp { t in
            let client = PageClient(app: t.app)
            let zh = try await client.get("/")
            #expect(zh.status == .ok)
            #expect(zh.body.string.contains(#"<html lang="zh-Hans">"#))
            #expect(zh.body.string.contains("好物分享，人人都是推广员"))

            let en = try await PageClient(app: t.app).get("/", headers: ["Accept-Language": "en-GB,en;q=0.8"])
            #expect(en.body.string.contains("Everyone can be a distributor"))

            let switched = try await client.get("/lang?to=en&back=/login")
            #expect(switched.status == .seeOther)
            #expect(switched.headers.first(name: .location) == "/login")
            #expect(try await client.get("/login").body.string.contains("Member login"))
            // The switcher never redirects off-site.
            for back in ["//evil.example", "/\\evil.example", "https://evil.example", "/\tevil", "/商品"] {
                let encoded = back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? back
                #expect(try await client.get("/lang?to=en&back=\(encoded)").headers.first(name: .location) == "/", "\(back)")
            }
            #expect(try await client.get("/lang?to=zh-Hans&back=/member?tab=1").headers.first(name: .location) == "/member?tab=1")
            // Switching on a search keeps the search.
            let search = try await client.get("/search?q=%E5%A5%B6%E7%B2%89&sort=price_asc").body.string
            let link = try #require(search.components(separatedBy: #"class="lang" href="/lang?to=en&back="#).dropFirst().first?.split(separator: "\"").first)
            let back = try #require(String(link).removingPercentEncoding)
            #expect(try await client.get("/lang?to=en&back=\(link)").headers.first(name: .location) == back)
            #expect(back == "/search?q=%E5%A5%B6%E7%B2%89&sort=price_asc")
        }
    }

    @Test func aMemberRegistersAndSeesTheirCentre() async throws {
        try await withMallApp { t in
            let client = PageClient(app: t.app)
            try await client.get("/register")
            // Without the code sent to the number, nobody registers it.
            let unproved = try await client.post("/register", form: ["phone": "13812345678", "password": "Member2026", "code": "000000", "agree": "on"])
            #expect(unproved.status == .unauthorized)
            #expect(unproved.body.string.contains("验证码错误或已失效"))
            let sent = try await client.post("/register/sms-code", form: ["phone": "13812345678"])
            #expect(sent.status == .ok)
            #expect(sent.body.string.contains("register-form"))
            let code = try #require(t.sms.lastCode(for: "13812345678"))
            let refused = try await client.post("/register", form: ["phone": "13812345678", "password": "Member2026", "code": code])
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("请阅读并同意《用户协议》和《隐私政策》"))
            #expect(try await Member.query(on: t.app.db).count() == 0)

            let done = try await client.post("/register", form: ["phone": "13812345678", "password": "Member2026", "code": code, "agree": "on"])
            #expect(done.status == .seeOther)
            #expect(done.headers.first(name: .location) == "/member")
            let centre = try await client.get("/member")
            #expect(centre.status == .ok)
            #expect(centre.body.string.contains("138****5678"))
            #expect(!centre.body.string.contains("13812345678"))
            #expect(centre.body.string.contains("¥0.00"))
        }
    }

    @Test func formsWithoutTheCSRFTokenAreRefused() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let client = PageClient(app: t.app)
            try await client.get("/login")
            let forged = try await client.post("/login", form: ["phone": "13812345678", "password": "Member2026"], includeCSRF: false)
            #expect(forged.status == .forbidden)
            #expect(forged.body.string.contains("页面已过期，请刷新后重试"))
            #expect(try await client.get("/member").status == .seeOther)
        }
    }

    @Test func signingInIssuesANewSessionAndSigningOutEndsIt() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let client = PageClient(app: t.app)
            try await client.get("/login")
            // Looking at the login page creates no session; signing in does.
            #expect(client.cookies["fission_session"] == nil)
            #expect(try await SessionRecord.query(on: t.app.db).count() == 0)
            let login = try await client.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            #expect(login.headers.first(name: .location) == "/member")
            #expect(client.cookies["fission_session"] != nil)
            try await client.post("/logout", form: [:])
            // An id planted before sign-in is worth nothing after it.
            client.plant(cookie: "fission_session", "planted-session-id")
            try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            let after = try #require(client.cookies["fission_session"])
            #expect(after != "planted-session-id")
            #expect(try await client.get("/member").status == .ok)
            #expect(try await client.get("/member").status == .ok)

            try await client.post("/logout", form: [:])
            #expect(try await client.get("/member").headers.first(name: .location) == "/login")
        }
    }

    @Test func wrongPasswordsOnTheLoginPageShowAnAlertThenThrottle() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let client = PageClient(app: t.app)
            try await client.get("/login")
            for _ in 1...5 {
                let wrong = try await client.post("/login", form: ["phone": "13812345678", "password": "Wrong2026"])
                #expect(wrong.status == .unauthorized)
                #expect(wrong.body.string.contains("账号或密码错误"))
            }
            let sixth = try await client.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            #expect(sixth.status == .tooManyRequests)
            #expect(sixth.body.string.contains("登录失败次数过多，请15分钟后再试"))
        }
    }

    @Test func anOperatorSeesTheConsole() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            try await t.registerMember("13812345678")
            let client = PageClient(app: t.app)
            #expect(try await client.get("/admin").headers.first(name: .location) == "/admin/login")
            try await client.get("/admin/login")
            let login = try await client.post("/admin/login", form: ["username": "boss", "password": "Staff2026"])
            #expect(login.headers.first(name: .location) == "/admin")
            let console = try await client.get("/admin")
            let html = console.body.string
            #expect(console.status == .ok)
            #expect(html.contains(#"<strong id="member-count">1</strong>"#))
            #expect(html.contains(#"<strong id="merchant-count">1</strong>"#))
            #expect(html.contains("账本平衡"))
            #expect(html.contains("当前角色: 平台管理员"))
            #expect(html.contains("0 笔交易 · 0 个账户"))
            #expect(html.contains("staff.login"))
            #expect(html.contains("裂变商城自营"))
            // A member's session does not open the console.
            let member = PageClient(app: t.app)
            try await member.get("/login")
            try await member.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            #expect(try await member.get("/admin").headers.first(name: .location) == "/admin/login")
        }
    }

    @Test func aMerchantSeesOnlyItsOwnStaffOnItsConsole() async throws {
        try await withMallApp { t in
            let a = try await t.createMerchant("甲店")
            let b = try await t.createMerchant("乙店")
            try await t.createStaff("a-owner", role: .merchantOwner, merchantID: a)
            try await t.createStaff("b-owner", role: .merchantOwner, merchantID: b)
            let client = PageClient(app: t.app)
            try await client.get("/merchant/login")
            let refused = try await client.post("/admin/login", form: ["username": "a-owner", "password": "Staff2026"])
            #expect(refused.status == .forbidden)
            #expect(refused.body.string.contains("该账号不能登录此后台"))
            try await client.post("/merchant/login", form: ["username": "a-owner", "password": "Staff2026"])
            let html = try await client.get("/merchant").body.string
            #expect(html.contains("甲店"))
            #expect(html.contains("a-owner"))
            #expect(!html.contains("b-owner"))
            #expect(html.contains("5%"))
            #expect(html.contains(#"<table id="product-list">"#))
            #expect(html.contains(#"<table id="store-list">"#))
        }
    }

    @Test func unknownPagesGetAFriendlyPageAndUnknownAPIsJSON() async throws {
        try await withMallApp { t in
            let page = try await PageClient(app: t.app).get("/no-such-page")
            #expect(page.status == .notFound)
            #expect(page.headers.contentType == .html)
            #expect(page.body.string.contains("找不到该内容"))
            let api = try await t.get("/api/v1/no-such-thing")
            #expect(api.status == .notFound)
            #expect(api.error?.code == "not_found")
        }
    }
}
