import Fluent
import Foundation
import MallCore
import Vapor

/// 我的积分 `/me/points`: level, growth, points, today's sign-in and the latest changes.
struct MembersPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("me", "points", use: mine)
        routes.post("me", "points", "sign-in", use: signIn)
    }

    struct PointsPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let delta: String
            let reason: String
            let at: String
        }

        let summary: MemberPointsDTO
        let rows: [Row]
        let perks: String
        /// "11 月 30 日" once set.
        let birthday: String
        let canSetBirthday: Bool
    }

    @Sendable func mine(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let summary = try await MembersAPIController.summary(memberID: member.requireID(), on: req.db, now: req.now, locale: req.locale)
        let rows = summary.movements.map { movement in
            PointsPage.Row(delta: movement.delta > 0 ? "+\(movement.delta)" : "\(movement.delta)", reason: movement.reasonText,
                           at: PageDates.chinaMinute(movement.createdAt))
        }
        let perks = summary.level.perks.compactMap { MembersPageStrings.table["mp_perk_\($0)"]?(req.locale) }.joined(separator: "、")
        let birthday = try await MemberBirthdayRecord.find(member.requireID(), on: req.db)
        let birthdayText = birthday.map { LocalizedText("\($0.month) 月 \($0.day) 日", "\($0.month)/\($0.day)")(req.locale) } ?? ""
        return try await req.page("member/points", PointsPage(summary: summary, rows: rows, perks: perks, birthday: birthdayText,
                                                              canSetBirthday: birthday == nil))
    }

    @Sendable func signIn(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        return try await OrderPageController.redirectBack(req, "/me/points") {
            let awarded = try await PointsJobs.signIn(memberID, req: req)
            req.flash(.init("签到成功，获得 \(awarded) 积分", "Signed in: \(awarded) points"))
        }
    }
}

/// Page texts of the member's points and level.
enum MembersPageStrings {
    static let table: [String: LocalizedText] = [
        "mp_title": .init("我的积分", "My points"),
        "mp_points": .init("可用积分", "Points"),
        "mp_level": .init("会员等级", "Member level"),
        "mp_growth": .init("成长值", "Growth"),
        "mp_next": .init("距离下一等级还差", "Growth to the next level"),
        "mp_top": .init("已是最高等级", "The highest level"),
        "mp_perks": .init("等级权益", "Perks"),
        "mp_rate": .init("积分抵现", "Points at checkout"),
        "mp_sign_in": .init("每日签到", "Daily sign-in"),
        "mp_signed_in": .init("今日已签到", "Signed in today"),
        "mp_history": .init("积分明细", "Points history"),
        "mp_empty": .init("还没有积分记录，完成订单、签到和评价都能获得积分", "No points yet: completed orders, sign-ins and reviews earn points"),
        "mp_use_points": .init("使用积分", "Use points"),
        "mp_points_usable": .init("本单最多可用", "Usable on this order"),
        "mp_perk_free_shipping": .init("包邮", "Free shipping"),
        "mp_perk_priority_shipping": .init("优先发货", "Priority shipping"),
        "mp_perk_early_access": .init("新品优先购", "Early access"),
        "mp_perk_birthday_coupon": .init("生日礼券", "Birthday coupon"),
    ]
}
