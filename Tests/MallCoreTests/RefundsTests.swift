import PropertyBased
import Testing
@testable import MallCore

@Suite struct RefundsTests {
    @Test func oneUnitOfThreeTakesTheLargerShareFirst() throws {
        // ¥100.00 for 3 units: 3 334, 3 333, 3 333, refunded in that order.
        var line = try RefundableLine(paid: Money(fen: 10_000), quantity: 3)
        #expect(try Refunds.refundable(units: 1, of: line).fen == 3_334)
        line = try RefundableLine(paid: Money(fen: 10_000), quantity: 3, refundedUnits: 1, refundedAmount: Money(fen: 3_334))
        #expect(try Refunds.refundable(units: 1, of: line).fen == 3_333)
        line = try RefundableLine(paid: Money(fen: 10_000), quantity: 3, refundedUnits: 2, refundedAmount: Money(fen: 6_667))
        #expect(try Refunds.refundable(units: 1, of: line).fen == 3_333)
        #expect(try Refunds.refundable(units: 3, of: RefundableLine(paid: Money(fen: 10_000), quantity: 3)).fen == 10_000)
        #expect(try Refunds.refundable(units: 2, of: RefundableLine(paid: Money(fen: 10_000), quantity: 3)).fen == 6_667)
    }

    @Test func afterAnAgreementTheLastUnitsTakeWhatIsLeft() throws {
        // ¥30.00 for 3; ¥5.00 agreed without units, then the units one by one.
        let line = try RefundableLine(paid: Money(fen: 3_000), quantity: 3)
        #expect(try Refunds.agreed(Money(fen: 500), of: line).fen == 500)
        let after = try RefundableLine(paid: Money(fen: 3_000), quantity: 3, refundedAmount: Money(fen: 500))
        #expect(try Refunds.refundable(units: 2, of: after).fen == 2_000)
        let last = try RefundableLine(paid: Money(fen: 3_000), quantity: 3, refundedUnits: 2, refundedAmount: Money(fen: 2_500))
        #expect(try Refunds.refundable(units: 1, of: last).fen == 500)
        // A generous agreement leaves less than a unit's share: the share is cut to what is left.
        let generous = try RefundableLine(paid: Money(fen: 3_000), quantity: 3, refundedAmount: Money(fen: 2_500))
        #expect(try Refunds.refundable(units: 1, of: generous).fen == 500)
    }

    @Test func refusesMoreThanIsLeft() throws {
        let line = try RefundableLine(paid: Money(fen: 10_000), quantity: 3, refundedUnits: 1, refundedAmount: Money(fen: 3_334))
        #expect(throws: RefundError.tooManyUnits(requested: 3, remaining: 2)) { try Refunds.refundable(units: 3, of: line) }
        #expect(throws: RefundError.invalidUnits) { try Refunds.refundable(units: 0, of: line) }
        #expect(throws: RefundError.exceedsRefundable(requested: Money(fen: 6_667), refundable: Money(fen: 6_666))) {
            try Refunds.agreed(Money(fen: 6_667), of: line)
        }
        #expect(throws: RefundError.invalidAmount) { try Refunds.agreed(.zero, of: line) }
        #expect(throws: RefundError.tooManyUnits(requested: 3, remaining: 2)) { try Refunds.agreed(Money(fen: 1), units: 3, of: line) }
        #expect(throws: RefundError.invalidLine) { try RefundableLine(paid: Money(fen: 100), quantity: 1, refundedAmount: Money(fen: 101)) }
        #expect(throws: RefundError.invalidLine) { try RefundableLine(paid: Money(fen: 100), quantity: 2, refundedUnits: 3) }
        #expect(throws: RefundError.invalidLine) { try RefundableLine(paid: Money(fen: 100), quantity: 0) }
        #expect(throws: RefundError.invalidUnits) { try Refunds.shareOfUnits(paid: Money(fen: 1), quantity: .max, from: .max, count: 1) }
        #expect(RefundError.exceedsRefundable(requested: Money(fen: 6_667), refundable: Money(fen: 6_666)).localizedMessage(.zhHans)
                == "退款金额 ¥66.67 超过可退金额 ¥66.66")
    }

    @Test func hugeLinesNeedNoArray() throws {
        #expect(try Refunds.shareOfUnits(paid: Money(fen: .max), quantity: .max, from: 0, count: .max) == Money(fen: .max))
        #expect(try Refunds.shareOfUnits(paid: Money(fen: .max - 1), quantity: .max, from: .max - 1, count: 1) == .zero)
        #expect(try Refunds.shareOfUnits(paid: Money(fen: .max - 1), quantity: .max, from: 0, count: 1) == Money(fen: 1))
    }

    @Test(arguments: [
        // fee, refunded before, shipped, whole order refunded after → shipping refunded
        (Int64(1_000), Int64(0), false, true, Int64(1_000)),
        (1_000, 0, true, true, 0),
        (1_000, 0, false, false, 0),
        (1_000, 1_000, false, true, 0),
    ])
    func shippingOnlyWhenTheWholeOrderIsUndoneBeforeShipment(fee: Int64, before: Int64, shipped: Bool, whole: Bool, refund: Int64) throws {
        #expect(try Refunds.shipping(fee: Money(fen: fee), refundedBefore: Money(fen: before), shipped: shipped, orderFullyRefundedAfter: whole) == Money(fen: refund))
    }

    @Test func theOrderTotalIsTheLastGuard() throws {
        try Refunds.checkOrderTotal(paid: Money(fen: 11_000), refundedBefore: Money(fen: 10_000), refunding: Money(fen: 1_000))
        #expect(throws: RefundError.exceedsRefundable(requested: Money(fen: 1_001), refundable: Money(fen: 1_000))) {
            try Refunds.checkOrderTotal(paid: Money(fen: 11_000), refundedBefore: Money(fen: 10_000), refunding: Money(fen: 1_001))
        }
        #expect(throws: RefundError.exceedsRefundable(requested: Money(fen: .max), refundable: Money(fen: 1))) {
            try Refunds.checkOrderTotal(paid: Money(fen: 2), refundedBefore: Money(fen: 1), refunding: Money(fen: .max))
        }
    }

    @Test func serviceFeeAndItsReturn() throws {
        // 6 % of ¥99.99 = 599.94 → 600; rounds half away from zero.
        #expect(try ServiceFee.charge(on: Money(fen: 9_999), rate: BasisPoints(600)).fen == 600)
        #expect(try ServiceFee.charge(on: Money(fen: 25), rate: BasisPoints(200)).fen == 1) // 0.5 → 1
        #expect(throws: RefundError.invalidAmount) { try ServiceFee.charge(on: Money(fen: 1), rate: BasisPoints(10_001)) }
        // ¥600 fee on ¥9 999: refunding a third, then the rest.
        #expect(try ServiceFee.reversal(fee: Money(fen: 600), base: Money(fen: 9_999), refundedBefore: .zero, refunding: Money(fen: 3_333)).fen == 200)
        #expect(try ServiceFee.reversal(fee: Money(fen: 600), base: Money(fen: 9_999), refundedBefore: Money(fen: 3_333), refunding: Money(fen: 6_666)).fen == 400)
        #expect(try ServiceFee.reversal(fee: Money(fen: 7), base: Money(fen: 100), refundedBefore: .zero, refunding: Money(fen: 10)).fen == 0)
        #expect(try ServiceFee.reversal(fee: .zero, base: .zero, refundedBefore: .zero, refunding: .zero) == .zero)
        #expect(throws: RefundError.exceedsRefundable(requested: Money(fen: 2), refundable: Money(fen: 1))) {
            try ServiceFee.reversal(fee: Money(fen: 7), base: Money(fen: 100), refundedBefore: Money(fen: 99), refunding: Money(fen: 2))
        }
        #expect(try ServiceFee.reversal(fee: Money(fen: .max), base: Money(fen: .max), refundedBefore: Money(fen: 1), refunding: Money(fen: .max - 1)).fen == .max - 1)
    }

    /// The closed form is `Allocation.split` with equal weights.
    @Test func unitSharesAreTheEqualSplit() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 0...10_000_000), Gen.int64(in: 1...60)) { paid, quantity throws in
            let split = try Allocation.split(Money(fen: paid), byWeights: [Int64](repeating: 1, count: Int(quantity)))
            for unit in 0..<quantity {
                #expect(try Refunds.shareOfUnits(paid: Money(fen: paid), quantity: quantity, from: unit, count: 1) == split[Int(unit)])
            }
        }
    }

    enum Step: Sendable, CustomStringConvertible {
        /// A fraction (‰) of the units left, at least one.
        case units(Int64)
        /// A fraction (‰) of the amount left, with a fraction of the units left.
        case agreement(amount: Int64, units: Int64)
        var description: String {
            switch self {
            case .units(let p): "units(\(p)‰)"
            case let .agreement(a, u): "agreement(\(a)‰, \(u)‰)"
            }
        }
    }

    static let steps = Generator<Step, Shrink.None<Step>> { rng in
        Int.random(in: 0..<4, using: &rng) == 0
            ? .agreement(amount: Int64.random(in: 0...1_000, using: &rng), units: Int64.random(in: 0...1_000, using: &rng))
            : .units(Int64.random(in: 0...1_000, using: &rng))
    }.array(of: 1...12)

    /// Random sequences of partial refunds on one line of an order that also paid shipping: the
    /// line never returns more than it paid, the order never more than its total, and unit refunds
    /// alone return exactly the paid amount once every unit is back.
    @Test func refundsNeverExceedWhatWasPaid() async {
        await propertyCheck(count: 500, input: Gen.int64(in: 0...5_000_000), Gen.int64(in: 1...500), Self.steps) { paid, quantity, steps throws in
            let shippingFee = Money(fen: 800)
            let orderPaid = Money(fen: paid + shippingFee.fen)
            var units: Int64 = 0
            var amount: Int64 = 0
            var agreedAny = false
            for step in steps {
                let line = try RefundableLine(paid: Money(fen: paid), quantity: quantity, refundedUnits: units, refundedAmount: Money(fen: amount))
                let refund: Money
                let more: Int64
                switch step {
                case .units(let permille):
                    guard line.remainingUnits > 0 else { continue }
                    more = max(1, line.remainingUnits * permille / 1_000)
                    refund = try Refunds.refundable(units: more, of: line)
                case let .agreement(amountPermille, unitsPermille):
                    guard line.remainingAmount.fen > 0 else { continue }
                    more = line.remainingUnits * unitsPermille / 1_000
                    let wanted = Money(fen: max(1, line.remainingAmount.fen * amountPermille / 1_000))
                    refund = try Refunds.agreed(wanted, units: more, of: line)
                    agreedAny = true
                }
                #expect(refund.fen >= 0)
                try Refunds.checkOrderTotal(paid: orderPaid, refundedBefore: Money(fen: amount), refunding: refund)
                units += more
                amount += refund.fen
                #expect(amount <= paid)
                #expect(units <= quantity)
            }
            if units == quantity && !agreedAny { #expect(amount == paid) }
            // Whatever happened, refunding the units left returns everything left.
            let line = try RefundableLine(paid: Money(fen: paid), quantity: quantity, refundedUnits: units, refundedAmount: Money(fen: amount))
            if line.remainingUnits > 0 {
                #expect(try Refunds.refundable(units: line.remainingUnits, of: line).fen == paid - amount)
            }
        }
    }

    /// Splitting the units into any groups returns exactly what was paid.
    @Test func anyGroupingOfUnitsAddsUpToThePaidAmount() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 0...100_000_000), Gen.int64(in: 1...1_000).array(of: 1...10)) { paid, groups throws in
            let quantity = groups.reduce(0, +)
            var refunded: Int64 = 0
            var units: Int64 = 0
            for group in groups {
                let line = try RefundableLine(paid: Money(fen: paid), quantity: quantity, refundedUnits: units, refundedAmount: Money(fen: refunded))
                refunded += try Refunds.refundable(units: group, of: line).fen
                units += group
            }
            #expect(refunded == paid)
        }
    }

    /// However the refunds are grouped, the fee returned never exceeds the fee and a full refund returns all of it.
    @Test func feeReturnsNeverExceedTheFee() async {
        await propertyCheck(count: 400, input: Gen.int64(in: 0...50_000_000), Gen.int(in: 0...10_000), Gen.int64(in: 0...1_000).array(of: 1...10)) { base, rate, cuts throws in
            let fee = try ServiceFee.charge(on: Money(fen: base), rate: BasisPoints(rate))
            let weightSum = cuts.reduce(0, +)
            guard weightSum > 0 else { return }
            // The base refunded in parts proportional to the cuts (parts add up to the base).
            let parts = try Allocation.split(Money(fen: base), byWeights: cuts)
            var before = Money.zero
            var returned: Int64 = 0
            for part in parts {
                let back = try ServiceFee.reversal(fee: fee, base: Money(fen: base), refundedBefore: before, refunding: part)
                #expect(back.fen >= 0)
                returned += back.fen
                #expect(returned <= fee.fen)
                before = Money(fen: before.fen + part.fen)
            }
            #expect(returned == fee.fen)
        }
    }

    @Test(arguments: [
        // paid, refunded, units left, wholly refunded
        (Int64(10_000), Int64(10_000), Int64(1), true),   // an agreed refund of everything, goods kept
        (10_000, 9_999, 0, false),
        (0, 0, 1, false),                                 // 零元订单: a unit still with the buyer
        (0, 0, 0, true),
    ])
    func anOrderIsWhollyRefundedWhenItsMoneyOrForAFreeOrderItsUnitsWentBack(paid: Int64, refunded: Int64, unitsLeft: Int64, whole: Bool) {
        #expect(Refunds.orderWhollyRefunded(paid: Money(fen: paid), refunded: Money(fen: refunded), unitsLeft: unitsLeft) == whole)
    }
}
