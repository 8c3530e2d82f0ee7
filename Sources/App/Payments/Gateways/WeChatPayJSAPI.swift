import Foundation

/// The parameters a WeChat in-app browser page passes to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`
/// (or `wx.requestPayment`), signed with the merchant API key so the client cannot alter the prepay order.
public struct WeChatPayJSAPIParameters: Codable, Equatable, Sendable {
    public var appId: String
    /// Unix seconds as a decimal string, as the JS API expects.
    public var timeStamp: String
    public var nonceStr: String
    /// `prepay_id=…`.
    public var package: String
    public var signType: String
    public var paySign: String

    public init(appId: String, timeStamp: String, nonceStr: String, package: String, signType: String,
                paySign: String) {
        self.appId = appId
        self.timeStamp = timeStamp
        self.nonceStr = nonceStr
        self.package = package
        self.signType = signType
        self.paySign = paySign
    }

    /// The keys exactly as the page passes them on.
    public var dictionary: [String: String] {
        ["appId": appId, "timeStamp": timeStamp, "nonceStr": nonceStr, "package": package,
         "signType": signType, "paySign": paySign]
    }
}

public enum WeChatPayJSAPI {
    /// The signed text: `appId\ntimeStamp\nnonceStr\npackage\n`.
    public static func message(appId: String, timeStamp: String, nonceStr: String, package: String) -> Data {
        Data("\(appId)\n\(timeStamp)\n\(nonceStr)\n\(package)\n".utf8)
    }

    /// Signs a prepay id for the front end. `timestamp` and `nonce` come from the caller.
    public static func payParameters(appId: String, prepayID: String, timestamp: Int64, nonce: String,
                                     key: PaymentKeySigner) throws(WeChatPaySignatureError) -> WeChatPayJSAPIParameters {
        try WeChatPayMessage.checkHeaderValue(appId, name: "appId")
        try WeChatPayMessage.checkHeaderValue(prepayID, name: "prepay_id")
        try WeChatPayMessage.checkHeaderValue(nonce, name: "nonceStr")
        guard timestamp >= 0 else { throw .invalidField("timeStamp") }
        let package = "prepay_id=" + prepayID
        let timeStamp = String(timestamp)
        let signature: String
        do {
            signature = try key.base64Signature(for: message(appId: appId, timeStamp: timeStamp,
                                                             nonceStr: nonce, package: package))
        } catch {
            throw .signingFailed
        }
        return WeChatPayJSAPIParameters(appId: appId, timeStamp: timeStamp, nonceStr: nonce, package: package,
                                        signType: "RSA", paySign: signature)
    }

    /// What a fake WeChat client checks before "paying": the paySign matches the merchant key.
    public static func verify(_ parameters: WeChatPayJSAPIParameters,
                              merchantKey: PaymentKeyVerifier) throws(WeChatPaySignatureError) {
        guard parameters.signType == "RSA" else { throw .unsupportedSignatureType(parameters.signType) }
        let text = message(appId: parameters.appId, timeStamp: parameters.timeStamp,
                           nonceStr: parameters.nonceStr, package: parameters.package)
        switch merchantKey.check(base64Signature: parameters.paySign, for: text) {
        case .valid: return
        case .malformed: throw .malformedSignature
        case .invalid: throw .badSignature
        }
    }
}
