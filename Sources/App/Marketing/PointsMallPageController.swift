import Fluent
import Foundation
import MallCore
import Vapor

/// 积分商城 `/points-mall` and the operator's `/admin/points-mall`. Forms post back here and
/// redirect; each change goes through the same service as the API.
struct PointsMallPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("points-mall", use: mall)
        routes.post("points-mall", "items", ":itemID", "redeem", use: redeem)
        routes.get("admin", "points-mall", use: admin)
        routes.post("admin", "points-mall", use: adminCreate)
        routes.post("admin", "points-mall", "goods", use: adminCreateGoods)
        routes.post("admin", "points-mall", ":itemID", ":action", use: adminStatus)
    }

    struct MallPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let item: PointsMallItemDTO
            /// A fresh idempotency key per rendering, so a double-clicked form redeems once.
            let key: String
            let limit: String
            let window: String
            let soldOut: Bool
            /// Goods are redeemed through the normal checkout (address, shipping, then payment).
            let goods: Bool
        }
        let rows: [Row]
        let signedIn: Bool
        let points: Int64
    }

    @Sendable func mall(req: Request) async throws -> Response {
        let member = ShoppingPageController.member(req)
        let items = try await PointsMallQueries.listed(on: req.db, now: req.now, locale: req.locale, storage: req.application.imageStorage)
        var points: Int64 = 0
        if let memberID = member?.id { points = try await PointsService(db: req.db, now: req.now).usableBalance(memberID) }
        let rows = items.map { item in
            let limit = item.perMemberLimit.map { LocalizedText("每人限兑 \($0) 件", "At most \($0) per member")(req.locale) } ?? ""
            var window = ""
            if let start = item.startsAt, start > req.now {
                window = LocalizedText("\(PageDates.chinaMinute(start)) 开始", "From \(PageDates.chinaMinute(start)) (China time)")(req.locale)
            } else if let end = item.endsAt {
                window = LocalizedText("\(PageDates.chinaMinute(end)) 结束", "Until \(PageDates.chinaMinute(end)) (China time)")(req.locale)
            }
            return MallPage.Row(item: item, key: UUID().uuidString.lowercased(), limit: limit, window: window, soldOut: item.available < 1,
                                goods: item.kind == PointsMallItemKind.goods.rawValue)
        }
        return try await req.page("marketing/points-mall", MallPage(rows: rows, signedIn: member != nil, points: points))
    }

    @Sendable func redeem(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let (memberID, itemID, now) = (try member.requireID(), try req.uuidParameter("itemID"), req.now)
        let sent = (req.formFields.first("key") ?? "").trimmingCharacters(in: .whitespaces)
        return try await OrderPageController.redirectBack(req, "/points-mall") {
            guard (1...64).contains(sent.utf8.count), sent.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw APIError.validation([.init("key", .init("页面已过期，请刷新后重试", "The page has expired; reload and try again"))])
            }
            let (dto, _) = try await PointsMallAPIController.redeem(req, itemID: itemID, memberID: memberID, key: "page:" + sent, now: now)
            req.flash(.init("兑换成功：\(dto.name)，花费 \(dto.points) 积分，优惠券已放入「我的优惠券」",
                            "Redeemed \(dto.name) for \(dto.points) points; the coupon is in My coupons"))
        }
    }

    // MARK: operator

    struct AdminPage: Encodable, Sendable {
        struct Template: Encodable, Sendable {
            let id: String
            let label: String
        }
        let items: [PointsMallItemDTO]
        let templates: [Template]
    }

    @Sendable func admin(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let items = try await PointsMallQueries.all(on: req.db, locale: req.locale, storage: req.application.imageStorage)
        let templates = try await CouponTemplate.query(on: req.db).filter(\.$merchantID == nil)
            .filter(\.$status != CouponTemplateStatus.stopped.rawValue).sort(\.$createdAt, .descending).sort(\.$id).limit(CouponAPIController.listLimit).all()
        let options = try templates.map { template in
            AdminPage.Template(id: try template.requireID().uuidString, label: "\(template.name)（\(try CouponService.coupon(template).summary(req.locale))）")
        }
        return try await req.page("console/points-mall", AdminPage(items: items, templates: options))
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/points-mall") {
            func count(_ name: String) throws -> Int64? { try CouponPageController.wholeNumber(form.first(name), field: name) }
            let template = UUID(uuidString: (form.first("couponTemplateId") ?? "").trimmingCharacters(in: .whitespaces))
            let input = PointsMallItemInput(kind: "coupon", name: form.first("name") ?? "", couponTemplateId: template,
                                            pointsPrice: try count("pointsPrice") ?? 0, stock: try count("stock") ?? 0,
                                            perMemberLimit: try count("perMemberLimit"), startsAt: nil, endsAt: nil)
            try await req.writeTransaction { db in
                let item = try await PointsMallService(db: db, now: now).create(input)
                try await AuditLog.record(on: db, actor: staff, action: "points_mall.create", target: item.requireID().uuidString, ip: ip, at: now)
            }
            req.flash(.init("已上架", "Item added"))
        }
    }

    /// Goods for points: a SKU by its id or code (as the marketing forms take it), the points and
    /// the cash part in yuan (「9.90」, exactly to fen).
    @Sendable func adminCreateGoods(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let fields = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/points-mall") {
            try await req.writeTransaction { db in
                let form = FormReader(fields)
                let sku = try await form.sku("sku", merchantID: nil, db: db)
                let cash = form.fen("cash", required: true)
                let points = form.count("pointsPrice", required: true)
                let stock = form.count("stock", required: true)
                let limit = form.count("perMemberLimit")
                try form.check()
                let input = PointsMallItemInput(kind: PointsMallItemKind.goods.rawValue, name: form.text("name"), couponTemplateId: nil,
                                                pointsPrice: points ?? 0, stock: stock ?? 0, perMemberLimit: limit, startsAt: nil, endsAt: nil,
                                                skuId: sku, cashFen: cash)
                let item = try await PointsMallService(db: db, now: now).create(input)
                try await AuditLog.record(on: db, actor: staff, action: "points_mall.create", target: item.requireID().uuidString, ip: ip, at: now)
            }
            req.flash(.init("已上架", "Item added"))
        }
    }

    @Sendable func adminStatus(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("itemID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/points-mall") {
            guard let action = PointsMallAction(rawValue: req.parameters.get("action") ?? "") else { throw APIError.notFound }
            try await req.writeTransaction { db in
                _ = try await PointsMallService(db: db, now: now).apply(action, to: id)
                try await AuditLog.record(on: db, actor: staff, action: "points_mall.\(action.rawValue)", target: id.uuidString, ip: ip, at: now)
            }
        }
    }
}

/// Page texts of the points mall.
enum PointsMallPageStrings {
    static let table: [String: LocalizedText] = [
        "pmall_title": .init("积分商城", "Points mall"),
        "pmall_empty": .init("暂时没有可兑换的商品", "Nothing to redeem right now"),
        "pmall_my_points": .init("我的积分", "My points"),
        "pmall_points": .init("积分", "points"),
        "pmall_left": .init("剩余", "Left"),
        "pmall_redeem": .init("兑换", "Redeem"),
        "pmall_sold_out": .init("已兑完", "Sold out"),
        "pmall_login": .init("登录后兑换", "Log in to redeem"),
        "pmall_admin_title": .init("积分商城管理", "Points mall"),
        "pmall_name": .init("名称", "Name"),
        "pmall_coupon": .init("优惠券", "Coupon"),
        "pmall_price": .init("所需积分", "Points"),
        "pmall_stock": .init("库存", "Stock"),
        "pmall_redeemed": .init("已兑换", "Redeemed"),
        "pmall_per_member": .init("每人限兑（留空不限）", "Per member (blank: no limit)"),
        "pmall_status": .init("状态", "Status"),
        "pmall_create": .init("上架兑换商品", "Add an item"),
        "pmall_submit": .init("上架", "Add"),
        "pmall_pause": .init("暂停", "Pause"),
        "pmall_resume": .init("恢复", "Resume"),
        "pmall_stop": .init("下架", "Stop"),
        "pmall_no_templates": .init("先在优惠券管理中新建一张平台优惠券", "Create a platform coupon first"),
        "pmall_goods": .init("商品", "Goods"),
        "pmall_create_goods": .init("上架积分兑换商品（积分 + 现金）", "Add goods for points (points + cash)"),
        "pmall_sku": .init("规格编码或 ID", "SKU code or id"),
        "pmall_cash": .init("现金部分（元，纯积分填 0）", "Cash part (yuan, 0 for points alone)"),
        "pmall_goods_note": .init("兑换时会员在结算页下单，另付店铺运费；商品原价与现金部分的差额由平台承担，不计佣金。",
                                  "Members redeem through checkout and pay the shop's shipping too; the platform pays the shop the rest of the price, and the line pays no commission."),
        "pmall_redeem_goods": .init("去兑换", "Redeem"),
    ]
}
