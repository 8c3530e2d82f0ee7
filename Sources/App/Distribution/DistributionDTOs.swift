import Foundation
import MallCore
import Vapor

struct DistributorDTO: Content {
    let memberId: UUID
    let code: String
    let status: String
    let statusName: String
    let kind: String
    let displayName: String
    let gradeId: UUID?
    let parentId: UUID?
    let agreementVersion: String
    let agreementSignedAt: Date?
    let admittedBy: String
    let reviewNote: String
    let documents: [String]
    /// The review checklist items ticked at approval.
    let checklist: [String]
    let avatar: String?
    let createdAt: Date
    let approvedAt: Date?

    init(_ d: Distributor, _ locale: MallLocale) {
        memberId = d.id ?? UUID()
        code = d.code
        status = d.status
        statusName = (DistributorRecordStatus(rawValue: d.status) ?? .removed).name(locale)
        kind = d.kind
        displayName = d.displayName
        gradeId = d.gradeID
        parentId = d.parentID
        agreementVersion = d.agreementVersion
        agreementSignedAt = d.agreementSignedAt
        admittedBy = d.admittedBy
        reviewNote = d.reviewNote
        documents = d.documentKeys
        checklist = d.checkedItems
        avatar = d.avatar
        createdAt = d.createdAt
        approvedAt = d.approvedAt
    }
}

struct CommissionBalancesDTO: Content {
    let pending: MoneyDTO
    let frozen: MoneyDTO
    let available: MoneyDTO
    let debt: MoneyDTO
    let withdrawing: MoneyDTO
    let withdrawn: MoneyDTO
}

struct DistributionLinksDTO: Content {
    let shop: String
    let shopQrCode: String
}

struct MyDistributionDTO: Content {
    let distributor: DistributorDTO?
    let balances: CommissionBalancesDTO?
    let links: DistributionLinksDTO?
    let boundTo: String?
    let admissionMode: String
    let agreementVersion: String
    /// Commission earned today, this month and in all; a distributor's only.
    var earned: DistributionAPIController.EarnedDTO? = nil
}

struct CommissionDTO: Content {
    let id: UUID
    let orderNo: String
    let orderId: UUID
    let orderLineId: UUID
    let productTitle: String
    let level: Int
    let state: String
    let stateName: String
    let held: Bool
    let holdReason: String
    let amount: MoneyDTO
    let originalAmount: MoneyDTO
    let clawedBack: MoneyDTO
    let base: MoneyDTO
    let ruleSource: String
    let beneficiaryId: UUID
    /// The buyer as the distributor sees them: masked.
    let buyer: String
    let merchantId: UUID
    let createdAt: Date
    let receivedAt: Date?
    let settledAt: Date?

    init(_ c: Commission, buyer: String, _ locale: MallLocale) {
        id = c.id ?? UUID()
        orderNo = c.orderNo
        orderId = c.orderID
        orderLineId = c.orderLineID
        productTitle = c.productTitle
        level = c.level
        state = c.state
        stateName = (CommissionState(rawValue: c.state) ?? .voided).name(locale)
        held = c.held
        holdReason = c.holdReason
        amount = .init(Money(fen: c.amount), locale)
        originalAmount = .init(Money(fen: c.originalAmount), locale)
        clawedBack = .init(Money(fen: c.clawedBack), locale)
        base = .init(Money(fen: c.base), locale)
        ruleSource = c.ruleSource
        beneficiaryId = c.beneficiaryID
        self.buyer = buyer
        merchantId = c.merchantID
        createdAt = c.createdAt
        receivedAt = c.receivedAt
        settledAt = c.settledAt
    }
}

struct WithdrawalDTO: Content {
    let id: UUID
    let withdrawalNo: String
    let distributorId: UUID
    let amount: MoneyDTO
    let fee: MoneyDTO
    let net: MoneyDTO
    let channel: String
    let channelName: String
    let expectedArrival: String
    let state: String
    let stateName: String
    let accountHint: String
    let reason: String
    let proofImage: String
    let createdAt: Date
    let paidAt: Date?
    /// The provider's state of a WeChat / Alipay transfer (e.g. WAIT_USER_CONFIRM); empty otherwise.
    let transferState: String
    /// Set while WeChat waits for the payee to confirm: what `wx.requestMerchantTransfer` takes.
    let transferConfirmation: TransferConfirmationDTO?

    struct TransferConfirmationDTO: Content {
        let mchId: String
        let appId: String
        let package: String
    }

    init(_ w: Withdrawal, _ locale: MallLocale, confirmation: (merchantID: String, appID: String)? = nil) {
        id = w.id ?? UUID()
        withdrawalNo = w.withdrawalNo
        distributorId = w.distributorID
        amount = .init(Money(fen: w.amount), locale)
        fee = .init(Money(fen: w.fee), locale)
        net = .init(Money(fen: w.net), locale)
        channel = w.channel
        let known = WithdrawalChannel(rawValue: w.channel) ?? .balance
        channelName = known.name(locale)
        expectedArrival = known.expectedArrival(locale)
        state = w.state
        stateName = (WithdrawalState(rawValue: w.state) ?? .rejected).name(locale)
        accountHint = w.accountHint
        reason = w.reason
        proofImage = w.proofImage
        createdAt = w.createdAt
        paidAt = w.paidAt
        transferState = w.providerState
        if let confirmation, w.state == WithdrawalState.transferring.rawValue, w.providerState == "WAIT_USER_CONFIRM", !w.packageInfo.isEmpty {
            transferConfirmation = .init(mchId: confirmation.merchantID, appId: confirmation.appID, package: w.packageInfo)
        } else {
            transferConfirmation = nil
        }
    }
}

struct TeamLevelDTO: Content {
    let level: Int
    let members: Int
    let sales: MoneyDTO
}

struct TeamMemberDTO: Content {
    let memberId: UUID
    let name: String
    let level: Int
    let status: String
    let sales: MoneyDTO
}

struct TeamDTO: Content {
    let levels: [TeamLevelDTO]
    let members: [TeamMemberDTO]
}

// MARK: - Rules

struct CommissionTierInput: Content {
    var minimumPeriodSalesFen: Int64
    var rateBp: Int?
    var perUnitFen: Int64?
    var perOrderFen: Int64?
}

struct CommissionLevelInput: Content {
    var rateBp: Int?
    var perUnitFen: Int64?
    var perOrderFen: Int64?
    var tiers: [CommissionTierInput]?
}

struct CommissionRuleInput: Content {
    /// global, grade, category, product or sku.
    var scope: String
    var scopeId: UUID?
    /// Keyed "1" to "3"; a "4" is refused (合规).
    var levels: [String: CommissionLevelInput]

    static let maxFixed: Int64 = 100_000_000

    func rule() throws -> CommissionRule {
        let scope: CommissionRuleScope
        switch (self.scope, scopeId) {
        case ("global", _): scope = .global
        case ("grade", let id?): scope = .grade(id)
        case ("category", let id?): scope = .category(id)
        case ("product", let id?): scope = .product(id)
        case ("sku", let id?): scope = .sku(id)
        default: throw APIError.validation([.init("scope", .init("范围须为 global、grade、category、product 或 sku，非全局时须给出 scopeId",
                                                                  "The scope must be global, grade, category, product or sku, with scopeId unless global"))])
        }
        guard levels.count <= 10 else { throw CommissionConfigError.tooManyLevels(levels.count) }
        var byNumber: [Int: CommissionLevelRule] = [:]
        for (key, input) in levels {
            guard let number = Int(key) else {
                throw APIError.validation([.init("levels", .init("层级须为 1 到 3", "Levels are keyed 1 to 3"))])
            }
            _ = try CommissionLevel(number)
            guard (input.tiers ?? []).count <= 10 else {
                throw APIError.validation([.init("levels.\(key).tiers", .init("阶梯最多 10 档", "At most 10 tiers"))])
            }
            let formula = try Self.formula(input.rateBp, input.perUnitFen, input.perOrderFen, field: "levels.\(key)")
            let tiers = try (input.tiers ?? []).map { tier in
                guard (0...Self.maxFixed * 100).contains(tier.minimumPeriodSalesFen) else {
                    throw APIError.validation([.init("levels.\(key).tiers", .init("阶梯门槛超出范围", "A tier threshold is out of range"))])
                }
                return CommissionTier(minimumPeriodSales: Money(fen: tier.minimumPeriodSalesFen),
                                      formula: try Self.formula(tier.rateBp, tier.perUnitFen, tier.perOrderFen, field: "levels.\(key).tiers"))
            }
            byNumber[number] = CommissionLevelRule(formula, tiers: tiers)
        }
        let rule = try CommissionRule(scope: scope, levels: byNumber)
        try rule.validate()
        return rule
    }

    private static func formula(_ rate: Int?, _ perUnit: Int64?, _ perOrder: Int64?, field: String) throws -> CommissionFormula {
        let unit = perUnit ?? 0
        let order = perOrder ?? 0
        guard unit <= maxFixed, order <= maxFixed else {
            throw APIError.validation([.init(field, .init("固定佣金不能超过 ¥1,000,000", "A fixed amount cannot exceed ¥1,000,000"))])
        }
        return CommissionFormula(rate: BasisPoints(rate ?? 0), perUnit: Money(fen: unit), perOrder: Money(fen: order))
    }
}

struct CommissionRuleDTO: Content {
    let id: UUID
    let scope: String
    let scopeId: UUID?
    let merchantId: UUID?
    let levels: [String: CommissionLevelInput]
    let updatedAt: Date

    init(_ record: CommissionRuleRecord) throws {
        let rule = try JSONDecoder().decode(CommissionRule.self, from: Data(record.ruleJSON.utf8))
        id = record.id ?? UUID()
        scope = rule.scope.source.rawValue
        scopeId = rule.scope.id
        merchantId = record.merchantID
        var levels: [String: CommissionLevelInput] = [:]
        for level in CommissionLevel.all {
            guard let entry = rule[level] else { continue }
            func input(_ f: CommissionFormula) -> (Int, Int64, Int64) { (f.rate.value, f.perUnit.fen, f.perOrder.fen) }
            let base = input(entry.formula)
            levels[String(level.number)] = CommissionLevelInput(
                rateBp: base.0, perUnitFen: base.1, perOrderFen: base.2,
                tiers: entry.tiers.map { tier in
                    let t = input(tier.formula)
                    return CommissionTierInput(minimumPeriodSalesFen: tier.minimumPeriodSales.fen, rateBp: t.0, perUnitFen: t.1, perOrderFen: t.2)
                })
        }
        self.levels = levels
        updatedAt = record.updatedAt
    }

    /// 「L1 10% + ¥2.00/件 · L2 5%」 for the consoles' rule lists.
    func levelsText(_ locale: MallLocale) -> String {
        levels.sorted { $0.key < $1.key }.map { key, value in
            var parts: [String] = []
            if let rate = value.rateBp, rate > 0 { parts.append(PageFormat.percent(BasisPoints(rate))) }
            if let unit = value.perUnitFen, unit > 0 { parts.append("\(Money(fen: unit).formatted(locale))/\(locale == .zhHans ? "件" : "unit")") }
            if let order = value.perOrderFen, order > 0 { parts.append("\(Money(fen: order).formatted(locale))/\(locale == .zhHans ? "单" : "order")") }
            return "L\(key) " + (parts.isEmpty ? "0" : parts.joined(separator: " + "))
        }.joined(separator: " · ")
    }
}

extension CommissionRuleScope {
    var storageKey: String {
        switch self {
        case .global: "global"
        case .grade(let id): "grade:\(id.uuidString.lowercased())"
        case .category(let id): "category:\(id.uuidString.lowercased())"
        case .product(let id): "product:\(id.uuidString.lowercased())"
        case .sku(let id): "sku:\(id.uuidString.lowercased())"
        }
    }
}

// MARK: - Preview

struct CommissionPreviewInput: Content {
    var skuId: UUID
    var quantity: Int64
    /// What the buyer pays for the line; the SKU's price × quantity when absent.
    var paidAmountFen: Int64?
    /// The buyer to preview for; or a distributor whose new customer buys.
    var buyerId: UUID?
    var distributorId: UUID?
}

struct CommissionPreviewLevelDTO: Content {
    let level: Int
    let beneficiaryId: UUID?
    let beneficiaryName: String?
    let amount: MoneyDTO
    let ruleSource: String?
    let tier: Int
    let capReduction: MoneyDTO
    let unpaidReason: String?
    let explanation: String
}

struct CommissionPreviewDTO: Content {
    let base: MoneyDTO
    let baseMode: String
    let cap: MoneyDTO
    let total: MoneyDTO
    let levels: [CommissionPreviewLevelDTO]
}
