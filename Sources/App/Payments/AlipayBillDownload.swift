import Foundation
import MallCore
import Vapor

extension AlipayGateway {
    struct BillURLAnswer: Decodable {
        let code: String
        let subCode: String?
        let subMsg: String?
        let billDownloadUrl: String?
    }

    /// `alipay.data.dataservice.bill.downloadurl.query` (signed, answer verified) gives a short-lived
    /// link that carries its own authorisation; the ZIP behind it is fetched without our keys.
    func bill(for day: BillDay) async throws -> [ProviderBillLine] {
        let answer = try await call("alipay.data.dataservice.bill.downloadurl.query",
                                    content: ["bill_type": "trade", "bill_date": day.description], as: BillURLAnswer.self)
        guard answer.code == "10000", let link = answer.billDownloadUrl, !link.isEmpty else {
            // isp.bill_not_exist: not published yet (or nothing to publish); the day is tried again.
            if answer.code == "20000" { throw PaymentProviderError.unavailable("bill \(day): \(answer.subCode ?? answer.code)") }
            throw PaymentProviderError.refused(code: answer.subCode ?? answer.code, message: answer.subMsg ?? "")
        }
        guard let url = URL(string: link), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil else {
            throw PaymentProviderError.badResponse("bill \(day): download link \(link.prefix(80))")
        }
        let response: ClientResponse
        do {
            response = try await client.get(URI(string: link), headers: ["User-Agent": "fission-mall"]) { $0.timeout = .seconds(30) }
        } catch {
            throw PaymentProviderError.unavailable("bill \(day): \(error)")
        }
        guard response.status == .ok else { throw PaymentProviderError.unavailable("bill \(day): HTTP \(response.status.code)") }
        let bytes = response.body.map { Array($0.readableBytesView) } ?? []
        do {
            return try AlipayBill.parse(zip: bytes)
        } catch {
            throw PaymentProviderError.badResponse("bill \(day) unreadable: \(error)")
        }
    }
}
