import Foundation

/// A fixed-window limit: at most `limit` hits per key in `windowSeconds`. With
/// `slowIntervalSeconds`, a key past its limit is slowed instead of shut: one more hit is allowed
/// each interval, so an account attacked from many addresses stays reachable for its owner.
public struct RateLimit: Sendable, Hashable {
    public let name: String
    public let limit: Int
    public let windowSeconds: Int
    public let slowIntervalSeconds: Int?

    public init(_ name: String, limit: Int, windowSeconds: Int, slowIntervalSeconds: Int? = nil) {
        self.name = name
        self.limit = max(limit, 1)
        self.windowSeconds = max(windowSeconds, 1)
        self.slowIntervalSeconds = slowIntervalSeconds.map { max($0, 1) }
    }

    /// Seconds until a refused key may try again: the slowing interval, or the window's end.
    public func retryAfter(nowMillis: Int64, windowStartMillis: Int64, lastMillis: Int64) -> Int {
        let left: Int64
        if let slow = slowIntervalSeconds {
            left = lastMillis.addingReportingOverflow(Int64(slow) * 1000).partialValue - nowMillis
        } else {
            left = windowStartMillis.addingReportingOverflow(Int64(windowSeconds) * 1000).partialValue - nowMillis
        }
        let seconds = (left + 999) / 1000
        return Int(min(max(seconds, 1), Int64(windowSeconds)))
    }
}

/// The limits on what a stranger can make the mall do. Counted before the guarded work, so
/// parallel attempts cannot all pass a check made before any of them was counted.
public enum RateLimits {
    /// Wrong passwords or codes for one account from one address: that address is locked out.
    public static let loginPerAccountAndAddress = RateLimit("login.account_address", limit: 5, windowSeconds: 15 * 60)
    /// One address trying many accounts.
    public static let loginPerAddress = RateLimit("login.address", limit: 30, windowSeconds: 15 * 60)
    /// One account tried from many addresses: slowed to one try every few seconds, never locked.
    public static let loginPerAccount = RateLimit("login.account", limit: 20, windowSeconds: 15 * 60, slowIntervalSeconds: 5)
    /// SMS codes asked for from one address, and by everyone together.
    public static let smsPerAddress = RateLimit("sms.address", limit: 10, windowSeconds: 3600)
    public static let smsGlobal = RateLimit("sms.global", limit: 2_000, windowSeconds: 3600)
    /// Anonymous merchant applications and licence pictures, per address and together.
    public static let applicationsPerAddress = RateLimit("apply.address", limit: 5, windowSeconds: 3600)
    public static let licenceUploadsPerAddress = RateLimit("licence.address", limit: 10, windowSeconds: 3600)
    public static let licenceUploadsGlobal = RateLimit("licence.global", limit: 500, windowSeconds: 24 * 3600)
    /// Codes one staff account may try at the counter.
    public static let redemptionAttemptsPerStaff = RateLimit("redeem.staff", limit: 120, windowSeconds: 3600)
    /// Photos a member sends with after-sales requests and reviews.
    public static let memberImagesPerMember = RateLimit("member_images", limit: 60, windowSeconds: 24 * 3600)
    /// A poster costs a core tens of milliseconds to draw.
    public static let postersPerMember = RateLimit("posters.member", limit: 120, windowSeconds: 3600)
}
