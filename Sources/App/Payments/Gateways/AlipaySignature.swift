import Foundation

/// Why an Alipay RSA2 signature could not be made or was refused.
public enum AlipaySignatureError: Error, Equatable, Sendable {
    /// Not a well-formed `application/x-www-form-urlencoded` UTF-8 body.
    case malformedBody
    case duplicateParameter(String)
    case missingSign
    case malformedSignature
    case badSignature
    /// Only RSA2 (SHA256withRSA) is accepted; RSA (SHA1) is refused.
    case unsupportedSignType(String)
    /// Only UTF-8; another charset would make us verify different text than Alipay signed.
    case unsupportedCharset(String)
    case wrongAppID
    case missingField(String)
    /// An amount that is not a plain non-negative yuan decimal with at most two places.
    case invalidAmount(String)
    case signingFailed

    public var code: String {
        switch self {
        case .malformedBody: "malformed_body"
        case .duplicateParameter: "duplicate_parameter"
        case .missingSign: "missing_sign"
        case .malformedSignature: "malformed_signature"
        case .badSignature: "bad_signature"
        case .unsupportedSignType: "unsupported_sign_type"
        case .unsupportedCharset: "unsupported_charset"
        case .wrongAppID: "wrong_app_id"
        case .missingField: "missing_field"
        case .invalidAmount: "invalid_amount"
        case .signingFailed: "signing_failed"
        }
    }

    public var httpStatus: Int {
        switch self {
        case .malformedBody, .duplicateParameter, .missingSign, .malformedSignature, .unsupportedCharset,
             .missingField, .invalidAmount:
            400
        case .badSignature, .unsupportedSignType, .wrongAppID:
            401
        case .signingFailed:
            500
        }
    }
}

/// `application/x-www-form-urlencoded` as Alipay sends and receives it (UTF-8).
public enum AlipayForm {
    static let maximumBodyBytes = 1_048_576
    static let maximumParameters = 512

    /// Decodes a body: `+` is a space, `%XX` are bytes of UTF-8 text, empty pieces between `&` are skipped,
    /// a name without `=` has an empty value. Repeated names are refused rather than guessed.
    public static func decode(_ body: some DataProtocol) throws(AlipaySignatureError) -> [String: String] {
        guard body.count <= maximumBodyBytes else { throw .malformedBody }
        var parameters: [String: String] = [:]
        for piece in Array(body).split(separator: 0x26, omittingEmptySubsequences: true) {
            let (rawName, rawValue) = splitPair(piece)
            let name = try percentDecode(rawName)
            let value = try percentDecode(rawValue)
            guard !name.isEmpty else { throw .malformedBody }
            guard parameters[name] == nil else { throw .duplicateParameter(name) }
            parameters[name] = value
            guard parameters.count <= maximumParameters else { throw .malformedBody }
        }
        return parameters
    }

    /// Encodes parameters sorted by name, everything but `A-Z a-z 0-9 - . _ ~` percent-encoded.
    public static func encode(_ parameters: [String: String]) -> String {
        AlipaySignature.sortedByBytes(parameters).map { name, value in
            percentEncode(name) + "=" + percentEncode(value)
        }.joined(separator: "&")
    }

    static func splitPair(_ piece: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        guard let equals = piece.firstIndex(of: 0x3D) else { return (piece, []) }
        return (piece[piece.startIndex..<equals], piece[piece.index(after: equals)...])
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(AlipaySignatureError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == 0x2B {
                output.append(0x20)
            } else if byte == 0x25 {
                guard bytes.distance(from: index, to: bytes.endIndex) >= 3,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw .malformedBody
                }
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        guard let text = String(bytes: output, encoding: .utf8) else { throw .malformedBody }
        return text
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E:
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += byte < 0x10 ? "%0" + hex : "%" + hex
            }
        }
        return output
    }
}

/// Alipay's RSA2 signing rules: the sorted `k=v&k=v` text with raw (decoded) values, SHA256withRSA, base64.
public enum AlipaySignature {
    public static let signType = "RSA2"

    /// Parameters sorted by the bytes of their names (what Alipay's "ASCII order" means).
    static func sortedByBytes(_ parameters: [String: String]) -> [(String, String)] {
        parameters.map { ($0.key, $0.value) }.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
    }

    static func join(_ pairs: [(String, String)]) -> String {
        pairs.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// Request signing text: every non-empty parameter except `sign` (`sign_type` is included).
    public static func requestContent(_ parameters: [String: String]) -> String {
        join(sortedByBytes(parameters.filter { $0.key != "sign" && !$0.value.isEmpty }))
    }

    /// Notification signing text: every received parameter except `sign` and `sign_type`, empty values included,
    /// as Alipay's published rule and its SDK's check do.
    public static func notificationContent(_ parameters: [String: String]) -> String {
        join(sortedByBytes(parameters.filter { $0.key != "sign" && $0.key != "sign_type" }))
    }

    /// Adds `sign` to our request parameters. `sign_type` must already be RSA2 (it is part of the signed text).
    public static func signRequest(_ parameters: [String: String],
                                   key: PaymentKeySigner) throws(AlipaySignatureError) -> [String: String] {
        guard parameters["sign_type"] == signType else {
            throw .unsupportedSignType(parameters["sign_type"] ?? "")
        }
        var signed = parameters
        signed["sign"] = try sign(requestContent(parameters), key: key)
        return signed
    }

    /// What a fake Alipay gateway uses to check our request with our application public key.
    public static func verifyRequest(_ parameters: [String: String],
                                     appPublicKey: PaymentKeyVerifier) throws(AlipaySignatureError) {
        guard let sign = parameters["sign"], !sign.isEmpty else { throw .missingSign }
        guard parameters["sign_type"] == signType else { throw .unsupportedSignType(parameters["sign_type"] ?? "") }
        try checkCharset(parameters)
        try verify(sign, content: requestContent(parameters), key: appPublicKey)
    }

    /// What a fake Alipay uses to make a notification body: adds `sign_type=RSA2` and `sign`, form-encodes.
    public static func signNotification(_ parameters: [String: String],
                                        alipayKey: PaymentKeySigner) throws(AlipaySignatureError) -> String {
        var signed = parameters
        signed["sign_type"] = signType
        signed["sign"] = try sign(notificationContent(signed), key: alipayKey)
        return AlipayForm.encode(signed)
    }

    static func sign(_ content: String, key: PaymentKeySigner) throws(AlipaySignatureError) -> String {
        do { return try key.base64Signature(for: Data(content.utf8)) } catch { throw .signingFailed }
    }

    static func verify(_ sign: String, content: String, key: PaymentKeyVerifier) throws(AlipaySignatureError) {
        switch key.check(base64Signature: sign, for: Data(content.utf8)) {
        case .valid: return
        case .malformed: throw .malformedSignature
        case .invalid: throw .badSignature
        }
    }

    /// `charset` is optional; when present it must be UTF-8, the only encoding we decode.
    static func checkCharset(_ parameters: [String: String]) throws(AlipaySignatureError) {
        if let charset = parameters["charset"], charset.lowercased() != "utf-8" {
            throw .unsupportedCharset(charset)
        }
    }
}

/// Exact yuan-to-fen conversion for Alipay's decimal amount strings, with no floating point anywhere.
public enum AlipayAmount {
    /// "88.88" → 8888, "88.8" → 8880, "88" → 8800, "0.01" → 1. Refused: "88.888", "-1", "+1", "1e2",
    /// "088", ".5", "5.", "1,000", " 1", "" and anything above 10^12 yuan.
    public static func fen(fromYuan text: String) throws(AlipaySignatureError) -> Int64 {
        let bytes = Array(text.utf8)
        let parts = bytes.split(separator: 0x2E, maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, (1...12).contains(whole.count), whole.allSatisfy(isDigit),
              whole.count == 1 || whole.first != 0x30 else { throw .invalidAmount(text) }
        var fraction: ArraySlice<UInt8> = []
        if parts.count == 2 {
            fraction = parts[1]
            guard (1...2).contains(fraction.count), fraction.allSatisfy(isDigit) else { throw .invalidAmount(text) }
        }
        let yuan = whole.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        var cents = fraction.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        if fraction.count == 1 { cents *= 10 }
        return yuan * 100 + cents
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Fen back to Alipay's "88.88" form, for our requests and the fake's notifications.
    public static func yuan(fromFen fen: Int64) throws(AlipaySignatureError) -> String {
        guard fen >= 0 else { throw .invalidAmount(String(fen)) }
        let cents = fen % 100
        return "\(fen / 100)." + (cents < 10 ? "0\(cents)" : "\(cents)")
    }
}

/// A verified Alipay asynchronous notification (trade status sync).
public struct AlipayNotification: Equatable, Sendable {
    public let appID: String
    public let outTradeNo: String
    public let tradeNo: String
    /// `WAIT_BUYER_PAY`, `TRADE_SUCCESS`, `TRADE_FINISHED` or `TRADE_CLOSED`.
    public let tradeStatus: String
    public let totalAmountFen: Int64
    public let receiptAmountFen: Int64?
    public let buyerPayAmountFen: Int64?
    public let refundFeeFen: Int64?
    public let sellerID: String?
    public let buyerID: String?
    public let notifyID: String?
    public let notifyTime: String?
    /// `yyyy-MM-dd HH:mm:ss` in Beijing time, absent before payment.
    public let gmtPayment: String?
    /// Every received parameter, decoded, for logging and fields not modelled here.
    public let parameters: [String: String]

    /// Reads the fields from verified parameters; required ones missing and malformed amounts are refused.
    init(parameters p: [String: String]) throws(AlipaySignatureError) {
        func required(_ name: String) throws(AlipaySignatureError) -> String {
            guard let value = p[name], !value.isEmpty else { throw .missingField(name) }
            return value
        }
        func amount(_ name: String) throws(AlipaySignatureError) -> Int64? {
            guard let value = p[name], !value.isEmpty else { return nil }
            return try AlipayAmount.fen(fromYuan: value)
        }
        appID = try required("app_id")
        outTradeNo = try required("out_trade_no")
        tradeNo = try required("trade_no")
        tradeStatus = try required("trade_status")
        totalAmountFen = try AlipayAmount.fen(fromYuan: required("total_amount"))
        receiptAmountFen = try amount("receipt_amount")
        buyerPayAmountFen = try amount("buyer_pay_amount")
        refundFeeFen = try amount("refund_fee")
        sellerID = p["seller_id"]
        buyerID = p["buyer_id"] ?? p["buyer_open_id"]
        notifyID = p["notify_id"]
        notifyTime = p["notify_time"]
        gmtPayment = p["gmt_payment"]
        parameters = p
    }
}

/// Checks Alipay's asynchronous notifications with the Alipay public key (public-key mode).
public struct AlipayNotificationVerifier: Sendable {
    public let appID: String
    public let alipayPublicKey: PaymentKeyVerifier

    public init(appID: String, alipayPublicKey: PaymentKeyVerifier) {
        self.appID = appID
        self.alipayPublicKey = alipayPublicKey
    }

    /// Verifies the raw form body and returns the notification. The signature is checked before any
    /// field is trusted; `app_id` after, so a valid notice for another application of ours is refused too.
    public func verify(body: some DataProtocol) throws(AlipaySignatureError) -> AlipayNotification {
        let parameters = try AlipayForm.decode(body)
        guard let sign = parameters["sign"], !sign.isEmpty else { throw .missingSign }
        if let type = parameters["sign_type"], type != AlipaySignature.signType { throw .unsupportedSignType(type) }
        try AlipaySignature.checkCharset(parameters)
        try AlipaySignature.verify(sign, content: AlipaySignature.notificationContent(parameters),
                                   key: alipayPublicKey)
        guard parameters["app_id"] == appID else { throw .wrongAppID }
        return try AlipayNotification(parameters: parameters)
    }
}
