import Fluent
import Vapor

/// Every migration in the order it runs. Append only: a landed migration is never edited.
enum Migrations {
    static let all: [any Migration] = [
        CreateMerchants(),
        CreateMembers(),
        CreateStaffUsers(),
        CreateLoginAttempts(),
        CreateSmsCodes(),
        CreateRefreshTokens(),
        CreateAuditLogs(),
        CreateLedger(),
        SessionRecord.migration,
        LedgerAppendOnly(),
        CreateCatalog(),
        CreateMerchantApplications(),
        CreateStores(),
        CreateMerchantMessages(),
        CreateImages(),
        CreateRedemptionStoresAndStoreStaff(),
        CreateRateCounters(),
        CreateSessionControls(),
        CreateProductMerchantIndex(),
        LedgerIntegrity(),
        ScopeSkuCodesToMerchant(),
        CreateAddressesAndCart(),
        CreateShippingTemplates(),
        CreateOrdersAndPayments(),
        CreateAfterSalesAndRefunds(),
        CreateRedemptionCodes(),
        CreateLogistics(),
        CreateReviews(),
        AddOutboxAttempts(),
        CreateReconciliation(),
        CreatePaymentRequests(),
        CreateDistribution(),
        AddWithdrawalTransfers(),
        ExtendDistribution(),
        CreateCoupons(),
        CreatePromotions(),
        CreateMemberPoints(),
        CreateGroupBuys(),
        CreateBargains(),
        CreateFlashSales(),
        AddOrderLineGifts(),
        CreateFarmEvents(),
        AddOrderShippingSubsidy(),
        CreatePointsMall(),
        CreateMemberTags(),
        CreateFlashSaleTickets(),
        AddPointsMallGoods(),
        CreateCouponSendJobs(),
        CreateOrderShippingSavings(),
        CreateOrderSavings(),
    ]
}

/// A plain (non-unique) index, written the same way on SQLite and PostgreSQL.
func createIndex(_ name: String, on table: String, columns: [String], db: any Database) async throws {
    let sql = try sqlDatabase(db)
    var builder = sql.create(index: name).on(table)
    for column in columns { builder = builder.column(column) }
    try await builder.run()
}
