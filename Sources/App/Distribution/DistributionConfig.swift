import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's distribution settings, as the API reads and writes them and as they are stored.
/// Every part converts to MallCore's settings, whose checks decide what is refused.
struct DistributionConfig: Content, Equatable, Sendable {
    struct Admission: Content, Equatable, Sendable {
        /// automatic, application, spend_threshold, received_orders, product_purchase, store_qr, hand_picked.
        var mode: String = "application"
        var spendThresholdFen: Int64 = 0
        var receivedOrderThreshold: Int = 0
        var productIds: [UUID] = []
        /// Fields the application form asks for beyond name and phone (e.g. 微信号, 所在城市).
        var formFields: [String] = ["微信号 WeChat ID"]
        /// Must be zero: no mode ever charges a fee (合规).
        var entryFeeFen: Int64 = 0
        var agreementVersion: String = "2026-11"
        var agreementText: String = DistributionConfig.defaultAgreement
        /// What the reviewer confirms before approving an application (审核清单); every item must be ticked.
        var reviewChecklist: [String] = []

        init() {}

        /// Settings saved before a field existed keep their values; the new field takes its default.
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Admission()
            mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? d.mode
            spendThresholdFen = try c.decodeIfPresent(Int64.self, forKey: .spendThresholdFen) ?? d.spendThresholdFen
            receivedOrderThreshold = try c.decodeIfPresent(Int.self, forKey: .receivedOrderThreshold) ?? d.receivedOrderThreshold
            productIds = try c.decodeIfPresent([UUID].self, forKey: .productIds) ?? d.productIds
            formFields = try c.decodeIfPresent([String].self, forKey: .formFields) ?? d.formFields
            entryFeeFen = try c.decodeIfPresent(Int64.self, forKey: .entryFeeFen) ?? d.entryFeeFen
            agreementVersion = try c.decodeIfPresent(String.self, forKey: .agreementVersion) ?? d.agreementVersion
            agreementText = try c.decodeIfPresent(String.self, forKey: .agreementText) ?? d.agreementText
            reviewChecklist = try c.decodeIfPresent([String].self, forKey: .reviewChecklist) ?? d.reviewChecklist
        }
    }

    struct Binding: Content, Equatable, Sendable {
        /// permanent, expiring or latest_link.
        var mode: String = "permanent"
        var expiringDays: Int = 30
        /// visit, registration or first_paid_order.
        var trigger: String = "visit"
        var protectionDays: Int = 0
        var newMembersOnly: Bool = false
    }

    struct Commission: Content, Equatable, Sendable {
        var levelCount: Int = 2
        var selfPurchase: Bool = false
        /// paid_amount or list_price.
        var base: String = "paid_amount"
        var capRateBp: Int = 5_000
        var merchantMaxLevelRateBp: Int = 3_000
        var merchantMaxTotalRateBp: Int = 5_000
        var merchantMaxPerUnitFen: Int64 = 10_000
        var merchantMaxPerOrderFen: Int64 = 10_000
    }

    struct Settlement: Content, Equatable, Sendable {
        /// continuous, daily, weekly or monthly.
        var schedule: String = "continuous"
        /// automatic, or manual: a batch waits for the shop or the operator to approve it (手动结算).
        var approval: String = "automatic"
    }

    struct Withdrawal: Content, Equatable, Sendable {
        var minimumFen: Int64 = 100
        var maximumFen: Int64 = 5_000_000
        var maxPerDay: Int = 3
        var maxPerMonth: Int = 30
        /// every_day, weekdays or days_of_month.
        var allowedDays: String = "every_day"
        var days: [Int] = []
        var feeRateBp: Int = 100
        var minimumFeeFen: Int64 = 0
        var autoApproveBelowFen: Int64 = 0
        var channels: [String] = WithdrawalChannel.allCases.map(\.rawValue)
    }

    var enabled: Bool = true
    var admission = Admission()
    var binding = Binding()
    var commission = Commission()
    var settlement = Settlement()
    var withdrawal = Withdrawal()

    static let defaultAgreement = """
        分销员协议（2026-11 版）
        1. 成为分销员不收取任何费用，也不以发展人数计酬。
        2. 佣金只来自真实售出的商品：买家付款后计入“待收货”，收货后冻结，售后期结束后结算为可提现。
        3. 买家退款时，对应佣金按退款后的金额重新计算；已结算部分从可提现余额扣回，不足部分记为欠款，欠款未清前不能提现。
        4. 分销关系最多三级。禁止虚假交易、刷单、自买自卖套取佣金，一经发现平台可冻结账户并追回佣金。
        5. 提现需实名，平台按规定代扣手续费。
        Distributor agreement (2026-11): joining is free and pays nothing for recruiting; commission comes only from real sales,
        is pending until receipt, frozen through the after-sales window, then available; refunds lower it and may leave a debt
        that blocks withdrawals until repaid; at most three levels; fraud leads to freezing and recovery.
        """

    // MARK: - To MallCore, where the checks live

    func admissionSettings() throws -> DistributorAdmissionSettings {
        let mode: DistributorAdmissionMode
        switch admission.mode {
        case "automatic": mode = .automatic
        case "application": mode = .application
        case "spend_threshold": mode = .spendThreshold(Money(fen: admission.spendThresholdFen))
        case "received_orders": mode = .receivedOrderThreshold(admission.receivedOrderThreshold)
        case "product_purchase": mode = .purchaseOfProduct(Set(admission.productIds))
        case "store_qr": mode = .storeQRCode
        case "hand_picked": mode = .handPicked
        default: throw Self.invalid("admission.mode", "未知的成为分销员方式", "Unknown admission mode")
        }
        let settings = DistributorAdmissionSettings(mode: mode, entryFee: Money(fen: admission.entryFeeFen))
        try settings.validate()
        return settings
    }

    func bindingSettings() throws -> BindingSettings {
        let mode: BindingMode
        switch binding.mode {
        case "permanent": mode = .permanent
        case "expiring": mode = .expiring(days: binding.expiringDays)
        case "latest_link": mode = .latestLink
        default: throw Self.invalid("binding.mode", "未知的锁客方式", "Unknown binding mode")
        }
        guard let trigger = BindingTrigger(rawValue: binding.trigger) else {
            throw Self.invalid("binding.trigger", "未知的绑定时机", "Unknown binding trigger")
        }
        let settings = BindingSettings(mode: mode, trigger: trigger, protectionDays: binding.protectionDays, newMembersOnly: binding.newMembersOnly)
        try settings.validate()
        return settings
    }

    func commissionSettings() throws -> CommissionSettings {
        guard let base = CommissionBaseMode(rawValue: commission.base) else {
            throw Self.invalid("commission.base", "佣金基数须为实付金额或标价", "The base must be paid_amount or list_price")
        }
        let settings = CommissionSettings(levelCount: commission.levelCount, selfPurchaseCommission: commission.selfPurchase, base: base,
                                          capRate: BasisPoints(commission.capRateBp))
        try settings.validate()
        return settings
    }

    func merchantBounds() throws -> CommissionMerchantBounds {
        let bounds = CommissionMerchantBounds(maxLevelRate: BasisPoints(commission.merchantMaxLevelRateBp),
                                              maxTotalRate: BasisPoints(commission.merchantMaxTotalRateBp),
                                              maxPerUnit: Money(fen: commission.merchantMaxPerUnitFen), maxPerOrder: Money(fen: commission.merchantMaxPerOrderFen))
        guard bounds.maxLevelRate.isValidShare, bounds.maxTotalRate.isValidShare, bounds.maxTotalRate <= BasisPoints(commission.capRateBp),
              bounds.maxPerUnit.fen >= 0, bounds.maxPerOrder.fen >= 0, bounds.maxPerUnit.fen <= 100_000_000, bounds.maxPerOrder.fen <= 100_000_000 else {
            throw Self.invalid("commission.merchantMaxTotalRateBp", "商家佣金上限须在 0% 到佣金总上限之间，固定金额不超过 ¥1,000,000",
                               "Shop limits must be between 0% and the cap, fixed amounts at most ¥1,000,000")
        }
        return bounds
    }

    func withdrawalSettings() throws -> WithdrawalSettings {
        let allowed: WithdrawalAllowedDays
        switch withdrawal.allowedDays {
        case "every_day": allowed = .everyDay
        case "weekdays": allowed = .weekdays(Set(withdrawal.days))
        case "days_of_month": allowed = .daysOfMonth(Set(withdrawal.days))
        default: throw Self.invalid("withdrawal.allowedDays", "未知的可提现日设置", "Unknown allowed-days setting")
        }
        var channels: [WithdrawalChannel] = []
        for raw in withdrawal.channels {
            guard let channel = WithdrawalChannel(rawValue: raw) else {
                throw Self.invalid("withdrawal.channels", "未知的提现方式 \(raw.prefix(20))", "Unknown channel \(raw.prefix(20))")
            }
            channels.append(channel)
        }
        guard withdrawal.maximumFen <= 100_000_000_00, withdrawal.minimumFeeFen <= 100_000_000, withdrawal.autoApproveBelowFen <= 100_000_000_00 else {
            throw Self.invalid("withdrawal.maximumFen", "金额过大", "The amount is too large")
        }
        let settings = WithdrawalSettings(minimumAmount: Money(fen: withdrawal.minimumFen), maximumAmount: Money(fen: withdrawal.maximumFen),
                                          maxPerDay: withdrawal.maxPerDay, maxPerMonth: withdrawal.maxPerMonth, allowedDays: allowed,
                                          feeRate: BasisPoints(withdrawal.feeRateBp), minimumFee: Money(fen: withdrawal.minimumFeeFen),
                                          autoApproveBelow: Money(fen: withdrawal.autoApproveBelowFen), channels: channels)
        try settings.validate()
        return settings
    }

    /// Every part checked; the first refusal is the answer.
    func validate() throws {
        _ = try admissionSettings()
        _ = try bindingSettings()
        _ = try commissionSettings()
        _ = try merchantBounds()
        _ = try withdrawalSettings()
        guard ["continuous", "daily", "weekly", "monthly"].contains(settlement.schedule) else {
            throw Self.invalid("settlement.schedule", "结算周期须为实时、每日、每周或每月", "The schedule must be continuous, daily, weekly or monthly")
        }
        guard ["automatic", "manual"].contains(settlement.approval) else {
            throw Self.invalid("settlement.approval", "结算方式须为自动或手动", "Approval must be automatic or manual")
        }
        guard admission.formFields.count <= 10, admission.formFields.allSatisfy({ TextLength.isFilled($0, max: 40) }) else {
            throw Self.invalid("admission.formFields", "申请表最多 10 项，每项 1-40 字", "At most 10 form fields of 1–40 characters")
        }
        guard admission.reviewChecklist.count <= 10, admission.reviewChecklist.allSatisfy({ TextLength.isFilled($0, max: 60) }) else {
            throw Self.invalid("admission.reviewChecklist", "审核清单最多 10 项，每项 1-60 字", "At most 10 checklist items of 1–60 characters")
        }
        guard admission.productIds.count <= 100 else {
            throw Self.invalid("admission.productIds", "指定商品最多 100 个", "At most 100 products")
        }
        guard TextLength.isFilled(admission.agreementVersion, max: 40), TextLength.isFilled(admission.agreementText, max: 20_000) else {
            throw Self.invalid("admission.agreementText", "请填写协议版本（≤40 字）和协议全文（≤20000 字）", "Give the agreement's version (≤40) and text (≤20,000)")
        }
        guard withdrawal.days.count <= 31 else { throw Self.invalid("withdrawal.days", "可提现日过多", "Too many days") }
    }

    static func invalid(_ field: String, _ zh: String, _ en: String) -> APIError {
        APIError.validation([.init(field, .init(zh, en))])
    }
}

extension DistributionConfig {
    static let recordName = "main"

    /// The settings in force: the stored document, or the defaults before the operator saved any.
    static func load(on db: any Database) async throws -> DistributionConfig {
        guard let record = try await DistributionSettingsRecord.query(on: db).filter(\.$name == recordName).first() else { return DistributionConfig() }
        return (try? JSONDecoder().decode(DistributionConfig.self, from: Data(record.configJSON.utf8))) ?? DistributionConfig()
    }

    func save(on db: any Database, now: Date) async throws {
        try validate()
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        if let record = try await DistributionSettingsRecord.query(on: db).filter(\.$name == Self.recordName).first() {
            record.configJSON = json
            record.updatedAt = now
            try await record.save(on: db)
        } else {
            let record = DistributionSettingsRecord()
            record.name = Self.recordName
            record.configJSON = json
            record.updatedAt = now
            try await record.create(on: db)
        }
    }
}

/// Refusals from the distribution rules as API errors: wrong input 422, a clash with the state 409.
extension APIError {
    static func distribution(_ failure: any DistributionFailure) -> APIError {
        let conflictCodes: Set<String> = [
            "commission_illegal_transition", "commission_held", "commission_already_held", "commission_not_held",
            "withdrawal_debt_open", "withdrawal_insufficient_balance", "withdrawal_illegal_transition",
            "withdrawal_daily_limit", "withdrawal_monthly_limit", "withdrawal_day_not_allowed", "binding_cycle",
        ]
        return APIError(conflictCodes.contains(failure.code) ? .conflict : .unprocessableEntity, failure.code,
                        .init(failure.localizedMessage(.zhHans), failure.localizedMessage(.en)))
    }
}
