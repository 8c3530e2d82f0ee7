import Foundation
import MallCore
import Testing

@Suite struct LedgerBoundsTests {
    @Test(arguments: [
        // purpose, delta, lower, upper
        (LedgerAccountPurpose.memberBalance, Int64(100), Int64(-100), Int64.max - 100),
        (.memberBalance, -100, 100, .max),
        (.memberBalance, 0, 0, .max),
        (.memberBalance, .max, -.max, 0),
        (.memberBalance, -.max, .max, .max),
        (.paymentClearing, 100, .min, .max - 100),
        (.paymentClearing, -100, .min + 100, .max),
        (.paymentClearing, .max, .min, 0),
    ])
    func rangeBeforeADelta(purpose: LedgerAccountPurpose, delta: Int64, lower: Int64, upper: Int64) {
        #expect(purpose.balanceRange(beforeApplying: delta) == lower...upper)
    }

    @Test func everyBalanceInTheRangeStaysInBounds() {
        for delta in [Int64.max, 1, 0, -1, -.max] {
            for purpose in [LedgerAccountPurpose.memberBalance, .paymentClearing] {
                let range = purpose.balanceRange(beforeApplying: delta)
                for balance in [range.lowerBound, range.upperBound] {
                    let (after, overflow) = balance.addingReportingOverflow(delta)
                    #expect(!overflow)
                    #expect(purpose.mayGoNegative || after >= 0)
                }
            }
        }
    }

    @Test func storageOrderIsTotalAndIgnoresInputOrder() throws {
        let keys = [
            try LedgerAccountKey(.memberBalance, .member(UUID())), try LedgerAccountKey(.memberBalance, .member(UUID())),
            .platform(.paymentClearing), .platform(.feeRevenue), try LedgerAccountKey(.merchantReceivable, .merchant(UUID())),
        ]
        let sorted = keys.sorted(by: LedgerAccountKey.storageOrder)
        #expect(keys.reversed().sorted(by: LedgerAccountKey.storageOrder) == sorted)
        #expect(keys.shuffled().sorted(by: LedgerAccountKey.storageOrder) == sorted)
    }
}
