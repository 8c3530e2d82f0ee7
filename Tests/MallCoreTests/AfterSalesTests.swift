import Testing
@testable import MallCore

@Suite struct AfterSalesTests {
    /// Every legal move, written out independently of the table.
    static let legal: [(AfterSaleKind, AfterSaleState, AfterSaleAction, AfterSaleState)] = {
        var moves: [(AfterSaleKind, AfterSaleState, AfterSaleAction, AfterSaleState)] = []
        for kind in AfterSaleKind.allCases {
            moves += [
                (kind, .requested, .approve, .approved), (kind, .appealed, .approve, .approved),
                (kind, .requested, .reject, .rejected), (kind, .rejected, .appeal, .appealed),
                (kind, .rejected, .close, .closed), (kind, .appealed, .close, .closed),
                (kind, .refunding, .refundSucceeded, .refunded),
            ]
            for state in [AfterSaleState.requested, .approved, .rejected, .appealed] { moves.append((kind, state, .cancel, .cancelled)) }
        }
        moves += [
            (.refundOnly, .approved, .startRefund, .refunding),
            (.returnAndRefund, .approved, .requestReturn, .awaitingReturn),
            (.returnAndRefund, .awaitingReturn, .shipReturn, .returnShipped),
            (.returnAndRefund, .returnShipped, .confirmReturn, .returnReceived),
            (.returnAndRefund, .returnReceived, .startRefund, .refunding),
            (.returnAndRefund, .awaitingReturn, .cancel, .cancelled),
            (.returnAndRefund, .returnShipped, .cancel, .cancelled),
            (.returnAndRefund, .returnReceived, .cancel, .cancelled),
        ]
        return moves
    }()

    @Test func everyMoveIsLegalOrRefused() throws {
        let legal = Dictionary(uniqueKeysWithValues: Self.legal.map { ("\($0.0)|\($0.1)|\($0.2)", $0.3) })
        for kind in AfterSaleKind.allCases {
            for state in AfterSaleState.allCases {
                for action in AfterSaleAction.allCases {
                    let result = Result { () throws(AfterSaleError) in try AfterSaleStateMachine.apply(action, to: state, kind: kind) }
                    if let target = legal["\(kind)|\(state)|\(action)"] {
                        #expect(try result.get() == target, "\(kind) \(state) \(action)")
                    } else {
                        #expect(throws: AfterSaleError.notAllowed(state: state, action: action, kind: kind)) { try result.get() }
                    }
                }
            }
        }
    }

    @Test func theWholeReturnPath() throws {
        var state = AfterSaleState.requested
        for action in [AfterSaleAction.approve, .requestReturn, .shipReturn, .confirmReturn, .startRefund, .refundSucceeded] {
            #expect(state.isOpen)
            state = try AfterSaleStateMachine.apply(action, to: state, kind: .returnAndRefund)
        }
        #expect(state == .refunded)
        #expect(!state.isOpen)
        #expect(AfterSaleStateMachine.actions(in: .approved, kind: .refundOnly) == [.startRefund, .cancel])
        #expect(AfterSaleStateMachine.actions(in: .refunded, kind: .returnAndRefund).isEmpty)
    }

    @Test func openStatesHoldTheOrder() {
        let open = Set(AfterSaleState.allCases.filter(\.isOpen))
        #expect(open == [.requested, .approved, .rejected, .appealed, .awaitingReturn, .returnShipped, .returnReceived, .refunding])
    }

    @Test func messagesNameStateActionAndKind() {
        let error = AfterSaleError.notAllowed(state: .refunding, action: .cancel, kind: .refundOnly)
        #expect(error.localizedMessage(.zhHans) == "仅退款售后处于「退款中」，不能撤销申请")
        #expect(error.localizedMessage(.en) == "Cannot withdraw a refund only request that is refunding")
        #expect(error.code == "after_sale_transition_not_allowed")
    }

    static func facts(_ state: OrderState, _ fulfilment: FulfilmentKind = .express, quantity: Int64 = 3, refunded: Int64 = 0, held: Int64 = 0, window: Bool = true) -> AfterSaleLineFacts {
        AfterSaleLineFacts(orderState: state, fulfilment: fulfilment, lineQuantity: quantity, refundedUnits: refunded, unitsInOpenAfterSales: held, afterSalesWindowOpen: window)
    }

    @Test(arguments: [
        (AfterSaleApplication(kind: .refundOnly, units: 3), facts(.paid)),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.paid, .virtual)),
        (AfterSaleApplication(kind: .refundOnly, units: 1, byAgreement: true), facts(.shipped)),
        (AfterSaleApplication(kind: .refundOnly, units: 0, byAgreement: true), facts(.received)),
        (AfterSaleApplication(kind: .returnAndRefund, units: 1), facts(.shipped)),
        (AfterSaleApplication(kind: .returnAndRefund, units: 1), facts(.received, .pickup, refunded: 1, held: 1)),
    ])
    func acceptsWhatTheLineAllows(application: AfterSaleApplication, facts: AfterSaleLineFacts) throws {
        try application.validate(against: facts)
    }

    @Test(arguments: [
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.pendingPayment), AfterSaleError.orderNotEligible(.pendingPayment)),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.completed), .orderNotEligible(.completed)),
        (AfterSaleApplication(kind: .returnAndRefund, units: 1), facts(.received, window: false), .windowEnded),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.shipped), .refundOnlyAfterDelivery),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.received, .pickup), .refundOnlyAfterDelivery),
        (AfterSaleApplication(kind: .returnAndRefund, units: 1), facts(.paid), .nothingToReturn),
        (AfterSaleApplication(kind: .returnAndRefund, units: 1), facts(.received, .virtual), .nothingToReturn),
        (AfterSaleApplication(kind: .refundOnly, units: 0), facts(.paid), .invalidUnits),
        (AfterSaleApplication(kind: .returnAndRefund, units: 0, byAgreement: true), facts(.shipped), .invalidUnits),
        (AfterSaleApplication(kind: .refundOnly, units: 2), facts(.paid, refunded: 1, held: 1), .tooManyUnits(requested: 2, available: 1)),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.paid, refunded: 2, held: 2), .invalidUnits),
        (AfterSaleApplication(kind: .refundOnly, units: 1), facts(.paid, refunded: .max, held: 1), .invalidUnits),
    ])
    func refusesWhatTheLineDoesNotAllow(application: AfterSaleApplication, facts: AfterSaleLineFacts, error: AfterSaleError) {
        #expect(throws: error) { try application.validate(against: facts) }
    }
}
