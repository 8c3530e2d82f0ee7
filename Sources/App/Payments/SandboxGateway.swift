import Crypto
import Foundation
import MallCore
import Vapor

/// The development provider. Its "payment page" records a charge and sends a callback signed with
/// the sandbox key (HMAC-SHA256 over `timestamp\nbody`), which goes through the same checks as a
/// real provider's: signature, a five-minute window, then `PaymentService.confirm`.
struct SandboxGateway {
    let key: SymmetricKey

    init(dataKey: SymmetricKey) {
        key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data("fission-sandbox-payments".utf8), using: dataKey))
    }

    struct Notification: Codable, Sendable {
        let paymentNo: String
        let tradeNo: String
        let amountFen: Int64
    }

    static let maxSkewSeconds: Int64 = 300

    func sign(body: [UInt8], timestamp: Int64) -> String {
        var message = Data("\(timestamp)\n".utf8)
        message.append(contentsOf: body)
        return HMAC<SHA256>.authenticationCode(for: message, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks the raw body as received against its signature and time.
    func verify(body: [UInt8], timestamp: String?, signature: String?, now: Date) throws -> Notification {
        guard let timestamp, let seconds = Int64(timestamp), let signature else { throw Self.refused }
        let nowSeconds = CheckedNumber.int64(now.timeIntervalSince1970, rounding: .down) ?? 0
        let (skew, overflow) = nowSeconds.subtractingReportingOverflow(seconds)
        guard !overflow, skew.magnitude <= UInt64(Self.maxSkewSeconds) else { throw Self.refused }
        guard Tokens.constantTimeEquals(sign(body: body, timestamp: seconds), signature.lowercased()) else { throw Self.refused }
        guard let notification = try? JSONDecoder().decode(Notification.self, from: Data(body)) else { throw Self.refused }
        return notification
    }

    static let refused = APIError(.unauthorized, "payment.bad_signature", .init("支付通知签名无效", "The payment notification signature is invalid"))
}

extension Application {
    var sandboxGateway: SandboxGateway { SandboxGateway(dataKey: config.dataKey) }
}
