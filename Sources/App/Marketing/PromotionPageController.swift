import Fluent
import Foundation
import MallCore
import Vapor

/// A product page's promotion badges: 「满199减20 / 满299减40」 or 「限时价 ¥99.00」, with the end time.
struct PromotionBadge: Encodable, Sendable {
    let kind: String
    let label: String
    let text: String
    let until: String
    /// A group buy's 发起拼团 link, or a bargain's 发起砍价 form action.
    var link = ""
    var action = ""
    var linkLabel = ""
}

enum PromotionQueries {
    /// The running activities that cover a product (or one of its SKUs).
    static func badges(productID: UUID, merchantID: UUID, skuIDs: Set<UUID>, on db: any Database, now: Date, locale: MallLocale) async throws -> [PromotionBadge] {
        let running = try await PromotionService(db: db, now: now).active()
        var badges: [PromotionBadge] = []
        for activity in running {
            if activity.owner == "merchant", activity.merchantID != merchantID { continue }
            let until = LocalizedText("\(PageDates.chinaMinute(activity.endsAt)) 结束", "Ends \(PageDates.chinaMinute(activity.endsAt)) (China time)")(locale)
            switch PromotionKind(rawValue: activity.kind) {
            case .fullReduction:
                let covers = switch activity.scope {
                case "products": PromotionService.productIDs(activity).contains(productID)
                case "merchant": activity.scopeMerchantID == merchantID
                default: true
                }
                guard covers else { continue }
                badges.append(PromotionBadge(kind: activity.kind, label: ActivityKind.fullReduction.name(locale),
                                             text: PromotionService.summary(activity, locale), until: until))
            case .limitedTime:
                let prices = PromotionService.skuPrices(activity).filter { skuIDs.contains($0.skuId) }.map(\.priceFen)
                guard let lowest = prices.min() else { continue }
                let price = Money(fen: lowest).formatted(locale)
                badges.append(PromotionBadge(kind: activity.kind, label: ActivityKind.limitedTime.name(locale),
                                             text: LocalizedText("限时价 \(price)", "Limited-time price \(price)")(locale), until: until))
            case .gift:
                // 「满199送 润唇膏 ×1」: a shop's gift, on its own products in scope.
                guard activity.merchantID == merchantID, activity.scope != "products" || PromotionService.productIDs(activity).contains(productID),
                      let gift = PromotionService.gift(activity), let threshold = PromotionService.tiers(activity).first?.thresholdFen,
                      let sku = try await Sku.find(gift.skuId, on: db), let product = try await Product.find(sku.$product.id, on: db) else { continue }
                let over = PromotionService.yuan(Money(fen: threshold))
                badges.append(PromotionBadge(kind: activity.kind, label: ActivityKind.gift.name(locale),
                                             text: LocalizedText("满\(over)送 \(product.title) ×\(gift.quantity)",
                                                                 "\(product.title) ×\(gift.quantity) free over ¥\(over)")(locale), until: until))
            case nil:
                continue
            }
        }
        return badges
    }
}

/// The operator's `/admin/promotions`: the list with pause, resume and stop, and a form for a
/// platform 满减 activity. Forms post back here and redirect; changes go through the API's service.
struct PromotionPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", "promotions", use: admin)
        routes.post("admin", "promotions", use: adminCreate)
        routes.post("admin", "promotions", ":promotionID", ":action", use: adminStatus)
    }

    struct AdminPage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let id: String
            let name: String
            let kind: String
            let summary: String
            let window: String
            let payer: String
            let status: String
            let statusLabel: String
        }
        let rows: [Row]
        let startsAt: String
        let endsAt: String
    }

    @Sendable func admin(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let activities = try await PromotionActivity.query(on: req.db).sort(\.$createdAt, .descending).sort(\.$id)
            .limit(PromotionAPIController.listLimit).all()
        let rows = try activities.map { activity in
            let dto = try PromotionDTO(activity, req.locale)
            return AdminPage.Row(id: dto.id.uuidString, name: dto.name, kind: dto.kindLabel, summary: dto.summary,
                                 window: "\(PageDates.chinaMinute(dto.startsAt)) – \(PageDates.chinaMinute(dto.endsAt))",
                                 payer: dto.owner == "platform" ? LocalizedText("平台", "Platform")(req.locale) : LocalizedText("店铺", "Shop")(req.locale),
                                 status: dto.status, statusLabel: dto.statusLabel)
        }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return try await req.page("console/promotions", AdminPage(rows: rows, startsAt: formatter.string(from: req.now),
                                                                  endsAt: formatter.string(from: req.now.addingTimeInterval(7 * 86_400))))
    }

    @Sendable func adminCreate(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/promotions") {
            // Up to three tiers of 满 X 减 Y, in yuan as typed.
            var tiers: [PromotionInput.Tier] = []
            for index in 1...3 {
                let threshold = try CouponPageController.fen(form.first("threshold\(index)"), field: "threshold\(index)")
                let off = try CouponPageController.fen(form.first("amountOff\(index)"), field: "amountOff\(index)")
                guard threshold != nil || off != nil else { continue }
                tiers.append(.init(thresholdFen: threshold ?? 0, amountOffFen: off ?? 0, payRateBp: nil))
            }
            let input = PromotionInput(name: form.first("name") ?? "", kind: PromotionKind.fullReduction.rawValue,
                                       startsAt: form.first("startsAt") ?? "", endsAt: form.first("endsAt") ?? "", tiers: tiers, skus: nil,
                                       perMemberLimit: nil, scope: "all", merchantId: nil, productIds: nil, paysCommission: nil)
            try await req.writeTransaction { db in
                let activity = try await PromotionService(db: db, now: now).create(input, merchantID: nil)
                try await AuditLog.record(on: db, actor: staff, action: "promotion.create", target: activity.requireID().uuidString, ip: ip, at: now)
            }
        }
    }

    @Sendable func adminStatus(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let id = try req.uuidParameter("promotionID")
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/promotions") {
            let status: PromotionStatus = switch req.parameters.get("action") ?? "" {
            case "pause": .paused
            case "resume": .active
            case "stop": .stopped
            default: throw APIError.notFound
            }
            try await req.writeTransaction { db in
                _ = try await PromotionService(db: db, now: now).setStatus(id, to: status, merchantID: nil)
                try await AuditLog.record(on: db, actor: staff, action: "promotion.\(status.rawValue)", target: id.uuidString, ip: ip, at: now)
            }
        }
    }
}
