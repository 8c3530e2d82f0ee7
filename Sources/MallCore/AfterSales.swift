import Foundation

public enum AfterSaleKind: String, CaseIterable, Codable, Sendable {
    /// 仅退款
    case refundOnly = "refund_only"
    /// 退货退款
    case returnAndRefund = "return_and_refund"

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .refundOnly: locale.choose(zh: "仅退款", en: "refund only")
        case .returnAndRefund: locale.choose(zh: "退货退款", en: "return and refund")
        }
    }
}

/// Where an after-sale stands. The raw values are stored.
public enum AfterSaleState: String, CaseIterable, Codable, Sendable {
    case requested
    case approved
    /// The merchant said no; the buyer may appeal to the platform until the appeal period ends.
    case rejected
    case appealed
    /// Approved return: the buyer has the return address and sends the goods back.
    case awaitingReturn = "awaiting_return"
    case returnShipped = "return_shipped"
    case returnReceived = "return_received"
    case refunding
    case refunded
    /// Rejected for good: the appeal period passed or the platform dismissed the appeal.
    case closed
    /// Withdrawn by the buyer.
    case cancelled

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .requested: locale.choose(zh: "待商家处理", en: "awaiting the shop")
        case .approved: locale.choose(zh: "已同意", en: "approved")
        case .rejected: locale.choose(zh: "已拒绝", en: "rejected")
        case .appealed: locale.choose(zh: "平台介入中", en: "under platform review")
        case .awaitingReturn: locale.choose(zh: "待买家退货", en: "awaiting the return")
        case .returnShipped: locale.choose(zh: "买家已退货", en: "return shipped")
        case .returnReceived: locale.choose(zh: "商家已收货", en: "return received")
        case .refunding: locale.choose(zh: "退款中", en: "refunding")
        case .refunded: locale.choose(zh: "已退款", en: "refunded")
        case .closed: locale.choose(zh: "已关闭", en: "closed")
        case .cancelled: locale.choose(zh: "已撤销", en: "withdrawn")
        }
    }

    /// An open after-sale holds the order back from completion (and its commission from
    /// settling). A rejected one counts as open while it may still be appealed: the app closes it
    /// when the appeal period ends.
    public var isOpen: Bool {
        switch self {
        case .refunded, .closed, .cancelled: false
        default: true
        }
    }
}

public enum AfterSaleAction: String, CaseIterable, Codable, Sendable {
    /// The merchant agrees to a request, or the platform upholds an appeal.
    case approve
    /// The merchant refuses a request.
    case reject
    /// The buyer asks the platform to look at a rejection.
    case appeal
    /// The appeal period ended without an appeal, or the platform dismissed the appeal.
    case close
    /// The merchant gives the return address (return and refund).
    case requestReturn = "request_return"
    /// The buyer enters the return's carrier and tracking number.
    case shipReturn = "ship_return"
    /// The merchant has the goods back.
    case confirmReturn = "confirm_return"
    /// The refund is sent through the original payment channel.
    case startRefund = "start_refund"
    case refundSucceeded = "refund_succeeded"
    /// The buyer withdraws the request; possible until the refund is under way.
    case cancel

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .approve: locale.choose(zh: "同意", en: "approve")
        case .reject: locale.choose(zh: "拒绝", en: "reject")
        case .appeal: locale.choose(zh: "申请平台介入", en: "appeal")
        case .close: locale.choose(zh: "关闭", en: "close")
        case .requestReturn: locale.choose(zh: "提供退货地址", en: "request the return")
        case .shipReturn: locale.choose(zh: "填写退货物流", en: "ship the return")
        case .confirmReturn: locale.choose(zh: "确认收到退货", en: "confirm the return")
        case .startRefund: locale.choose(zh: "发起退款", en: "start the refund")
        case .refundSucceeded: locale.choose(zh: "退款成功", en: "complete the refund")
        case .cancel: locale.choose(zh: "撤销申请", en: "withdraw")
        }
    }
}

/// The after-sale flow as a transition table: the states each action may start from, per kind.
public enum AfterSaleStateMachine {
    /// The states `action` may start from for an after-sale of `kind`, and where it leads.
    public static func rule(for action: AfterSaleAction, kind: AfterSaleKind) -> (from: Set<AfterSaleState>, to: AfterSaleState) {
        switch action {
        case .approve: ([.requested, .appealed], .approved)
        case .reject: ([.requested], .rejected)
        case .appeal: ([.rejected], .appealed)
        case .close: ([.rejected, .appealed], .closed)
        case .requestReturn: (kind == .returnAndRefund ? [.approved] : [], .awaitingReturn)
        case .shipReturn: (kind == .returnAndRefund ? [.awaitingReturn] : [], .returnShipped)
        case .confirmReturn: (kind == .returnAndRefund ? [.returnShipped] : [], .returnReceived)
        case .startRefund: (kind == .returnAndRefund ? [.returnReceived] : [.approved], .refunding)
        case .refundSucceeded: ([.refunding], .refunded)
        case .cancel:
            (kind == .returnAndRefund
                ? [.requested, .approved, .rejected, .appealed, .awaitingReturn, .returnShipped, .returnReceived]
                : [.requested, .approved, .rejected, .appealed], .cancelled)
        }
    }

    public static func apply(_ action: AfterSaleAction, to state: AfterSaleState, kind: AfterSaleKind) throws(AfterSaleError) -> AfterSaleState {
        let rule = rule(for: action, kind: kind)
        guard rule.from.contains(state) else { throw .notAllowed(state: state, action: action, kind: kind) }
        return rule.to
    }

    public static func actions(in state: AfterSaleState, kind: AfterSaleKind) -> [AfterSaleAction] {
        AfterSaleAction.allCases.filter { rule(for: $0, kind: kind).from.contains(state) }
    }
}

/// What a buyer asks for on one order line.
public struct AfterSaleApplication: Hashable, Sendable {
    public let kind: AfterSaleKind
    /// Units to give back and be refunded for. 0 only for a refund-only agreement that leaves
    /// the goods with the buyer (a partial refund for a flaw, say).
    public let units: Int64
    /// The merchant and the buyer agreed on it (协商), which allows a refund only after shipment.
    public let byAgreement: Bool

    public init(kind: AfterSaleKind, units: Int64, byAgreement: Bool = false) {
        self.kind = kind
        self.units = units
        self.byAgreement = byAgreement
    }
}

/// What the guards need to know about the order line, read by the caller from its records.
public struct AfterSaleLineFacts: Hashable, Sendable {
    public let orderState: OrderState
    public let fulfilment: FulfilmentKind
    public let lineQuantity: Int64
    public let refundedUnits: Int64
    /// Units named by other after-sales of the line that are still open.
    public let unitsInOpenAfterSales: Int64
    /// The after-sales window after receipt has not ended (ignored before receipt).
    public let afterSalesWindowOpen: Bool

    public init(orderState: OrderState, fulfilment: FulfilmentKind, lineQuantity: Int64, refundedUnits: Int64 = 0,
                unitsInOpenAfterSales: Int64 = 0, afterSalesWindowOpen: Bool = true) {
        self.orderState = orderState
        self.fulfilment = fulfilment
        self.lineQuantity = lineQuantity
        self.refundedUnits = refundedUnits
        self.unitsInOpenAfterSales = unitsInOpenAfterSales
        self.afterSalesWindowOpen = afterSalesWindowOpen
    }
}

extension AfterSaleApplication {
    /// Refuses an application the order line cannot take: the order must be paid and not past
    /// its after-sales window; refund only is for goods the buyer does not have yet (before
    /// shipment, pickup or redemption) unless agreed; a return needs goods that left the shop;
    /// and the units must still be free: not refunded and not in another open after-sale.
    public func validate(against facts: AfterSaleLineFacts) throws(AfterSaleError) {
        switch facts.orderState {
        case .paid, .shipped:
            break
        case .received:
            guard facts.afterSalesWindowOpen else { throw .windowEnded }
        case .pendingPayment, .completed, .cancelled, .closed:
            throw .orderNotEligible(facts.orderState)
        }
        let goodsWithBuyer = facts.orderState != .paid
        switch kind {
        case .refundOnly:
            guard !goodsWithBuyer || byAgreement else { throw .refundOnlyAfterDelivery }
        case .returnAndRefund:
            guard facts.fulfilment != .virtual else { throw .nothingToReturn }
            guard goodsWithBuyer else { throw .nothingToReturn }
        }
        guard facts.lineQuantity >= 1, facts.refundedUnits >= 0, facts.unitsInOpenAfterSales >= 0 else { throw .invalidUnits }
        let (taken, overflow) = facts.refundedUnits.addingReportingOverflow(facts.unitsInOpenAfterSales)
        guard !overflow, taken <= facts.lineQuantity else { throw .invalidUnits }
        let available = facts.lineQuantity - taken
        let least: Int64 = kind == .refundOnly && byAgreement ? 0 : 1
        guard units >= least else { throw .invalidUnits }
        guard units <= available else { throw .tooManyUnits(requested: units, available: available) }
    }
}

public enum AfterSaleError: LocalizedRuleError, Equatable {
    case notAllowed(state: AfterSaleState, action: AfterSaleAction, kind: AfterSaleKind)
    case orderNotEligible(OrderState)
    case windowEnded
    case refundOnlyAfterDelivery
    case nothingToReturn
    case invalidUnits
    case tooManyUnits(requested: Int64, available: Int64)

    public var code: String {
        switch self {
        case .notAllowed: "after_sale_transition_not_allowed"
        case .orderNotEligible: "after_sale_order_not_eligible"
        case .windowEnded: "after_sale_window_ended"
        case .refundOnlyAfterDelivery: "after_sale_refund_only_after_delivery"
        case .nothingToReturn: "after_sale_nothing_to_return"
        case .invalidUnits: "after_sale_invalid_units"
        case .tooManyUnits: "after_sale_too_many_units"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .invalidUnits: .invalid
        default: .conflict
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case let .notAllowed(state, action, kind):
            locale.choose(zh: "\(kind.label(.zhHans))售后处于「\(state.label(.zhHans))」，不能\(action.label(.zhHans))",
                          en: "Cannot \(action.label(.en)) a \(kind.label(.en)) request that is \(state.label(.en))")
        case .orderNotEligible(let state):
            locale.choose(zh: "订单处于「\(state.label(.zhHans))」，不能申请售后", en: "An order that is \(state.label(.en).lowercased()) cannot have an after-sale")
        case .windowEnded:
            locale.choose(zh: "已超过售后期限", en: "The after-sales period has ended")
        case .refundOnlyAfterDelivery:
            locale.choose(zh: "商品已发出，请选择退货退款或与商家协商", en: "The goods have been sent; return them or agree a refund with the shop")
        case .nothingToReturn:
            locale.choose(zh: "没有可退回的商品，请选择仅退款", en: "There is nothing to return; ask for a refund only")
        case .invalidUnits:
            locale.choose(zh: "售后数量无效", en: "Invalid number of units")
        case let .tooManyUnits(requested, available):
            locale.choose(zh: "申请 \(requested) 件，最多可申请 \(available) 件", en: "\(requested) units requested; at most \(available) available")
        }
    }
}
