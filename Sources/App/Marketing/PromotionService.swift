import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

enum PromotionStatus: String, Codable, Sendable, CaseIterable {
    case active, paused, stopped
}

/// Creating, pausing and stopping promotion activities, and turning the active ones into the
/// engine's `FullReductionActivity` and `LimitedTimeOffer` values.
struct PromotionService {
    let db: any Database
    let now: Date

    static let maxName = 40
    static let maxTiers = 5
    static let maxSkus = 50
    static let maxProducts = 100
    /// ¥100 000 000: far above any real threshold, far below overflow.
    static let maxAmountFen: Int64 = 10_000_000_000
    static let maxLimit: Int64 = 10_000
    /// Ten years.
    static let maxSpan: TimeInterval = 3_650 * 86_400
    /// At most this many active activities are read for one checkout or page.
    static let activeLimit = 200

    // MARK: - reading the stored JSON

    static func tiers(_ activity: PromotionActivity) -> [PromotionInput.Tier] {
        (try? JSONDecoder().decode([PromotionInput.Tier].self, from: Data(activity.tiersJSON.utf8))) ?? []
    }

    static func skuPrices(_ activity: PromotionActivity) -> [PromotionInput.SkuPrice] {
        (try? JSONDecoder().decode([PromotionInput.SkuPrice].self, from: Data(activity.skusJSON.utf8))) ?? []
    }

    static func gift(_ activity: PromotionActivity) -> PromotionGift? {
        guard activity.kind == PromotionKind.gift.rawValue else { return nil }
        return (try? JSONDecoder().decode([PromotionGift].self, from: Data(activity.skusJSON.utf8)))?.first
    }

    static let maxGiftQuantity: Int64 = 99

    static func productIDs(_ activity: PromotionActivity) -> [UUID] {
        (try? JSONDecoder().decode([UUID].self, from: Data(activity.productIDsJSON.utf8))) ?? []
    }

    /// 19 900 fen → "199", 990 → "9.9".
    static func yuan(_ money: Money) -> String {
        let text = money.decimalString
        if text.hasSuffix(".00") { return String(text.dropLast(3)) }
        if text.hasSuffix("0") { return String(text.dropLast()) }
        return text
    }

    /// 「满199减20」, 「满299打9折」.
    static func tierSummary(_ tier: PromotionInput.Tier, _ locale: MallLocale) -> String {
        let threshold = Money(fen: tier.thresholdFen)
        if let off = tier.amountOffFen {
            return LocalizedText("满\(yuan(threshold))减\(yuan(Money(fen: off)))", "\(Money(fen: off).formatted(.en)) off \(threshold.formatted(.en))")(locale)
        }
        let rate = tier.payRateBp ?? 10_000
        let zhe = yuan(Money(fen: Int64(rate / 10))) + (rate % 10 == 0 ? "" : "\(rate % 10)")
        return LocalizedText("满\(yuan(threshold))打\(zhe)折", "\(yuan(Money(fen: Int64(10_000 - rate))))% off \(threshold.formatted(.en))")(locale)
    }

    /// 「满199减20 / 满299减40」, 「限时价」 or 「满199送赠品」.
    static func summary(_ activity: PromotionActivity, _ locale: MallLocale) -> String {
        switch PromotionKind(rawValue: activity.kind) {
        case .fullReduction: tiers(activity).map { tierSummary($0, locale) }.joined(separator: " / ")
        case .limitedTime: LocalizedText("限时价", "Limited-time price")(locale)
        case .gift:
            if let tier = tiers(activity).first {
                LocalizedText("满\(yuan(Money(fen: tier.thresholdFen)))送赠品", "A gift with \(Money(fen: tier.thresholdFen).formatted(.en)) or more")(locale)
            } else { "" }
        case nil: ""
        }
    }

    static func payer(_ activity: PromotionActivity) -> DiscountPayer {
        if activity.owner == "merchant", let merchant = activity.merchantID { return .merchant(merchant) }
        return .platform
    }

    static func window(_ activity: PromotionActivity) throws(MarketingError) -> ActivityWindow {
        try ActivityWindow(start: activity.startsAt, end: activity.endsAt)
    }

    static func scope(_ activity: PromotionActivity) -> MarketingScope {
        switch activity.scope {
        case "products": .products(Set(productIDs(activity)))
        case "merchant": activity.scopeMerchantID.map { MarketingScope.merchant($0) } ?? MarketingScope.all
        default: .all
        }
    }

    /// The engine's 满赠: a shop's only (the shop ships the gift from its stock).
    static func giftActivity(_ activity: PromotionActivity) throws -> GiftActivity {
        guard let gift = gift(activity), let threshold = tiers(activity).first?.thresholdFen, let merchant = activity.merchantID else {
            throw MarketingError.invalidAmount
        }
        return try GiftActivity(id: try activity.requireID().uuidString.lowercased(), name: activity.name, scope: scope(activity),
                                payer: .merchant(merchant), window: try window(activity), threshold: Money(fen: threshold),
                                giftSKU: gift.skuId, giftQuantity: gift.quantity)
    }

    /// The engine's activity; the id the allocations carry is the activity's id.
    static func fullReduction(_ activity: PromotionActivity) throws -> FullReductionActivity {
        let scope = scope(activity)
        let steps = try Self.tiers(activity).map { tier throws(MarketingError) -> PromotionTier in
            if let off = tier.amountOffFen { return .amountOff(over: Money(fen: tier.thresholdFen), Money(fen: off)) }
            guard let rate = tier.payRateBp else { throw .invalidRate }
            return .payRate(over: Money(fen: tier.thresholdFen), BasisPoints(rate))
        }
        return try FullReductionActivity(id: try activity.requireID().uuidString.lowercased(), name: activity.name, scope: scope,
                                         payer: payer(activity), window: try window(activity), tiers: steps, paysCommission: activity.paysCommission)
    }

    /// One offer per SKU, each with the id "<activity>/<sku>" (the allocations need one id per line).
    static func offers(_ activity: PromotionActivity) throws -> [LimitedTimeOffer] {
        let id = try activity.requireID().uuidString.lowercased()
        return try skuPrices(activity).map { sku in
            try LimitedTimeOffer(id: "\(id)/\(sku.skuId.uuidString.lowercased())", name: activity.name, skuID: sku.skuId, price: Money(fen: sku.priceFen),
                                 window: try window(activity), perMemberLimit: activity.perMemberLimit, payer: payer(activity),
                                 paysCommission: activity.paysCommission)
        }
    }

    /// Splits a limited-time source id back into its activity and SKU.
    static func offerParts(_ sourceID: String) -> (activity: UUID, sku: UUID)? {
        let parts = sourceID.split(separator: "/")
        guard parts.count == 2, let activity = UUID(uuidString: String(parts[0])), let sku = UUID(uuidString: String(parts[1])) else { return nil }
        return (activity, sku)
    }

    // MARK: - active activities

    /// Activities running now: active and within their window.
    func active() async throws -> [PromotionActivity] {
        try await PromotionActivity.query(on: db).filter(\.$status == PromotionStatus.active.rawValue)
            .filter(\.$startsAt <= now).filter(\.$endsAt > now)
            .sort(\.$createdAt).sort(\.$id).limit(Self.activeLimit).all()
    }

    /// The engine's inputs from the active activities: full reductions with product scopes first,
    /// then one shop's, then the whole mall's (a line joins the first that covers it).
    func engineInputs() async throws -> (fullReductions: [FullReductionActivity], offers: [LimitedTimeOffer], gifts: [GiftActivity]) {
        let running = try await active()
        let rank: [String: Int] = ["products": 0, "merchant": 1, "all": 2]
        var reductions: [(Int, FullReductionActivity)] = []
        var offers: [LimitedTimeOffer] = []
        var gifts: [GiftActivity] = []
        for activity in running {
            switch PromotionKind(rawValue: activity.kind) {
            case .fullReduction:
                guard let engine = try? Self.fullReduction(activity) else { continue }
                let scopeRank = activity.scope == "all" && activity.owner == "merchant" ? 1 : rank[activity.scope] ?? 2
                reductions.append((scopeRank, engine))
            case .limitedTime:
                offers.append(contentsOf: (try? Self.offers(activity)) ?? [])
            case .gift:
                if let engine = try? Self.giftActivity(activity) { gifts.append(engine) }
            case nil:
                continue
            }
        }
        let ordered = reductions.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map { $0.element.1 }
        return (ordered, offers, gifts)
    }

    /// Units the member bought under each offer before, in orders neither cancelled nor closed
    /// (awaiting payment counts, so unpaid orders cannot stack past the limit).
    func boughtUnder(_ offers: [LimitedTimeOffer], memberID: UUID, skus: Set<UUID>) async throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for offer in offers where skus.contains(offer.skuID) {
            guard let parts = Self.offerParts(offer.id) else { continue }
            let row = try await sqlDatabase(db).raw("""
                SELECT CAST(COALESCE(SUM(p.units), 0) AS BIGINT) AS units FROM promotion_purchases p JOIN orders o ON o.id = p.order_id
                WHERE p.activity_id = \(bind: parts.activity) AND p.member_id = \(bind: memberID) AND p.sku_id = \(bind: parts.sku)
                  AND o.state NOT IN ('cancelled', 'closed')
                """).first()
            result[offer.id] = try row?.decode(column: "units", as: Int64.self) ?? 0
        }
        return result
    }

    // MARK: - creating and changing

    /// Checks every field, then lets MallCore judge the whole; writes nothing on a refusal. A shop's
    /// activity is paid by the shop and covers only its own products.
    func create(_ input: PromotionInput, merchantID: UUID?) async throws -> PromotionActivity {
        let activity = try await built(input, merchantID: merchantID)
        try await activity.create(on: db)
        return activity
    }

    /// 修改活动. Before it starts every field may change, as when creating it. Once it has started,
    /// buyers have been shown its terms and orders carry them, so only the name, the end time (not
    /// before now) and the commission switch change; anything else is a 409 that changes nothing.
    func update(_ id: UUID, _ input: PromotionInput, merchantID: UUID?) async throws -> PromotionActivity {
        try await lockRow(PromotionActivity.schema, id, on: db)
        guard let activity = try await PromotionActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue else {
            throw APIError(.conflict, "promotion.stopped", .init("该活动已停止，不能再修改", "This activity is stopped and cannot be changed"))
        }
        try ActivityOwnership.requireEditable(activityShop: activity.merchantID, by: merchantID)
        let edited = try await built(input, merchantID: activity.merchantID)
        if activity.startsAt <= now, !Self.sameTerms(edited, activity) {
            throw APIError(.conflict, "promotion.terms_locked", .init("活动已开始，只能修改名称、结束时间和是否计佣",
                                                                      "The activity has started: only its name, end time and commission switch can change"))
        }
        activity.name = edited.name
        activity.kind = edited.kind
        activity.tiersJSON = edited.tiersJSON
        activity.skusJSON = edited.skusJSON
        activity.perMemberLimit = edited.perMemberLimit
        activity.startsAt = edited.startsAt
        activity.endsAt = edited.endsAt
        activity.scope = edited.scope
        activity.scopeMerchantID = edited.scopeMerchantID
        activity.productIDsJSON = edited.productIDsJSON
        activity.paysCommission = edited.paysCommission
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// Whether two activities offer buyers the same: all but the name, the end time and the commission switch.
    static func sameTerms(_ one: PromotionActivity, _ other: PromotionActivity) -> Bool {
        one.kind == other.kind && tiers(one) == tiers(other) && skuPrices(one) == skuPrices(other) && gift(one) == gift(other)
            && one.perMemberLimit == other.perMemberLimit && abs(one.startsAt.timeIntervalSince(other.startsAt)) < 1
            && one.scope == other.scope && one.scopeMerchantID == other.scopeMerchantID && productIDs(one) == productIDs(other)
    }

    /// A new, unsaved activity from the input, or the reasons it cannot be one.
    private func built(_ input: PromotionInput, merchantID: UUID?) async throws -> PromotionActivity {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写活动名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        let kind = PromotionKind(rawValue: input.kind)
        if kind == nil { issue("kind", "活动类型应为 full_reduction（满减/满折）、limited_time（限时折扣）或 gift（满赠）", "kind must be full_reduction, limited_time or gift") }
        let formatter = ISO8601DateFormatter()
        let start = input.startsAt.count <= 40 ? formatter.date(from: input.startsAt) : nil
        let end = input.endsAt.count <= 40 ? formatter.date(from: input.endsAt) : nil
        if start == nil { issue("startsAt", "时间格式应为 ISO 8601，如 2025-06-18T00:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T00:00:00+08:00") }
        if end == nil { issue("endsAt", "时间格式应为 ISO 8601，如 2025-06-30T23:59:59+08:00", "Use an ISO 8601 time such as 2025-06-30T23:59:59+08:00") }
        if let start, let end {
            if end <= start { issue("endsAt", "结束时间应晚于开始时间", "endsAt must be after startsAt") }
            if end <= now { issue("endsAt", "结束时间应晚于现在", "endsAt must be in the future") }
            if end.timeIntervalSince(now) > Self.maxSpan || now.timeIntervalSince(start) > Self.maxSpan {
                issue("endsAt", "活动时间最多在十年内", "The window must be within ten years")
            }
        }
        let tiers = input.tiers ?? []
        let skus = input.skus ?? []
        let productIDs = input.productIds ?? []
        let scope = input.scope ?? (productIDs.isEmpty ? "all" : "products")
        if tiers.count > Self.maxTiers { issue("tiers", "最多 \(Self.maxTiers) 档", "At most \(Self.maxTiers) tiers") }
        if skus.count > Self.maxSkus { issue("skus", "最多 \(Self.maxSkus) 个规格", "At most \(Self.maxSkus) SKUs") }
        if productIDs.count > Self.maxProducts { issue("productIds", "最多选择 \(Self.maxProducts) 个商品", "At most \(Self.maxProducts) products") }
        for (index, tier) in tiers.enumerated() {
            for (field, value) in [("thresholdFen", tier.thresholdFen as Int64?), ("amountOffFen", tier.amountOffFen)] {
                if let value, !(1...Self.maxAmountFen).contains(value) { issue("tiers[\(index)].\(field)", "金额应在 0.01 元到 1 亿元之间", "The amount must be between ¥0.01 and ¥100,000,000") }
            }
            if let rate = tier.payRateBp, !(1...9_999).contains(rate) { issue("tiers[\(index)].payRateBp", "折扣应在 1 到 9999（0.01 折到 9.999 折）之间", "payRateBp must be between 1 and 9999") }
            if kind != .gift, (tier.amountOffFen == nil) == (tier.payRateBp == nil) {
                issue("tiers[\(index)]", "每档填写减免金额（amountOffFen）或折扣（payRateBp），二选一", "Give either amountOffFen or payRateBp for each tier")
            }
        }
        for (index, sku) in skus.enumerated() where !(0...Self.maxAmountFen).contains(sku.priceFen) {
            issue("skus[\(index)].priceFen", "活动价应在 0 到 1 亿元之间", "The price must be between ¥0 and ¥100,000,000")
        }
        if Set(skus.map(\.skuId)).count != skus.count { issue("skus", "同一规格只能出现一次", "Each SKU may appear once") }
        if let limit = input.perMemberLimit, !(1...Self.maxLimit).contains(limit) { issue("perMemberLimit", "每人限购应在 1 到 \(Self.maxLimit) 件之间", "perMemberLimit must be between 1 and \(Self.maxLimit)") }
        switch kind {
        case .fullReduction:
            if tiers.isEmpty { issue("tiers", "请至少设置一档优惠", "Give at least one tier") }
            if !skus.isEmpty || input.perMemberLimit != nil { issue("skus", "满减活动不设活动价和限购", "A full-reduction activity takes no SKU prices or limits") }
            if !["all", "merchant", "products"].contains(scope) { issue("scope", "适用范围应为 all、merchant 或 products", "scope must be all, merchant or products") }
            if scope == "products", productIDs.isEmpty { issue("productIds", "请选择适用的商品", "Choose the products it applies to") }
            if scope == "merchant", input.merchantId == nil, merchantID == nil { issue("merchantId", "请选择店铺", "Choose the shop") }
        case .limitedTime:
            if skus.isEmpty { issue("skus", "请至少设置一个规格的活动价", "Give at least one SKU price") }
            if !tiers.isEmpty || !productIDs.isEmpty || input.merchantId != nil { issue("tiers", "限时折扣只设规格活动价和限购", "A limited-time activity takes only SKU prices and a limit") }
        case .gift:
            if merchantID == nil { issue("kind", "满赠活动由店铺创建：赠品由店铺从自己的库存发出", "Gift activities are a shop's: the shop sends the gift from its own stock") }
            if tiers.count != 1 || tiers.contains(where: { $0.amountOffFen != nil || $0.payRateBp != nil }) {
                issue("tiers", "满赠设置一档门槛（只填 thresholdFen）", "A gift activity takes one tier with thresholdFen only")
            }
            if input.giftSkuId == nil { issue("giftSkuId", "请选择赠品规格", "Choose the gift SKU") }
            if let quantity = input.giftQuantity, !(1...Self.maxGiftQuantity).contains(quantity) {
                issue("giftQuantity", "每单赠送 1 到 \(Self.maxGiftQuantity) 件", "giftQuantity must be between 1 and \(Self.maxGiftQuantity)")
            }
            if !skus.isEmpty || input.perMemberLimit != nil { issue("skus", "满赠活动不设活动价和限购", "A gift activity takes no SKU prices or limits") }
            if !["all", "products"].contains(scope) { issue("scope", "满赠适用范围应为 all（本店全部商品）或 products", "scope must be all (the whole shop) or products") }
            if scope == "products", productIDs.isEmpty { issue("productIds", "请选择适用的商品", "Choose the products it applies to") }
        case nil:
            break
        }
        if kind != .gift, input.giftSkuId != nil || input.giftQuantity != nil {
            issue("giftSkuId", "只有满赠活动设置赠品", "Only a gift activity has a gift")
        }
        if merchantID != nil, input.merchantId != nil, input.merchantId != merchantID {
            issue("merchantId", "只能为本店创建活动", "Create activities for your own shop only")
        }
        guard issues.isEmpty, let kind, let start, let end else { throw APIError.validation(issues) }

        // Products and SKUs exist (a shop's: its own; the merchant scope's: that shop's).
        let shop = merchantID ?? (scope == "merchant" ? input.merchantId : nil)
        if let shop, kind == .fullReduction, merchantID == nil, try await Merchant.find(shop, on: db) == nil {
            throw APIError.validation([.init("merchantId", .init("店铺不存在", "No such shop"))])
        }
        let uniqueProducts = Array(Set(productIDs))
        if kind != .limitedTime, scope == "products" {
            var query = Product.query(on: db).filter(\.$id ~~ uniqueProducts)
            if let shop { query = query.filter(\.$merchant.$id == shop) }
            if try await query.count() != uniqueProducts.count {
                throw APIError.validation([.init("productIds", .init(shop == nil ? "有商品不存在" : "只能选择本店的商品",
                                                                     shop == nil ? "Some products do not exist" : "Choose your own shop's products only"))])
            }
        }
        if kind == .limitedTime {
            let found = try await Sku.query(on: db).filter(\.$id ~~ skus.map(\.skuId)).all()
            for (index, sku) in skus.enumerated() {
                guard let row = found.first(where: { $0.id == sku.skuId }), merchantID == nil || row.merchantID == merchantID else {
                    throw APIError.validation([.init("skus[\(index)].skuId", .init(merchantID == nil ? "规格不存在" : "只能选择本店的商品规格",
                                                                                   merchantID == nil ? "No such SKU" : "Choose your own shop's SKUs only"))])
                }
                guard sku.priceFen < row.price else {
                    throw APIError.validation([.init("skus[\(index)].priceFen", .init("活动价应低于原价", "The activity price must be below the normal price"))])
                }
            }
        }

        if kind == .gift, let giftSkuId = input.giftSkuId {
            guard let sku = try await Sku.find(giftSkuId, on: db), sku.merchantID == merchantID else {
                throw APIError.validation([.init("giftSkuId", .init("只能选择本店的商品规格作赠品", "Choose one of your own shop's SKUs as the gift"))])
            }
        }

        let activity = PromotionActivity()
        activity.id = UUID()
        activity.name = name
        activity.kind = kind.rawValue
        activity.tiersJSON = String(decoding: try JSONEncoder().encode(tiers), as: UTF8.self)
        activity.skusJSON = if kind == .gift, let giftSkuId = input.giftSkuId {
            String(decoding: try JSONEncoder().encode([PromotionGift(skuId: giftSkuId, quantity: input.giftQuantity ?? 1)]), as: UTF8.self)
        } else {
            String(decoding: try JSONEncoder().encode(skus), as: UTF8.self)
        }
        activity.perMemberLimit = kind == .limitedTime ? input.perMemberLimit : nil
        activity.startsAt = start
        activity.endsAt = end
        if kind == .limitedTime {
            activity.scope = "products"
            activity.scopeMerchantID = merchantID
            activity.productIDsJSON = "[]"
        } else {
            activity.scope = merchantID != nil && scope == "all" ? "merchant" : scope
            activity.scopeMerchantID = activity.scope == "merchant" ? shop : (scope == "products" ? shop : nil)
            activity.productIDsJSON = String(decoding: try JSONEncoder().encode(scope == "products" ? uniqueProducts.sorted { $0.uuidString < $1.uuidString } : []),
                                             as: UTF8.self)
        }
        activity.owner = merchantID == nil ? "platform" : "merchant"
        activity.merchantID = merchantID
        activity.status = PromotionStatus.active.rawValue
        activity.paysCommission = input.paysCommission ?? kind.activityKind.paysCommissionByDefault
        activity.createdAt = now
        activity.updatedAt = now
        // The engine judges the whole: ascending tiers, amount below threshold, rates, window.
        switch kind {
        case .fullReduction: _ = try Self.fullReduction(activity)
        case .limitedTime: _ = try Self.offers(activity)
        case .gift: _ = try Self.giftActivity(activity)
        }
        return activity
    }

    /// Pause, resume or stop; a stopped activity stays stopped. A shop changes only its own.
    func setStatus(_ id: UUID, to status: PromotionStatus, merchantID: UUID?) async throws -> PromotionActivity {
        guard let activity = try await PromotionActivity.find(id, on: db), merchantID == nil || activity.merchantID == merchantID else { throw APIError.notFound }
        guard activity.status != PromotionStatus.stopped.rawValue || status == .stopped else {
            throw APIError(.conflict, "promotion.stopped", .init("该活动已停止，不能再启用", "This activity is stopped and cannot be resumed"))
        }
        activity.status = status.rawValue
        activity.updatedAt = now
        try await activity.save(on: db)
        return activity
    }

    /// After an order is placed: the units each of its lines got at a limited-time price. The
    /// member's earlier units are counted again in the placing transaction, which holds the
    /// member's row (`OrderService.place`), so two checkouts at once cannot both take the last
    /// units of the limit.
    static func recordPurchases(_ line: MarketingLine?, memberID: UUID, orderID: UUID, lineID: UUID, now: Date, db: any Database) async throws {
        guard let line, line.limitedTimeUnits > 0,
              let source = line.allocations.first(where: { $0.source.kind == .limitedTime })?.source,
              let parts = offerParts(source.id) else { return }
        let sql = try sqlDatabase(db)
        if let limit = try await PromotionActivity.find(parts.activity, on: db)?.perMemberLimit {
            let row = try await sql.raw("""
                SELECT CAST(COALESCE(SUM(p.units), 0) AS BIGINT) AS units FROM promotion_purchases p JOIN orders o ON o.id = p.order_id
                WHERE p.activity_id = \(bind: parts.activity) AND p.member_id = \(bind: memberID) AND p.sku_id = \(bind: parts.sku)
                  AND o.state NOT IN ('cancelled', 'closed')
                """).first()
            let already = try row?.decode(column: "units", as: Int64.self) ?? 0
            guard already <= limit - line.limitedTimeUnits else {
                throw APIError(.conflict, "promotion.limitReached",
                               .init("限时折扣每人限购 \(limit) 件，你已购买 \(already) 件，请重新下单",
                                     "The limited-time price is limited to \(limit) per member and you have bought \(already); please check out again"))
            }
        }
        try await sql.raw("""
            INSERT INTO promotion_purchases (id, activity_id, sku_id, member_id, order_id, order_line_id, units, created_at)
            VALUES (\(bind: UUID()), \(bind: parts.activity), \(bind: parts.sku), \(bind: memberID), \(bind: orderID), \(bind: lineID),
              \(bind: line.limitedTimeUnits), \(bind: now))
            """).run()
    }
}
