import Foundation
import MallCore
import Vapor

/// WeChat Pay API v3: JSAPI (inside WeChat), H5 (other mobile browsers) and Native (a QR code on a
/// computer). Every request is signed with the merchant key and every answer's signature is checked
/// with WeChat Pay's keys before a field of it is used.
struct WeChatPayGateway: PaymentGateway {
    let settings: WeChatPaySettings
    let client: any Client
    let clock: any MallClock
    let logger: Logger

    init(app: Application, settings: WeChatPaySettings) {
        self.settings = settings
        client = app.client
        clock = app.clock
        logger = app.logger
    }

    var method: PaymentMethod { .wechat }

    enum Channel: String, CaseIterable, Sendable {
        case jsapi, h5, native
    }

    /// The channel asked for, or the one that fits: JSAPI when the page knows the payer's openid.
    static func channel(_ text: String?, openID: String?) throws -> Channel {
        guard let text, !text.isEmpty else { return openID == nil ? .native : .jsapi }
        guard let channel = Channel(rawValue: text) else { throw PaymentProviderError.channelUnavailable(method: "wechat", channel: text) }
        if channel == .jsapi, (openID ?? "").isEmpty { throw PaymentProviderError.openIDRequired }
        return channel
    }

    // MARK: start

    struct PrepayRequest: Encodable {
        struct Amount: Encodable { let total: Int64; let currency: String }
        struct Payer: Encodable { let openid: String }
        struct SceneInfo: Encodable {
            struct H5Info: Encodable { let type: String }
            let payerClientIp: String
            let h5Info: H5Info
        }
        let appid: String
        let mchid: String
        let description: String
        let outTradeNo: String
        let timeExpire: String
        let notifyUrl: String
        let amount: Amount
        let payer: Payer?
        let sceneInfo: SceneInfo?
    }

    struct PrepayAnswer: Decodable {
        let prepayId: String?
        let h5Url: String?
        let codeUrl: String?
    }

    func start(_ payment: PaymentSnapshot, channel: String?, openID: String?) async throws -> PaymentInstruction {
        let channel = try Self.channel(channel, openID: openID)
        try Self.checkTradeNo(payment.paymentNo)
        let request = PrepayRequest(
            appid: settings.appID, mchid: settings.merchantID, description: payment.description, outTradeNo: payment.paymentNo,
            timeExpire: ProviderTime.rfc3339(payment.expiresAt), notifyUrl: settings.notifyURL,
            amount: .init(total: payment.amount.fen, currency: "CNY"),
            payer: channel == .jsapi ? .init(openid: openID ?? "") : nil,
            sceneInfo: channel == .h5 ? .init(payerClientIp: payment.payerClientIP ?? "", h5Info: .init(type: "Wap")) : nil)
        let answer = try await call(.POST, "/v3/pay/transactions/\(channel.rawValue)", body: Self.encode(request))
        guard answer.status == .ok, let prepay = try? Self.decoder.decode(PrepayAnswer.self, from: answer.body) else {
            throw providerError(answer, "prepay \(channel.rawValue) \(payment.paymentNo)")
        }
        switch channel {
        case .jsapi:
            guard let prepayID = prepay.prepayId, !prepayID.isEmpty else { throw PaymentProviderError.badResponse("prepay without prepay_id") }
            var generator = SystemRandomNumberGenerator()
            let parameters = try WeChatPayJSAPI.payParameters(
                appId: settings.appID, prepayID: prepayID, timestamp: ProviderTime.seconds(clock.now()),
                nonce: WeChatPayNonce.make(using: &generator), key: settings.merchantKey)
            return PaymentInstruction(jsapi: parameters.dictionary)
        case .h5:
            guard let url = prepay.h5Url, !url.isEmpty else { throw PaymentProviderError.badResponse("prepay without h5_url") }
            return PaymentInstruction(url: url)
        case .native:
            guard let url = prepay.codeUrl, !url.isEmpty else { throw PaymentProviderError.badResponse("prepay without code_url") }
            return PaymentInstruction(codeURL: url)
        }
    }

    // MARK: query, close

    func query(paymentNo: String) async throws -> ProviderPaymentState {
        try Self.checkTradeNo(paymentNo)
        let answer = try await call(.GET, "/v3/pay/transactions/out-trade-no/\(paymentNo)?mchid=\(settings.merchantID)", body: nil)
        if answer.status == .notFound, answer.errorCode == "ORDER_NOT_EXIST" { return .unpaid }
        guard answer.status == .ok, let transaction = try? JSONDecoder().decode(WeChatPayTransaction.self, from: answer.body) else {
            throw providerError(answer, "query \(paymentNo)")
        }
        guard transaction.mchid == settings.merchantID, transaction.appid == settings.appID, transaction.outTradeNo == paymentNo else {
            throw PaymentProviderError.badResponse("query \(paymentNo) answered for \(transaction.mchid)/\(transaction.appid)/\(transaction.outTradeNo)")
        }
        switch transaction.tradeState {
        case "SUCCESS", "REFUND":
            // REFUND: paid, and a refund has been asked for since.
            guard let tradeNo = transaction.transactionID, !tradeNo.isEmpty, transaction.amount.currency == "CNY" else {
                throw PaymentProviderError.badResponse("query \(paymentNo): paid without transaction_id or in \(transaction.amount.currency)")
            }
            return .paid(tradeNo: tradeNo, amount: Money(fen: transaction.amount.total))
        case "CLOSED", "REVOKED":
            return .closed
        default:
            // NOTPAY, USERPAYING, PAYERROR: no money yet.
            return .unpaid
        }
    }

    func close(paymentNo: String) async throws {
        try Self.checkTradeNo(paymentNo)
        struct CloseRequest: Encodable { let mchid: String }
        let answer = try await call(.POST, "/v3/pay/transactions/out-trade-no/\(paymentNo)/close", body: Self.encode(CloseRequest(mchid: settings.merchantID)))
        if answer.status == .noContent || answer.status == .ok { return }
        // Never created at WeChat (the buyer did not get as far): nothing to close.
        if answer.status == .notFound, answer.errorCode == "ORDER_NOT_EXIST" { return }
        throw providerError(answer, "close \(paymentNo)")
    }

    // MARK: refund

    struct RefundRequest: Encodable {
        struct Amount: Encodable { let refund: Int64; let total: Int64; let currency: String }
        let transactionId: String?
        let outTradeNo: String?
        let outRefundNo: String
        let reason: String?
        let notifyUrl: String
        let amount: Amount
    }

    struct RefundAnswer: Decodable {
        let refundId: String
        let outRefundNo: String
        /// SUCCESS, CLOSED, PROCESSING or ABNORMAL.
        let status: String
    }

    func refund(_ request: ProviderRefundRequest) async throws -> ProviderRefundState {
        try Self.checkTradeNo(request.refundNo)
        let body = RefundRequest(
            transactionId: request.providerTradeNo.isEmpty ? nil : request.providerTradeNo,
            outTradeNo: request.providerTradeNo.isEmpty ? request.paymentNo : nil,
            outRefundNo: request.refundNo, reason: request.reason.isEmpty ? nil : String(request.reason.prefix(80)),
            notifyUrl: settings.notifyURL,
            amount: .init(refund: request.refundAmount.fen, total: request.paymentAmount.fen, currency: "CNY"))
        let answer = try await call(.POST, "/v3/refund/domestic/refunds", body: Self.encode(body))
        if answer.status.code >= 400, answer.status.code < 500, answer.status != .tooManyRequests {
            // A business refusal (not enough balance, refund period over …): the refund did not start.
            let error = providerError(answer, "refund \(request.refundNo)")
            return .failed(reason: error.detail)
        }
        guard answer.status == .ok, let refund = try? Self.decoder.decode(RefundAnswer.self, from: answer.body) else {
            throw providerError(answer, "refund \(request.refundNo)")
        }
        guard refund.outRefundNo == request.refundNo, !refund.refundId.isEmpty else {
            throw PaymentProviderError.badResponse("refund \(request.refundNo) answered for \(refund.outRefundNo)")
        }
        switch refund.status {
        case "SUCCESS": return .succeeded(providerRefundNo: refund.refundId)
        case "PROCESSING": return .pending(providerRefundNo: refund.refundId)
        default: return .failed(reason: refund.status)
        }
    }

    // MARK: the signed HTTP exchange

    struct Answer {
        let status: HTTPStatus
        let body: Data
        /// WeChat's error code from an error answer (`{"code":"…","message":"…"}`).
        var errorCode: String? { error?.code }
        var error: (code: String, message: String)? {
            struct Failure: Decodable { let code: String; let message: String? }
            guard let failure = try? JSONDecoder().decode(Failure.self, from: body) else { return nil }
            return (failure.code, failure.message ?? "")
        }
    }

    /// Sends one signed request. A 2xx answer comes back only when its signature checks out.
    func call(_ method: HTTPMethod, _ pathWithQuery: String, body: Data?, headers extra: [(String, String)] = []) async throws -> Answer {
        // The signed path is the one the server sees, including any prefix the base URL has.
        let signedPath = (URLComponents(string: settings.apiBaseURL)?.percentEncodedPath ?? "") + pathWithQuery
        return try await send(method, url: settings.apiBaseURL + pathWithQuery, signedPath: signedPath, body: body, verifyAnswer: true, headers: extra)
    }

    /// One signed request to `url`. `verifyAnswer` is false only for a bill file, which WeChat
    /// sends unsigned and which is checked against the hash its signed answer gave instead.
    func send(_ method: HTTPMethod, url: String, signedPath: String, body: Data?, verifyAnswer: Bool,
              headers extra: [(String, String)] = []) async throws -> Answer {
        let pathWithQuery = signedPath
        var generator = SystemRandomNumberGenerator()
        let authorization: String
        do {
            authorization = try WeChatPayRequestSigner(merchantID: settings.merchantID, serialNumber: settings.merchantSerial, key: settings.merchantKey)
                .authorization(method: method.rawValue, pathWithQuery: signedPath, body: body ?? Data(),
                               timestamp: ProviderTime.seconds(clock.now()), nonce: WeChatPayNonce.make(using: &generator))
        } catch {
            throw PaymentProviderError.unavailable("signing failed: \(error.code)")
        }
        var headers: HTTPHeaders = ["Authorization": authorization, "Accept": "application/json", "User-Agent": "fission-mall"]
        if body != nil { headers.add(name: .contentType, value: "application/json") }
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        let response: ClientResponse
        do {
            response = try await client.send(method, headers: headers, to: URI(string: url)) { request in
                if let body { request.body = ByteBuffer(data: body) }
                request.timeout = .seconds(10)
            }
        } catch {
            logger.warning("WeChat Pay unreachable: \(method.rawValue) \(pathWithQuery): \(error)")
            throw PaymentProviderError.unavailable(String(describing: error))
        }
        let bytes = response.body.map { Data($0.readableBytesView) } ?? Data()
        if verifyAnswer, (200..<300).contains(response.status.code) {
            let received = WeChatPayHeaders(response.headers.map { ($0.name, $0.value) })
            do {
                _ = try WeChatPaySignatureVerifier(keys: settings.platformKeys).verify(headers: received, body: bytes, now: clock.now())
            } catch {
                logger.error("WeChat Pay answer refused: \(method.rawValue) \(pathWithQuery): \(error.code)")
                throw PaymentProviderError.badResponse("answer signature: \(error.code)")
            }
        }
        return Answer(status: response.status, body: bytes)
    }

    func providerError(_ answer: Answer, _ context: String) -> PaymentProviderError {
        let error: PaymentProviderError
        if answer.status.code >= 500 || answer.status == .tooManyRequests {
            error = .unavailable("HTTP \(answer.status.code)")
        } else if let failure = answer.error {
            error = .refused(code: failure.code, message: failure.message)
        } else {
            error = .badResponse("HTTP \(answer.status.code)")
        }
        logger.error("WeChat Pay \(context): \(error.detail)")
        return error
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

    /// Our numbers go into URL paths: letters, digits and `_-|*@` only, as WeChat allows, 6 to 32 long.
    static func checkTradeNo(_ number: String) throws {
        let allowed = number.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x5F || byte == 0x2D || byte == 0x7C || byte == 0x2A || byte == 0x40
        }
        guard allowed, (6...32).contains(number.utf8.count) else {
            throw PaymentProviderError.refused(code: "INVALID_OUT_TRADE_NO", message: number)
        }
    }
}

// MARK: - Notifications

/// What a verified WeChat Pay notification asks of us.
enum WeChatPayEvent: Equatable {
    case paid(paymentNo: String, tradeNo: String, amount: Money)
    case refund(refundNo: String, outcome: ProviderRefundState)
    /// A merchant transfer (a withdrawal) reached its end: SUCCESS, FAIL or CANCELLED.
    case transfer(outBillNo: String, status: PayoutStatus)
    /// A verified event we have nothing to do for; acknowledged so that WeChat stops sending it.
    case ignored(String)
}

/// A notification refused before anything changed, with the status WeChat gets.
struct WeChatPayCallbackRefusal: Error, Equatable {
    let status: HTTPStatus
    let code: String
    let message: String
}

extension WeChatPayGateway {
    /// Checks a notification over its raw bytes and reads what it says. Nothing in it is trusted
    /// before the signature is checked, and nothing in the resource before the GCM tag is.
    func event(headers: [(String, String)], body: Data, now: Date) throws(WeChatPayCallbackRefusal) -> WeChatPayEvent {
        do {
            _ = try WeChatPaySignatureVerifier(keys: settings.platformKeys).verify(headers: WeChatPayHeaders(headers), body: body, now: now)
        } catch {
            throw WeChatPayCallbackRefusal(status: HTTPStatus(statusCode: error.httpStatus), code: error.code, message: "签名验证失败 / signature refused: \(error.code)")
        }
        let notification: WeChatPayNotification
        do { notification = try WeChatPayNotification.decode(from: body) } catch {
            throw Self.refusal(.badRequest, error.code, "通知格式错误 / malformed notification")
        }
        switch notification.eventType {
        case "TRANSACTION.SUCCESS":
            let transaction: WeChatPayTransaction
            do { transaction = try notification.decryptResource(as: WeChatPayTransaction.self, key: settings.apiV3Key) } catch {
                throw Self.refusal(.badRequest, error.code, "解密失败 / the resource could not be decrypted")
            }
            guard transaction.mchid == settings.merchantID, transaction.appid == settings.appID else {
                throw Self.refusal(.badRequest, "wrong_merchant", "商户号或应用不符 / mchid or appid is not ours")
            }
            guard transaction.tradeState == "SUCCESS", transaction.amount.currency == "CNY",
                  let tradeNo = transaction.transactionID, !tradeNo.isEmpty, (try? Self.checkTradeNo(transaction.outTradeNo)) != nil else {
                throw Self.refusal(.badRequest, "malformed_transaction", "交易内容不完整 / the transaction is incomplete")
            }
            return .paid(paymentNo: transaction.outTradeNo, tradeNo: tradeNo, amount: Money(fen: transaction.amount.total))
        case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
            let notice: WeChatPayRefundNotice
            do { notice = try notification.decryptResource(as: WeChatPayRefundNotice.self, key: settings.apiV3Key) } catch {
                throw Self.refusal(.badRequest, error.code, "解密失败 / the resource could not be decrypted")
            }
            guard notice.mchid == settings.merchantID else {
                throw Self.refusal(.badRequest, "wrong_merchant", "商户号不符 / mchid is not ours")
            }
            let outcome: ProviderRefundState = switch (notification.eventType, notice.refundStatus) {
            case ("REFUND.SUCCESS", "SUCCESS"): .succeeded(providerRefundNo: notice.refundID)
            case ("REFUND.SUCCESS", _): throw Self.refusal(.badRequest, "malformed_refund", "退款状态不符 / refund status does not match the event")
            default: .failed(reason: notice.refundStatus)
            }
            return .refund(refundNo: notice.outRefundNo, outcome: outcome)
        case "MCHTRANSFER.BILL.FINISHED":
            let bill: WeChatTransferBill
            do { bill = try notification.decryptResource(as: WeChatTransferBill.self, key: settings.apiV3Key) } catch {
                throw Self.refusal(.badRequest, error.code, "解密失败 / the resource could not be decrypted")
            }
            guard bill.merchant == settings.merchantID else {
                throw Self.refusal(.badRequest, "wrong_merchant", "商户号不符 / mchid is not ours")
            }
            guard (try? WeChatTransferGateway.checkBillNo(bill.outBillNo)) != nil else {
                throw Self.refusal(.badRequest, "bad_out_bill_no", "商户单号格式错误 / out_bill_no is malformed")
            }
            return .transfer(outBillNo: bill.outBillNo, status: bill.status)
        default:
            return .ignored(notification.eventType)
        }
    }

    private static func refusal(_ status: HTTPStatus, _ code: String, _ message: String) -> WeChatPayCallbackRefusal {
        WeChatPayCallbackRefusal(status: status, code: code, message: message)
    }
}
