import Fluent
import Foundation
import MallCore
import Vapor

/// The shop's side of distribution at `/merchant/distribution`: batches waiting for its
/// approval (手动结算), commission rules for its own products within the platform's bounds,
/// and what its stores' QR codes do.
struct ShopDistributionPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let shop = routes.grouped("merchant", "distribution")
        shop.get(use: page)
        shop.post("batches", ":batchID", "approve", use: approveBatch)
        shop.post("rules", use: saveRule)
        shop.post("rules", ":ruleID", "delete", use: deleteRule)
        shop.post("stores", ":storeID", use: saveStore)
    }

    struct Page: Encodable, Sendable {
        struct Batch: Encodable, Sendable {
            let id: String
            let period: String
            let count: Int
            let total: String
            let state: String
            let stateName: String
        }
        struct Rule: Encodable, Sendable {
            let id: String
            let scope: String
            let target: String
            let levels: String
        }
        struct StoreRow: Encodable, Sendable {
            let id: String
            let name: String
            let staffCode: String
            let staffName: String
            let recruits: Bool
        }
        let canManage: Bool
        let boundsText: String
        let batches: [Batch]
        let rules: [Rule]
        let stores: [StoreRow]
    }

    @Sendable func page(req: Request) async throws -> Response {
        guard let (_, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let locale = req.locale
        let config = try await DistributionConfig.load(on: req.db)
        let batches = try await CommissionBatch.query(on: req.db).filter(\.$merchantID == scope.merchantID)
            .sort(\.$createdAt, .descending).limit(30).all().map { batch in
                Page.Batch(id: batch.id?.uuidString.lowercased() ?? "", period: batch.period, count: batch.commissionCount,
                           total: Money(fen: batch.total).formatted(locale), state: batch.state, stateName: Self.batchStateName(batch.state, locale))
            }
        let records = try await CommissionRuleRecord.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$scopeKey).limit(200).all()
        let rules = try records.map(CommissionRuleDTO.init).map { dto in
            Page.Rule(id: dto.id.uuidString.lowercased(), scope: dto.scope, target: dto.scopeId?.uuidString.lowercased() ?? "",
                      levels: dto.levelsText(locale))
        }
        let stores = try await Store.query(on: req.db).filter(\.$merchant.$id == scope.merchantID).sort(\.$name).limit(200).all()
        let staffIDs = stores.compactMap(\.staffDistributorID)
        let staff = Dictionary(try await Distributor.query(on: req.db).filter(\.$id ~~ staffIDs).all().map { ($0.id ?? UUID(), $0) }) { first, _ in first }
        let storeRows = stores.map { store in
            let person = store.staffDistributorID.flatMap { staff[$0] }
            return Page.StoreRow(id: store.id?.uuidString.lowercased() ?? "", name: store.name, staffCode: person?.code ?? "",
                                 staffName: person?.displayName ?? "", recruits: store.recruitsDistributors ?? false)
        }
        let level = PageFormat.percent(BasisPoints(config.commission.merchantMaxLevelRateBp))
        let total = PageFormat.percent(BasisPoints(config.commission.merchantMaxTotalRateBp))
        let bounds = (PageStrings.all["md_bounds"]?(locale) ?? "").replacingOccurrences(of: "%1", with: level).replacingOccurrences(of: "%2", with: total)
        return try await req.page("console/merchant-distribution", Page(
            canManage: req.principalCan(.manageShop), boundsText: bounds, batches: batches, rules: rules, stores: storeRows))
    }

    static func batchStateName(_ state: String, _ locale: MallLocale) -> String {
        switch state {
        case "awaiting_approval": locale == .zhHans ? "待审批" : "awaiting approval"
        case "settling": locale == .zhHans ? "结算中" : "settling"
        case "settled": locale == .zhHans ? "已结算" : "settled"
        default: state
        }
    }

    @Sendable func approveBatch(req: Request) async throws -> Response {
        guard let (staff, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let batchID = try req.uuidParameter("batchID")
        return try await OrderPageController.redirectBack(req, "/merchant/distribution") {
            guard req.principalCan(.manageShop) else { throw APIError.forbidden }
            guard let batch = try await CommissionBatch.find(batchID, on: req.db), batch.merchantID == scope.merchantID else { throw APIError.notFound }
            let report = try await CommissionSettlement.approve(batchID: batchID, by: staff, ip: req.clientIP, app: req.application)
            req.flash(.init("已结算 \(report.settled) 笔佣金", "\(report.settled) commissions settled"))
        }
    }

    /// A product or SKU rule of this shop; the platform's bounds decide what is allowed.
    @Sendable func saveRule(req: Request) async throws -> Response {
        guard let (_, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/merchant/distribution") {
            guard req.principalCan(.manageShop) else { throw APIError.forbidden }
            let kind = form.first("scope") ?? ""
            guard ["product", "sku"].contains(kind),
                  let target = form.first("scopeId").flatMap({ UUID(uuidString: $0.trimmingCharacters(in: .whitespaces)) }) else {
                throw DistributionConfig.invalid("scopeId", "请选择商品或 SKU 并填写其 ID", "Choose product or SKU and give its id")
            }
            var levels: [String: CommissionLevelInput] = [:]
            for level in 1...3 {
                let raw = (form.first("rate\(level)") ?? "").trimmingCharacters(in: .whitespaces)
                guard !raw.isEmpty else { continue }
                guard let rate = BasisPoints.parsePercent(raw) else {
                    throw DistributionConfig.invalid("rate\(level)", "第 \(level) 级比例请输入百分比，如 10", "Enter level \(level)'s rate as a percentage such as 10")
                }
                levels[String(level)] = CommissionLevelInput(rateBp: rate.value, perUnitFen: nil, perOrderFen: nil, tiers: nil)
            }
            guard !levels.isEmpty else { throw DistributionConfig.invalid("rate1", "请至少设置一级", "Set at least one level") }
            let rule = try CommissionRuleInput(scope: kind, scopeId: target, levels: levels).rule()
            try await DistributionAPIController.saveShopRule(rule, merchantID: scope.merchantID, req: req)
            req.flash(.init("佣金规则已保存", "The rule is saved"))
        }
    }

    @Sendable func deleteRule(req: Request) async throws -> Response {
        guard let (_, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let ruleID = try req.uuidParameter("ruleID")
        return try await OrderPageController.redirectBack(req, "/merchant/distribution") {
            guard req.principalCan(.manageShop) else { throw APIError.forbidden }
            guard let record = try await CommissionRuleRecord.find(ruleID, on: req.db), record.merchantID == scope.merchantID else { throw APIError.notFound }
            try await req.writeTransaction { db in try await record.delete(on: db) }
            req.flash(.init("规则已删除", "The rule is deleted"))
        }
    }

    @Sendable func saveStore(req: Request) async throws -> Response {
        guard let (_, scope) = OrderConsolePageController.staff(req) else { return req.redirect(to: "/merchant/login") }
        let storeID = try req.uuidParameter("storeID")
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/merchant/distribution") {
            guard req.principalCan(.manageShop) else { throw APIError.forbidden }
            _ = try await DistributionAPIController.setStoreDistribution(storeID: storeID, merchantID: scope.merchantID,
                                                                        input: .init(staffDistributorCode: form.first("staffCode"),
                                                                                     recruitsDistributors: form.first("recruits") == "on"), req: req)
            req.flash(.init("门店二维码设置已保存", "Store QR settings saved"))
        }
    }
}
