import Foundation

/// Where an order stands. The raw values are what the database stores.
public enum OrderState: String, CaseIterable, Codable, Sendable {
    /// 待付款
    case pendingPayment = "pending_payment"
    /// 待发货: paid, awaiting shipment, pickup in store or redemption.
    case paid
    /// 已发货
    case shipped
    /// 已收货
    case received
    /// 已完成: the after-sales window has passed; commission may settle.
    case completed
    /// 已取消: the buyer or the merchant cancelled before payment.
    case cancelled
    /// 已关闭: never paid in time, or everything paid was refunded.
    case closed

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .pendingPayment: locale.choose(zh: "待付款", en: "Awaiting payment")
        case .paid: locale.choose(zh: "待发货", en: "Awaiting shipment")
        case .shipped: locale.choose(zh: "已发货", en: "Shipped")
        case .received: locale.choose(zh: "已收货", en: "Received")
        case .completed: locale.choose(zh: "已完成", en: "Completed")
        case .cancelled: locale.choose(zh: "已取消", en: "Cancelled")
        case .closed: locale.choose(zh: "已关闭", en: "Closed")
        }
    }

    /// The label a buyer reads for this order: a paid pickup order waits for pickup (待自提) and a
    /// paid virtual order for redemption (待核销), not for a parcel.
    public func label(_ locale: MallLocale, fulfilment: FulfilmentKind) -> String {
        guard self == .paid else { return label(locale) }
        switch fulfilment {
        case .express: return label(locale)
        case .pickup: return locale.choose(zh: "待自提", en: "Awaiting pickup")
        case .virtual: return locale.choose(zh: "待核销", en: "Awaiting redemption")
        }
    }

    /// No action leads out of these.
    public var isFinal: Bool { self == .completed || self == .cancelled || self == .closed }
}

/// How an order reaches the buyer. Only express orders ship; pickup orders are verified in a
/// store with a code; virtual orders (courses, tickets, cards) are redeemed code by code.
public enum FulfilmentKind: String, CaseIterable, Codable, Sendable {
    case express
    case pickup
    case virtual
}

/// Everything that may happen to an order. Changing the price or the address keeps the state but
/// is only allowed in some states, so they go through the same table.
public enum OrderAction: String, CaseIterable, Codable, Sendable {
    case pay
    case cancel
    case closeUnpaid = "close_unpaid"
    case ship
    case pickUp = "pick_up"
    case redeemAll = "redeem_all"
    case confirmReceipt = "confirm_receipt"
    case complete
    case closeFullyRefunded = "close_fully_refunded"
    case changePrice = "change_price"
    case changeAddress = "change_address"

    /// The action as a verb phrase that takes an order: "取消订单" / "cancel".
    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .pay: locale.choose(zh: "付款", en: "pay for")
        case .cancel: locale.choose(zh: "取消订单", en: "cancel")
        case .closeUnpaid: locale.choose(zh: "超时关闭", en: "close as unpaid")
        case .ship: locale.choose(zh: "发货", en: "ship")
        case .pickUp: locale.choose(zh: "自提核销", en: "verify the pickup of")
        case .redeemAll: locale.choose(zh: "全部核销", en: "redeem")
        case .confirmReceipt: locale.choose(zh: "确认收货", en: "confirm receipt of")
        case .complete: locale.choose(zh: "完成订单", en: "complete")
        case .closeFullyRefunded: locale.choose(zh: "全额退款关闭", en: "close as refunded")
        case .changePrice: locale.choose(zh: "改价", en: "change the price of")
        case .changeAddress: locale.choose(zh: "修改地址", en: "change the address of")
        }
    }
}

/// What the guards need to know about an order besides its state. The caller reads these from
/// its records; fields an action does not look at may keep their defaults.
public struct OrderFacts: Sendable, Equatable {
    public var fulfilment: FulfilmentKind
    /// The after-sales window after receipt has passed (see `OrderDeadlines.afterSalesWindowEnded`).
    public var afterSalesWindowEnded: Bool
    /// Some after-sale of the order is open (`AfterSaleState.isOpen`).
    public var hasOpenAfterSale: Bool
    /// Every code of a virtual order has been redeemed.
    public var allCodesRedeemed: Bool
    /// Every line has been refunded in full.
    public var fullyRefunded: Bool

    public init(
        fulfilment: FulfilmentKind,
        afterSalesWindowEnded: Bool = false,
        hasOpenAfterSale: Bool = false,
        allCodesRedeemed: Bool = false,
        fullyRefunded: Bool = false
    ) {
        self.fulfilment = fulfilment
        self.afterSalesWindowEnded = afterSalesWindowEnded
        self.hasOpenAfterSale = hasOpenAfterSale
        self.allCodesRedeemed = allCodesRedeemed
        self.fullyRefunded = fullyRefunded
    }
}

public enum OrderTransitionError: LocalizedRuleError, Equatable {
    /// The action is not allowed in this state at all.
    case notAllowed(state: OrderState, action: OrderAction)
    /// The action belongs to another way of fulfilment, e.g. shipping a pickup order.
    case wrongFulfilment(action: OrderAction, fulfilment: FulfilmentKind)
    case afterSalesWindowOpen
    case afterSaleOpen
    case codesNotAllRedeemed
    case notFullyRefunded

    public var code: String {
        switch self {
        case .notAllowed: "order_transition_not_allowed"
        case .wrongFulfilment: "order_wrong_fulfilment"
        case .afterSalesWindowOpen: "order_after_sales_window_open"
        case .afterSaleOpen: "order_after_sale_open"
        case .codesNotAllRedeemed: "order_codes_not_all_redeemed"
        case .notFullyRefunded: "order_not_fully_refunded"
        }
    }

    public var kind: RuleErrorKind { .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case let .notAllowed(state, action):
            locale.choose(zh: "订单处于「\(state.label(.zhHans))」状态，不能\(action.label(.zhHans))",
                          en: "Cannot \(action.label(.en)) an order that is \(state.label(.en).lowercased())")
        case let .wrongFulfilment(action, fulfilment):
            locale.choose(zh: "\(fulfilment.label(.zhHans))订单不能\(action.label(.zhHans))",
                          en: "Cannot \(action.label(.en)) a \(fulfilment.label(.en)) order")
        case .afterSalesWindowOpen:
            locale.choose(zh: "售后期尚未结束，订单暂不能完成", en: "The after-sales period has not ended yet")
        case .afterSaleOpen:
            locale.choose(zh: "订单还有进行中的售后，暂不能完成", en: "The order has an after-sale in progress")
        case .codesNotAllRedeemed:
            locale.choose(zh: "还有未核销的券码", en: "Some codes have not been redeemed yet")
        case .notFullyRefunded:
            locale.choose(zh: "订单尚未全额退款", en: "The order has not been refunded in full")
        }
    }
}

extension FulfilmentKind {
    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .express: locale.choose(zh: "快递", en: "delivery")
        case .pickup: locale.choose(zh: "自提", en: "pickup")
        case .virtual: locale.choose(zh: "虚拟商品", en: "virtual")
        }
    }
}

/// The order flow as a transition table with guards: each action names the states it may start
/// from and the state it leads to, and a guard may still refuse it on the order's facts.
public enum OrderStateMachine {
    public struct Rule: Sendable, Equatable {
        public let from: Set<OrderState>
        /// nil: the action keeps the state (a price or address change).
        public let to: OrderState?
        /// The only fulfilment the action is for, when it is for one.
        public let fulfilment: FulfilmentKind?
    }

    public static func rule(for action: OrderAction) -> Rule {
        switch action {
        case .pay: Rule(from: [.pendingPayment], to: .paid, fulfilment: nil)
        case .cancel: Rule(from: [.pendingPayment], to: .cancelled, fulfilment: nil)
        case .closeUnpaid: Rule(from: [.pendingPayment], to: .closed, fulfilment: nil)
        case .ship: Rule(from: [.paid], to: .shipped, fulfilment: .express)
        case .pickUp: Rule(from: [.paid], to: .received, fulfilment: .pickup)
        case .redeemAll: Rule(from: [.paid], to: .received, fulfilment: .virtual)
        case .confirmReceipt: Rule(from: [.shipped], to: .received, fulfilment: .express)
        case .complete: Rule(from: [.received], to: .completed, fulfilment: nil)
        case .closeFullyRefunded: Rule(from: [.paid, .shipped, .received], to: .closed, fulfilment: nil)
        case .changePrice: Rule(from: [.pendingPayment], to: nil, fulfilment: nil)
        // A pickup or virtual order has no address to change.
        case .changeAddress: Rule(from: [.pendingPayment, .paid], to: nil, fulfilment: .express)
        }
    }

    /// The state after `action`, or the reason it is refused. The state is checked first, so an
    /// action that is wrong in this state reads as such whatever the facts.
    public static func apply(_ action: OrderAction, to state: OrderState, facts: OrderFacts) throws(OrderTransitionError) -> OrderState {
        let rule = rule(for: action)
        guard rule.from.contains(state) else { throw .notAllowed(state: state, action: action) }
        if let only = rule.fulfilment, only != facts.fulfilment {
            throw .wrongFulfilment(action: action, fulfilment: facts.fulfilment)
        }
        switch action {
        case .complete:
            guard facts.afterSalesWindowEnded else { throw .afterSalesWindowOpen }
            guard !facts.hasOpenAfterSale else { throw .afterSaleOpen }
        case .redeemAll:
            guard facts.allCodesRedeemed else { throw .codesNotAllRedeemed }
        case .closeFullyRefunded:
            guard facts.fullyRefunded else { throw .notFullyRefunded }
        default:
            break
        }
        return rule.to ?? state
    }

    /// The actions whose state and fulfilment allow them here, e.g. to decide which buttons to
    /// show; their fact guards may still refuse.
    public static func actions(in state: OrderState, fulfilment: FulfilmentKind) -> [OrderAction] {
        OrderAction.allCases.filter { action in
            let rule = rule(for: action)
            return rule.from.contains(state) && (rule.fulfilment == nil || rule.fulfilment == fulfilment)
        }
    }
}

/// The lists on the buyer's 我的订单 page.
public enum OrderTab: String, CaseIterable, Codable, Sendable {
    /// 全部
    case all
    /// 待付款
    case pendingPayment = "pending_payment"
    /// 待发货 (also pickup and redemption)
    case awaitingShipment = "awaiting_shipment"
    /// 待收货
    case awaitingReceipt = "awaiting_receipt"
    /// 待评价: received or completed and not reviewed yet.
    case awaitingReview = "awaiting_review"
    /// 售后: orders with an after-sale in progress.
    case afterSale = "after_sale"

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .all: locale.choose(zh: "全部", en: "All")
        case .pendingPayment: locale.choose(zh: "待付款", en: "To pay")
        case .awaitingShipment: locale.choose(zh: "待发货", en: "To ship")
        case .awaitingReceipt: locale.choose(zh: "待收货", en: "To receive")
        case .awaitingReview: locale.choose(zh: "待评价", en: "To review")
        case .afterSale: locale.choose(zh: "售后", en: "After-sales")
        }
    }

    /// The states the tab lists, for a query; `all` and `afterSale` list every state
    /// (`afterSale` is decided by open after-sales, not by the order's state).
    public var states: Set<OrderState> {
        switch self {
        case .all, .afterSale: Set(OrderState.allCases)
        case .pendingPayment: [.pendingPayment]
        case .awaitingShipment: [.paid]
        case .awaitingReceipt: [.shipped]
        case .awaitingReview: [.received, .completed]
        }
    }

    /// The tabs that list an order: always `all`, then the one for its state if any, then
    /// `afterSale` while an after-sale is open.
    public static func tabs(for state: OrderState, reviewed: Bool, hasOpenAfterSale: Bool) -> [OrderTab] {
        var tabs: [OrderTab] = [.all]
        switch state {
        case .pendingPayment: tabs.append(.pendingPayment)
        case .paid: tabs.append(.awaitingShipment)
        case .shipped: tabs.append(.awaitingReceipt)
        case .received, .completed: if !reviewed { tabs.append(.awaitingReview) }
        case .cancelled, .closed: break
        }
        if hasOpenAfterSale { tabs.append(.afterSale) }
        return tabs
    }
}

/// The timers of the order flow, decided from times the caller passes in (epoch seconds).
/// A deadline beyond the range of Int64 is never reached; a negative duration counts as zero.
public enum OrderDeadlines {
    /// An unpaid order closes once `timeoutSeconds` have passed since it was placed.
    public static func unpaidExpired(placedAt: Int64, now: Int64, timeoutSeconds: Int64) -> Bool {
        reached(from: placedAt, seconds: timeoutSeconds, now: now)
    }

    /// A shipped order is confirmed as received `days` after shipment.
    public static func autoReceiptDue(shippedAt: Int64, now: Int64, days: Int) -> Bool {
        reached(from: shippedAt, seconds: seconds(days: days), now: now)
    }

    /// The after-sales window ends `days` after receipt; 0 days ends it at receipt.
    public static func afterSalesWindowEnded(receivedAt: Int64, now: Int64, days: Int) -> Bool {
        reached(from: receivedAt, seconds: seconds(days: days), now: now)
    }

    static func seconds(days: Int) -> Int64 {
        let (product, overflow) = Int64(max(days, 0)).multipliedReportingOverflow(by: 86_400)
        return overflow ? .max : product
    }

    static func reached(from start: Int64, seconds: Int64, now: Int64) -> Bool {
        let (deadline, overflow) = start.addingReportingOverflow(max(seconds, 0))
        return !overflow && now >= deadline
    }
}
