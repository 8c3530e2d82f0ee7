import Foundation
import Crypto
import _CryptoExtras
import X509

/// Why a WeChat Pay signature could not be made or was refused.
///
/// `code` is stable for logs and metrics; `httpStatus` is what a receiver answers:
/// 400 for a request that is not even well-formed, 401 for one that fails authentication.
public enum WeChatPaySignatureError: Error, Equatable, Sendable {
    case missingHeader(String)
    case duplicateHeader(String)
    case malformedAuthorization
    case unsupportedSignatureType(String)
    case badTimestamp
    case staleTimestamp
    case unknownSerial(String)
    case wrongMerchant
    case malformedSignature
    case badSignature
    /// A value we were asked to sign would break the header format (quote, comma, control character).
    case invalidField(String)
    case signingFailed

    public var code: String {
        switch self {
        case .missingHeader: "missing_header"
        case .duplicateHeader: "duplicate_header"
        case .malformedAuthorization: "malformed_authorization"
        case .unsupportedSignatureType: "unsupported_signature_type"
        case .badTimestamp: "bad_timestamp"
        case .staleTimestamp: "stale_timestamp"
        case .unknownSerial: "unknown_serial"
        case .wrongMerchant: "wrong_merchant"
        case .malformedSignature: "malformed_signature"
        case .badSignature: "bad_signature"
        case .invalidField: "invalid_field"
        case .signingFailed: "signing_failed"
        }
    }

    public var httpStatus: Int {
        switch self {
        case .missingHeader, .duplicateHeader, .malformedAuthorization, .badTimestamp, .malformedSignature,
             .invalidField:
            400
        case .unsupportedSignatureType, .staleTimestamp, .unknownSerial, .wrongMerchant, .badSignature:
            401
        case .signingFailed:
            500
        }
    }
}

/// The texts WeChat Pay API v3 signs. Kept in one place so the signer and every verifier agree byte for byte.
public enum WeChatPayMessage {
    public static let schema = "WECHATPAY2-SHA256-RSA2048"
    /// Both sides refuse a timestamp further than this from their clock.
    public static let tolerance: TimeInterval = 300

    /// `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`, the text a merchant signs for each API request.
    public static func request(method: String, pathWithQuery: String, timestamp: String, nonce: String,
                               body: some DataProtocol) -> Data {
        var message = Data("\(method)\n\(pathWithQuery)\n\(timestamp)\n\(nonce)\n".utf8)
        message.append(contentsOf: body)
        message.append(0x0A)
        return message
    }

    /// `TIMESTAMP\nNONCE\nBODY\n` over the raw body bytes, the text WeChat Pay signs for callbacks and responses.
    /// The timestamp stays the string received: re-formatting it would sign something else.
    public static func callback(timestamp: String, nonce: String, body: some DataProtocol) -> Data {
        var message = Data("\(timestamp)\n\(nonce)\n".utf8)
        message.append(contentsOf: body)
        message.append(0x0A)
        return message
    }

    /// A decimal Unix-seconds timestamp: ASCII digits only, so "+5", " 5" and "5.0" are refused.
    static func parseTimestamp(_ text: String) throws(WeChatPaySignatureError) -> Int64 {
        guard (1...18).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int64(text) else { throw .badTimestamp }
        return value
    }

    /// Refuses a timestamp more than `tolerance` seconds from `now` either way, limiting replays.
    static func checkFresh(_ timestamp: Int64, now: Date, tolerance: TimeInterval) throws(WeChatPaySignatureError) {
        let delta = now.timeIntervalSince1970 - Double(timestamp)
        guard delta.isFinite, abs(delta) <= tolerance else { throw .staleTimestamp }
    }

    /// Values that go between quotes in the Authorization header: no quote, comma, backslash or control character.
    static func checkHeaderValue(_ value: String, name: String) throws(WeChatPaySignatureError) {
        guard !value.isEmpty, value.utf8.count <= 256,
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x2C && $0 != 0x5C }) else {
            throw .invalidField(name)
        }
    }
}

/// Makes nonces for request signatures. The generator is passed in so signing stays deterministic in tests.
public enum WeChatPayNonce {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// `length` characters from A-Z and 0-9 (WeChat's own examples use 32).
    public static func make<G: RandomNumberGenerator>(using generator: inout G, length: Int = 32) -> String {
        let count = max(1, min(length, 64))
        let bytes = (0..<count).map { _ in
            alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Signs our requests to WeChat Pay API v3 with the merchant API private key.
public struct WeChatPayRequestSigner: Sendable {
    public let merchantID: String
    /// Serial number of the merchant API certificate that matches `key`.
    public let serialNumber: String
    public let key: PaymentKeySigner

    public init(merchantID: String, serialNumber: String, key: PaymentKeySigner) {
        self.merchantID = merchantID
        self.serialNumber = serialNumber
        self.key = key
    }

    /// The `Authorization` header value for one request. `timestamp` and `nonce` come from the caller
    /// (clock and `WeChatPayNonce`) so this is a pure function.
    public func authorization(method: String, pathWithQuery: String, body: some DataProtocol,
                              timestamp: Int64, nonce: String) throws(WeChatPaySignatureError) -> String {
        try WeChatPayMessage.checkHeaderValue(merchantID, name: "mchid")
        try WeChatPayMessage.checkHeaderValue(serialNumber, name: "serial_no")
        try WeChatPayMessage.checkHeaderValue(nonce, name: "nonce_str")
        try WeChatPayMessage.checkHeaderValue(method, name: "method")
        guard timestamp >= 0 else { throw .invalidField("timestamp") }
        let message = WeChatPayMessage.request(method: method, pathWithQuery: pathWithQuery,
                                               timestamp: String(timestamp), nonce: nonce, body: body)
        let signature: String
        do { signature = try key.base64Signature(for: message) } catch { throw .signingFailed }
        return WeChatPayAuthorization(merchantID: merchantID, nonce: nonce, signature: signature,
                                      timestamp: String(timestamp), serialNumber: serialNumber).headerValue
    }
}

/// The fields of a `WECHATPAY2-SHA256-RSA2048` Authorization header.
public struct WeChatPayAuthorization: Equatable, Sendable {
    public let merchantID: String
    public let nonce: String
    public let signature: String
    public let timestamp: String
    public let serialNumber: String

    public init(merchantID: String, nonce: String, signature: String, timestamp: String, serialNumber: String) {
        self.merchantID = merchantID
        self.nonce = nonce
        self.signature = signature
        self.timestamp = timestamp
        self.serialNumber = serialNumber
    }

    /// The header value, fields in the order WeChat's documentation shows.
    public var headerValue: String {
        "\(WeChatPayMessage.schema) mchid=\"\(merchantID)\",nonce_str=\"\(nonce)\",signature=\"\(signature)\","
            + "timestamp=\"\(timestamp)\",serial_no=\"\(serialNumber)\""
    }

    /// Parses `SCHEMA k="v",k="v",...` in any field order. A repeated or missing field is refused,
    /// unknown fields are ignored.
    public static func parse(_ header: String) throws(WeChatPaySignatureError) -> WeChatPayAuthorization {
        guard header.utf8.count <= 4096 else { throw .malformedAuthorization }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else { throw .malformedAuthorization }
        let schema = String(trimmed[..<space])
        guard schema == WeChatPayMessage.schema else { throw .unsupportedSignatureType(schema) }
        let fields = try parseFields(trimmed[space...])
        func field(_ name: String) throws(WeChatPaySignatureError) -> String {
            guard let value = fields[name] else { throw .malformedAuthorization }
            return value
        }
        return WeChatPayAuthorization(merchantID: try field("mchid"), nonce: try field("nonce_str"),
                                      signature: try field("signature"), timestamp: try field("timestamp"),
                                      serialNumber: try field("serial_no"))
    }

    /// `k="v"` pairs separated by commas, optional spaces around them; values hold no quote.
    static func parseFields(_ text: Substring) throws(WeChatPaySignatureError) -> [String: String] {
        var fields: [String: String] = [:]
        var rest = text.drop(while: { $0 == " " })
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw .malformedAuthorization }
            let name = String(rest[..<equals]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
                throw .malformedAuthorization
            }
            var afterEquals = rest[equals...].dropFirst()
            guard afterEquals.first == "\"" else { throw .malformedAuthorization }
            afterEquals = afterEquals.dropFirst()
            guard let close = afterEquals.firstIndex(of: "\"") else { throw .malformedAuthorization }
            guard fields[name] == nil else { throw .malformedAuthorization }
            fields[name] = String(afterEquals[..<close])
            rest = afterEquals[close...].dropFirst().drop(while: { $0 == " " })
            if rest.isEmpty { break }
            guard rest.first == "," else { throw .malformedAuthorization }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            guard !rest.isEmpty else { throw .malformedAuthorization }
        }
        return fields
    }
}

/// What a fake WeChat Pay server uses to check a merchant's request signature,
/// with the merchant's public key (from its API certificate or key pair).
public struct WeChatPayRequestVerifier: Sendable {
    public let merchantID: String
    public let serialNumber: String
    public let merchantKey: PaymentKeyVerifier
    public let tolerance: TimeInterval

    public init(merchantID: String, serialNumber: String, merchantKey: PaymentKeyVerifier,
                tolerance: TimeInterval = WeChatPayMessage.tolerance) {
        self.merchantID = merchantID
        self.serialNumber = serialNumber
        self.merchantKey = merchantKey
        self.tolerance = tolerance
    }

    /// From the merchant API certificate (`apiclient_cert.pem`), whose serial our requests name.
    public init(merchantID: String, certificate: PaymentKeyCertificate,
                tolerance: TimeInterval = WeChatPayMessage.tolerance) {
        self.init(merchantID: merchantID, serialNumber: certificate.serialNumber, merchantKey: certificate.verifier,
                  tolerance: tolerance)
    }

    /// Checks one request. `authorization` is the header value or nil when absent; `now` is the caller's clock.
    public func verify(authorization: String?, method: String, pathWithQuery: String, body: some DataProtocol,
                       now: Date) throws(WeChatPaySignatureError) -> WeChatPayAuthorization {
        guard let authorization else { throw .missingHeader("Authorization") }
        let parsed = try WeChatPayAuthorization.parse(authorization)
        guard parsed.merchantID == merchantID else { throw .wrongMerchant }
        guard WeChatPaySerial.normalized(parsed.serialNumber) == WeChatPaySerial.normalized(serialNumber) else {
            throw .unknownSerial(parsed.serialNumber)
        }
        let timestamp = try WeChatPayMessage.parseTimestamp(parsed.timestamp)
        try WeChatPayMessage.checkFresh(timestamp, now: now, tolerance: tolerance)
        let message = WeChatPayMessage.request(method: method, pathWithQuery: pathWithQuery,
                                               timestamp: parsed.timestamp, nonce: parsed.nonce, body: body)
        switch merchantKey.check(base64Signature: parsed.signature, for: message) {
        case .valid: return parsed
        case .malformed: throw .malformedSignature
        case .invalid: throw .badSignature
        }
    }
}

/// HTTP headers as received, looked up case-insensitively (HTTP/2 lower-cases them, proxies may not).
public struct WeChatPayHeaders: Sendable, ExpressibleByDictionaryLiteral {
    public let pairs: [(String, String)]

    public init(_ pairs: [(String, String)]) { self.pairs = pairs }

    public init(_ dictionary: [String: String]) { self.pairs = dictionary.map { ($0.key, $0.value) } }

    public init(dictionaryLiteral elements: (String, String)...) { self.pairs = elements }

    /// Every value sent under `name`, whatever its case.
    public func values(named name: String) -> [String] {
        let wanted = name.lowercased()
        return pairs.filter { $0.0.lowercased() == wanted }.map(\.1)
    }

    /// The single value sent under `name`: absent and repeated are both refused, because a repeated
    /// signature header leaves open which one a proxy or framework would pick.
    func single(_ name: String) throws(WeChatPaySignatureError) -> String {
        let found = values(named: name)
        guard found.count <= 1 else { throw .duplicateHeader(name) }
        guard let value = found.first?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            throw .missingHeader(name)
        }
        return value
    }
}

/// Serial numbers compare the way WeChat's SDKs print them: hex serials case- and
/// leading-zero-insensitively (Java's BigInteger drops leading zeros, OpenSSL keeps whole bytes),
/// `PUB_KEY_ID_…` ids exactly.
enum WeChatPaySerial {
    static func normalized(_ serial: String) -> String {
        let isHex = !serial.isEmpty && serial.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        }
        guard isHex else { return serial }
        let digits = serial.uppercased().drop(while: { $0 == "0" })
        return digits.isEmpty ? "0" : String(digits)
    }
}

/// The keys WeChat Pay may sign callbacks and responses with, selected by `Wechatpay-Serial`.
///
/// Holds platform certificates (by certificate serial) and WeChat Pay public keys (by `PUB_KEY_ID_…`)
/// together: while a merchant switches from one to the other, WeChat signs with either at random.
public struct WeChatPayPlatformKeys: Sendable {
    private var keys: [String: PaymentKeyVerifier] = [:]

    public init() {}

    /// The serials and ids held, for start-up logs.
    public var serials: [String] { keys.keys.sorted() }

    public mutating func add(certificate: PaymentKeyCertificate) {
        keys[WeChatPaySerial.normalized(certificate.serialNumber)] = certificate.verifier
    }

    /// Adds a WeChat Pay public key under its id, which must look like `PUB_KEY_ID_…`.
    public mutating func add(publicKeyID: String, key: PaymentKeyVerifier) throws(WeChatPaySignatureError) {
        guard publicKeyID.hasPrefix("PUB_KEY_ID_"), publicKeyID.utf8.count > 11 else {
            throw .invalidField("publicKeyID")
        }
        keys[publicKeyID] = key
    }

    /// Loads a platform certificate PEM; returns its serial number.
    @discardableResult
    public mutating func addCertificate(pem: String) throws(PaymentKeyError) -> String {
        let certificate = try PaymentKeyFile.certificate(pem: pem)
        add(certificate: certificate)
        return certificate.serialNumber
    }

    public func verifier(forSerial serial: String) -> PaymentKeyVerifier? {
        keys[WeChatPaySerial.normalized(serial)]
    }

    /// Encrypts a sensitive request field (a payee's name) the way WeChat Pay reads it: RSA-OAEP
    /// (SHA-1, MGF1) with its public key, preferred, or else a platform certificate's key; the
    /// serial goes into the request's `Wechatpay-Serial` header.
    public func encryptField(_ plaintext: String) throws(PaymentKeyError) -> (serial: String, ciphertext: String) {
        let serials = serials
        guard let serial = serials.first(where: { $0.hasPrefix("PUB_KEY_ID_") }) ?? serials.last, let verifier = keys[serial] else {
            throw .notRSA
        }
        do {
            let key = try _RSA.Encryption.PublicKey(derRepresentation: verifier.key.derRepresentation)
            return (serial, try key.encrypt(Data(plaintext.utf8), padding: .PKCS1_OAEP).base64EncodedString())
        } catch {
            throw .signingFailed
        }
    }
}

/// The checked values of a signed callback or response.
public struct WeChatPaySignedHeaders: Equatable, Sendable {
    public let timestamp: Int64
    public let nonce: String
    public let serial: String
}

/// Checks WeChat Pay's signature on a callback (notification) or an API response.
///
/// Works on the raw body bytes exactly as received: any re-encoding (key order, whitespace,
/// escaping) changes the signed text. Signature-probe traffic (`WECHATPAY/SIGNTEST/…`) is refused
/// like any other bad signature, as WeChat expects.
public struct WeChatPaySignatureVerifier: Sendable {
    public let keys: WeChatPayPlatformKeys
    public let tolerance: TimeInterval

    public init(keys: WeChatPayPlatformKeys, tolerance: TimeInterval = WeChatPayMessage.tolerance) {
        self.keys = keys
        self.tolerance = tolerance
    }

    /// Verifies `body` against the `Wechatpay-*` headers. `now` is the caller's clock.
    public func verify(headers: WeChatPayHeaders, body: some DataProtocol,
                       now: Date) throws(WeChatPaySignatureError) -> WeChatPaySignedHeaders {
        let timestampText = try headers.single("Wechatpay-Timestamp")
        let nonce = try headers.single("Wechatpay-Nonce")
        let signature = try headers.single("Wechatpay-Signature")
        let serial = try headers.single("Wechatpay-Serial")
        try checkSignatureType(headers)
        let timestamp = try WeChatPayMessage.parseTimestamp(timestampText)
        try WeChatPayMessage.checkFresh(timestamp, now: now, tolerance: tolerance)
        guard let key = keys.verifier(forSerial: serial) else { throw .unknownSerial(serial) }
        let message = WeChatPayMessage.callback(timestamp: timestampText, nonce: nonce, body: body)
        switch key.check(base64Signature: signature, for: message) {
        case .valid: return WeChatPaySignedHeaders(timestamp: timestamp, nonce: nonce, serial: serial)
        case .malformed: throw .malformedSignature
        case .invalid: throw .badSignature
        }
    }

    /// `Wechatpay-Signature-Type` is optional; when present it must name the one scheme we verify.
    private func checkSignatureType(_ headers: WeChatPayHeaders) throws(WeChatPaySignatureError) {
        let types = headers.values(named: "Wechatpay-Signature-Type")
        guard types.count <= 1 else { throw .duplicateHeader("Wechatpay-Signature-Type") }
        if let type = types.first?.trimmingCharacters(in: .whitespaces), type != WeChatPayMessage.schema {
            throw .unsupportedSignatureType(type)
        }
    }
}

/// What a fake WeChat Pay server uses to sign callbacks and responses with a platform private key.
public struct WeChatPayPlatformSigner: Sendable {
    /// A platform certificate serial or a `PUB_KEY_ID_…` id.
    public let serial: String
    public let key: PaymentKeySigner

    public init(serial: String, key: PaymentKeySigner) {
        self.serial = serial
        self.key = key
    }

    /// The `Wechatpay-*` headers for `body`, which must then be sent byte for byte as signed.
    public func headers(body: some DataProtocol, timestamp: Int64,
                        nonce: String) throws(WeChatPaySignatureError) -> [(String, String)] {
        try WeChatPayMessage.checkHeaderValue(nonce, name: "nonce")
        try WeChatPayMessage.checkHeaderValue(serial, name: "serial")
        guard timestamp >= 0 else { throw .invalidField("timestamp") }
        let message = WeChatPayMessage.callback(timestamp: String(timestamp), nonce: nonce, body: body)
        let signature: String
        do { signature = try key.base64Signature(for: message) } catch { throw .signingFailed }
        return [
            ("Wechatpay-Timestamp", String(timestamp)),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Serial", serial),
            ("Wechatpay-Signature-Type", WeChatPayMessage.schema),
        ]
    }
}
