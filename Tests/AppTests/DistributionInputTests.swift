import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Inputs the API fuzzer sent to distribution and refund operations: each gets a 4xx with the
/// reason, and the server stays up.
@Suite struct DistributionInputTests {
    @Test func aPlatformRefundOfALineWhoseUnitsAreAllInOpenRequestsIsRefused() async throws {
        try await withMallApp { t in
            // setup: 3 units paid; the buyer asks for all three back and the shop has not answered
            let n = try await DistributionTests.network(t)
            let order = try await DistributionTests.buy(t, n)
            let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                 #"{"lineId":"\#(order.lines[0].id)","kind":"refund_only","units":3,"reason":"买错了"}"#, token: n.s.buyer)
            #expect(requested.status == .created, "\(requested.body.string)")

            // act: the operator refunds one more unit of the same line
            let refund = try await t.postJSON("/api/v1/admin/orders/\(order.id)/refunds",
                                              #"{"lineId":"\#(order.lines[0].id)","units":1,"reason":"客诉"}"#, token: n.s.f.operatorToken)

            // check: nothing is left to refund, and nothing was written
            #expect(refund.status == .unprocessableEntity, "\(refund.body.string)")
            #expect(refund.error?.details.first?.field == "units")
            #expect(try await AfterSale.query(on: t.app.db).filter(\.$orderID == order.id).count() == 1)
        }
    }
}
