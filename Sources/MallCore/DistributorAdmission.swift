import Foundation

/// How a member becomes a distributor. None of them costs money: an entry fee is refused (合规).
public enum DistributorAdmissionMode: Hashable, Codable, Sendable {
    /// Every member is a distributor.
    case automatic
    /// The member applies and an operator reviews.
    case application
    /// Once the member has paid at least this much in total.
    case spendThreshold(Money)
    /// Once the member has this many received orders.
    case receivedOrderThreshold(Int)
    /// Once the member has bought one of these products.
    case purchaseOfProduct(Set<UUID>)
    /// By scanning the QR code of a store that recruits.
    case storeQRCode
    /// Only members the operator picks.
    case handPicked
}

public struct DistributorAdmissionSettings: Hashable, Codable, Sendable {
    public var mode: DistributorAdmissionMode
    /// Present so that a configuration asking for a fee can be named and refused; must be zero.
    public var entryFee: Money

    public init(mode: DistributorAdmissionMode, entryFee: Money = .zero) {
        self.mode = mode
        self.entryFee = entryFee
    }

    public func validate() throws(DistributorAdmissionError) {
        guard entryFee.fen == 0 else { throw .entryFee }
        switch mode {
        case .spendThreshold(let amount): guard amount.fen > 0 else { throw .thresholdNotPositive }
        case .receivedOrderThreshold(let count): guard count > 0 else { throw .thresholdNotPositive }
        case .purchaseOfProduct(let products): guard !products.isEmpty else { throw .noProducts }
        case .automatic, .application, .storeQRCode, .handPicked: break
        }
    }
}

/// What the admission check needs to know about a member, counted by the caller.
public struct DistributorAdmissionFigures: Hashable, Sendable {
    public var paidAmount: Money
    public var receivedOrderCount: Int
    public var purchasedProductIDs: Set<UUID>
    /// The member scanned the QR code of a store that recruits distributors.
    public var scannedRecruitingStore: Bool
    /// The operator picked this member.
    public var pickedByOperator: Bool

    public init(paidAmount: Money = .zero, receivedOrderCount: Int = 0, purchasedProductIDs: Set<UUID> = [],
                scannedRecruitingStore: Bool = false, pickedByOperator: Bool = false) {
        self.paidAmount = paidAmount
        self.receivedOrderCount = receivedOrderCount
        self.purchasedProductIDs = purchasedProductIDs
        self.scannedRecruitingStore = scannedRecruitingStore
        self.pickedByOperator = pickedByOperator
    }
}

public enum DistributorAdmissionDecision: Hashable, Sendable {
    case admit
    /// The member may apply; an operator decides.
    case needsReview
    case notEligible(DistributorAdmissionError)
}

public enum DistributorAdmission {
    /// Whether the member can become a distributor now under these settings.
    public static func check(_ figures: DistributorAdmissionFigures, settings: DistributorAdmissionSettings)
        throws(DistributorAdmissionError) -> DistributorAdmissionDecision {
        try settings.validate()
        switch settings.mode {
        case .automatic: return .admit
        case .application: return .needsReview
        case .spendThreshold(let amount):
            return figures.paidAmount >= amount ? .admit : .notEligible(.spendBelowThreshold(amount))
        case .receivedOrderThreshold(let count):
            return figures.receivedOrderCount >= count ? .admit : .notEligible(.ordersBelowThreshold(count))
        case .purchaseOfProduct(let products):
            return products.isDisjoint(with: figures.purchasedProductIDs) ? .notEligible(.productNotPurchased) : .admit
        case .storeQRCode:
            return figures.scannedRecruitingStore ? .admit : .notEligible(.storeQRCodeRequired)
        case .handPicked:
            return figures.pickedByOperator ? .admit : .notEligible(.notPicked)
        }
    }
}

public enum DistributorAdmissionError: DistributionFailure, Hashable, Sendable {
    /// Any fee to become a distributor (合规).
    case entryFee
    case thresholdNotPositive
    case noProducts
    case spendBelowThreshold(Money)
    case ordersBelowThreshold(Int)
    case productNotPurchased
    case storeQRCodeRequired
    case notPicked

    public var code: String {
        switch self {
        case .entryFee: "admission_entry_fee"
        case .thresholdNotPositive: "admission_threshold_not_positive"
        case .noProducts: "admission_no_products"
        case .spendBelowThreshold: "admission_spend_below_threshold"
        case .ordersBelowThreshold: "admission_orders_below_threshold"
        case .productNotPurchased: "admission_product_not_purchased"
        case .storeQRCodeRequired: "admission_store_qr_required"
        case .notPicked: "admission_not_picked"
        }
    }

    public var isCompliance: Bool { self == .entryFee }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .entryFee:
            DistributionText.compliance(locale, "成为分销员不得收取任何费用。", "becoming a distributor can never cost a fee.")
        case .thresholdNotPositive: DistributionText.pick(locale, "门槛须大于零。", "The threshold must be above zero.")
        case .noProducts: DistributionText.pick(locale, "请选择至少一个指定商品。", "Choose at least one product.")
        case .spendBelowThreshold(let amount):
            DistributionText.pick(locale, "累计消费满 \(amount.formatted(.zhHans)) 即可成为分销员。",
                                  "Spend \(amount.formatted(.en)) in total to become a distributor.")
        case .ordersBelowThreshold(let count):
            DistributionText.pick(locale, "完成 \(count) 笔已收货订单即可成为分销员。",
                                  "Complete \(count) received orders to become a distributor.")
        case .productNotPurchased: DistributionText.pick(locale, "购买指定商品后即可成为分销员。", "Buy one of the chosen products to become a distributor.")
        case .storeQRCodeRequired: DistributionText.pick(locale, "请扫描招募门店的二维码成为分销员。", "Scan a recruiting store's QR code to become a distributor.")
        case .notPicked: DistributionText.pick(locale, "分销员由平台邀请开通。", "Distributors are invited by the operator.")
        }
    }
}
