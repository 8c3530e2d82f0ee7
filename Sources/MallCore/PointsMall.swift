import Foundation

/// An item of the points mall (积分商城) as the operator runs it.
public enum PointsMallItemStatus: String, Codable, Sendable, CaseIterable {
    case active, paused, stopped

    /// The status an action moves to, or nil when the move is not allowed (a stopped item stays stopped).
    public func after(_ action: PointsMallAction) -> PointsMallItemStatus? {
        switch (self, action) {
        case (.active, .pause): .paused
        case (.paused, .resume): .active
        case (.active, .stop), (.paused, .stop): .stopped
        default: nil
        }
    }
}

public enum PointsMallAction: String, Codable, Sendable, CaseIterable {
    case pause, resume, stop
}

/// Why a member may not redeem an item now.
public enum PointsMallRefusal: String, Error, Sendable, Equatable, CaseIterable {
    case paused, stopped, notStarted = "not_started", ended, memberLimit = "member_limit", soldOut = "sold_out"
}

/// The points mall's rules: what an item may be, and whether a member may redeem one now. Points,
/// stock and counts come in as read; the App repeats the decisive checks as conditional updates in
/// the redemption's transaction, so concurrent redemptions never pass them.
public enum PointsMall {
    public static let maxPointsPrice: Int64 = 10_000_000
    public static let maxStock: Int64 = 1_000_000
    public static let maxPerMember: Int64 = 1_000

    /// Field problems of an item's definition (empty when it is sound), as (field, zh, en).
    public static func definitionIssues(pointsPrice: Int64, stock: Int64, perMemberLimit: Int64?, startsAt: Date?, endsAt: Date?)
        -> [(field: String, zh: String, en: String)] {
        var issues: [(field: String, zh: String, en: String)] = []
        if pointsPrice < 1 || pointsPrice > maxPointsPrice {
            issues.append(("pointsPrice", "所需积分应为 1 到 \(maxPointsPrice)", "pointsPrice must be 1 to \(maxPointsPrice)"))
        }
        if stock < 1 || stock > maxStock { issues.append(("stock", "库存应为 1 到 \(maxStock)", "stock must be 1 to \(maxStock)")) }
        if let limit = perMemberLimit, limit < 1 || limit > maxPerMember {
            issues.append(("perMemberLimit", "每人限兑应为 1 到 \(maxPerMember)", "perMemberLimit must be 1 to \(maxPerMember)"))
        }
        if let start = startsAt, let end = endsAt, end <= start {
            issues.append(("endsAt", "结束时间应晚于开始时间", "endsAt must be after startsAt"))
        }
        return issues
    }

    /// Why the member may not redeem now (nil: it may), checked in the order a member can act on:
    /// the item's state and window first, then the member's own limit, then the stock.
    public static func refusal(status: PointsMallItemStatus, startsAt: Date?, endsAt: Date?, now: Date, available: Int64,
                               perMemberLimit: Int64?, redeemedByMember: Int64) -> PointsMallRefusal? {
        switch status {
        case .paused: return .paused
        case .stopped: return .stopped
        case .active: break
        }
        if let start = startsAt, now < start { return .notStarted }
        if let end = endsAt, now >= end { return .ended }
        if let limit = perMemberLimit, redeemedByMember >= limit { return .memberLimit }
        if available < 1 { return .soldOut }
        return nil
    }

    // MARK: - goods for points (积分 + 现金)

    /// Field problems of a goods item's cash part (empty when sound). The cash part may be nothing
    /// (纯积分: a checkout left with nothing to pay is paid as it is placed) and is at most the
    /// SKU's own price, so a member never pays more than a shopper.
    public static func cashIssues(cashFen: Int64, skuPriceFen: Int64) -> [(field: String, zh: String, en: String)] {
        if cashFen < 0 {
            return [("cashFen", "现金部分不能为负数", "The cash part cannot be negative")]
        }
        if cashFen > skuPriceFen {
            let price = Money(fen: skuPriceFen)
            return [("cashFen", "现金部分不能高于商品售价 \(price.formatted(.zhHans))", "The cash part cannot exceed the SKU's price \(price.formatted(.en))")]
        }
        return []
    }

    /// Whether a refund gives the points back: only once the redeemed line is refunded whole —
    /// every unit and every fen paid for it. A partial or agreed-lower refund keeps them spent.
    public static func refundReturnsPoints(quantity: Int64, refundedUnits: Int64, paid: Money, refunded: Money) -> Bool {
        quantity > 0 && refundedUnits >= quantity && refunded >= paid
    }
}
