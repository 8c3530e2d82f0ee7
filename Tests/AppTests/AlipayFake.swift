import Foundation
import MallCore
import NIOConcurrencyHelpers
import Vapor
@testable import App

/// Alipay's open-platform gateway on loopback: it checks our RSA2 signature on every request with
/// the application's public key, keeps its own trades and refunds, answers JSON signed with the
/// Alipay key, and makes signed form notifications the way Alipay does.
final class AlipayFake: Sendable {
    struct Trade: Sendable {
        var outTradeNo: String
        var tradeNo: String
        var totalAmount: String
        var subject: String
        var productCode: String
        var timeExpire: String?
        var notifyURL: String
        var method: String
        var status = "WAIT_BUYER_PAY"
        var refundedFen: Int64 = 0
        var paidAt: Date?
    }

    struct Refund: Sendable {
        var outRequestNo: String
        var outTradeNo: String
        var amount: String
        var at = Date(timeIntervalSince1970: 0)
    }

    /// A single transfer to an Alipay account, as the request asked for it.
    struct Transfer: Sendable {
        var outBizNo: String
        var orderID: String
        var transAmount: String
        var productCode: String
        var bizScene: String
        var orderTitle: String
        var identity: String
        var identityType: String
        var name: String
        /// SUCCESS, DEALING or FAIL.
        var status: String
    }

    /// How the next new transfers are answered: their status, or a business refusal (sub_code).
    struct TransferScript: Sendable {
        var status = "SUCCESS"
        var refuseWith: String?
    }

    /// What the next bills say besides what the fake saw (as `WeChatPayFake.BillTweaks`);
    /// `failing` answers the download-link request with Alipay's "no bill" error.
    typealias BillTweaks = WeChatPayFake.BillTweaks

    static let appID = "2021004100000001"
    static let sellerID = "2088101117955611"

    let app: Application
    private let portBox = NIOLockedValueBox(0)
    var port: Int { portBox.withLockedValue { $0 } }
    let signer: NIOLockedValueBox<PaymentKeySigner>
    let trades = NIOLockedValueBox<[String: Trade]>([:])
    let refunds = NIOLockedValueBox<[String: Refund]>([:])
    let refused = NIOLockedValueBox<[String]>([])
    let appKey = PaymentTestKeys.verifier(PaymentTestKeys.app)
    let clock: ManualClock
    let billTweaks = NIOLockedValueBox(BillTweaks())
    let transfers = NIOLockedValueBox<[String: Transfer]>([:])
    let transferScript = NIOLockedValueBox(TransferScript())
    /// Every transfer request received (repeats included), by out_biz_no.
    let transferRequests = NIOLockedValueBox<[String]>([])

    var gateway: String { "http://127.0.0.1:\(port)/gateway.do" }

    init(clock: ManualClock = ManualClock()) async throws {
        self.clock = clock
        signer = .init(PaymentTestKeys.signer(PaymentTestKeys.alipay))
        app = try await Application.make(.testing)
        // Notifications go out ten at once to a mall that may be slow on a loaded machine: none
        // should give up waiting for a pooled connection or an answer before the mall does.
        app.http.client.configuration.timeout = .init(connect: .seconds(60), read: .seconds(120))
        app.http.client.configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        app.get("gateway.do") { [self] req in try cashier(req) }
        app.get("bills", ":file") { [self] req in try billFile(req) }
        app.post("gateway.do") { [self] req in try api(req) }
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        let port = app.http.server.shared.localAddress?.port ?? 0
        portBox.withLockedValue { $0 = port }
    }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }

    /// Decodes and checks a signed request; nil (and the reason kept) when refused.
    private func verified(_ raw: some DataProtocol) -> [String: String]? {
        do {
            let parameters = try AlipayForm.decode(raw)
            try AlipaySignature.verifyRequest(parameters, appPublicKey: appKey)
            guard parameters["app_id"] == Self.appID, parameters["format"] == "JSON", parameters["version"] == "1.0",
                  parameters["timestamp"]?.count == 19 else {
                refused.withLockedValue { $0.append("parameters") }
                return nil
            }
            return parameters
        } catch {
            refused.withLockedValue { $0.append(error.code) }
            return nil
        }
    }

    private func content(_ parameters: [String: String]) -> [String: String] {
        guard let text = parameters["biz_content"], let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? String }
    }

    /// The buyer opens the signed link: the cashier page, where the trade now exists.
    private func cashier(_ req: Request) throws -> Response {
        guard let parameters = verified(Array((req.url.query ?? "").utf8)) else {
            return Response(status: .ok, body: .init(string: "<html>错误代码 invalid-signature</html>"))
        }
        let method = parameters["method"] ?? ""
        let content = content(parameters)
        guard ["alipay.trade.wap.pay", "alipay.trade.page.pay"].contains(method), let outTradeNo = content["out_trade_no"],
              let total = content["total_amount"], let notify = parameters["notify_url"] else {
            return Response(status: .ok, body: .init(string: "<html>错误代码 missing-parameter</html>"))
        }
        trades.withLockedValue { trades in
            if trades[outTradeNo] == nil {
                trades[outTradeNo] = Trade(outTradeNo: outTradeNo, tradeNo: "2026111822001" + String(UInt64.random(in: 100_000_000...999_999_999)),
                                           totalAmount: total, subject: content["subject"] ?? "", productCode: content["product_code"] ?? "",
                                           timeExpire: content["time_expire"], notifyURL: notify, method: method)
            }
        }
        return Response(status: .ok, body: .init(string: "<html>支付宝收银台 \(outTradeNo)</html>"))
    }

    private func api(_ req: Request) throws -> Response {
        let method = (try? AlipayForm.decode(req.body.data.map { Array($0.readableBytesView) } ?? []))?["method"] ?? "unknown"
        guard let parameters = verified(req.body.data.map { Array($0.readableBytesView) } ?? []) else {
            return try signed(method, ["code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"])
        }
        let content = content(parameters)
        let outTradeNo = content["out_trade_no"] ?? ""
        let notFound = ["code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"]
        switch method {
        case "alipay.trade.query":
            guard let trade = trades.withLockedValue({ $0[outTradeNo] }) else { return try signed(method, notFound) }
            return try signed(method, ["code": "10000", "msg": "Success", "trade_no": trade.tradeNo, "out_trade_no": trade.outTradeNo,
                                       "trade_status": trade.status, "total_amount": trade.totalAmount, "buyer_logon_id": "159****5620"])
        case "alipay.trade.close":
            let result = trades.withLockedValue { trades -> [String: String] in
                guard var trade = trades[outTradeNo] else { return notFound }
                guard trade.status == "WAIT_BUYER_PAY" || trade.status == "TRADE_CLOSED" else {
                    return ["code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"]
                }
                trade.status = "TRADE_CLOSED"
                trades[outTradeNo] = trade
                return ["code": "10000", "msg": "Success", "trade_no": trade.tradeNo, "out_trade_no": outTradeNo]
            }
            return try signed(method, result)
        case "alipay.trade.refund":
            return try signed(method, refund(content))
        case "alipay.fund.trans.uni.transfer":
            return try signed(method, transfer(parameters["biz_content"] ?? ""))
        case "alipay.fund.trans.common.query":
            guard content["product_code"] == "TRANS_ACCOUNT_NO_PWD", content["biz_scene"] == "DIRECT_TRANSFER" else {
                return try signed(method, ["code": "40004", "msg": "Business Failed", "sub_code": "INVALID_PARAMETER", "sub_msg": "参数有误"])
            }
            guard let transfer = transfers.withLockedValue({ $0[content["out_biz_no"] ?? ""] }) else {
                return try signed(method, ["code": "40004", "msg": "Business Failed", "sub_code": "ORDER_NOT_EXIST", "sub_msg": "转账订单不存在"])
            }
            var answer = ["code": "10000", "msg": "Success", "order_id": transfer.orderID, "out_biz_no": transfer.outBizNo,
                          "pay_fund_order_id": transfer.orderID + "1", "status": transfer.status, "trans_amount": transfer.transAmount]
            if transfer.status == "FAIL" { answer["fail_reason"] = "收款账户不存在"; answer["error_code"] = "PAYEE_NOT_EXIST" }
            return try signed(method, answer)
        case "alipay.data.dataservice.bill.downloadurl.query":
            guard content["bill_type"] == "trade", let day = BillDay(content["bill_date"] ?? "") else {
                return try signed(method, ["code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-bill-date", "sub_msg": "账单日期不正确"])
            }
            if billTweaks.withLockedValue({ $0.failing }) {
                return try signed(method, ["code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist", "sub_msg": "账单不存在"])
            }
            return try signed(method, ["code": "10000", "msg": "Success",
                                       "bill_download_url": "http://127.0.0.1:\(port)/bills/\(day.compact).csv.zip?downloadFileName=\(day.compact).csv.zip&fileType=csv.zip"])
        case "alipay.trade.fastpay.refund.query":
            guard let refund = refunds.withLockedValue({ $0[content["out_request_no"] ?? ""] }), refund.outTradeNo == outTradeNo else {
                return try signed(method, ["code": "10000", "msg": "Success"])
            }
            return try signed(method, ["code": "10000", "msg": "Success", "out_trade_no": outTradeNo, "out_request_no": refund.outRequestNo,
                                       "refund_amount": refund.amount, "refund_status": "REFUND_SUCCESS"])
        default:
            return try signed(method, ["code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method", "sub_msg": method])
        }
    }

    /// `biz_content` with its nested `payee_info`: a transfer, the same one again for a repeated out_biz_no.
    private func transfer(_ text: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let outBizNo = object["out_biz_no"] as? String, let amount = object["trans_amount"] as? String,
              let fen = try? AlipayAmount.fen(fromYuan: amount), fen >= 10,
              let payee = object["payee_info"] as? [String: Any], let identity = payee["identity"] as? String,
              let identityType = payee["identity_type"] as? String, let title = object["order_title"] as? String, !title.isEmpty else {
            return ["code": "40004", "msg": "Business Failed", "sub_code": "INVALID_PARAMETER", "sub_msg": "参数有误"]
        }
        transferRequests.withLockedValue { $0.append(outBizNo) }
        let script = transferScript.withLockedValue { $0 }
        let result = transfers.withLockedValue { transfers -> Transfer? in
            if let existing = transfers[outBizNo] { return existing.transAmount == amount && existing.identity == identity ? existing : nil }
            if script.refuseWith != nil { return nil }
            let created = Transfer(outBizNo: outBizNo, orderID: "20261118110070000006" + String(transfers.count + 100_000),
                                   transAmount: amount, productCode: object["product_code"] as? String ?? "",
                                   bizScene: object["biz_scene"] as? String ?? "", orderTitle: title, identity: identity,
                                   identityType: identityType, name: payee["name"] as? String ?? "", status: script.status)
            transfers[outBizNo] = created
            return created
        }
        guard let transfer = result else {
            return ["code": "40004", "msg": "Business Failed", "sub_code": script.refuseWith ?? "DUPLICATE_OUT_BIZ_NO", "sub_msg": "转账失败"]
        }
        return ["code": "10000", "msg": "Success", "out_biz_no": outBizNo, "order_id": transfer.orderID,
                "pay_fund_order_id": transfer.orderID + "1", "status": transfer.status, "trans_date": "2026-11-18 10:41:39"]
    }

    func moveTransfer(_ outBizNo: String, to status: String) {
        transfers.withLockedValue { $0[outBizNo]?.status = status }
    }

    func transfer(_ outBizNo: String) -> Transfer? { transfers.withLockedValue { $0[outBizNo] } }

    private func refund(_ content: [String: String]) -> [String: String] {
        let outTradeNo = content["out_trade_no"] ?? ""
        let requestNo = content["out_request_no"] ?? outTradeNo
        guard let amount = content["refund_amount"], let fen = try? AlipayAmount.fen(fromYuan: amount), fen > 0 else {
            return ["code": "40004", "msg": "Business Failed", "sub_code": "ACQ.INVALID_PARAMETER", "sub_msg": "参数无效"]
        }
        return trades.withLockedValue { trades in
            guard var trade = trades[outTradeNo], trade.status == "TRADE_SUCCESS" || trade.status == "TRADE_CLOSED" && trade.refundedFen > 0 else {
                return ["code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"]
            }
            let total = (try? AlipayAmount.fen(fromYuan: trade.totalAmount)) ?? 0
            let repeated = refunds.withLockedValue { $0[requestNo] != nil }
            if !repeated {
                guard trade.refundedFen + fen <= total else {
                    return ["code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "sub_msg": "退款金额超限"]
                }
                trade.refundedFen += fen
                if trade.refundedFen == total { trade.status = "TRADE_CLOSED" }
                trades[outTradeNo] = trade
                refunds.withLockedValue { $0[requestNo] = Refund(outRequestNo: requestNo, outTradeNo: outTradeNo, amount: amount, at: clock.now()) }
            }
            return ["code": "10000", "msg": "Success", "trade_no": trade.tradeNo, "out_trade_no": outTradeNo, "buyer_logon_id": "159****5620",
                    "fund_change": repeated ? "N" : "Y", "refund_fee": (try? AlipayAmount.yuan(fromFen: trade.refundedFen)) ?? "0.00"]
        }
    }

    /// `{"<method>_response":{…},"sign":"…"}` with the member signed as written.
    private func signed(_ method: String, _ member: [String: String]) throws -> Response {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: member, options: [.sortedKeys]), as: UTF8.self)
        let body = try AlipayResponse.sign(memberJSON: json, method: method, alipayKey: signer.withLockedValue { $0 })
        var headers = HTTPHeaders()
        headers.contentType = .json
        return Response(status: .ok, headers: headers, body: .init(string: body))
    }

    // MARK: bills

    /// The day's lines as Alipay would bill them, then the test's tweaks.
    func billLines(_ day: BillDay) -> [ProviderBillLine] {
        let (start, end) = day.window
        let tweaks = billTweaks.withLockedValue { $0 }
        let allTrades = trades.withLockedValue { $0 }
        let paid = allTrades.values.compactMap { trade -> ProviderBillLine? in
            guard let at = trade.paidAt, at >= start, at < end, let fen = try? AlipayAmount.fen(fromYuan: trade.totalAmount) else { return nil }
            return ProviderBillLine(kind: .payment, ourNo: trade.outTradeNo, providerNo: trade.tradeNo, amount: Money(fen: fen), at: at)
        }
        let refunded = refunds.withLockedValue { Array($0.values) }.compactMap { refund -> ProviderBillLine? in
            guard refund.at >= start, refund.at < end, let fen = try? AlipayAmount.fen(fromYuan: refund.amount) else { return nil }
            return ProviderBillLine(kind: .refund, ourNo: refund.outRequestNo, providerNo: allTrades[refund.outTradeNo]?.tradeNo ?? "", amount: Money(fen: fen), at: refund.at)
        }
        return (paid + refunded).sorted { ($0.at ?? start, $0.ourNo) < ($1.at ?? start, $1.ourNo) }
            .filter { !tweaks.omitted.contains("\($0.kind.rawValue):\($0.ourNo)") }
            .map { line in
                guard let fen = tweaks.amounts["\(line.kind.rawValue):\(line.ourNo)"] else { return line }
                return ProviderBillLine(kind: line.kind, ourNo: line.ourNo, providerNo: line.providerNo, amount: Money(fen: fen), at: line.at)
            } + tweaks.extra
    }

    /// The ZIP of GBK CSVs behind the download link (the link carries its own token, no signature).
    private func billFile(_ req: Request) throws -> Response {
        let file = req.parameters.get("file") ?? ""
        guard file.hasSuffix(".csv.zip"), let day = BillDay(String(file.prefix(8)).enumerated().map { i, c in i == 4 || i == 6 ? "-\(c)" : "\(c)" }.joined()) else {
            return Response(status: .notFound)
        }
        var headers = HTTPHeaders()
        headers.contentType = .init(type: "application", subType: "zip")
        return Response(status: .ok, headers: headers, body: .init(data: Data(AlipayBill.archive(billLines(day), pid: Self.sellerID, day: day))))
    }

    // MARK: the buyer and the notifications

    @discardableResult
    func pay(_ outTradeNo: String) -> Trade? {
        trades.withLockedValue { trades in
            guard var trade = trades[outTradeNo] else { return nil }
            trade.status = "TRADE_SUCCESS"
            trade.paidAt = trade.paidAt ?? clock.now()
            trades[outTradeNo] = trade
            return trade
        }
    }

    func trade(_ outTradeNo: String) -> Trade? { trades.withLockedValue { $0[outTradeNo] } }

    /// The notification parameters for a trade, as Alipay posts them (before signing).
    func notificationParameters(_ trade: Trade) -> [String: String] {
        [
            "gmt_create": "2026-11-18 10:30:00", "charset": "utf-8", "seller_email": "shop@example.com", "subject": trade.subject,
            "buyer_id": "2088102122524333", "invoice_amount": trade.totalAmount, "notify_id": UUID().uuidString.lowercased(),
            "fund_bill_list": #"[{"amount":"\#(trade.totalAmount)","fundChannel":"ALIPAYACCOUNT"}]"#, "notify_type": "trade_status_sync",
            "trade_status": trade.status, "receipt_amount": trade.totalAmount, "app_id": Self.appID, "buyer_pay_amount": trade.totalAmount,
            "seller_id": Self.sellerID, "gmt_payment": "2026-11-18 10:31:00", "notify_time": "2026-11-18 10:31:01", "version": "1.0",
            "out_trade_no": trade.outTradeNo, "total_amount": trade.totalAmount, "trade_no": trade.tradeNo, "auth_app_id": Self.appID,
            "buyer_logon_id": "159****5620", "point_amount": "0.00",
        ]
    }

    /// A signed, form-encoded notification body (`changes` applied before signing).
    func notification(_ trade: Trade, changes: [String: String] = [:], key: PaymentKeySigner? = nil) throws -> String {
        let parameters = notificationParameters(trade).merging(changes) { $1 }
        return try AlipaySignature.signNotification(parameters, alipayKey: key ?? PaymentTestKeys.signer(PaymentTestKeys.alipay))
    }

    func deliver(_ body: String, to url: String) async throws -> ClientResponse {
        try await app.client.post(URI(string: url), headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]) {
            $0.body = ByteBuffer(string: body)
        }
    }
}

enum AlipayTestFiles {
    static func environment(gateway: String, notify: String, sellerID: String? = AlipayFake.sellerID, transferTitle: String? = nil) -> [String: String] {
        var env = [
            "FISSION_ALIPAY_APP_ID": AlipayFake.appID,
            "FISSION_ALIPAY_APP_PRIVATE_KEY_FILE": WeChatPayTestFiles.directory + "/alipay_app_private_key.pem",
            "FISSION_ALIPAY_PUBLIC_KEY_FILE": WeChatPayTestFiles.directory + "/alipay_public_key.txt",
            "FISSION_ALIPAY_GATEWAY": gateway, "FISSION_ALIPAY_NOTIFY_URL": notify,
            "FISSION_ALIPAY_RETURN_URL": "https://mall.example.com/me/orders",
        ]
        if let sellerID { env["FISSION_ALIPAY_SELLER_ID"] = sellerID }
        if let transferTitle { env["FISSION_ALIPAY_TRANSFER_TITLE"] = transferTitle }
        return env
    }
}
