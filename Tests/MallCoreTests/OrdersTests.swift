import Testing
@testable import MallCore

@Suite struct OrdersTests {
    /// Every legal move, written out independently of the machine's table.
    static let legal: [(OrderState, OrderAction, FulfilmentKind, OrderState)] = [
        (.pendingPayment, .pay, .express, .paid), (.pendingPayment, .pay, .pickup, .paid), (.pendingPayment, .pay, .virtual, .paid),
        (.pendingPayment, .cancel, .express, .cancelled), (.pendingPayment, .cancel, .pickup, .cancelled), (.pendingPayment, .cancel, .virtual, .cancelled),
        (.pendingPayment, .closeUnpaid, .express, .closed), (.pendingPayment, .closeUnpaid, .pickup, .closed), (.pendingPayment, .closeUnpaid, .virtual, .closed),
        (.pendingPayment, .changePrice, .express, .pendingPayment), (.pendingPayment, .changePrice, .pickup, .pendingPayment), (.pendingPayment, .changePrice, .virtual, .pendingPayment),
        (.pendingPayment, .changeAddress, .express, .pendingPayment),
        (.paid, .changeAddress, .express, .paid),
        (.paid, .ship, .express, .shipped),
        (.paid, .pickUp, .pickup, .received),
        (.paid, .redeemAll, .virtual, .received),
        (.shipped, .confirmReceipt, .express, .received),
        (.received, .complete, .express, .completed), (.received, .complete, .pickup, .completed), (.received, .complete, .virtual, .completed),
        (.paid, .closeFullyRefunded, .express, .closed), (.paid, .closeFullyRefunded, .pickup, .closed), (.paid, .closeFullyRefunded, .virtual, .closed),
        // Only express orders ship, so the other two never stand here; the table does not need to tell them apart.
        (.shipped, .closeFullyRefunded, .express, .closed), (.shipped, .closeFullyRefunded, .pickup, .closed), (.shipped, .closeFullyRefunded, .virtual, .closed),
        (.received, .closeFullyRefunded, .express, .closed), (.received, .closeFullyRefunded, .pickup, .closed), (.received, .closeFullyRefunded, .virtual, .closed),
    ]

    /// Facts under which every guard passes.
    static func passing(_ fulfilment: FulfilmentKind) -> OrderFacts {
        OrderFacts(fulfilment: fulfilment, afterSalesWindowEnded: true, hasOpenAfterSale: false, allCodesRedeemed: true, fullyRefunded: true)
    }

    @Test func everyLegalMoveLeadsWhereTheFlowSays() throws {
        for (state, action, fulfilment, target) in Self.legal {
            #expect(try OrderStateMachine.apply(action, to: state, facts: Self.passing(fulfilment)) == target, "\(state) \(action) \(fulfilment)")
        }
    }

    @Test func everyOtherMoveIsRefusedWithTheReason() {
        // setup
        let legal = Set(Self.legal.map { "\($0.0)|\($0.1)|\($0.2)" })
        var refused = 0
        for state in OrderState.allCases {
            for action in OrderAction.allCases {
                for fulfilment in FulfilmentKind.allCases where !legal.contains("\(state)|\(action)|\(fulfilment)") {
                    // act
                    let result = Result { () throws(OrderTransitionError) in
                        try OrderStateMachine.apply(action, to: state, facts: Self.passing(fulfilment))
                    }
                    // check: the state is named when the state is wrong, the fulfilment otherwise
                    let rule = OrderStateMachine.rule(for: action)
                    let expected: OrderTransitionError = rule.from.contains(state)
                        ? .wrongFulfilment(action: action, fulfilment: fulfilment)
                        : .notAllowed(state: state, action: action)
                    #expect(throws: expected) { try result.get() }
                    refused += 1
                }
            }
        }
        #expect(refused == OrderState.allCases.count * OrderAction.allCases.count * FulfilmentKind.allCases.count - Self.legal.count)
    }

    @Test func finalStatesHaveNoWayOut() {
        for state in OrderState.allCases where state.isFinal {
            for fulfilment in FulfilmentKind.allCases {
                #expect(OrderStateMachine.actions(in: state, fulfilment: fulfilment).isEmpty)
            }
        }
        #expect(OrderStateMachine.actions(in: .paid, fulfilment: .express) == [.ship, .closeFullyRefunded, .changeAddress])
        #expect(OrderStateMachine.actions(in: .paid, fulfilment: .pickup) == [.pickUp, .closeFullyRefunded])
    }

    @Test(arguments: [
        (OrderFacts(fulfilment: .express, afterSalesWindowEnded: false), OrderTransitionError.afterSalesWindowOpen),
        (OrderFacts(fulfilment: .express, afterSalesWindowEnded: true, hasOpenAfterSale: true), .afterSaleOpen),
        (OrderFacts(fulfilment: .express, afterSalesWindowEnded: false, hasOpenAfterSale: true), .afterSalesWindowOpen),
    ])
    func completionWaitsForTheWindowAndOpenAfterSales(facts: OrderFacts, error: OrderTransitionError) {
        #expect(throws: error) { try OrderStateMachine.apply(.complete, to: .received, facts: facts) }
    }

    @Test func redemptionAndRefundClosingNeedTheirFacts() {
        #expect(throws: OrderTransitionError.codesNotAllRedeemed) {
            try OrderStateMachine.apply(.redeemAll, to: .paid, facts: OrderFacts(fulfilment: .virtual))
        }
        #expect(throws: OrderTransitionError.notFullyRefunded) {
            try OrderStateMachine.apply(.closeFullyRefunded, to: .shipped, facts: OrderFacts(fulfilment: .express))
        }
    }

    @Test func messagesNameTheStateAndTheAction() {
        let error = OrderTransitionError.notAllowed(state: .shipped, action: .cancel)
        #expect(error.code == "order_transition_not_allowed")
        #expect(error.kind == .conflict)
        #expect(error.localizedMessage(.zhHans) == "订单处于「已发货」状态，不能取消订单")
        #expect(error.localizedMessage(.en) == "Cannot cancel an order that is shipped")
        #expect(OrderTransitionError.wrongFulfilment(action: .ship, fulfilment: .pickup).localizedMessage(.zhHans) == "自提订单不能发货")
        #expect(OrderTransitionError.notAllowed(state: .completed, action: .pay).localizedMessage(.en) == "Cannot pay for an order that is completed")
    }

    @Test func labelsInBothLocales() {
        #expect(OrderState.allCases.map { $0.label(.zhHans) } == ["待付款", "待发货", "已发货", "已收货", "已完成", "已取消", "已关闭"])
        #expect(OrderState.paid.label(.zhHans, fulfilment: .pickup) == "待自提")
        #expect(OrderState.paid.label(.en, fulfilment: .virtual) == "Awaiting redemption")
        #expect(OrderState.shipped.label(.zhHans, fulfilment: .express) == "已发货")
        #expect(Set(OrderState.allCases.map { $0.label(.en) }).count == OrderState.allCases.count)
    }

    @Test(arguments: [
        (OrderState.pendingPayment, false, false, [OrderTab.all, .pendingPayment]),
        (.paid, false, true, [.all, .awaitingShipment, .afterSale]),
        (.shipped, false, false, [.all, .awaitingReceipt]),
        (.received, false, false, [.all, .awaitingReview]),
        (.received, true, false, [.all]),
        (.completed, false, false, [.all, .awaitingReview]),
        (.completed, true, false, [.all]),
        (.cancelled, false, false, [.all]),
        (.closed, false, false, [.all]),
    ])
    func eachOrderIsListedUnderItsTabs(state: OrderState, reviewed: Bool, openAfterSale: Bool, tabs: [OrderTab]) {
        #expect(OrderTab.tabs(for: state, reviewed: reviewed, hasOpenAfterSale: openAfterSale) == tabs)
        for tab in tabs { #expect(tab.states.contains(state)) }
    }

    @Test func deadlinesAreReachedAtTheirSecond() {
        #expect(!OrderDeadlines.unpaidExpired(placedAt: 1_000, now: 2_799, timeoutSeconds: 1_800))
        #expect(OrderDeadlines.unpaidExpired(placedAt: 1_000, now: 2_800, timeoutSeconds: 1_800))
        #expect(OrderDeadlines.autoReceiptDue(shippedAt: 0, now: 10 * 86_400, days: 10))
        #expect(!OrderDeadlines.autoReceiptDue(shippedAt: 0, now: 10 * 86_400 - 1, days: 10))
        #expect(OrderDeadlines.afterSalesWindowEnded(receivedAt: 500, now: 500, days: 0))
        #expect(!OrderDeadlines.afterSalesWindowEnded(receivedAt: 500, now: 499, days: 0))
        // Beyond Int64: never reached; a negative duration counts as zero.
        #expect(!OrderDeadlines.autoReceiptDue(shippedAt: .max - 5, now: .max, days: .max))
        #expect(!OrderDeadlines.unpaidExpired(placedAt: .max, now: .max, timeoutSeconds: 1))
        #expect(OrderDeadlines.unpaidExpired(placedAt: 10, now: 10, timeoutSeconds: -5))
    }
}
