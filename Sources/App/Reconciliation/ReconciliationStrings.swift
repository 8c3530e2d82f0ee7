import MallCore

/// Reconciliation's texts, zh-Hans first. Pages read them as `t.<key>` with every other area's.
enum ReconciliationStrings {
    static let table: [String: LocalizedText] = [
        "recon_title": .init("支付对账", "Payment reconciliation"),
        "recon_intro": .init("每天上午 10:30 后自动下载各支付渠道前一天的账单，与账本逐笔核对；差异列在下方，处理后请填写说明。",
                             "After 10:30 each morning, every provider's bill for the day before is downloaded and compared line by line with the ledger; differences are listed below and resolved with a note."),
        "recon_runs": .init("对账记录", "Runs"),
        "recon_no_runs": .init("暂无对账记录", "No runs yet"),
        "recon_differences": .init("未处理的差异", "Open differences"),
        "recon_no_differences": .init("没有未处理的差异", "No open differences"),
        "recon_run_now": .init("立即对账", "Reconcile now"),
        "recon_all_providers": .init("全部渠道", "All providers"),
        "recon_date": .init("账单日期", "Bill date"),
        "recon_provider": .init("支付渠道", "Provider"),
        "recon_status": .init("状态", "Status"),
        "recon_provider_side": .init("渠道账单", "Provider's bill"),
        "recon_our_side": .init("本平台账本", "Our ledger"),
        "recon_matched": .init("一致", "Matched"),
        "recon_diff_count": .init("差异", "Differences"),
        "recon_open_count": .init("未处理", "Open"),
        "recon_payments": .init("收款", "payments"),
        "recon_refunds": .init("退款", "refunds"),
        "recon_kind": .init("差异类型", "Difference"),
        "recon_line": .init("业务", "Line"),
        "recon_our_no": .init("本平台单号", "Our number"),
        "recon_provider_no": .init("渠道单号", "Provider's number"),
        "recon_our_amount": .init("账本金额", "Ledger amount"),
        "recon_provider_amount": .init("渠道金额", "Provider amount"),
        "recon_note": .init("处理说明", "Resolution note"),
        "recon_resolve": .init("标记已处理", "Mark resolved"),
        "recon_resolved": .init("差异已标记为已处理", "The difference is marked resolved"),
        "recon_started": .init("对账已完成，结果见下方", "Reconciliation done; see the results below"),
        "recon_nav": .init("支付对账", "Reconciliation"),
        "provider_sandbox": .init("沙箱", "Sandbox"),
        "provider_wechat": .init("微信支付", "WeChat Pay"),
        "provider_alipay": .init("支付宝", "Alipay"),
        "run_completed": .init("已完成", "Completed"),
        "run_failed": .init("失败", "Failed"),
        "kind_missing_at_provider": .init("渠道缺失（本平台已入账，渠道账单无此笔）", "Missing at provider (booked by us, not on the bill)"),
        "kind_extra_at_provider": .init("渠道多出（渠道有此笔，本平台未入账）", "Extra at provider (on the bill, not booked by us)"),
        "kind_amount_mismatch": .init("金额不一致", "Amount differs"),
        "line_payment": .init("收款", "Payment"),
        "line_refund": .init("退款", "Refund"),
    ]

    static func label(_ key: String, _ locale: MallLocale, fallback: String) -> String {
        table[key]?(locale) ?? fallback
    }
}
