import Fluent
import Foundation
import MallCore
import Vapor

/// Promotions under `/api/v1`: the operator's (`/admin/promotions`), a shop's
/// (`/merchant/promotions`) and the public list of running ones (`/promotions`).
struct PromotionAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin", "promotions")
        admin.get(use: adminList)
        admin.post(use: adminCreate)
        admin.put(":promotionID") { req in try await self.update(req, shop: false) }
        admin.post(":promotionID", "pause", use: adminPause)
        admin.post(":promotionID", "resume", use: adminResume)
        admin.post(":promotionID", "stop", use: adminStop)
        admin.get(":promotionID", "results") { req in try await self.results(req, shop: false) }

        let shop = routes.grouped("merchant", "promotions")
        shop.get(use: shopList)
        shop.post(use: shopCreate)
        shop.put(":promotionID") { req in try await self.update(req, shop: true) }
        shop.post(":promotionID", "pause", use: shopPause)
        shop.post(":promotionID", "resume", use: shopResume)
        shop.post(":promotionID", "stop", use: shopStop)
        shop.get(":promotionID", "results") { req in try await self.results(req, shop: true) }

        routes.get("promotions", use: running)
    }

    static let listLimit = 200

    // MARK: operator

    @Sendable func adminList(req: Request) async throws -> [PromotionDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await PromotionActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.listLimit).all()
            .map { try PromotionDTO($0, req.locale) }
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        return try await create(req, merchantID: nil, actor: staff)
    }

    @Sendable func adminPause(req: Request) async throws -> PromotionDTO { try await setStatus(req, .paused, shop: false) }
    @Sendable func adminResume(req: Request) async throws -> PromotionDTO { try await setStatus(req, .active, shop: false) }
    @Sendable func adminStop(req: Request) async throws -> PromotionDTO { try await setStatus(req, .stopped, shop: false) }

    // MARK: shop

    @Sendable func shopList(req: Request) async throws -> [PromotionDTO] {
        let scope = try req.merchantScope()
        return try await PromotionActivity.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$createdAt, .descending).sort(\.$id)
            .limit(Self.listLimit).all().map { try PromotionDTO($0, req.locale) }
    }

    @Sendable func shopCreate(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        return try await create(req, merchantID: scope.merchantID, actor: try req.requireStaff(.manageShop))
    }

    @Sendable func shopPause(req: Request) async throws -> PromotionDTO { try await setStatus(req, .paused, shop: true) }
    @Sendable func shopResume(req: Request) async throws -> PromotionDTO { try await setStatus(req, .active, shop: true) }
    @Sendable func shopStop(req: Request) async throws -> PromotionDTO { try await setStatus(req, .stopped, shop: true) }

    // MARK: public

    /// The activities running now, for the activity page.
    @Sendable func running(req: Request) async throws -> [PromotionDTO] {
        try await PromotionService(db: req.db, now: req.now).active().map { try PromotionDTO($0, req.locale) }
    }

    // MARK: shared

    /// Orders, sales and the cost of savings; another shop's activity is 404.
    func results(_ req: Request, shop: Bool) async throws -> ActivityResultsDTO {
        let merchantID: UUID? = shop ? try req.merchantScope().merchantID : nil
        if !shop { _ = try req.requireStaff(.manageMarketing) }
        let id = try req.uuidParameter("promotionID")
        guard let activity = try await PromotionActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else {
            throw APIError.notFound
        }
        return try await ActivityResults.promotion(activity, on: req.db, locale: req.locale)
    }

    private func create(_ req: Request, merchantID: UUID?, actor: StaffUser) async throws -> Response {
        let input = try req.content.decode(PromotionInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await PromotionService(db: db, now: now).create(input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: actor, action: "promotion.create", target: activity.requireID().uuidString, ip: ip, at: now)
            return activity
        }
        return try await PromotionDTO(activity, req.locale).encodeResponse(status: .created, for: req)
    }

    /// The whole activity, as for creating it (`PromotionService.update` says what may change).
    func update(_ req: Request, shop: Bool) async throws -> PromotionDTO {
        let (staff, merchantID) = try Self.manager(req, shop: shop)
        let id = try req.uuidParameter("promotionID")
        let input = try req.content.decode(PromotionInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await PromotionService(db: db, now: now).update(id, input, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "promotion.update", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try PromotionDTO(activity, req.locale)
    }

    /// Who changes an activity: a shop's staff who manage it (their shop's only) or the operator.
    static func manager(_ req: Request, shop: Bool) throws -> (StaffUser, UUID?) {
        if shop { return (try req.requireStaff(.manageShop), try req.merchantScope(.manageShop).merchantID) }
        return (try req.requireStaff(.manageMarketing), nil)
    }

    private func setStatus(_ req: Request, _ status: PromotionStatus, shop: Bool) async throws -> PromotionDTO {
        let (staff, merchantID) = try Self.manager(req, shop: shop)
        let id = try req.uuidParameter("promotionID")
        let (now, ip) = (req.now, req.clientIP)
        let activity = try await req.writeTransaction { db in
            let activity = try await PromotionService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
            try await AuditLog.record(on: db, actor: staff, action: "promotion.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            return activity
        }
        return try PromotionDTO(activity, req.locale)
    }
}
