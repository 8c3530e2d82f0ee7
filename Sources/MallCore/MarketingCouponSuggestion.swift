import Foundation

/// Why a coupon was not in the suggested combination.
public enum CouponNotChosen: Hashable, Sendable {
    case notApplicable(CouponRejection)
    /// The best combination with this coupon saves `withIt`, less than the suggestion's `best`.
    case savesLess(withIt: Money, best: Money)
    /// It saves as much, but the suggestion uses fewer coupons or ones that expire sooner.
    case sameSaving

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .notApplicable(let reason):
            reason.localizedMessage(locale)
        case let .savesLess(withIt, best):
            locale.choose(zh: "使用此券共省 \(withIt.formatted(.zhHans))，比推荐组合少省 \(Money(fen: best.fen - withIt.fen).formatted(.zhHans))",
                          en: "Saves \(withIt.formatted(.en)) in all, \(Money(fen: best.fen - withIt.fen).formatted(.en)) less than the suggestion")
        case .sameSaving:
            locale.choose(zh: "与推荐组合优惠相同，优先使用先到期的券", en: "Saves the same; the suggestion uses the coupons that expire sooner")
        }
    }
}

public struct CouponSuggestion: Hashable, Sendable {
    /// Member coupon ids, in application order.
    public let chosen: [String]
    /// What the chosen coupons save together (goods and shipping), after the activities.
    public let saving: Money
    /// Every other coupon offered, in the order given, with the reason.
    public let notChosen: [(id: String, reason: CouponNotChosen)]

    public static func == (lhs: CouponSuggestion, rhs: CouponSuggestion) -> Bool {
        lhs.chosen == rhs.chosen && lhs.saving == rhs.saving && lhs.notChosen.map(\.id) == rhs.notChosen.map(\.id)
            && lhs.notChosen.map(\.reason) == rhs.notChosen.map(\.reason)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(chosen)
        hasher.combine(saving)
    }
}

extension Pricing {
    /// Combinations tried at most; beyond it each slot keeps only its best coupons on their own.
    public static let maxCombinations = 4_096

    /// The combination of the member's coupons that saves the most under the stacking order: at
    /// most one goods coupon and one shipping coupon per payer (the platform, each shop), shop
    /// coupons before the platform one. Points are left out (the member decides them after).
    ///
    /// Ties go to fewer coupons, then to the combination whose first-expiring coupon expires
    /// soonest, so a coupon about to lapse is used. `input.coupons` is ignored.
    public static func suggestCoupons(_ input: PricingInput, from available: [MemberCoupon]) throws(MarketingError) -> CouponSuggestion {
        let start = try promotions(input)
        var seen = Set<String>()
        for coupon in available { guard seen.insert(coupon.id).inserted else { throw .duplicateCoupon(coupon.id) } }

        // Coupons not usable even before any other coupon never become usable after one.
        var rejected: [String: CouponRejection] = [:]
        var alone: [String: Money] = [:]
        var bySlot: [Slot: [MemberCoupon]] = [:]
        for coupon in available {
            switch Coupons.use(coupon, lines: input.lines, remaining: start.draft.remaining, shippingFees: start.shippingFees,
                               now: input.now, isNewMember: input.isNewMember) {
            case .failure(let reason): rejected[coupon.id] = reason
            case .success(let use):
                alone[coupon.id] = use.saving
                bySlot[slot(coupon), default: []].append(coupon)
            }
        }
        let merchants = start.draft.merchants
        let slots = bySlot.keys.sorted { order($0, merchants) < order($1, merchants) }
        // Best first within a slot; keep the product of the options under the bound.
        var options = slots.map { slot in
            (bySlot[slot] ?? []).sorted { (alone[$0.id] ?? .zero, $1.validUntil) > (alone[$1.id] ?? .zero, $0.validUntil) }
        }
        var keep = options.map(\.count).max() ?? 0
        func combinations(_ keep: Int) -> Int {
            options.reduce(1) { product, list in min(product * (min(list.count, keep) + 1), maxCombinations + 1) }
        }
        while keep > 1 && combinations(keep) > maxCombinations { keep -= 1 }
        options = options.map { Array($0.prefix(keep)) }

        struct Candidate {
            var coupons: [MemberCoupon]
            var saving: Money
            var soonest: Date
        }
        func better(_ a: Candidate, than b: Candidate) -> Bool {
            if a.saving != b.saving { return a.saving > b.saving }
            if a.coupons.count != b.coupons.count { return a.coupons.count < b.coupons.count }
            if a.soonest != b.soonest { return a.soonest < b.soonest }
            return a.coupons.map(\.id).lexicographicallyPrecedes(b.coupons.map(\.id))
        }
        var best = Candidate(coupons: [], saving: .zero, soonest: .distantFuture)
        var bestWith: [String: Money] = [:]

        // Depth-first over the slots in application order, sharing each prefix's state.
        func visit(_ depth: Int, _ stage: Stage, _ chosen: [MemberCoupon], _ saving: Money, _ soonest: Date) {
            guard depth < options.count else {
                let candidate = Candidate(coupons: chosen, saving: saving, soonest: soonest)
                if better(candidate, than: best) { best = candidate }
                for coupon in chosen where saving > (bestWith[coupon.id] ?? Money(fen: -1)) { bestWith[coupon.id] = saving }
                return
            }
            visit(depth + 1, stage, chosen, saving, soonest)
            for coupon in options[depth] {
                guard case .success(let use) = Coupons.use(coupon, lines: input.lines, remaining: stage.draft.remaining,
                                                           shippingFees: stage.shippingFees, now: input.now, isNewMember: input.isNewMember)
                else { continue }
                var next = stage
                guard (try? next.apply(coupon, use, input: input)) != nil else { continue }
                // Savings are parts of the goods and shipping totals, which fit, so their sum does.
                visit(depth + 1, next, chosen + [coupon], Money(fen: saving.fen + use.saving.fen), min(soonest, coupon.validUntil))
            }
        }
        visit(0, start, [], .zero, .distantFuture)

        let chosenIDs = Set(best.coupons.map(\.id))
        var notChosen: [(id: String, reason: CouponNotChosen)] = []
        for coupon in available where !chosenIDs.contains(coupon.id) {
            if let reason = rejected[coupon.id] {
                notChosen.append((coupon.id, .notApplicable(reason)))
            } else {
                // Left out by the bound: it saves at most what it saves alone.
                let withIt = bestWith[coupon.id] ?? (alone[coupon.id] ?? .zero)
                notChosen.append((coupon.id, withIt < best.saving ? .savesLess(withIt: withIt, best: best.saving) : .sameSaving))
            }
        }
        return CouponSuggestion(chosen: best.coupons.map(\.id), saving: best.saving, notChosen: notChosen)
    }
}
