import Fluent
import Foundation
import MallCore
import Vapor

/// WeChat Pay's and Alipay's notifications at `/callbacks/wechat` and `/callbacks/alipay`, outside
/// the client API: they carry the provider's signature instead of a login. Each is checked over
/// the raw body bytes, then applied in one write transaction; a repeat is answered as a success
/// so that the provider stops sending it, and anything refused changes nothing.
struct ProviderCallbackController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.on(.POST, "callbacks", "wechat", body: .collect(maxSize: "64kb"), use: wechat)
        routes.on(.POST, "callbacks", "alipay", body: .collect(maxSize: "64kb"), use: alipay)
    }

    // MARK: WeChat Pay

    /// WeChat expects 200 or 204 with no body on success, and a 4xx/5xx with
    /// `{"code":"FAIL","message":…}` otherwise (it then sends the notification again later).
    @Sendable func wechat(req: Request) async -> Response {
        guard let gateway = req.application.paymentGateways[.wechat] as? WeChatPayGateway else {
            return Self.wechatFailure(.notFound, "未开通微信支付 / WeChat Pay is not configured here")
        }
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        let event: WeChatPayEvent
        do {
            event = try gateway.event(headers: req.headers.map { ($0.name, $0.value) }, body: body, now: req.now)
        } catch {
            req.logger.warning("WeChat Pay notification refused: \(error.code)")
            return Self.wechatFailure(error.status, error.message)
        }
        do {
            switch event {
            case .paid(let paymentNo, let tradeNo, let amount):
                try await Self.confirmPayment(req, paymentNo: paymentNo, method: .wechat, tradeNo: tradeNo, amount: amount)
            case .refund(let refundNo, let outcome):
                try await Self.confirmRefund(req, refundNo: refundNo, outcome: outcome)
            case .transfer(let outBillNo, let status):
                // A repeat, or one the query job settled first, is acknowledged without a change.
                let phase = try await WithdrawalPayouts.record(outBillNo: outBillNo, status: status, app: req.application)
                req.logger.info("WeChat transfer \(outBillNo) \(status.providerState): \(phase.map(\.rawValue) ?? "already settled")")
            case .ignored(let type):
                req.logger.info("WeChat Pay notification \(type) acknowledged; nothing to do")
            }
        } catch {
            let (status, message) = Self.failure(error)
            req.logger.error("WeChat Pay notification not applied: \(error)")
            return Self.wechatFailure(status, message)
        }
        return Response(status: .noContent)
    }

    static func wechatFailure(_ status: HTTPStatus, _ message: String) -> Response {
        // WeChat reads code and message; the empty details keep the mall's error shape for other readers.
        struct Failure: Encodable { let code: String; let message: String; let details: [String] }
        let body = (try? JSONEncoder().encode(Failure(code: "FAIL", message: message, details: []))) ?? Data(#"{"code":"FAIL"}"#.utf8)
        var headers = HTTPHeaders()
        headers.contentType = .json
        return Response(status: status, headers: headers, body: .init(data: body))
    }

    // MARK: Alipay

    /// Alipay reads the body only: the plain text `success` stops its retries, anything else
    /// (`failure` here) makes it send again. `success` is answered only once the notice is applied
    /// or known already.
    @Sendable func alipay(req: Request) async -> Response {
        guard let gateway = req.application.paymentGateways[.alipay] as? AlipayGateway else {
            return Self.alipayAnswer(.notFound, "failure")
        }
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        let event: AlipayEvent
        do {
            event = try gateway.event(body: body)
        } catch {
            req.logger.warning("Alipay notification refused: \(error.code)")
            return Self.alipayAnswer(error.status, "failure")
        }
        do {
            switch event {
            case .paid(let paymentNo, let tradeNo, let amount):
                try await Self.confirmPayment(req, paymentNo: paymentNo, method: .alipay, tradeNo: tradeNo, amount: amount)
            case .ignored(let status):
                req.logger.info("Alipay notification \(status) acknowledged; nothing to do")
            }
        } catch {
            req.logger.error("Alipay notification not applied: \(error)")
            return Self.alipayAnswer(Self.failure(error).status, "failure")
        }
        return Self.alipayAnswer(.ok, "success")
    }

    static func alipayAnswer(_ status: HTTPStatus, _ text: String) -> Response {
        var headers = HTTPHeaders()
        headers.contentType = .plainText
        return Response(status: status, headers: headers, body: .init(string: text))
    }

    // MARK: applying

    static func confirmPayment(_ req: Request, paymentNo: String, method: PaymentMethod, tradeNo: String, amount: Money) async throws {
        let now = req.now
        let outcome = try await req.writeTransaction { db in
            try await PaymentService(db: db, now: now).confirm(paymentNo: paymentNo, method: method, tradeNo: tradeNo, amount: amount)
        }
        req.logger.info("\(method.rawValue) payment \(paymentNo) \(tradeNo): \(outcome)")
    }

    static func confirmRefund(_ req: Request, refundNo: String, outcome: ProviderRefundState) async throws {
        let now = req.now
        try await req.writeTransaction { db in
            _ = try await RefundService(db: db, now: now).confirm(refundNo: refundNo, outcome: outcome)
        }
    }

    /// The status a provider gets when a verified notice could not be applied: 4xx for what will
    /// never apply (an amount that is not the payment's, an unknown number), 5xx for what may on a
    /// later delivery.
    static func failure(_ error: any Error) -> (status: HTTPStatus, message: String) {
        if let transition = error as? PaymentTransitionError {
            if case .amountMismatch = transition { return (.badRequest, "金额不符 / the amount is not the payment's") }
            return (.conflict, "状态不允许 / not allowed in the payment's state")
        }
        if let api = (error as? APIError) ?? (error as? any APIErrorConvertible)?.apiError, api.status.code < 500 {
            return (api.status, api.code)
        }
        return (.internalServerError, "处理失败，请稍后重试 / not applied; please send again later")
    }
}
