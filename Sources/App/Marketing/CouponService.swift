import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Coupon templates and members' coupons: claiming, sending, using at checkout and giving back.
/// Every method that writes expects `db` to be a write transaction.
struct CouponService {
    let db: any Database
    let now: Date

    /// Coupons one member may hold in the lists and the checkout (newest first beyond it are left out).
    static let maxHeld = 200
    /// Coupons one checkout may name.
    static let maxPerCheckout = 10

    // MARK: - MallCore views

    static func scope(_ template: CouponTemplate) throws -> MarketingScope {
        let ids = Set((try? JSONDecoder().decode([UUID].self, from: Data(template.scopeIDs.utf8))) ?? [])
        switch template.scope {
        case "all": return .all
        case "merchant": return .merchant(template.merchantID ?? UUID())
        case "categories": return .categories(ids)
        case "products": return .products(ids)
        case "all_except_products": return .allExceptProducts(ids)
        case "all_except_categories": return .allExceptCategories(ids)
        default: throw MarketingError.emptyScope
        }
    }

    /// The template as the engine sees it; its id is the template's id.
    static func coupon(_ template: CouponTemplate) throws -> Coupon {
        let kind = CouponKind(rawValue: template.kind) ?? .noThreshold
        let benefit: CouponBenefit
        switch template.benefit {
        case "pay_rate": benefit = .payRate(BasisPoints(template.payRateBP), maximumOff: template.maximumOff > 0 ? Money(fen: template.maximumOff) : nil)
        case "shipping_off": benefit = .shippingOff(template.amountOff > 0 ? Money(fen: template.amountOff) : nil)
        default: benefit = .amountOff(Money(fen: template.amountOff))
        }
        let validity: CouponValidity
        if template.validity == "window", let start = template.startsAt, let end = template.endsAt {
            validity = .window(try ActivityWindow(start: start, end: end))
        } else {
            validity = .daysAfterReceipt(template.validDays)
        }
        let payer: DiscountPayer = template.payer == "merchant" ? .merchant(template.merchantID ?? UUID()) : .platform
        return try Coupon(id: try template.requireID().uuidString.lowercased(), kind: kind, name: template.name, threshold: Money(fen: template.threshold),
                          benefit: benefit, scope: try scope(template), validity: validity, payer: payer, paysCommission: template.paysCommission,
                          limits: CouponClaimLimits(total: template.totalCount, perMember: template.perMember,
                                                    perMemberPerDay: template.perMemberPerDay, perDay: template.perDay))
    }

    static func memberCoupon(_ record: MemberCouponRecord, _ template: CouponTemplate) throws -> MemberCoupon {
        MemberCoupon(id: try record.requireID().uuidString.lowercased(), coupon: try coupon(template), receivedAt: record.claimedAt,
                     used: record.state != MemberCouponState.available.rawValue)
    }

    static let chinaCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? .gmt
        return calendar
    }()

    /// "2025-06-18", the China day of `date`.
    static func chinaDay(_ date: Date) -> String {
        let parts = chinaCalendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    // MARK: - claiming

    /// A member without a paid order.
    func isNewMember(_ memberID: UUID) async throws -> Bool {
        try await Order.query(on: db).filter(\.$memberID == memberID).filter(\.$paidAt != nil).first() == nil
    }

    /// Issues one coupon of the template to the member, or says why not.
    ///
    /// The member's row is locked first (PostgreSQL; SQLite's writes are one at a time already),
    /// then `issued` grows by a conditional update that also locks the template's row, so the
    /// counts read after it are exact and no limit is crossed by concurrent claims.
    /// A new-user coupon (新人券) passes the farming guard first (`FarmingGuardService`), after the
    /// member's row and before the template's, and leaves its `farm_events` row.
    @discardableResult
    func claim(templateID: UUID, memberID: UUID, source: String, listedOnly: Bool, client: FarmClient = .none) async throws -> MemberCouponRecord {
        try await lockRow(Member.schema, memberID, on: db)
        guard let template = try await CouponTemplate.find(templateID, on: db) else { throw APIError.notFound }
        guard template.status == CouponTemplateStatus.active.rawValue, !listedOnly || template.claimable else { throw CouponFailure.notClaimable }
        let coupon = try Self.coupon(template)
        let isNew = try await isNewMember(memberID)
        // Cheap refusals first, on the counts as read; the decisive check follows under the lock.
        if let refusal = Coupons.claimRefusal(coupon, counts: CouponClaimCounts(issued: template.issued), now: now, isNewMember: isNew) { throw refusal }
        var farming: FarmingGuardService.Admission?
        if coupon.kind == .newUser { farming = try await FarmingGuardService(db: db, now: now).admitNewUserCoupon(memberID: memberID, client: client) }
        let sql = try sqlDatabase(db)
        let taken = try await sql.raw("""
            UPDATE coupon_templates SET issued = issued + 1
            WHERE id = \(bind: templateID) AND status = 'active' AND (total_count IS NULL OR issued < total_count) RETURNING issued
            """).all()
        guard let row = taken.first else { throw CouponRejection.soldOut }
        let issued = try row.decode(column: "issued", as: Int64.self) - 1
        let day = Self.chinaDay(now)
        // The member's counts read only the member's rows (index on template, member, day); the
        // day's total is read only when there is a daily limit, so a send to many members stays linear.
        let counts = try await sql.raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS mine,
                   CAST(COALESCE(SUM(CASE WHEN claim_day = \(bind: day) THEN 1 ELSE 0 END), 0) AS BIGINT) AS mine_today
            FROM member_coupons WHERE template_id = \(bind: templateID) AND member_id = \(bind: memberID)
            """).first()
        var today: Int64 = 0
        if template.perDay != nil {
            let row = try await sql.raw("""
                SELECT CAST(COUNT(*) AS BIGINT) AS today FROM member_coupons WHERE template_id = \(bind: templateID) AND claim_day = \(bind: day)
                """).first()
            today = try row?.decode(column: "today", as: Int64.self) ?? 0
        }
        let claimCounts = CouponClaimCounts(issued: issued, issuedToday: today,
                                            byMember: try counts?.decode(column: "mine", as: Int64.self) ?? 0,
                                            byMemberToday: try counts?.decode(column: "mine_today", as: Int64.self) ?? 0)
        // Throwing rolls the update back with the transaction.
        if let refusal = Coupons.claimRefusal(coupon, counts: claimCounts, now: now, isNewMember: isNew) { throw refusal }
        let record = MemberCouponRecord()
        record.id = UUID()
        record.memberID = memberID
        record.templateID = templateID
        record.state = MemberCouponState.available.rawValue
        record.claimedAt = now
        let held = MemberCoupon(id: "", coupon: coupon, receivedAt: now)
        record.validFrom = held.validFrom
        record.validUntil = held.validUntil
        record.claimDay = day
        record.source = source
        try await record.create(on: db)
        if let farming { try await FarmingGuardService(db: db, now: now).record(farming, source: source, refID: try record.requireID()) }
        return record
    }

    /// New-user coupons (新人券) for a member who has just registered: each active one the
    /// member may still have; one that is sold out or ended, or that the farming guard refuses
    /// for this phone, device or address, is skipped, never an error. Outside a transaction each
    /// claim takes the write gate like any other write.
    func issueOnRegistration(memberID: UUID, client: FarmClient = .none, gate: WriteGate = .none) async throws {
        let templates = try await CouponTemplate.query(on: db).filter(\.$kind == CouponKind.newUser.rawValue)
            .filter(\.$status == CouponTemplateStatus.active.rawValue).sort(\.$createdAt).limit(20).all()
        for template in templates {
            do {
                // Its own (nested, where the caller has one) transaction: a refusal leaves no count behind.
                let templateID = try template.requireID()
                let now = self.now
                let claim: @Sendable (any Database) async throws -> Void = { tx in
                    _ = try await CouponService(db: tx, now: now).claim(templateID: templateID, memberID: memberID, source: "registration",
                                                                        listedOnly: false, client: client)
                }
                if db.inTransaction {
                    try await db.transaction(claim)
                } else {
                    try await gate.transaction(on: db, claim)
                }
            } catch is CouponRejection {
                continue
            } catch is CouponFailure {
                continue
            } catch is FarmingRefusal {
                continue
            }
        }
    }

    // MARK: - holding

    /// The member's coupons with their templates, soonest-ending first.
    func held(memberID: UUID, states: [MemberCouponState]) async throws -> [(record: MemberCouponRecord, template: CouponTemplate)] {
        let records = try await MemberCouponRecord.query(on: db).filter(\.$memberID == memberID).filter(\.$state ~~ states.map(\.rawValue))
            .sort(\.$validUntil).sort(\.$id).limit(Self.maxHeld).all()
        let templateIDs = Array(Set(records.map(\.templateID)))
        let templates = templateIDs.isEmpty ? [] : try await CouponTemplate.query(on: db).filter(\.$id ~~ templateIDs).all()
        let byID = Dictionary(templates.compactMap { template in template.id.map { ($0, template) } }, uniquingKeysWith: { first, _ in first })
        return records.compactMap { record in byID[record.templateID].map { (record, $0) } }
    }

    /// Coupons the member can choose at checkout: available, not yet ended, from a template that
    /// was not stopped. (Whether each fits this cart is MallCore's `Coupons.use`.)
    func usable(memberID: UUID) async throws -> [(record: MemberCouponRecord, template: CouponTemplate)] {
        try await held(memberID: memberID, states: [.available]).filter { pair in
            pair.record.validUntil > now && pair.template.status != CouponTemplateStatus.stopped.rawValue
        }
    }

    // MARK: - using and giving back

    /// Marks the checkout's coupons used, in the order's transaction: a coupon another checkout
    /// used meanwhile refuses this one, and the whole placement rolls back.
    func markUsed(_ ids: [UUID], memberID: UUID, paymentID: UUID, orderOf: [UUID: UUID]) async throws {
        let sql = try sqlDatabase(db)
        for id in ids.sorted(by: { $0.uuidString < $1.uuidString }) {
            let moved = try await sql.raw("""
                UPDATE member_coupons SET state = 'used', used_payment_id = \(bind: paymentID), used_order_id = \(bind: orderOf[id]), used_at = \(bind: now)
                WHERE id = \(bind: id) AND member_id = \(bind: memberID) AND state = 'available' RETURNING id
                """).all()
            guard !moved.isEmpty else { throw CouponFailure.alreadyUsed }
        }
    }

    /// The coupons of an unpaid checkout that ended: each comes back while still valid.
    func giveBack(paymentID: UUID) async throws {
        let used = try await MemberCouponRecord.query(on: db).filter(\.$usedPaymentID == paymentID)
            .filter(\.$state == MemberCouponState.used.rawValue).all()
        try await giveBack(used)
    }

    /// After a refund: a coupon comes back once every order that carries a part of it is refunded in
    /// full. A shipping coupon has no line share: it comes back when the whole checkout is refunded.
    /// `Refunds.orderWhollyRefunded`, negated, on an order `o`.
    static let notWhollyRefunded = """
        (o.refunded_amount < o.payable OR (o.payable = 0 AND EXISTS (
          SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.refunded_quantity < l.quantity)))
        """

    func giveBackIfFullyRefunded(paymentID: UUID) async throws {
        let used = try await MemberCouponRecord.query(on: db).filter(\.$usedPaymentID == paymentID)
            .filter(\.$state == MemberCouponState.used.rawValue).all()
        var due: [MemberCouponRecord] = []
        for coupon in used {
            let sourceID = try coupon.requireID().uuidString.lowercased()
            let carried = try await OrderLineDiscount.query(on: db).filter(\.$sourceKind == DiscountKind.coupon.rawValue)
                .filter(\.$sourceID == sourceID).first()
            let open = if carried != nil {
                try await sqlDatabase(db).raw("""
                    SELECT o.id FROM orders o WHERE \(unsafeRaw: Self.notWhollyRefunded)
                      AND o.id IN (SELECT order_id FROM order_line_discounts WHERE source_kind = 'coupon' AND source_id = \(bind: sourceID))
                    LIMIT 1
                    """).first()
            } else {
                try await sqlDatabase(db).raw("""
                    SELECT o.id FROM orders o WHERE o.payment_id = \(bind: paymentID) AND \(unsafeRaw: Self.notWhollyRefunded) LIMIT 1
                    """).first()
            }
            if open == nil { due.append(coupon) }
        }
        try await giveBack(due)
    }

    private func giveBack(_ coupons: [MemberCouponRecord]) async throws {
        for record in coupons {
            guard let template = try await CouponTemplate.find(record.templateID, on: db) else { continue }
            guard Coupons.returnsToMember(try Self.memberCoupon(record, template), now: now) else { continue }
            try await sqlDatabase(db).raw("""
                UPDATE member_coupons SET state = 'available', used_payment_id = NULL, used_order_id = NULL, used_at = NULL, returned_at = \(bind: now)
                WHERE id = \(bind: record.requireID()) AND state = 'used'
                """).run()
        }
    }

    // MARK: - the platform's share in the ledger

    /// What platform-paid discounts took off an order's lines and is not yet reversed, and the
    /// shipping a member level waived and not yet taken back: the platform pays it to the shop at
    /// payment and takes it back with refunds.
    func platformShare(orderID: UUID) async throws -> Money {
        let row = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(amount - reversed_amount), 0) AS BIGINT) AS share FROM order_line_discounts
            WHERE order_id = \(bind: orderID) AND payer = 'platform'
            """).first()
        let lines = Money(fen: try row?.decode(column: "share", as: Int64.self) ?? 0)
        return try lines.adding(try await MemberCheckout(db: db, now: now).shippingSubsidy(orderID: orderID))
    }

    /// Reverses the part of each of the line's discounts this refund takes back (`MarketingRefunds`),
    /// whoever paid it, so statements show the net cost; returns the platform-paid part, which the
    /// ledger takes back from the shop.
    func reverseDiscounts(_ refund: Refund) async throws -> Money {
        guard let lineID = refund.orderLineID, let line = try await OrderLine.find(lineID, on: db) else { return .zero }
        let rows = try await OrderLineDiscount.query(on: db).filter(\.$orderLineID == lineID).sort(\.$id).all()
        guard !rows.isEmpty else { return .zero }
        let before = try await Refund.query(on: db).filter(\.$orderLineID == lineID).filter(\.$status == RefundStatus.succeeded.rawValue)
            .filter(\.$id != refund.requireID()).all()
        let units = before.reduce(0) { $0 + $1.units }
        let amount = before.reduce(0) { $0 + $1.goodsAmount }
        let refundable = try RefundableLine(paid: Money(fen: line.paidAmount), quantity: line.quantity, refundedUnits: min(units, line.quantity),
                                            refundedAmount: Money(fen: min(amount, line.paidAmount)))
        let sources = rows.map { row in
            PricedAllocation(DiscountSource(kind: DiscountKind(rawValue: row.sourceKind) ?? .other, id: row.id?.uuidString ?? "",
                                            payer: row.payerMerchantID.map { .merchant($0) } ?? .platform),
                             Money(fen: row.amount))
        }
        let reversal = try MarketingRefunds.reversal(sources, line: refundable, units: min(refund.units, refundable.remainingUnits),
                                                     amount: Money(fen: min(refund.goodsAmount, refundable.remainingAmount.fen)))
        var total: Int64 = 0
        for part in reversal.reversed {
            guard let row = rows.first(where: { $0.id?.uuidString == part.source.id }) else { continue }
            let amount = min(part.amount.fen, row.amount - row.reversedAmount)
            guard amount > 0 else { continue }
            try await sqlDatabase(db).raw("""
                UPDATE order_line_discounts SET reversed_amount = reversed_amount + \(bind: amount) WHERE id = \(bind: row.requireID())
                """).run()
            if row.payer == "platform" { total += amount }
        }
        return Money(fen: total)
    }
}
