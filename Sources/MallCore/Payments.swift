import Foundation

/// A payment attempt for one order at a provider. The raw values are stored.
public enum PaymentStatus: String, CaseIterable, Codable, Sendable {
    case created
    case succeeded
    /// Closed before money arrived: the order was cancelled or timed out, or the attempt was replaced.
    case closed
}

/// What a provider's callback or our own action reports about a payment.
public enum PaymentEvent: Sendable, Equatable {
    /// The provider says this amount was paid.
    case succeeded(amount: Money)
    case closed
}

/// What the caller must do after an event.
public enum PaymentOutcome: Sendable, Equatable {
    /// Store the new status (and, on success, pay the order).
    case moved(to: PaymentStatus)
    /// The same news again (callbacks come many times): nothing to do.
    case duplicate
    /// Money arrived for a payment that was closed or an order that no longer waits for it:
    /// record the receipt and refund it in full; the order stays as it is.
    case latePaymentToRefund
}

public enum PaymentTransitionError: LocalizedRuleError, Equatable {
    /// The callback reports another amount than the payment asked for.
    case amountMismatch(expected: Money, received: Money)
    /// A payment that succeeded cannot be closed; it is refunded instead.
    case alreadySucceeded

    public var code: String {
        switch self {
        case .amountMismatch: "payment_amount_mismatch"
        case .alreadySucceeded: "payment_already_succeeded"
        }
    }

    public var kind: RuleErrorKind { .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case let .amountMismatch(expected, received):
            locale.choose(zh: "支付金额不符：应付 \(expected.formatted(.zhHans))，实付 \(received.formatted(.zhHans))",
                          en: "Payment amount mismatch: \(expected.formatted(.en)) due, \(received.formatted(.en)) paid")
        case .alreadySucceeded:
            locale.choose(zh: "该笔支付已成功，不能关闭，请走退款", en: "This payment has succeeded; refund it instead of closing it")
        }
    }
}

/// created → succeeded | closed. Every event may arrive more than once and in any order.
public enum PaymentFlow {
    /// - Parameters:
    ///   - expected: the amount the payment was created for.
    ///   - orderState: the order's state now; a success counts only while it awaits payment.
    public static func apply(_ event: PaymentEvent, to status: PaymentStatus, expected: Money, orderState: OrderState) throws(PaymentTransitionError) -> PaymentOutcome {
        switch event {
        case .succeeded(let amount):
            guard amount == expected else { throw .amountMismatch(expected: expected, received: amount) }
            switch status {
            case .succeeded: return .duplicate
            case .closed: return .latePaymentToRefund
            case .created: return orderState == .pendingPayment ? .moved(to: .succeeded) : .latePaymentToRefund
            }
        case .closed:
            switch status {
            case .created: return .moved(to: .closed)
            case .closed: return .duplicate
            case .succeeded: throw .alreadySucceeded
            }
        }
    }
}

/// A refund through the original payment channel. The raw values are stored.
public enum RefundStatus: String, CaseIterable, Codable, Sendable {
    case pending
    case succeeded
    /// The channel refused it (e.g. the buyer's account is closed); an operator may retry it.
    case failed
}

public enum RefundEvent: String, CaseIterable, Codable, Sendable {
    case succeeded
    case failed
    /// Send a failed refund again.
    case retry
}

public enum RefundTransitionError: LocalizedRuleError, Equatable {
    case notAllowed(status: RefundStatus, event: RefundEvent)

    public var code: String { "refund_transition_not_allowed" }
    public var kind: RuleErrorKind { .conflict }

    public func localizedMessage(_ locale: MallLocale) -> String {
        guard case let .notAllowed(status, event) = self else { return "" }
        return locale.choose(zh: "退款状态为「\(status.label(.zhHans))」，不能变为「\(event.label(.zhHans))」",
                             en: "A refund that is \(status.label(.en)) cannot become \(event.label(.en))")
    }
}

extension RefundStatus {
    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .pending: locale.choose(zh: "退款中", en: "pending")
        case .succeeded: locale.choose(zh: "退款成功", en: "refunded")
        case .failed: locale.choose(zh: "退款失败", en: "failed")
        }
    }
}

extension RefundEvent {
    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .succeeded: locale.choose(zh: "退款成功", en: "refunded")
        case .failed: locale.choose(zh: "退款失败", en: "failed")
        case .retry: locale.choose(zh: "重新退款", en: "retried")
        }
    }
}

/// pending → succeeded | failed; failed → pending on retry. A success is final: the channel has
/// moved the money, so a later failure report is refused for an operator to look at.
public enum RefundFlow {
    /// The new status, nil when the event repeats what is already recorded.
    public static func apply(_ event: RefundEvent, to status: RefundStatus) throws(RefundTransitionError) -> RefundStatus? {
        switch (status, event) {
        case (.pending, .succeeded): return .succeeded
        case (.pending, .failed): return .failed
        case (.failed, .retry): return .pending
        case (.succeeded, .succeeded), (.failed, .failed): return nil
        default: throw .notAllowed(status: status, event: event)
        }
    }
}
