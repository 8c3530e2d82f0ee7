import Foundation
import MallCore
import Vapor

/// A coupon template as the operator or a shop defines it. Dates are ISO 8601 ("2025-06-18T00:00:00+08:00").
struct CouponTemplateInput: Content {
    var name: String
    /// full_reduction, discount, no_threshold or new_user.
    var kind: String
    var thresholdFen: Int64?
    /// full_reduction, no_threshold, new_user: the amount off.
    var amountOffFen: Int64?
    /// discount (and a new-user discount): the share paid, 8 800 = 8.8折.
    var payRateBp: Int?
    var maximumOffFen: Int64?
    /// all (the default), categories, products, all_except_products, all_except_categories.
    var scope: String?
    var scopeIds: [UUID]?
    /// A window (startsAt + endsAt) or days after receipt.
    var startsAt: String?
    var endsAt: String?
    var validDays: Int?
    var totalCount: Int64?
    var perMember: Int64?
    var perMemberPerDay: Int64?
    var perDay: Int64?
    var paysCommission: Bool?
    /// Listed in the coupon centre (default true); otherwise only sent.
    var claimable: Bool?
}

struct CouponTemplateDTO: Content {
    let id: UUID
    let name: String
    let kind: String
    let summary: String
    let scope: String
    let payer: String
    let merchantId: UUID?
    let status: String
    let statusLabel: String
    let startsAt: Date?
    let endsAt: Date?
    let validDays: Int?
    let totalCount: Int64?
    let issued: Int64
    let perMember: Int64?
    let perMemberPerDay: Int64?
    let perDay: Int64?
    let paysCommission: Bool
    let claimable: Bool

    init(_ template: CouponTemplate, _ locale: MallLocale) throws {
        id = try template.requireID()
        name = template.name
        kind = template.kind
        summary = (try? CouponService.coupon(template).summary(locale)) ?? ""
        scope = template.scope
        payer = template.payer
        merchantId = template.merchantID
        status = template.status
        statusLabel = CouponTemplateStatus(rawValue: template.status)?.name(locale) ?? template.status
        startsAt = template.validity == "window" ? template.startsAt : nil
        endsAt = template.validity == "window" ? template.endsAt : nil
        validDays = template.validity == "window" ? nil : template.validDays
        totalCount = template.totalCount
        issued = template.issued
        perMember = template.perMember
        perMemberPerDay = template.perMemberPerDay
        perDay = template.perDay
        paysCommission = template.paysCommission
        claimable = template.claimable
    }
}

/// One entry of the coupon centre: a coupon the member may claim now.
struct CouponOfferDTO: Content {
    let id: UUID
    let name: String
    let kind: String
    let summary: String
    let shop: String?
    /// "领取后 7 天内有效" or the window's end.
    let validity: String
    let remaining: Int64?
    /// How many of it the signed-in member holds.
    let held: Int64
}

struct MemberCouponDTO: Content {
    let id: UUID
    let templateId: UUID
    let name: String
    let kind: String
    let summary: String
    let shop: String?
    /// available, used or expired.
    let state: String
    let stateLabel: String
    let validFrom: Date
    let validUntil: Date
    let usedOrderId: UUID?
}

struct CouponSendInput: Content {
    let memberIds: [UUID]?
    let phones: [String]?
    /// Every member carrying this tag (会员标签): queued as a job (发券任务, 202) and sent by the
    /// worker; not together with memberIds or phones.
    let tagId: UUID?
}

struct CouponSendResultDTO: Content {
    struct Refused: Content {
        let recipient: String
        let code: String
        let message: String
    }
    let sent: Int
    /// The first refusals (at most `CouponSending.maxRefusedListed`).
    let refused: [Refused]
    /// How many recipients were refused in all.
    let skipped: Int
}

/// The coupons of a checkout preview: those used, with what each saves, and every other one the
/// member holds with the reason it is not used.
struct CheckoutCouponsDTO: Content {
    struct Saving: Content {
        let source: String
        let id: String
        let label: String
        let amount: MoneyDTO
    }
    struct Held: Content {
        let id: UUID
        let name: String
        let summary: String
        let chosen: Bool
        let reason: String?
    }
    /// Every saving in stacking order (「优惠券 -¥20.00」).
    let savings: [Saving]
    let chosen: [UUID]
    /// True when no couponIds were sent and the best combination was taken.
    let suggested: Bool
    let held: [Held]

    init(_ plan: CheckoutPlan, _ locale: MallLocale) {
        savings = plan.pricing.steps.map { step in
            Saving(source: step.source.kind.rawValue, id: step.source.id, label: step.label, amount: .init(step.amount, locale))
        }
        chosen = plan.coupons.chosen
        suggested = plan.coupons.suggested
        held = plan.coupons.offered.map { Held(id: $0.id, name: $0.name, summary: $0.summary, chosen: $0.chosen, reason: $0.reason) }
    }
}
