import Foundation

/// 发券任务: one coupon sent to every member of a tag, batch by batch, by a worker outside the
/// request. queued → running → done, or failed (the coupon ran out, ended or was paused) or
/// cancelled (by the operator); what was issued before the end stays issued.
public enum CouponSendJobStatus: String, CaseIterable, Codable, Sendable {
    case queued, running, done, failed, cancelled

    /// A worker may still take the job.
    public var isOpen: Bool { self == .queued || self == .running }

    public func name(_ locale: MallLocale) -> String {
        switch self {
        case .queued: locale.choose(zh: "排队中", en: "Queued")
        case .running: locale.choose(zh: "发送中", en: "Sending")
        case .done: locale.choose(zh: "已完成", en: "Done")
        case .failed: locale.choose(zh: "已中止", en: "Stopped early")
        case .cancelled: locale.choose(zh: "已取消", en: "Cancelled")
        }
    }
}

/// Why a job ended before every member was reached.
public enum CouponSendEnd: String, CaseIterable, Codable, Sendable {
    /// The coupon's total is used up.
    case soldOut = "sold_out"
    /// Today's issue limit is used up.
    case dailySoldOut = "daily_sold_out"
    /// The coupon's window has ended.
    case claimEnded = "claim_ended"
    /// The coupon was paused or stopped.
    case notClaimable = "not_claimable"
    case cancelled

    public func message(_ locale: MallLocale) -> String {
        switch self {
        case .soldOut: locale.choose(zh: "优惠券发放总量已用完，其余会员未发放", en: "The coupon's total ran out; the remaining members got none")
        case .dailySoldOut: locale.choose(zh: "优惠券今日发放量已用完，其余会员未发放", en: "Today's issue limit of the coupon ran out; the remaining members got none")
        case .claimEnded: locale.choose(zh: "优惠券已过发放期，其余会员未发放", en: "The coupon's window has ended; the remaining members got none")
        case .notClaimable: locale.choose(zh: "优惠券已暂停或已停止，其余会员未发放", en: "The coupon was paused or stopped; the remaining members got none")
        case .cancelled: locale.choose(zh: "已由平台取消，已发出的券仍有效", en: "Cancelled by the operator; coupons already issued stay issued")
        }
    }
}

public enum CouponSendJobs {
    /// What one member's refusal means for the job: a refusal about that member (its limit, not a
    /// new member) skips the member; one about the coupon would refuse everyone after, so the job ends.
    public enum Step: Equatable, Sendable {
        case skipMember
        case endJob(CouponSendEnd)
    }

    public static func step(for refusal: CouponRejection) -> Step {
        switch refusal {
        case .soldOut: .endJob(.soldOut)
        case .dailySoldOut: .endJob(.dailySoldOut)
        case .claimEnded, .expired: .endJob(.claimEnded)
        case .memberLimitReached, .memberDailyLimitReached, .newMembersOnly, .alreadyUsed, .notStarted, .outOfScope, .belowThreshold, .noShippingFee:
            .skipMember
        }
    }

    /// The status after a batch: ended early, done when the tag had no more members than the batch
    /// took, otherwise still running.
    public static func statusAfterBatch(taken: Int, batchSize: Int, ended: CouponSendEnd?) -> CouponSendJobStatus {
        if let ended { return ended == .cancelled ? .cancelled : .failed }
        return taken < batchSize ? .done : .running
    }

    /// Whole percent of the members handled, 0…100 (a tag that grew while sending shows 100).
    public static func percent(handled: Int64, total: Int64) -> Int {
        guard total > 0 else { return handled > 0 ? 100 : 0 }
        let clamped = min(max(handled, 0), total)
        // clamped ≤ total, so clamped × 100 / total ≤ 100; dividing first keeps it far from overflow.
        if clamped > Int64.max / 100 { return Int(clamped / (total / 100 + 1)) }
        return Int(clamped * 100 / total)
    }
}
