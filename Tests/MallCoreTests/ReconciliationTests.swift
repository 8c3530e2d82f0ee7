import Foundation
import Testing
@testable import MallCore

@Suite struct ReconciliationTests {
    static func pay(_ no: String, _ fen: Int64, _ providerNo: String = "") -> BillLine {
        BillLine(kind: .payment, ourNo: no, providerNo: providerNo, amount: Money(fen: fen))
    }

    static func refund(_ no: String, _ fen: Int64, _ providerNo: String = "") -> BillLine {
        BillLine(kind: .refund, ourNo: no, providerNo: providerNo, amount: Money(fen: fen))
    }

    @Test func aDayThatMatchesHasNoDifferences() throws {
        let ours = [Self.pay("P1", 26_100), Self.pay("P2", 9_900), Self.refund("R1", 5_000)]
        let theirs = [Self.refund("R1", 5_000, "5001"), Self.pay("P2", 9_900, "4202"), Self.pay("P1", 26_100, "4201")]
        let result = try Reconciliation.compare(ours: ours, provider: theirs)
        #expect(result.differences.isEmpty)
        #expect(result.matched == 3)
        #expect(result.ours == result.provider)
        #expect(result.provider.payments == 2)
        #expect(result.provider.paymentAmount == Money(fen: 36_000))
        #expect(result.provider.refunds == 1)
        #expect(result.provider.refundAmount == Money(fen: 5_000))
    }

    @Test func missingExtraAndDifferentAmountsAreEachListed() throws {
        // setup: the provider has a payment we never booked, lacks our refund, and has P1 one fen less
        let ours = [Self.pay("P1", 26_100), Self.pay("P2", 9_900), Self.refund("R1", 5_000)]
        let theirs = [Self.pay("P1", 26_099, "4201"), Self.pay("P2", 9_900, "4202"), Self.pay("P3", 1_234, "4203")]

        // act
        let result = try Reconciliation.compare(ours: ours, provider: theirs)

        // check
        #expect(result.matched == 1)
        #expect(result.differences == [
            .init(kind: .amountMismatch, lineKind: .payment, ourNo: "P1", providerNo: "4201", ourAmount: Money(fen: 26_100), providerAmount: Money(fen: 26_099)),
            .init(kind: .extraAtProvider, lineKind: .payment, ourNo: "P3", providerNo: "4203", ourAmount: nil, providerAmount: Money(fen: 1_234)),
            .init(kind: .missingAtProvider, lineKind: .refund, ourNo: "R1", providerNo: "", ourAmount: Money(fen: 5_000), providerAmount: nil),
        ])
        #expect(result.ours.paymentAmount == Money(fen: 36_000))
        #expect(result.provider.paymentAmount == Money(fen: 37_233))
    }

    @Test func aNumberTwiceOnTheBillIsMoneyTwiceNotALineSwallowed() throws {
        let result = try Reconciliation.compare(ours: [Self.pay("P1", 100)], provider: [Self.pay("P1", 100, "a"), Self.pay("P1", 100, "b")])
        #expect(result.matched == 0)
        #expect(result.differences.map(\.kind) == [.amountMismatch])
        #expect(result.differences.first?.providerAmount == Money(fen: 200))
        #expect(result.differences.first?.providerNo == "a,b")
    }

    @Test func aPaymentAndARefundWithTheSameNumberAreDifferentLines() throws {
        let result = try Reconciliation.compare(ours: [Self.pay("X1", 100)], provider: [Self.refund("X1", 100)])
        #expect(result.differences.map(\.kind) == [.missingAtProvider, .extraAtProvider])
    }

    @Test func everyLineEndsUpMatchedOrInADifference() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let ours = (0..<Int.random(in: 0...8, using: &generator)).map { _ in Self.pay("P\(Int.random(in: 0...9, using: &generator))", Int64.random(in: 1...3, using: &generator)) }
            let theirs = (0..<Int.random(in: 0...8, using: &generator)).map { _ in Self.pay("P\(Int.random(in: 0...9, using: &generator))", Int64.random(in: 1...3, using: &generator)) }
            let result = try Reconciliation.compare(ours: ours, provider: theirs)
            let numbers = Set(ours.map(\.ourNo)).union(theirs.map(\.ourNo))
            #expect(result.matched + result.differences.count == numbers.count)
        }
    }

    @Test(arguments: ["2026-11-18", "2000-01-01", "2024-02-29", "2999-12-31"])
    func realDaysAreRead(_ text: String) throws {
        #expect(BillDay(text)?.description == text)
    }

    @Test(arguments: ["", "2026-11-31", "2025-02-29", "2026-13-01", "2026-00-10", "2026-1-18", "20261118", "2026/11/18",
                      "１２３４-11-18", "1999-12-31", "3000-01-01", "2026-11-18 ", "-026-11-18", "2026-11-1x"])
    func otherTextIsRefused(_ text: String) {
        #expect(BillDay(text) == nil)
    }

    @Test func daysAreCutAtMidnightChinaTime() throws {
        let day = try #require(BillDay("2026-11-18"))
        // 2026-11-17T16:00:00Z is 2026-11-18 00:00 in China.
        let start = Date(timeIntervalSince1970: 1_794_931_200)
        #expect(day.window.start == start)
        #expect(day.window.end == start.addingTimeInterval(86_400))
        #expect(BillDay.containing(start) == day)
        #expect(BillDay.containing(start.addingTimeInterval(-1))?.description == "2026-11-17")
        #expect(BillDay.containing(start.addingTimeInterval(86_399)) == day)
        #expect(day.previous?.description == "2026-11-17")
        #expect(BillDay("2024-03-01")?.previous?.description == "2024-02-29")
        #expect(BillDay("2026-01-01")?.previous?.description == "2025-12-31")
        #expect(day.compact == "20261118")
        #expect(BillDay.containing(Date(timeIntervalSince1970: .nan)) == nil)
    }
}
