import Foundation

/// Alipay's synchronous answers: `{"alipay_trade_query_response":{…},"sign":"…"}`.
///
/// The signature covers the text of the `…_response` member exactly as received, so the member is
/// cut out of the raw bytes, never re-encoded from a decoded value.
public enum AlipayResponse {
    /// `alipay.trade.query` → `alipay_trade_query_response`.
    public static func memberName(method: String) -> String {
        method.replacingOccurrences(of: ".", with: "_") + "_response"
    }

    /// The verified bytes of the method's member (or of `error_response`, which Alipay sends instead
    /// for a request it could not attribute to a method). An unsigned answer is refused.
    public static func verify(body: some DataProtocol, method: String,
                              alipayPublicKey: PaymentKeyVerifier) throws(AlipaySignatureError) -> Data {
        let members = try AlipayRawJSON.topLevelMembers(Array(body))
        let name = memberName(method: method)
        guard let content = members[name] ?? members["error_response"] else { throw .missingField(name) }
        guard let rawSign = members["sign"] else { throw .missingSign }
        guard let sign = AlipayRawJSON.decodeString(rawSign), !sign.isEmpty else { throw .malformedSignature }
        try AlipaySignature.verify(sign, content: String(decoding: content, as: UTF8.self), key: alipayPublicKey)
        return Data(content)
    }

    /// What a fake Alipay answers: the member text as given, then its signature.
    public static func sign(memberJSON: String, method: String,
                            alipayKey: PaymentKeySigner) throws(AlipaySignatureError) -> String {
        let sign = try AlipaySignature.sign(memberJSON, key: alipayKey)
        return "{\"\(memberName(method: method))\":\(memberJSON),\"sign\":\"\(sign)\"}"
    }
}

/// Just enough JSON reading to find the byte ranges of a top-level object's members. Values are
/// skipped by bracket depth with strings respected; what is cut out is then decoded by
/// `JSONDecoder`, which checks it fully.
enum AlipayRawJSON {
    static let maximumBytes = 1 << 20
    static let maximumDepth = 64

    /// Member name → raw value bytes, for a body that is one JSON object. Repeated names are refused.
    static func topLevelMembers(_ bytes: [UInt8]) throws(AlipaySignatureError) -> [String: ArraySlice<UInt8>] {
        guard bytes.count <= maximumBytes else { throw .malformedBody }
        var index = skipSpace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw .malformedBody }
        index += 1
        var members: [String: ArraySlice<UInt8>] = [:]
        index = skipSpace(bytes, index)
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            guard skipSpace(bytes, index + 1) == bytes.count else { throw .malformedBody }
            return members
        }
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformedBody }
            let keyEnd = try endOfString(bytes, index)
            guard let name = decodeString(bytes[index..<keyEnd]) else { throw .malformedBody }
            index = skipSpace(bytes, keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw .malformedBody }
            index = skipSpace(bytes, index + 1)
            let valueEnd = try endOfValue(bytes, index)
            guard members[name] == nil else { throw .duplicateParameter(name) }
            members[name] = bytes[index..<valueEnd]
            index = skipSpace(bytes, valueEnd)
            guard index < bytes.count else { throw .malformedBody }
            if bytes[index] == UInt8(ascii: ",") {
                index = skipSpace(bytes, index + 1)
                continue
            }
            guard bytes[index] == UInt8(ascii: "}"), skipSpace(bytes, index + 1) == bytes.count else { throw .malformedBody }
            return members
        }
    }

    /// A JSON string literal (quotes included) as text.
    static func decodeString(_ raw: ArraySlice<UInt8>) -> String? {
        var wrapped = Data("[".utf8)
        wrapped.append(contentsOf: raw)
        wrapped.append(contentsOf: Array("]".utf8))
        return (try? JSONDecoder().decode([String].self, from: wrapped))?.first
    }

    static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
        var index = start
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        return index
    }

    /// The index just past the string starting at `start` (which holds the opening quote).
    static func endOfString(_ bytes: [UInt8], _ start: Int) throws(AlipaySignatureError) -> Int {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""): return index + 1
            case UInt8(ascii: "\\"): index += 2
            case 0x00..<0x20: throw .malformedBody
            default: index += 1
            }
        }
        throw .malformedBody
    }

    /// The index just past the value starting at `start`: an object or array by depth, a string,
    /// or a number or literal up to the next delimiter.
    static func endOfValue(_ bytes: [UInt8], _ start: Int) throws(AlipaySignatureError) -> Int {
        guard start < bytes.count else { throw .malformedBody }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return try endOfString(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index = try endOfString(bytes, index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    guard depth <= maximumDepth else { throw .malformedBody }
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            throw .malformedBody
        default:
            var index = start
            while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
                index += 1
            }
            guard index > start else { throw .malformedBody }
            return index
        }
    }
}
