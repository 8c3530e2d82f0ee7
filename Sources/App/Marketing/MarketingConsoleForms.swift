import Fluent
import Foundation
import MallCore
import Vapor

/// The create forms of 营销中心: coupons, 满减, 满赠, 限时折扣, flash sales, group buys and bargains,
/// for a shop (its own SKUs) and for the operator (platform activities). Each form reads what was
/// typed — money in yuan, times as `datetime-local` in China time — into the API's input and calls
/// the same service as the API, so the rules are the same. A refusal shows the page again with the
/// message beside the form and everything as typed; nothing is written.
extension MarketingConsolePageController {
    /// A form on the page: its id (used in `page.v.<id>` and `page.failed`) and its fields with their defaults.
    enum Form: String, CaseIterable, Sendable {
        case coupon, reduction, gift, limited, flash, groupbuy, bargain

        var auditAction: String {
            switch self {
            case .coupon: "coupon.create"
            case .reduction, .gift, .limited: "promotion.create"
            case .flash: "flash_sale.create"
            case .groupbuy: "group_buy.create"
            case .bargain: "bargain.create"
            }
        }

        /// Every field with the value a fresh form shows; `start` and `end` stand for the default window.
        func defaults(start: String, end: String) -> [String: String] {
            let window = ["name": "", "startsAt": start, "endsAt": end]
            let rest: [String: String] = switch self {
            case .coupon:
                ["kind": "full_reduction", "threshold": "", "amountOff": "", "payRate": "", "maximumOff": "", "scope": "all", "scopeIds": "",
                 "validity": "days", "validDays": "7", "total": "", "perMember": "1", "claimable": "on"]
            case .reduction: ["threshold1": "", "amountOff1": "", "threshold2": "", "amountOff2": ""]
            case .gift: ["threshold1": "", "giftSkuId": "", "giftQuantity": "1"]
            case .limited: ["sku1": "", "price1": "", "sku2": "", "price2": "", "sku3": "", "price3": "", "perMemberLimit": ""]
            case .flash:
                ["sku1": "", "price1": "", "stock1": "", "limit1": "1", "sku2": "", "price2": "", "stock2": "", "limit2": "1",
                 "sku3": "", "price3": "", "stock3": "", "limit3": "1", "unpaidMinutes": "5"]
            case .groupbuy: ["sku": "", "price": "", "size": "2", "hours": "24", "virtualCompletion": ""]
            case .bargain: ["sku": "", "floor": "", "maxCuts": "10", "hours": "24", "dailyCutLimit": "3", "newMemberDouble": ""]
            }
            return window.merging(rest) { first, _ in first }
        }
    }

    /// A refused submission: which form, what was typed, and why.
    struct Failure: Sendable {
        let form: Form
        let values: [String: String]
        let error: any Error
    }

    func registerForms(_ routes: any RoutesBuilder) {
        for prefix in ["merchant", "admin"] {
            let shop = prefix == "merchant"
            let marketing = routes.grouped(PathComponent(stringLiteral: prefix), "marketing")
            marketing.post("coupons") { req in try await self.submit(req, shop: shop, .coupon) }
            marketing.post("limited-time") { req in try await self.submit(req, shop: shop, .limited) }
            marketing.post("flash-sales") { req in try await self.submit(req, shop: shop, .flash) }
            marketing.post("group-buys") { req in try await self.submit(req, shop: shop, .groupbuy) }
            marketing.post("bargains") { req in try await self.submit(req, shop: shop, .bargain) }
        }
        // 满减 and 满赠 (one route, told apart by `kind`): a shop's only.
        routes.post("merchant", "marketing", "promotions") { req in
            try await self.submit(req, shop: true, req.formFields.first("kind") == PromotionKind.gift.rawValue ? .gift : .reduction)
        }
    }

    /// Reads the form, creates through the service in one transaction with its audit entry, and
    /// goes back to the list (303); a refusal re-renders the list with the form as typed.
    func submit(_ req: Request, shop: Bool, _ kind: Form) async throws -> Response {
        guard let (staff, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
        let fields = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        do {
            try await req.writeTransaction { db in
                let reader = FormReader(fields)
                let id = try await Self.create(kind, reader, merchantID: merchantID, db: db, now: now)
                try await AuditLog.record(on: db, actor: staff, action: kind.auditAction, target: id.uuidString, ip: ip, at: now)
            }
        } catch {
            var values: [String: String] = [:]
            for key in kind.defaults(start: "", end: "").keys { values[key] = String((fields.first(key) ?? "").prefix(2_000)) }
            return try await list(req, shop: shop, failure: Failure(form: kind, values: values, error: error))
        }
        return req.redirect(to: shop ? "/merchant/marketing" : "/admin/marketing")
    }

    /// The coupon form as the API's body (create and edit); the limits per day it does not show are nil.
    static func couponInput(_ form: FormReader, merchantID: UUID?) -> CouponTemplateInput {
        let validity = form.text("validity") == "window" ? "window" : "days"
        let scope = ["all", "products", "categories"].contains(form.text("scope")) ? form.text("scope") : "all"
        if merchantID != nil, scope == "categories" {
            form.issue("scope", "店铺券可用于全店或指定商品", "A shop's coupon covers the whole shop or chosen products")
        }
        return CouponTemplateInput(
            name: form.text("name"), kind: form.text("kind"), thresholdFen: form.fen("threshold"), amountOffFen: form.fen("amountOff"),
            payRateBp: form.zhe("payRate"), maximumOffFen: form.fen("maximumOff"), scope: scope,
            scopeIds: scope == "all" ? nil : form.ids("scopeIds", products: scope == "products"),
            startsAt: validity == "window" ? form.time("startsAt") : nil, endsAt: validity == "window" ? form.time("endsAt") : nil,
            validDays: validity == "days" ? form.count("validDays").map { Int(clamping: $0) } : nil,
            totalCount: form.count("total"), perMember: form.count("perMember"), perMemberPerDay: nil, perDay: nil,
            paysCommission: nil, claimable: form.text("claimable") == "on")
    }

    /// The coupon form's fields as `template` stands, for its edit form.
    static func couponFormValues(_ template: CouponTemplate) -> [String: String] {
        let rate = template.benefit == "pay_rate"
        let ids = (try? JSONDecoder().decode([UUID].self, from: Data(template.scopeIDs.utf8))) ?? []
        func yuan(_ fen: Int64) -> String { fen > 0 ? Money(fen: fen).decimalString : "" }
        return ["name": template.name, "kind": template.kind, "threshold": yuan(template.threshold),
                "amountOff": rate ? "" : yuan(template.amountOff), "payRate": rate ? Money(fen: Int64(template.payRateBP / 10)).decimalString : "",
                "maximumOff": rate ? yuan(template.maximumOff) : "", "scope": template.scope == "merchant" ? "all" : template.scope,
                "scopeIds": ids.map { $0.uuidString.lowercased() }.joined(separator: "\n"), "validity": template.validity,
                "validDays": template.validity == "days" ? String(template.validDays) : "",
                "startsAt": template.startsAt.map(localChina) ?? "", "endsAt": template.endsAt.map(localChina) ?? "",
                "total": template.totalCount.map(String.init) ?? "", "perMember": template.perMember.map(String.init) ?? "",
                "claimable": template.claimable ? "on" : ""]
    }

    /// 修改优惠券 on the coupon's page. Once members hold it, only the name, total, per-member limit
    /// and listing are read from the form; the rest stays as it is (the form shows it locked). The
    /// limits per day, the commission switch and a scope the form cannot show are kept.
    func editCoupon(_ req: Request, shop: Bool) async throws -> Response {
        guard let (staff, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        let id = try req.uuidParameter("activityID")
        let back = "/\(shop ? "merchant" : "admin")/marketing/coupon/\(id.uuidString.lowercased())"
        let fields = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, back) {
            if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
            try await req.writeTransaction { db in
                guard let template = try await CouponTemplate.find(id, on: db), merchantID == nil || template.merchantID == merchantID else { throw APIError.notFound }
                let form = FormReader(fields)
                let typed = Self.couponInput(form, merchantID: template.merchantID)
                var input = try CouponTemplateInput(template)
                if template.issued > 0 {
                    input.name = typed.name
                    input.totalCount = typed.totalCount
                    input.perMember = typed.perMember
                    input.claimable = typed.claimable
                } else {
                    let (perMemberPerDay, perDay, paysCommission) = (input.perMemberPerDay, input.perDay, input.paysCommission)
                    let kept = ["all", "merchant", "products", "categories"].contains(template.scope) ? nil : (input.scope, input.scopeIds)
                    input = typed
                    (input.perMemberPerDay, input.perDay, input.paysCommission) = (perMemberPerDay, perDay, paysCommission)
                    if let kept { (input.scope, input.scopeIds) = kept }
                }
                try form.check()
                _ = try await CouponService(db: db, now: now).update(id, input, merchantID: merchantID)
                try await AuditLog.record(on: db, actor: staff, action: "coupon.update", target: id.uuidString, ip: ip, at: now)
            }
            req.flash(.init("已保存", "Saved"))
        }
    }

    /// A form read into the body the API would take for it.
    enum TypedInput {
        case coupon(CouponTemplateInput), promotion(PromotionInput), flashSale(FlashSaleInput), groupBuy(GroupBuyInput), bargain(BargainInput)
    }

    /// The input of one form, built the way the API's body would be, then the service's `create`.
    static func create(_ kind: Form, _ form: FormReader, merchantID: UUID?, db: any Database, now: Date) async throws -> UUID {
        switch try await typedInput(kind, form, merchantID: merchantID, db: db) {
        case .coupon(let input): try await CouponService(db: db, now: now).create(input, merchantID: merchantID).requireID()
        case .promotion(let input): try await PromotionService(db: db, now: now).create(input, merchantID: merchantID).requireID()
        case .flashSale(let input): try await FlashSaleService(db: db, now: now).create(input, merchantID: merchantID).requireID()
        case .groupBuy(let input): try await GroupBuyService(db: db, now: now).create(input, merchantID: merchantID).requireID()
        case .bargain(let input): try await BargainService(db: db, now: now).create(input, merchantID: merchantID).requireID()
        }
    }

    /// One form's fields as the API's body; a field that cannot be read is a 422 naming it.
    static func typedInput(_ kind: Form, _ form: FormReader, merchantID: UUID?, db: any Database) async throws -> TypedInput {
        switch kind {
        case .coupon:
            let input = couponInput(form, merchantID: merchantID)
            try form.check()
            return .coupon(input)
        case .reduction, .gift:
            let gift = kind == .gift
            var tiers: [PromotionInput.Tier] = []
            for index in 1...(gift ? 1 : 2) {
                let threshold = form.fen("threshold\(index)", required: index == 1)
                let off = gift ? nil : form.fen("amountOff\(index)", required: index == 1)
                guard threshold != nil || off != nil || index == 1 else { continue }
                tiers.append(.init(thresholdFen: threshold ?? 0, amountOffFen: gift ? nil : off ?? 0, payRateBp: nil))
            }
            var input = PromotionInput(name: form.text("name"), kind: gift ? PromotionKind.gift.rawValue : PromotionKind.fullReduction.rawValue,
                                       startsAt: form.time("startsAt") ?? "", endsAt: form.time("endsAt") ?? "", tiers: tiers, skus: nil,
                                       perMemberLimit: nil, scope: "all", merchantId: nil, productIds: nil, paysCommission: nil)
            if gift {
                input.giftSkuId = try await form.sku("giftSkuId", merchantID: merchantID, db: db)
                input.giftQuantity = form.count("giftQuantity")
            }
            try form.check()
            return .promotion(input)
        case .limited:
            var skus: [PromotionInput.SkuPrice] = []
            for index in 1...3 where !form.text("sku\(index)").isEmpty || !form.text("price\(index)").isEmpty || index == 1 {
                let sku = try await form.sku("sku\(index)", merchantID: merchantID, db: db)
                let price = form.fen("price\(index)", required: true)
                if let sku, let price { skus.append(.init(skuId: sku, priceFen: price)) }
            }
            let input = PromotionInput(name: form.text("name"), kind: PromotionKind.limitedTime.rawValue, startsAt: form.time("startsAt") ?? "",
                                       endsAt: form.time("endsAt") ?? "", tiers: nil, skus: skus, perMemberLimit: form.count("perMemberLimit"),
                                       scope: nil, merchantId: nil, productIds: nil, paysCommission: nil)
            try form.check()
            return .promotion(input)
        case .flash:
            var items: [FlashSaleInput.Item] = []
            for index in 1...3 where !form.text("sku\(index)").isEmpty || !form.text("price\(index)").isEmpty || index == 1 {
                let sku = try await form.sku("sku\(index)", merchantID: merchantID, db: db)
                let price = form.fen("price\(index)", required: true)
                let stock = form.count("stock\(index)", required: true)
                if let sku, let price, let stock {
                    items.append(.init(skuId: sku, priceFen: price, stock: stock, perMemberLimit: form.count("limit\(index)")))
                }
            }
            let session = FlashSaleInput.Session(startsAt: form.time("startsAt") ?? "", endsAt: form.time("endsAt") ?? "", items: items)
            let input = FlashSaleInput(name: form.text("name"), sessions: [session], paysCommission: nil,
                                       unpaidMinutes: form.count("unpaidMinutes").map { Int(clamping: $0) })
            try form.check()
            return .flashSale(input)
        case .groupbuy:
            let sku = try await form.sku("sku", merchantID: merchantID, db: db)
            let price = form.fen("price", required: true)
            let size = form.count("size", required: true)
            let minutes = form.hours("hours")
            let (start, end) = (form.time("startsAt"), form.time("endsAt"))
            try form.check()
            guard let sku, let price, let size, let start, let end else { throw APIError.validation([]) }
            let input = GroupBuyInput(name: form.text("name"), skuId: sku, priceFen: price, size: Int(clamping: size), durationMinutes: minutes,
                                      virtualCompletion: form.text("virtualCompletion") == "on", startsAt: start, endsAt: end, paysCommission: nil)
            return .groupBuy(input)
        case .bargain:
            let sku = try await form.sku("sku", merchantID: merchantID, db: db)
            let floor = form.fen("floor", required: true)
            let cuts = form.count("maxCuts", required: true)
            let minutes = form.hours("hours")
            let daily = form.count("dailyCutLimit")
            let (start, end) = (form.time("startsAt"), form.time("endsAt"))
            try form.check()
            guard let sku, let floor, let cuts, let start, let end else { throw APIError.validation([]) }
            let input = BargainInput(name: form.text("name"), skuId: sku, floorPriceFen: floor, maxCuts: Int(clamping: cuts), durationMinutes: minutes,
                                     newMemberCountsDouble: form.text("newMemberDouble") == "on", dailyCutLimit: daily.map { Int(clamping: $0) },
                                     startsAt: start, endsAt: end, paysCommission: nil)
            return .bargain(input)
        }
    }
}

/// Reads a console form's fields, collecting a message per field that cannot be read, so a
/// submission is told everything wrong with its typing at once.
final class FormReader: @unchecked Sendable {
    private let fields: FormFields
    private(set) var issues: [APIError.FieldIssue] = []

    init(_ fields: FormFields) { self.fields = fields }

    func issue(_ field: String, _ zh: String, _ en: String) {
        guard !issues.contains(where: { $0.field == field }) else { return }
        issues.append(.init(field, .init(zh, en)))
    }

    func check() throws {
        guard issues.isEmpty else { throw APIError.validation(issues) }
    }

    func text(_ name: String) -> String {
        (fields.first(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Yuan as typed ("19.90") to fen exactly, with the 满减 form's parser; nil when blank.
    func fen(_ name: String, required: Bool = false) -> Int64? {
        do {
            let value = try CouponPageController.fen(fields.first(name), field: name)
            if value == nil, required { issue(name, "请输入金额，如 20 或 19.90", "Enter an amount such as 20 or 19.90") }
            return value
        } catch {
            issue(name, "请输入金额，如 20 或 19.90", "Enter an amount such as 20 or 19.90")
            return nil
        }
    }

    /// A whole number; nil when blank.
    func count(_ name: String, required: Bool = false) -> Int64? {
        let value = text(name)
        if value.isEmpty {
            if required { issue(name, "请输入整数", "Enter a whole number") }
            return nil
        }
        guard value.count <= 12, let number = Int64(value) else {
            issue(name, "请输入整数", "Enter a whole number")
            return nil
        }
        return number
    }

    /// Hours as typed, in minutes (1 to 168 hours); nil when blank (the service's default).
    func hours(_ name: String) -> Int? {
        guard let hours = count(name) else { return nil }
        guard (1...168).contains(hours) else {
            issue(name, "时限应为 1 到 168 小时", "The time limit must be 1 to 168 hours")
            return nil
        }
        return Int(hours) * 60
    }

    /// 折 as typed: 8.8 → 8 800 bp; 0 and 10 are refused.
    func zhe(_ name: String) -> Int? {
        let value = text(name)
        guard !value.isEmpty else { return nil }
        guard value.count <= 8, let zhe = try? Money.parse(value), zhe.fen > 0, zhe.fen < 1_000 else {
            issue(name, "折扣应在 0.01 到 9.99 折之间", "The rate must be between 0.01 and 9.99 折")
            return nil
        }
        return Int(zhe.fen * 10)
    }

    /// A `datetime-local` value ("2026-06-18T10:00") read in China time, or a full ISO 8601 time,
    /// as the ISO 8601 text the services take.
    func time(_ name: String) -> String? {
        let value = text(name)
        if value.count == 16 || value.count == 19 {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
            formatter.isLenient = false
            formatter.dateFormat = value.count == 16 ? "yyyy-MM-dd'T'HH:mm" : "yyyy-MM-dd'T'HH:mm:ss"
            if let date = formatter.date(from: value) { return MarketingConsolePageController.isoChina(date) }
        }
        if value.count <= 40, let date = ISO8601DateFormatter().date(from: value) { return MarketingConsolePageController.isoChina(date) }
        issue(name, "请选择时间，如 2026-06-18 10:00", "Choose a time such as 2026-06-18 10:00")
        return nil
    }

    /// Product or category ids, one per line or separated by commas or spaces.
    func ids(_ name: String, products: Bool) -> [UUID]? {
        let parts = text(name).split(whereSeparator: { $0 == "," || $0 == "，" || $0.isWhitespace }).map(String.init)
        guard !parts.isEmpty else {
            issue(name, products ? "请填写商品 ID" : "请填写类目 ID", products ? "Enter the product ids" : "Enter the category ids")
            return nil
        }
        guard parts.count <= CouponService.maxScopeIDs else {
            issue(name, "最多 \(CouponService.maxScopeIDs) 项", "At most \(CouponService.maxScopeIDs) entries")
            return nil
        }
        let ids = parts.compactMap { UUID(uuidString: $0) }
        guard ids.count == parts.count else {
            issue(name, "ID 格式不正确，每行一个", "Not a valid id; one per line")
            return nil
        }
        return ids
    }

    /// A SKU by its id (the shop's select) or its code (typed; for the operator the code must name
    /// one SKU). Whose SKU it is, the service checks.
    func sku(_ name: String, merchantID: UUID?, db: any Database) async throws -> UUID? {
        let value = text(name)
        guard !value.isEmpty else {
            issue(name, "请选择商品规格", "Choose a SKU")
            return nil
        }
        if let id = UUID(uuidString: value) { return id }
        guard value.count <= 64 else {
            issue(name, "没有这个规格编码", "No SKU has this code")
            return nil
        }
        var query = Sku.query(on: db).filter(\.$code == value)
        if let merchantID { query = query.filter(\.$merchantID == merchantID) }
        let found = try await query.limit(2).all()
        guard found.count == 1, let id = found[0].id else {
            if found.count > 1 {
                issue(name, "多个店铺使用该规格编码，请填写规格 ID", "Several shops use this code; enter the SKU id")
            } else {
                issue(name, "没有这个规格编码", "No SKU has this code")
            }
            return nil
        }
        return id
    }
}
