import Testing
@testable import MallCore

@Suite struct PaymentsTests {
    static let due = Money(fen: 12_990)

    @Test(arguments: [
        (PaymentEvent.succeeded(amount: due), PaymentStatus.created, OrderState.pendingPayment, PaymentOutcome.moved(to: .succeeded)),
        (.succeeded(amount: due), .succeeded, .paid, .duplicate),
        (.succeeded(amount: due), .closed, .closed, .latePaymentToRefund),
        (.succeeded(amount: due), .closed, .pendingPayment, .latePaymentToRefund),
        // The order was cancelled while the payment was still open at the provider.
        (.succeeded(amount: due), .created, .cancelled, .latePaymentToRefund),
        (.succeeded(amount: due), .created, .closed, .latePaymentToRefund),
        (.closed, .created, .cancelled, .moved(to: .closed)),
        (.closed, .closed, .closed, .duplicate),
    ])
    func paymentEvents(event: PaymentEvent, status: PaymentStatus, order: OrderState, outcome: PaymentOutcome) throws {
        #expect(try PaymentFlow.apply(event, to: status, expected: Self.due, orderState: order) == outcome)
    }

    @Test func aCallbackDeliveredTenTimesTakesEffectOnce() throws {
        var status = PaymentStatus.created
        var moves = 0
        for _ in 0..<10 {
            if case .moved(let next) = try PaymentFlow.apply(.succeeded(amount: Self.due), to: status, expected: Self.due, orderState: status == .created ? .pendingPayment : .paid) {
                status = next
                moves += 1
            }
        }
        #expect(status == .succeeded)
        #expect(moves == 1)
    }

    @Test func refusesAWrongAmountAndClosingAPaidPayment() {
        #expect(throws: PaymentTransitionError.amountMismatch(expected: Self.due, received: Money(fen: 1))) {
            try PaymentFlow.apply(.succeeded(amount: Money(fen: 1)), to: .created, expected: Self.due, orderState: .pendingPayment)
        }
        #expect(throws: PaymentTransitionError.alreadySucceeded) {
            try PaymentFlow.apply(.closed, to: .succeeded, expected: Self.due, orderState: .paid)
        }
        #expect(PaymentTransitionError.amountMismatch(expected: Self.due, received: Money(fen: 1)).localizedMessage(.zhHans) == "支付金额不符：应付 ¥129.90，实付 ¥0.01")
    }

    @Test func refundStatusMovesEveryWayTheTableSays() throws {
        // Legal moves; nil: the same news again, nothing to store.
        let expected: [String: RefundStatus?] = [
            "pending succeeded": .succeeded, "pending failed": .failed,
            "failed retry": .pending, "failed failed": .none, "succeeded succeeded": .none,
        ]
        for status in RefundStatus.allCases {
            for event in RefundEvent.allCases {
                let result = Result { () throws(RefundTransitionError) in try RefundFlow.apply(event, to: status) }
                if let next = expected["\(status) \(event)"] {
                    #expect(try result.get() == next, "\(status) \(event)")
                } else {
                    #expect(throws: RefundTransitionError.notAllowed(status: status, event: event)) { try result.get() }
                }
            }
        }
        #expect(RefundTransitionError.notAllowed(status: .succeeded, event: .failed).localizedMessage(.zhHans) == "退款状态为「退款成功」，不能变为「退款失败」")
    }
}
