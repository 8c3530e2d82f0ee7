import Foundation
import Crypto
import _CryptoExtras
import X509

/// Why a key, public key or certificate could not be loaded or used.
///
/// Loading happens at start-up from files an operator placed; each case names the fix.
public enum PaymentKeyError: Error, Equatable, Sendable {
    /// The file could not be read (missing, unreadable, not UTF-8 text).
    case unreadableFile(path: String)
    /// Neither a PEM block nor bare base64 DER.
    case notPEM
    /// A PEM block of another kind, e.g. a certificate where a private key was expected.
    case unexpectedPEMLabel(String)
    /// A password-protected key; decrypt it first (`openssl pkey -in k.pem -out plain.pem`).
    case encryptedKey
    /// The bytes are not an RSA key or certificate that can be parsed.
    case invalidKey
    /// The certificate could not be parsed.
    case invalidCertificate
    /// The certificate holds a key that is not RSA; both providers sign with RSA only.
    case notRSA
    /// Under 2048 bits: both providers require RSA 2048 or larger.
    case keyTooSmall(bits: Int)
    /// The cryptographic library refused to sign (should not happen with a loaded key).
    case signingFailed

    /// A stable code for logs.
    public var code: String {
        switch self {
        case .unreadableFile: "unreadable_file"
        case .notPEM: "not_pem"
        case .unexpectedPEMLabel: "unexpected_pem_label"
        case .encryptedKey: "encrypted_key"
        case .invalidKey: "invalid_key"
        case .invalidCertificate: "invalid_certificate"
        case .notRSA: "not_rsa"
        case .keyTooSmall: "key_too_small"
        case .signingFailed: "signing_failed"
        }
    }
}

/// How a presented signature compared with a message.
public enum PaymentKeySignatureCheck: Equatable, Sendable {
    case valid
    /// Not base64, empty, or of a length no RSA signature of this key can have.
    case malformed
    /// Well-formed but does not match the message under this key.
    case invalid
}

/// A private RSA key making SHA256withRSA (PKCS#1 v1.5) signatures, the one scheme both
/// WeChat Pay API v3 and Alipay RSA2 use.
public struct PaymentKeySigner: Sendable {
    public let key: _RSA.Signing.PrivateKey

    public init(_ key: _RSA.Signing.PrivateKey) { self.key = key }

    /// The matching public key, e.g. for a fake provider that checks our signatures.
    public var verifier: PaymentKeyVerifier { PaymentKeyVerifier(key.publicKey) }

    /// The raw signature over the SHA-256 digest of `message`.
    public func signature(for message: some DataProtocol) throws(PaymentKeyError) -> Data {
        do {
            let digest = SHA256.hash(data: message)
            return try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation
        } catch {
            throw .signingFailed
        }
    }

    /// The signature in standard base64, as both providers carry it.
    public func base64Signature(for message: some DataProtocol) throws(PaymentKeyError) -> String {
        try signature(for: message).base64EncodedString()
    }
}

/// A public RSA key that checks SHA256withRSA (PKCS#1 v1.5) signatures.
public struct PaymentKeyVerifier: Sendable {
    public let key: _RSA.Signing.PublicKey

    public init(_ key: _RSA.Signing.PublicKey) { self.key = key }

    /// Checks a base64 signature; never traps on hostile text.
    public func check(base64Signature: String, for message: some DataProtocol) -> PaymentKeySignatureCheck {
        guard let raw = PaymentKeyBase64.decode(base64Signature) else { return .malformed }
        return check(signature: raw, for: message)
    }

    /// Checks raw signature bytes. A length other than the modulus length is malformed, not merely wrong.
    public func check(signature raw: Data, for message: some DataProtocol) -> PaymentKeySignatureCheck {
        guard !raw.isEmpty, raw.count * 8 == key.keySizeInBits else { return .malformed }
        let signature = _RSA.Signing.RSASignature(rawRepresentation: raw)
        let digest = SHA256.hash(data: message)
        return key.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5) ? .valid : .invalid
    }
}

/// A parsed X.509 certificate with the serial number in the form WeChat Pay prints it.
public struct PaymentKeyCertificate: Sendable {
    public let certificate: Certificate
    /// Upper-case hex, no separators, no leading zero bytes: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".
    public let serialNumber: String
    public let verifier: PaymentKeyVerifier

    public init(_ certificate: Certificate) throws(PaymentKeyError) {
        guard let rsa = _RSA.Signing.PublicKey(certificate.publicKey) else { throw .notRSA }
        guard rsa.keySizeInBits >= PaymentKeyFile.minimumBits else { throw .keyTooSmall(bits: rsa.keySizeInBits) }
        self.certificate = certificate
        self.serialNumber = PaymentKeyCertificate.hex(certificate.serialNumber.bytes)
        self.verifier = PaymentKeyVerifier(rsa)
    }

    public var notValidBefore: Date { certificate.notValidBefore }
    public var notValidAfter: Date { certificate.notValidAfter }

    /// Upper-case hex of a big-endian integer without the sign-padding zero bytes DER adds.
    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let significant = bytes.drop(while: { $0 == 0 })
        let digits = significant.map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + text : text
        }.joined()
        return digits.isEmpty ? "00" : digits
    }
}

/// Reads the key material operators download from the providers' consoles.
///
/// Accepts PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SPKI `PUBLIC KEY`,
/// PKCS#1 `RSA PUBLIC KEY`, `CERTIFICATE`) and, because Alipay's key tool hands out keys
/// that way, bare base64 of the same DER without the BEGIN/END lines.
public enum PaymentKeyFile {
    static let minimumBits = 2048

    /// A merchant or application private key.
    public static func privateKey(pem text: String) throws(PaymentKeyError) -> PaymentKeySigner {
        let block = try PaymentKeyPEM.firstBlock(in: text)
        switch block.label {
        case "PRIVATE KEY", "RSA PRIVATE KEY", nil: break
        case "ENCRYPTED PRIVATE KEY": throw .encryptedKey
        case let other?: throw .unexpectedPEMLabel(other)
        }
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(unsafeDERRepresentation: block.der) } catch { throw .invalidKey }
        guard key.keySizeInBits >= minimumBits else { throw .keyTooSmall(bits: key.keySizeInBits) }
        return PaymentKeySigner(key)
    }

    /// A provider public key (WeChat Pay public key `pub_key.pem`, Alipay public key).
    public static func publicKey(pem text: String) throws(PaymentKeyError) -> PaymentKeyVerifier {
        let block = try PaymentKeyPEM.firstBlock(in: text)
        switch block.label {
        case "PUBLIC KEY", "RSA PUBLIC KEY", nil: break
        case let other?: throw .unexpectedPEMLabel(other)
        }
        let key: _RSA.Signing.PublicKey
        do { key = try _RSA.Signing.PublicKey(unsafeDERRepresentation: block.der) } catch { throw .invalidKey }
        guard key.keySizeInBits >= minimumBits else { throw .keyTooSmall(bits: key.keySizeInBits) }
        return PaymentKeyVerifier(key)
    }

    /// A certificate (WeChat Pay platform certificate, or a merchant API certificate).
    public static func certificate(pem text: String) throws(PaymentKeyError) -> PaymentKeyCertificate {
        let block = try PaymentKeyPEM.firstBlock(in: text)
        switch block.label {
        case "CERTIFICATE", nil: break
        case let other?: throw .unexpectedPEMLabel(other)
        }
        let certificate: Certificate
        do { certificate = try Certificate(derEncoded: Array(block.der)) } catch { throw .invalidCertificate }
        return try PaymentKeyCertificate(certificate)
    }

    public static func privateKey(contentsOf url: URL) throws(PaymentKeyError) -> PaymentKeySigner {
        try privateKey(pem: readText(url))
    }

    public static func publicKey(contentsOf url: URL) throws(PaymentKeyError) -> PaymentKeyVerifier {
        try publicKey(pem: readText(url))
    }

    public static func certificate(contentsOf url: URL) throws(PaymentKeyError) -> PaymentKeyCertificate {
        try certificate(pem: readText(url))
    }

    /// Key files are small text; anything larger than 64 KiB is not one.
    static func readText(_ url: URL) throws(PaymentKeyError) -> String {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadableFile(path: url.path) }
        guard data.count <= 65_536, let text = String(data: data, encoding: .utf8) else {
            throw .unreadableFile(path: url.path)
        }
        return text
    }
}

/// Minimal PEM reading, so that a wrong file gets a precise error instead of a library failure.
enum PaymentKeyPEM {
    struct Block {
        /// nil when the input was bare base64 without BEGIN/END lines.
        let label: String?
        let der: Data
    }

    /// The first PEM block, or the whole text read as bare base64.
    static func firstBlock(in text: String) throws(PaymentKeyError) -> Block {
        guard let begin = text.range(of: "-----BEGIN ") else {
            guard let der = PaymentKeyBase64.decode(stripWhitespace(text)), !der.isEmpty else { throw .notPEM }
            return Block(label: nil, der: der)
        }
        let afterBegin = text[begin.upperBound...]
        guard let labelEnd = afterBegin.range(of: "-----") else { throw .notPEM }
        let label = String(afterBegin[..<labelEnd.lowerBound])
        let body = afterBegin[labelEnd.upperBound...]
        guard let end = body.range(of: "-----END " + label + "-----") else { throw .notPEM }
        let content = body[..<end.lowerBound]
        // RFC 1421 headers (Proc-Type: 4,ENCRYPTED) mark an old-style encrypted key.
        if content.contains(":") { throw .encryptedKey }
        guard let der = PaymentKeyBase64.decode(stripWhitespace(content)), !der.isEmpty else { throw .notPEM }
        return Block(label: label, der: der)
    }

    static func stripWhitespace(_ text: some StringProtocol) -> String {
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) })
        return String(kept)
    }
}

/// Strict standard base64 (RFC 4648 section 4, padded), the form both providers use.
enum PaymentKeyBase64 {
    static func decode(_ text: String) -> Data? {
        guard !text.isEmpty, text.utf8.count % 4 == 0 else { return nil }
        return Data(base64Encoded: text)
    }
}
