/// Double to integer without the trap: `Int(x)` stops the process for NaN, an infinity or a value
/// outside the integer's range, and such a Double can come from any computation on outside input.
public enum CheckedNumber {
    /// `x` rounded by `rule`, or nil when it is NaN, infinite or outside `Int`.
    ///
    /// The default rule rounds to the nearest integer and halves away from zero (2.5 → 3,
    /// −2.5 → −3), as `Double.rounded()` does; pass `.towardZero` for what `Int(x)` would give.
    public static func int(_ x: Double, rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int? {
        Int(exactly: x.rounded(rule))
    }

    /// `x` rounded by `rule` (by default half away from zero), or nil when it is NaN, infinite or outside `Int64`.
    public static func int64(_ x: Double, rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int64? {
        Int64(exactly: x.rounded(rule))
    }
}
