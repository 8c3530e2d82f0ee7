import Fluent
import Foundation
import MallCore
import Vapor

/// 修改活动 on an activity's 营销中心 page, for 满减, 满赠, 限时折扣, flash sales, group buys and
/// bargains (coupons have their own form). Before the activity starts the page shows its create
/// form filled in; once it has started, only what the service still lets change (the name and the
/// end time; a flash sale's name and stock). An activity set up beyond what the form can show
/// (more tiers, sessions or rows, a 满折 tier, a time limit in minutes) keeps the rest as it is.
/// Every change goes through the service's `update`, as the API's does. A shop's activity is
/// changed by the shop only: the operator's page has no form for it.
extension MarketingConsolePageController {
    struct EditField: Encodable, Sendable {
        let name: String
        let label: String
        let value: String
        /// text, money, count, time, check or sku.
        let type: String
        let required: Bool
    }

    struct EditForm: Encodable, Sendable {
        let action: String
        let hint: String
        let fields: [EditField]
        let skus: [Option]
        let isShop: Bool
    }

    /// What the edit of one activity looks like now.
    struct EditState {
        enum Mode { case open, started, beyondForm }
        let form: Form
        let mode: Mode
        /// The create form's fields as the activity stands (open mode).
        let values: [String: String]
        /// A flash sale's items whose stock the form shows after it started, as `stock1`…`stock3`.
        let stockItems: [FlashSaleItem]
    }

    private static func yuan(_ fen: Int64) -> String { Money(fen: fen).decimalString }

    private static func window(_ start: Date, _ end: Date) -> [String: String] {
        ["startsAt": localChina(start), "endsAt": localChina(end)]
    }

    /// Whole hours the create form can show for a time limit in seconds, or nil.
    private static func hours(_ seconds: Int) -> String? {
        seconds % 3_600 == 0 && (1...168).contains(seconds / 3_600) ? String(seconds / 3_600) : nil
    }

    static func editState(_ kind: Kind, _ id: UUID, merchantID: UUID?, db: any Database, now: Date) async throws -> EditState? {
        switch kind {
        case .coupon:
            return nil
        case .promotion:
            guard let activity = try await PromotionActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
            guard activity.status != PromotionStatus.stopped.rawValue else { return nil }
            let tiers = PromotionService.tiers(activity)
            var values = ["name": activity.name].merging(window(activity.startsAt, activity.endsAt)) { first, _ in first }
            let form: Form
            var fits = true
            switch PromotionKind(rawValue: activity.kind) {
            case .fullReduction:
                form = .reduction
                fits = tiers.count <= 2 && tiers.allSatisfy { $0.amountOffFen != nil }
                for (index, tier) in tiers.prefix(2).enumerated() {
                    values["threshold\(index + 1)"] = yuan(tier.thresholdFen)
                    values["amountOff\(index + 1)"] = tier.amountOffFen.map(yuan) ?? ""
                }
            case .gift:
                form = .gift
                let gift = PromotionService.gift(activity)
                values["threshold1"] = tiers.first.map { yuan($0.thresholdFen) } ?? ""
                values["giftSkuId"] = gift?.skuId.uuidString ?? ""
                values["giftQuantity"] = gift.map { String($0.quantity) } ?? "1"
            case .limitedTime:
                form = .limited
                let skus = PromotionService.skuPrices(activity)
                fits = skus.count <= 3
                for (index, sku) in skus.prefix(3).enumerated() {
                    values["sku\(index + 1)"] = sku.skuId.uuidString
                    values["price\(index + 1)"] = yuan(sku.priceFen)
                }
                values["perMemberLimit"] = activity.perMemberLimit.map(String.init) ?? ""
            case nil:
                return nil
            }
            return EditState(form: form, mode: activity.startsAt <= now ? .started : fits ? .open : .beyondForm, values: values, stockItems: [])
        case .flashSale:
            guard let activity = try await FlashSaleActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
            guard activity.status != FlashSaleStatus.stopped.rawValue else { return nil }
            let sessions = try await FlashSaleSessionRecord.query(on: db).filter(\.$activityID == id).all()
            let items = try await FlashSaleItem.query(on: db).filter(\.$activityID == id).sort(\.$position).all()
            let fits = sessions.count == 1 && items.count <= 3
            var values = ["name": activity.name, "unpaidMinutes": String(activity.unpaidMinutes)]
            if let session = sessions.first { values.merge(window(session.startsAt, session.endsAt)) { first, _ in first } }
            for (index, item) in items.prefix(3).enumerated() {
                values["sku\(index + 1)"] = item.skuID.uuidString
                values["price\(index + 1)"] = yuan(item.price)
                values["stock\(index + 1)"] = String(item.activityStock)
                values["limit\(index + 1)"] = item.perMemberLimit.map(String.init) ?? ""
            }
            let started = FlashSaleService.hasStarted(sessions: sessions, items: items, now: now)
            // After the start only stock changes, of sessions not yet over.
            let open = fits && sessions.allSatisfy { $0.endsAt > now } ? items.filter { !$0.released } : []
            return EditState(form: .flash, mode: started ? .started : fits ? .open : .beyondForm, values: values,
                             stockItems: started ? open : [])
        case .groupBuy:
            guard let activity = try await GroupBuyActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
            guard activity.status != PromotionStatus.stopped.rawValue else { return nil }
            let shownHours = hours(activity.durationSeconds)
            let values = ["name": activity.name, "sku": activity.skuID.uuidString, "price": yuan(activity.price), "size": String(activity.size),
                          "hours": shownHours ?? "", "virtualCompletion": activity.virtualCompletion ? "on" : ""]
                .merging(window(activity.startsAt, activity.endsAt)) { first, _ in first }
            return EditState(form: .groupbuy, mode: activity.startsAt <= now ? .started : shownHours != nil ? .open : .beyondForm,
                             values: values, stockItems: [])
        case .bargain:
            guard let activity = try await BargainActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
            try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
            guard activity.status != PromotionStatus.stopped.rawValue else { return nil }
            let shownHours = hours(activity.durationSeconds)
            let values = ["name": activity.name, "sku": activity.skuID.uuidString, "floor": yuan(activity.floorPrice), "maxCuts": String(activity.maxCuts),
                          "hours": shownHours ?? "", "dailyCutLimit": String(activity.dailyCutLimit), "newMemberDouble": activity.newMemberDouble ? "on" : ""]
                .merging(window(activity.startsAt, activity.endsAt)) { first, _ in first }
            return EditState(form: .bargain, mode: activity.startsAt <= now ? .started : shownHours != nil ? .open : .beyondForm,
                             values: values, stockItems: [])
        }
    }

    typealias FieldSpec = (name: String, label: String, type: String, required: Bool)

    /// The fields of a create form, in its order, with their labels.
    private static func fields(of form: Form, _ locale: MallLocale) -> [FieldSpec] {
        var specs: [FieldSpec] = []
        func add(_ name: String, _ zh: String, _ en: String, _ type: String, _ required: Bool = true) {
            specs.append((name, LocalizedText(zh, en)(locale), type, required))
        }
        func window() {
            add("startsAt", "开始时间", "Starts", "time")
            add("endsAt", "结束时间", "Ends", "time")
        }
        add("name", "活动名称", "Name", "text")
        switch form {
        case .coupon:
            return []
        case .reduction:
            window()
            add("threshold1", "第 1 档 满（元）", "Tier 1 threshold (¥)", "money")
            add("amountOff1", "第 1 档 减（元）", "Tier 1 off (¥)", "money")
            add("threshold2", "第 2 档 满（元）", "Tier 2 threshold (¥)", "money", false)
            add("amountOff2", "第 2 档 减（元）", "Tier 2 off (¥)", "money", false)
        case .gift:
            window()
            add("threshold1", "满（元）", "Threshold (¥)", "money")
            add("giftSkuId", "赠品规格", "Gift SKU", "sku")
            add("giftQuantity", "每单赠送件数", "Gifts per order", "count")
        case .limited:
            window()
            for row in 1...3 {
                add("sku\(row)", "第 \(row) 行 规格", "Row \(row) SKU", "sku", row == 1)
                add("price\(row)", "第 \(row) 行 活动价（元）", "Row \(row) price (¥)", "money", row == 1)
            }
            add("perMemberLimit", "每人限购（件）", "Limit per member", "count", false)
        case .flash:
            window()
            for row in 1...3 {
                add("sku\(row)", "第 \(row) 行 规格", "Row \(row) SKU", "sku", row == 1)
                add("price\(row)", "第 \(row) 行 秒杀价（元）", "Row \(row) flash price (¥)", "money", row == 1)
                add("stock\(row)", "第 \(row) 行 活动库存", "Row \(row) stock", "count", row == 1)
                add("limit\(row)", "第 \(row) 行 每人限购", "Row \(row) limit per member", "count", false)
            }
            add("unpaidMinutes", "未付款关闭（分钟）", "Unpaid orders close after (minutes)", "count", false)
        case .groupbuy:
            add("sku", "规格", "SKU", "sku")
            add("price", "拼团价（元）", "Group price (¥)", "money")
            add("size", "成团人数", "Group size", "count")
            add("hours", "成团时限（小时）", "Time limit (hours)", "count", false)
            add("virtualCompletion", "模拟成团：到时未满也算成团", "Virtual completion", "check", false)
            window()
        case .bargain:
            add("sku", "规格", "SKU", "sku")
            add("floor", "底价（元）", "Floor price (¥)", "money")
            add("maxCuts", "最多刀数", "Most cuts", "count")
            add("hours", "砍价时限（小时）", "Time limit (hours)", "count", false)
            add("dailyCutLimit", "每人每日助力次数", "Cuts per helper per day", "count", false)
            add("newMemberDouble", "新会员一刀顶两刀", "New members cut for two", "check", false)
            window()
        }
        return specs
    }

    /// The edit form of the results page, or nil for a stopped activity.
    static func editForm(_ kind: Kind, _ id: UUID, prefix: String, merchantID: UUID?, skus: [Option], db: any Database, now: Date,
                         locale: MallLocale) async throws -> EditForm? {
        let found: EditState?
        do {
            found = try await editState(kind, id, merchantID: merchantID, db: db, now: now)
        } catch let error as APIError where error.code == ActivityOwnership.shopOwned.code {
            return nil  // the operator stops a shop's activity but does not change it
        }
        guard let state = found else { return nil }
        let action = "/\(prefix)/marketing/\(kind.rawValue)/\(id.uuidString.lowercased())/edit"
        var fields: [EditField] = []
        let hint: String
        switch state.mode {
        case .open:
            hint = LocalizedText("活动开始前可以修改任何内容。", "Until it starts, everything can change.")(locale)
            fields = Self.fields(of: state.form, locale).map {
                EditField(name: $0.name, label: $0.label, value: state.values[$0.name] ?? "", type: $0.type, required: $0.required)
            }
        case .started, .beyondForm:
            let name = EditField(name: "name", label: LocalizedText("活动名称", "Name")(locale), value: state.values["name"] ?? "", type: "text", required: true)
            fields = [name]
            if state.form == .flash {
                hint = state.mode == .started && !state.stockItems.isEmpty
                    ? LocalizedText("秒杀已开始：只能修改名称和未结束场次的活动库存，库存不能少于已售出和待支付的件数。",
                                    "The flash sale has started: only its name and the stock of sessions not yet over can change, never below what is sold or awaiting payment.")(locale)
                    : state.mode == .started
                    ? LocalizedText("秒杀已开始：这里只改名称；场次或规格超出此表单（或场次已结束），活动库存请通过 API 修改。",
                                    "The flash sale has started: change its name here; it has more sessions or rows than this form shows (or they are over), so change stock through the API.")(locale)
                    : LocalizedText("这个秒杀的场次或规格超出此表单：这里只改名称，其余请通过 API 修改。",
                                    "This flash sale has more sessions or rows than this form shows: change its name here and the rest through the API.")(locale)
                for (index, item) in state.stockItems.enumerated() {
                    let taken = item.activityStock - item.available
                    fields.append(EditField(name: "stock\(index + 1)",
                                            label: LocalizedText("第 \(index + 1) 行 活动库存（已占用 \(taken) 件）", "Row \(index + 1) stock (\(taken) taken)")(locale),
                                            value: String(item.activityStock), type: "count", required: true))
                }
            } else {
                hint = state.mode == .started
                    ? LocalizedText("活动已开始：只能修改名称和结束时间，已下的订单不受影响。", "The activity has started: only its name and end time can change; orders placed keep their terms.")(locale)
                    : LocalizedText("这个活动的设置超出此表单：这里只改名称和结束时间，其余请通过 API 修改。",
                                    "This activity is set up beyond what this form shows: change its name and end time here and the rest through the API.")(locale)
                fields.append(EditField(name: "endsAt", label: LocalizedText("结束时间", "Ends")(locale), value: state.values["endsAt"] ?? "", type: "time", required: true))
            }
        }
        return EditForm(action: action, hint: hint, fields: fields, skus: skus, isShop: merchantID != nil)
    }

    /// POST …/marketing/{kind}/{id}/edit: reads the form as the page showed it and saves through the service.
    func editActivity(_ req: Request, shop: Bool) async throws -> Response {
        guard let (staff, merchantID) = try principal(req, shop: shop) else { return req.redirect(to: shop ? "/merchant/login" : "/admin/login") }
        guard let kind = Kind(rawValue: req.parameters.get("kind") ?? ""), kind != .coupon else { throw APIError.notFound }
        let id = try req.uuidParameter("activityID")
        let back = "/\(shop ? "merchant" : "admin")/marketing/\(kind.rawValue)/\(id.uuidString.lowercased())"
        let fields = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, back) {
            if shop { guard req.principalCan(.manageShop) else { throw APIError.forbidden } }
            try await req.writeTransaction { db in
                guard let state = try await Self.editState(kind, id, merchantID: merchantID, db: db, now: now) else {
                    throw APIError(.conflict, "activity.stopped", .init("该活动已停止，不能再修改", "This activity is stopped and cannot be changed"))
                }
                let form = FormReader(fields)
                if state.mode == .open {
                    switch try await Self.typedInput(state.form, form, merchantID: merchantID, db: db) {
                    case .coupon:
                        throw APIError.notFound
                    case .promotion(let typed):
                        guard let activity = try await PromotionActivity.find(id, on: db) else { throw APIError.notFound }
                        // The form has no scope or commission switch: those stay.
                        var input = StoredActivityInput.promotion(activity)
                        input = PromotionInput(name: typed.name, kind: input.kind, startsAt: typed.startsAt, endsAt: typed.endsAt, tiers: typed.tiers,
                                               skus: typed.skus, perMemberLimit: typed.perMemberLimit, scope: input.scope, merchantId: input.merchantId,
                                               productIds: input.productIds, paysCommission: input.paysCommission, giftSkuId: typed.giftSkuId,
                                               giftQuantity: typed.giftQuantity)
                        _ = try await PromotionService(db: db, now: now).update(id, input, merchantID: merchantID)
                    case .flashSale(let typed):
                        guard let activity = try await FlashSaleActivity.find(id, on: db) else { throw APIError.notFound }
                        let input = FlashSaleInput(name: typed.name, sessions: typed.sessions, paysCommission: activity.paysCommission, unpaidMinutes: typed.unpaidMinutes)
                        _ = try await FlashSaleService(db: db, now: now).update(id, input, merchantID: merchantID)
                    case .groupBuy(let typed):
                        guard let activity = try await GroupBuyActivity.find(id, on: db) else { throw APIError.notFound }
                        let input = GroupBuyInput(name: typed.name, skuId: typed.skuId, priceFen: typed.priceFen, size: typed.size, durationMinutes: typed.durationMinutes,
                                                  virtualCompletion: typed.virtualCompletion, startsAt: typed.startsAt, endsAt: typed.endsAt,
                                                  paysCommission: activity.paysCommission)
                        _ = try await GroupBuyService(db: db, now: now).update(id, input, merchantID: merchantID)
                    case .bargain(let typed):
                        guard let activity = try await BargainActivity.find(id, on: db) else { throw APIError.notFound }
                        let input = BargainInput(name: typed.name, skuId: typed.skuId, floorPriceFen: typed.floorPriceFen, maxCuts: typed.maxCuts,
                                                 durationMinutes: typed.durationMinutes, newMemberCountsDouble: typed.newMemberCountsDouble,
                                                 dailyCutLimit: typed.dailyCutLimit, startsAt: typed.startsAt, endsAt: typed.endsAt,
                                                 paysCommission: activity.paysCommission)
                        _ = try await BargainService(db: db, now: now).update(id, input, merchantID: merchantID)
                    }
                } else {
                    // Only the name and the end time (a flash sale's name and stock) are read.
                    let name = form.text("name")
                    switch kind {
                    case .coupon:
                        throw APIError.notFound
                    case .promotion:
                        let endsAt = form.time("endsAt")
                        try form.check()
                        guard let activity = try await PromotionActivity.find(id, on: db) else { throw APIError.notFound }
                        _ = try await PromotionService(db: db, now: now).update(id, StoredActivityInput.promotion(activity, name: name, endsAt: endsAt),
                                                                                merchantID: merchantID)
                    case .groupBuy:
                        let endsAt = form.time("endsAt")
                        try form.check()
                        guard let activity = try await GroupBuyActivity.find(id, on: db) else { throw APIError.notFound }
                        _ = try await GroupBuyService(db: db, now: now).update(id, StoredActivityInput.groupBuy(activity, name: name, endsAt: endsAt),
                                                                               merchantID: merchantID)
                    case .bargain:
                        let endsAt = form.time("endsAt")
                        try form.check()
                        guard let activity = try await BargainActivity.find(id, on: db) else { throw APIError.notFound }
                        _ = try await BargainService(db: db, now: now).update(id, StoredActivityInput.bargain(activity, name: name, endsAt: endsAt),
                                                                              merchantID: merchantID)
                    case .flashSale:
                        var stock: [UUID: Int64] = [:]
                        for (index, item) in state.stockItems.enumerated() {
                            if let units = form.count("stock\(index + 1)", required: true), let itemID = item.id { stock[itemID] = units }
                        }
                        try form.check()
                        guard let activity = try await FlashSaleActivity.find(id, on: db) else { throw APIError.notFound }
                        let sessions = try await FlashSaleSessionRecord.query(on: db).filter(\.$activityID == id).all()
                        let items = try await FlashSaleItem.query(on: db).filter(\.$activityID == id).all()
                        let input = StoredActivityInput.flashSale(activity, sessions: sessions, items: items, name: name, stock: stock)
                        _ = try await FlashSaleService(db: db, now: now).update(id, input, merchantID: merchantID)
                    }
                }
                try await AuditLog.record(on: db, actor: staff, action: "\(kind.rawValue).update", target: id.uuidString, ip: ip, at: now)
            }
            req.flash(.init("已保存", "Saved"))
        }
    }
}
