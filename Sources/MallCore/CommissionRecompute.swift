import Foundation

/// A line's commission after a refund: the new amount per level and how much each went down.
public struct CommissionRecomputation: Hashable, Sendable {
    public struct Level: Hashable, Sendable {
        public let level: Int
        public let beneficiaryID: UUID?
        public let before: Money
        public let after: Money
        /// `after - before`: zero or negative, never positive.
        public var delta: Money { Money(fen: after.fen &- before.fen) }
    }

    public let lineID: UUID
    public let base: Money
    public let cap: Money
    public let levels: [Level]

    public var amounts: [Money] { levels.map(\.after) }
}

extension CommissionLineResult {
    /// What the rules in force at payment give on what remains of the line after refunds.
    ///
    /// Always start from the payment-time snapshot and pass what remains in total, not the part
    /// just refunded. The rate part follows the new base (the remaining paid amount, or the list
    /// price times the remaining units), the per-unit part the remaining units, and this line's
    /// share of a per-order amount shrinks in proportion to the base; the cap is applied again
    /// from the deepest level. A level keeps the smaller of its current and its recomputed
    /// amount, so a refund never raises a commission; nothing paid, or no unit left, leaves zero.
    ///
    /// - Parameters:
    ///   - remainingPaidAmount: what the buyer has paid for the line, net of every refund so far.
    ///   - remainingQuantity: the units not returned.
    ///   - currentAmounts: the three amounts after earlier refunds; the payment-time amounts by default.
    public func recompute(remainingPaidAmount: Money, remainingQuantity: Int64, currentAmounts: [Money]? = nil)
        throws(CommissionCalculationError) -> CommissionRecomputation {
        guard remainingPaidAmount.fen >= 0, remainingQuantity >= 0 else { throw .negativeAmount(lineID: lineID) }
        guard remainingPaidAmount <= paidAmount, remainingQuantity <= quantity else { throw .remainingAboveOriginal(lineID: lineID) }
        let current = currentAmounts ?? [level1.amount, level2.amount, level3.amount]
        guard current.count == 3 else { throw .wrongLevelCount }
        guard current.allSatisfy({ $0.fen >= 0 }) else { throw .invalidSnapshot(lineID: lineID) }

        let newBase: Money
        switch baseMode {
        case .paidAmount: newBase = remainingPaidAmount
        case .listPrice:
            let (product, overflow) = unitListPrice.fen.multipliedReportingOverflow(by: remainingQuantity)
            guard !overflow else { throw .overflow(lineID: lineID) }
            newBase = Money(fen: product)
        }
        guard newBase <= base, let newCap = CommissionMath.floorShare(min(newBase, remainingPaidAmount), capRate) else {
            throw .invalidSnapshot(lineID: lineID)
        }
        let fullyRefunded = remainingPaidAmount.fen == 0 || remainingQuantity == 0
        var raw: (Int64, Int64, Int64) = (0, 0, 0)
        if !fullyRefunded {
            raw.0 = try rawAmount(level1, newBase: newBase, remainingQuantity: remainingQuantity)
            raw.1 = try rawAmount(level2, newBase: newBase, remainingQuantity: remainingQuantity)
            raw.2 = try rawAmount(level3, newBase: newBase, remainingQuantity: remainingQuantity)
        }
        let capped = CommissionMath.cut(raw, to: newCap.fen)
        let after = [capped.0, capped.1, capped.2]
        let levels = [level1, level2, level3].enumerated().map { offset, entry in
            let before = current[offset]
            return CommissionRecomputation.Level(level: entry.level, beneficiaryID: entry.beneficiaryID, before: before,
                                                 after: Money(fen: min(before.fen, after[offset])))
        }
        return CommissionRecomputation(lineID: lineID, base: newBase, cap: newCap, levels: levels)
    }

    private func rawAmount(_ entry: CommissionLevelResult, newBase: Money, remainingQuantity: Int64)
        throws(CommissionCalculationError) -> Int64 {
        // Only a level that was paid at payment time can be paid now.
        guard entry.amount.fen > 0, let formula = entry.formula else { return 0 }
        guard formula.perUnit.fen >= 0, entry.perOrderShare.fen >= 0,
              let share = CommissionMath.floorShare(newBase, formula.rate),
              let perOrder = CommissionMath.floorProportion(entry.perOrderShare, part: newBase, whole: base) else {
            throw .invalidSnapshot(lineID: lineID)
        }
        let (units, o1) = formula.perUnit.fen.multipliedReportingOverflow(by: remainingQuantity)
        let (partial, o2) = share.fen.addingReportingOverflow(units)
        let (sum, o3) = partial.addingReportingOverflow(perOrder.fen)
        guard !o1, !o2, !o3 else { throw .overflow(lineID: lineID) }
        return sum
    }
}
