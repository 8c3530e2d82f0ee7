import Vapor

extension Application {
    /// The project's own commands beside Vapor's `serve` and Fluent's `migrate`.
    public func registerMallCommands() {
        asyncCommands.use(SeedCommand(), as: "seed")
        asyncCommands.use(SweepCommand(), as: "sweep")
        asyncCommands.use(VerifyLedgerCommand(), as: "verify-ledger")
        asyncCommands.use(BenchCommand(), as: "bench")
        asyncCommands.use(BenchCatalogCommand(), as: "bench-catalog")
        asyncCommands.use(BenchExportCommand(), as: "bench-export")
        asyncCommands.use(BenchLedgerVerifyCommand(), as: "bench-ledger-verify")
        asyncCommands.use(BenchOrdersCommand(), as: "bench-orders")
        asyncCommands.use(BenchFlashSaleCommand(), as: "bench-flash")
        asyncCommands.use(BenchCommissionCommand(), as: "bench-commission")
        asyncCommands.use(BenchPricingCommand(), as: "bench-pricing")
        asyncCommands.use(BenchSettlementCommand(), as: "bench-settlement")
        asyncCommands.use(AssessGradesCommand(), as: "assess-grades")
        asyncCommands.use(LedgerLoadCommand(), as: "ledger-load")
        asyncCommands.use(OrderJobsCommand(), as: "order-jobs")
        asyncCommands.use(GroupBuyJobsCommand(), as: "group-buy-jobs")
        asyncCommands.use(ReconcileCommand(), as: "reconcile")
        asyncCommands.use(SyncPayoutsCommand(), as: "sync-payouts")
        asyncCommands.use(SendBirthdayCouponsCommand(), as: "send-birthday-coupons")
        asyncCommands.use(RecomputeMemberTagsCommand(), as: "recompute-member-tags")
        asyncCommands.use(RunCouponSendsCommand(), as: "run-coupon-sends")
        for job in [OrderJobCommand.Job.closeUnpaid, .confirmShipped, .complete] {
            asyncCommands.use(OrderJobCommand(job: job), as: job.rawValue)
        }
    }
}
