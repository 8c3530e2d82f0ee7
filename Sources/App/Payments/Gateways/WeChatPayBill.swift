import Foundation
import MallCore

/// WeChat Pay's trade bill (交易账单, `bill_type=ALL`) as published for direct merchants: UTF-8
/// CSV, one header row, then one row per payment or refund with every field prefixed by a
/// backtick (so that spreadsheets keep long numbers as text), then a summary header and one
/// summary row. Amounts are yuan with two decimals.
///
/// Columns are found by their header names, not their positions, since WeChat says the order may
/// change. The layout assumed (from WeChat's documentation of the ALL bill) is:
/// 交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,
/// 付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,
/// 退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
/// and the summary 总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额.
/// A SUCCESS row is a payment of 订单金额 (what we asked the buyer for, as our ledger books it); a
/// REFUND row is a refund of 申请退款金额 (what we asked back). 商品名称 and 商户数据包 are free
/// text and may hold commas WeChat does not quote: columns after them are read from the row's end.
enum WeChatPayBill {
    enum Problem: Error, Equatable {
        case notUTF8
        case missingColumn(String)
        case badRow(line: Int, String)
        case summaryMismatch(String)
    }

    static func parse(_ bytes: [UInt8]) throws(Problem) -> [ProviderBillLine] {
        let text: String
        do { text = try CSV.decode(bytes) } catch { throw .notUTF8 }
        let rows: [(line: Int, fields: [String])]
        do { rows = try CSV.parse(text) } catch { throw .badRow(line: 0, "unterminated quote") }
        guard let header = rows.first?.fields.map(clean) else { throw .missingColumn("交易时间") }
        func column(_ name: String) throws(Problem) -> Int {
            guard let index = header.firstIndex(of: name) else { throw .missingColumn(name) }
            return index
        }
        let time = try column("交易时间"), tradeNo = try column("微信订单号"), outTradeNo = try column("商户订单号")
        let status = try column("交易状态"), refundID = try column("微信退款单号"), outRefundNo = try column("商户退款单号")
        let total = try column("订单金额"), refundAsked = try column("申请退款金额")
        let freeText = [header.firstIndex(of: "商品名称"), header.firstIndex(of: "商户数据包")].compactMap { $0 }
        let freeFirst = freeText.min() ?? header.count
        let freeLast = freeText.max() ?? header.count

        var lines: [ProviderBillLine] = []
        var index = 1
        while index < rows.count, rows[index].fields.first?.hasPrefix("`") == true {
            let (line, fields) = rows[index]
            guard fields.count >= header.count else { throw .badRow(line: line, "\(fields.count) fields for \(header.count) columns") }
            // Columns left of the free text from the start, right of it from the end.
            func value(_ column: Int) -> String {
                column < freeFirst || column <= freeLast && fields.count == header.count
                    ? clean(fields[column]) : clean(fields[fields.count - (header.count - column)])
            }
            let at = ProviderTime.parseBeijing(value(time))
            switch value(status) {
            case "SUCCESS":
                lines.append(ProviderBillLine(kind: .payment, ourNo: value(outTradeNo), providerNo: value(tradeNo),
                                              amount: try amount(value(total), line: line), at: at))
            case "REFUND":
                lines.append(ProviderBillLine(kind: .refund, ourNo: value(outRefundNo), providerNo: value(refundID),
                                              amount: try amount(value(refundAsked), line: line), at: at))
            case let other:
                // Not a state a direct merchant's ALL bill lists for us; never dropped silently.
                throw .badRow(line: line, "trade status \(other)")
            }
            if lines.last?.ourNo.isEmpty == true { throw .badRow(line: line, "no merchant number") }
            index += 1
        }
        // The summary: its count and totals must agree with the rows read.
        guard index + 1 < rows.count else { throw .summaryMismatch("no summary") }
        let summaryHeader = rows[index].fields.map(clean)
        let summary = rows[index + 1].fields.map(clean)
        guard summary.count == summaryHeader.count else { throw .summaryMismatch("summary row") }
        func summaryValue(_ name: String) throws(Problem) -> String {
            guard let column = summaryHeader.firstIndex(of: name) else { throw .summaryMismatch(name) }
            return summary[column]
        }
        let count = try summaryValue("总交易单数")
        guard Int(count) == lines.count else { throw .summaryMismatch("总交易单数") }
        let totals: BillTotals
        do { totals = try BillTotals(lines) } catch { throw .summaryMismatch("overflow") }
        let paid = try amount(try summaryValue("订单总金额"), line: rows[index + 1].line)
        let refunded = try amount(try summaryValue("申请退款总金额"), line: rows[index + 1].line)
        guard paid == totals.paymentAmount else { throw .summaryMismatch("订单总金额") }
        guard refunded == totals.refundAmount else { throw .summaryMismatch("申请退款总金额") }
        return lines
    }

    /// Writes a bill in the same layout (the test fake serves these).
    static func format(_ lines: [ProviderBillLine], mchid: String, appid: String) -> String {
        let header = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        var rows = [header]
        for line in lines {
            let yuan = yuanText(line.amount)
            let time = line.at.map(ProviderTime.alipay) ?? ""
            let fields: [String] = line.kind == .payment
                ? [time, appid, mchid, "0", "", line.providerNo, line.ourNo, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE", "SUCCESS", "OTHERS", "CNY",
                   yuan, "0.00", "0", "0", "0.00", "0.00", "", "", "裂变商城订单,含逗号", "", "0.00", "0.60%", yuan, "0.00", ""]
                : [time, appid, mchid, "0", "", "4200000000000000000", "", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE", "REFUND", "OTHERS", "CNY",
                   "0.00", "0.00", line.providerNo, line.ourNo, yuan, "0.00", "ORIGINAL", "SUCCESS", "裂变商城订单", "", "0.00", "0.60%", "0.00", yuan, ""]
            rows.append(fields.map { "`" + $0 }.joined(separator: ","))
        }
        let totals = (try? BillTotals(lines)) ?? BillTotals()
        rows.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        rows.append(["\(lines.count)", yuanText(totals.paymentAmount), yuanText(totals.refundAmount), "0.00", "0.00",
                     yuanText(totals.paymentAmount), yuanText(totals.refundAmount)].map { "`" + $0 }.joined(separator: ","))
        return rows.joined(separator: "\r\n") + "\r\n"
    }

    static func yuanText(_ money: Money) -> String {
        let fen = money.fen.magnitude
        return (money.fen < 0 ? "-" : "") + "\(fen / 100)." + (fen % 100 < 10 ? "0" : "") + "\(fen % 100)"
    }

    private static func clean(_ field: String) -> String {
        var text = field.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("`") { text.removeFirst() }
        return text
    }

    private static func amount(_ text: String, line: Int) throws(Problem) -> Money {
        guard let money = try? Money.parse(text), money.fen >= 0 else { throw .badRow(line: line, "amount \(text)") }
        return money
    }
}

extension ProviderTime {
    /// `2026-11-18 10:34:56` in Beijing time, as bills write it; nil for anything else.
    static func parseBeijing(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = beijing
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)
    }
}
