import Foundation

/// How long a buyer stays with the distributor whose link brought them (锁客).
public enum BindingMode: Hashable, Codable, Sendable {
    /// The first binding lasts for good.
    case permanent
    /// A binding lasts this many days; afterwards the next link binds anew.
    case expiring(days: Int)
    /// Every new link takes the buyer, outside a protection period.
    case latestLink
}

/// The moment in a buyer's journey a link counts. Later moments also bind: with `.visit`, a
/// buyer first reached at registration is bound then.
public enum BindingTrigger: String, Codable, Sendable, CaseIterable, Comparable {
    case visit
    case registration
    case firstPaidOrder = "first_paid_order"

    private var stage: Int {
        switch self {
        case .visit: 0
        case .registration: 1
        case .firstPaidOrder: 2
        }
    }

    public static func < (lhs: BindingTrigger, rhs: BindingTrigger) -> Bool { lhs.stage < rhs.stage }
}

public struct BindingSettings: Hashable, Codable, Sendable {
    public var mode: BindingMode
    public var trigger: BindingTrigger
    /// Days after a binding during which no other link can take the buyer, whatever the mode; 0 for none.
    public var protectionDays: Int
    /// Only buyers new to the mall may be bound for the first time.
    public var newMembersOnly: Bool

    public static let maxDays = 3_650

    public init(mode: BindingMode = .permanent, trigger: BindingTrigger = .visit, protectionDays: Int = 0, newMembersOnly: Bool = false) {
        self.mode = mode
        self.trigger = trigger
        self.protectionDays = protectionDays
        self.newMembersOnly = newMembersOnly
    }

    public func validate() throws(BindingError) {
        if case .expiring(let days) = mode {
            guard (1...Self.maxDays).contains(days) else { throw .daysOutOfRange(days) }
        }
        guard (0...Self.maxDays).contains(protectionDays) else { throw .daysOutOfRange(protectionDays) }
    }
}

/// A buyer's binding as stored.
public struct BindingRecord: Hashable, Codable, Sendable {
    public var distributorID: UUID
    public var since: Date
    /// When an expiring binding ends; nil for one that does not.
    public var expiresAt: Date?

    public init(distributorID: UUID, since: Date, expiresAt: Date? = nil) {
        self.distributorID = distributorID
        self.since = since
        self.expiresAt = expiresAt
    }

    public func isActive(at now: Date) -> Bool { expiresAt.map { now < $0 } ?? true }
}

/// A link or QR code reaching a buyer: who shared it, who followed it, when and at which moment.
public struct BindingCandidate: Hashable, Sendable {
    public var buyerID: UUID
    public var distributorID: UUID
    /// False when the sharing distributor is frozen or removed.
    public var distributorIsActive: Bool
    public var trigger: BindingTrigger
    /// New to the mall by the operator's definition (e.g. registered through this link, no paid order).
    public var buyerIsNew: Bool
    public var at: Date

    public init(buyerID: UUID, distributorID: UUID, distributorIsActive: Bool = true, trigger: BindingTrigger, buyerIsNew: Bool, at: Date) {
        self.buyerID = buyerID
        self.distributorID = distributorID
        self.distributorIsActive = distributorIsActive
        self.trigger = trigger
        self.buyerIsNew = buyerIsNew
        self.at = at
    }
}

public enum BindingKeepReason: String, Codable, Sendable, CaseIterable {
    case selfBinding = "self_binding"
    case distributorInactive = "distributor_inactive"
    /// The event comes before the configured trigger (a visit when binding happens at registration).
    case beforeTrigger = "before_trigger"
    case notNewMember = "not_new_member"
    case alreadyBound = "already_bound"
    case permanent
    case notExpired = "not_expired"
    case protected
}

public enum BindingRebindReason: String, Codable, Sendable {
    /// The former binding ran out.
    case expired
    /// A newer link took the buyer in latest-link mode.
    case latestLink = "latest_link"
}

/// The decision for one link event.
public enum BindingDecision: Hashable, Sendable {
    /// The buyer had no binding; this is the record to store.
    case bind(BindingRecord)
    case keep(BindingKeepReason)
    case rebind(BindingRecord, BindingRebindReason)
}

/// 锁客 as pure decisions: the caller passes the stored binding and the link event.
public enum DistributorBinding {
    /// Whether a link event binds, keeps the current binding, or moves the buyer.
    ///
    /// The "new members only" switch guards a buyer's first binding; once bound, the mode and
    /// the protection period decide. A binding to the same distributor is kept, not renewed.
    public static func decide(current: BindingRecord?, candidate: BindingCandidate, settings: BindingSettings)
        throws(BindingError) -> BindingDecision {
        try settings.validate()
        guard candidate.distributorID != candidate.buyerID else { return .keep(.selfBinding) }
        guard candidate.distributorIsActive else { return .keep(.distributorInactive) }
        guard candidate.trigger >= settings.trigger else { return .keep(.beforeTrigger) }
        let now = candidate.at
        let fresh = BindingRecord(distributorID: candidate.distributorID, since: now, expiresAt: expiry(from: now, settings.mode))

        guard let current else {
            guard !settings.newMembersOnly || candidate.buyerIsNew else { return .keep(.notNewMember) }
            return .bind(fresh)
        }
        if !current.isActive(at: now) {
            return current.distributorID == candidate.distributorID ? .bind(fresh) : .rebind(fresh, .expired)
        }
        guard current.distributorID != candidate.distributorID else { return .keep(.alreadyBound) }
        let protectedUntil = current.since.addingTimeInterval(TimeInterval(settings.protectionDays) * 86_400)
        guard now >= protectedUntil else { return .keep(.protected) }
        switch settings.mode {
        case .permanent: return .keep(.permanent)
        case .expiring: return .keep(.notExpired)
        case .latestLink: return .rebind(fresh, .latestLink)
        }
    }

    static func expiry(from now: Date, _ mode: BindingMode) -> Date? {
        guard case .expiring(let days) = mode else { return nil }
        return now.addingTimeInterval(TimeInterval(days) * 86_400)
    }

    /// Refuses a parent change that would make the network a cycle, or a member their own parent.
    ///
    /// - Parameter ancestorsOfParent: the proposed parent's parent, grandparent … up to the root,
    ///   as the caller reads them.
    public static func checkParentChange(member: UUID, proposedParent: UUID, ancestorsOfParent: [UUID]) throws(BindingError) {
        guard proposedParent != member else { throw .selfParent }
        guard !ancestorsOfParent.contains(member) else { throw .cycle }
    }
}

public enum BindingError: DistributionFailure, Equatable, Sendable {
    case daysOutOfRange(Int)
    case selfParent
    case cycle

    public var code: String {
        switch self {
        case .daysOutOfRange: "binding_days_out_of_range"
        case .selfParent: "binding_self_parent"
        case .cycle: "binding_cycle"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .daysOutOfRange(let days):
            DistributionText.pick(locale, "天数须在 0 到 \(BindingSettings.maxDays) 之间（有效期至少 1 天），收到 \(days)。",
                                  "Days must be between 0 and \(BindingSettings.maxDays) (at least 1 for a validity), not \(days).")
        case .selfParent: DistributionText.pick(locale, "不能成为自己的上级。", "A member cannot be their own parent.")
        case .cycle: DistributionText.pick(locale, "该上级是此会员的下级，更换会形成循环。",
                                           "The proposed parent is below this member; the change would make a cycle.")
        }
    }
}
