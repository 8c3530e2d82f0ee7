import MallCore

/// Page texts of promotion badges, the checkout's savings and the operator's promotions page.
enum PromotionPageStrings {
    static let table: [String: LocalizedText] = [
        "pm_admin_title": .init("促销活动", "Promotions"),
        "pm_admin_create": .init("新建平台满减活动", "New platform spend-and-save activity"),
        "pm_name": .init("活动名称", "Name"),
        "pm_kind": .init("类型", "Kind"),
        "pm_rule": .init("规则", "Rule"),
        "pm_window": .init("活动时间", "Window"),
        "pm_payer": .init("承担方", "Paid by"),
        "pm_status": .init("状态", "Status"),
        "pm_starts_at": .init("开始时间（ISO 8601）", "Starts (ISO 8601)"),
        "pm_ends_at": .init("结束时间（ISO 8601）", "Ends (ISO 8601)"),
        "pm_tier": .init("档位", "Tier"),
        "pm_threshold": .init("满（元）", "Spend (yuan)"),
        "pm_amount_off": .init("减（元）", "Save (yuan)"),
        "pm_pause": .init("暂停", "Pause"),
        "pm_resume": .init("恢复", "Resume"),
        "pm_stop": .init("停止", "Stop"),
        "pm_submit": .init("创建", "Create"),
        "pm_empty": .init("还没有促销活动", "No promotions yet"),
        "pm_badges": .init("促销", "Promotions"),
    ]
}
