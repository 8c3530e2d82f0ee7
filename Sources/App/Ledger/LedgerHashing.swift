import Crypto
import Foundation
import MallCore

/// SHA-256 and the stored forms of what the ledger hashes: hashes as lowercase hex, ids as
/// lowercase UUID text, times to the millisecond (so a time reads back the same from SQLite's
/// floating seconds and PostgreSQL's microseconds).
enum LedgerHashing {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for text that is not lowercase hex of whole bytes.
    static func bytes(hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func digest(of draft: LedgerTransactionDraft) -> String { hex(sha256(draft.canonicalBytes)) }

    static func text(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// The time as the chain covers it: whole milliseconds, in microseconds.
    static func micros(_ date: Date) -> Int64 { (CheckedNumber.int64(date.timeIntervalSince1970 * 1_000) ?? 0) * 1_000 }

    /// `date` cut to the millisecond, as a ledger transaction stores it.
    static func storedTime(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000).rounded(.down) / 1_000)
    }
}
