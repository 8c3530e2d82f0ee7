import Foundation

extension LedgerAccountPurpose {
    /// The balances an account may hold just before `delta` lands so that afterwards it is still
    /// within its floor (zero, unless it may go negative) and within Int64. A store can check this
    /// as `balance BETWEEN lower AND upper`, with no arithmetic that could overflow.
    public func balanceRange(beforeApplying delta: Int64) -> ClosedRange<Int64> {
        let floor: Int64 = mayGoNegative ? .min : 0
        let (lower, lowOverflow) = floor.subtractingReportingOverflow(delta)
        let (upper, highOverflow) = Int64.max.subtractingReportingOverflow(delta)
        // An overflow here means the bound cannot be crossed at all: clamp it to Int64's own end.
        return (lowOverflow ? .min : lower)...(highOverflow ? .max : upper)
    }
}

extension LedgerAccountKey {
    /// The one order in which accounts are created and locked, so that two writers never wait on
    /// each other in a circle.
    public static func storageOrder(_ a: LedgerAccountKey, _ b: LedgerAccountKey) -> Bool {
        (a.purpose.rawValue, a.owner.kind.rawValue, a.owner.ownerID) < (b.purpose.rawValue, b.owner.kind.rawValue, b.owner.ownerID)
    }
}
