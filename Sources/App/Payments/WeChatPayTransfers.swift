import Foundation
import MallCore
import Vapor

/// A WeChat Pay merchant transfer bill (商家转账单) as the create and query answers and the
/// `MCHTRANSFER.BILL.FINISHED` notification give it; absent fields are absent in some of them.
struct WeChatTransferBill: Codable, Equatable, Sendable {
    /// The query answer says `mch_id`, the notification `mchid`.
    var mchID: String?
    var mchid: String?
    var appid: String?
    var outBillNo: String
    var transferBillNo: String?
    /// ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, SUCCESS, FAIL, CANCELLING or CANCELLED.
    var state: String
    var transferAmount: Int64?
    var openid: String?
    var failReason: String?
    var packageInfo: String?
    var createTime: String?
    var updateTime: String?

    enum CodingKeys: String, CodingKey {
        case mchID = "mch_id"
        case mchid, appid, openid, state
        case outBillNo = "out_bill_no"
        case transferBillNo = "transfer_bill_no"
        case transferAmount = "transfer_amount"
        case failReason = "fail_reason"
        case packageInfo = "package_info"
        case createTime = "create_time"
        case updateTime = "update_time"
    }

    var merchant: String? { mchID ?? mchid }

    /// The bill's state read as the withdrawal's: SUCCESS is paid, FAIL and CANCELLED are returned,
    /// everything else (and a state WeChat may add later) is still in transit.
    var status: PayoutStatus {
        let phase: PayoutStatus.Phase = switch state {
        case "SUCCESS": .succeeded
        case "FAIL", "CANCELLED": .failed
        default: .inTransit
        }
        return PayoutStatus(phase: phase, providerState: state, billNo: transferBillNo ?? "", amount: transferAmount.map { Money(fen: $0) },
                            packageInfo: state == "WAIT_USER_CONFIRM" ? packageInfo ?? "" : "",
                            failReason: phase == .failed ? (failReason.map { $0.isEmpty ? state : $0 } ?? state) : "")
    }
}

/// WeChat Pay's merchant transfer (用户确认模式): `POST /v3/fund-app/mch-transfer/transfer-bills`
/// and its query by our number, signed and checked like every other WeChat Pay v3 call.
struct WeChatTransferGateway: PayoutGateway {
    let gateway: WeChatPayGateway
    let transfer: WeChatTransferSettings

    var channel: WithdrawalChannel { .wechatTransfer }
    var confirmation: (merchantID: String, appID: String)? { (gateway.settings.merchantID, gateway.settings.appID) }

    struct TransferBody: Encodable {
        struct ReportInfo: Encodable { let infoType: String; let infoContent: String }
        let appid: String
        let outBillNo: String
        let transferSceneId: String
        let openid: String
        let userName: String?
        let transferAmount: Int64
        let transferRemark: String
        let notifyUrl: String
        let userRecvPerception: String
        let transferSceneReportInfos: [ReportInfo]
    }

    func transfer(_ request: PayoutRequest) async throws -> PayoutStatus {
        try Self.checkBillNo(request.outBillNo)
        var headers: [(String, String)] = []
        var userName: String?
        if !request.payeeName.isEmpty {
            // WeChat checks the name against the payee's real name (and needs it from ¥2,000 up).
            do {
                let sealed = try gateway.settings.platformKeys.encryptField(request.payeeName)
                userName = sealed.ciphertext
                headers.append(("Wechatpay-Serial", sealed.serial))
            } catch {
                throw PaymentProviderError.unavailable("encrypting user_name: \(error.code)")
            }
        }
        let body = TransferBody(
            appid: gateway.settings.appID, outBillNo: request.outBillNo, transferSceneId: transfer.sceneID, openid: request.payeeAccount,
            userName: userName, transferAmount: request.amount.fen, transferRemark: String(request.remark.prefix(32)),
            notifyUrl: gateway.settings.notifyURL, userRecvPerception: transfer.perception,
            transferSceneReportInfos: transfer.reportInfos.map { .init(infoType: $0.type, infoContent: $0.content) })
        let answer = try await gateway.call(.POST, "/v3/fund-app/mch-transfer/transfer-bills", body: WeChatPayGateway.encode(body), headers: headers)
        guard answer.status == .ok else { throw gateway.providerError(answer, "transfer \(request.outBillNo)") }
        guard let bill = try? JSONDecoder().decode(WeChatTransferBill.self, from: answer.body), bill.outBillNo == request.outBillNo else {
            throw PaymentProviderError.badResponse("transfer \(request.outBillNo): unexpected answer")
        }
        return bill.status
    }

    func query(outBillNo: String) async throws -> PayoutStatus {
        try Self.checkBillNo(outBillNo)
        let answer = try await gateway.call(.GET, "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/\(outBillNo)", body: nil)
        if answer.status == .notFound, answer.errorCode == "NOT_FOUND" { return .notFound }
        guard answer.status == .ok else { throw gateway.providerError(answer, "transfer query \(outBillNo)") }
        guard let bill = try? JSONDecoder().decode(WeChatTransferBill.self, from: answer.body) else {
            throw PaymentProviderError.badResponse("transfer query \(outBillNo): unexpected answer")
        }
        try check(bill, outBillNo: outBillNo)
        return bill.status
    }

    /// A bill must be ours: our merchant, our app, the number asked about.
    func check(_ bill: WeChatTransferBill, outBillNo: String) throws {
        guard bill.outBillNo == outBillNo, bill.merchant == nil || bill.merchant == gateway.settings.merchantID,
              bill.appid == nil || bill.appid == gateway.settings.appID else {
            throw PaymentProviderError.badResponse("transfer \(outBillNo) answered for \(bill.merchant ?? "-")/\(bill.appid ?? "-")/\(bill.outBillNo)")
        }
    }

    /// `out_bill_no` is letters and digits only, at most 32.
    static func checkBillNo(_ number: String) throws {
        guard (1...32).contains(number.utf8.count), number.utf8.allSatisfy({ byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }) else {
            throw PaymentProviderError.refused(code: "INVALID_OUT_BILL_NO", message: number)
        }
    }
}
