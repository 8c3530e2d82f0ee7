import Foundation
import Crypto

/// Why an encrypted WeChat Pay notification resource could not be opened (or, for the fake, sealed).
public enum WeChatPayResourceError: Error, Equatable, Sendable {
    /// Not `AEAD_AES_256_GCM`, the only algorithm API v3 uses.
    case unsupportedAlgorithm(String)
    /// The API v3 key is not exactly 32 bytes.
    case badKeyLength(Int)
    /// The nonce is not exactly 12 bytes.
    case badNonce
    /// `ciphertext` is not base64 or shorter than the 16-byte tag.
    case malformedCiphertext
    /// Authentication failed: wrong key, or ciphertext, tag, nonce or associated data altered.
    case decryptionFailed
    /// The envelope or the decrypted JSON does not have the expected shape.
    case malformedPayload
    case encryptionFailed

    public var code: String {
        switch self {
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .badKeyLength: "bad_key_length"
        case .badNonce: "bad_nonce"
        case .malformedCiphertext: "malformed_ciphertext"
        case .decryptionFailed: "decryption_failed"
        case .malformedPayload: "malformed_payload"
        case .encryptionFailed: "encryption_failed"
        }
    }
}

/// The merchant's API v3 key: a 32-character string set in the merchant console, used as its UTF-8 bytes.
public struct WeChatPayAPIv3Key: Sendable {
    let key: SymmetricKey

    public init(_ text: String) throws(WeChatPayResourceError) {
        let bytes = Data(text.utf8)
        guard bytes.count == 32 else { throw .badKeyLength(bytes.count) }
        self.key = SymmetricKey(data: bytes)
    }
}

/// The `resource` object of a notification: AES-256-GCM ciphertext with its tag appended.
public struct WeChatPayEncryptedResource: Codable, Equatable, Sendable {
    public var algorithm: String
    /// base64 of ciphertext ‖ 16-byte tag.
    public var ciphertext: String
    /// 12 characters, used as their UTF-8 bytes.
    public var nonce: String
    /// UTF-8 text authenticated with the ciphertext; WeChat sends e.g. "transaction", may be empty or absent.
    public var associatedData: String?
    public var originalType: String?

    public init(algorithm: String, ciphertext: String, nonce: String, associatedData: String?, originalType: String?) {
        self.algorithm = algorithm
        self.ciphertext = ciphertext
        self.nonce = nonce
        self.associatedData = associatedData
        self.originalType = originalType
    }

    enum CodingKeys: String, CodingKey {
        case algorithm, ciphertext, nonce
        case associatedData = "associated_data"
        case originalType = "original_type"
    }
}

/// The notification envelope WeChat Pay posts to our notify URL.
public struct WeChatPayNotification: Codable, Equatable, Sendable {
    public var id: String
    public var createTime: String
    /// e.g. `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    public var eventType: String
    /// `encrypt-resource`.
    public var resourceType: String
    public var resource: WeChatPayEncryptedResource
    public var summary: String?

    public init(id: String, createTime: String, eventType: String, resourceType: String,
                resource: WeChatPayEncryptedResource, summary: String?) {
        self.id = id
        self.createTime = createTime
        self.eventType = eventType
        self.resourceType = resourceType
        self.resource = resource
        self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case id, resource, summary
        case createTime = "create_time"
        case eventType = "event_type"
        case resourceType = "resource_type"
    }

    /// Decodes the envelope from a body whose signature was already verified.
    public static func decode(from body: Data) throws(WeChatPayResourceError) -> WeChatPayNotification {
        try WeChatPayJSON.decode(WeChatPayNotification.self, from: body)
    }

    /// Opens the resource and decodes it as `T` (a transaction or refund).
    public func decryptResource<T: Decodable>(as type: T.Type,
                                              key: WeChatPayAPIv3Key) throws(WeChatPayResourceError) -> T {
        try WeChatPayJSON.decode(type, from: WeChatPayResourceCipher.decrypt(resource, key: key))
    }
}

/// The decrypted resource of a `TRANSACTION.*` notification (also the shape of an order query answer).
public struct WeChatPayTransaction: Codable, Equatable, Sendable {
    public struct Amount: Codable, Equatable, Sendable {
        /// Order amount in fen.
        public var total: Int64
        /// What the payer paid in fen, after coupons.
        public var payerTotal: Int64?
        public var currency: String
        public var payerCurrency: String?

        public init(total: Int64, payerTotal: Int64?, currency: String, payerCurrency: String?) {
            self.total = total
            self.payerTotal = payerTotal
            self.currency = currency
            self.payerCurrency = payerCurrency
        }

        enum CodingKeys: String, CodingKey {
            case total, currency
            case payerTotal = "payer_total"
            case payerCurrency = "payer_currency"
        }

        /// Refuses negative amounts: a signed message with one is still not a payment we can book.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            total = try WeChatPayJSON.nonNegative(c.decode(Int64.self, forKey: .total), key: CodingKeys.total, in: c)
            payerTotal = try c.decodeIfPresent(Int64.self, forKey: .payerTotal)
            if let payerTotal { _ = try WeChatPayJSON.nonNegative(payerTotal, key: CodingKeys.payerTotal, in: c) }
            currency = try c.decode(String.self, forKey: .currency)
            payerCurrency = try c.decodeIfPresent(String.self, forKey: .payerCurrency)
        }
    }

    public struct Payer: Codable, Equatable, Sendable {
        public var openid: String
        public init(openid: String) { self.openid = openid }
    }

    public var appid: String
    public var mchid: String
    public var outTradeNo: String
    /// Absent while the order is unpaid (query answers); present in success notifications.
    public var transactionID: String?
    public var tradeType: String?
    /// e.g. `SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, `REVOKED`, `USERPAYING`, `PAYERROR`.
    public var tradeState: String
    public var tradeStateDesc: String?
    public var bankType: String?
    public var attach: String?
    /// RFC 3339 with offset, e.g. `2018-06-08T10:34:56+08:00`.
    public var successTime: String?
    public var payer: Payer?
    public var amount: Amount

    public init(appid: String, mchid: String, outTradeNo: String, transactionID: String?, tradeType: String?,
                tradeState: String, tradeStateDesc: String?, bankType: String?, attach: String?,
                successTime: String?, payer: Payer?, amount: Amount) {
        self.appid = appid
        self.mchid = mchid
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.tradeType = tradeType
        self.tradeState = tradeState
        self.tradeStateDesc = tradeStateDesc
        self.bankType = bankType
        self.attach = attach
        self.successTime = successTime
        self.payer = payer
        self.amount = amount
    }

    enum CodingKeys: String, CodingKey {
        case appid, mchid, attach, payer, amount
        case outTradeNo = "out_trade_no"
        case transactionID = "transaction_id"
        case tradeType = "trade_type"
        case tradeState = "trade_state"
        case tradeStateDesc = "trade_state_desc"
        case bankType = "bank_type"
        case successTime = "success_time"
    }
}

/// The decrypted resource of a `REFUND.*` notification.
public struct WeChatPayRefundNotice: Codable, Equatable, Sendable {
    public struct Amount: Codable, Equatable, Sendable {
        /// Original order amount in fen.
        public var total: Int64
        /// Refunded amount in fen.
        public var refund: Int64
        public var payerTotal: Int64?
        public var payerRefund: Int64?

        public init(total: Int64, refund: Int64, payerTotal: Int64?, payerRefund: Int64?) {
            self.total = total
            self.refund = refund
            self.payerTotal = payerTotal
            self.payerRefund = payerRefund
        }

        enum CodingKeys: String, CodingKey {
            case total, refund
            case payerTotal = "payer_total"
            case payerRefund = "payer_refund"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            total = try WeChatPayJSON.nonNegative(c.decode(Int64.self, forKey: .total), key: CodingKeys.total, in: c)
            refund = try WeChatPayJSON.nonNegative(c.decode(Int64.self, forKey: .refund), key: CodingKeys.refund, in: c)
            payerTotal = try c.decodeIfPresent(Int64.self, forKey: .payerTotal)
            payerRefund = try c.decodeIfPresent(Int64.self, forKey: .payerRefund)
            if let payerTotal { _ = try WeChatPayJSON.nonNegative(payerTotal, key: CodingKeys.payerTotal, in: c) }
            if let payerRefund { _ = try WeChatPayJSON.nonNegative(payerRefund, key: CodingKeys.payerRefund, in: c) }
        }
    }

    public var mchid: String
    public var outTradeNo: String
    public var transactionID: String
    public var outRefundNo: String
    public var refundID: String
    /// `SUCCESS`, `CLOSED` or `ABNORMAL`.
    public var refundStatus: String
    public var successTime: String?
    public var userReceivedAccount: String?
    public var amount: Amount

    public init(mchid: String, outTradeNo: String, transactionID: String, outRefundNo: String, refundID: String,
                refundStatus: String, successTime: String?, userReceivedAccount: String?, amount: Amount) {
        self.mchid = mchid
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.outRefundNo = outRefundNo
        self.refundID = refundID
        self.refundStatus = refundStatus
        self.successTime = successTime
        self.userReceivedAccount = userReceivedAccount
        self.amount = amount
    }

    enum CodingKeys: String, CodingKey {
        case mchid, amount
        case outTradeNo = "out_trade_no"
        case transactionID = "transaction_id"
        case outRefundNo = "out_refund_no"
        case refundID = "refund_id"
        case refundStatus = "refund_status"
        case successTime = "success_time"
        case userReceivedAccount = "user_received_account"
    }
}

/// AEAD_AES_256_GCM as API v3 uses it for notification resources (and the fake uses it to make them).
public enum WeChatPayResourceCipher {
    public static let algorithm = "AEAD_AES_256_GCM"
    static let tagLength = 16
    static let nonceLength = 12

    /// The plaintext bytes of `resource`; every alteration is refused by the GCM tag.
    public static func decrypt(_ resource: WeChatPayEncryptedResource,
                               key: WeChatPayAPIv3Key) throws(WeChatPayResourceError) -> Data {
        guard resource.algorithm == algorithm else { throw .unsupportedAlgorithm(resource.algorithm) }
        let nonce = try makeNonce(resource.nonce)
        guard let combined = PaymentKeyBase64.decode(resource.ciphertext) else { throw .malformedCiphertext }
        guard combined.count >= tagLength else { throw .malformedCiphertext }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: combined.dropLast(tagLength),
                                        tag: combined.suffix(tagLength))
        } catch {
            throw .malformedCiphertext
        }
        do {
            return try AES.GCM.open(box, using: key.key, authenticating: Data((resource.associatedData ?? "").utf8))
        } catch {
            throw .decryptionFailed
        }
    }

    /// Seals `plaintext` the way WeChat Pay does; `nonce` (12 characters) comes from the caller.
    public static func encrypt(_ plaintext: some DataProtocol, key: WeChatPayAPIv3Key, nonce: String,
                               associatedData: String?,
                               originalType: String?) throws(WeChatPayResourceError) -> WeChatPayEncryptedResource {
        let gcmNonce = try makeNonce(nonce)
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(plaintext, using: key.key, nonce: gcmNonce,
                                   authenticating: Data((associatedData ?? "").utf8))
        } catch {
            throw .encryptionFailed
        }
        var combined = Data(box.ciphertext)
        combined.append(contentsOf: box.tag)
        return WeChatPayEncryptedResource(algorithm: algorithm, ciphertext: combined.base64EncodedString(),
                                          nonce: nonce, associatedData: associatedData, originalType: originalType)
    }

    static func makeNonce(_ text: String) throws(WeChatPayResourceError) -> AES.GCM.Nonce {
        let bytes = Data(text.utf8)
        guard bytes.count == nonceLength else { throw .badNonce }
        do { return try AES.GCM.Nonce(data: bytes) } catch { throw .badNonce }
    }
}

/// JSON decoding with every failure reported as `malformedPayload`.
enum WeChatPayJSON {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(WeChatPayResourceError) -> T {
        do { return try JSONDecoder().decode(type, from: data) } catch { throw .malformedPayload }
    }

    static func nonNegative<K: CodingKey>(_ value: Int64, key: K,
                                          in container: KeyedDecodingContainer<K>) throws -> Int64 {
        guard value >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "negative amount")
        }
        return value
    }
}
