import Crypto
import Foundation
import MallCore
import Vapor

extension WeChatPayGateway {
    struct TradeBillAnswer: Decodable {
        let downloadUrl: String
        let hashType: String
        let hashValue: String
    }

    /// `GET /v3/bill/tradebill` (signed, answer verified) names the file; the file itself is fetched
    /// with a signed GET from the same host, arrives unsigned, and must match the SHA-1 the signed
    /// answer gave before a line of it is read. WeChat publishes a day's bill after 10:00 the next day.
    func bill(for day: BillDay) async throws -> [ProviderBillLine] {
        let answer = try await call(.GET, "/v3/bill/tradebill?bill_date=\(day)&bill_type=ALL", body: nil)
        guard answer.status == .ok, let named = try? Self.decoder.decode(TradeBillAnswer.self, from: answer.body) else {
            if answer.status.code >= 500 || answer.status == .tooManyRequests {
                throw PaymentProviderError.unavailable("tradebill \(day): HTTP \(answer.status.code)")
            }
            if let failure = answer.error { throw PaymentProviderError.refused(code: failure.code, message: failure.message) }
            throw PaymentProviderError.badResponse("tradebill \(day): HTTP \(answer.status.code)")
        }
        guard named.hashType.uppercased() == "SHA1", named.hashValue.count == 40 else {
            throw PaymentProviderError.badResponse("tradebill \(day): hash \(named.hashType)")
        }
        // Our Authorization goes only to WeChat's own host, never to wherever a URL points.
        guard let target = URLComponents(string: named.downloadUrl), let base = URLComponents(string: settings.apiBaseURL),
              target.scheme?.lowercased() == base.scheme?.lowercased(), target.host?.lowercased() == base.host?.lowercased(), target.port == base.port,
              !target.percentEncodedPath.isEmpty else {
            throw PaymentProviderError.badResponse("tradebill \(day): download URL on another host")
        }
        let signedPath = target.percentEncodedPath + (target.percentEncodedQuery.map { "?" + $0 } ?? "")
        let file = try await send(.GET, url: named.downloadUrl, signedPath: signedPath, body: nil, verifyAnswer: false)
        guard file.status == .ok else {
            throw PaymentProviderError.unavailable("billdownload \(day): HTTP \(file.status.code)")
        }
        let digest = Insecure.SHA1.hash(data: file.body).map { String(format: "%02x", $0) }.joined()
        guard Tokens.constantTimeEquals(digest, named.hashValue.lowercased()) else {
            throw PaymentProviderError.badResponse("billdownload \(day): SHA-1 does not match")
        }
        do {
            return try WeChatPayBill.parse(Array(file.body))
        } catch {
            throw PaymentProviderError.badResponse("bill \(day) unreadable: \(error)")
        }
    }
}
