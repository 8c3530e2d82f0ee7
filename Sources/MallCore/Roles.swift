import Foundation

/// Staff roles: operators work for the platform, merchant staff for exactly one merchant.
public enum StaffRole: String, Codable, Sendable, CaseIterable {
    case platformAdmin = "platform_admin"
    case platformFinance = "platform_finance"
    case platformSupport = "platform_support"
    case merchantOwner = "merchant_owner"
    case merchantStaff = "merchant_staff"
    /// 店员: works in one store of the merchant; sees the shop, changes nothing in it.
    case storeClerk = "store_clerk"

    public var isPlatform: Bool {
        switch self {
        case .platformAdmin, .platformFinance, .platformSupport: true
        case .merchantOwner, .merchantStaff, .storeClerk: false
        }
    }

    public var permissions: Set<Permission> {
        switch self {
        case .platformAdmin: Set(Permission.allCases.filter(\.isPlatform))
        case .platformFinance: [.viewConsole, .viewLedger, .viewMerchants, .reconcilePayments, .payoutWithdrawals]
        case .platformSupport: [.viewConsole, .viewMembers, .viewMerchants, .handleDisputes]
        case .merchantOwner: [.viewShop, .manageShop, .manageShopStaff, .handleOrders, .redeemCodes]
        case .merchantStaff: [.viewShop, .handleOrders, .redeemCodes]
        case .storeClerk: [.viewShop, .redeemCodes]
        }
    }

    public func can(_ permission: Permission) -> Bool { permissions.contains(permission) }
}

public enum Permission: String, Codable, Sendable, CaseIterable {
    // platform
    case viewConsole = "console.view"
    case viewMembers = "members.view"
    case viewMerchants = "merchants.view"
    case manageMerchants = "merchants.manage"
    case viewLedger = "ledger.view"
    case viewAuditLog = "audit.view"
    case manageStaff = "staff.manage"
    case manageCatalog = "catalog.manage"
    /// Deciding after-sales appeals between buyers and shops.
    case handleDisputes = "disputes.handle"
    /// Comparing providers' bills with the ledger and resolving the differences (对账).
    case reconcilePayments = "payments.reconcile"
    /// Distribution settings, rules, grades, distributors, bindings and commission holds.
    case manageDistribution = "distribution.manage"
    /// Reviewing and paying distributors' withdrawals.
    case payoutWithdrawals = "distribution.payout"
    /// Platform coupons and other marketing activities; stopping any shop's.
    case manageMarketing = "marketing.manage"
    // merchant
    case viewShop = "shop.view"
    case manageShop = "shop.manage"
    case manageShopStaff = "shop.staff.manage"
    /// Shipping orders and answering after-sales: the shop's everyday work, for every staff member.
    case handleOrders = "shop.orders.handle"
    /// Verifying pickup codes and redeeming service codes at the counter: a store clerk's one change.
    case redeemCodes = "shop.codes.redeem"

    public var isPlatform: Bool { !rawValue.hasPrefix("shop.") }
}
