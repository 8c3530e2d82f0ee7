import Foundation
import MallCore

/// Alipay's trade bill (`bill_type=trade`): a ZIP holding `<pid>_<YYYYMMDD>_业务明细.csv` and
/// `…_业务明细(汇总).csv`, both GBK, the names GBK too. The detail file has `#` comment lines
/// before and after the table; the table is a header row and one row per business line, fields
/// padded with spaces or tabs. Columns are found by name. The layout assumed is:
/// 支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,
/// 对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,
/// 券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
/// 业务类型 交易 is a payment of 订单金额 under 商户订单号; 退款 is a refund whose 订单金额 is the
/// amount returned, written negative, under 退款批次号/请求号 (our out_request_no, the refund number).
enum AlipayBill {
    enum Problem: Error, Equatable {
        case archive(String)
        case noDetailFile
        case notGBK
        case missingColumn(String)
        case badRow(line: Int, String)
    }

    /// GB18030 (a superset of GBK). Foundation on Linux decodes it through the CoreFoundation
    /// encoding number (kCFStringEncodingGB_18030_2000 = 0x0632, flagged as a CF encoding), which
    /// this machine's toolchain was checked to support in both directions.
    static let gb18030 = String.Encoding(rawValue: 0x8000_0632)

    static let detailMarker = "业务明细"
    static let summaryMarker = "汇总"

    static func parse(zip bytes: [UInt8]) throws(Problem) -> [ProviderBillLine] {
        let entries: [ZipArchive.Entry]
        do { entries = try ZipArchive.entries(bytes) } catch { throw .archive("\(error)") }
        let detail = entries.first { entry in
            let name = (entry.nameIsUTF8 ? String(bytes: entry.nameBytes, encoding: .utf8) : String(bytes: entry.nameBytes, encoding: gb18030)) ?? ""
            return name.hasSuffix(".csv") && name.contains(detailMarker) && !name.contains(summaryMarker)
        }
        guard let detail else { throw .noDetailFile }
        guard let text = String(bytes: detail.data, encoding: gb18030) else { throw .notGBK }
        return try parse(csv: text)
    }

    static func parse(csv text: String) throws(Problem) -> [ProviderBillLine] {
        let rows: [(line: Int, fields: [String])]
        do { rows = try CSV.parse(text) } catch { throw .badRow(line: 0, "unterminated quote") }
        // The table: the first row that is not a comment, up to the next comment.
        guard let start = rows.firstIndex(where: { !($0.fields.first ?? "").hasPrefix("#") }) else { throw .missingColumn("支付宝交易号") }
        let header = rows[start].fields.map(clean)
        func column(_ name: String) throws(Problem) -> Int {
            guard let index = header.firstIndex(of: name) else { throw .missingColumn(name) }
            return index
        }
        let tradeNo = try column("支付宝交易号"), outTradeNo = try column("商户订单号"), kind = try column("业务类型")
        let finished = try column("完成时间"), amount = try column("订单金额（元）"), requestNo = try column("退款批次号/请求号")
        var lines: [ProviderBillLine] = []
        for (line, fields) in rows[(start + 1)...] {
            if (fields.first ?? "").hasPrefix("#") { break }
            guard fields.count >= header.count else { throw .badRow(line: line, "\(fields.count) fields for \(header.count) columns") }
            let at = ProviderTime.parseBeijing(clean(fields[finished]))
            guard let money = try? Money.parse(clean(fields[amount]), allowNegative: true) else {
                throw .badRow(line: line, "amount \(clean(fields[amount]))")
            }
            switch clean(fields[kind]) {
            case "交易":
                guard money.fen >= 0, !clean(fields[outTradeNo]).isEmpty else { throw .badRow(line: line, "payment") }
                lines.append(ProviderBillLine(kind: .payment, ourNo: clean(fields[outTradeNo]), providerNo: clean(fields[tradeNo]), amount: money, at: at))
            case "退款":
                guard !clean(fields[requestNo]).isEmpty else { throw .badRow(line: line, "refund without request number") }
                lines.append(ProviderBillLine(kind: .refund, ourNo: clean(fields[requestNo]), providerNo: clean(fields[tradeNo]),
                                              amount: Money(fen: Int64(money.fen.magnitude)), at: at))
            case let other:
                throw .badRow(line: line, "business type \(other)")
            }
        }
        return lines
    }

    /// A bill archive in the same layout, GBK throughout (the test fake serves these).
    static func archive(_ lines: [ProviderBillLine], pid: String, day: BillDay) -> [UInt8] {
        let header = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
        var rows = ["#支付宝业务明细查询", "#账号：[\(pid)0156]", "#起始日期：[\(day) 00:00:00]   终止日期：[\(day) 23:59:59]",
                    "#-----------------------------------------业务明细列表----------------------------------------", header]
        for line in lines {
            let time = line.at.map(ProviderTime.alipay) ?? ""
            let refund = line.kind == .refund
            let yuan = (refund ? "-" : "") + WeChatPayBill.yuanText(line.amount)
            let fields = [line.providerNo, refund ? "" : line.ourNo, refund ? "退款" : "交易", "裂变商城订单", time, time, "", "", "", "",
                          "159****5620", yuan, yuan, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", refund ? line.ourNo : "",
                          "0.00", "0.00", ""]
            rows.append(fields.map { $0 + "\t" }.joined(separator: ","))
        }
        rows += ["#-----------------------------------------业务明细列表结束------------------------------------",
                 "#交易合计：\(lines.filter { $0.kind == .payment }.count)笔", "#导出时间：[\(day) 09:00:00]"]
        let detail = Array((rows.joined(separator: "\r\n") + "\r\n").data(using: gb18030) ?? Data())
        let summary = Array("#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n".data(using: gb18030) ?? Data())
        func name(_ text: String) -> [UInt8] { Array(text.data(using: gb18030) ?? Data()) }
        return ZipArchive.make([
            (name("\(pid)_\(day.compact)_业务明细.csv"), detail),
            (name("\(pid)_\(day.compact)_业务明细(汇总).csv"), summary),
        ])
    }

    private static func clean(_ field: String) -> String {
        field.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
