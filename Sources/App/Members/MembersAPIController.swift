import Fluent
import Foundation
import MallCore
import Vapor

struct MemberLevelDTO: Content {
    let id: String
    let name: String
    let minimumGrowth: Int64
    let discountBP: Int
    let pointsPerYuan: Int64
    let perks: [String]

    init(_ level: MemberLevel) {
        id = level.id
        name = level.name
        minimumGrowth = level.minimumGrowth
        discountBP = level.discount.value
        pointsPerYuan = level.pointsPerYuan
        perks = level.perks.map(\.rawValue).sorted()
    }
}

struct PointMovementDTO: Content {
    let delta: Int64
    let reason: String
    let reasonText: String
    let createdAt: Date
}

/// 我的积分: the usable points, growth and level, the next level, today's sign-in and the latest changes.
struct MemberPointsDTO: Content {
    let points: Int64
    let growth: Int64
    let level: MemberLevelDTO
    let nextLevel: MemberLevelDTO?
    let growthToNextLevel: Int64?
    let signedInToday: Bool
    let signInPoints: Int64
    /// How points pay at checkout, e.g. "100 积分抵 ¥1.00".
    let rate: String
    let movements: [PointMovementDTO]
}

struct SignInResultDTO: Content {
    let awarded: Int64
    let points: Int64
}

enum MemberPointsText {
    static func reason(_ raw: String, _ locale: MallLocale) -> String {
        switch PointsReason(rawValue: raw) {
        case .order: LocalizedText("订单完成", "Order completed")(locale)
        case .signIn: LocalizedText("每日签到", "Daily sign-in")(locale)
        case .review: LocalizedText("评价奖励", "Review")(locale)
        case .spend: LocalizedText("下单抵扣", "Spent at checkout")(locale)
        case .refundReturn: LocalizedText("退款退回", "Returned with a refund")(locale)
        case .expiry: LocalizedText("积分过期", "Expired")(locale)
        case .clawback: LocalizedText("退款扣回", "Taken back with a refund")(locale)
        case .adjustment: LocalizedText("平台调整", "Adjusted by the mall")(locale)
        case .mallRedeem: LocalizedText("积分兑换", "Redeemed in the points mall")(locale)
        case .mallReturn: LocalizedText("积分兑换退回", "Returned from the points mall")(locale)
        case nil: raw
        }
    }

    static func rate(_ config: MembersConfig, _ locale: MallLocale) -> String {
        let yuan = Money(fen: config.points.fen).decimalString
        return LocalizedText("\(config.points.points) 积分抵 ¥\(yuan)", "\(config.points.points) points pay ¥\(yuan)")(locale)
    }
}

/// Points and levels under `/api/v1`: the member's own (`/me/points`, daily sign-in) and the
/// operator's settings (`/admin/members/settings`).
struct MembersAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("me", "points", use: mine)
        routes.post("me", "points", "sign-in", use: signIn)
        routes.get("admin", "members", "settings", use: settings)
        routes.put("admin", "members", "settings", use: saveSettings)
        routes.post("admin", "members", ":memberID", "points", use: adjust)
    }

    /// The operator adds or takes points with a reason (平台调整). Taking more than the member holds
    /// is a 409 and changes nothing; with an `Idempotency-Key` a repeat changes nothing either.
    @Sendable func adjust(req: Request) async throws -> MemberPointsDTO {
        let staff = try req.requireStaff(.manageMarketing)
        let memberID = try req.uuidParameter("memberID")
        let input = try req.content.decode(PointsAdjustmentInput.self)
        var issues: [APIError.FieldIssue] = []
        // Compared without abs(): abs(Int64.min) would trap.
        if input.delta == 0 || input.delta > PointsAdjustmentInput.maxDelta || input.delta < -PointsAdjustmentInput.maxDelta {
            issues.append(.init("delta", .init("调整积分应为 ±1 到 ±\(PointsAdjustmentInput.maxDelta)", "delta must be ±1 to ±\(PointsAdjustmentInput.maxDelta)")))
        }
        if !TextLength.isFilled(input.reason, max: 100) { issues.append(.init("reason", .init("请填写 1-100 字的原因", "Give a reason of 1–100 characters"))) }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let key = try OrderAPIController.idempotencyKey(req) ?? UUID().uuidString
        let ref = "adjust:\(memberID.uuidString.lowercased()):\(key)"
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            guard try await Member.find(memberID, on: db) != nil else { throw APIError.notFound }
            let points = PointsService(db: db, now: now)
            try await points.ensureAccount(memberID)
            try await lockRow(MemberPointsAccount.schema, memberID, on: db)
            guard try await PointMovementRecord.query(on: db).filter(\.$ref == ref).first() == nil else { return }
            if input.delta > 0 {
                try await points.earn(memberID, points: input.delta, reason: .adjustment, ref: ref, expiry: try await MembersConfig.load(on: db).expiry)
            } else {
                try await points.spend(memberID, points: -input.delta, ref: ref, reason: .adjustment)
            }
            try await AuditLog.record(on: db, actor: staff, action: "points.adjust", target: memberID.uuidString,
                                      detail: "\(input.delta) \(input.reason.trimmingCharacters(in: .whitespacesAndNewlines))", ip: ip, at: now)
        }
        return try await Self.summary(memberID: memberID, on: req.db, now: req.now, locale: req.locale)
    }

    static func summary(memberID: UUID, on db: any Database, now: Date, locale: MallLocale) async throws -> MemberPointsDTO {
        let config = try await MembersConfig.load(on: db)
        let service = PointsService(db: db, now: now)
        let (growth, level) = try await service.level(memberID, config: config)
        let book = try config.levelBook()
        let next = book.levels.first { $0.minimumGrowth > growth }
        let movements = try await PointMovementRecord.query(on: db).filter(\.$memberID == memberID)
            .sort(\.$createdAt, .descending).sort(\.$id).limit(50).all()
        return MemberPointsDTO(
            points: try await service.usableBalance(memberID), growth: growth, level: MemberLevelDTO(level),
            nextLevel: next.map(MemberLevelDTO.init), growthToNextLevel: next.map { $0.minimumGrowth - growth },
            signedInToday: try await PointMovementRecord.query(on: db).filter(\.$ref == PointsJobs.signInRef(memberID, now)).first() != nil,
            signInPoints: config.points.signIn, rate: MemberPointsText.rate(config, locale),
            movements: movements.map { PointMovementDTO(delta: $0.delta, reason: $0.reason, reasonText: MemberPointsText.reason($0.reason, locale),
                                                        createdAt: $0.createdAt) })
    }

    @Sendable func mine(req: Request) async throws -> MemberPointsDTO {
        let memberID = try req.requireMember().requireID()
        return try await Self.summary(memberID: memberID, on: req.db, now: req.now, locale: req.locale)
    }

    @Sendable func signIn(req: Request) async throws -> SignInResultDTO {
        let memberID = try req.requireMember().requireID()
        let awarded = try await PointsJobs.signIn(memberID, req: req)
        return SignInResultDTO(awarded: awarded, points: try await PointsService(db: req.db, now: req.now).usableBalance(memberID))
    }

    @Sendable func settings(req: Request) async throws -> MembersConfig {
        _ = try req.requireStaff(.manageMarketing)
        return try await MembersConfig.load(on: req.db)
    }

    @Sendable func saveSettings(req: Request) async throws -> MembersConfig {
        let staff = try req.requireStaff(.manageMarketing)
        let config = try req.content.decode(MembersConfig.self)
        try config.validate()
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await config.save(on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "members.settings", target: MembersConfig.recordName, ip: ip, at: now)
        }
        return config
    }
}

struct PointsAdjustmentInput: Content {
    /// Points to add (positive) or take (negative).
    let delta: Int64
    let reason: String

    static let maxDelta: Int64 = 1_000_000
}

/// What earns points outside checkout, and the jobs that keep them right.
enum PointsJobs {
    static func signInRef(_ memberID: UUID, _ now: Date) -> String {
        "sign_in:\(memberID.uuidString.lowercased()):\(CouponService.chinaDay(now))"
    }

    /// Today's sign-in points, once per China day (409 on a second sign-in).
    static func signIn(_ memberID: UUID, req: Request) async throws -> Int64 {
        let now = req.now
        let awarded = try await req.writeTransaction { db -> Int64? in
            let config = try await MembersConfig.load(on: db)
            let ref = signInRef(memberID, now)
            guard config.points.signIn > 0 else { return 0 }
            let earned = try await PointsService(db: db, now: now).earn(memberID, points: config.points.signIn, reason: .signIn, ref: ref, expiry: config.expiry)
            return earned > 0 ? earned : nil
        }
        guard let awarded else {
            throw APIError(.conflict, "points.signed_in", .init("今天已经签到过了，明天再来", "You have signed in today; come back tomorrow"))
        }
        return awarded
    }

    /// Points for a review, once per review.
    static func reviewed(_ reviewID: UUID, memberID: UUID, withPhotos: Bool, on db: any Database, now: Date) async throws {
        let config = try await MembersConfig.load(on: db)
        try await PointsService(db: db, now: now).earn(memberID, points: config.awards.forReview(withPhotos: withPhotos), reason: .review,
                                                      ref: "review:\(reviewID.uuidString.lowercased())", expiry: config.expiry)
    }

    /// A completed order earns points at the member's level and adds to growth; a refund lowers growth.
    static func register(_ app: Application) {
        app.outboxHandlers["order.completed", default: []].append(OutboxHandler(name: "points.earn") { message, db, now in
            guard let order = try await Order.find(message.subjectID, on: db) else { return }
            let config = try await MembersConfig.load(on: db)
            let service = PointsService(db: db, now: now)
            let level = try await service.level(order.memberID, config: config).level
            let points = level.pointsEarned(on: Money(fen: max(order.payable - order.refundedAmount, 0)))
            try await service.earn(order.memberID, points: points, reason: .order, ref: PointsService.earnRef(orderID: message.subjectID),
                                   expiry: config.expiry)
            try await service.recomputeGrowth(order.memberID, config: config)
        })
        app.outboxHandlers["order.refunded", default: []].append(OutboxHandler(name: "points.growth") { message, db, now in
            guard let orderID = UUID(uuidString: message.payload), let order = try await Order.find(orderID, on: db) else { return }
            try await PointsService(db: db, now: now).recomputeGrowth(order.memberID, config: try await MembersConfig.load(on: db))
        })
        app.outboxHandlers["order.refunded", default: []].append(OutboxHandler(name: "points.clawback") { message, db, now in
            guard let orderID = UUID(uuidString: message.payload), let order = try await Order.find(orderID, on: db) else { return }
            try await PointsService(db: db, now: now).clawBack(order: order)
        })
    }

    /// Expires the lots that are due, in batches, each in its own transaction.
    static func expire(_ app: Application) async throws -> Int64 {
        var total: Int64 = 0
        while true {
            let now = app.clock.now()
            let expired = try await app.writeGate.transaction(on: app.db) { db in
                try await PointsService(db: db, now: now).expireDue(limit: 200)
            }
            total += expired
            if expired == 0 { return total }
        }
    }
}
