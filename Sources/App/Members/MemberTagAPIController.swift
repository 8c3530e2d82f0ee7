import Fluent
import Foundation
import MallCore
import Vapor

/// Member tags (`/admin/member-tags`, the operator's; `/merchant/member-tags`, read-only for shops
/// to send coupons to), the member's birthday (`/me/birthday`) and the birthday coupon setting.
struct MemberTagAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let tags = routes.grouped("admin", "member-tags")
        tags.get(use: list)
        tags.post(use: create)
        tags.get(":tagID", use: show)
        tags.patch(":tagID", use: update)
        tags.delete(":tagID", use: deleteTag)
        tags.get(":tagID", "members", use: members)
        tags.post(":tagID", "members", use: addMembers)
        tags.delete(":tagID", "members", ":memberID", use: removeMember)
        tags.post(":tagID", "recompute", use: recompute)
        routes.get("merchant", "member-tags", use: shopList)

        routes.get("me", "birthday", use: birthday)
        routes.put("me", "birthday", use: setBirthday)
        routes.get("admin", "members", "birthday-settings", use: birthdaySettings)
        routes.put("admin", "members", "birthday-settings", use: saveBirthdaySettings)
        routes.delete("admin", "members", ":memberID", "birthday", use: resetBirthday)
    }

    static func allTags(on db: any Database, now: Date, locale: MallLocale) async throws -> [MemberTagDTO] {
        let service = MemberTagService(db: db, now: now)
        var result: [MemberTagDTO] = []
        for tag in try await MemberTag.query(on: db).sort(\.$createdAt, .descending).sort(\.$id).limit(MemberTagService.maxTags).all() {
            result.append(try await service.dto(tag, locale))
        }
        return result
    }

    @Sendable func list(req: Request) async throws -> [MemberTagDTO] {
        _ = try req.requireStaff(.manageMarketing)
        return try await Self.allTags(on: req.db, now: req.now, locale: req.locale)
    }

    /// A shop sees the tags (names, rules and sizes) to send its own coupons to; it cannot change them.
    @Sendable func shopList(req: Request) async throws -> [MemberTagDTO] {
        _ = try req.merchantScope()
        return try await Self.allTags(on: req.db, now: req.now, locale: req.locale)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let staff = try req.requireStaff(.manageMarketing)
        let input = try req.content.decode(MemberTagInput.self)
        let (now, ip, locale) = (req.now, req.clientIP, req.locale)
        let dto = try await req.writeTransaction { db in
            let service = MemberTagService(db: db, now: now)
            let tag = try await service.create(input)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.create", target: tag.requireID().uuidString, ip: ip, at: now)
            return try await service.dto(tag, locale)
        }
        return try await dto.encodeResponse(status: .created, for: req)
    }

    @Sendable func show(req: Request) async throws -> MemberTagDTO {
        _ = try req.requireStaff(.manageMarketing)
        guard let tag = try await MemberTag.find(try req.uuidParameter("tagID"), on: req.db) else { throw APIError.notFound }
        return try await MemberTagService(db: req.db, now: req.now).dto(tag, req.locale)
    }

    @Sendable func update(req: Request) async throws -> MemberTagDTO {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        let patch = try req.content.decode(MemberTagPatch.self)
        let (now, ip, locale) = (req.now, req.clientIP, req.locale)
        return try await req.writeTransaction { db in
            let service = MemberTagService(db: db, now: now)
            let tag = try await service.update(id, patch)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.update", target: id.uuidString, ip: ip, at: now)
            return try await service.dto(tag, locale)
        }
    }

    @Sendable func deleteTag(req: Request) async throws -> HTTPStatus {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await MemberTagService(db: db, now: now).delete(id)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.delete", target: id.uuidString, ip: ip, at: now)
        }
        return .noContent
    }

    @Sendable func members(req: Request) async throws -> MemberTagMembersPageDTO {
        _ = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        var issues: [APIError.FieldIssue] = []
        func number(_ name: String, _ range: ClosedRange<Int>, _ fallback: Int) -> Int {
            guard let text = req.query[String.self, at: name] else { return fallback }
            guard text.count <= 9, let value = Int(text), range.contains(value) else {
                issues.append(.init(name, .init("\(name) 应为 \(range.lowerBound) 到 \(range.upperBound) 的整数",
                                                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")))
                return fallback
            }
            return value
        }
        let limit = number("limit", 1...MemberTagService.maxPageLimit, 50)
        let offset = number("offset", 0...MemberTagService.maxOffset, 0)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return try await MemberTagService(db: req.db, now: req.now).members(id, limit: limit, offset: offset, cipher: req.personalData)
    }

    @Sendable func addMembers(req: Request) async throws -> MemberTagAddResultDTO {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        let input = try req.content.decode(MemberTagMembersInput.self)
        let ids = input.memberIds ?? []
        let phones = input.phones ?? []
        guard !ids.isEmpty || !phones.isEmpty else {
            throw APIError.validation([.init("memberIds", .init("请填写会员 ID 或手机号", "Give member ids or phone numbers"))])
        }
        for (field, count) in [("memberIds", ids.count), ("phones", phones.count)] where count > CouponService.maxRecipients {
            throw APIError.validation([.init(field, .init("一次最多 \(CouponService.maxRecipients) 个", "At most \(CouponService.maxRecipients) at a time"))])
        }
        var hashes: [(label: String, hash: String)] = []
        for (index, phone) in phones.enumerated() {
            guard phone.count <= 20, let number = PhoneNumber(phone) else {
                throw APIError.validation([.init("phones[\(index)]", .init("手机号格式不正确", "Not a valid phone number"))])
            }
            hashes.append((number.masked, req.personalData.lookupHash(number.digits)))
        }
        let (now, ip, phoneHashes) = (req.now, req.clientIP, hashes)
        return try await req.writeTransaction { db in
            let result = try await MemberTagService(db: db, now: now).add(id, memberIDs: ids, phoneHashes: phoneHashes)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.add", target: id.uuidString, detail: "\(result.added)", ip: ip, at: now)
            return result
        }
    }

    @Sendable func removeMember(req: Request) async throws -> HTTPStatus {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        let memberID = try req.uuidParameter("memberID")
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await MemberTagService(db: db, now: now).remove(id, memberID: memberID)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.remove", target: id.uuidString, detail: memberID.uuidString, ip: ip, at: now)
        }
        return .noContent
    }

    /// Recomputes a rule tag now (a manual tag is a 409).
    @Sendable func recompute(req: Request) async throws -> MemberTagRecomputeDTO {
        let staff = try req.requireStaff(.manageMarketing)
        let id = try req.uuidParameter("tagID")
        let (now, ip) = (req.now, req.clientIP)
        return try await req.writeTransaction { db in
            guard let tag = try await MemberTag.find(id, on: db) else { throw APIError.notFound }
            guard tag.isRule else {
                throw APIError(.conflict, "tag.manual", .init("手动标签无需重新计算", "A manual tag has no rule to recompute"))
            }
            let (added, removed) = try await MemberTagService(db: db, now: now).recompute(tag)
            try await AuditLog.record(on: db, actor: staff, action: "member_tag.recompute", target: id.uuidString, detail: "+\(added) -\(removed)", ip: ip, at: now)
            let count = try await MemberTagMember.query(on: db).filter(\.$tagID == id).count()
            return MemberTagRecomputeDTO(added: added, removed: removed, members: Int64(count))
        }
    }

    // MARK: birthday

    @Sendable func birthday(req: Request) async throws -> BirthdayDTO {
        let memberID = try req.requireMember().requireID()
        return BirthdayCoupons.dto(try await MemberBirthdayRecord.find(memberID, on: req.db))
    }

    @Sendable func setBirthday(req: Request) async throws -> BirthdayDTO {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(BirthdayInput.self)
        let now = req.now
        let record = try await req.writeTransaction { db in
            try await BirthdayCoupons.set(input, memberID: memberID, on: db, now: now)
        }
        return BirthdayCoupons.dto(record)
    }

    /// Clears a member's birthday so the member can set it again; an unknown member is a 404.
    @Sendable func resetBirthday(req: Request) async throws -> HTTPStatus {
        let staff = try req.requireStaff(.manageMarketing)
        let memberID = try req.uuidParameter("memberID")
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await BirthdayCoupons.reset(memberID: memberID, on: db)
            try await AuditLog.record(on: db, actor: staff, action: "members.birthday_reset", target: memberID.uuidString, ip: ip, at: now)
        }
        return .noContent
    }

    @Sendable func birthdaySettings(req: Request) async throws -> BirthdaySettings {
        _ = try req.requireStaff(.manageMarketing)
        return try await BirthdaySettings.load(on: req.db)
    }

    /// The birthday coupon is one of the platform's own templates (a shop's would be paid by the shop), or none.
    @Sendable func saveBirthdaySettings(req: Request) async throws -> BirthdaySettings {
        let staff = try req.requireStaff(.manageMarketing)
        let settings = try req.content.decode(BirthdaySettings.self)
        if let id = settings.couponTemplateId {
            guard let template = try await CouponTemplate.find(id, on: req.db), template.merchantID == nil,
                  template.status != CouponTemplateStatus.stopped.rawValue else {
                throw APIError.validation([.init("couponTemplateId", .init("请选择平台未停止的优惠券", "Choose a platform coupon that is not stopped"))])
            }
        }
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await settings.save(on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "members.birthday_settings", target: BirthdaySettings.recordName, ip: ip, at: now)
        }
        return settings
    }
}
