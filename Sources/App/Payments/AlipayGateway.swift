import Foundation
import MallCore
import Vapor

/// Alipay's open platform in public-key mode (RSA2): the mobile-web cashier (`wap`) and the
/// computer cashier (`page`) are signed links the buyer opens; query, close and refund are signed
/// form posts whose JSON answers are checked with the Alipay public key before they are read.
struct AlipayGateway: PaymentGateway {
    let settings: AlipaySettings
    let client: any Client
    let clock: any MallClock
    let logger: Logger

    init(app: Application, settings: AlipaySettings) {
        self.settings = settings
        client = app.client
        clock = app.clock
        logger = app.logger
    }

    var method: PaymentMethod { .alipay }

    enum Channel: String, CaseIterable, Sendable {
        case wap, page

        var apiMethod: String { self == .wap ? "alipay.trade.wap.pay" : "alipay.trade.page.pay" }
        var productCode: String { self == .wap ? "QUICK_WAP_WAY" : "FAST_INSTANT_TRADE_PAY" }
    }

    static func channel(_ text: String?) throws -> Channel {
        guard let text, !text.isEmpty else { return .wap }
        guard let channel = Channel(rawValue: text) else { throw PaymentProviderError.channelUnavailable(method: "alipay", channel: text) }
        return channel
    }

    // MARK: start

    func start(_ payment: PaymentSnapshot, channel: String?, openID: String?) async throws -> PaymentInstruction {
        let channel = try Self.channel(channel)
        try WeChatPayGateway.checkTradeNo(payment.paymentNo)
        struct PayContent: Encodable {
            let outTradeNo: String
            let totalAmount: String
            let subject: String
            let productCode: String
            let timeExpire: String
        }
        let content = PayContent(outTradeNo: payment.paymentNo, totalAmount: try AlipayAmount.yuan(fromFen: payment.amount.fen),
                                 subject: payment.description, productCode: channel.productCode,
                                 timeExpire: ProviderTime.alipay(payment.expiresAt))
        var parameters = try commonParameters(method: channel.apiMethod, content: String(decoding: try Self.encode(content), as: UTF8.self))
        parameters["notify_url"] = settings.notifyURL
        if let returnURL = settings.returnURL { parameters["return_url"] = returnURL }
        let signed = try AlipaySignature.signRequest(parameters, key: settings.appKey)
        return PaymentInstruction(url: settings.gatewayURL + "?" + AlipayForm.encode(signed))
    }

    // MARK: query, close, refund

    struct QueryAnswer: Decodable {
        let code: String
        let subCode: String?
        let tradeNo: String?
        let outTradeNo: String?
        /// WAIT_BUYER_PAY, TRADE_CLOSED, TRADE_SUCCESS or TRADE_FINISHED.
        let tradeStatus: String?
        let totalAmount: String?
    }

    func query(paymentNo: String) async throws -> ProviderPaymentState {
        try WeChatPayGateway.checkTradeNo(paymentNo)
        let answer = try await call("alipay.trade.query", content: ["out_trade_no": paymentNo], as: QueryAnswer.self)
        // The buyer never opened the cashier: Alipay has no trade yet.
        if answer.code == "40004", answer.subCode == "ACQ.TRADE_NOT_EXIST" { return .unpaid }
        try requireSuccess(answer.code, answer.subCode, "alipay.trade.query \(paymentNo)")
        guard answer.outTradeNo == paymentNo else {
            throw PaymentProviderError.badResponse("alipay.trade.query \(paymentNo) answered for \(answer.outTradeNo ?? "-")")
        }
        switch answer.tradeStatus {
        case "TRADE_SUCCESS", "TRADE_FINISHED":
            guard let tradeNo = answer.tradeNo, !tradeNo.isEmpty, let total = answer.totalAmount,
                  let fen = try? AlipayAmount.fen(fromYuan: total) else {
                throw PaymentProviderError.badResponse("alipay.trade.query \(paymentNo): paid without trade_no or amount")
            }
            return .paid(tradeNo: tradeNo, amount: Money(fen: fen))
        case "TRADE_CLOSED":
            return .closed
        default:
            return .unpaid
        }
    }

    struct PlainAnswer: Decodable {
        let code: String
        let subCode: String?
    }

    func close(paymentNo: String) async throws {
        try WeChatPayGateway.checkTradeNo(paymentNo)
        let answer = try await call("alipay.trade.close", content: ["out_trade_no": paymentNo], as: PlainAnswer.self)
        // No trade at Alipay (the cashier was never opened): nothing to close.
        if answer.code == "40004", answer.subCode == "ACQ.TRADE_NOT_EXIST" { return }
        try requireSuccess(answer.code, answer.subCode, "alipay.trade.close \(paymentNo)")
    }

    struct RefundAnswer: Decodable {
        let code: String
        let subCode: String?
        let subMsg: String?
        let tradeNo: String?
        let outTradeNo: String?
        /// "Y" when this request moved money; "N" when it repeats one that already did.
        let fundChange: String?
    }

    struct RefundQueryAnswer: Decodable {
        let code: String
        let subCode: String?
        let outRequestNo: String?
        let refundAmount: String?
        /// REFUND_SUCCESS when the refund is done; absent from older answers that only give the amount.
        let refundStatus: String?
    }

    /// Alipay refunds at once. A repeat of the same `out_request_no` answers `fund_change = N`, so
    /// the refund is then looked up to confirm its amount.
    func refund(_ request: ProviderRefundRequest) async throws -> ProviderRefundState {
        try WeChatPayGateway.checkTradeNo(request.paymentNo)
        let amount = try AlipayAmount.yuan(fromFen: request.refundAmount.fen)
        var content = ["out_trade_no": request.paymentNo, "refund_amount": amount, "out_request_no": request.refundNo]
        if !request.providerTradeNo.isEmpty { content["trade_no"] = request.providerTradeNo }
        if !request.reason.isEmpty { content["refund_reason"] = String(request.reason.prefix(80)) }
        let answer = try await call("alipay.trade.refund", content: content, as: RefundAnswer.self)
        guard answer.code == "10000" else {
            if answer.code == "20000" { throw PaymentProviderError.unavailable("alipay.trade.refund \(request.refundNo): \(answer.subCode ?? "20000")") }
            return .failed(reason: [answer.subCode, answer.subMsg].compactMap { $0 }.joined(separator: " "))
        }
        if answer.fundChange == "Y" { return .succeeded(providerRefundNo: request.refundNo) }
        let found = try await call("alipay.trade.fastpay.refund.query",
                                   content: ["out_trade_no": request.paymentNo, "out_request_no": request.refundNo], as: RefundQueryAnswer.self)
        if found.code == "10000", found.outRequestNo == request.refundNo, found.refundAmount.flatMap({ try? AlipayAmount.fen(fromYuan: $0) }) == request.refundAmount.fen,
           found.refundStatus == nil || found.refundStatus == "REFUND_SUCCESS" {
            return .succeeded(providerRefundNo: request.refundNo)
        }
        return .pending(providerRefundNo: request.refundNo)
    }

    // MARK: the signed exchange

    func commonParameters(method: String, content: String) throws -> [String: String] {
        [
            "app_id": settings.appID, "method": method, "format": "JSON", "charset": "utf-8", "sign_type": AlipaySignature.signType,
            "timestamp": ProviderTime.alipay(clock.now()), "version": "1.0", "biz_content": content,
        ]
    }

    /// Posts one signed request and returns its verified answer member, decoded.
    func call<T: Decodable>(_ method: String, content: [String: String], as type: T.Type) async throws -> T {
        let plain = JSONEncoder()
        plain.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return try await call(method, contentJSON: String(decoding: try plain.encode(content), as: UTF8.self), as: type)
    }

    /// The same with `biz_content` already written (for nested members such as `payee_info`).
    func call<T: Decodable>(_ method: String, contentJSON: String, as type: T.Type) async throws -> T {
        let signed = try AlipaySignature.signRequest(try commonParameters(method: method, content: contentJSON), key: settings.appKey)
        let response: ClientResponse
        do {
            response = try await client.post(URI(string: settings.gatewayURL), headers: [
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json", "User-Agent": "fission-mall",
            ]) { request in
                request.body = ByteBuffer(string: AlipayForm.encode(signed))
                request.timeout = .seconds(10)
            }
        } catch {
            logger.warning("Alipay unreachable: \(method): \(error)")
            throw PaymentProviderError.unavailable(String(describing: error))
        }
        guard response.status == .ok else {
            logger.error("Alipay \(method): HTTP \(response.status.code)")
            throw PaymentProviderError.unavailable("HTTP \(response.status.code)")
        }
        let bytes = response.body.map { Array($0.readableBytesView) } ?? []
        let member: Data
        do {
            member = try AlipayResponse.verify(body: bytes, method: method, alipayPublicKey: settings.alipayPublicKey)
        } catch {
            logger.error("Alipay \(method) answer refused: \(error.code)")
            throw PaymentProviderError.badResponse("answer signature: \(error.code)")
        }
        guard let decoded = try? Self.decoder.decode(T.self, from: member) else {
            throw PaymentProviderError.badResponse("\(method): unexpected answer")
        }
        return decoded
    }

    private func requireSuccess(_ code: String, _ subCode: String?, _ context: String) throws {
        guard code != "10000" else { return }
        let error: PaymentProviderError = code == "20000" ? .unavailable("\(code) \(subCode ?? "")") : .refused(code: subCode ?? code, message: code)
        logger.error("Alipay \(context): \(error.detail)")
        throw error
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return try encoder.encode(value)
    }
}

// MARK: - Notifications

/// What a verified Alipay notification asks of us.
enum AlipayEvent: Equatable {
    case paid(paymentNo: String, tradeNo: String, amount: Money)
    /// Verified, nothing to do (waiting for the buyer, closed, or a status we do not act on).
    case ignored(String)
}

/// A notification refused before anything changed.
struct AlipayCallbackRefusal: Error, Equatable {
    let status: HTTPStatus
    let code: String
}

extension AlipayGateway {
    /// Checks the raw form body with the Alipay public key and reads it. `app_id` is checked by the
    /// verifier; the seller, when configured, here.
    func event(body: Data) throws(AlipayCallbackRefusal) -> AlipayEvent {
        let notification: AlipayNotification
        do {
            notification = try AlipayNotificationVerifier(appID: settings.appID, alipayPublicKey: settings.alipayPublicKey).verify(body: body)
        } catch {
            throw AlipayCallbackRefusal(status: HTTPStatus(statusCode: error.httpStatus), code: error.code)
        }
        if let sellerID = settings.sellerID, notification.sellerID != sellerID {
            throw AlipayCallbackRefusal(status: .badRequest, code: "wrong_seller")
        }
        switch notification.tradeStatus {
        case "TRADE_SUCCESS", "TRADE_FINISHED":
            guard (try? WeChatPayGateway.checkTradeNo(notification.outTradeNo)) != nil else {
                throw AlipayCallbackRefusal(status: .badRequest, code: "bad_out_trade_no")
            }
            return .paid(paymentNo: notification.outTradeNo, tradeNo: notification.tradeNo, amount: Money(fen: notification.totalAmountFen))
        default:
            return .ignored(notification.tradeStatus)
        }
    }
}
