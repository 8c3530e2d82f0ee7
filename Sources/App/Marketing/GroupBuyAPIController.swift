import Fluent
import Foundation
import MallCore
import Vapor

/// Group buys and bargains under `/api/v1`: the operator's (`/admin/group-buys`,
/// `/admin/bargains`), a shop's (`/merchant/…`), the running activities, a group, and a buyer's
/// bargains. Opening and joining a group, and paying a bargain, go through `/checkout` with
/// `groupBuy` or `bargainId`.
struct GroupBuyAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        for (prefix, shop) in [("admin", false), ("merchant", true)] {
            let groups = routes.grouped(PathComponent(stringLiteral: prefix), "group-buys")
            groups.get { req in try await self.listGroupBuys(req, shop: shop) }
            groups.post { req in try await self.createGroupBuy(req, shop: shop) }
            groups.put(":activityID") { req in try await self.updateGroupBuy(req, shop: shop) }
            groups.get(":activityID", "results") { req in try await self.groupBuyResults(req, shop: shop) }
            for (action, status) in [("pause", PromotionStatus.paused), ("resume", .active), ("stop", .stopped)] {
                groups.post(":activityID", PathComponent(stringLiteral: action)) { req in try await self.setGroupBuyStatus(req, status, shop: shop) }
            }
            let bargains = routes.grouped(PathComponent(stringLiteral: prefix), "bargains")
            bargains.get { req in try await self.listBargains(req, shop: shop) }
            bargains.post { req in try await self.createBargain(req, shop: shop) }
            bargains.put(":activityID") { req in try await self.updateBargain(req, shop: shop) }
            bargains.get(":activityID", "results") { req in try await self.bargainResults(req, shop: shop) }
            for (action, status) in [("pause", PromotionStatus.paused), ("resume", .active), ("stop", .stopped)] {
                bargains.post(":activityID", PathComponent(stringLiteral: action)) { req in try await self.setBargainStatus(req, status, shop: shop) }
            }
        }
        routes.get("group-buys", use: runningGroupBuys)
        routes.get("group-buys", "groups", ":groupID", use: group)
        routes.get("group-buys", ":activityID", "groups", use: openGroups)
        routes.get("bargain-activities", use: runningBargains)
        routes.post("bargains", use: startBargain)
        routes.get("bargains", ":bargainID", use: bargain)
        routes.post("bargains", ":bargainID", "cut", use: cut)
    }

    static let listLimit = 200

    private func staff(_ req: Request, shop: Bool) throws -> (StaffUser, UUID?) {
        if shop { return (try req.requireStaff(.manageShop), try req.merchantScope(.manageShop).merchantID) }
        return (try req.requireStaff(.manageMarketing), nil)
    }

    private func viewer(_ req: Request, shop: Bool) throws -> UUID? {
        if shop { return try req.merchantScope().merchantID }
        _ = try req.requireStaff(.manageMarketing)
        return nil
    }

    // MARK: group buys, consoles

    func listGroupBuys(_ req: Request, shop: Bool) async throws -> [GroupBuyActivityDTO] {
        var query = GroupBuyActivity.query(on: req.db)
        if let merchantID = try viewer(req, shop: shop) { query = query.filter(\.$merchantID == merchantID) }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all().map { try GroupBuyActivityDTO($0, req.locale) }
    }

    func createGroupBuy(_ req: Request, shop: Bool) async throws -> Response {
        let (actor, merchantID) = try staff(req, shop: shop)
        let input = try req.content.decode(GroupBuyInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await GroupBuyService(db: db, now: now).create(input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "group_buy.create", target: activity.requireID().uuidString, ip: ip, at: now)
            return activity
        }
        return try await GroupBuyActivityDTO(activity, req.locale).encodeResponse(status: .created, for: req)
    }

    /// The whole activity, as for creating it (`GroupBuyService.update` says what may change).
    func updateGroupBuy(_ req: Request, shop: Bool) async throws -> GroupBuyActivityDTO {
        let (actor, merchantID) = try staff(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        let input = try req.content.decode(GroupBuyInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await GroupBuyService(db: db, now: now).update(id, input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "group_buy.update", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try GroupBuyActivityDTO(activity, req.locale)
    }

    func setGroupBuyStatus(_ req: Request, _ status: PromotionStatus, shop: Bool) async throws -> GroupBuyActivityDTO {
        let (actor, merchantID) = try staff(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await GroupBuyService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "group_buy.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try GroupBuyActivityDTO(activity, req.locale)
    }

    func groupBuyResults(_ req: Request, shop: Bool) async throws -> GroupBuyResultsDTO {
        let merchantID = try viewer(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        guard let activity = try await GroupBuyActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        return try await GroupBuyService(db: req.db, now: req.now).results(activity, req.locale)
    }

    // MARK: group buys, buyers

    @Sendable func runningGroupBuys(req: Request) async throws -> [GroupBuyActivityDTO] {
        let now = req.now
        return try await GroupBuyActivity.query(on: req.db).filter(\.$status == PromotionStatus.active.rawValue).filter(\.$startsAt <= now)
            .filter(\.$endsAt > now).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all().map { try GroupBuyActivityDTO($0, req.locale) }
    }

    /// Groups of one activity still open to join (去参团), soonest deadline first, at most 20.
    @Sendable func openGroups(req: Request) async throws -> [GroupBuyGroupDTO] {
        let activityID = try req.uuidParameter("activityID")
        guard try await GroupBuyActivity.find(activityID, on: req.db) != nil else { throw APIError.notFound }
        let groups = try await GroupBuyGroup.query(on: req.db).filter(\.$activityID == activityID)
            .filter(\.$status == GroupStatus.open.rawValue).filter(\.$deadline > req.now).sort(\.$deadline).sort(\.$id).limit(20).all()
        var views: [GroupBuyGroupDTO] = []
        for group in groups { views.append(try await ActivityViews.group(group, req)) }
        return views
    }

    @Sendable func group(req: Request) async throws -> GroupBuyGroupDTO {
        guard let group = try await GroupBuyGroup.find(try req.uuidParameter("groupID"), on: req.db) else { throw APIError.notFound }
        return try await ActivityViews.group(group, req)
    }

    // MARK: bargains, consoles

    func listBargains(_ req: Request, shop: Bool) async throws -> [BargainActivityDTO] {
        var query = BargainActivity.query(on: req.db)
        if let merchantID = try viewer(req, shop: shop) { query = query.filter(\.$merchantID == merchantID) }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all().map { try BargainActivityDTO($0, req.locale) }
    }

    func createBargain(_ req: Request, shop: Bool) async throws -> Response {
        let (actor, merchantID) = try staff(req, shop: shop)
        let input = try req.content.decode(BargainInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await BargainService(db: db, now: now).create(input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "bargain.create", target: activity.requireID().uuidString, ip: ip, at: now)
            return activity
        }
        return try await BargainActivityDTO(activity, req.locale).encodeResponse(status: .created, for: req)
    }

    /// The whole activity, as for creating it (`BargainService.update` says what may change).
    func updateBargain(_ req: Request, shop: Bool) async throws -> BargainActivityDTO {
        let (actor, merchantID) = try staff(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        let input = try req.content.decode(BargainInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await BargainService(db: db, now: now).update(id, input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "bargain.update", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try BargainActivityDTO(activity, req.locale)
    }

    func setBargainStatus(_ req: Request, _ status: PromotionStatus, shop: Bool) async throws -> BargainActivityDTO {
        let (actor, merchantID) = try staff(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await BargainService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "bargain.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try BargainActivityDTO(activity, req.locale)
    }

    func bargainResults(_ req: Request, shop: Bool) async throws -> BargainResultsDTO {
        let merchantID = try viewer(req, shop: shop)
        let id = try req.uuidParameter("activityID")
        guard let activity = try await BargainActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        return try await BargainService(db: req.db, now: req.now).results(activity, req.locale)
    }

    // MARK: bargains, buyers

    @Sendable func runningBargains(req: Request) async throws -> [BargainActivityDTO] {
        let now = req.now
        return try await BargainActivity.query(on: req.db).filter(\.$status == PromotionStatus.active.rawValue).filter(\.$startsAt <= now)
            .filter(\.$endsAt > now).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all().map { try BargainActivityDTO($0, req.locale) }
    }

    @Sendable func startBargain(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(BargainStartInput.self)
        let now = req.now
        let bargain = try await req.writeTransaction { db in
            try await BargainService(db: db, now: now).start(activityID: input.activityId, memberID: memberID)
        }
        return try await ActivityViews.bargain(bargain, req).encodeResponse(status: bargain.createdAt == now ? .created : .ok, for: req)
    }

    @Sendable func bargain(req: Request) async throws -> BargainDTO {
        guard let bargain = try await BargainRecord.find(try req.uuidParameter("bargainID"), on: req.db) else { throw APIError.notFound }
        return try await ActivityViews.bargain(bargain, req)
    }

    /// A helper's cut; the device is the `X-Device-Id` header (apps) or the visitor cookie (pages).
    @Sendable func cut(req: Request) async throws -> BargainDTO {
        let memberID = try req.requireMember().requireID()
        let bargainID = try req.uuidParameter("bargainID")
        let bargain = try await Self.cut(req, bargainID: bargainID, helperID: memberID)
        return try await ActivityViews.bargain(bargain, req)
    }

    static func cut(_ req: Request, bargainID: UUID, helperID: UUID) async throws -> BargainRecord {
        let client = FarmClient(req)
        let now = req.now
        let random = req.application.bargainRandom
        return try await req.writeTransaction { db in
            var rng = AnyRandom(base: random())
            _ = try await BargainService(db: db, now: now).cut(bargainID, helperID: helperID, client: client, random: &rng)
            guard let fresh = try await BargainRecord.find(bargainID, on: db) else { throw APIError.notFound }
            return fresh
        }
    }
}
