import Foundation
import MallCore
import Testing
@testable import App

/// The providers' bill files read without a server: WeChat's backtick CSV, Alipay's ZIP of GBK CSVs.
@Suite struct BillParsingTests {
    static let day = BillDay("2026-11-18")!
    static let at = Date(timeIntervalSince1970: 1_794_990_000)
    static let lines = [
        ProviderBillLine(kind: .payment, ourNo: "P202611180001", providerNo: "4200000001", amount: Money(fen: 26_100), at: at),
        ProviderBillLine(kind: .payment, ourNo: "P202611180002", providerNo: "4200000002", amount: Money(fen: 1), at: at),
        ProviderBillLine(kind: .refund, ourNo: "R202611180001", providerNo: "50000001", amount: Money(fen: 9_999), at: at),
    ]

    @Test func aWeChatBillReadsBackToTheFenEvenWithCommasInTheProductName() throws {
        let text = WeChatPayBill.format(Self.lines, mchid: "1900009191", appid: "wxd678efh567hg6787")
        #expect(text.contains("`裂变商城订单,含逗号"))
        #expect(text.contains("`261.00"))
        let read = try WeChatPayBill.parse(Array(text.utf8))
        #expect(read == Self.lines)
    }

    @Test func aWeChatBillWhoseSummaryDisagreesOrWhoseRowsAreDamagedIsRefused() throws {
        let text = WeChatPayBill.format(Self.lines, mchid: "1900009191", appid: "wxd678efh567hg6787")
        let summaryChanged = text.replacingOccurrences(of: "`3,`", with: "`2,`")
        #expect(throws: WeChatPayBill.Problem.summaryMismatch("总交易单数")) { try WeChatPayBill.parse(Array(summaryChanged.utf8)) }
        let amountChanged = text.replacingOccurrences(of: "`0.01", with: "`0.02")
        #expect(throws: WeChatPayBill.Problem.self) { try WeChatPayBill.parse(Array(amountChanged.utf8)) }
        let threeDecimals = text.replacingOccurrences(of: "`0.01", with: "`0.011")
        #expect(throws: WeChatPayBill.Problem.self) { try WeChatPayBill.parse(Array(threeDecimals.utf8)) }
        let otherStatus = text.replacingOccurrences(of: "`SUCCESS,`OTHERS", with: "`REVOKED,`OTHERS")
        #expect(throws: WeChatPayBill.Problem.self) { try WeChatPayBill.parse(Array(otherStatus.utf8)) }
        #expect(throws: WeChatPayBill.Problem.self) { try WeChatPayBill.parse(Array(text.prefix(200).utf8)) }
        #expect(throws: WeChatPayBill.Problem.notUTF8) { try WeChatPayBill.parse([0xFF, 0xFE, 0x00]) }
        #expect(throws: WeChatPayBill.Problem.self) { try WeChatPayBill.parse([]) }
        // An empty day: the header and a summary of zero.
        #expect(try WeChatPayBill.parse(Array(WeChatPayBill.format([], mchid: "1", appid: "a").utf8)).isEmpty)
    }

    @Test func anAlipayArchiveOfGBKFilesReadsBackToTheFen() throws {
        let zip = AlipayBill.archive(Self.lines, pid: "2088101117955611", day: Self.day)
        // The names and the contents really are GBK, not UTF-8.
        #expect(String(bytes: zip, encoding: .utf8) == nil)
        let entries = try ZipArchive.entries(zip)
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { !$0.nameIsUTF8 })
        #expect(String(bytes: entries[0].nameBytes, encoding: AlipayBill.gb18030) == "2088101117955611_20261118_业务明细.csv")
        #expect(try AlipayBill.parse(zip: zip) == Self.lines)
    }

    @Test func damagedArchivesAreErrorsNotCrashes() throws {
        let zip = AlipayBill.archive(Self.lines, pid: "2088101117955611", day: Self.day)
        #expect(throws: AlipayBill.Problem.self) { try AlipayBill.parse(zip: []) }
        #expect(throws: AlipayBill.Problem.self) { try AlipayBill.parse(zip: Array("PK not a zip".utf8)) }
        #expect(throws: AlipayBill.Problem.self) { try AlipayBill.parse(zip: Array(zip.prefix(zip.count - 30))) }
        // Every single byte flipped, one at a time: an error or (where the byte is unchecked) the same bill, never a trap.
        for index in stride(from: 0, to: zip.count, by: 7) {
            var damaged = zip
            damaged[index] ^= 0x5A
            _ = try? AlipayBill.parse(zip: damaged)
        }
        let noDetail = ZipArchive.make([(Array("summary.csv".utf8), Array("x".utf8))])
        #expect(throws: AlipayBill.Problem.noDetailFile) { try AlipayBill.parse(zip: noDetail) }
    }
}
