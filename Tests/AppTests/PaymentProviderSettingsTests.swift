import Foundation
import Testing
@testable import App

/// Provider settings from the environment, and what providers are told about a payment.
@Suite struct PaymentProviderSettingsTests {
    @Test func nothingSetMeansNotConfiguredAndEverythingSetLoads() throws {
        #expect(try WeChatPaySettings.load([:], publicBaseURL: "https://mall.example.com") == nil)
        #expect(try AlipaySettings.load(["FISSION_ALIPAY_APP_ID": " "], publicBaseURL: "https://mall.example.com") == nil)

        var env = WeChatPayTestFiles.environment(base: "https://api.example.com/", notify: "", certificate: true, publicKey: true)
        env["FISSION_WECHAT_NOTIFY_URL"] = nil
        env["FISSION_WECHAT_API_BASE"] = nil
        let wechat = try #require(try WeChatPaySettings.load(env, publicBaseURL: "https://mall.example.com"))
        #expect(wechat.notifyURL == "https://mall.example.com/callbacks/wechat")
        #expect(wechat.apiBaseURL == "https://api.mch.weixin.qq.com")
        #expect(wechat.platformKeys.serials.sorted() == [PaymentTestKeys.publicKeyID, PaymentTestKeys.platformSerial].sorted())

        var alipayEnv = AlipayTestFiles.environment(gateway: "", notify: "", sellerID: nil)
        for name in ["FISSION_ALIPAY_GATEWAY", "FISSION_ALIPAY_NOTIFY_URL", "FISSION_ALIPAY_RETURN_URL"] { alipayEnv[name] = nil }
        let alipay = try #require(try AlipaySettings.load(alipayEnv, publicBaseURL: "https://mall.example.com"))
        #expect(alipay.gatewayURL == "https://openapi.alipay.com/gateway.do")
        #expect(alipay.notifyURL == "https://mall.example.com/callbacks/alipay")
        #expect(alipay.returnURL == nil)
        #expect(alipay.sellerID == nil)
    }

    @Test(arguments: [
        ("FISSION_WECHAT_MCHID", "FISSION_WECHAT_MCHID is missing"),
        ("FISSION_WECHAT_MERCHANT_KEY_FILE", "FISSION_WECHAT_MERCHANT_KEY_FILE is missing"),
        ("FISSION_WECHAT_API_V3_KEY", "FISSION_WECHAT_API_V3_KEY is missing"),
        ("FISSION_WECHAT_PLATFORM_CERT_FILES", "needs WeChat Pay's keys"),
    ])
    func weChatSetHalfwayRefusesToStart(missing: String, message: String) throws {
        var env = WeChatPayTestFiles.environment(base: "https://api.example.com", notify: "https://mall.example.com/callbacks/wechat")
        env[missing] = nil
        #expect { _ = try WeChatPaySettings.load(env, publicBaseURL: "https://mall.example.com") } throws: { error in
            String(describing: error).contains(message)
        }
    }

    @Test func wrongWeChatValuesRefuseToStartWithTheirReason() throws {
        let base = WeChatPayTestFiles.environment(base: "https://api.example.com", notify: "https://mall.example.com/callbacks/wechat")
        let cases: [([String: String], String)] = [
            (["FISSION_WECHAT_PUBLIC_KEY_ID": PaymentTestKeys.publicKeyID], "go together"),
            (["FISSION_WECHAT_PUBLIC_KEY_ID": "12345", "FISSION_WECHAT_PUBLIC_KEY_FILE": WeChatPayTestFiles.directory + "/pub_key.pem"], "PUB_KEY_ID_"),
            (["FISSION_WECHAT_API_V3_KEY": "short"], "32-character"),
            (["FISSION_WECHAT_MERCHANT_KEY_FILE": WeChatPayTestFiles.directory + "/platform_cert.pem"], "unexpected_pem_label"),
            (["FISSION_WECHAT_MERCHANT_KEY_FILE": "/nonexistent/apiclient_key.pem"], "unreadable_file"),
            (["FISSION_WECHAT_PLATFORM_CERT_FILES": WeChatPayTestFiles.directory + "/pub_key.pem"], "FISSION_WECHAT_PLATFORM_CERT_FILES"),
            (["FISSION_WECHAT_MCHID": "19000\"09191"], "FISSION_WECHAT_MCHID"),
            (["FISSION_WECHAT_API_BASE": "ftp://api.example.com"], "http(s) URL"),
        ]
        for (changes, message) in cases {
            let env = base.merging(changes) { $1 }
            #expect { _ = try WeChatPaySettings.load(env, publicBaseURL: "https://mall.example.com") } throws: { error in
                String(describing: error).contains(message)
            }
        }
    }

    @Test func alipaySetHalfwayRefusesToStart() throws {
        for missing in ["FISSION_ALIPAY_APP_ID", "FISSION_ALIPAY_APP_PRIVATE_KEY_FILE", "FISSION_ALIPAY_PUBLIC_KEY_FILE"] {
            var env = AlipayTestFiles.environment(gateway: "https://openapi.example.com/gateway.do", notify: "https://mall.example.com/callbacks/alipay")
            env[missing] = nil
            #expect { _ = try AlipaySettings.load(env, publicBaseURL: "https://mall.example.com") } throws: { error in
                String(describing: error).contains("\(missing) is missing")
            }
        }
    }

    @Test func theProviderSeesTheFirstTitleWithoutCharactersAlipayRefuses() {
        #expect(PaymentProviders.description(titles: ["婴儿奶粉 900g/罐 & 赠品=1"]) == "婴儿奶粉 900g罐  赠品1")
        #expect(PaymentProviders.description(titles: ["甲", "乙", "丙"]) == "甲 等3件")
        #expect(PaymentProviders.description(titles: []) == "裂变商城订单")
        #expect(PaymentProviders.description(titles: ["///"]) == "裂变商城订单")
        #expect(PaymentProviders.description(titles: [String(repeating: "长", count: 100)]).count == 32)
    }

    @Test func timesAreBeijingTime() {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        #expect(ProviderTime.rfc3339(date) == "2026-11-18T19:06:40+08:00")
        #expect(ProviderTime.alipay(date) == "2026-11-18 19:06:40")
    }
}
