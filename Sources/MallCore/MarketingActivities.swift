import Foundation

// MARK: - Bargaining (砍价)

/// A bargain: helpers cut the price from `startPrice` to `floorPrice` in at most `maxCuts` cuts.
public struct BargainRule: Hashable, Codable, Sendable {
    public static let maxCutsAllowed = 1_000

    public let startPrice: Money
    public let floorPrice: Money
    public let maxCuts: Int
    /// A helper who is a new member cuts for two (their cut takes two of the cuts).
    public let newMemberCountsDouble: Bool

    public init(startPrice: Money, floorPrice: Money, maxCuts: Int, newMemberCountsDouble: Bool = false) throws(MarketingError) {
        guard floorPrice.fen >= 0 else { throw .invalidAmount }
        guard floorPrice < startPrice else { throw .bargainFloorNotBelowStart }
        guard (1...Self.maxCutsAllowed).contains(maxCuts) else { throw .bargainTooManyCuts(max: Self.maxCutsAllowed) }
        self.startPrice = startPrice
        self.floorPrice = floorPrice
        self.maxCuts = maxCuts
        self.newMemberCountsDouble = newMemberCountsDouble
    }

    /// The cuts actually available: never more than the difference in fen, so each cut is ≥ 1 fen.
    public var effectiveCuts: Int {
        let gap = startPrice.fen - floorPrice.fen  // both ≥ 0 with floor < start: fits
        return gap < Int64(maxCuts) ? Int(gap) : maxCuts
    }
}

/// Where a bargain stands.
public struct BargainState: Hashable, Codable, Sendable {
    public let currentPrice: Money
    /// Cuts left (a double cut takes two).
    public let cutsLeft: Int
    public let helpers: Int

    public init(currentPrice: Money, cutsLeft: Int, helpers: Int) {
        self.currentPrice = currentPrice
        self.cutsLeft = cutsLeft
        self.helpers = helpers
    }

    public static func start(_ rule: BargainRule) -> BargainState {
        BargainState(currentPrice: rule.startPrice, cutsLeft: rule.effectiveCuts, helpers: 0)
    }

    public func isAtFloor(_ rule: BargainRule) -> Bool { currentPrice <= rule.floorPrice }
}

/// Cut amounts, decided fairly and exactly.
///
/// With D fen left to cut over n cuts, the cuts are weighted n, n − 1, …, 1, so the next cut's
/// expected amount is D × 2 / (n + 1): the first cuts are the larger ones, as buyers expect, and
/// the last helper still moves the price. The amount is drawn uniformly between half and one and a
/// half times that expectation, then held so that every later cut can still take at least 1 fen.
/// The last cut takes exactly what is left, so the cuts always sum to start − floor, each is at
/// least 1 fen, and the floor is reached after at most `maxCuts` cuts. A double cut (a new
/// member, where configured) takes the expectation of two cuts and uses two.
///
/// The random source is injected: the App passes a system generator, tests a seeded one.
public enum Bargain {
    public static func cut(_ rule: BargainRule, _ state: BargainState, helperIsNewMember: Bool = false,
                           using rng: inout some RandomNumberGenerator) throws(MarketingError) -> (amount: Money, state: BargainState) {
        let (left, overflow) = state.currentPrice.fen.subtractingReportingOverflow(rule.floorPrice.fen)
        guard !overflow, state.currentPrice <= rule.startPrice else { throw .invalidAmount }
        guard left > 0, state.cutsLeft > 0 else { throw .bargainFinished }
        // More cuts than fen left would force a zero cut: at most one per fen.
        let n = Int64(min(state.cutsLeft, Int(min(left, Int64(BargainRule.maxCutsAllowed)))))
        let weight: Int64 = rule.newMemberCountsDouble && helperIsNewMember ? min(2, n) : 1
        let amount: Int64
        if weight >= n {
            amount = left
        } else {
            // Σ of the top `weight` weights over Σ of all n weights.
            let top = weight == 1 ? n : 2 * n - 1
            let total = n * (n + 1) / 2
            let expected = MarketingMath.mulDiv(left, top, total) ?? 1
            let most = left - (n - weight)  // leaves ≥ 1 fen for each later cut
            let low = min(max(1, expected / 2), most)
            // expected + expected / 2, held at `most` without leaving Int64.
            let high = max(low, expected >= most ? most : expected + min(expected / 2, most - expected))
            amount = Int64.random(in: low...high, using: &rng)
        }
        let next = BargainState(currentPrice: Money(fen: state.currentPrice.fen - amount),
                                cutsLeft: amount == left ? 0 : Int(n - weight),
                                helpers: state.helpers == Int.max ? Int.max : state.helpers + 1)
        return (Money(fen: amount), next)
    }

    /// Every cut of a bargain helped by these helpers in turn (true for a new member), until the
    /// floor or the last helper; for previews and tests.
    public static func simulate(_ rule: BargainRule, helpersAreNew: [Bool],
                                using rng: inout some RandomNumberGenerator) -> [Money] {
        var state = BargainState.start(rule)
        var cuts: [Money] = []
        for isNew in helpersAreNew {
            guard let (amount, next) = try? cut(rule, state, helperIsNewMember: isNew, using: &rng) else { break }
            cuts.append(amount)
            state = next
        }
        return cuts
    }
}

// MARK: - Group buying (拼团)

public struct GroupBuyRule: Hashable, Codable, Sendable {
    public static let maxSize = 100
    public static let maxDuration: TimeInterval = 7 * 86_400

    public let size: Int
    /// From the leader's payment, e.g. 24 h.
    public let duration: TimeInterval
    /// 模拟成团: a group still short at its deadline succeeds with virtual members instead of failing.
    public let virtualCompletion: Bool

    public init(size: Int, duration: TimeInterval = 86_400, virtualCompletion: Bool = false) throws(MarketingError) {
        guard (2...Self.maxSize).contains(size) else { throw .invalidCount }
        guard duration >= 60, duration <= Self.maxDuration else { throw .invalidWindow }
        self.size = size
        self.duration = duration
        self.virtualCompletion = virtualCompletion
    }
}

public enum GroupStatus: String, Codable, Sendable {
    case open, succeeded, failed
}

/// A group: paid members, seats held by joiners still paying, and the deadline.
public struct GroupState: Hashable, Codable, Sendable {
    public let status: GroupStatus
    public let deadline: Date
    public let size: Int
    public let paid: Int
    public let held: Int
    public let virtualMembers: Int

    public init(status: GroupStatus, deadline: Date, size: Int, paid: Int, held: Int = 0, virtualMembers: Int = 0) {
        self.status = status
        self.deadline = deadline
        self.size = size
        self.paid = paid
        self.held = held
        self.virtualMembers = virtualMembers
    }

    /// Counts as a group can have them; a state read from elsewhere that breaks them is treated as full.
    public var isConsistent: Bool {
        (2...GroupBuyRule.maxSize).contains(size) && (0...size).contains(paid) && (0...size).contains(held)
    }

    public var seatsLeft: Int { isConsistent ? max(0, size - paid - held) : 0 }
}

public enum GroupRefusal: LocalizedRuleError, Hashable {
    case full
    case expired
    case closed(GroupStatus)

    public var code: String {
        switch self {
        case .full: "group_full"
        case .expired: "group_expired"
        case .closed: "group_closed"
        }
    }

    public var kind: RuleErrorKind { .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .full: locale.choose(zh: "该团已满员，可以自己开一个新团", en: "This group is full; you can open a new one")
        case .expired: locale.choose(zh: "该团已超过拼团时间", en: "This group's time is up")
        case .closed(.succeeded): locale.choose(zh: "该团已拼团成功", en: "This group has already succeeded")
        case .closed: locale.choose(zh: "该团已拼团失败", en: "This group has failed")
        }
    }
}

/// What happens to a joiner's payment.
public enum GroupPaymentOutcome: Hashable, Sendable {
    case accepted(GroupState)
    /// Refund it in full through the original channel.
    case refund(GroupRefusal)
}

/// What the deadline job does with a group.
public enum GroupExpiry: Hashable, Sendable {
    case stillOpen
    case alreadyClosed
    /// Virtual completion filled the group with `virtualMembers`.
    case succeeded(GroupState)
    /// Refund every paid member.
    case failed(GroupState, refundMembers: Int)
}

/// The group state machine: open → succeeded (size reached, or virtual completion at the deadline)
/// or failed (deadline passed short). Capacity counts paid members and seats held by joiners whose
/// order awaits payment; the database applies it under a row lock, so concurrent joins never pass it.
public enum GroupBuy {
    /// The leader paid: the group opens with one member.
    public static func open(_ rule: GroupBuyRule, leaderPaidAt: Date) -> GroupState {
        GroupState(status: .open, deadline: leaderPaidAt.addingTimeInterval(rule.duration), size: rule.size, paid: 1)
    }

    /// Whether a member may join now (their order then holds a seat); nil when they may.
    public static func joinRefusal(_ state: GroupState, now: Date) -> GroupRefusal? {
        guard state.status == .open else { return .closed(state.status) }
        guard now < state.deadline else { return .expired }
        return state.seatsLeft > 0 ? nil : .full
    }

    /// A joiner holds a seat while paying.
    public static func hold(_ state: GroupState, now: Date) throws(GroupRefusal) -> GroupState {
        if let refusal = joinRefusal(state, now: now) { throw refusal }
        return GroupState(status: .open, deadline: state.deadline, size: state.size, paid: state.paid, held: state.held + 1)
    }

    /// The joiner's unpaid order closed: their seat is free again.
    public static func release(_ state: GroupState) -> GroupState {
        GroupState(status: state.status, deadline: state.deadline, size: state.size, paid: state.paid, held: max(0, state.held - 1),
                   virtualMembers: state.virtualMembers)
    }

    /// A joiner's payment arrives. It is accepted while the group is open, before its deadline,
    /// and with a seat for it (their held one, or a free one); otherwise it is refunded. The size
    /// reached makes the group succeed.
    public static func payment(_ state: GroupState, holdsSeat: Bool, now: Date) -> GroupPaymentOutcome {
        guard state.status == .open else { return .refund(.closed(state.status)) }
        guard now < state.deadline else { return .refund(.expired) }
        let held = holdsSeat ? max(0, state.held - 1) : state.held
        guard state.isConsistent, state.paid + held < state.size else { return .refund(.full) }
        let paid = state.paid + 1
        return .accepted(GroupState(status: paid == state.size ? .succeeded : .open, deadline: state.deadline, size: state.size,
                                    paid: paid, held: paid == state.size ? 0 : held))
    }

    /// At or after the deadline: a group still open fails (every paid member refunded) or, with
    /// virtual completion, succeeds with virtual members for the missing seats.
    public static func expire(_ state: GroupState, rule: GroupBuyRule, now: Date) -> GroupExpiry {
        guard state.status == .open else { return .alreadyClosed }
        guard now >= state.deadline else { return .stillOpen }
        if rule.virtualCompletion && state.isConsistent {
            return .succeeded(GroupState(status: .succeeded, deadline: state.deadline, size: state.size, paid: state.paid,
                                         virtualMembers: state.size - state.paid))
        }
        return .failed(GroupState(status: .failed, deadline: state.deadline, size: state.size, paid: state.paid), refundMembers: state.paid)
    }
}

// MARK: - Flash sale (秒杀)

public struct FlashSaleSession: Hashable, Codable, Sendable {
    public let id: String
    public let window: ActivityWindow
    public let perMemberLimit: Int64?
    /// Unpaid flash orders close after this (default 5 minutes) and their units go back to the activity.
    public let unpaidTimeout: TimeInterval

    public static let defaultUnpaidTimeout: TimeInterval = 300

    public init(id: String, window: ActivityWindow, perMemberLimit: Int64? = 1,
                unpaidTimeout: TimeInterval = FlashSaleSession.defaultUnpaidTimeout) throws(MarketingError) {
        if let perMemberLimit { guard perMemberLimit >= 1 else { throw .invalidCount } }
        guard unpaidTimeout >= 30, unpaidTimeout <= 86_400 else { throw .invalidWindow }
        self.id = id
        self.window = window
        self.perMemberLimit = perMemberLimit
        self.unpaidTimeout = unpaidTimeout
    }
}

/// What the activity page shows for one SKU of a session.
public enum FlashSalePageState: Hashable, Sendable {
    case upcoming(startsInSeconds: Int64)
    case onSale(endsInSeconds: Int64, remaining: Int64)
    /// Every unit sold or held by unpaid orders; units come back when those close unpaid.
    case soldOut(endsInSeconds: Int64)
    case ended
}

public enum FlashSaleRefusal: LocalizedRuleError, Hashable {
    case notStarted
    case ended
    case soldOut
    case memberLimit(limit: Int64, left: Int64)
    case notEnoughStock(available: Int64)
    case invalidQuantity
    /// The operator or the shop paused the activity; it may resume.
    case paused

    public var code: String {
        switch self {
        case .notStarted: "flash_sale_not_started"
        case .ended: "flash_sale_ended"
        case .soldOut: "flash_sale_sold_out"
        case .memberLimit: "flash_sale_member_limit"
        case .notEnoughStock: "flash_sale_not_enough_stock"
        case .invalidQuantity: "flash_sale_invalid_quantity"
        case .paused: "flash_sale_paused"
        }
    }

    public var kind: RuleErrorKind { self == .invalidQuantity ? .invalid : .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .notStarted: locale.choose(zh: "秒杀尚未开始", en: "The flash sale has not started")
        case .ended: locale.choose(zh: "秒杀已结束", en: "The flash sale has ended")
        case .soldOut: locale.choose(zh: "已抢光", en: "Sold out")
        case let .memberLimit(limit, left):
            locale.choose(zh: "每人限购 \(limit) 件，你还可以买 \(left) 件", en: "At most \(limit) per member; you can buy \(left) more")
        case .notEnoughStock(let available): locale.choose(zh: "仅剩 \(available) 件", en: "Only \(available) left")
        case .invalidQuantity: locale.choose(zh: "购买数量无效", en: "The quantity is not valid")
        case .paused: locale.choose(zh: "秒杀活动已暂停", en: "The flash sale is paused")
        }
    }
}

public enum FlashSale {
    /// The page state at `now`, with `available` units (activity stock less sold and held units).
    public static func pageState(_ session: FlashSaleSession, available: Int64, now: Date) -> FlashSalePageState {
        if now < session.window.start { return .upcoming(startsInSeconds: seconds(from: now, to: session.window.start)) }
        guard now < session.window.end else { return .ended }
        let endsIn = seconds(from: now, to: session.window.end)
        return available > 0 ? .onSale(endsInSeconds: endsIn, remaining: available) : .soldOut(endsInSeconds: endsIn)
    }

    /// Whether a member may buy `quantity` now, having `alreadyBought` units in this session
    /// (paid, or awaiting payment); nil when they may. The decrement itself is the database's.
    /// A stopped activity is `ended` to the buyer; a paused one says so.
    public static func purchaseRefusal(_ session: FlashSaleSession, quantity: Int64, alreadyBought: Int64, available: Int64,
                                       now: Date, paused: Bool = false) -> FlashSaleRefusal? {
        guard quantity >= 1, quantity <= Checkout.maxQuantity else { return .invalidQuantity }
        if now < session.window.start { return .notStarted }
        guard now < session.window.end else { return .ended }
        if paused { return .paused }
        if let limit = session.perMemberLimit {
            let left = max(0, limit - max(0, alreadyBought))
            guard quantity <= left else { return .memberLimit(limit: limit, left: left) }
        }
        guard available > 0 else { return .soldOut }
        guard quantity <= available else { return .notEnoughStock(available: available) }
        return nil
    }

    /// One buyer's place in the queue (排队下单): who asks, and for how many units.
    public struct QueuedRequest: Hashable, Sendable {
        public let member: String
        public let quantity: Int64
        public init(member: String, quantity: Int64) {
            self.member = member
            self.quantity = quantity
        }
    }

    /// Decides a batch of queued requests in arrival order, as if each came alone: every one is
    /// judged by `purchaseRefusal` against the units left and what its member already holds,
    /// counting what earlier requests of the batch were granted. Nil where a request is granted;
    /// the granted quantities never add up to more than `available`.
    public static func allocate(_ requests: [QueuedRequest], session: FlashSaleSession, available: Int64, held: [String: Int64],
                                now: Date, paused: Bool = false) -> [FlashSaleRefusal?] {
        var left = max(0, available)
        var holding = held
        return requests.map { request in
            let refusal = purchaseRefusal(session, quantity: request.quantity, alreadyBought: holding[request.member] ?? 0,
                                          available: left, now: now, paused: paused)
            if refusal == nil {
                left -= request.quantity
                holding[request.member, default: 0] += request.quantity
            }
            return refusal
        }
    }

    /// When an unpaid flash order placed at `placedAt` closes.
    public static func closesAt(_ session: FlashSaleSession, placedAt: Date) -> Date { placedAt.addingTimeInterval(session.unpaidTimeout) }

    public static func shouldClose(_ session: FlashSaleSession, placedAt: Date, now: Date) -> Bool { now >= closesAt(session, placedAt: placedAt) }

    /// Whole seconds to a countdown's end, rounded up so "0" shows only when it has passed.
    static func seconds(from now: Date, to end: Date) -> Int64 {
        CheckedNumber.int64(end.timeIntervalSince(now), rounding: .up).map { max(0, $0) } ?? 0
    }
}
