import Foundation
import Vapor

/// WeChat Pay API v3 as configured by `FISSION_WECHAT_*`, keys already loaded so that a wrong file
/// stops the start instead of the first payment.
struct WeChatPaySettings: Sendable {
    let merchantID: String
    let appID: String
    /// Serial of the merchant API certificate whose private key signs our requests.
    let merchantSerial: String
    let merchantKey: PaymentKeySigner
    let apiV3Key: WeChatPayAPIv3Key
    /// Platform certificates and/or the WeChat Pay public key; WeChat may sign with either while a
    /// merchant moves from one to the other.
    let platformKeys: WeChatPayPlatformKeys
    let notifyURL: String
    /// `https://api.mch.weixin.qq.com`; tests point it at a fake on loopback.
    let apiBaseURL: String
    /// Merchant transfers (商家转账) for withdrawals; nil while `FISSION_WECHAT_TRANSFER_SCENE_ID` is unset.
    var transfer: WeChatTransferSettings? = nil

    static let defaultAPIBase = "https://api.mch.weixin.qq.com"

    static let variables = [
        "FISSION_WECHAT_MCHID", "FISSION_WECHAT_APPID", "FISSION_WECHAT_MERCHANT_SERIAL", "FISSION_WECHAT_MERCHANT_KEY_FILE",
        "FISSION_WECHAT_API_V3_KEY", "FISSION_WECHAT_PLATFORM_CERT_FILES", "FISSION_WECHAT_PUBLIC_KEY_ID",
        "FISSION_WECHAT_PUBLIC_KEY_FILE", "FISSION_WECHAT_NOTIFY_URL", "FISSION_WECHAT_API_BASE",
    ]

    /// nil when no `FISSION_WECHAT_*` variable is set; an error naming what is missing when only some are.
    static func load(_ env: [String: String], publicBaseURL: String) throws -> WeChatPaySettings? {
        let given = ProviderVariables(env, names: variables)
        guard given.any else {
            if ProviderVariables(env, names: WeChatTransferSettings.variables).any {
                throw ConfigError("FISSION_WECHAT_TRANSFER_* needs WeChat Pay itself configured (FISSION_WECHAT_MCHID …)")
            }
            return nil
        }
        let provider = "WeChat Pay (FISSION_WECHAT_*)"
        let merchantID = try given.required("FISSION_WECHAT_MCHID", for: provider)
        let appID = try given.required("FISSION_WECHAT_APPID", for: provider)
        let serial = try given.required("FISSION_WECHAT_MERCHANT_SERIAL", for: provider)
        let keyFile = try given.required("FISSION_WECHAT_MERCHANT_KEY_FILE", for: provider)
        let v3Text = try given.required("FISSION_WECHAT_API_V3_KEY", for: provider)
        for (name, value) in [("FISSION_WECHAT_MCHID", merchantID), ("FISSION_WECHAT_APPID", appID), ("FISSION_WECHAT_MERCHANT_SERIAL", serial)] {
            guard (try? WeChatPayMessage.checkHeaderValue(value, name: name)) != nil else {
                throw ConfigError("\(name) holds characters WeChat Pay does not use (quote, comma, space or control character)")
            }
        }
        let merchantKey = try loadKey("FISSION_WECHAT_MERCHANT_KEY_FILE", keyFile) { try PaymentKeyFile.privateKey(contentsOf: $0) }
        let apiV3Key: WeChatPayAPIv3Key
        do { apiV3Key = try WeChatPayAPIv3Key(v3Text) } catch {
            throw ConfigError("FISSION_WECHAT_API_V3_KEY must be the 32-character API v3 key set in the merchant console")
        }

        var keys = WeChatPayPlatformKeys()
        let certificateFiles = (given.value("FISSION_WECHAT_PLATFORM_CERT_FILES") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for path in certificateFiles {
            let certificate = try loadKey("FISSION_WECHAT_PLATFORM_CERT_FILES", path) { try PaymentKeyFile.certificate(contentsOf: $0) }
            keys.add(certificate: certificate)
        }
        let publicKeyID = given.value("FISSION_WECHAT_PUBLIC_KEY_ID")
        let publicKeyFile = given.value("FISSION_WECHAT_PUBLIC_KEY_FILE")
        switch (publicKeyID, publicKeyFile) {
        case let (id?, path?):
            let key = try loadKey("FISSION_WECHAT_PUBLIC_KEY_FILE", path) { try PaymentKeyFile.publicKey(contentsOf: $0) }
            do { try keys.add(publicKeyID: id, key: key) } catch {
                throw ConfigError("FISSION_WECHAT_PUBLIC_KEY_ID must be the id shown next to the key, PUB_KEY_ID_…")
            }
        case (nil, nil):
            break
        default:
            throw ConfigError("FISSION_WECHAT_PUBLIC_KEY_ID and FISSION_WECHAT_PUBLIC_KEY_FILE go together: set both or neither")
        }
        guard !keys.serials.isEmpty else {
            throw ConfigError("\(provider) needs WeChat Pay's keys to check its signatures: FISSION_WECHAT_PLATFORM_CERT_FILES, "
                + "or FISSION_WECHAT_PUBLIC_KEY_ID with FISSION_WECHAT_PUBLIC_KEY_FILE, or both")
        }
        return WeChatPaySettings(
            merchantID: merchantID, appID: appID, merchantSerial: serial, merchantKey: merchantKey, apiV3Key: apiV3Key,
            platformKeys: keys, notifyURL: try given.url("FISSION_WECHAT_NOTIFY_URL") ?? publicBaseURL + "/callbacks/wechat",
            apiBaseURL: try given.url("FISSION_WECHAT_API_BASE") ?? defaultAPIBase,
            transfer: try WeChatTransferSettings.load(env))
    }
}

/// WeChat Pay merchant transfer (商家转账) as configured by `FISSION_WECHAT_TRANSFER_*`: the scene
/// the merchant was granted in the merchant platform and what that scene asks to be reported.
struct WeChatTransferSettings: Sendable, Equatable {
    struct ReportInfo: Sendable, Equatable {
        let type: String
        let content: String
    }

    /// The transfer scene (e.g. 1005 佣金报酬), granted per merchant in 「产品中心 - 商家转账」.
    let sceneID: String
    /// What the payee sees as the reason (用户收款感知); must be one the scene allows.
    let perception: String
    /// The scene's report lines (转账场景报备信息), `类型=内容` pairs.
    let reportInfos: [ReportInfo]

    static let variables = ["FISSION_WECHAT_TRANSFER_SCENE_ID", "FISSION_WECHAT_TRANSFER_PERCEPTION", "FISSION_WECHAT_TRANSFER_REPORT"]
    static let defaultPerception = "劳务报酬"
    static let defaultReport = "岗位类型=推广员|报酬说明=分销佣金提现"

    static func load(_ env: [String: String]) throws -> WeChatTransferSettings? {
        let given = ProviderVariables(env, names: variables)
        guard given.any else { return nil }
        let sceneID = try given.required("FISSION_WECHAT_TRANSFER_SCENE_ID", for: "WeChat merchant transfer (FISSION_WECHAT_TRANSFER_*)")
        guard (1...36).contains(sceneID.utf8.count), sceneID.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ConfigError("FISSION_WECHAT_TRANSFER_SCENE_ID must be the scene's number, such as 1005")
        }
        let perception = given.value("FISSION_WECHAT_TRANSFER_PERCEPTION") ?? defaultPerception
        let report = try parseReport(given.value("FISSION_WECHAT_TRANSFER_REPORT") ?? defaultReport)
        guard perception.count <= 32 else { throw ConfigError("FISSION_WECHAT_TRANSFER_PERCEPTION has at most 32 characters") }
        return WeChatTransferSettings(sceneID: sceneID, perception: perception, reportInfos: report)
    }

    /// `岗位类型=推广员|报酬说明=分销佣金提现` → two report lines.
    static func parseReport(_ text: String) throws -> [ReportInfo] {
        let lines = try text.split(separator: "|").map { pair -> ReportInfo in
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].count <= 15, parts[1].count <= 32 else {
                throw ConfigError("FISSION_WECHAT_TRANSFER_REPORT must be 类型=内容 pairs joined by | (type up to 15, content up to 32 characters)")
            }
            return ReportInfo(type: parts[0], content: parts[1])
        }
        guard !lines.isEmpty, lines.count <= 5 else { throw ConfigError("FISSION_WECHAT_TRANSFER_REPORT needs 1 to 5 pairs") }
        return lines
    }
}

/// Alipay (open platform, public-key mode) as configured by `FISSION_ALIPAY_*`.
struct AlipaySettings: Sendable {
    let appID: String
    let appKey: PaymentKeySigner
    let alipayPublicKey: PaymentKeyVerifier
    /// The merchant's Alipay user id (2088…); when set, notifications for another seller are refused.
    let sellerID: String?
    /// `https://openapi.alipay.com/gateway.do`; tests point it at a fake on loopback.
    let gatewayURL: String
    let notifyURL: String
    /// Where Alipay's cashier sends the buyer back; none when unset.
    let returnURL: String?
    /// Single transfers to an Alipay account (单笔转账) for withdrawals: `FISSION_ALIPAY_TRANSFER_TITLE`
    /// names them on the payee's bill; unset, withdrawals to Alipay are paid by hand.
    var transferTitle: String? = nil

    static let defaultGateway = "https://openapi.alipay.com/gateway.do"

    static let variables = [
        "FISSION_ALIPAY_APP_ID", "FISSION_ALIPAY_APP_PRIVATE_KEY_FILE", "FISSION_ALIPAY_PUBLIC_KEY_FILE", "FISSION_ALIPAY_SELLER_ID",
        "FISSION_ALIPAY_GATEWAY", "FISSION_ALIPAY_NOTIFY_URL", "FISSION_ALIPAY_RETURN_URL", "FISSION_ALIPAY_TRANSFER_TITLE",
    ]

    static func load(_ env: [String: String], publicBaseURL: String) throws -> AlipaySettings? {
        let given = ProviderVariables(env, names: variables)
        guard given.any else { return nil }
        let provider = "Alipay (FISSION_ALIPAY_*)"
        let appID = try given.required("FISSION_ALIPAY_APP_ID", for: provider)
        let keyFile = try given.required("FISSION_ALIPAY_APP_PRIVATE_KEY_FILE", for: provider)
        let publicKeyFile = try given.required("FISSION_ALIPAY_PUBLIC_KEY_FILE", for: provider)
        return AlipaySettings(
            appID: appID,
            appKey: try loadKey("FISSION_ALIPAY_APP_PRIVATE_KEY_FILE", keyFile) { try PaymentKeyFile.privateKey(contentsOf: $0) },
            alipayPublicKey: try loadKey("FISSION_ALIPAY_PUBLIC_KEY_FILE", publicKeyFile) { try PaymentKeyFile.publicKey(contentsOf: $0) },
            sellerID: given.value("FISSION_ALIPAY_SELLER_ID"),
            gatewayURL: try given.url("FISSION_ALIPAY_GATEWAY") ?? defaultGateway,
            notifyURL: try given.url("FISSION_ALIPAY_NOTIFY_URL") ?? publicBaseURL + "/callbacks/alipay",
            returnURL: try given.url("FISSION_ALIPAY_RETURN_URL"),
            transferTitle: try transferTitle(given.value("FISSION_ALIPAY_TRANSFER_TITLE")))
    }

    private static func transferTitle(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.count <= 32, !text.contains(where: { "\"\\<>&".contains($0) }) else {
            throw ConfigError("FISSION_ALIPAY_TRANSFER_TITLE has at most 32 characters and no quotes, backslashes or <>&")
        }
        return text
    }
}

/// A key file named by `variable`, with the reason it could not be used in the message.
private func loadKey<T>(_ variable: String, _ path: String, _ read: (URL) throws -> T) throws -> T {
    do { return try read(URL(fileURLWithPath: path)) } catch let error as PaymentKeyError {
        throw ConfigError("\(variable): \(path) cannot be used (\(error.code))")
    }
}

/// One provider's variables, empty values counted as unset.
private struct ProviderVariables {
    let values: [String: String]

    init(_ env: [String: String], names: [String]) {
        var values: [String: String] = [:]
        for name in names {
            if let value = env[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { values[name] = value }
        }
        self.values = values
    }

    var any: Bool { !values.isEmpty }

    func value(_ name: String) -> String? { values[name] }

    /// Setting a provider halfway is refused: a mall that silently lacks a payment method is worse.
    func required(_ name: String, for provider: String) throws -> String {
        guard let value = values[name] else {
            throw ConfigError("\(provider) is configured halfway: \(name) is missing (set it, or unset \(values.keys.sorted().joined(separator: ", ")))")
        }
        return value
    }

    func url(_ name: String) throws -> String? {
        guard let value = values[name] else { return nil }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil else {
            throw ConfigError("\(name) must be an http(s) URL (it is \"\(value)\")")
        }
        // A bare origin is kept without its slash, so that paths append cleanly.
        return value.hasSuffix("/") && (url.path.isEmpty || url.path == "/") ? String(value.dropLast()) : value
    }
}
