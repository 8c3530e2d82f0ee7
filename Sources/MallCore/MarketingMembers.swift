import Foundation

/// Rights a member level can carry besides its discount.
public enum MemberPerk: String, CaseIterable, Codable, Sendable {
    case freeShipping = "free_shipping"
    case priorityShipping = "priority_shipping"
    case earlyAccess = "early_access"
    case birthdayCoupon = "birthday_coupon"
}

/// 会员等级: reached by growth value, with a member discount, a points earning rate and perks.
public struct MemberLevel: Hashable, Codable, Sendable {
    public let id: String
    public let name: String
    public let minimumGrowth: Int64
    /// The share of the price the member pays: 9 500 bp = 95折; 10 000 for none.
    public let discount: BasisPoints
    /// Points earned per yuan paid on received orders.
    public let pointsPerYuan: Int64
    public let perks: Set<MemberPerk>

    public init(id: String, name: String, minimumGrowth: Int64, discount: BasisPoints = .full, pointsPerYuan: Int64 = 1,
                perks: Set<MemberPerk> = []) {
        self.id = id
        self.name = name
        self.minimumGrowth = minimumGrowth
        self.discount = discount
        self.pointsPerYuan = pointsPerYuan
        self.perks = perks
    }

    /// The member price of a unit: the price at the level's discount, rounded half up to the fen.
    public func memberPrice(_ price: Money) throws(MarketingError) -> Money {
        guard price.fen >= 0 else { throw .invalidAmount }
        guard (1...10_000).contains(discount.value) else { throw .invalidRate }
        do { return try price.applying(discount) } catch { throw .amountTooLarge }
    }

    /// Points earned on `paid` of a received order: whole yuan × the rate, rounded down.
    public func pointsEarned(on paid: Money) -> Int64 {
        guard pointsPerYuan > 0 else { return 0 }
        return MarketingMath.mulDiv(max(paid.fen, 0) / 100, pointsPerYuan, 1) ?? Int64.max
    }
}

/// The levels of a mall, ascending; growth 0 reaches the first.
public struct MemberLevelBook: Hashable, Codable, Sendable {
    public let levels: [MemberLevel]
    /// Growth value per yuan paid on received orders.
    public let growthPerYuan: Int64

    public init(levels: [MemberLevel], growthPerYuan: Int64 = 1) throws(MarketingError) {
        guard let first = levels.first, first.minimumGrowth == 0, (0...1_000).contains(growthPerYuan) else { throw .invalidLevels }
        for (previous, next) in zip(levels, levels.dropFirst()) where next.minimumGrowth <= previous.minimumGrowth { throw .invalidLevels }
        for level in levels {
            guard (1...10_000).contains(level.discount.value), (0...10_000).contains(level.pointsPerYuan) else { throw .invalidLevels }
        }
        self.levels = levels
        self.growthPerYuan = growthPerYuan
    }

    public func level(forGrowth growth: Int64) -> MemberLevel {
        levels.last { growth >= $0.minimumGrowth } ?? levels[0]
    }

    /// Growth from the net paid amounts (paid less refunded) of a member's received orders: whole
    /// yuan per order. Recomputed from the orders whenever one completes or is refunded, so a
    /// refund lowers it and a level can fall.
    public func growth(fromReceivedOrders netPaid: [Money]) -> Int64 {
        var total: Int64 = 0
        for paid in netPaid {
            let growth = MarketingMath.mulDiv(max(paid.fen, 0) / 100, growthPerYuan, 1) ?? Int64.max
            let (sum, overflow) = total.addingReportingOverflow(growth)
            total = overflow ? Int64.max : sum
        }
        return total
    }
}

/// Points for actions other than orders.
public struct PointsAwards: Hashable, Codable, Sendable {
    public var signIn: Int64
    public var review: Int64
    public var reviewWithPhotos: Int64

    public init(signIn: Int64 = 5, review: Int64 = 10, reviewWithPhotos: Int64 = 20) {
        self.signIn = signIn
        self.review = review
        self.reviewWithPhotos = reviewWithPhotos
    }

    public func forReview(withPhotos: Bool) -> Int64 { withPhotos ? reviewWithPhotos : review }
}

/// When earned points expire.
public enum PointsExpiry: Hashable, Codable, Sendable {
    case never
    /// At the end of the year of earning plus `yearsAfter` (0: 31 Dec the same year), China time.
    case yearEnd(yearsAfter: Int)
    /// N calendar months after earning.
    case months(Int)

    /// The first instant at which points earned at `earnedAt` are expired.
    public func expiresAt(earnedAt: Date) -> Date? {
        let calendar = MarketingText.chinaCalendar
        switch self {
        case .never:
            return nil
        case .yearEnd(let years):
            let year = calendar.component(.year, from: earnedAt)
            return calendar.date(from: DateComponents(year: year + 1 + max(0, min(years, 100)), month: 1, day: 1))
        case .months(let months):
            return calendar.date(byAdding: .month, value: max(1, min(months, 1_200)), to: earnedAt)
        }
    }
}

/// Points earned together, expiring together.
public struct PointLot: Hashable, Codable, Sendable {
    public let id: String
    public let earned: Int64
    public fileprivate(set) var remaining: Int64
    public let earnedAt: Date
    public let expiresAt: Date?

    /// A lot as stored; `remaining` is held between 0 and `earned`.
    public init(id: String, earned: Int64, remaining: Int64, earnedAt: Date, expiresAt: Date?) {
        self.id = id
        self.earned = max(0, earned)
        self.remaining = min(max(0, remaining), max(0, earned))
        self.earnedAt = earnedAt
        self.expiresAt = expiresAt
    }

    public func isExpired(at now: Date) -> Bool { expiresAt.map { now >= $0 } ?? false }
}

public enum PointsReason: String, Codable, Sendable {
    case order, signIn = "sign_in", review, spend, refundReturn = "refund_return", expiry, clawback, adjustment
    /// Spent in the points mall (积分兑换).
    case mallRedeem = "mall_redeem"
    /// Given back when goods redeemed in the points mall were cancelled, closed unpaid or refunded whole.
    case mallReturn = "mall_return"
}

/// One change of one lot: the row the App writes with its reason.
public struct PointsMovement: Hashable, Codable, Sendable {
    public let lotID: String
    public let delta: Int64
    public let reason: PointsReason
}

/// A member's points as lots, spent soonest-expiring first, so what expires when is exact and the
/// balance never goes below zero.
public struct PointsLedger: Hashable, Codable, Sendable {
    public static let maxPointsPerEntry: Int64 = 1_000_000_000_000

    public private(set) var lots: [PointLot]

    public init(lots: [PointLot] = []) { self.lots = lots }

    /// Points usable at `now`.
    public func balance(at now: Date) -> Int64 {
        var total: Int64 = 0
        for lot in lots where !lot.isExpired(at: now) {
            let (sum, overflow) = total.addingReportingOverflow(lot.remaining)
            total = overflow ? Int64.max : sum
        }
        return total
    }

    /// Adds a lot (an order, a sign-in, a review) with its expiry from `policy`.
    @discardableResult
    public mutating func earn(id: String, points: Int64, at now: Date, policy: PointsExpiry,
                              reason: PointsReason = .order) throws(MarketingError) -> PointsMovement {
        guard (1...Self.maxPointsPerEntry).contains(points) else { throw .invalidCount }
        guard !lots.contains(where: { $0.id == id }) else { throw .duplicateLot }
        lots.append(PointLot(id: id, earned: points, remaining: points, earnedAt: now, expiresAt: policy.expiresAt(earnedAt: now)))
        // Soonest expiry first, never-expiring last, then by earning.
        lots.sort { a, b in
            switch (a.expiresAt, b.expiresAt) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.earnedAt < b.earnedAt
            }
        }
        return PointsMovement(lotID: id, delta: points, reason: reason)
    }

    /// Spends from the lots that expire soonest; refuses to go below zero.
    public mutating func spend(_ points: Int64, at now: Date) throws(MarketingError) -> [PointsMovement] {
        guard points >= 1 else { throw .invalidCount }
        let balance = balance(at: now)
        guard points <= balance else { throw .insufficientPoints(balance: balance, requested: points) }
        var left = points
        var movements: [PointsMovement] = []
        for index in lots.indices where left > 0 && !lots[index].isExpired(at: now) && lots[index].remaining > 0 {
            let take = min(left, lots[index].remaining)
            lots[index].remaining -= take
            left -= take
            movements.append(PointsMovement(lotID: lots[index].id, delta: -take, reason: .spend))
        }
        return movements
    }

    /// Gives spent points back to the lots they came from (an order refunded); points of a lot
    /// that has expired meanwhile go back and expire at the next `expire`.
    public mutating func restore(_ spent: [PointsMovement]) -> [PointsMovement] {
        var movements: [PointsMovement] = []
        for movement in spent where movement.delta < 0 {
            guard let index = lots.firstIndex(where: { $0.id == movement.lotID }) else { continue }
            let back = min(movement.delta == .min ? Int64.max : -movement.delta, lots[index].earned - lots[index].remaining)
            guard back > 0 else { continue }
            lots[index].remaining += back
            movements.append(PointsMovement(lotID: movement.lotID, delta: back, reason: .refundReturn))
        }
        return movements
    }

    /// Expires what is left of every lot expired at `now`.
    public mutating func expire(at now: Date) -> [PointsMovement] {
        var movements: [PointsMovement] = []
        for index in lots.indices where lots[index].isExpired(at: now) && lots[index].remaining > 0 {
            movements.append(PointsMovement(lotID: lots[index].id, delta: -lots[index].remaining, reason: .expiry))
            lots[index].remaining = 0
        }
        return movements
    }

    /// Takes back points earned on an order that was refunded: from that order's lot first, then
    /// the soonest-expiring others, never below zero; what could not be taken is returned as
    /// `uncollected` (already spent, forgiven).
    public mutating func clawback(lotID: String, points: Int64, at now: Date) -> (movements: [PointsMovement], uncollected: Int64) {
        var left = max(0, points)
        var movements: [PointsMovement] = []
        let order = lots.indices.sorted { a, b in (lots[a].id == lotID ? 0 : 1) < (lots[b].id == lotID ? 0 : 1) }
        for index in order where left > 0 && !lots[index].isExpired(at: now) && lots[index].remaining > 0 {
            let take = min(left, lots[index].remaining)
            lots[index].remaining -= take
            left -= take
            movements.append(PointsMovement(lotID: lots[index].id, delta: -take, reason: .clawback))
        }
        return (movements, left)
    }
}

/// Points spent at checkout come back with refunds in the share of their value reversed.
public enum PointsReturn {
    /// What the refunds so far earn back of `spent` points worth `value` fen, `reversed` of that
    /// value having been reversed: rounded down, and all of them once the whole value is reversed.
    public static func earnedBack(reversed: Int64, spent: Int64, value: Int64) -> Int64 {
        guard value > 0, spent > 0, reversed > 0 else { return 0 }
        guard reversed < value else { return spent }
        return MarketingMath.mulDiv(reversed, spent, value) ?? 0
    }
}
