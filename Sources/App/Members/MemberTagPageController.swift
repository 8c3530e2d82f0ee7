import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's 会员标签 page `/admin/member-tags` (the tags with their sizes, a form for a new
/// one, recompute now, and the birthday coupon setting), and the member's birthday form on 我的积分.
struct MemberTagPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", "member-tags", use: page)
        routes.post("admin", "member-tags", use: create)
        routes.post("admin", "member-tags", ":tagID", "recompute", use: recompute)
        routes.post("admin", "member-tags", "birthday-coupon", use: saveBirthday)
        routes.post("admin", "member-tags", "birthday-reset", use: resetBirthday)
        routes.post("me", "birthday", use: setBirthday)
    }

    struct Page: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let name: String
            let kind: String
            let summary: String
            let members: Int64
            let recomputedAt: String
            let isRule: Bool
        }
        struct Choice: Encodable, Sendable {
            let id: String
            let name: String
            let selected: Bool
        }
        let rows: [Row]
        let categories: [Choice]
        let coupons: [Choice]
        let hasBirthdayCoupon: Bool
    }

    @Sendable func page(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let locale = req.locale
        let tags = try await MemberTagAPIController.allTags(on: req.db, now: req.now, locale: locale)
        let rows = tags.map { tag in
            Page.Row(id: tag.id.uuidString, name: tag.name,
                     kind: tag.kind == "rule" ? LocalizedText("规则", "Rule")(locale) : LocalizedText("手动", "Manual")(locale),
                     summary: tag.ruleSummary, members: tag.members, recomputedAt: tag.recomputedAt.map(PageDates.chinaMinute) ?? "",
                     isRule: tag.kind == "rule")
        }
        let categories = try await Category.query(on: req.db).sort(\.$sortOrder).sort(\.$name).limit(500).all()
            .compactMap { category in category.id.map { Page.Choice(id: $0.uuidString, name: category.name, selected: false) } }
        let settings = try await BirthdaySettings.load(on: req.db)
        let coupons = try await CouponTemplate.query(on: req.db).filter(\.$merchantID == nil)
            .filter(\.$status != CouponTemplateStatus.stopped.rawValue).sort(\.$createdAt, .descending).limit(200).all()
            .compactMap { template in
                template.id.map { Page.Choice(id: $0.uuidString, name: template.name, selected: $0 == settings.couponTemplateId) }
            }
        return try await req.page("console/member-tags", Page(rows: rows, categories: categories, coupons: coupons,
                                                               hasBirthdayCoupon: settings.couponTemplateId != nil))
    }

    @Sendable func create(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/member-tags") {
            func text(_ name: String) -> String { (form.first(name) ?? "").trimmingCharacters(in: .whitespaces) }
            var issues: [APIError.FieldIssue] = []
            var minSpent: Int64?
            if !text("minSpentYuan").isEmpty {
                if let yuan = Int64(text("minSpentYuan")), text("minSpentYuan").count <= 9, yuan > 0 { minSpent = yuan * 100 } else {
                    issues.append(.init("minSpentYuan", .init("累计消费应为正整数（元）", "The amount spent is a whole number of yuan")))
                }
            }
            var days: Int?
            if !text("inactiveDays").isEmpty {
                if let value = Int(text("inactiveDays")), text("inactiveDays").count <= 5 { days = value } else {
                    issues.append(.init("inactiveDays", .init("未活跃天数应为整数", "Days inactive is a whole number")))
                }
            }
            var category: UUID?
            if !text("categoryId").isEmpty {
                if let id = UUID(uuidString: text("categoryId")) { category = id } else {
                    issues.append(.init("categoryId", .init("类目不存在", "No such category")))
                }
            }
            guard issues.isEmpty else { throw APIError.validation(issues) }
            let isRule = text("kind") == "rule"
            let input = MemberTagInput(name: form.first("name") ?? "",
                                       rule: isRule ? MemberTagRuleInput(minSpentFen: minSpent, categoryId: category, inactiveDays: days) : nil)
            try await req.writeTransaction { db in
                let service = MemberTagService(db: db, now: now)
                let tag = try await service.create(input)
                if tag.isRule { _ = try await service.recompute(tag) }
                try await AuditLog.record(on: db, actor: staff, action: "member_tag.create", target: tag.requireID().uuidString, ip: ip, at: now)
            }
            req.flash(.init("已创建标签", "Tag created"))
        }
    }

    @Sendable func recompute(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("tagID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/member-tags") {
            let result = try await req.writeTransaction { db in
                guard let tag = try await MemberTag.find(id, on: db) else { throw APIError.notFound }
                let counts = try await MemberTagService(db: db, now: now).recompute(tag)
                try await AuditLog.record(on: db, actor: staff, action: "member_tag.recompute", target: id.uuidString, ip: ip, at: now)
                return counts
            }
            req.flash(.init("已重新计算：新增 \(result.added) 人，移出 \(result.removed) 人", "Recomputed: \(result.added) added, \(result.removed) removed"))
        }
    }

    @Sendable func saveBirthday(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let text = (req.formFields.first("couponTemplateId") ?? "").trimmingCharacters(in: .whitespaces)
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/member-tags") {
            var settings = BirthdaySettings()
            if !text.isEmpty {
                guard let id = UUID(uuidString: text), let template = try await CouponTemplate.find(id, on: req.db), template.merchantID == nil else {
                    throw APIError.validation([.init("couponTemplateId", .init("请选择平台的优惠券", "Choose a platform coupon"))])
                }
                settings.couponTemplateId = template.id
            }
            let chosen = settings
            try await req.writeTransaction { db in
                try await chosen.save(on: db, now: now)
                try await AuditLog.record(on: db, actor: staff, action: "members.birthday_settings", target: BirthdaySettings.recordName, ip: ip, at: now)
            }
            req.flash(.init("已保存", "Saved"))
        }
    }

    /// Clears the birthday of the member with this phone number, so the member can set it again.
    @Sendable func resetBirthday(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let text = (req.formFields.first("phone") ?? "").trimmingCharacters(in: .whitespaces)
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/member-tags") {
            guard text.count <= 20, let phone = PhoneNumber(text) else {
                throw APIError.validation([.init("phone", .init("手机号格式不正确", "Not a valid phone number"))])
            }
            guard let memberID = try await Member.query(on: req.db).filter(\.$phoneHash == req.personalData.lookupHash(phone.digits)).first()?.id else {
                throw APIError.validation([.init("phone", .init("没有使用这个手机号的会员", "No member has this phone number"))])
            }
            try await req.writeTransaction { db in
                try await BirthdayCoupons.reset(memberID: memberID, on: db)
                try await AuditLog.record(on: db, actor: staff, action: "members.birthday_reset", target: memberID.uuidString, ip: ip, at: now)
            }
            req.flash(.init("已重置 \(phone.masked) 的生日，会员可重新设置一次", "The birthday of \(phone.masked) was cleared; the member can set it once more"))
        }
    }

    @Sendable func setBirthday(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        let form = req.formFields
        let now = req.now
        return try await OrderPageController.redirectBack(req, "/me/points") {
            func number(_ name: String) -> Int? {
                let text = (form.first(name) ?? "").trimmingCharacters(in: .whitespaces)
                return text.count <= 4 ? Int(text) : nil
            }
            guard let month = number("month"), let day = number("day") else {
                throw APIError.validation([.init("month", .init("请选择生日的月和日", "Choose the month and day of your birthday"))])
            }
            let input = BirthdayInput(month: month, day: day)
            _ = try await req.writeTransaction { db in try await BirthdayCoupons.set(input, memberID: memberID, on: db, now: now) }
            req.flash(.init("生日已保存", "Birthday saved"))
        }
    }
}

/// Texts of the 会员标签 page and the birthday form.
enum MemberTagPageStrings {
    static let table: [String: LocalizedText] = [
        "mt_title": .init("会员标签", "Member tags"),
        "mt_intro": .init("手动标签由运营添加会员；规则标签每天按条件（同时满足）重新计算。可在发券时选择标签，商家也可向标签发本店的券。",
                          "Manual tags hold the members added by hand; rule tags are recomputed daily from their conditions (all must hold). Coupons can be sent to a tag, by shops too."),
        "mt_name": .init("名称", "Name"),
        "mt_kind": .init("类型", "Kind"),
        "mt_rule": .init("条件", "Conditions"),
        "mt_members": .init("会员数", "Members"),
        "mt_recomputed": .init("计算于", "Recomputed"),
        "mt_recompute": .init("重新计算", "Recompute"),
        "mt_empty": .init("还没有标签", "No tags yet"),
        "mt_new": .init("新建标签", "New tag"),
        "mt_manual": .init("手动", "Manual"),
        "mt_by_rule": .init("按规则", "By rule"),
        "mt_min_spent": .init("累计消费满（元）", "Spent at least (yuan)"),
        "mt_category": .init("买过类目", "Bought in category"),
        "mt_any": .init("不限", "Any"),
        "mt_inactive": .init("未活跃天数", "Days inactive"),
        "mt_create": .init("创建", "Create"),
        "mt_birthday": .init("生日礼券", "Birthday coupon"),
        "mt_birthday_intro": .init("会员生日当月，等级含「生日礼券」权益的会员每年自动收到一张。",
                                   "Members whose level has the birthday perk get one each year in their birthday month."),
        "mt_none": .init("不发放", "None"),
        "mt_save": .init("保存", "Save"),
        "mt_birthday_reset": .init("重置会员生日", "Reset a member's birthday"),
        "mt_birthday_reset_intro": .init("会员填错生日时，按手机号重置后会员可再设置一次；今年已发的生日礼券不会重发。",
                                         "When a member set the wrong birthday, reset it by phone number and the member can set it once more; a birthday coupon already sent this year is not sent again."),
        "mt_phone": .init("手机号", "Phone number"),
        "mt_reset": .init("重置", "Reset"),
        "mp_birthday": .init("生日", "Birthday"),
        "mp_birthday_hint": .init("生日只能设置一次；白银及以上会员生日当月可获生日礼券。", "A birthday can be set once; members of levels with the perk get a coupon in that month."),
        "mp_month": .init("月", "Month"),
        "mp_day": .init("日", "Day"),
        "mp_birthday_save": .init("保存生日", "Save birthday"),
    ]
}
