@testable import App
import Crypto
import Foundation
import Testing
import X509
import _CryptoExtras

// MARK: - Test keys

/// Fresh RSA keys and self-signed certificates made for this run, so no test depends on a key from elsewhere.
/// Generated once per process (key generation is slow) and shared by the tests.
enum PaymentTestKeys {
    static let merchant = make()
    static let platformCertificateKey = make()
    static let platformPublicKey = make()
    static let alipay = make()
    static let app = make()
    static let stranger = make()

    /// Serial of the self-signed platform certificate; its first byte has the high bit set, so DER pads it with 00.
    static let platformSerialBytes: [UInt8] = [0x9A, 0x0B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81, 0x92, 0xA3,
                                               0xB4, 0xC5, 0xD6, 0xE7, 0xF8, 0x09, 0x1A, 0x2B, 0x3C, 0x4D]
    static let platformSerial = "9A0B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D"
    static let publicKeyID = "PUB_KEY_ID_0114232806842025030700000000000000"
    static let platformCertificatePEM = certificatePEM(key: platformCertificateKey, serial: platformSerialBytes)

    static func make() -> _RSA.Signing.PrivateKey {
        do {
            return try _RSA.Signing.PrivateKey(keySize: .bits2048)
        } catch {
            fatalError("RSA key generation failed: \(error)")
        }
    }

    static func certificatePEM(key: _RSA.Signing.PrivateKey, serial: [UInt8]) -> String {
        do {
            let name = try DistinguishedName {
                CountryName("CN")
                OrganizationName("Tenpay.com")
                CommonName("Tenpay.com Root CA")
            }
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial),
                publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: start, notValidAfter: start + 5 * 365 * 86_400,
                issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: Certificate.Extensions(), issuerPrivateKey: Certificate.PrivateKey(key))
            return try certificate.serializeAsPEM().pemString
        } catch {
            fatalError("certificate creation failed: \(error)")
        }
    }

    static func signer(_ key: _RSA.Signing.PrivateKey) -> PaymentKeySigner { PaymentKeySigner(key) }
    static func verifier(_ key: _RSA.Signing.PrivateKey) -> PaymentKeyVerifier { PaymentKeyVerifier(key.publicKey) }
}

/// A deterministic generator (SplitMix64) so nonce tests repeat exactly.
struct PaymentTestGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func expectPaymentError<E: Error & Equatable>(_ expected: E, sourceLocation: SourceLocation = #_sourceLocation,
                                        _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), nothing thrown", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

// MARK: - Key files

@Suite struct PaymentKeyFileTests {
    @Test func readsPKCS8AndPKCS1PrivateKeysAndBothPublicKeyForms() throws {
        let key = PaymentTestKeys.merchant
        let pkcs8 = try PaymentKeyFile.privateKey(pem: key.pkcs8PEMRepresentation)
        let pkcs1 = try PaymentKeyFile.privateKey(pem: key.pemRepresentation)
        #expect(key.pkcs8PEMRepresentation.contains("BEGIN PRIVATE KEY"))
        #expect(key.pemRepresentation.contains("BEGIN RSA PRIVATE KEY"))
        let spki = try PaymentKeyFile.publicKey(pem: key.publicKey.pemRepresentation)
        let pkcs1Public = try PaymentKeyFile.publicKey(pem: key.publicKey.pkcs1PEMRepresentation)
        let message = Data("hello".utf8)
        for signer in [pkcs8, pkcs1] {
            let signature = try signer.base64Signature(for: message)
            #expect(spki.check(base64Signature: signature, for: message) == .valid)
            #expect(pkcs1Public.check(base64Signature: signature, for: message) == .valid)
        }
    }

    @Test func readsBareBase64KeysWithCRLFAndLeadingText() throws {
        let key = PaymentTestKeys.alipay
        let bare = key.pkcs8DERRepresentation.base64EncodedString(options: .lineLength64Characters)
        let signer = try PaymentKeyFile.privateKey(pem: bare)
        let publicBare = try PaymentKeyFile.publicKey(pem: key.publicKey.derRepresentation.base64EncodedString())
        let crlf = "Bag Attributes\r\n" + key.publicKey.pemRepresentation.replacingOccurrences(of: "\n", with: "\r\n")
        let publicCRLF = try PaymentKeyFile.publicKey(pem: crlf)
        let signature = try signer.base64Signature(for: Data("x".utf8))
        #expect(publicBare.check(base64Signature: signature, for: Data("x".utf8)) == .valid)
        #expect(publicCRLF.check(base64Signature: signature, for: Data("x".utf8)) == .valid)
    }

    @Test func refusesWrongMaterialWithClearErrors() throws {
        let key = PaymentTestKeys.merchant
        expectPaymentError(PaymentKeyError.notPEM) { _ = try PaymentKeyFile.privateKey(pem: "") }
        expectPaymentError(PaymentKeyError.notPEM) { _ = try PaymentKeyFile.privateKey(pem: "not a key at all!") }
        expectPaymentError(PaymentKeyError.notPEM) {
            _ = try PaymentKeyFile.privateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n")
        }
        expectPaymentError(PaymentKeyError.unexpectedPEMLabel("CERTIFICATE")) {
            _ = try PaymentKeyFile.privateKey(pem: PaymentTestKeys.platformCertificatePEM)
        }
        expectPaymentError(PaymentKeyError.unexpectedPEMLabel("PRIVATE KEY")) {
            _ = try PaymentKeyFile.publicKey(pem: key.pkcs8PEMRepresentation)
        }
        expectPaymentError(PaymentKeyError.unexpectedPEMLabel("PUBLIC KEY")) {
            _ = try PaymentKeyFile.certificate(pem: key.publicKey.pemRepresentation)
        }
        expectPaymentError(PaymentKeyError.encryptedKey) {
            _ = try PaymentKeyFile.privateKey(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
        }
        expectPaymentError(PaymentKeyError.encryptedKey) {
            _ = try PaymentKeyFile.privateKey(
                pem: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
        }
        expectPaymentError(PaymentKeyError.invalidKey) {
            _ = try PaymentKeyFile.privateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n")
        }
        expectPaymentError(PaymentKeyError.invalidCertificate) {
            _ = try PaymentKeyFile.certificate(pem: "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n")
        }
        let truncated = String(key.pkcs8DERRepresentation.base64EncodedString().dropLast(40))
        #expect(throws: PaymentKeyError.self) { _ = try PaymentKeyFile.privateKey(pem: truncated) }
        let missing = URL(fileURLWithPath: "/nonexistent/apiclient_key.pem")
        expectPaymentError(PaymentKeyError.unreadableFile(path: missing.path)) {
            _ = try PaymentKeyFile.privateKey(contentsOf: missing)
        }
    }

    @Test func refusesKeysUnder2048Bits() throws {
        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: _RSA.Signing.KeySize(bitCount: 1024))
        expectPaymentError(PaymentKeyError.keyTooSmall(bits: 1024)) {
            _ = try PaymentKeyFile.privateKey(pem: small.pkcs8PEMRepresentation)
        }
        expectPaymentError(PaymentKeyError.keyTooSmall(bits: 1024)) {
            _ = try PaymentKeyFile.publicKey(pem: small.publicKey.pemRepresentation)
        }
    }

    @Test func readsFilesFromDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pay-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyURL = directory.appendingPathComponent("apiclient_key.pem")
        let certURL = directory.appendingPathComponent("platform_cert.pem")
        try PaymentTestKeys.merchant.pkcs8PEMRepresentation.write(to: keyURL, atomically: true, encoding: .utf8)
        try PaymentTestKeys.platformCertificatePEM.write(to: certURL, atomically: true, encoding: .utf8)
        _ = try PaymentKeyFile.privateKey(contentsOf: keyURL)
        let certificate = try PaymentKeyFile.certificate(contentsOf: certURL)
        #expect(certificate.serialNumber == PaymentTestKeys.platformSerial)
    }

    @Test func certificateSerialIsUpperCaseHexWithoutPadding() throws {
        let certificate = try PaymentKeyFile.certificate(pem: PaymentTestKeys.platformCertificatePEM)
        #expect(certificate.serialNumber == PaymentTestKeys.platformSerial)
        #expect(PaymentKeyCertificate.hex([0x00, 0x9A, 0x01]) == "9A01")
        #expect(PaymentKeyCertificate.hex([0x0A, 0xFF]) == "0AFF")
        #expect(PaymentKeyCertificate.hex([0x00]) == "00")
        #expect(certificate.notValidBefore == Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func signatureChecksNeverTrapOnHostileInput() {
        let verifier = PaymentTestKeys.verifier(PaymentTestKeys.merchant)
        let message = Data("m".utf8)
        for hostile in ["", "====", "@@@@", "YQ==", String(repeating: "A", count: 100_000), "WECHATPAY/SIGNTEST/AAAA"] {
            #expect(verifier.check(base64Signature: hostile, for: message) == .malformed)
        }
        #expect(verifier.check(signature: Data(count: 256), for: message) == .invalid)
        #expect(verifier.check(signature: Data(count: 255), for: message) == .malformed)
    }
}

// MARK: - WeChat Pay request signing

@Suite struct WeChatPayRequestSigningTests {
    static let mchid = "1900009191"
    static let serial = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"
    static let path = "/v3/pay/transactions/jsapi"
    static let body = Data(#"{"appid":"wxd678efh567hg6787","mchid":"1900009191","description":"衬衫","out_trade_no":"A1","amount":{"total":100}}"#.utf8)
    static let now = Date(timeIntervalSince1970: 1_554_208_460)

    var signer: WeChatPayRequestSigner {
        WeChatPayRequestSigner(merchantID: Self.mchid, serialNumber: Self.serial,
                               key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
    }

    var fake: WeChatPayRequestVerifier {
        WeChatPayRequestVerifier(merchantID: Self.mchid, serialNumber: Self.serial,
                                 merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.merchant))
    }

    func header(method: String = "POST", path: String = path, body: Data = body,
                timestamp: Int64 = 1_554_208_460, nonce: String = "593BEC0C930BF1AFEB40B4A08C8FB242") throws -> String {
        try signer.authorization(method: method, pathWithQuery: path, body: body, timestamp: timestamp, nonce: nonce)
    }

    @Test func messageIsMethodPathTimestampNonceBodyEachFollowedByNewline() {
        let message = WeChatPayMessage.request(method: "GET", pathWithQuery: "/v3/certificates?x=1",
                                               timestamp: "1554208460", nonce: "N", body: Data())
        #expect(String(decoding: message, as: UTF8.self) == "GET\n/v3/certificates?x=1\n1554208460\nN\n\n")
    }

    @Test func headerHasSchemaAndAllFiveFieldsAndTheSignatureChecksOut() throws {
        let value = try header()
        #expect(value.hasPrefix("WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",signature=\""))
        #expect(value.hasSuffix("\",timestamp=\"1554208460\",serial_no=\"408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB\""))
        let parsed = try WeChatPayAuthorization.parse(value)
        let message = WeChatPayMessage.request(method: "POST", pathWithQuery: Self.path, timestamp: "1554208460",
                                               nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", body: Self.body)
        let publicKey = PaymentTestKeys.verifier(PaymentTestKeys.merchant)
        #expect(publicKey.check(base64Signature: parsed.signature, for: message) == .valid)
        let result = try fake.verify(authorization: value, method: "POST", pathWithQuery: Self.path,
                                     body: Self.body, now: Self.now)
        #expect(result.merchantID == Self.mchid)
    }

    @Test func fakeRefusesAnotherKeyAndAlteredRequests() throws {
        let value = try header()
        let otherKey = WeChatPayRequestVerifier(merchantID: Self.mchid, serialNumber: Self.serial,
                                                merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.stranger))
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try otherKey.verify(authorization: value, method: "POST", pathWithQuery: Self.path,
                                    body: Self.body, now: Self.now)
        }
        var flipped = Self.body
        flipped[5] ^= 0x01
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try fake.verify(authorization: value, method: "POST", pathWithQuery: Self.path, body: flipped, now: Self.now)
        }
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try fake.verify(authorization: value, method: "PUT", pathWithQuery: Self.path, body: Self.body, now: Self.now)
        }
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try fake.verify(authorization: value, method: "POST", pathWithQuery: Self.path + "?a=1",
                                body: Self.body, now: Self.now)
        }
    }

    @Test func fakeRefusesWrongMerchantSerialTimeAndMissingHeader() throws {
        let value = try header()
        let otherMerchant = WeChatPayRequestVerifier(merchantID: "1900000001", serialNumber: Self.serial,
                                                     merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.merchant))
        expectPaymentError(WeChatPaySignatureError.wrongMerchant) {
            _ = try otherMerchant.verify(authorization: value, method: "POST", pathWithQuery: Self.path,
                                         body: Self.body, now: Self.now)
        }
        let otherSerial = WeChatPayRequestVerifier(merchantID: Self.mchid, serialNumber: "ABCDEF",
                                                   merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.merchant))
        expectPaymentError(WeChatPaySignatureError.unknownSerial(Self.serial)) {
            _ = try otherSerial.verify(authorization: value, method: "POST", pathWithQuery: Self.path,
                                       body: Self.body, now: Self.now)
        }
        expectPaymentError(WeChatPaySignatureError.staleTimestamp) {
            _ = try fake.verify(authorization: value, method: "POST", pathWithQuery: Self.path,
                                body: Self.body, now: Self.now + 301)
        }
        expectPaymentError(WeChatPaySignatureError.missingHeader("Authorization")) {
            _ = try fake.verify(authorization: nil, method: "POST", pathWithQuery: Self.path, body: Self.body, now: Self.now)
        }
    }

    @Test func fakeChecksRequestsAgainstTheMerchantCertificate() throws {
        let pem = PaymentTestKeys.certificatePEM(key: PaymentTestKeys.merchant, serial: [0x40, 0x8B, 0x07, 0xE7])
        let certificate = try PaymentKeyFile.certificate(pem: pem)
        let byCertificate = WeChatPayRequestVerifier(merchantID: Self.mchid, certificate: certificate)
        let signer = WeChatPayRequestSigner(merchantID: Self.mchid, serialNumber: certificate.serialNumber,
                                            key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
        let value = try signer.authorization(method: "GET", pathWithQuery: "/v3/certificates", body: Data(),
                                             timestamp: 1_554_208_460, nonce: "N")
        _ = try byCertificate.verify(authorization: value, method: "GET", pathWithQuery: "/v3/certificates",
                                     body: Data(), now: Self.now)
        let wrongSerial = try WeChatPayRequestSigner(merchantID: Self.mchid, serialNumber: "408B07E8",
                                                     key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
            .authorization(method: "GET", pathWithQuery: "/v3/certificates", body: Data(), timestamp: 1_554_208_460, nonce: "N")
        expectPaymentError(WeChatPaySignatureError.unknownSerial("408B07E8")) {
            _ = try byCertificate.verify(authorization: wrongSerial, method: "GET", pathWithQuery: "/v3/certificates",
                                         body: Data(), now: Self.now)
        }
    }

    @Test(arguments: ["mchid", "nonce_str", "signature", "timestamp", "serial_no"])
    func parserRefusesAMissingField(field: String) throws {
        let value = try header()
        let parsed = try WeChatPayAuthorization.parse(value)
        let all: [(String, String)] = [("mchid", parsed.merchantID), ("nonce_str", parsed.nonce),
                                       ("signature", parsed.signature), ("timestamp", parsed.timestamp),
                                       ("serial_no", parsed.serialNumber)]
        let without = all.filter { $0.0 != field }.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        expectPaymentError(WeChatPaySignatureError.malformedAuthorization) {
            _ = try WeChatPayAuthorization.parse("WECHATPAY2-SHA256-RSA2048 " + without)
        }
    }

    @Test func parserAcceptsAnyOrderAndSpacesAndRefusesJunk() throws {
        let reordered = #"WECHATPAY2-SHA256-RSA2048 serial_no="S", timestamp="1",  signature="c2ln", nonce_str="N",mchid="M""#
        let parsed = try WeChatPayAuthorization.parse(reordered)
        #expect(parsed == WeChatPayAuthorization(merchantID: "M", nonce: "N", signature: "c2ln", timestamp: "1",
                                                 serialNumber: "S"))
        let junk = ["", "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA2048 mchid=M",
                    #"WECHATPAY2-SHA256-RSA2048 mchid="M"#, #"WECHATPAY2-SHA256-RSA2048 mchid="M",,"#,
                    #"WECHATPAY2-SHA256-RSA2048 mchid="M" nonce_str="N""#,
                    #"WECHATPAY2-SHA256-RSA2048 mchid="M",mchid="M",nonce_str="N",signature="s",timestamp="1",serial_no="S""#,
                    #"WECHATPAY2-SHA256-RSA2048 MCHID="M""#, "WECHATPAY2-SHA256-RSA2048 =\"\"",
                    String(repeating: "x", count: 10_000)]
        for text in junk {
            #expect(throws: WeChatPaySignatureError.self) { _ = try WeChatPayAuthorization.parse(text) }
        }
        expectPaymentError(WeChatPaySignatureError.unsupportedSignatureType("Bearer")) {
            _ = try WeChatPayAuthorization.parse("Bearer abc")
        }
    }

    @Test func signerRefusesValuesThatWouldBreakTheHeader() {
        for nonce in ["a\"b", "a,b", "", "a b", "a\nb"] {
            expectPaymentError(WeChatPaySignatureError.invalidField("nonce_str")) {
                _ = try signer.authorization(method: "GET", pathWithQuery: "/", body: Data(), timestamp: 1, nonce: nonce)
            }
        }
        expectPaymentError(WeChatPaySignatureError.invalidField("timestamp")) {
            _ = try signer.authorization(method: "GET", pathWithQuery: "/", body: Data(), timestamp: -1, nonce: "N")
        }
    }

    @Test func noncesComeFromTheGivenGenerator() {
        var first = PaymentTestGenerator(state: 42)
        var again = PaymentTestGenerator(state: 42)
        var other = PaymentTestGenerator(state: 43)
        let nonce = WeChatPayNonce.make(using: &first)
        #expect(nonce.count == 32)
        #expect(nonce.allSatisfy { ($0.isUppercase || $0.isNumber) && $0.isASCII })
        #expect(nonce == WeChatPayNonce.make(using: &again))
        #expect(nonce != WeChatPayNonce.make(using: &other))
        #expect(WeChatPayNonce.make(using: &first, length: 16).count == 16)
        #expect(WeChatPayNonce.make(using: &first, length: 0).count == 1)
    }
}

// MARK: - WeChat Pay callback and response verification

@Suite struct WeChatPayCallbackTests {
    static let body = Data(#"{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","associated_data":"transaction","nonce":"fdasflkja484"}}"#.utf8)
    static let timestamp: Int64 = 1_700_000_000
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    static var keys: WeChatPayPlatformKeys {
        var keys = WeChatPayPlatformKeys()
        do {
            try keys.addCertificate(pem: PaymentTestKeys.platformCertificatePEM)
            try keys.add(publicKeyID: PaymentTestKeys.publicKeyID,
                         key: PaymentTestKeys.verifier(PaymentTestKeys.platformPublicKey))
        } catch {
            Issue.record("key set: \(error)")
        }
        return keys
    }

    let verifier = WeChatPaySignatureVerifier(keys: WeChatPayCallbackTests.keys)
    let certificateSigner = WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial,
                                                    key: PaymentTestKeys.signer(PaymentTestKeys.platformCertificateKey))
    let publicKeySigner = WeChatPayPlatformSigner(serial: PaymentTestKeys.publicKeyID,
                                                  key: PaymentTestKeys.signer(PaymentTestKeys.platformPublicKey))

    func signed(_ signer: WeChatPayPlatformSigner? = nil, body: Data = body,
                timestamp: Int64 = timestamp) throws -> [(String, String)] {
        try (signer ?? certificateSigner).headers(body: body, timestamp: timestamp, nonce: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    }

    func replacing(_ name: String, with value: String, in headers: [(String, String)]) -> [(String, String)] {
        headers.map { $0.0 == name ? ($0.0, value) : $0 }
    }

    @Test func signedTextIsTimestampNonceRawBodyEachFollowedByNewline() throws {
        let message = WeChatPayMessage.callback(timestamp: "1700000000", nonce: "N1", body: Data("{\"a\":1}".utf8))
        #expect(String(decoding: message, as: UTF8.self) == "1700000000\nN1\n{\"a\":1}\n")
        // A signature made here, independently of the library's message builder, is accepted.
        let text = "1700000000\nN1\n" + String(decoding: Self.body, as: UTF8.self) + "\n"
        let signature = try PaymentKeySigner(PaymentTestKeys.platformPublicKey).base64Signature(for: Data(text.utf8))
        let headers: WeChatPayHeaders = ["wechatpay-timestamp": "1700000000", "wechatpay-nonce": "N1",
                                         "wechatpay-signature": signature, "wechatpay-serial": PaymentTestKeys.publicKeyID]
        _ = try verifier.verify(headers: headers, body: Self.body, now: Self.now)
    }

    @Test func acceptsBothACertificateSerialAndAPublicKeyIDAtOnce() throws {
        let byCertificate = try verifier.verify(headers: WeChatPayHeaders(signed(certificateSigner)),
                                                body: Self.body, now: Self.now)
        #expect(byCertificate.serial == PaymentTestKeys.platformSerial)
        let byPublicKey = try verifier.verify(headers: WeChatPayHeaders(signed(publicKeySigner)),
                                              body: Self.body, now: Self.now)
        #expect(byPublicKey.serial == PaymentTestKeys.publicKeyID)
        #expect(byPublicKey.timestamp == Self.timestamp)
        #expect(Self.keys.serials == [PaymentTestKeys.platformSerial, PaymentTestKeys.publicKeyID].sorted())
    }

    @Test func refusesASignatureUnderTheOtherConfiguredKey() throws {
        let crossed = replacing("Wechatpay-Serial", with: PaymentTestKeys.publicKeyID, in: try signed(certificateSigner))
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try verifier.verify(headers: WeChatPayHeaders(crossed), body: Self.body, now: Self.now)
        }
        let stranger = WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial,
                                               key: PaymentTestKeys.signer(PaymentTestKeys.stranger))
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try verifier.verify(headers: WeChatPayHeaders(signed(stranger)), body: Self.body, now: Self.now)
        }
    }

    @Test func readsHeaderNamesInAnyCase() throws {
        let mixed = try signed().map { name, value in
            (String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.lowercased()) : Character($0.element.uppercased()) }), value)
        }
        #expect(mixed.contains { $0.0 == "wEcHaTpAy-tImEsTaMp" })
        _ = try verifier.verify(headers: WeChatPayHeaders(mixed), body: Self.body, now: Self.now)
        let lower = Dictionary(uniqueKeysWithValues: try signed().map { ($0.0.lowercased(), $0.1) })
        _ = try verifier.verify(headers: WeChatPayHeaders(lower), body: Self.body, now: Self.now)
        let upper = Dictionary(uniqueKeysWithValues: try signed().map { ($0.0.uppercased(), $0.1) })
        _ = try verifier.verify(headers: WeChatPayHeaders(upper), body: Self.body, now: Self.now)
    }

    @Test func refusesEveryOneByteFlipOfTheRawBody() throws {
        let headers = WeChatPayHeaders(try signed())
        for index in stride(from: 0, to: Self.body.count, by: 7) {
            var flipped = Self.body
            flipped[index] ^= 0x20
            expectPaymentError(WeChatPaySignatureError.badSignature) {
                _ = try verifier.verify(headers: headers, body: flipped, now: Self.now)
            }
        }
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            _ = try verifier.verify(headers: headers, body: Self.body + Data(" ".utf8), now: Self.now)
        }
    }

    @Test func refusesTheSameJSONReEncoded() throws {
        let headers = WeChatPayHeaders(try signed())
        let object = try JSONSerialization.jsonObject(with: Self.body)
        let sortedKeys = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let decoded = try JSONDecoder().decode(WeChatPayNotification.self, from: Self.body)
        let reEncoded = try JSONEncoder().encode(decoded)
        for body in [sortedKeys, pretty, reEncoded] {
            #expect(body != Self.body)
            expectPaymentError(WeChatPaySignatureError.badSignature) {
                _ = try verifier.verify(headers: headers, body: body, now: Self.now)
            }
        }
    }

    @Test func refusesAnUnknownSerial() throws {
        let unknown = replacing("Wechatpay-Serial", with: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", in: try signed())
        expectPaymentError(WeChatPaySignatureError.unknownSerial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")) {
            _ = try verifier.verify(headers: WeChatPayHeaders(unknown), body: Self.body, now: Self.now)
        }
        let otherID = replacing("Wechatpay-Serial", with: "PUB_KEY_ID_0000", in: try signed(publicKeySigner))
        expectPaymentError(WeChatPaySignatureError.unknownSerial("PUB_KEY_ID_0000")) {
            _ = try verifier.verify(headers: WeChatPayHeaders(otherID), body: Self.body, now: Self.now)
        }
        let empty = WeChatPaySignatureVerifier(keys: WeChatPayPlatformKeys())
        expectPaymentError(WeChatPaySignatureError.unknownSerial(PaymentTestKeys.platformSerial)) {
            _ = try empty.verify(headers: WeChatPayHeaders(signed()), body: Self.body, now: Self.now)
        }
    }

    @Test func matchesCertificateSerialsRegardlessOfCaseAndLeadingZeros() throws {
        for spelling in [PaymentTestKeys.platformSerial.lowercased(), "00" + PaymentTestKeys.platformSerial] {
            let headers = replacing("Wechatpay-Serial", with: spelling, in: try signed())
            _ = try verifier.verify(headers: WeChatPayHeaders(headers), body: Self.body, now: Self.now)
        }
        // A serial whose first hex digit is 0: OpenSSL prints "0A…", Java's BigInteger "A…"; both select it.
        var keys = WeChatPayPlatformKeys()
        let serial = try keys.addCertificate(pem: PaymentTestKeys.certificatePEM(
            key: PaymentTestKeys.stranger, serial: [0x0A, 0xBC, 0xDE, 0xF0, 0x12, 0x34, 0x56, 0x78]))
        #expect(serial == "0ABCDEF012345678")
        let zeroLed = WeChatPaySignatureVerifier(keys: keys)
        let signer = WeChatPayPlatformSigner(serial: "ABCDEF012345678", key: PaymentTestKeys.signer(PaymentTestKeys.stranger))
        _ = try zeroLed.verify(headers: WeChatPayHeaders(signed(signer)), body: Self.body, now: Self.now)
        let full = replacing("Wechatpay-Serial", with: "0ABCDEF012345678", in: try signed(signer))
        _ = try zeroLed.verify(headers: WeChatPayHeaders(full), body: Self.body, now: Self.now)
        let lowerID = replacing("Wechatpay-Serial", with: PaymentTestKeys.publicKeyID.lowercased(), in: try signed(publicKeySigner))
        #expect(throws: WeChatPaySignatureError.self) {
            _ = try verifier.verify(headers: WeChatPayHeaders(lowerID), body: Self.body, now: Self.now)
        }
    }

    @Test(arguments: [(-301.0, false), (301.0, false), (-299.0, true), (299.0, true), (300.0, true), (-300.0, true),
                      (86_400.0 * 365, false)])
    func acceptsTimestampsWithinFiveMinutesEitherWay(offset: Double, accepted: Bool) throws {
        let headers = WeChatPayHeaders(try signed())
        let now = Self.now + offset
        if accepted {
            _ = try verifier.verify(headers: headers, body: Self.body, now: now)
        } else {
            expectPaymentError(WeChatPaySignatureError.staleTimestamp) {
                _ = try verifier.verify(headers: headers, body: Self.body, now: now)
            }
        }
    }

    @Test(arguments: ["abc", "+1700000000", "-1700000000", "1700000000.0", "1 700000000", "0x6553F100",
                      "99999999999999999999", "１７００"])
    func refusesNonNumericTimestamps(text: String) throws {
        let headers = replacing("Wechatpay-Timestamp", with: text, in: try signed())
        expectPaymentError(WeChatPaySignatureError.badTimestamp) {
            _ = try verifier.verify(headers: WeChatPayHeaders(headers), body: Self.body, now: Self.now)
        }
    }

    @Test func refusesSignaturesThatAreNotBase64OrAreProbes() throws {
        for text in ["not base64!", "YWJj", "WECHATPAY/SIGNTEST/" + String(repeating: "A", count: 340)] {
            let headers = replacing("Wechatpay-Signature", with: text, in: try signed())
            expectPaymentError(WeChatPaySignatureError.malformedSignature) {
                _ = try verifier.verify(headers: WeChatPayHeaders(headers), body: Self.body, now: Self.now)
            }
        }
    }

    @Test(arguments: ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"])
    func refusesMissingEmptyOrRepeatedHeaders(name: String) throws {
        let headers = try signed()
        let without = headers.filter { $0.0 != name }
        expectPaymentError(WeChatPaySignatureError.missingHeader(name)) {
            _ = try verifier.verify(headers: WeChatPayHeaders(without), body: Self.body, now: Self.now)
        }
        expectPaymentError(WeChatPaySignatureError.missingHeader(name)) {
            _ = try verifier.verify(headers: WeChatPayHeaders(replacing(name, with: " ", in: headers)),
                                    body: Self.body, now: Self.now)
        }
        let repeated = headers + headers.filter { $0.0 == name }.map { ($0.0.lowercased(), $0.1) }
        expectPaymentError(WeChatPaySignatureError.duplicateHeader(name)) {
            _ = try verifier.verify(headers: WeChatPayHeaders(repeated), body: Self.body, now: Self.now)
        }
    }

    @Test func refusesAnotherSignatureTypeButAcceptsItsAbsence() throws {
        let headers = try signed()
        let other = replacing("Wechatpay-Signature-Type", with: "WECHATPAY2-SM2-WITH-SM3", in: headers)
        expectPaymentError(WeChatPaySignatureError.unsupportedSignatureType("WECHATPAY2-SM2-WITH-SM3")) {
            _ = try verifier.verify(headers: WeChatPayHeaders(other), body: Self.body, now: Self.now)
        }
        let absent = headers.filter { $0.0 != "Wechatpay-Signature-Type" }
        _ = try verifier.verify(headers: WeChatPayHeaders(absent), body: Self.body, now: Self.now)
    }

    @Test func errorCodesAndStatusesAreStable() {
        let table: [(WeChatPaySignatureError, String, Int)] = [
            (.missingHeader("x"), "missing_header", 400), (.duplicateHeader("x"), "duplicate_header", 400),
            (.malformedAuthorization, "malformed_authorization", 400), (.badTimestamp, "bad_timestamp", 400),
            (.staleTimestamp, "stale_timestamp", 401), (.unknownSerial("x"), "unknown_serial", 401),
            (.wrongMerchant, "wrong_merchant", 401), (.malformedSignature, "malformed_signature", 400),
            (.badSignature, "bad_signature", 401), (.unsupportedSignatureType("x"), "unsupported_signature_type", 401),
            (.invalidField("x"), "invalid_field", 400), (.signingFailed, "signing_failed", 500),
        ]
        for (error, code, status) in table {
            #expect(error.code == code)
            #expect(error.httpStatus == status)
        }
    }

    @Test func keySetRefusesAnIDThatIsNotAPublicKeyID() {
        var keys = WeChatPayPlatformKeys()
        expectPaymentError(WeChatPaySignatureError.invalidField("publicKeyID")) {
            try keys.add(publicKeyID: "0114232806842025", key: PaymentTestKeys.verifier(PaymentTestKeys.platformPublicKey))
        }
        expectPaymentError(PaymentKeyError.notPEM) { try keys.addCertificate(pem: "garbage") }
        #expect(keys.serials.isEmpty)
    }
}

// MARK: - WeChat Pay resource decryption

@Suite struct WeChatPayResourceTests {
    static let apiKey = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
    static let nonce = "fdasflkja484"
    static let transactionJSON = Data(#"""
    {"mchid":"1230000109","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"CMC","attach":"","success_time":"2018-06-08T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":8888,"payer_total":8800,"currency":"CNY","payer_currency":"CNY"},"promotion_detail":[]}
    """#.utf8)

    func key() throws -> WeChatPayAPIv3Key { try WeChatPayAPIv3Key(Self.apiKey) }

    func sealed(_ plaintext: Data = transactionJSON, associatedData: String? = "transaction") throws -> WeChatPayEncryptedResource {
        try WeChatPayResourceCipher.encrypt(plaintext, key: key(), nonce: Self.nonce, associatedData: associatedData,
                                            originalType: "transaction")
    }

    @Test func decryptsWhatTheFakeEncryptsAndDecodesTheTransaction() throws {
        let resource = try sealed()
        #expect(resource.algorithm == "AEAD_AES_256_GCM")
        #expect(Data(base64Encoded: resource.ciphertext)?.count == Self.transactionJSON.count + 16)
        #expect(try WeChatPayResourceCipher.decrypt(resource, key: key()) == Self.transactionJSON)
        let envelope = WeChatPayNotification(id: "EV-1", createTime: "2015-05-20T13:29:35+08:00",
                                             eventType: "TRANSACTION.SUCCESS", resourceType: "encrypt-resource",
                                             resource: resource, summary: "支付成功")
        let transaction = try envelope.decryptResource(as: WeChatPayTransaction.self, key: key())
        #expect(transaction.outTradeNo == "1217752501201407033233368018")
        #expect(transaction.transactionID == "1217752501201407033233368018")
        #expect(transaction.tradeState == "SUCCESS")
        #expect(transaction.amount == .init(total: 8888, payerTotal: 8800, currency: "CNY", payerCurrency: "CNY"))
        #expect(transaction.mchid == "1230000109")
        #expect(transaction.appid == "wxd678efh567hg6787")
        #expect(transaction.successTime == "2018-06-08T10:34:56+08:00")
        #expect(transaction.payer?.openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    }

    @Test func matchesAnIndependentAESGCMSeal() throws {
        let plaintext = Data("{}".utf8)
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: Data(Self.apiKey.utf8)),
                                   nonce: AES.GCM.Nonce(data: Data(Self.nonce.utf8)), authenticating: Data("certificate".utf8))
        let resource = WeChatPayEncryptedResource(algorithm: "AEAD_AES_256_GCM",
                                                  ciphertext: (box.ciphertext + box.tag).base64EncodedString(),
                                                  nonce: Self.nonce, associatedData: "certificate", originalType: nil)
        #expect(try WeChatPayResourceCipher.decrypt(resource, key: key()) == plaintext)
        #expect(try sealed(plaintext, associatedData: "certificate").ciphertext == resource.ciphertext)
    }

    @Test func refusesAlteredCiphertextTagNonceOrAssociatedData() throws {
        let resource = try sealed()
        let combined = try #require(Data(base64Encoded: resource.ciphertext))
        var cipherFlip = combined
        cipherFlip[3] ^= 0x01
        var tagFlip = combined
        tagFlip[combined.count - 1] ^= 0x80
        var alterations: [WeChatPayEncryptedResource] = []
        for bytes in [cipherFlip, tagFlip, combined.dropLast(), combined.dropFirst()] {
            var altered = resource
            altered.ciphertext = Data(bytes).base64EncodedString()
            alterations.append(altered)
        }
        var nonce = resource
        nonce.nonce = "fdasflkja485"
        var associated = resource
        associated.associatedData = "refund"
        var absent = resource
        absent.associatedData = nil
        alterations += [nonce, associated, absent]
        for altered in alterations {
            expectPaymentError(WeChatPayResourceError.decryptionFailed) {
                _ = try WeChatPayResourceCipher.decrypt(altered, key: key())
            }
        }
        let otherKey = try WeChatPayAPIv3Key("b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")
        expectPaymentError(WeChatPayResourceError.decryptionFailed) {
            _ = try WeChatPayResourceCipher.decrypt(resource, key: otherKey)
        }
    }

    @Test func treatsAbsentAndEmptyAssociatedDataAlike() throws {
        let resource = try sealed(associatedData: nil)
        var empty = resource
        empty.associatedData = ""
        #expect(try WeChatPayResourceCipher.decrypt(empty, key: key()) == Self.transactionJSON)
        let json = #"{"algorithm":"AEAD_AES_256_GCM","ciphertext":"\#(resource.ciphertext)","nonce":"\#(Self.nonce)"}"#
        let decoded = try JSONDecoder().decode(WeChatPayEncryptedResource.self, from: Data(json.utf8))
        #expect(decoded.associatedData == nil)
        #expect(try WeChatPayResourceCipher.decrypt(decoded, key: key()) == Self.transactionJSON)
    }

    @Test func refusesWrongAlgorithmKeyLengthNonceAndCiphertextShape() throws {
        var resource = try sealed()
        resource.algorithm = "AEAD_AES_128_GCM"
        expectPaymentError(WeChatPayResourceError.unsupportedAlgorithm("AEAD_AES_128_GCM")) {
            _ = try WeChatPayResourceCipher.decrypt(resource, key: key())
        }
        expectPaymentError(WeChatPayResourceError.badKeyLength(31)) { _ = try WeChatPayAPIv3Key(String(Self.apiKey.dropLast())) }
        expectPaymentError(WeChatPayResourceError.badKeyLength(33)) { _ = try WeChatPayAPIv3Key(Self.apiKey + "x") }
        expectPaymentError(WeChatPayResourceError.badKeyLength(0)) { _ = try WeChatPayAPIv3Key("") }
        let good = try sealed()
        for nonce in ["fdasflkja48", "fdasflkja4845", "", "密钥"] {
            var altered = good
            altered.nonce = nonce
            expectPaymentError(WeChatPayResourceError.badNonce) { _ = try WeChatPayResourceCipher.decrypt(altered, key: key()) }
        }
        for text in ["", "not base64", "AAAA", Data(count: 15).base64EncodedString()] {
            var altered = good
            altered.ciphertext = text
            expectPaymentError(WeChatPayResourceError.malformedCiphertext) {
                _ = try WeChatPayResourceCipher.decrypt(altered, key: key())
            }
        }
        expectPaymentError(WeChatPayResourceError.badNonce) {
            _ = try WeChatPayResourceCipher.encrypt(Data(), key: key(), nonce: "short", associatedData: nil, originalType: nil)
        }
    }

    @Test func decodesRefundNoticesAndRefusesNegativeAmounts() throws {
        let refund = Data(#"{"mchid":"1900000100","transaction_id":"1008450740201411110005820873","out_trade_no":"20150806125346","refund_id":"50200207182018070300011301001","out_refund_no":"7752501201407033233368018","refund_status":"SUCCESS","success_time":"2018-06-08T10:34:56+08:00","user_received_account":"招商银行信用卡0403","amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}}"#.utf8)
        let notice = try WeChatPayJSON.decode(WeChatPayRefundNotice.self, from: refund)
        #expect(notice.outRefundNo == "7752501201407033233368018")
        #expect(notice.refundID == "50200207182018070300011301001")
        #expect(notice.refundStatus == "SUCCESS")
        #expect(notice.amount == .init(total: 999, refund: 999, payerTotal: 999, payerRefund: 999))
        let negative = Data(String(decoding: refund, as: UTF8.self).replacingOccurrences(of: "\"refund\":999", with: "\"refund\":-1").utf8)
        expectPaymentError(WeChatPayResourceError.malformedPayload) { _ = try WeChatPayJSON.decode(WeChatPayRefundNotice.self, from: negative) }
        let negativeTotal = Data(String(decoding: Self.transactionJSON, as: UTF8.self).replacingOccurrences(of: "\"total\":8888", with: "\"total\":-8888").utf8)
        expectPaymentError(WeChatPayResourceError.malformedPayload) { _ = try WeChatPayJSON.decode(WeChatPayTransaction.self, from: negativeTotal) }
        let fractional = Data(String(decoding: Self.transactionJSON, as: UTF8.self).replacingOccurrences(of: "\"total\":8888", with: "\"total\":88.88").utf8)
        expectPaymentError(WeChatPayResourceError.malformedPayload) { _ = try WeChatPayJSON.decode(WeChatPayTransaction.self, from: fractional) }
        let huge = Data(String(decoding: Self.transactionJSON, as: UTF8.self).replacingOccurrences(of: "\"total\":8888", with: "\"total\":99999999999999999999").utf8)
        expectPaymentError(WeChatPayResourceError.malformedPayload) { _ = try WeChatPayJSON.decode(WeChatPayTransaction.self, from: huge) }
        expectPaymentError(WeChatPayResourceError.malformedPayload) { _ = try WeChatPayNotification.decode(from: Data("[]".utf8)) }
    }

    /// The whole receiving path: fake signs and encrypts, we verify the raw body, decode, decrypt.
    @Test func endToEndNotification() throws {
        let resource = try sealed()
        let envelope = WeChatPayNotification(id: "EV-9", createTime: "2024-01-02T10:20:30+08:00",
                                             eventType: "TRANSACTION.SUCCESS", resourceType: "encrypt-resource",
                                             resource: resource, summary: "支付成功")
        let body = try JSONEncoder().encode(envelope)
        let platform = WeChatPayPlatformSigner(serial: PaymentTestKeys.publicKeyID,
                                               key: PaymentTestKeys.signer(PaymentTestKeys.platformPublicKey))
        let headers = try platform.headers(body: body, timestamp: 1_704_162_030, nonce: "NONCE1")
        _ = try WeChatPaySignatureVerifier(keys: WeChatPayCallbackTests.keys)
            .verify(headers: WeChatPayHeaders(headers), body: body, now: Date(timeIntervalSince1970: 1_704_162_100))
        let received = try WeChatPayNotification.decode(from: body)
        #expect(received == envelope)
        let transaction = try received.decryptResource(as: WeChatPayTransaction.self, key: key())
        #expect(transaction.amount.total == 8888)
    }

    @Test func errorCodesAreStable() {
        let codes: [(WeChatPayResourceError, String)] = [
            (.unsupportedAlgorithm("x"), "unsupported_algorithm"), (.badKeyLength(1), "bad_key_length"),
            (.badNonce, "bad_nonce"), (.malformedCiphertext, "malformed_ciphertext"),
            (.decryptionFailed, "decryption_failed"), (.malformedPayload, "malformed_payload"),
            (.encryptionFailed, "encryption_failed"),
        ]
        for (error, code) in codes { #expect(error.code == code) }
    }
}

// MARK: - WeChat Pay JSAPI pay-sign

@Suite struct WeChatPayJSAPITests {
    @Test func signsAppIdTimeStampNonceAndPackageForThePage() throws {
        let parameters = try WeChatPayJSAPI.payParameters(
            appId: "wx8888888888888888", prepayID: "wx201410272009395522657a690389285100",
            timestamp: 1_414_561_699, nonce: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
        #expect(parameters.package == "prepay_id=wx201410272009395522657a690389285100")
        #expect(parameters.signType == "RSA")
        #expect(parameters.timeStamp == "1414561699")
        let message = WeChatPayJSAPI.message(appId: parameters.appId, timeStamp: parameters.timeStamp,
                                             nonceStr: parameters.nonceStr, package: parameters.package)
        #expect(String(decoding: message, as: UTF8.self)
            == "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n")
        #expect(PaymentTestKeys.verifier(PaymentTestKeys.merchant).check(base64Signature: parameters.paySign, for: message) == .valid)
        #expect(Set(parameters.dictionary.keys) == ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"])
        try WeChatPayJSAPI.verify(parameters, merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.merchant))
    }

    @Test func fakeClientRefusesAlteredParametersOrAnotherKey() throws {
        let parameters = try WeChatPayJSAPI.payParameters(appId: "wx1", prepayID: "wx2", timestamp: 1, nonce: "N",
                                                          key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
        let merchant = PaymentTestKeys.verifier(PaymentTestKeys.merchant)
        var altered = parameters
        altered.package = "prepay_id=wx3"
        expectPaymentError(WeChatPaySignatureError.badSignature) { try WeChatPayJSAPI.verify(altered, merchantKey: merchant) }
        expectPaymentError(WeChatPaySignatureError.badSignature) {
            try WeChatPayJSAPI.verify(parameters, merchantKey: PaymentTestKeys.verifier(PaymentTestKeys.stranger))
        }
        var md5 = parameters
        md5.signType = "MD5"
        expectPaymentError(WeChatPaySignatureError.unsupportedSignatureType("MD5")) { try WeChatPayJSAPI.verify(md5, merchantKey: merchant) }
        expectPaymentError(WeChatPaySignatureError.invalidField("prepay_id")) {
            _ = try WeChatPayJSAPI.payParameters(appId: "wx1", prepayID: "a\nb", timestamp: 1, nonce: "N",
                                                 key: PaymentTestKeys.signer(PaymentTestKeys.merchant))
        }
    }
}

// MARK: - Alipay

@Suite struct AlipaySignatureTests {
    static let appID = "2021000000000001"

    static let notification: [String: String] = [
        "app_id": appID, "charset": "utf-8", "version": "1.0", "notify_type": "trade_status_sync",
        "notify_id": "2024010200222102030512345678", "notify_time": "2024-01-02 10:20:31",
        "out_trade_no": "FM-20240102-0001", "trade_no": "2024010222001412345678901234",
        "trade_status": "TRADE_SUCCESS", "total_amount": "88.88", "receipt_amount": "88.88",
        "buyer_pay_amount": "80.00", "seller_id": "2088000000000001", "buyer_id": "2088102122524333",
        "gmt_create": "2024-01-02 10:20:00", "gmt_payment": "2024-01-02 10:20:30",
        "subject": "测试商品 A+B", "body": "满100减10 & 50%折扣=真", "fund_bill_list": #"[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]"#,
        "passback_params": "",
    ]

    var verifier: AlipayNotificationVerifier {
        AlipayNotificationVerifier(appID: Self.appID, alipayPublicKey: PaymentTestKeys.verifier(PaymentTestKeys.alipay))
    }

    /// Encodes like a browser form: spaces as `+`, everything else outside the unreserved set as %XX (lower-case hex
    /// for some, to show case does not matter).
    static func formBody(_ parameters: [(String, String)]) -> Data {
        func encode(_ text: String) -> String {
            text.utf8.map { byte -> String in
                switch byte {
                case 0x20: return "+"
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x2A: return String(UnicodeScalar(byte))
                default:
                    let hex = String(byte, radix: 16, uppercase: byte % 2 == 0)
                    return byte < 0x10 ? "%0" + hex : "%" + hex
                }
            }.joined()
        }
        return Data(parameters.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&").utf8)
    }

    /// A notification as a fake Alipay would send it, signed over the decoded values.
    static func signedPairs(_ parameters: [String: String] = notification,
                            key: _RSA.Signing.PrivateKey = PaymentTestKeys.alipay) throws -> [(String, String)] {
        let content = AlipaySignature.notificationContent(parameters)
        let sign = try PaymentKeySigner(key).base64Signature(for: Data(content.utf8))
        return parameters.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 } + [("sign_type", "RSA2"), ("sign", sign)]
    }

    @Test func verifiesANotificationWithChineseTextPlusAndPercentEncoding() throws {
        let body = try Self.formBody(Self.signedPairs())
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("subject=%E6%b5%8b"))
        #expect(text.contains("+A%2bB"))
        let notice = try verifier.verify(body: body)
        #expect(notice.parameters["subject"] == "测试商品 A+B")
        #expect(notice.parameters["body"] == "满100减10 & 50%折扣=真")
        #expect(notice.outTradeNo == "FM-20240102-0001")
        #expect(notice.tradeNo == "2024010222001412345678901234")
        #expect(notice.tradeStatus == "TRADE_SUCCESS")
        #expect(notice.totalAmountFen == 8888)
        #expect(notice.receiptAmountFen == 8888)
        #expect(notice.buyerPayAmountFen == 8000)
        #expect(notice.refundFeeFen == nil)
        #expect(notice.appID == Self.appID)
        #expect(notice.sellerID == "2088000000000001")
        #expect(notice.gmtPayment == "2024-01-02 10:20:30")
    }

    @Test func verifiesWhatTheFakeSigns() throws {
        let body = try AlipaySignature.signNotification(Self.notification, alipayKey: PaymentTestKeys.signer(PaymentTestKeys.alipay))
        let notice = try verifier.verify(body: Data(body.utf8))
        #expect(notice.parameters["subject"] == "测试商品 A+B")
        #expect(notice.parameters["sign_type"] == "RSA2")
    }

    @Test func refusesAChangeToAnyParameter() throws {
        let pairs = try Self.signedPairs()
        for index in pairs.indices where pairs[index].0 != "sign" && pairs[index].0 != "sign_type" {
            var altered = pairs
            altered[index].1 += "1"
            let body = Self.formBody(altered)
            #expect(throws: AlipaySignatureError.self, "\(pairs[index].0)") { _ = try verifier.verify(body: body) }
        }
        let added = Self.formBody(pairs + [("extra", "x")])
        expectPaymentError(AlipaySignatureError.badSignature) { _ = try verifier.verify(body: added) }
        let removed = Self.formBody(pairs.filter { $0.0 != "passback_params" })
        expectPaymentError(AlipaySignatureError.badSignature) { _ = try verifier.verify(body: removed) }
        var changedAmount = pairs
        if let index = changedAmount.firstIndex(where: { $0.0 == "total_amount" }) { changedAmount[index].1 = "8888.00" }
        expectPaymentError(AlipaySignatureError.badSignature) { _ = try verifier.verify(body: Self.formBody(changedAmount)) }
    }

    @Test func notificationSigningTextIsSortedDecodedAndKeepsEmptyValues() {
        let parameters = ["trade_status": "TRADE_SUCCESS", "app_id": "2021", "subject": "测试 A+B", "sign": "s",
                          "sign_type": "RSA2", "passback_params": "", "Z": "1"]
        #expect(AlipaySignature.notificationContent(parameters)
            == "Z=1&app_id=2021&passback_params=&subject=测试 A+B&trade_status=TRADE_SUCCESS")
    }

    @Test func excludesSignTypeFromTheSignedText() throws {
        let content = AlipaySignature.notificationContent(Self.notification.merging(["sign_type": "RSA2", "sign": "x"]) { $1 })
        #expect(!content.contains("sign_type"))
        #expect(!content.contains("sign="))
        #expect(content.contains("passback_params=&"))
        let pairs = try Self.signedPairs()
        _ = try verifier.verify(body: Self.formBody(pairs.filter { $0.0 != "sign_type" }))
        let sha1 = pairs.map { $0.0 == "sign_type" ? ($0.0, "RSA") : $0 }
        expectPaymentError(AlipaySignatureError.unsupportedSignType("RSA")) { _ = try verifier.verify(body: Self.formBody(sha1)) }
    }

    @Test func refusesMissingSignOtherKeyWrongAppAndOtherCharset() throws {
        let pairs = try Self.signedPairs()
        expectPaymentError(AlipaySignatureError.missingSign) {
            _ = try verifier.verify(body: Self.formBody(pairs.filter { $0.0 != "sign" }))
        }
        expectPaymentError(AlipaySignatureError.missingSign) {
            _ = try verifier.verify(body: Self.formBody(pairs.map { $0.0 == "sign" ? ($0.0, "") : $0 }))
        }
        expectPaymentError(AlipaySignatureError.badSignature) {
            _ = try verifier.verify(body: Self.formBody(Self.signedPairs(key: PaymentTestKeys.stranger)))
        }
        let otherApp = AlipayNotificationVerifier(appID: "2021000000000002",
                                                  alipayPublicKey: PaymentTestKeys.verifier(PaymentTestKeys.alipay))
        expectPaymentError(AlipaySignatureError.wrongAppID) { _ = try otherApp.verify(body: Self.formBody(pairs)) }
        let gbk = try Self.signedPairs(Self.notification.merging(["charset": "GBK"]) { $1 })
        expectPaymentError(AlipaySignatureError.unsupportedCharset("GBK")) { _ = try verifier.verify(body: Self.formBody(gbk)) }
        let upperUTF8 = try Self.signedPairs(Self.notification.merging(["charset": "UTF-8"]) { $1 })
        _ = try verifier.verify(body: Self.formBody(upperUTF8))
        let notBase64 = pairs.map { $0.0 == "sign" ? ($0.0, "%%%") : $0 }
        expectPaymentError(AlipaySignatureError.malformedSignature) { _ = try verifier.verify(body: Self.formBody(notBase64)) }
        var rawPlus = String(decoding: Self.formBody(pairs), as: UTF8.self)
        if let signValue = pairs.first(where: { $0.0 == "sign" })?.1, signValue.contains("+") {
            rawPlus = rawPlus.replacingOccurrences(of: "%2B", with: "+").replacingOccurrences(of: "%2b", with: "+")
            #expect(throws: AlipaySignatureError.self) { _ = try verifier.verify(body: Data(rawPlus.utf8)) }
        }
    }

    @Test func refusesSignedNotificationsWithMissingFieldsOrBadAmounts() throws {
        var withoutTradeNo = Self.notification
        withoutTradeNo["trade_no"] = nil
        expectPaymentError(AlipaySignatureError.missingField("trade_no")) {
            _ = try verifier.verify(body: Self.formBody(Self.signedPairs(withoutTradeNo)))
        }
        for amount in ["88.888", "-88.88", "eighty", "8.8e1"] {
            let bad = Self.notification.merging(["total_amount": amount]) { $1 }
            expectPaymentError(AlipaySignatureError.invalidAmount(amount)) {
                _ = try verifier.verify(body: Self.formBody(Self.signedPairs(bad)))
            }
        }
    }

    @Test(arguments: ["", "&", "a=%", "a=%4", "a=%zz", "a=%E4%B8", "a=%FF", "=x", "a=1&a=2", "a=1&%61=2"])
    func refusesUnparseableBodies(body: String) throws {
        #expect(throws: AlipaySignatureError.self) { _ = try verifier.verify(body: Data(body.utf8)) }
    }

    @Test func decodesFormBodiesStrictly() throws {
        #expect(try AlipayForm.decode(Data("a=1+2&&b=%2B&c&d=%E4%B8%AD%e6%96%87&e==".utf8))
            == ["a": "1 2", "b": "+", "c": "", "d": "中文", "e": "="])
        expectPaymentError(AlipaySignatureError.duplicateParameter("a")) { _ = try AlipayForm.decode(Data("a=1&a=1".utf8)) }
        expectPaymentError(AlipaySignatureError.malformedBody) { _ = try AlipayForm.decode(Data("a=%C0%AF".utf8)) }
        expectPaymentError(AlipaySignatureError.malformedBody) { _ = try AlipayForm.decode(Data([0x61, 0x3D, 0xFF])) }
        expectPaymentError(AlipaySignatureError.malformedBody) {
            _ = try AlipayForm.decode(Data(repeating: 0x61, count: 1_048_577))
        }
        let many = (0..<600).map { "k\($0)=v" }.joined(separator: "&")
        expectPaymentError(AlipaySignatureError.malformedBody) { _ = try AlipayForm.decode(Data(many.utf8)) }
        let parameters = ["subject": "测试 A+B&C=D", "z": "~.-_", "a": "100%"]
        #expect(try AlipayForm.decode(Data(AlipayForm.encode(parameters).utf8)) == parameters)
        #expect(AlipayForm.encode(parameters).hasPrefix("a=100%25&subject=%E6%B5%8B"))
    }

    @Test func requestSigningTextIsSortedRawAndSkipsEmptyAndSign() throws {
        let parameters = ["method": "alipay.trade.page.pay", "app_id": Self.appID, "charset": "utf-8",
                          "sign_type": "RSA2", "timestamp": "2024-01-02 10:20:30", "version": "1.0",
                          "notify_url": "https://mall.example/pay/alipay/notify?x=1&y=2",
                          "biz_content": #"{"out_trade_no":"FM-1","total_amount":"88.88","subject":"衬衫"}"#,
                          "app_auth_token": "", "sign": "old", "Zeta": "capital sorts first"]
        #expect(AlipaySignature.requestContent(parameters) == "Zeta=capital sorts first&app_id=2021000000000001&"
            + #"biz_content={"out_trade_no":"FM-1","total_amount":"88.88","subject":"衬衫"}&charset=utf-8&"#
            + "method=alipay.trade.page.pay&notify_url=https://mall.example/pay/alipay/notify?x=1&y=2&"
            + "sign_type=RSA2&timestamp=2024-01-02 10:20:30&version=1.0")
        let signed = try AlipaySignature.signRequest(parameters, key: PaymentTestKeys.signer(PaymentTestKeys.app))
        #expect(signed["sign"] != "old")
        let appKey = PaymentTestKeys.verifier(PaymentTestKeys.app)
        try AlipaySignature.verifyRequest(signed, appPublicKey: appKey)
        // The fake receives it form-encoded and decodes it again.
        let roundTripped = try AlipayForm.decode(Data(AlipayForm.encode(signed).utf8))
        try AlipaySignature.verifyRequest(roundTripped, appPublicKey: appKey)
        for name in signed.keys where name != "sign" {
            var altered = signed
            altered[name] = (signed[name] ?? "") + "x"
            #expect(throws: AlipaySignatureError.self, "\(name)") {
                try AlipaySignature.verifyRequest(altered, appPublicKey: appKey)
            }
        }
        var withEmpty = signed
        withEmpty["another_empty"] = ""
        try AlipaySignature.verifyRequest(withEmpty, appPublicKey: appKey)
        expectPaymentError(AlipaySignatureError.badSignature) {
            try AlipaySignature.verifyRequest(signed, appPublicKey: PaymentTestKeys.verifier(PaymentTestKeys.stranger))
        }
        expectPaymentError(AlipaySignatureError.missingSign) {
            try AlipaySignature.verifyRequest(parameters.filter { $0.key != "sign" }, appPublicKey: appKey)
        }
        expectPaymentError(AlipaySignatureError.unsupportedSignType("RSA")) {
            _ = try AlipaySignature.signRequest(parameters.merging(["sign_type": "RSA"]) { $1 },
                                                key: PaymentTestKeys.signer(PaymentTestKeys.app))
        }
    }

    @Test(arguments: [
        ("88.88", Int64(8888)), ("88.8", 8880), ("88", 8800), ("0.01", 1), ("0", 0), ("0.00", 0), ("0.5", 50),
        ("100000000.00", 10_000_000_000), ("999999999999.99", 99_999_999_999_999), ("10.05", 1005),
    ])
    func parsesYuanAmountsExactly(text: String, fen: Int64) throws {
        #expect(try AlipayAmount.fen(fromYuan: text) == fen)
    }

    @Test(arguments: ["88.888", "-88.88", "-0", "+1", "1e2", "088", "00.5", ".5", "5.", "1,000", " 1", "1 ", "",
                      "abc", "NaN", "1.2.3", "1000000000000", "８８", "0x10", "1.-1", "1..2", "٣"])
    func refusesMalformedAmounts(text: String) {
        expectPaymentError(AlipaySignatureError.invalidAmount(text)) { _ = try AlipayAmount.fen(fromYuan: text) }
    }

    @Test func formatsFenBackToYuan() throws {
        #expect(try AlipayAmount.yuan(fromFen: 8888) == "88.88")
        #expect(try AlipayAmount.yuan(fromFen: 5) == "0.05")
        #expect(try AlipayAmount.yuan(fromFen: 8800) == "88.00")
        #expect(try AlipayAmount.yuan(fromFen: Int64.max) == "92233720368547758.07")
        expectPaymentError(AlipaySignatureError.invalidAmount("-1")) { _ = try AlipayAmount.yuan(fromFen: -1) }
    }

    @Test func errorCodesAreStable() {
        let table: [(AlipaySignatureError, String, Int)] = [
            (.malformedBody, "malformed_body", 400), (.duplicateParameter("a"), "duplicate_parameter", 400),
            (.missingSign, "missing_sign", 400), (.malformedSignature, "malformed_signature", 400),
            (.badSignature, "bad_signature", 401), (.unsupportedSignType("RSA"), "unsupported_sign_type", 401),
            (.unsupportedCharset("GBK"), "unsupported_charset", 400), (.wrongAppID, "wrong_app_id", 401),
            (.missingField("x"), "missing_field", 400), (.invalidAmount("x"), "invalid_amount", 400),
            (.signingFailed, "signing_failed", 500),
        ]
        for (error, code, status) in table {
            #expect(error.code == code)
            #expect(error.httpStatus == status)
        }
    }
}

// MARK: - Hostile input

/// Random and mutated inputs from a fixed seed: every parser and verifier answers with a typed error, never a trap.
@Suite struct PaymentHostileInputTests {
    static func randomBytes(_ generator: inout PaymentTestGenerator, alphabet: [UInt8]? = nil) -> [UInt8] {
        let count = Int(generator.next(upperBound: UInt64(200)))
        return (0..<count).map { _ in
            guard let alphabet else { return UInt8(truncatingIfNeeded: generator.next()) }
            return alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]
        }
    }

    static let formAlphabet = Array("ab=&%+2BFfz0\u{7F} 中".utf8)
    static let headerAlphabet = Array("WECHATPAY2-SHA256-RSA2048 mchid=\",_noe\\".utf8)

    @Test func alipayBodiesNeverTrap() {
        var generator = PaymentTestGenerator(state: 7)
        let verifier = AlipayNotificationVerifier(appID: "1", alipayPublicKey: PaymentTestKeys.verifier(PaymentTestKeys.alipay))
        for round in 0..<2_000 {
            let bytes = Self.randomBytes(&generator, alphabet: round % 2 == 0 ? Self.formAlphabet : nil)
            #expect(throws: AlipaySignatureError.self) { _ = try verifier.verify(body: Data(bytes)) }
            _ = try? AlipayAmount.fen(fromYuan: String(decoding: bytes.prefix(16), as: UTF8.self))
        }
    }

    @Test func weChatHeadersNeverTrap() {
        var generator = PaymentTestGenerator(state: 11)
        let verifier = WeChatPaySignatureVerifier(keys: WeChatPayCallbackTests.keys)
        for round in 0..<2_000 {
            let bytes = Self.randomBytes(&generator, alphabet: round % 2 == 0 ? Self.headerAlphabet : nil)
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? WeChatPayAuthorization.parse(text)
            _ = try? WeChatPayAuthorization.parse("WECHATPAY2-SHA256-RSA2048 " + text)
            let headers: WeChatPayHeaders = ["Wechatpay-Timestamp": String(text.prefix(12)), "Wechatpay-Nonce": text,
                                             "Wechatpay-Signature": text, "Wechatpay-Serial": PaymentTestKeys.publicKeyID]
            #expect(throws: WeChatPaySignatureError.self) {
                _ = try verifier.verify(headers: headers, body: Data(bytes), now: Date(timeIntervalSince1970: 0))
            }
        }
    }

    @Test func weChatResourcesNeverTrap() throws {
        var generator = PaymentTestGenerator(state: 13)
        let key = try WeChatPayAPIv3Key(WeChatPayResourceTests.apiKey)
        for _ in 0..<1_000 {
            let bytes = Self.randomBytes(&generator)
            let resource = WeChatPayEncryptedResource(
                algorithm: "AEAD_AES_256_GCM", ciphertext: Data(bytes).base64EncodedString(),
                nonce: String(decoding: bytes.prefix(12), as: UTF8.self), associatedData: nil, originalType: nil)
            #expect(throws: WeChatPayResourceError.self) { _ = try WeChatPayResourceCipher.decrypt(resource, key: key) }
            #expect(throws: WeChatPayResourceError.self) { _ = try WeChatPayNotification.decode(from: Data(bytes)) }
            _ = try? PaymentKeyFile.privateKey(pem: String(decoding: bytes, as: UTF8.self))
            _ = try? PaymentKeyFile.certificate(pem: "-----BEGIN CERTIFICATE-----\n" + Data(bytes).base64EncodedString()
                                                  + "\n-----END CERTIFICATE-----\n")
        }
    }
}
