import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// A group-buy activity as the operator or a shop defines it. Dates are ISO 8601.
struct GroupBuyInput: Content {
    let name: String
    let skuId: UUID
    /// The group price per unit, below the SKU's price.
    let priceFen: Int64
    /// Members a group needs, 2 to 100.
    let size: Int
    /// Minutes from the leader's payment; default 1 440 (24 h), at most 7 days.
    let durationMinutes: Int?
    /// 模拟成团: a group still short at its deadline succeeds instead of failing. Default off.
    let virtualCompletion: Bool?
    let startsAt: String
    let endsAt: String
    /// Default off (`ActivityKind.groupBuy.paysCommissionByDefault`).
    let paysCommission: Bool?
}

/// Creating and stopping group-buy activities, and their results.
struct GroupBuyService {
    let db: any Database
    let now: Date

    static let maxName = 40

    func create(_ input: GroupBuyInput, merchantID: UUID?) async throws -> GroupBuyActivity {
        let activity = try await built(input, merchantID: merchantID)
        try await activity.create(on: db)
        return activity
    }

    /// 修改活动. Before it starts every field may change. Once it has started, open groups hold its
    /// price, size and time limit, so only the name, the end time (not before now) and the commission
    /// switch change; anything else is a 409 that changes nothing.
    func update(_ id: UUID, _ input: GroupBuyInput, merchantID: UUID?) async throws -> GroupBuyActivity {
        try await lockRow(GroupBuyActivity.schema, id, on: db)
        guard let activity = try await GroupBuyActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue else {
            throw APIError(.conflict, "group_buy.stopped", .init("该活动已停止，不能再修改", "This activity is stopped and cannot be changed"))
        }
        try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
        let edited = try await built(input, merchantID: activity.merchantID)
        let sameTerms = edited.skuID == activity.skuID && edited.price == activity.price && edited.size == activity.size
            && edited.durationSeconds == activity.durationSeconds && edited.virtualCompletion == activity.virtualCompletion
            && abs(edited.startsAt.timeIntervalSince(activity.startsAt)) < 1
        if activity.startsAt <= now, !sameTerms {
            throw APIError(.conflict, "group_buy.terms_locked", .init("活动已开始，只能修改名称、结束时间和是否计佣",
                                                                      "The activity has started: only its name, end time and commission switch can change"))
        }
        activity.name = edited.name
        activity.productID = edited.productID
        activity.skuID = edited.skuID
        activity.shopID = edited.shopID
        activity.price = edited.price
        activity.size = edited.size
        activity.durationSeconds = edited.durationSeconds
        activity.virtualCompletion = edited.virtualCompletion
        activity.startsAt = edited.startsAt
        activity.endsAt = edited.endsAt
        activity.paysCommission = edited.paysCommission
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// A new, unsaved activity from the input, or the reasons it cannot be one.
    private func built(_ input: GroupBuyInput, merchantID: UUID?) async throws -> GroupBuyActivity {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写活动名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        let (start, end) = ActivityDates.parse(input.startsAt, input.endsAt, now: now, issue: issue)
        let sku = try await Sku.find(input.skuId, on: db)
        if sku == nil || (merchantID != nil && sku?.merchantID != merchantID) { issue("skuId", "商品规格不存在", "No such SKU") }
        if let sku, input.priceFen < 1 || input.priceFen >= sku.price {
            issue("priceFen", "拼团价应至少 1 分且低于原价 \(Money(fen: sku.price).formatted(.zhHans))", "The group price must be at least 1 fen and below \(Money(fen: sku.price).formatted(.en))")
        }
        if !(2...GroupBuyRule.maxSize).contains(input.size) { issue("size", "成团人数应为 2 到 \(GroupBuyRule.maxSize) 人", "size must be 2 to \(GroupBuyRule.maxSize)") }
        let minutes = input.durationMinutes ?? 1_440
        if !(1...(7 * 1_440)).contains(minutes) { issue("durationMinutes", "成团时限应为 1 分钟到 7 天", "durationMinutes must be 1 to 10 080") }
        guard issues.isEmpty, let sku, let start, let end else { throw APIError.validation(issues) }
        let activity = GroupBuyActivity()
        activity.name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        activity.productID = sku.$product.id
        activity.skuID = input.skuId
        activity.shopID = sku.merchantID
        activity.price = input.priceFen
        activity.size = input.size
        activity.durationSeconds = max(60, minutes * 60)
        activity.virtualCompletion = input.virtualCompletion ?? false
        activity.startsAt = start
        activity.endsAt = end
        activity.owner = merchantID == nil ? "platform" : "merchant"
        activity.merchantID = merchantID
        activity.status = PromotionStatus.active.rawValue
        activity.paysCommission = input.paysCommission ?? ActivityKind.groupBuy.paysCommissionByDefault
        activity.createdAt = now
        activity.updatedAt = now
        _ = try activity.rule()
        return activity
    }

    /// Pause, resume or stop; a stopped activity stays stopped. Open groups run to their end.
    func setStatus(_ id: UUID, to status: PromotionStatus, merchantID: UUID?) async throws -> GroupBuyActivity {
        guard let activity = try await GroupBuyActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue || status == .stopped else {
            throw APIError(.conflict, "group_buy.stopped", .init("该活动已停止，不能再启用", "This activity is stopped and cannot be resumed"))
        }
        activity.status = status.rawValue
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// Running now: active and within the window.
    static func isRunning(_ activity: GroupBuyActivity, now: Date) -> Bool {
        activity.status == PromotionStatus.active.rawValue && activity.startsAt <= now && now < activity.endsAt
    }

    static func payer(_ activity: GroupBuyActivity) -> DiscountPayer {
        if activity.owner == "merchant", let merchant = activity.merchantID { return .merchant(merchant) }
        return .platform
    }

    static func exclusive(_ activity: GroupBuyActivity) throws -> ExclusiveActivity {
        ExclusiveActivity(kind: .groupBuy, id: try activity.requireID().uuidString.lowercased(), paysCommission: activity.paysCommission,
                          price: Money(fen: activity.price), payer: payer(activity), name: activity.name)
    }

    /// Groups by status, paid members, sales and what the group price cost.
    func results(_ activity: GroupBuyActivity, _ locale: MallLocale) async throws -> GroupBuyResultsDTO {
        let id = try activity.requireID()
        let sql = try sqlDatabase(db)
        let groups = try await sql.raw("""
            SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM group_buy_groups WHERE activity_id = \(bind: id) GROUP BY status
            """).all()
        var counts: [String: Int64] = [:]
        for row in groups { counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int64.self) }
        let sales = try await sql.raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(o.payable - o.refunded_amount), 0) AS BIGINT) AS amount
            FROM group_buy_members m JOIN orders o ON o.id = m.order_id WHERE m.activity_id = \(bind: id) AND m.status = 'paid'
            """).first()
        let cost = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(amount - reversed_amount), 0) AS BIGINT) AS amount FROM order_line_discounts
            WHERE source_kind = 'group_buy' AND source_id = \(bind: id.uuidString.lowercased())
              AND order_id IN (SELECT order_id FROM group_buy_members WHERE activity_id = \(bind: id) AND status = 'paid')
            """).first()
        return GroupBuyResultsDTO(activityId: id, openGroups: counts["open"] ?? 0, succeededGroups: counts["succeeded"] ?? 0,
                                  failedGroups: counts["failed"] ?? 0, paidOrders: try sales?.decode(column: "n", as: Int64.self) ?? 0,
                                  sales: MoneyDTO(Money(fen: try sales?.decode(column: "amount", as: Int64.self) ?? 0), locale),
                                  discountCost: MoneyDTO(Money(fen: try cost?.decode(column: "amount", as: Int64.self) ?? 0), locale))
    }
}

/// ISO 8601 windows of activities, checked the same way for every kind.
enum ActivityDates {
    static func parse(_ startsAt: String, _ endsAt: String, now: Date, issue: (String, String, String) -> Void) -> (Date?, Date?) {
        let formatter = ISO8601DateFormatter()
        let start = startsAt.count <= 40 ? formatter.date(from: startsAt) : nil
        let end = endsAt.count <= 40 ? formatter.date(from: endsAt) : nil
        if start == nil { issue("startsAt", "时间格式应为 ISO 8601，如 2025-06-18T00:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T00:00:00+08:00") }
        if end == nil { issue("endsAt", "时间格式应为 ISO 8601，如 2025-06-30T23:59:59+08:00", "Use an ISO 8601 time such as 2025-06-30T23:59:59+08:00") }
        if let start, let end {
            if end <= start { issue("endsAt", "结束时间应晚于开始时间", "endsAt must be after startsAt") }
            if end <= now { issue("endsAt", "结束时间应晚于现在", "endsAt must be in the future") }
            if end.timeIntervalSince(start) > PromotionService.maxSpan { issue("endsAt", "活动最长十年", "An activity lasts at most ten years") }
        }
        return (start, end)
    }
}

/// The group a checkout opens or joins, or the bargain it pays, worked out by the planner.
enum PlannedActivity: Sendable {
    case groupLeader(activityID: UUID)
    case groupJoin(activityID: UUID, groupID: UUID)
    case bargain(bargainID: UUID, price: Int64)
}

/// What group buys and bargains do when their orders are placed, paid and closed. Each runs in
/// the order's own write transaction.
struct ActivityOrders {
    let db: any Database
    let now: Date

    /// The order was written: the leader's waits for payment, a joiner's takes a seat (a
    /// conditional update, so concurrent joins never pass the size), a bargain is taken.
    func placed(_ activity: PlannedActivity, orderID: UUID, memberID: UUID) async throws {
        let sql = try sqlDatabase(db)
        switch activity {
        case .groupLeader(let activityID):
            try await insertMember(activityID: activityID, groupID: nil, orderID: orderID, memberID: memberID, role: "leader", status: .pending)
        case .groupJoin(let activityID, let groupID):
            let taken = try await sql.raw("""
                UPDATE group_buy_groups SET held = held + 1
                WHERE id = \(bind: groupID) AND status = 'open' AND deadline > \(bind: now) AND paid + held < size RETURNING id
                """).all()
            guard !taken.isEmpty else {
                guard let group = try await GroupBuyGroup.find(groupID, on: db) else { throw APIError.notFound }
                throw GroupBuy.joinRefusal(group.state, now: now) ?? .full
            }
            try await insertMember(activityID: activityID, groupID: groupID, orderID: orderID, memberID: memberID, role: "joiner", status: .held)
        case .bargain(let bargainID, let price):
            let taken = try await sql.raw("""
                UPDATE bargains SET status = 'ordered', order_id = \(bind: orderID), updated_at = \(bind: now)
                WHERE id = \(bind: bargainID) AND status = 'open' AND expires_at > \(bind: now) AND current_price = \(bind: price) RETURNING id
                """).all()
            guard !taken.isEmpty else { throw BargainRefusal.changed }
        }
    }

    private func insertMember(activityID: UUID, groupID: UUID?, orderID: UUID, memberID: UUID, role: String, status: GroupMemberStatus) async throws {
        try await sqlDatabase(db).raw("""
            INSERT INTO group_buy_members (id, activity_id, group_id, order_id, member_id, role, status, created_at)
            VALUES (\(bind: UUID()), \(bind: activityID), \(bind: groupID), \(bind: orderID), \(bind: memberID), \(bind: role), \(bind: status.rawValue), \(bind: now))
            """).run()
    }

    /// The orders were paid. The leader's payment opens the group; a joiner's is judged by
    /// `GroupBuy.payment` and, when refused (full, expired, closed), refunded in full. Returns the
    /// refunds to send to the provider after the commit.
    @discardableResult
    func paid(_ orders: [Order]) async throws -> [Refund] {
        var refunds: [Refund] = []
        let sql = try sqlDatabase(db)
        for order in orders {
            let orderID = try order.requireID()
            try await sql.raw("""
                UPDATE bargains SET status = 'paid', updated_at = \(bind: now) WHERE order_id = \(bind: orderID) AND status = 'ordered'
                """).run()
            guard let member = try await GroupBuyMember.query(on: db).filter(\.$orderID == orderID).first(),
                  let activity = try await GroupBuyActivity.find(member.activityID, on: db) else { continue }
            if member.role == "leader" {
                guard member.status == GroupMemberStatus.pending.rawValue else { continue }
                // Stopped or ended while the leader paid: no one could join the group, so it does not open.
                if activity.status == PromotionStatus.stopped.rawValue || now >= activity.endsAt {
                    try await sql.raw("UPDATE group_buy_members SET status = 'refunded', paid_at = \(bind: now) WHERE id = \(bind: member.requireID())").run()
                    refunds += try await AfterSaleService(db: db, now: now).refundInFull(order, reason: Self.activityEndedReason)
                    continue
                }
                let rule = try activity.rule()
                let state = GroupBuy.open(rule, leaderPaidAt: now)
                let group = GroupBuyGroup()
                group.id = UUID()
                group.activityID = member.activityID
                group.leaderMemberID = member.memberID
                group.size = state.size
                group.paid = state.paid
                group.held = 0
                group.virtualMembers = 0
                group.status = state.status.rawValue
                group.deadline = state.deadline
                group.openedAt = now
                try await group.create(on: db)
                try await sql.raw("""
                    UPDATE group_buy_members SET group_id = \(bind: group.id), status = 'paid', paid_at = \(bind: now) WHERE id = \(bind: member.requireID())
                    """).run()
                continue
            }
            guard let groupID = member.groupID else { continue }
            try await lockRow(GroupBuyGroup.schema, groupID, on: db)
            guard let group = try await GroupBuyGroup.find(groupID, on: db) else { continue }
            let holdsSeat = member.status == GroupMemberStatus.held.rawValue
            switch GroupBuy.payment(group.state, holdsSeat: holdsSeat, now: now) {
            case .accepted(let next):
                let moved = try await sql.raw("""
                    UPDATE group_buy_groups SET paid = \(bind: next.paid), held = \(bind: next.held), status = \(bind: next.status.rawValue),
                      finished_at = \(bind: next.status == .succeeded ? now : nil)
                    WHERE id = \(bind: groupID) AND status = 'open' AND paid = \(bind: group.paid) AND held = \(bind: group.held) RETURNING id
                    """).all()
                guard !moved.isEmpty else { throw APIError(.conflict, "group_buy.busy", .init("拼团人数刚刚变化，请重试", "The group just changed; try again")) }
                try await sql.raw("UPDATE group_buy_members SET status = 'paid', paid_at = \(bind: now) WHERE id = \(bind: member.requireID())").run()
            case .refund(let reason):
                if holdsSeat {
                    try await sql.raw("UPDATE group_buy_groups SET held = held - 1 WHERE id = \(bind: groupID) AND held > 0").run()
                }
                try await sql.raw("UPDATE group_buy_members SET status = 'refunded', paid_at = \(bind: now) WHERE id = \(bind: member.requireID())").run()
                refunds += try await AfterSaleService(db: db, now: now).refundInFull(order, reason: "拼团未成功：" + reason.localizedMessage(.zhHans))
            }
        }
        return refunds
    }

    /// The order closed unpaid: a joiner's seat is free again, a bargain can be paid again.
    func closed(orderID: UUID) async throws {
        let sql = try sqlDatabase(db)
        try await sql.raw("""
            UPDATE bargains SET status = 'open', order_id = NULL, updated_at = \(bind: now) WHERE order_id = \(bind: orderID) AND status = 'ordered'
            """).run()
        guard let member = try await GroupBuyMember.query(on: db).filter(\.$orderID == orderID).first() else { return }
        let released = try await sql.raw("""
            UPDATE group_buy_members SET status = 'released' WHERE id = \(bind: member.requireID()) AND status IN ('pending', 'held') RETURNING id
            """).all()
        guard !released.isEmpty, member.status == GroupMemberStatus.held.rawValue, let groupID = member.groupID else { return }
        try await sql.raw("UPDATE group_buy_groups SET held = held - 1 WHERE id = \(bind: groupID) AND held > 0").run()
    }

    static let activityEndedReason = "拼团活动已结束，未能开团"

    /// While its group is open a group order cannot be refunded by after-sales: the group would
    /// count a member who has their money back. A group that fails refunds everyone anyway.
    func requireGroupSettled(orderID: UUID) async throws {
        guard let member = try await GroupBuyMember.query(on: db).filter(\.$orderID == orderID).first(),
              member.status == GroupMemberStatus.paid.rawValue, let groupID = member.groupID,
              let group = try await GroupBuyGroup.find(groupID, on: db), group.status == GroupStatus.open.rawValue else { return }
        throw APIError(.conflict, "group_buy.in_progress", .init("拼团进行中，暂不能申请售后；未成团将自动全额退款",
                                                               "The group is still forming; after-sales open once it succeeds, and a group that fails is refunded in full"))
    }

    /// A group order may ship only once its group has succeeded.
    func requireShippable(orderID: UUID) async throws {
        guard let member = try await GroupBuyMember.query(on: db).filter(\.$orderID == orderID).first() else { return }
        if let groupID = member.groupID, let group = try await GroupBuyGroup.find(groupID, on: db), group.status == GroupStatus.succeeded.rawValue { return }
        throw APIError(.conflict, "group_buy.not_formed", .init("该订单待成团，拼团成功后才能发货", "This order waits for its group to form; ship it once the group succeeds"))
    }
}

extension AfterSaleService {
    /// Gives back everything still paid on the order, line by line (the shipping with the last
    /// line), through the payment's own channel: for group buys that did not form. The refunds are
    /// opened here and sent after the commit.
    func refundInFull(_ order: Order, reason: String) async throws -> [Refund] {
        let orderID = try order.requireID()
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).sort(\.$position).all()
        let shippingRefunded = try await Refund.query(on: db).filter(\.$orderID == orderID).all().reduce(0) { $0 + $1.shippingAmount }
        let due = lines.filter { $0.quantity > $0.refundedQuantity && $0.giftActivityID == nil }
        var refunds: [Refund] = []
        for (index, line) in due.enumerated() {
            let refundable = try RefundableLine(paid: Money(fen: line.paidAmount), quantity: line.quantity, refundedUnits: line.refundedQuantity,
                                                refundedAmount: Money(fen: line.refundedAmount))
            let units = line.quantity - line.refundedQuantity
            let amount = try Refunds.refundable(units: units, of: refundable)
            let sale = AfterSale()
            sale.afterSaleNo = OrderService.number(prefix: "S", at: now)
            sale.orderID = orderID
            sale.orderLineID = try line.requireID()
            sale.memberID = order.memberID
            sale.merchantID = order.merchantID
            sale.kind = AfterSaleKind.refundOnly.rawValue
            sale.state = AfterSaleState.requested.rawValue
            sale.units = units
            sale.amount = amount.fen
            sale.shippingAmount = index == due.count - 1 ? max(0, order.shippingFee - shippingRefunded) : 0
            sale.byAgreement = true
            sale.reason = String(reason.prefix(200))
            sale.photos = ""
            (sale.merchantNote, sale.appealReason, sale.returnCarrier, sale.returnTrackingNo) = ("", "", "", "")
            sale.createdAt = now
            sale.updatedAt = now
            try await sale.create(on: db)
            try await appendEvent(sale, from: nil, to: .requested, action: "activity_refund", actor: .system, note: reason)
            try await sqlDatabase(db).raw("UPDATE orders SET open_after_sales = open_after_sales + 1 WHERE id = \(bind: orderID)").run()
            if let refund = try await move(sale, .approve, actor: .system, note: reason) { refunds.append(refund) }
        }
        return refunds
    }
}

/// The group deadlines: each due group succeeds (virtual completion) or fails with every paid
/// member refunded in full; then refunds opened for group orders go to their providers. Safe to
/// run on two instances: each group moves by a conditional update on its open status.
enum GroupBuyJobs {
    struct Report: Sendable, Equatable {
        var succeeded = 0
        var failed = 0
        var refundsSent = 0
        var bargainsExpired = 0
    }

    static func run(_ app: Application, batch: Int = 200) async throws -> Report {
        var report = Report()
        let now = app.clock.now()
        let due = try await GroupBuyGroup.query(on: app.db).filter(\.$status == GroupStatus.open.rawValue).filter(\.$deadline <= now)
            .sort(\.$deadline).limit(batch).all()
        for group in due {
            let groupID = try group.requireID()
            let outcome = try await app.writeGate.transaction(on: app.db) { db in try await expire(groupID, db: db, now: now) }
            switch outcome {
            case .succeeded: report.succeeded += 1
            case .failed: report.failed += 1
            default: break
            }
        }
        report.refundsSent = try await sendRefunds(app, batch: batch)
        report.bargainsExpired = try await app.writeGate.transaction(on: app.db) { db in
            try await sqlDatabase(db).raw("""
                UPDATE bargains SET status = 'expired', updated_at = \(bind: now) WHERE status = 'open' AND expires_at <= \(bind: now) RETURNING id
                """).all().count
        }
        return report
    }

    enum Outcome: Sendable { case succeeded, failed, unchanged }

    static func expire(_ groupID: UUID, db: any Database, now: Date) async throws -> Outcome {
        try await lockRow(GroupBuyGroup.schema, groupID, on: db)
        guard let group = try await GroupBuyGroup.find(groupID, on: db), let activity = try await GroupBuyActivity.find(group.activityID, on: db) else { return .unchanged }
        let sql = try sqlDatabase(db)
        switch GroupBuy.expire(group.state, rule: try activity.rule(), now: now) {
        case .stillOpen, .alreadyClosed:
            return .unchanged
        case .succeeded(let state):
            let moved = try await sql.raw("""
                UPDATE group_buy_groups SET status = 'succeeded', virtual_members = \(bind: state.virtualMembers), finished_at = \(bind: now)
                WHERE id = \(bind: groupID) AND status = 'open' RETURNING id
                """).all()
            return moved.isEmpty ? .unchanged : .succeeded
        case .failed:
            let moved = try await sql.raw("""
                UPDATE group_buy_groups SET status = 'failed', finished_at = \(bind: now) WHERE id = \(bind: groupID) AND status = 'open' RETURNING id
                """).all()
            guard !moved.isEmpty else { return .unchanged }
            let members = try await GroupBuyMember.query(on: db).filter(\.$groupID == groupID).filter(\.$status == GroupMemberStatus.paid.rawValue).all()
            let afterSales = AfterSaleService(db: db, now: now)
            for member in members {
                try await sql.raw("UPDATE group_buy_members SET status = 'refunded' WHERE id = \(bind: member.requireID()) AND status = 'paid'").run()
                guard let order = try await Order.find(member.orderID, on: db) else { continue }
                _ = try await afterSales.refundInFull(order, reason: "拼团失败，全额退款")
            }
            return .failed
        }
    }

    /// Refunds of group orders not yet asked of their provider.
    static func sendRefunds(_ app: Application, batch: Int) async throws -> Int {
        let rows = try await sqlDatabase(app.db).raw("""
            SELECT r.id FROM refunds r JOIN group_buy_members m ON m.order_id = r.order_id
            WHERE r.status = 'pending' AND r.provider_refund_no = '' LIMIT \(literal: batch)
            """).all()
        var sent = 0
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            do {
                try await RefundService.send(id, app: app)
                sent += 1
            } catch {
                app.logger.warning("group refund \(id) failed: \(error)")
            }
        }
        return sent
    }
}

/// `fission group-buy-jobs`: the group deadlines and bargain expiry once (what `serve` runs each minute).
struct GroupBuyJobsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Ends group buys past their deadline (refunding failed groups in full) and expires bargains." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let report = try await GroupBuyJobs.run(context.application)
        context.console.print("groups succeeded \(report.succeeded), failed \(report.failed), refunds sent \(report.refundsSent), bargains expired \(report.bargainsExpired)")
    }
}
