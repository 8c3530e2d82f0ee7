import Fluent
import Foundation
import MallCore
import Vapor

/// A merchant's shipping-fee template (运费模板), stored as the JSON of MallCore's `ShippingTemplate`,
/// which checks itself again whenever it is read. A merchant without one ships for free.
final class ShippingTemplateRecord: Model, @unchecked Sendable {
    static let schema = "shipping_templates"

    @ID(key: .id) var id: UUID?
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "name") var name: String
    @Field(key: "template_json") var templateJSON: String
    @Field(key: "is_default") var isDefault: Bool
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var template: ShippingTemplate? { try? JSONDecoder().decode(ShippingTemplate.self, from: Data(templateJSON.utf8)) }

    static func defaultTemplate(of merchantID: UUID, on db: any Database) async throws -> ShippingTemplate? {
        try await ShippingTemplateRecord.query(on: db).filter(\.$merchantID == merchantID).filter(\.$isDefault == true).first()?.template
    }
}

struct CreateShippingTemplates: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(ShippingTemplateRecord.schema)
            .id()
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("name", .string, .required)
            .field("template_json", .string, .required)
            .field("is_default", .bool, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("shipping_templates_merchant", on: ShippingTemplateRecord.schema, columns: ["merchant_id", "is_default"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(ShippingTemplateRecord.schema).delete()
    }
}

/// The template as merchants send and read it: amounts in fen, provinces by GB/T 2260 code.
struct ShippingTemplateDTO: Content {
    struct Rule: Content {
        let firstUnits: Int64
        let firstFeeFen: Int64
        let stepUnits: Int64
        let stepFeeFen: Int64
    }

    struct ProvinceRule: Content {
        let provinceCode: String
        let rule: Rule
    }

    let name: String
    /// count or weight (units are grams).
    let basis: String
    let defaultRule: Rule
    let provinceRules: [ProvinceRule]?
    let undeliverable: [String]?
    let freeFromAmountFen: Int64?
    let freeFromCount: Int64?

    func template() throws -> ShippingTemplate {
        guard let basis = ShippingBasis(rawValue: basis) else {
            throw APIError.validation([.init("basis", .init("计费方式只能是 count（按件）或 weight（按重量）", "basis must be count or weight"))])
        }
        guard TextLength.isFilled(name, max: 30) else {
            throw APIError.validation([.init("name", .init("模板名称需为 1-30 个字", "The name needs 1–30 characters"))])
        }
        let rules = provinceRules ?? []
        guard rules.count <= ChinaRegions.provinces.count, (undeliverable ?? []).count <= ChinaRegions.provinces.count else {
            throw APIError.validation([.init("provinceRules", .init("省份过多", "Too many provinces"))])
        }
        if let undeliverable, Set(undeliverable).count != undeliverable.count {
            throw APIError.validation([.init("undeliverable", .init("不配送地区有重复", "A province is listed twice"))])
        }
        for code in rules.map(\.provinceCode) + (undeliverable ?? []) where ChinaRegions.province(code) == nil {
            throw APIError.validation([.init("provinceRules", .init("未知的省份代码：\(code)", "Unknown province code: \(code)"))])
        }
        // The contract's bounds: no template needs more, and none may reach an overflow.
        let units = Int64(1)...1_000_000, fees = Int64(0)...100_000_000
        for r in [defaultRule] + rules.map(\.rule) where !units.contains(r.firstUnits) || !units.contains(r.stepUnits)
            || !fees.contains(r.firstFeeFen) || !fees.contains(r.stepFeeFen) {
            throw APIError.validation([.init("defaultRule", .init("件数/重量需在 1-1000000 之间，运费需在 0-1000000 元之间",
                                                                  "Units must be 1–1,000,000 and fees ¥0–¥1,000,000"))])
        }
        if let amount = freeFromAmountFen, !(1...100_000_000).contains(amount) {
            throw APIError.validation([.init("freeFromAmountFen", .init("包邮金额需在 0.01-1000000 元之间", "The free-shipping amount must be ¥0.01–¥1,000,000"))])
        }
        if let count = freeFromCount, !units.contains(count) {
            throw APIError.validation([.init("freeFromCount", .init("包邮件数需在 1-1000000 之间", "The free-shipping count must be 1–1,000,000"))])
        }
        func rule(_ r: Rule) -> ShippingRule {
            ShippingRule(firstUnits: r.firstUnits, firstFee: Money(fen: r.firstFeeFen), stepUnits: r.stepUnits, stepFee: Money(fen: r.stepFeeFen))
        }
        return try ShippingTemplate(
            basis: basis, defaultRule: rule(defaultRule),
            provinceRules: Dictionary(rules.map { ($0.provinceCode, rule($0.rule)) }, uniquingKeysWith: { _, last in last }),
            undeliverable: Set(undeliverable ?? []),
            freeFromAmount: freeFromAmountFen.map { Money(fen: $0) }, freeFromCount: freeFromCount)
    }

    init(name: String, _ template: ShippingTemplate) {
        func rule(_ r: ShippingRule) -> Rule { Rule(firstUnits: r.firstUnits, firstFeeFen: r.firstFee.fen, stepUnits: r.stepUnits, stepFeeFen: r.stepFee.fen) }
        self.name = name
        basis = template.basis.rawValue
        defaultRule = rule(template.defaultRule)
        provinceRules = template.provinceRules.sorted { $0.key < $1.key }.map { ProvinceRule(provinceCode: $0.key, rule: rule($0.value)) }
        undeliverable = template.undeliverable.sorted()
        freeFromAmountFen = template.freeFromAmount?.fen
        freeFromCount = template.freeFromCount
    }
}

/// `GET/PUT /api/v1/merchant/shipping-template`: the merchant's default template.
struct ShippingTemplateAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let merchant = routes.grouped("merchant", "shipping-template")
        merchant.get(use: show)
        merchant.put(use: replace)
    }

    @Sendable func show(req: Request) async throws -> ShippingTemplateDTO {
        let scope = try req.merchantScope()
        guard let record = try await ShippingTemplateRecord.query(on: req.db).filter(\.$merchantID == scope.merchantID)
            .filter(\.$isDefault == true).first(), let template = record.template else { throw APIError.notFound }
        return ShippingTemplateDTO(name: record.name, template)
    }

    @Sendable func replace(req: Request) async throws -> ShippingTemplateDTO {
        let scope = try req.merchantScope(.manageShop)
        let input = try req.content.decode(ShippingTemplateDTO.self)
        let template: ShippingTemplate
        do {
            template = try input.template()
        } catch let error as any LocalizedRuleError {
            throw APIError.validation([.init("template", .init(error.localizedMessage(.zhHans), error.localizedMessage(.en)))])
        }
        let json = String(decoding: try JSONEncoder().encode(template), as: UTF8.self)
        let (merchantID, now, name) = (scope.merchantID, req.now, input.name.trimmingCharacters(in: .whitespacesAndNewlines))
        try await req.writeTransaction { db in
            let record = try await ShippingTemplateRecord.query(on: db).filter(\.$merchantID == merchantID).filter(\.$isDefault == true).first()
                ?? ShippingTemplateRecord()
            record.merchantID = merchantID
            record.name = name
            record.templateJSON = json
            record.isDefault = true
            record.updatedAt = now
            try await record.save(on: db)
        }
        return ShippingTemplateDTO(name: name, template)
    }
}
