import Fluent
import Foundation
import MallCore
import Vapor

/// 营销中心: every activity of a shop (`/merchant/marketing`) or of the whole mall
/// (`/admin/marketing`) — coupons, promotions, flash sales, group buys and bargains — with pause,
/// resume and stop, each activity's results, and the create forms (`MarketingConsoleForms.swift`).
/// Changes go through the same services as the API; forms post back here and redirect.
struct MarketingConsolePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        for prefix in ["merchant", "admin"] {
            let shop = prefix == "merchant"
            routes.get(PathComponent(stringLiteral: prefix), "marketing") { req in try await self.list(req, shop: shop) }
            routes.get(PathComponent(stringLiteral: prefix), "marketing", ":kind", ":activityID") { req in try await self.results(req, shop: shop) }
            routes.post(PathComponent(stringLiteral: prefix), "marketing", ":kind", ":activityID", ":action") { req in
                if req.parameters.get("action") == "edit" {
                    return req.parameters.get("kind") == Kind.coupon.rawValue ? try await self.editCoupon(req, shop: shop) : try await self.editActivity(req, shop: shop)
                }
                return try await self.changeStatus(req, shop: shop)
            }
        }
        registerForms(routes)
    }

    static let perKind = 50

    enum Kind: String, CaseIterable {
        case coupon, promotion, flashSale = "flash_sale", groupBuy = "group_buy", bargain

        func label(_ locale: MallLocale) -> String {
            switch self {
            case .coupon: ActivityKind.coupon.name(locale)
            case .promotion: LocalizedText("促销", "Promotion")(locale)
            case .flashSale: ActivityKind.flashSale.name(locale)
            case .groupBuy: ActivityKind.groupBuy.name(locale)
            case .bargain: ActivityKind.bargain.name(locale)
            }
        }
    }

    struct Row: Encodable, Sendable {
        let kind: String
        let kindLabel: String
        let id: String
        let name: String
        let summary: String
        let window: String
        let owner: String
        let status: String
        let statusLabel: String
    }

    struct ListPage: Encodable, Sendable {
        let prefix: String
        let isShop: Bool
        let canManage: Bool
        let rows: [Row]
        let skus: [Option]
        /// Each form's fields as shown: defaults, or what was typed in the form that was refused.
        let v: [String: [String: String]]
        /// The refused form's id and why ("" when none).
        let failed: String
        let message: String
    }

    struct Option: Encodable, Sendable { let id: String; let label: String }

    struct ResultsPage: Encodable, Sendable {
        struct Fact: Encodable, Sendable { let label: String; let value: String }
        let prefix: String
        let name: String
        let kindLabel: String
        let facts: [Fact]
        /// A coupon's page also sends it to a tag and lists its 发券任务.
        var isCoupon = false
        var activityID = ""
        var canSend = false
        var canCancel = false
        var tags: [Option] = []
        var jobs: [CouponSendPageController.JobRow] = []
        /// 修改优惠券: the form's values; locked, once members hold it, to what may still change.
        var edit: [String: String]?
        var termsLocked = false
        var isShop = false
        /// 修改活动 for the other kinds: the fields that may change now.
        var activityEdit: EditForm?
    }

    /// The console's principal: a shop's staff (with its scope) or platform staff who may run marketing.
    func principal(_ req: Request, shop: Bool) throws -> (staff: StaffUser, merchantID: UUID?)? {
        if shop {
            guard let (staff, scope) = OrderConsolePageController.staff(req) else { return nil }
            return (staff, scope.merchantID)
        }
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return nil }
        return (staff, nil)
    }

    private func statusLabel(_ status: String, _ locale: MallLocale) -> String {
        CouponTemplateStatus(rawValue: status)?.name(locale) ?? status
    }

    private func window(_ start: Date?, _ end: Date?) -> String {
        guard let start, let end else { return "" }
        return "\(PageDates.chinaMinute(start)) – \(PageDates.chinaMinute(end))"
    }

    @Sendable func list(_ req: Request, shop: Bool, failure: Failure? = nil) async throws -> Response {
        guard let (_, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        let locale = req.locale
        func owner(_ value: String) -> String { value == "platform" ? LocalizedText("平台", "Platform")(locale) : LocalizedText("店铺", "Shop")(locale) }
        var rows: [Row] = []
        var coupons = CouponTemplate.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.perKind)
        if let merchantID { coupons = coupons.filter(\.$merchantID == merchantID) }
        for template in try await coupons.all() {
            let dto = try CouponTemplateDTO(template, locale)
            rows.append(Row(kind: Kind.coupon.rawValue, kindLabel: Kind.coupon.label(locale), id: dto.id.uuidString, name: dto.name, summary: dto.summary,
                            window: window(template.startsAt, template.endsAt), owner: owner(template.payer), status: template.status,
                            statusLabel: statusLabel(template.status, locale)))
        }
        var promotions = PromotionActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.perKind)
        if let merchantID { promotions = promotions.filter(\.$merchantID == merchantID) }
        for activity in try await promotions.all() {
            let dto = try PromotionDTO(activity, locale)
            rows.append(Row(kind: Kind.promotion.rawValue, kindLabel: dto.kindLabel, id: dto.id.uuidString, name: dto.name, summary: dto.summary,
                            window: window(activity.startsAt, activity.endsAt), owner: owner(activity.owner), status: activity.status,
                            statusLabel: statusLabel(activity.status, locale)))
        }
        var flashSales = FlashSaleActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.perKind)
        if let merchantID { flashSales = flashSales.filter(\.$merchantID == merchantID) }
        let flashActivities = try await flashSales.all()
        // One read of every listed activity's sessions, not one per activity.
        let flashSessions = Dictionary(grouping: try await FlashSaleSessionRecord.query(on: req.db)
            .filter(\.$activityID ~~ flashActivities.compactMap(\.id)).all(), by: \.activityID)
        for activity in flashActivities {
            let id = try activity.requireID()
            let sessions = flashSessions[id] ?? []
            rows.append(Row(kind: Kind.flashSale.rawValue, kindLabel: Kind.flashSale.label(locale), id: id.uuidString, name: activity.name,
                            summary: LocalizedText("\(sessions.count) 场", "\(sessions.count) session(s)")(locale),
                            window: window(sessions.map(\.startsAt).min(), sessions.map(\.endsAt).max()), owner: owner(activity.owner),
                            status: activity.status, statusLabel: statusLabel(activity.status, locale)))
        }
        var groupBuys = GroupBuyActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.perKind)
        if let merchantID { groupBuys = groupBuys.filter(\.$merchantID == merchantID) }
        for activity in try await groupBuys.all() {
            rows.append(Row(kind: Kind.groupBuy.rawValue, kindLabel: Kind.groupBuy.label(locale), id: try activity.requireID().uuidString,
                            name: activity.name, summary: GroupBuyActivityDTO.summary(activity, locale),
                            window: window(activity.startsAt, activity.endsAt), owner: owner(activity.owner), status: activity.status,
                            statusLabel: statusLabel(activity.status, locale)))
        }
        var bargains = BargainActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id).limit(Self.perKind)
        if let merchantID { bargains = bargains.filter(\.$merchantID == merchantID) }
        for activity in try await bargains.all() {
            let floor = Money(fen: activity.floorPrice).formatted(locale)
            rows.append(Row(kind: Kind.bargain.rawValue, kindLabel: Kind.bargain.label(locale), id: try activity.requireID().uuidString,
                            name: activity.name, summary: LocalizedText("最低砍至 \(floor)", "Down to \(floor)")(locale),
                            window: window(activity.startsAt, activity.endsAt), owner: owner(activity.owner), status: activity.status,
                            statusLabel: statusLabel(activity.status, locale)))
        }
        let skus = try await Self.skuOptions(merchantID: merchantID, db: req.db, locale: locale)
        let (start, end) = (Self.localChina(req.now), Self.localChina(req.now.addingTimeInterval(7 * 86_400)))
        var values: [String: [String: String]] = [:]
        for form in Form.allCases { values[form.rawValue] = form.defaults(start: start, end: end) }
        var message = ""
        if let failure {
            values[failure.form.rawValue] = failure.values
            let apiError = ErrorMapping.apiError(for: failure.error)
            message = apiError.details.isEmpty
                ? apiError.message(locale) : apiError.details.map { $0.message(locale) }.joined(separator: locale == .zhHans ? "；" : "; ")
        }
        let page = ListPage(prefix: shop ? "merchant" : "admin", isShop: shop, canManage: shop ? req.principalCan(.manageShop) : true, rows: rows,
                            skus: skus, v: values, failed: failure?.form.rawValue ?? "", message: message)
        if let failure { return try await req.pageAfterFailure(failure.error, "console/marketing", page) }
        return try await req.page("console/marketing", page)
    }

    /// At most this many SKUs in a shop's selects.
    static let maxSkuOptions = 300

    /// The shop's SKUs for the forms' selects; none for the operator, who types a SKU code or id.
    static func skuOptions(merchantID: UUID?, db: any Database, locale: MallLocale) async throws -> [Option] {
        guard let merchantID else { return [] }
        var skus: [Option] = []
        let products = try await Product.query(on: db).filter(\.$merchant.$id == merchantID).sort(\Product.$title).limit(100).all()
        let productIDs = products.compactMap(\.id)
        let rows = try await Sku.query(on: db).filter(\Sku.$product.$id ~~ productIDs).sort(\.$position).limit(Self.maxSkuOptions).all()
        for product in products {
            for sku in rows where sku.$product.id == product.id {
                let spec = sku.specText.isEmpty ? "" : " " + sku.specText
                skus.append(Option(id: try sku.requireID().uuidString, label: "\(product.title)\(spec) · \(Money(fen: sku.price).formatted(locale))"))
            }
        }
        return skus
    }

    /// "2026-06-18T10:00" in China time, as a `datetime-local` input shows it.
    static func localChina(_ date: Date) -> String {
        let parts = CouponService.chinaCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }

    /// "2026-06-18T10:00:00+08:00": the ISO 8601 text the services take.
    static func isoChina(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return formatter.string(from: date)
    }

    @Sendable func results(_ req: Request, shop: Bool) async throws -> Response {
        guard let (_, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        guard let kind = Kind(rawValue: req.parameters.get("kind") ?? "") else { throw APIError.notFound }
        let id = try req.uuidParameter("activityID")
        let locale = req.locale
        typealias Fact = ResultsPage.Fact
        func fact(_ zh: String, _ en: String, _ value: String) -> Fact { Fact(label: LocalizedText(zh, en)(locale), value: value) }
        func count(_ value: Int64) -> String { String(value) }
        let name: String
        var facts: [Fact] = []
        var sending: (tags: [Option], jobs: [CouponSendPageController.JobRow])?
        var editing: CouponTemplate?
        switch kind {
        case .coupon:
            guard let template = try await CouponTemplate.find(id, on: req.db), merchantID == nil || template.merchantID == merchantID else { throw APIError.notFound }
            let result = try await ActivityResults.coupon(template, on: req.db, locale: locale)
            name = template.name
            facts = [fact("已领取", "Claimed", count(result.issued ?? 0)), fact("已使用", "Used", count(result.used ?? 0)),
                     fact("订单", "Orders", count(result.orders)), fact("销售额", "Sales", result.sales.display),
                     fact("优惠成本", "Cost of savings", result.discountCost.display)]
            // Tags are the operator's; shops read them to send their own coupons.
            let tags = try await MemberTag.query(on: req.db).sort(\.$name).limit(MemberTagService.maxTags).all()
                .map { Option(id: $0.id?.uuidString ?? "", label: $0.name) }
            let jobs = try await CouponSendJobQueries.list(on: req.db, merchantID: merchantID, templateID: id, limit: 20, locale: locale)
            sending = (tags, jobs.map(CouponSendPageController.JobRow.init))
            if template.status != CouponTemplateStatus.stopped.rawValue, template.merchantID == merchantID { editing = template }
        case .promotion:
            guard let activity = try await PromotionActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            let result = try await ActivityResults.promotion(activity, on: req.db, locale: locale)
            name = activity.name
            facts = [fact("订单", "Orders", count(result.orders)), fact("销售额", "Sales", result.sales.display)]
            if let given = result.giftsGiven {
                facts.append(fact("已送赠品", "Gifts given", count(given)))
            } else {
                facts.append(fact("优惠成本", "Cost of savings", result.discountCost.display))
            }
        case .flashSale:
            guard let activity = try await FlashSaleActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            let result = try await FlashSaleService(db: req.db, now: req.now).results(activity)
            name = activity.name
            facts = [fact("订单", "Orders", count(result.orders)), fact("已售", "Units sold", count(result.unitsSold)),
                     fact("待支付", "Awaiting payment", count(result.unitsAwaitingPayment)), fact("剩余", "Left", count(result.available)),
                     fact("销售额", "Sales", Money(fen: result.salesFen).formatted(locale)),
                     fact("优惠成本", "Cost of savings", Money(fen: result.discountCostFen).formatted(locale))]
        case .groupBuy:
            guard let activity = try await GroupBuyActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            let result = try await GroupBuyService(db: req.db, now: req.now).results(activity, locale)
            name = activity.name
            facts = [fact("拼团中", "Open groups", count(result.openGroups)), fact("已成团", "Succeeded", count(result.succeededGroups)),
                     fact("未成团", "Failed", count(result.failedGroups)), fact("已付订单", "Paid orders", count(result.paidOrders)),
                     fact("销售额", "Sales", result.sales.display), fact("优惠成本", "Cost of savings", result.discountCost.display)]
        case .bargain:
            guard let activity = try await BargainActivity.find(id, on: req.db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            let result = try await BargainService(db: req.db, now: req.now).results(activity, locale)
            name = activity.name
            facts = [fact("发起", "Started", count(result.started)), fact("进行中", "Open", count(result.open)),
                     fact("已付款", "Paid", count(result.paid)), fact("已过期", "Expired", count(result.expired)),
                     fact("帮砍次数", "Cuts", count(result.cuts)), fact("销售额", "Sales", result.sales.display),
                     fact("优惠成本", "Cost of savings", result.discountCost.display)]
        }
        var page = ResultsPage(prefix: shop ? "merchant" : "admin", name: name, kindLabel: kind.label(locale), facts: facts)
        if kind != .coupon, shop ? req.principalCan(.manageShop) : true {
            page.activityEdit = try await Self.editForm(kind, id, prefix: page.prefix, merchantID: merchantID,
                                                        skus: try await Self.skuOptions(merchantID: merchantID, db: req.db, locale: locale),
                                                        db: req.db, now: req.now, locale: locale)
        }
        if let sending {
            page.isCoupon = true
            page.activityID = id.uuidString
            page.canSend = shop ? req.principalCan(.manageShop) : true
            page.canCancel = page.canSend
            page.tags = sending.tags
            page.jobs = sending.jobs
            page.isShop = shop
            if let editing, page.canSend {
                page.edit = Self.couponFormValues(editing)
                page.termsLocked = editing.issued > 0
            }
        }
        return try await req.page("console/marketing-results", page)
    }

    @Sendable func changeStatus(_ req: Request, shop: Bool) async throws -> Response {
        guard let (staff, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        let back = shop ? "/merchant/marketing" : "/admin/marketing"
        let id = try req.uuidParameter("activityID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, back) {
            if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
            guard let kind = Kind(rawValue: req.parameters.get("kind") ?? "") else { throw APIError.notFound }
            let status: PromotionStatus = switch req.parameters.get("action") ?? "" {
            case "pause": .paused
            case "resume": .active
            case "stop": .stopped
            default: throw APIError.notFound
            }
            try await req.writeTransaction { db in
                switch kind {
                case .coupon:
                    _ = try await CouponService(db: db, now: now).setStatus(id, to: CouponTemplateStatus(rawValue: status.rawValue) ?? .stopped, merchantID: merchantID)
                case .promotion: _ = try await PromotionService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
                case .flashSale:
                    _ = try await FlashSaleService(db: db, now: now).setStatus(id, to: FlashSaleStatus(rawValue: status.rawValue) ?? .stopped, merchantID: merchantID)
                case .groupBuy: _ = try await GroupBuyService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
                case .bargain: _ = try await BargainService(db: db, now: now).setStatus(id, to: status, merchantID: merchantID)
                }
                try await AuditLog.record(on: db, actor: staff, action: "\(kind.rawValue).\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            }
        }
    }
}
