import Foundation
import MallCore
import Vapor

/// Alipay's single transfer to an Alipay account (单笔无密转账): `alipay.fund.trans.uni.transfer`
/// and `alipay.fund.trans.common.query`, signed (RSA2) and checked like the payment calls.
struct AlipayTransferGateway: PayoutGateway {
    let gateway: AlipayGateway
    /// `order_title`, on the payee's bill.
    let title: String

    static let productCode = "TRANS_ACCOUNT_NO_PWD"
    static let bizScene = "DIRECT_TRANSFER"

    var channel: WithdrawalChannel { .alipayTransfer }
    var confirmation: (merchantID: String, appID: String)? { nil }

    struct TransferContent: Encodable {
        struct PayeeInfo: Encodable { let identity: String; let identityType: String; let name: String }
        let outBizNo: String
        let transAmount: String
        let productCode: String
        let bizScene: String
        let orderTitle: String
        let payeeInfo: PayeeInfo
        let remark: String
    }

    struct Answer: Decodable {
        let code: String
        let subCode: String?
        let subMsg: String?
        let outBizNo: String?
        let orderId: String?
        /// SUCCESS, DEALING or FAIL (the query also knows INIT, REFUND and CLOSED).
        let status: String?
        let transAmount: String?
        let failReason: String?
        let errorCode: String?
    }

    func transfer(_ request: PayoutRequest) async throws -> PayoutStatus {
        try WeChatTransferGateway.checkBillNo(request.outBillNo)
        let content = TransferContent(
            outBizNo: request.outBillNo, transAmount: try AlipayAmount.yuan(fromFen: request.amount.fen), productCode: Self.productCode,
            bizScene: Self.bizScene, orderTitle: title,
            payeeInfo: .init(identity: request.payeeAccount, identityType: "ALIPAY_LOGON_ID", name: request.payeeName),
            remark: String(request.remark.prefix(100)))
        let method = "alipay.fund.trans.uni.transfer"
        let answer = try await gateway.call(method, contentJSON: String(decoding: try AlipayGateway.encode(content), as: UTF8.self), as: Answer.self)
        try Self.requireAnswered(answer, method, request.outBillNo)
        guard answer.outBizNo == request.outBillNo else {
            throw PaymentProviderError.badResponse("\(method) \(request.outBillNo) answered for \(answer.outBizNo ?? "-")")
        }
        // The transfer answer names no amount: the request's, which Alipay accepted as sent.
        return Self.status(answer, amount: request.amount)
    }

    func query(outBillNo: String) async throws -> PayoutStatus {
        try WeChatTransferGateway.checkBillNo(outBillNo)
        let method = "alipay.fund.trans.common.query"
        let answer = try await gateway.call(method, content: ["out_biz_no": outBillNo, "product_code": Self.productCode, "biz_scene": Self.bizScene],
                                            as: Answer.self)
        if answer.code == "40004", answer.subCode == "ORDER_NOT_EXIST" { return .notFound }
        try Self.requireAnswered(answer, method, outBillNo)
        guard answer.outBizNo == nil || answer.outBizNo == outBillNo else {
            throw PaymentProviderError.badResponse("\(method) \(outBillNo) answered for \(answer.outBizNo ?? "-")")
        }
        let amount: Money? = try answer.transAmount.map { text in
            guard let fen = try? AlipayAmount.fen(fromYuan: text) else { throw PaymentProviderError.badResponse("\(method) \(outBillNo): trans_amount") }
            return Money(fen: fen)
        }
        return Self.status(answer, amount: amount)
    }

    /// 10000 is an answer; 20000 and SYSTEM_ERROR leave the outcome unknown; any other code is a refusal.
    static func requireAnswered(_ answer: Answer, _ method: String, _ number: String) throws {
        guard answer.code != "10000" else { return }
        if answer.code == "20000" || answer.subCode == "SYSTEM_ERROR" || answer.subCode?.hasPrefix("isp.") == true {
            throw PaymentProviderError.unavailable("\(method) \(number): \(answer.code) \(answer.subCode ?? "")")
        }
        throw PaymentProviderError.refused(code: answer.subCode ?? answer.code, message: answer.subMsg ?? answer.code)
    }

    static func status(_ answer: Answer, amount: Money?) -> PayoutStatus {
        let state = answer.status ?? "DEALING"
        let phase: PayoutStatus.Phase = switch state {
        case "SUCCESS": .succeeded
        case "FAIL", "CLOSED", "REFUND": .failed
        default: .inTransit
        }
        let reason = [answer.errorCode, answer.failReason].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return PayoutStatus(phase: phase, providerState: state, billNo: answer.orderId ?? "", amount: amount,
                            failReason: phase == .failed ? (reason.isEmpty ? state : reason) : "")
    }
}
