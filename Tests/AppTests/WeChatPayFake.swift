import Crypto
import Foundation
import _CryptoExtras
import MallCore
import NIOConcurrencyHelpers
import Vapor
@testable import App

/// WeChat Pay API v3 on loopback, as far as the mall uses it: it checks every request's signature
/// with the merchant's certificate, keeps its own orders and refunds, signs every answer with a
/// platform key, and makes signed, encrypted notifications the way WeChat does.
final class WeChatPayFake: Sendable {
    struct Order: Sendable {
        var tradeType: String
        var outTradeNo: String
        var description: String
        var notifyURL: String
        var timeExpire: String
        var total: Int64
        var openid: String?
        var clientIP: String?
        var prepayID: String
        var state = "NOTPAY"
        var transactionID: String?
        var paidAt: Date?
    }

    struct Refund: Sendable {
        var outRefundNo: String
        var refundID: String
        var outTradeNo: String
        var transactionID: String
        var refund: Int64
        var total: Int64
        var notifyURL: String
        var createdAt = Date(timeIntervalSince1970: 0)
    }

    /// A merchant transfer bill as WeChat keeps it, with what the request said.
    struct TransferBill: Sendable {
        var outBillNo: String
        var transferBillNo: String
        var appid: String
        var sceneID: String
        var openid: String
        /// The payee's name as decrypted with the platform key named in `Wechatpay-Serial`.
        var userName: String?
        var amount: Int64
        var remark: String
        var perception: String?
        var reportInfos: [[String: String]]
        var notifyURL: String
        var state: String
        var failReason: String?
        var packageInfo: String?
    }

    /// How the fake answers the next new transfers: the state it gives them, or a refusal / an outage.
    struct TransferScript: Sendable {
        var state = "ACCEPTED"
        /// Answer a 4xx with this code (and create nothing).
        var refuseWith: String?
        /// Answer 500 (and create nothing), as when WeChat is down.
        var unavailable = false
        /// Create the bill but answer 500, as when the answer is lost on the way.
        var loseAnswer = false
    }

    /// What the next bills say besides what the fake saw: lines added, amounts changed (by
    /// "payment:<no>" or "refund:<no>"), lines left out, or no bill at all (HTTP 500).
    struct BillTweaks: Sendable {
        var extra: [ProviderBillLine] = []
        var amounts: [String: Int64] = [:]
        var omitted: Set<String> = []
        var failing = false
        /// The file differs from what the signed answer's hash says (WeChat's file only).
        var corruptFile = false
    }

    static let mchid = "1900009191"
    static let appid = "wxd678efh567hg6787"
    static let apiV3Key = "Fission0MallApiV3Key0123456789ab"

    let app: Application
    private let portBox = NIOLockedValueBox(0)
    var port: Int { portBox.withLockedValue { $0 } }
    let clock: ManualClock
    let merchant: WeChatPayRequestVerifier
    /// Who signs the answers and notifications now (a platform certificate or the public key).
    let signer: NIOLockedValueBox<WeChatPayPlatformSigner>
    let orders = NIOLockedValueBox<[String: Order]>([:])
    let refunds = NIOLockedValueBox<[String: Refund]>([:])
    /// Requests refused for their signature, by reason.
    let refused = NIOLockedValueBox<[String]>([])
    let billTweaks = NIOLockedValueBox(BillTweaks())
    let transfers = NIOLockedValueBox<[String: TransferBill]>([:])
    let transferScript = NIOLockedValueBox(TransferScript())
    /// Every transfer request received, in order, by out_bill_no (repeats included).
    let transferRequests = NIOLockedValueBox<[String]>([])

    var base: String { "http://127.0.0.1:\(port)" }
    let key: WeChatPayAPIv3Key

    static var certificateSigner: WeChatPayPlatformSigner {
        WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial, key: PaymentTestKeys.signer(PaymentTestKeys.platformCertificateKey))
    }

    static var publicKeySigner: WeChatPayPlatformSigner {
        WeChatPayPlatformSigner(serial: PaymentTestKeys.publicKeyID, key: PaymentTestKeys.signer(PaymentTestKeys.platformPublicKey))
    }

    init(clock: ManualClock, signer: WeChatPayPlatformSigner = WeChatPayFake.certificateSigner) async throws {
        self.clock = clock
        self.signer = .init(signer)
        key = try WeChatPayAPIv3Key(Self.apiV3Key)
        let certificate = try PaymentKeyFile.certificate(pem: WeChatPayTestFiles.merchantCertificatePEM)
        merchant = WeChatPayRequestVerifier(merchantID: Self.mchid, certificate: certificate)
        app = try await Application.make(.testing)
        // Notifications go out ten at once to a mall that may be slow on a loaded machine: none
        // should give up waiting for a pooled connection or an answer before the mall does.
        app.http.client.configuration.timeout = .init(connect: .seconds(60), read: .seconds(120))
        app.http.client.configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        routes()
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        let port = app.http.server.shared.localAddress?.port ?? 0
        portBox.withLockedValue { $0 = port }
    }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }

    // MARK: the API

    private func routes() {
        app.post("v3", "pay", "transactions", ":type") { [self] req in try prepay(req) }
        app.get("v3", "pay", "transactions", "out-trade-no", ":no") { [self] req in try query(req) }
        app.post("v3", "pay", "transactions", "out-trade-no", ":no", "close") { [self] req in try close(req) }
        app.post("v3", "refund", "domestic", "refunds") { [self] req in try refund(req) }
        app.get("v3", "bill", "tradebill") { [self] req in try tradeBill(req) }
        app.get("v3", "billdownload", "file") { [self] req in try billFile(req) }
        app.post("v3", "fund-app", "mch-transfer", "transfer-bills") { [self] req in try createTransfer(req) }
        app.get("v3", "fund-app", "mch-transfer", "transfer-bills", "out-bill-no", ":no") { [self] req in try queryTransfer(req) }
    }

    // MARK: merchant transfers

    struct TransferBody: Decodable {
        let appid: String
        let out_bill_no: String
        let transfer_scene_id: String
        let openid: String
        let user_name: String?
        let transfer_amount: Int64
        let transfer_remark: String
        let notify_url: String?
        let user_recv_perception: String?
        let transfer_scene_report_infos: [[String: String]]?
    }

    /// Opens an encrypted field with the private key behind the serial the request named.
    private func decryptField(_ ciphertext: String, serial: String?) -> String? {
        let key: _RSA.Signing.PrivateKey
        switch serial {
        case PaymentTestKeys.platformSerial?: key = PaymentTestKeys.platformCertificateKey
        case PaymentTestKeys.publicKeyID?: key = PaymentTestKeys.platformPublicKey
        default: return nil
        }
        guard let data = Data(base64Encoded: ciphertext),
              let decrypting = try? _RSA.Encryption.PrivateKey(derRepresentation: key.derRepresentation),
              let plain = try? decrypting.decrypt(data, padding: .PKCS1_OAEP) else { return nil }
        return String(data: plain, encoding: .utf8)
    }

    private func createTransfer(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        guard let data = req.body.data, let body = try? JSONDecoder().decode(TransferBody.self, from: Data(data.readableBytesView)) else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "body"])
        }
        transferRequests.withLockedValue { $0.append(body.out_bill_no) }
        guard body.appid == Self.appid, body.transfer_amount > 0, !body.openid.isEmpty, !body.transfer_scene_id.isEmpty,
              !(body.transfer_scene_report_infos ?? []).isEmpty else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "需传入转账场景报备信息,请检查"])
        }
        var userName: String?
        if let sealed = body.user_name {
            guard let name = decryptField(sealed, serial: req.headers.first(name: "Wechatpay-Serial")) else {
                return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "user_name 解密失败"])
            }
            userName = name
        }
        let script = transferScript.withLockedValue { $0 }
        if script.unavailable { return try answer(.internalServerError, ["code": "SYSTEM_ERROR", "message": "系统繁忙"]) }
        let existing = transfers.withLockedValue { $0[body.out_bill_no] }
        if existing == nil, let code = script.refuseWith { return try answer(.badRequest, ["code": code, "message": "转账被拒绝"]) }
        let bill = transfers.withLockedValue { bills -> TransferBill? in
            if let existing = bills[body.out_bill_no] {
                // The same number again: the same bill, as long as it asks for the same transfer.
                return existing.amount == body.transfer_amount && existing.openid == body.openid ? existing : nil
            }
            let created = TransferBill(
                outBillNo: body.out_bill_no, transferBillNo: "1330000071100999991182020050700019480" + String(bills.count + 100),
                appid: body.appid, sceneID: body.transfer_scene_id, openid: body.openid, userName: userName, amount: body.transfer_amount,
                remark: body.transfer_remark, perception: body.user_recv_perception, reportInfos: body.transfer_scene_report_infos ?? [],
                notifyURL: body.notify_url ?? "", state: script.state, failReason: script.state == "FAIL" ? "PAYEE_ACCOUNT_ABNORMAL" : nil,
                packageInfo: script.state == "WAIT_USER_CONFIRM" ? "affffddafdfafddffda==" : nil)
            bills[body.out_bill_no] = created
            return created
        }
        guard let bill else { return try answer(.badRequest, ["code": "INVALID_REQUEST", "message": "商户单号重复"]) }
        if script.loseAnswer { return try answer(.internalServerError, ["code": "SYSTEM_ERROR", "message": "系统繁忙"]) }
        var reply = ["out_bill_no": bill.outBillNo, "transfer_bill_no": bill.transferBillNo, "create_time": "2026-11-18T10:34:56+08:00",
                     "state": bill.state]
        if let package = bill.packageInfo { reply["package_info"] = package }
        if let reason = bill.failReason { reply["fail_reason"] = reason }
        return try answer(.ok, reply)
    }

    func transferResource(_ bill: TransferBill, queryShape: Bool) -> WeChatTransferBill {
        WeChatTransferBill(mchID: queryShape ? Self.mchid : nil, mchid: queryShape ? nil : Self.mchid, appid: Self.appid, outBillNo: bill.outBillNo,
                           transferBillNo: bill.transferBillNo, state: bill.state, transferAmount: bill.amount, openid: bill.openid,
                           failReason: bill.failReason, packageInfo: nil, createTime: "2026-11-18T10:34:56+08:00", updateTime: "2026-11-18T10:35:56+08:00")
    }

    private func queryTransfer(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        guard let bill = transfers.withLockedValue({ $0[req.parameters.get("no") ?? ""] }) else {
            return try answer(.notFound, ["code": "NOT_FOUND", "message": "记录不存在"])
        }
        return try answer(.ok, transferResource(bill, queryShape: true))
    }

    /// WeChat moves a bill on (the payee confirmed, the bank answered …).
    @discardableResult
    func moveTransfer(_ outBillNo: String, to state: String, failReason: String? = nil) -> TransferBill? {
        transfers.withLockedValue { bills in
            guard var bill = bills[outBillNo] else { return nil }
            bill.state = state
            bill.failReason = failReason ?? (state == "FAIL" ? "PAYEE_ACCOUNT_ABNORMAL" : nil)
            bills[outBillNo] = bill
            return bill
        }
    }

    func transfer(_ outBillNo: String) -> TransferBill? { transfers.withLockedValue { $0[outBillNo] } }

    /// The `MCHTRANSFER.BILL.FINISHED` notification for a bill as it stands.
    func transferNotification(_ bill: TransferBill) throws -> Data {
        try notificationBody(eventType: "MCHTRANSFER.BILL.FINISHED", resource: transferResource(bill, queryShape: false), originalType: "mch_payment")
    }

    // MARK: bills

    /// The day's lines as WeChat would bill them: payments by the time they were paid, refunds by
    /// the time they were asked for, then the test's tweaks.
    func billLines(_ day: BillDay) -> [ProviderBillLine] {
        let (start, end) = day.window
        let tweaks = billTweaks.withLockedValue { $0 }
        let paid = orders.withLockedValue { Array($0.values) }.compactMap { order -> ProviderBillLine? in
            guard let at = order.paidAt, at >= start, at < end, let transactionID = order.transactionID else { return nil }
            return ProviderBillLine(kind: .payment, ourNo: order.outTradeNo, providerNo: transactionID, amount: Money(fen: order.total), at: at)
        }
        let refunded = refunds.withLockedValue { Array($0.values) }.compactMap { refund -> ProviderBillLine? in
            guard refund.createdAt >= start, refund.createdAt < end else { return nil }
            return ProviderBillLine(kind: .refund, ourNo: refund.outRefundNo, providerNo: refund.refundID, amount: Money(fen: refund.refund), at: refund.createdAt)
        }
        return (paid + refunded).sorted { ($0.at ?? start, $0.ourNo) < ($1.at ?? start, $1.ourNo) }
            .filter { !tweaks.omitted.contains("\($0.kind.rawValue):\($0.ourNo)") }
            .map { line in
                guard let fen = tweaks.amounts["\(line.kind.rawValue):\(line.ourNo)"] else { return line }
                return ProviderBillLine(kind: line.kind, ourNo: line.ourNo, providerNo: line.providerNo, amount: Money(fen: fen), at: line.at)
            } + tweaks.extra
    }

    func billBytes(_ day: BillDay) -> Data {
        Data(WeChatPayBill.format(billLines(day), mchid: Self.mchid, appid: Self.appid).utf8)
    }

    private func tradeBill(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        guard let text = req.query[String.self, at: "bill_date"], let day = BillDay(text), req.query[String.self, at: "bill_type"] == "ALL" else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "bill_date"])
        }
        if billTweaks.withLockedValue({ $0.failing }) { return try answer(.internalServerError, ["code": "SYSTEM_ERROR", "message": "系统繁忙"]) }
        let digest = Insecure.SHA1.hash(data: billBytes(day)).map { String(format: "%02x", $0) }.joined()
        return try answer(.ok, ["download_url": "\(base)/v3/billdownload/file?token=\(day.compact)", "hash_type": "SHA1", "hash_value": digest])
    }

    /// The file: its request is signed like any other, its answer is not (WeChat's file download).
    private func billFile(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        let token = req.query[String.self, at: "token"] ?? ""
        guard token.count == 8, let day = BillDay("\(token.prefix(4))-\(token.dropFirst(4).prefix(2))-\(token.suffix(2))") else {
            return Response(status: .notFound)
        }
        var headers = HTTPHeaders()
        headers.contentType = .plainText
        var bytes = billBytes(day)
        if billTweaks.withLockedValue({ $0.corruptFile }) { bytes.append(contentsOf: Array("`x".utf8)) }
        return Response(status: .ok, headers: headers, body: .init(data: bytes))
    }

    /// Checks the merchant's signature over the request exactly as received.
    private func authenticate(_ req: Request) -> Response? {
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        do {
            _ = try merchant.verify(authorization: req.headers.first(name: .authorization), method: req.method.rawValue,
                                    pathWithQuery: req.url.string, body: body, now: clock.now())
            return nil
        } catch {
            refused.withLockedValue { $0.append(error.code) }
            return try? answer(.unauthorized, ["code": "SIGN_ERROR", "message": "签名错误 \(error.code)"])
        }
    }

    struct PrepayBody: Decodable {
        struct Amount: Decodable { let total: Int64; let currency: String }
        struct Payer: Decodable { let openid: String }
        struct SceneInfo: Decodable {
            struct H5Info: Decodable { let type: String }
            let payer_client_ip: String
            let h5_info: H5Info
        }
        let appid: String
        let mchid: String
        let description: String
        let out_trade_no: String
        let time_expire: String?
        let notify_url: String
        let amount: Amount
        let payer: Payer?
        let scene_info: SceneInfo?
    }

    private func prepay(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        let type = req.parameters.get("type") ?? ""
        guard let data = req.body.data, let body = try? JSONDecoder().decode(PrepayBody.self, from: Data(data.readableBytesView)) else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "body"])
        }
        guard body.mchid == Self.mchid, body.appid == Self.appid, body.amount.currency == "CNY", body.amount.total > 0 else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "mchid, appid or amount"])
        }
        switch type {
        case "jsapi": guard body.payer?.openid.isEmpty == false else { return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "payer"]) }
        case "h5": guard body.scene_info?.h5_info.type == "Wap" else { return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "scene_info"]) }
        case "native": break
        default: return try answer(.notFound, ["code": "NOT_FOUND", "message": type])
        }
        let order = orders.withLockedValue { orders -> Order? in
            if let existing = orders[body.out_trade_no] {
                return existing.tradeType == type && existing.total == body.amount.total ? existing : nil
            }
            let created = Order(tradeType: type, outTradeNo: body.out_trade_no, description: body.description, notifyURL: body.notify_url,
                                timeExpire: body.time_expire ?? "", total: body.amount.total, openid: body.payer?.openid,
                                clientIP: body.scene_info?.payer_client_ip, prepayID: "wx" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(30))
            orders[body.out_trade_no] = created
            return created
        }
        guard let order else { return try answer(.badRequest, ["code": "INVALID_REQUEST", "message": "201 商户订单号重复"]) }
        switch type {
        case "jsapi": return try answer(.ok, ["prepay_id": order.prepayID])
        case "h5": return try answer(.ok, ["h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=\(order.prepayID)"])
        default: return try answer(.ok, ["code_url": "weixin://wxpay/bizpayurl?pr=\(order.prepayID.suffix(8))"])
        }
    }

    private func query(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        guard req.query[String.self, at: "mchid"] == Self.mchid else { return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "mchid"]) }
        guard let order = orders.withLockedValue({ $0[req.parameters.get("no") ?? ""] }) else {
            return try answer(.notFound, ["code": "ORDER_NOT_EXIST", "message": "订单不存在"])
        }
        return try answer(.ok, transaction(order))
    }

    private func close(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        let no = req.parameters.get("no") ?? ""
        let closed = orders.withLockedValue { orders -> Bool? in
            guard var order = orders[no] else { return nil }
            guard order.state != "SUCCESS" else { return false }
            order.state = "CLOSED"
            orders[no] = order
            return true
        }
        switch closed {
        case nil: return try answer(.notFound, ["code": "ORDER_NOT_EXIST", "message": "订单不存在"])
        case false?: return try answer(.badRequest, ["code": "ORDERPAID", "message": "订单已支付"])
        case true?: return try signed(.noContent, Data())
        }
    }

    struct RefundBody: Decodable {
        struct Amount: Decodable { let refund: Int64; let total: Int64; let currency: String }
        let transaction_id: String?
        let out_trade_no: String?
        let out_refund_no: String
        let notify_url: String
        let amount: Amount
    }

    private func refund(_ req: Request) throws -> Response {
        if let refusal = authenticate(req) { return refusal }
        guard let data = req.body.data, let body = try? JSONDecoder().decode(RefundBody.self, from: Data(data.readableBytesView)) else {
            return try answer(.badRequest, ["code": "PARAM_ERROR", "message": "body"])
        }
        let order = orders.withLockedValue { orders in
            orders.values.first { ($0.transactionID != nil && $0.transactionID == body.transaction_id) || $0.outTradeNo == body.out_trade_no }
        }
        guard let order, order.state == "SUCCESS" || order.state == "REFUND", let transactionID = order.transactionID else {
            return try answer(.notFound, ["code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"])
        }
        guard body.amount.total == order.total, body.amount.refund > 0, body.amount.refund <= order.total else {
            return try answer(.badRequest, ["code": "INVALID_REQUEST", "message": "退款金额不正确"])
        }
        let refund = refunds.withLockedValue { refunds in
            if let existing = refunds[body.out_refund_no] { return existing }
            let created = Refund(outRefundNo: body.out_refund_no, refundID: "50000" + String(refunds.count + 1000000), outTradeNo: order.outTradeNo,
                                 transactionID: transactionID, refund: body.amount.refund, total: order.total, notifyURL: body.notify_url,
                                 createdAt: clock.now())
            refunds[body.out_refund_no] = created
            return created
        }
        return try answer(.ok, [
            "refund_id": refund.refundID, "out_refund_no": refund.outRefundNo, "transaction_id": transactionID,
            "out_trade_no": order.outTradeNo, "channel": "ORIGINAL", "status": "PROCESSING",
        ])
    }

    // MARK: answers and notifications

    func answer(_ status: HTTPStatus, _ object: [String: String]) throws -> Response {
        try signed(status, JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    func answer(_ status: HTTPStatus, _ value: some Encodable) throws -> Response {
        try signed(status, JSONEncoder().encode(value))
    }

    func signed(_ status: HTTPStatus, _ body: Data) throws -> Response {
        var headers = HTTPHeaders(try signedHeaders(body))
        if !body.isEmpty { headers.contentType = .json }
        return Response(status: status, headers: headers, body: .init(data: body))
    }

    func signedHeaders(_ body: Data, by signer: WeChatPayPlatformSigner? = nil, timestamp: Int64? = nil) throws -> [(String, String)] {
        var generator = SystemRandomNumberGenerator()
        return try (signer ?? self.signer.withLockedValue { $0 }).headers(
            body: body, timestamp: timestamp ?? Int64(clock.now().timeIntervalSince1970), nonce: WeChatPayNonce.make(using: &generator))
    }

    func transaction(_ order: Order) -> WeChatPayTransaction {
        WeChatPayTransaction(appid: Self.appid, mchid: Self.mchid, outTradeNo: order.outTradeNo, transactionID: order.transactionID,
                             tradeType: order.tradeType.uppercased(), tradeState: order.state, tradeStateDesc: nil, bankType: "OTHERS",
                             attach: "", successTime: order.state == "SUCCESS" ? "2026-11-18T10:34:56+08:00" : nil,
                             payer: order.openid.map { .init(openid: $0) },
                             amount: .init(total: order.total, payerTotal: order.total, currency: "CNY", payerCurrency: "CNY"))
    }

    /// The buyer pays: WeChat records the money (and would then notify).
    @discardableResult
    func pay(_ outTradeNo: String) -> WeChatPayTransaction? {
        orders.withLockedValue { orders in
            guard var order = orders[outTradeNo] else { return nil }
            order.state = "SUCCESS"
            order.transactionID = order.transactionID ?? "42000" + String(UInt64.random(in: 10_000_000_000...99_999_999_999))
            order.paidAt = order.paidAt ?? clock.now()
            orders[outTradeNo] = order
            return transaction(order)
        }
    }

    func order(_ outTradeNo: String) -> Order? { orders.withLockedValue { $0[outTradeNo] } }

    /// A notification body: the resource encrypted with the API v3 key, in WeChat's envelope.
    func notificationBody(eventType: String, resource: some Encodable, originalType: String) throws -> Data {
        let plaintext = try JSONEncoder().encode(resource)
        let nonce = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12))
        let encrypted = try WeChatPayResourceCipher.encrypt(plaintext, key: key, nonce: nonce, associatedData: originalType, originalType: originalType)
        let notification = WeChatPayNotification(id: UUID().uuidString, createTime: "2026-11-18T10:34:57+08:00", eventType: eventType,
                                                 resourceType: "encrypt-resource", resource: encrypted, summary: "支付成功")
        return try JSONEncoder().encode(notification)
    }

    func paidNotification(_ transaction: WeChatPayTransaction) throws -> Data {
        try notificationBody(eventType: "TRANSACTION.SUCCESS", resource: transaction, originalType: "transaction")
    }

    func refundNotification(_ refund: Refund, status: String = "SUCCESS") throws -> Data {
        let notice = WeChatPayRefundNotice(mchid: Self.mchid, outTradeNo: refund.outTradeNo, transactionID: refund.transactionID,
                                           outRefundNo: refund.outRefundNo, refundID: refund.refundID, refundStatus: status,
                                           successTime: "2026-11-18T11:00:00+08:00", userReceivedAccount: "支付用户零钱",
                                           amount: .init(total: refund.total, refund: refund.refund, payerTotal: refund.total, payerRefund: refund.refund))
        return try notificationBody(eventType: "REFUND.\(status)", resource: notice, originalType: "refund")
    }

    /// Posts a notification to the mall as WeChat does.
    func deliver(_ body: Data, headers: [(String, String)], to url: String) async throws -> ClientResponse {
        var sent = HTTPHeaders(headers)
        sent.contentType = .json
        return try await app.client.post(URI(string: url), headers: sent) { $0.body = ByteBuffer(data: body) }
    }

    /// Signs with the current platform key and posts.
    func deliver(_ body: Data, to url: String) async throws -> ClientResponse {
        try await deliver(body, headers: try signedHeaders(body), to: url)
    }
}

/// The merchant's and WeChat's key files as an operator would place them, written once per run.
enum WeChatPayTestFiles {
    static let merchantSerial = "408B07E7AB5C1234"
    static let merchantCertificatePEM = PaymentTestKeys.certificatePEM(key: PaymentTestKeys.merchant, serial: [0x40, 0x8B, 0x07, 0xE7, 0xAB, 0x5C, 0x12, 0x34])

    static let directory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fission-pay-keys-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) { _ = FileManager.default.createFile(atPath: path + "/" + name, contents: Data(text.utf8)) }
        write("apiclient_key.pem", PaymentTestKeys.merchant.pkcs8PEMRepresentation)
        write("platform_cert.pem", PaymentTestKeys.platformCertificatePEM)
        write("pub_key.pem", PaymentTestKeys.platformPublicKey.publicKey.pemRepresentation)
        write("alipay_app_private_key.pem", PaymentTestKeys.app.pemRepresentation)
        write("alipay_public_key.txt", PaymentTestKeys.alipay.publicKey.derRepresentation.base64EncodedString())
        return path
    }()

    /// The environment for WeChat Pay with the given key modes, pointed at `base` and notifying `notify`.
    static func environment(base: String, notify: String, certificate: Bool = true, publicKey: Bool = false,
                            transferScene: String? = nil) -> [String: String] {
        var env = [
            "FISSION_WECHAT_MCHID": WeChatPayFake.mchid, "FISSION_WECHAT_APPID": WeChatPayFake.appid,
            "FISSION_WECHAT_MERCHANT_SERIAL": merchantSerial, "FISSION_WECHAT_MERCHANT_KEY_FILE": directory + "/apiclient_key.pem",
            "FISSION_WECHAT_API_V3_KEY": WeChatPayFake.apiV3Key, "FISSION_WECHAT_API_BASE": base, "FISSION_WECHAT_NOTIFY_URL": notify,
        ]
        if certificate { env["FISSION_WECHAT_PLATFORM_CERT_FILES"] = directory + "/platform_cert.pem" }
        if let transferScene { env["FISSION_WECHAT_TRANSFER_SCENE_ID"] = transferScene }
        if publicKey {
            env["FISSION_WECHAT_PUBLIC_KEY_ID"] = PaymentTestKeys.publicKeyID
            env["FISSION_WECHAT_PUBLIC_KEY_FILE"] = directory + "/pub_key.pem"
        }
        return env
    }
}
