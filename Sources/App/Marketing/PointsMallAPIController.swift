import Fluent
import Foundation
import MallCore
import Vapor

/// The points mall under `/api/v1`: the public list, a member's redemptions and the operator's items.
struct PointsMallAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("points-mall", "items", use: list)
        routes.post("points-mall", "items", ":itemID", "redeem", use: redeem)
        routes.get("points-mall", "redemptions", use: redemptions)

        let admin = routes.grouped("admin", "points-mall", "items")
        admin.get(use: adminList)
        admin.post(use: adminCreate)
        for action in PointsMallAction.allCases {
            admin.post(":itemID", PathComponent(stringLiteral: action.rawValue)) { req in try await self.apply(req, action) }
        }
    }

    // MARK: member

    @Sendable func list(req: Request) async throws -> [PointsMallItemDTO] {
        try await PointsMallQueries.listed(on: req.db, now: req.now, locale: req.locale, storage: req.application.imageStorage)
    }

    /// One unit for points, once per `Idempotency-Key` (a repeat answers 200 with the first
    /// redemption). 409 with the reason — too few points, sold out, over the limit, paused or
    /// outside its window, or the coupon's own limits — and nothing changes.
    @Sendable func redeem(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let itemID = try req.uuidParameter("itemID")
        let key = try OrderAPIController.idempotencyKey(req) ?? UUID().uuidString
        let (dto, replayed) = try await Self.redeem(req, itemID: itemID, memberID: memberID, key: key, now: req.now)
        return try await dto.encodeResponse(status: replayed ? .ok : .created, for: req)
    }

    static func redeem(_ req: Request, itemID: UUID, memberID: UUID, key: String, now: Date) async throws -> (PointsMallRedemptionDTO, Bool) {
        let (redemption, replayed) = try await req.writeTransaction { db in
            try await PointsMallService(db: db, now: now).redeem(itemID: itemID, memberID: memberID, key: key)
        }
        let name = try await PointsMallItem.find(redemption.itemID, on: req.db)?.name ?? ""
        let left = try await PointsService(db: req.db, now: now).usableBalance(memberID)
        return (try PointsMallQueries.dto(redemption, name: name, pointsLeft: left), replayed)
    }

    @Sendable func redemptions(req: Request) async throws -> [PointsMallRedemptionDTO] {
        let memberID = try req.requireMember().requireID()
        return try await PointsMallQueries.redemptions(memberID: memberID, on: req.db, now: req.now)
    }

    // MARK: operator

    @Sendable func adminList(req: Request) async throws -> [PointsMallItemDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await PointsMallQueries.all(on: req.db, locale: req.locale, storage: req.application.imageStorage)
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        let input = try req.content.decode(PointsMallItemInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let item = try await req.writeTransaction { db in
            let item = try await PointsMallService(db: db, now: now).create(input)
            try await AuditLog.record(on: db, actor: staff, action: "points_mall.create", target: item.requireID().uuidString, ip: ip, at: now)
            return item
        }
        let dto = try await PointsMallQueries.dtos([item], on: req.db, locale: req.locale, storage: req.application.imageStorage)
        guard let first = dto.first else { throw APIError.notFound }
        return try await first.encodeResponse(status: .created, for: req)
    }

    func apply(_ req: Request, _ action: PointsMallAction) async throws -> PointsMallItemDTO {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("itemID")
        let (now, ip) = (req.now, req.clientIP)
        let item = try await req.writeTransaction { db in
            let item = try await PointsMallService(db: db, now: now).apply(action, to: id)
            try await AuditLog.record(on: db, actor: staff, action: "points_mall.\(action.rawValue)", target: id.uuidString, ip: ip, at: now)
            return item
        }
        guard let dto = try await PointsMallQueries.dtos([item], on: req.db, locale: req.locale, storage: req.application.imageStorage).first else {
            throw APIError.notFound
        }
        return dto
    }
}
