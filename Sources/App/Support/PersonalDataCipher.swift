import Crypto
import Foundation
import Vapor

/// Encrypts personal data (phone, ID number, bank card) with AES-256-GCM and derives a keyed
/// hash for equality look-ups, so that the database never holds the plaintext.
public struct PersonalDataCipher: Sendable {
    private let encryptionKey: SymmetricKey
    private let lookupKey: SymmetricKey

    public init(masterKey: SymmetricKey) {
        // Separate keys for the two jobs, both derived from the one configured secret.
        encryptionKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: masterKey, info: Data("fission.pii.encrypt.v1".utf8), outputByteCount: 32)
        lookupKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: masterKey, info: Data("fission.pii.lookup.v1".utf8), outputByteCount: 32)
    }

    /// base64(nonce ‖ ciphertext ‖ tag)
    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: encryptionKey)
        guard let combined = box.combined else { throw Abort(.internalServerError, reason: "AES-GCM produced no output") }
        return combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw Abort(.internalServerError, reason: "sealed value is not base64") }
        let box = try AES.GCM.SealedBox(combined: data)
        let plain = try AES.GCM.open(box, using: encryptionKey)
        return String(decoding: plain, as: UTF8.self)
    }

    /// Hex HMAC-SHA256 of the value, stable for the same key: the column to search and index on.
    public func lookupHash(_ value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: lookupKey)
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}

extension Application {
    public var personalData: PersonalDataCipher { PersonalDataCipher(masterKey: config.dataKey) }
}

extension Request {
    var personalData: PersonalDataCipher { application.personalData }
}

enum Tokens {
    /// A URL-safe random token of `byteCount` random bytes.
    static func random(byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Compares secrets without stopping at the first different byte, so timing tells nothing.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func sha256Hex(_ value: String) -> String {
        SHA256.hash(data: Data(value.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
