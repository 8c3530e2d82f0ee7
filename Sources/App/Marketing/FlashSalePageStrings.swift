import MallCore

/// Page texts of the flash sale page and the operator's flash sales page.
enum FlashSalePageStrings {
    static let table: [String: LocalizedText] = [
        "fs_title": .init("限时秒杀", "Flash sales"),
        "fs_empty": .init("今天没有秒杀场次", "No flash sale sessions today"),
        "fs_taken": .init("已抢", "Taken"),
        "fs_starts_in": .init("距开始", "Starts in"),
        "fs_ends_in": .init("距结束", "Ends in"),
        "fs_buy": .init("立即抢购", "Buy now"),
        "fs_ticket_title": .init("秒杀排队", "Flash sale queue"),
        "fs_ticket_wait": .init("这件已为你保留，订单生成后自动进入付款页。", "The unit is held for you; the payment page opens as soon as the order exists."),
        "fs_ticket_back": .init("返回秒杀", "Back to flash sales"),
        "fs_admin_title": .init("秒杀活动", "Flash sales"),
        "fs_admin_empty": .init("还没有秒杀活动", "No flash sales yet"),
        "fs_name": .init("活动名称", "Name"),
        "fs_sessions": .init("场次", "Sessions"),
        "fs_payer": .init("承担方", "Paid by"),
        "fs_commission": .init("分佣", "Commission"),
        "fs_sold": .init("已售件数", "Units sold"),
        "fs_sales": .init("销售额", "Sales"),
        "fs_cost": .init("优惠成本", "Discount cost"),
        "fs_status": .init("状态", "Status"),
        "fs_pause": .init("暂停", "Pause"),
        "fs_resume": .init("恢复", "Resume"),
        "fs_stop": .init("停止", "Stop"),
        "fs_badge": .init("秒杀", "Flash sale"),
    ]
}
