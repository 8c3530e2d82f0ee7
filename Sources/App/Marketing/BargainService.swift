import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct BargainInput: Content {
    let name: String
    let skuId: UUID
    /// The price the bargain can reach, below the SKU's price (0 for free).
    let floorPriceFen: Int64
    /// The most cuts it takes to reach the floor, 1 to 1 000.
    let maxCuts: Int
    /// Minutes a started bargain runs; default 1 440 (24 h), at most 7 days.
    let durationMinutes: Int?
    /// A helper new to the mall cuts for two. Default off.
    let newMemberCountsDouble: Bool?
    /// Cuts per helper in this activity each day; default 3. (Cuts per device and per client
    /// address each day, in every activity together, are the farming guard's, set by the operator.)
    let dailyCutLimit: Int?
    let startsAt: String
    let endsAt: String
    /// Default off (`ActivityKind.bargain.paysCommissionByDefault`).
    let paysCommission: Bool?
}

enum BargainRefusal: APIErrorConvertible {
    case ownBargain
    case alreadyCut
    case deviceUsed
    case dailyLimit(Int)
    case finished
    case notOpen
    case changed
    case notRunning
    case deviceMissing

    var apiError: APIError {
        switch self {
        case .ownBargain: APIError(.conflict, "bargain.own", .init("不能给自己的砍价助力", "You cannot cut your own bargain"))
        case .alreadyCut: APIError(.conflict, "bargain.already_cut", .init("你已经帮这个砍价砍过一刀了", "You have already cut this bargain"))
        case .deviceUsed: APIError(.conflict, "bargain.device_used", .init("这台设备已经为这个砍价助力过", "This device has already cut this bargain"))
        case .dailyLimit(let limit): APIError(.tooManyRequests, "bargain.daily_limit", .init("今天的助力次数已用完（每天 \(limit) 次）", "No cuts left today (\(limit) a day)"))
        case .finished: APIError(.conflict, "bargain.finished", .init("已经砍到底价了", "The bargain has reached its lowest price"))
        case .notOpen: APIError(.conflict, "bargain.closed", .init("该砍价已结束或已下单", "This bargain has ended or been ordered"))
        case .changed: APIError(.conflict, "bargain.changed", .init("价格刚刚又被砍了一刀，请确认新价格后再下单", "The price was just cut again; check the new price and order again"))
        case .notRunning: APIError(.conflict, "bargain.not_running", .init("砍价活动未开始或已结束", "This bargain activity is not running"))
        case .deviceMissing: APIError(.badRequest, "bargain.device_missing", .init("无法识别设备，请在浏览器中打开", "The device could not be recognised; open the page in a browser"))
        }
    }
}

extension Application {
    private struct BargainRandomKey: StorageKey { typealias Value = @Sendable () -> any RandomNumberGenerator }

    /// Where cut amounts come from: the system's generator; tests put a seeded one here.
    var bargainRandom: @Sendable () -> any RandomNumberGenerator {
        get { storage[BargainRandomKey.self] ?? { SystemRandomNumberGenerator() } }
        set { storage[BargainRandomKey.self] = newValue }
    }
}

/// An existential generator passed where MallCore takes `some RandomNumberGenerator`.
struct AnyRandom: RandomNumberGenerator {
    var base: any RandomNumberGenerator
    mutating func next() -> UInt64 { base.next() }
}

struct BargainService {
    let db: any Database
    let now: Date

    static let maxName = 40
    static let maxDailyLimit = 100

    func create(_ input: BargainInput, merchantID: UUID?) async throws -> BargainActivity {
        let activity = try await built(input, merchantID: merchantID)
        try await activity.create(on: db)
        return activity
    }

    /// 修改活动. Before it starts every field may change. Once it has started, bargains under way
    /// follow its floor, cuts and limits, so only the name, the end time (not before now) and the
    /// commission switch change; anything else is a 409 that changes nothing.
    func update(_ id: UUID, _ input: BargainInput, merchantID: UUID?) async throws -> BargainActivity {
        try await lockRow(BargainActivity.schema, id, on: db)
        guard let activity = try await BargainActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue else {
            throw APIError(.conflict, "bargain.stopped", .init("该活动已停止，不能再修改", "This activity is stopped and cannot be changed"))
        }
        try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
        let edited = try await built(input, merchantID: activity.merchantID)
        let sameTerms = edited.skuID == activity.skuID && edited.floorPrice == activity.floorPrice && edited.maxCuts == activity.maxCuts
            && edited.durationSeconds == activity.durationSeconds && edited.newMemberDouble == activity.newMemberDouble
            && edited.dailyCutLimit == activity.dailyCutLimit && abs(edited.startsAt.timeIntervalSince(activity.startsAt)) < 1
        if activity.startsAt <= now, !sameTerms {
            throw APIError(.conflict, "bargain.terms_locked", .init("活动已开始，只能修改名称、结束时间和是否计佣",
                                                                    "The activity has started: only its name, end time and commission switch can change"))
        }
        activity.name = edited.name
        activity.productID = edited.productID
        activity.skuID = edited.skuID
        activity.shopID = edited.shopID
        activity.floorPrice = edited.floorPrice
        activity.maxCuts = edited.maxCuts
        activity.durationSeconds = edited.durationSeconds
        activity.newMemberDouble = edited.newMemberDouble
        activity.dailyCutLimit = edited.dailyCutLimit
        activity.startsAt = edited.startsAt
        activity.endsAt = edited.endsAt
        activity.paysCommission = edited.paysCommission
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// A new, unsaved activity from the input, or the reasons it cannot be one.
    private func built(_ input: BargainInput, merchantID: UUID?) async throws -> BargainActivity {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写活动名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        let (start, end) = ActivityDates.parse(input.startsAt, input.endsAt, now: now, issue: issue)
        let sku = try await Sku.find(input.skuId, on: db)
        if sku == nil || (merchantID != nil && sku?.merchantID != merchantID) { issue("skuId", "商品规格不存在", "No such SKU") }
        if let sku, input.floorPriceFen < 0 || input.floorPriceFen >= sku.price {
            issue("floorPriceFen", "底价应不低于 0 且低于原价 \(Money(fen: sku.price).formatted(.zhHans))", "The floor price must be 0 or more and below \(Money(fen: sku.price).formatted(.en))")
        }
        if !(1...BargainRule.maxCutsAllowed).contains(input.maxCuts) { issue("maxCuts", "最多刀数应为 1 到 \(BargainRule.maxCutsAllowed)", "maxCuts must be 1 to \(BargainRule.maxCutsAllowed)") }
        let minutes = input.durationMinutes ?? 1_440
        if !(1...(7 * 1_440)).contains(minutes) { issue("durationMinutes", "砍价时限应为 1 分钟到 7 天", "durationMinutes must be 1 to 10 080") }
        let limit = input.dailyCutLimit ?? 3
        if !(1...Self.maxDailyLimit).contains(limit) { issue("dailyCutLimit", "每日助力次数应为 1 到 \(Self.maxDailyLimit)", "dailyCutLimit must be 1 to \(Self.maxDailyLimit)") }
        guard issues.isEmpty, let sku, let start, let end else { throw APIError.validation(issues) }
        _ = try BargainRule(startPrice: Money(fen: sku.price), floorPrice: Money(fen: input.floorPriceFen), maxCuts: input.maxCuts)
        let activity = BargainActivity()
        activity.name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        activity.productID = sku.$product.id
        activity.skuID = input.skuId
        activity.shopID = sku.merchantID
        activity.floorPrice = input.floorPriceFen
        activity.maxCuts = input.maxCuts
        activity.durationSeconds = minutes * 60
        activity.newMemberDouble = input.newMemberCountsDouble ?? false
        activity.dailyCutLimit = limit
        activity.startsAt = start
        activity.endsAt = end
        activity.owner = merchantID == nil ? "platform" : "merchant"
        activity.merchantID = merchantID
        activity.status = PromotionStatus.active.rawValue
        activity.paysCommission = input.paysCommission ?? ActivityKind.bargain.paysCommissionByDefault
        activity.createdAt = now
        activity.updatedAt = now
        return activity
    }

    func setStatus(_ id: UUID, to status: PromotionStatus, merchantID: UUID?) async throws -> BargainActivity {
        guard let activity = try await BargainActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue || status == .stopped else {
            throw APIError(.conflict, "bargain.stopped", .init("该活动已停止，不能再启用", "This activity is stopped and cannot be resumed"))
        }
        activity.status = status.rawValue
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    static func isRunning(_ activity: BargainActivity, now: Date) -> Bool {
        activity.status == PromotionStatus.active.rawValue && activity.startsAt <= now && now < activity.endsAt
    }

    static func rule(_ bargain: BargainRecord, _ activity: BargainActivity) throws(MarketingError) -> BargainRule {
        try BargainRule(startPrice: Money(fen: bargain.startPrice), floorPrice: Money(fen: bargain.floorPrice), maxCuts: activity.maxCuts,
                        newMemberCountsDouble: activity.newMemberDouble)
    }

    static func exclusive(_ activity: BargainActivity, price: Int64) throws -> ExclusiveActivity {
        let payer: DiscountPayer = activity.owner == "merchant" ? activity.merchantID.map { .merchant($0) } ?? .platform : .platform
        return ExclusiveActivity(kind: .bargain, id: try activity.requireID().uuidString.lowercased(), paysCommission: activity.paysCommission,
                                 price: Money(fen: price), payer: payer, name: activity.name)
    }

    /// Starts the member's bargain, or gives back the one they have running in this activity.
    func start(activityID: UUID, memberID: UUID) async throws -> BargainRecord {
        guard let activity = try await BargainActivity.find(activityID, on: db) else { throw APIError.notFound }
        guard Self.isRunning(activity, now: now) else { throw BargainRefusal.notRunning }
        if let running = try await BargainRecord.query(on: db).filter(\.$activityID == activityID).filter(\.$memberID == memberID)
            .filter(\.$status ~~ ["open", "ordered"]).filter(\.$expiresAt > now).first() { return running }
        guard let sku = try await Sku.find(activity.skuID, on: db) else { throw BargainRefusal.notRunning }
        let rule = try BargainRule(startPrice: Money(fen: sku.price), floorPrice: Money(fen: min(activity.floorPrice, max(0, sku.price - 1))),
                                   maxCuts: activity.maxCuts, newMemberCountsDouble: activity.newMemberDouble)
        let state = BargainState.start(rule)
        let bargain = BargainRecord()
        bargain.activityID = activityID
        bargain.memberID = memberID
        bargain.skuID = activity.skuID
        bargain.startPrice = rule.startPrice.fen
        bargain.floorPrice = rule.floorPrice.fen
        bargain.currentPrice = state.currentPrice.fen
        bargain.cutsLeft = state.cutsLeft
        bargain.helpers = 0
        bargain.status = "open"
        bargain.expiresAt = min(now.addingTimeInterval(TimeInterval(activity.durationSeconds)), activity.endsAt)
        bargain.createdAt = now
        bargain.updatedAt = now
        try await bargain.create(on: db)
        return bargain
    }

    /// One helper's cut. The bargain's row is locked (PostgreSQL) and moved by a conditional update
    /// on the price and cuts it was read with; one cut per member (unique index) and per device,
    /// the activity's daily limit per helper, and the farming guard's daily limits per device and
    /// address (which leave a `farm_events` row).
    func cut(_ bargainID: UUID, helperID: UUID, client: FarmClient, random: inout some RandomNumberGenerator) async throws -> BargainCut {
        let device = client.device
        guard !device.isEmpty else { throw BargainRefusal.deviceMissing }
        try await lockRow(BargainRecord.schema, bargainID, on: db)
        guard let bargain = try await BargainRecord.find(bargainID, on: db), let activity = try await BargainActivity.find(bargain.activityID, on: db) else {
            throw APIError.notFound
        }
        guard bargain.memberID != helperID else { throw BargainRefusal.ownBargain }
        guard bargain.status == "open", now < bargain.expiresAt, activity.status != PromotionStatus.stopped.rawValue else { throw BargainRefusal.notOpen }
        guard bargain.currentPrice > bargain.floorPrice, bargain.cutsLeft > 0 else { throw BargainRefusal.finished }
        let cuts = BargainCut.query(on: db)
        if try await cuts.filter(\.$bargainID == bargainID).filter(\.$helperMemberID == helperID).first() != nil { throw BargainRefusal.alreadyCut }
        if try await BargainCut.query(on: db).filter(\.$bargainID == bargainID).filter(\.$device == device).first() != nil { throw BargainRefusal.deviceUsed }
        let day = CommissionSettlement.period("daily", of: now).label
        let byHelper = try await BargainCut.query(on: db).filter(\.$activityID == activity.requireID()).filter(\.$helperMemberID == helperID).filter(\.$day == day).count()
        guard byHelper < activity.dailyCutLimit else { throw BargainRefusal.dailyLimit(activity.dailyCutLimit) }
        let farming = FarmingGuardService(db: db, now: now)
        let admission = try await farming.admitCut(helperID: helperID, client: client)
        let isNew = try await CouponService(db: db, now: now).isNewMember(helperID)
        let rule = try Self.rule(bargain, activity)
        let (amount, next) = try Bargain.cut(rule, bargain.state, helperIsNewMember: isNew, using: &random)
        let moved = try await sqlDatabase(db).raw("""
            UPDATE bargains SET current_price = \(bind: next.currentPrice.fen), cuts_left = \(bind: next.cutsLeft), helpers = \(bind: next.helpers),
              updated_at = \(bind: now)
            WHERE id = \(bind: bargainID) AND status = 'open' AND current_price = \(bind: bargain.currentPrice) AND cuts_left = \(bind: bargain.cutsLeft)
              AND current_price - \(bind: amount.fen) >= floor_price RETURNING id
            """).all()
        guard !moved.isEmpty else { throw BargainRefusal.changed }
        let cut = BargainCut()
        cut.id = UUID()
        cut.bargainID = bargainID
        cut.activityID = try activity.requireID()
        cut.helperMemberID = helperID
        cut.device = device
        cut.day = day
        cut.amount = amount.fen
        cut.countedDouble = isNew && activity.newMemberDouble
        cut.createdAt = now
        try await cut.create(on: db)
        try await farming.record(admission, source: "cut", refID: try cut.requireID())
        return cut
    }

    func results(_ activity: BargainActivity, _ locale: MallLocale) async throws -> BargainResultsDTO {
        let id = try activity.requireID()
        let sql = try sqlDatabase(db)
        let rows = try await sql.raw("SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM bargains WHERE activity_id = \(bind: id) GROUP BY status").all()
        var counts: [String: Int64] = [:]
        for row in rows { counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int64.self) }
        let cuts = try await BargainCut.query(on: db).filter(\.$activityID == id).count()
        let sales = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(o.payable - o.refunded_amount), 0) AS BIGINT) AS amount FROM bargains b JOIN orders o ON o.id = b.order_id
            WHERE b.activity_id = \(bind: id) AND b.status = 'paid'
            """).first()
        let cost = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(d.amount - d.reversed_amount), 0) AS BIGINT) AS amount FROM order_line_discounts d
            JOIN bargains b ON b.order_id = d.order_id
            WHERE d.source_kind = 'bargain' AND d.source_id = \(bind: id.uuidString.lowercased()) AND b.status = 'paid'
            """).first()
        return BargainResultsDTO(activityId: id, started: counts.values.reduce(0, +), open: counts["open"] ?? 0, paid: counts["paid"] ?? 0,
                                 expired: counts["expired"] ?? 0, cuts: Int64(cuts),
                                 sales: MoneyDTO(Money(fen: try sales?.decode(column: "amount", as: Int64.self) ?? 0), locale),
                                 discountCost: MoneyDTO(Money(fen: try cost?.decode(column: "amount", as: Int64.self) ?? 0), locale))
    }
}
