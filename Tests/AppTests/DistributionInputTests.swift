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

    @Test func aReleaseWithABodyThatIsNotAReasonIsRefusedAndOneWithoutABodyReleases() async throws {
        try await withMallApp { t in
            // setup: a pending commission, held
            let n = try await DistributionTests.network(t)
            let order = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            let commission = try #require(try await DistributionTests.commissions(t, order: order.id).first)
            let path = "/api/v1/admin/distribution/commissions/\(try commission.requireID())"
            #expect(try await t.postJSON(path + "/hold", #"{"reason":"风控复核"}"#, token: n.s.f.operatorToken).status == .ok)

            // act: a reason that is no text
            let malformed = try await t.postJSON(path + "/release", #"{"reason":{}}"#, token: n.s.f.operatorToken)

            // check: refused, still held; without a body it is released
            #expect(malformed.status == .badRequest, "\(malformed.body.string)")
            #expect(try await Commission.find(commission.requireID(), on: t.app.db)?.held == true)
            let released = try await t.send(.POST, path + "/release", token: n.s.f.operatorToken)
            #expect(released.status == .ok, "\(released.body.string)")
            #expect(try released.content.decode(CommissionDTO.self).held == false)
        }
    }

    @Test func aWithdrawalWithOverlongPayeeTextIsRefusedAlsoWhenItsKeyWasUsedAndAPayoutBodyMustDecode() async throws {
        try await withMallApp { t in
            // setup: ¥30.00 of commission settled for the sharer
            let n = try await DistributionTests.network(t)
            let order = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            try await DistributionTests.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 8 * 86_400)
            _ = try await OrderJobs.runAll(t.app)
            _ = try await OutboxDispatcher.run(t.app)
            let sharer = try await DistributionTests.token(t, n.sharerID)
            let boss = try await t.staffToken("boss", console: "platform")
            let first = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","accountNumber":"wx-zhang3"}"#,
                                             token: sharer, headers: ["Idempotency-Key": "w-1"])
            #expect(first.status == .created, "\(first.body.string)")
            let long = String(repeating: "0", count: 41)

            // act: the same key and amount with a bank name past 40 characters; then a new request with one
            let replay = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","accountNumber":"wx-zhang3","bankName":"\#(long)"}"#,
                                              token: sharer, headers: ["Idempotency-Key": "w-1"])
            let fresh = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"balance","bankName":"\#(long)"}"#, token: sharer)

            // check: both refused with the field; one withdrawal stands
            #expect(replay.status == .unprocessableEntity, "\(replay.body.string)")
            #expect(fresh.status == .unprocessableEntity, "\(fresh.body.string)")
            #expect(fresh.error?.details.first?.field == "accountNumber")
            #expect(try await Withdrawal.query(on: t.app.db).filter(\.$distributorID == n.sharerID).count() == 1)

            // act: approved, then paid with a proof that is no text
            let withdrawal = try first.content.decode(WithdrawalDTO.self)
            #expect(try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss).status == .ok)
            let malformed = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay", #"{"proofImage":5}"#, token: boss)

            // check: refused and still waiting for the payout; without a body it is paid
            #expect(malformed.status == .badRequest, "\(malformed.body.string)")
            #expect(try await Withdrawal.find(withdrawal.id, on: t.app.db)?.state == "approved")
            let paid = try await t.send(.POST, "/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay", token: boss)
            #expect(try paid.content.decode(WithdrawalDTO.self).state == "paid", "\(paid.body.string)")
        }
    }

    @Test func payingABankCardWithdrawalThatIsNotApprovedIsAConflictWithOrWithoutAProof() async throws {
        try await withMallApp { t in
            // setup: ¥30.00 settled; ¥10.00 asked for to a bank card
            let n = try await DistributionTests.network(t)
            let order = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            try await DistributionTests.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 8 * 86_400)
            _ = try await OrderJobs.runAll(t.app)
            _ = try await OutboxDispatcher.run(t.app)
            let sharer = try await DistributionTests.token(t, n.sharerID)
            let boss = try await t.staffToken("boss", console: "platform")
            let requested = try await t.postJSON("/api/v1/distribution/withdrawals",
                                                 #"{"amountFen":1000,"channel":"bank_card","accountName":"张三","accountNumber":"6222020200112233445","bankName":"工商银行"}"#,
                                                 token: sharer)
            let withdrawal = try requested.content.decode(WithdrawalDTO.self)
            let pay = "/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay"

            // act: paid before approval, without a proof
            let early = try await t.send(.POST, pay, token: boss)

            // check: the state answers, not the missing proof
            #expect(early.status == .conflict, "\(early.body.string)")
            #expect(early.error?.code == "withdrawal_illegal_transition")

            // act: approved, paid with the proof, then paid again without one
            #expect(try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss).status == .ok)
            let noProof = try await t.send(.POST, pay, token: boss)
            let proof = try await t.uploadLicence()
            let paid = try await t.postJSON(pay, #"{"proofImage":"\#(proof)"}"#, token: boss)
            let again = try await t.send(.POST, pay, token: boss)

            // check: an approved one still needs the proof; a paid one is a 409
            #expect(noProof.status == .unprocessableEntity)
            #expect(try paid.content.decode(WithdrawalDTO.self).state == "paid", "\(paid.body.string)")
            #expect(again.status == .conflict, "\(again.body.string)")
        }
    }

    @Test func aReplayedKeyWithAnotherPayeeAnUnknownStateAndLongEnterpriseFieldsAreRefused() async throws {
        try await withMallApp { t in
            // setup: ¥30.00 settled for the sharer, one withdrawal to 张三's account under key w-2
            let n = try await DistributionTests.network(t)
            let order = try await DistributionTests.buy(t, n)
            _ = try await OutboxDispatcher.run(t.app)
            try await DistributionTests.ship(t, n, order, buyer: n.s.buyer)
            t.clock.advance(seconds: 8 * 86_400)
            _ = try await OrderJobs.runAll(t.app)
            _ = try await OutboxDispatcher.run(t.app)
            let sharer = try await DistributionTests.token(t, n.sharerID)
            let boss = try await t.staffToken("boss", console: "platform")
            let body = #"{"amountFen":1000,"channel":"bank_card","accountName":"张三","accountNumber":"6222020200112233445","bankName":"工商银行"}"#
            #expect(try await t.postJSON("/api/v1/distribution/withdrawals", body, token: sharer, headers: ["Idempotency-Key": "w-2"]).status == .created)

            // act + check: the same key and amount to another card is not a replay
            let other = body.replacingOccurrences(of: "6222020200112233445", with: "6222020200119999999")
            let reused = try await t.postJSON("/api/v1/distribution/withdrawals", other, token: sharer, headers: ["Idempotency-Key": "w-2"])
            #expect(reused.status == .conflict)
            #expect(reused.body.string.contains("该幂等键已用于另一笔提现"))
            let replay = try await t.postJSON("/api/v1/distribution/withdrawals", body, token: sharer, headers: ["Idempotency-Key": "w-2"])
            #expect(replay.status == .created || replay.status == .ok, "\(replay.body.string)")
            #expect(try await Withdrawal.query(on: t.app.db).count() == 1)
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.sharerID) == 2_000)

            // An unknown state is a 422 on every list, not an empty list.
            for path in ["/api/v1/admin/distribution/withdrawals?state=paidd", "/api/v1/admin/distribution/commissions?state=x",
                         "/api/v1/admin/distribution/distributors?state=x"] {
                let listed = try await t.get(path, token: boss)
                #expect(listed.status == .unprocessableEntity, "\(path)")
                #expect(listed.body.string.contains("状态须为"))
            }
            #expect(try await t.get("/api/v1/distribution/commissions?state=nope", token: sharer).status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/distribution/commissions?state=frozen", token: sharer).status == .ok)

            // An individual's enterprise fields are bounded like an enterprise's.
            let applicant = try await t.registerMember("13700000051")
            let long = String(repeating: "企", count: 61)
            let application = DistributionTests.applyJSON().replacingOccurrences(of: #""kind":"individual","#, with: #""kind":"individual","enterpriseName":"\#(long)","#)
            let refused = try await t.postJSON("/api/v1/distribution/apply", application, token: applicant)
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.error?.details.first?.field == "enterpriseName")
            #expect(try await Distributor.find(try await t.memberID(phone: "13700000051"), on: t.app.db) == nil)
        }
    }
}
