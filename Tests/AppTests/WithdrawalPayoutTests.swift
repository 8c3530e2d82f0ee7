import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Withdrawals paid by WeChat merchant transfer and Alipay transfer, end to end against the fakes on
/// loopback: the production gateways (configured from the environment, only the base URLs pointing
/// here), the production callback route and the query job. Every amount is checked to the fen.
@Suite struct WithdrawalPayoutTests {
    static let openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

    struct Rig {
        let t: TestContext
        let live: LiveServer
        let wechat: WeChatPayFake
        let alipay: AlipayFake
        let sharer: String
        let sharerID: UUID
        let boss: String
        var callbackURL: String { live.base + "/callbacks/wechat" }

        /// Asks for a withdrawal and has the operator approve it; returns the approved answer.
        func withdraw(_ json: String, key: String) async throws -> WithdrawalDTO {
            let requested = try await t.postJSON("/api/v1/distribution/withdrawals", json, token: sharer, headers: ["Idempotency-Key": key])
            #expect(requested.status == .created, "\(requested.body.string)")
            let withdrawal = try requested.content.decode(WithdrawalDTO.self)
            #expect(withdrawal.state == "requested")
            let approved = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss)
            #expect(approved.status == .ok, "\(approved.body.string)")
            return try approved.content.decode(WithdrawalDTO.self)
        }

        func wechat(_ fen: Int64 = 5_000, key: String = "wx-1") async throws -> WithdrawalDTO {
            try await withdraw(#"{"amountFen":\#(fen),"channel":"wechat_transfer","accountName":"张三","openId":"\#(WithdrawalPayoutTests.openID)"}"#, key: key)
        }

        func alipayTransfer(_ fen: Int64 = 2_000, key: String = "ali-1") async throws -> WithdrawalDTO {
            try await withdraw(#"{"amountFen":\#(fen),"channel":"alipay_transfer","accountName":"张三","accountNumber":"zhang3@example.com"}"#, key: key)
        }

        func state(_ dto: WithdrawalDTO) async throws -> Withdrawal {
            try #require(try await Withdrawal.find(dto.id, on: t.app.db))
        }

        func available() async throws -> Int64 { try await DistributionTests.balance(t, .commissionAvailable, sharerID) }

        func platform(_ purpose: LedgerAccountPurpose) async throws -> Int64 {
            try await AfterSaleTests.ledger(t).balance(of: .platform(purpose)).fen
        }

        func ledgerCount(_ kind: String) async throws -> Int {
            try await LedgerTransactionRecord.query(on: t.app.db).filter(\.$kind == kind).count()
        }

        func verifyLedger() async throws {
            let report = try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).verify()
            #expect(report.ok, "\(report.problems)")
        }
    }

    /// A distributor with ¥100.00 of settled commission, both providers configured for transfers.
    static func withRig(_ body: (Rig) async throws -> Void) async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            _ = try await AfterSaleTests.ledger(t).post(LedgerTransactionDraft(
                idempotencyKey: "test-commission:\(n.sharerID)", kind: "commission_settled",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 10_000)),
                          .credit(try LedgerAccountKey(.commissionAvailable, .member(n.sharerID)), Money(fen: 10_000))]))
            let boss = try await t.staffToken("boss", console: "platform")
            try await t.withLiveServer { live in
                let wechat = try await WeChatPayFake(clock: t.clock)
                let alipay = try await AlipayFake(clock: t.clock)
                do {
                    let wechatEnv = WeChatPayTestFiles.environment(base: wechat.base, notify: live.base + "/callbacks/wechat", transferScene: "1005")
                    let wechatSettings = try #require(try WeChatPaySettings.load(wechatEnv, publicBaseURL: live.base))
                    let wechatGateway = WeChatPayGateway(app: t.app, settings: wechatSettings)
                    t.app.paymentGateways[.wechat] = wechatGateway
                    t.app.payoutGateways[.wechatTransfer] = WeChatTransferGateway(gateway: wechatGateway, transfer: try #require(wechatSettings.transfer))
                    let alipayEnv = AlipayTestFiles.environment(gateway: alipay.gateway, notify: live.base + "/callbacks/alipay", transferTitle: "分销佣金")
                    let alipaySettings = try #require(try AlipaySettings.load(alipayEnv, publicBaseURL: live.base))
                    t.app.payoutGateways[.alipayTransfer] = AlipayTransferGateway(gateway: AlipayGateway(app: t.app, settings: alipaySettings),
                                                                                  title: try #require(alipaySettings.transferTitle))
                    try await body(Rig(t: t, live: live, wechat: wechat, alipay: alipay, sharer: n.sharer, sharerID: n.sharerID, boss: boss))
                } catch {
                    try await wechat.stop()
                    try await alipay.stop()
                    throw error
                }
                try await wechat.stop()
                try await alipay.stop()
            }
        }
    }

    // MARK: WeChat merchant transfer

    @Test func anApprovedWeChatWithdrawalIsTransferredSignedForTheNetAmountAndPaidOnSuccess() async throws {
        try await Self.withRig { rig in
            // setup
            rig.wechat.transferScript.withLockedValue { $0.state = "SUCCESS" }
            let feeBefore = try await rig.platform(.feeRevenue)
            let clearingBefore = try await rig.platform(.paymentClearing)

            // act
            let approved = try await rig.wechat()

            // check: WeChat got one signed request for ¥49.50 (¥50.00 less the 1 % fee) under the withdrawal's number
            #expect(approved.state == "paid")
            #expect(approved.transferState == "SUCCESS")
            let bill = try #require(rig.wechat.transfer(approved.withdrawalNo))
            #expect(bill.amount == 4_950)
            #expect(bill.openid == Self.openID)
            #expect(bill.userName == "张三")
            #expect(bill.appid == WeChatPayFake.appid)
            #expect(bill.sceneID == "1005")
            #expect(bill.perception == "劳务报酬")
            #expect(bill.reportInfos == [["info_type": "岗位类型", "info_content": "推广员"], ["info_type": "报酬说明", "info_content": "分销佣金提现"]])
            #expect(bill.notifyURL == rig.callbackURL)
            #expect(!bill.remark.isEmpty && bill.remark.count <= 32)
            #expect(rig.wechat.transferRequests.withLockedValue { $0 } == [approved.withdrawalNo])
            #expect(rig.wechat.refused.withLockedValue { $0 }.isEmpty)
            let row = try await rig.state(approved)
            #expect(row.outBillNo == approved.withdrawalNo)
            #expect(row.providerBillNo == bill.transferBillNo)
            // The ledger: ¥50.00 left the available balance; ¥49.50 left the provider account (a debit-normal
            // clearing account, so it went down), ¥0.50 is the platform's fee.
            #expect(try await rig.available() == 5_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(try await rig.platform(.feeRevenue) == feeBefore + 50)
            #expect(try await rig.platform(.paymentClearing) == clearingBefore - 4_950)
            #expect(try await rig.ledgerCount("withdrawal_paid") == 1)
            try await rig.verifyLedger()
        }
    }

    @Test func aFailedWeChatTransferReturnsTheAmountToTheAvailableBalance() async throws {
        try await Self.withRig { rig in
            rig.wechat.transferScript.withLockedValue { $0.state = "FAIL" }

            let approved = try await rig.wechat()

            #expect(approved.state == "failed")
            #expect(approved.reason.contains("PAYEE_ACCOUNT_ABNORMAL"))
            #expect(try await rig.available() == 10_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(try await rig.ledgerCount("withdrawal_paid") == 0)
            #expect(try await rig.ledgerCount("withdrawal_returned") == 1)
            // Over: the operator's hand cannot pay it afterwards.
            let paid = try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(approved.id)/pay", "{}", token: rig.boss)
            #expect(paid.status == .conflict)
            try await rig.verifyLedger()
        }
    }

    @Test func aProcessingTransferIsPaidOnceWhenTheCallbackComesTwiceAndTheQueryJobRunsToo() async throws {
        try await Self.withRig { rig in
            // setup: WeChat accepts and is still paying
            rig.wechat.transferScript.withLockedValue { $0.state = "PROCESSING" }
            let approved = try await rig.wechat()
            #expect(approved.state == "transferring")
            #expect(approved.transferState == "PROCESSING")
            #expect(try await rig.available() == 5_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 5_000)
            // The operator cannot mark a transfer in the provider's hands paid or failed.
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(approved.id)/pay", "{}", token: rig.boss).status == .conflict)
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(approved.id)/fail", #"{"reason":"x"}"#, token: rig.boss).status == .conflict)

            // act: WeChat pays; its notification arrives twice while the query job runs
            let bill = try #require(rig.wechat.moveTransfer(approved.withdrawalNo, to: "SUCCESS"))
            let body = try rig.wechat.transferNotification(bill)
            rig.t.clock.advance(seconds: 120)
            let (statuses, report) = try await withThrowingTaskGroup(of: (HTTPStatus?, WithdrawalPayouts.Report?).self) { group in
                for _ in 0..<2 { group.addTask { (try await rig.wechat.deliver(body, to: rig.callbackURL).status, nil) } }
                group.addTask { (nil, try await WithdrawalPayouts.sync(rig.t.app)) }
                var statuses: [HTTPStatus] = []
                var report = WithdrawalPayouts.Report()
                for try await (status, sync) in group {
                    if let status { statuses.append(status) }
                    if let sync { report = sync }
                }
                return (statuses, report)
            }
            let again = try await rig.wechat.deliver(body, to: rig.callbackURL)
            let later = try await WithdrawalPayouts.sync(rig.t.app, interval: 0)

            // check: acknowledged every time, booked once
            #expect(statuses == [.noContent, .noContent])
            #expect(again.status == .noContent)
            #expect(report.errors == 0)
            #expect(later == .init())
            let row = try await rig.state(approved)
            #expect(row.state == "paid")
            #expect(row.providerState == "SUCCESS")
            #expect(try await rig.ledgerCount("withdrawal_paid") == 1)
            #expect(try await rig.available() == 5_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(rig.wechat.transferRequests.withLockedValue { $0 }.count == 1)
            try await rig.verifyLedger()
        }
    }

    @Test func aForgedOrBrokenTransferCallbackIsRefusedAndChangesNothing() async throws {
        try await Self.withRig { rig in
            rig.wechat.transferScript.withLockedValue { $0.state = "PROCESSING" }
            let approved = try await rig.wechat()
            let bill = try #require(rig.wechat.moveTransfer(approved.withdrawalNo, to: "SUCCESS"))
            let body = try rig.wechat.transferNotification(bill)

            // Signed with a key that is not WeChat's.
            let forger = WeChatPayPlatformSigner(serial: PaymentTestKeys.platformSerial, key: PaymentTestKeys.signer(PaymentTestKeys.stranger))
            let forged = try await rig.wechat.deliver(body, headers: try rig.wechat.signedHeaders(body, by: forger), to: rig.callbackURL)
            #expect(forged.status == .unauthorized)
            // WeChat's signature over a body changed afterwards.
            var tampered = body
            tampered.append(contentsOf: Array(" ".utf8))
            let changed = try await rig.wechat.deliver(tampered, headers: try rig.wechat.signedHeaders(body), to: rig.callbackURL)
            #expect(changed.status.code >= 400 && changed.status.code < 500)
            // Well signed, but not a notification, and one for a number that is no withdrawal.
            let garbage = Data(#"{"id":1}"#.utf8)
            #expect(try await rig.wechat.deliver(garbage, to: rig.callbackURL).status == .badRequest)
            var stranger = bill
            stranger.outBillNo = "W20261118000000NOSUCHBILL"
            #expect(try await rig.wechat.deliver(try rig.wechat.transferNotification(stranger), to: rig.callbackURL).status == .notFound)
            // The amount is not the withdrawal's.
            var inflated = bill
            inflated.amount = 9_999
            #expect(try await rig.wechat.deliver(try rig.wechat.transferNotification(inflated), to: rig.callbackURL).status == .badRequest)

            let row = try await rig.state(approved)
            #expect(row.state == "transferring")
            #expect(try await rig.ledgerCount("withdrawal_paid") == 0)
            #expect(try await rig.platform(.withdrawalsInTransit) == 5_000)
        }
    }

    @Test func aTransferWaitingForThePayeeGivesTheMemberWhatWeChatNeedsToConfirm() async throws {
        try await Self.withRig { rig in
            rig.wechat.transferScript.withLockedValue { $0.state = "WAIT_USER_CONFIRM" }
            let approved = try await rig.wechat()
            #expect(approved.state == "transferring")

            let mine = try await rig.t.get("/api/v1/distribution/withdrawals", token: rig.sharer).content.decode([WithdrawalDTO].self)
            let confirm = try #require(mine.first?.transferConfirmation)
            #expect(confirm.package == "affffddafdfafddffda==")
            #expect(confirm.mchId == WeChatPayFake.mchid)
            #expect(confirm.appId == WeChatPayFake.appid)
            #expect(mine.first?.transferState == "WAIT_USER_CONFIRM")

            // The payee lets it lapse: WeChat cancels it and the amount comes back.
            rig.wechat.moveTransfer(approved.withdrawalNo, to: "CANCELLED")
            let synced = try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(approved.id)/sync", "{}", token: rig.boss)
            #expect(synced.status == .ok, "\(synced.body.string)")
            #expect(try synced.content.decode(WithdrawalDTO.self).state == "failed")
            let after = try await rig.t.get("/api/v1/distribution/withdrawals", token: rig.sharer).content.decode([WithdrawalDTO].self)
            #expect(after.first?.transferConfirmation == nil)
            #expect(try await rig.available() == 10_000)
            try await rig.verifyLedger()
        }
    }

    @Test func aLostAnswerOrAnOutageIsSettledByTheQueryJobUnderTheSameNumber() async throws {
        try await Self.withRig { rig in
            // WeChat made the bill but its answer was lost.
            rig.wechat.transferScript.withLockedValue { $0 = .init(state: "SUCCESS", loseAnswer: true) }
            let lost = try await rig.wechat(3_000, key: "wx-lost")
            #expect(lost.state == "transferring")
            // WeChat was down: nothing was made.
            rig.wechat.transferScript.withLockedValue { $0 = .init(state: "SUCCESS", unavailable: true) }
            let down = try await rig.wechat(2_000, key: "wx-down")
            #expect(down.state == "transferring")
            #expect(rig.wechat.transfer(down.withdrawalNo) == nil)

            // Too soon for the job: nothing asked.
            rig.wechat.transferScript.withLockedValue { $0 = .init(state: "SUCCESS") }
            #expect(try await WithdrawalPayouts.sync(rig.t.app).checked == 0)
            rig.t.clock.advance(seconds: 61)
            let report = try await WithdrawalPayouts.sync(rig.t.app)

            #expect(report.checked == 2 && report.paid == 2 && report.errors == 0)
            #expect(try await rig.state(lost).state == "paid")
            #expect(try await rig.state(down).state == "paid")
            // The lost one was found by its query; the missing one was sent again under its own number.
            #expect(rig.wechat.transferRequests.withLockedValue { $0 } == [lost.withdrawalNo, down.withdrawalNo, down.withdrawalNo])
            #expect(rig.wechat.transfer(lost.withdrawalNo)?.amount == 2_970)
            #expect(rig.wechat.transfer(down.withdrawalNo)?.amount == 1_980)
            #expect(try await rig.available() == 5_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(try await rig.ledgerCount("withdrawal_paid") == 2)
            try await rig.verifyLedger()
        }
    }

    @Test func aTransferWeChatRefusesIsReturnedOnceWeChatConfirmsItHasNoBill() async throws {
        try await Self.withRig { rig in
            rig.wechat.transferScript.withLockedValue { $0 = .init(state: "SUCCESS", refuseWith: "NOT_ENOUGH") }

            let approved = try await rig.wechat()

            #expect(approved.state == "failed")
            #expect(approved.reason.contains("NOT_ENOUGH"))
            #expect(try await rig.available() == 10_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            try await rig.verifyLedger()
        }
    }

    // MARK: Alipay transfer

    @Test func anAlipayTransferIsPaidForTheNetAmountInYuan() async throws {
        try await Self.withRig { rig in
            let approved = try await rig.alipayTransfer(2_001)

            #expect(approved.state == "paid")
            let transfer = try #require(rig.alipay.transfer(approved.withdrawalNo))
            // ¥20.01 less the 1 % fee rounded half-up (¥0.20): ¥19.81, written from fen exactly.
            #expect(transfer.transAmount == "19.81")
            #expect(transfer.productCode == "TRANS_ACCOUNT_NO_PWD")
            #expect(transfer.bizScene == "DIRECT_TRANSFER")
            #expect(transfer.identity == "zhang3@example.com")
            #expect(transfer.identityType == "ALIPAY_LOGON_ID")
            #expect(transfer.name == "张三")
            #expect(transfer.orderTitle == "分销佣金")
            #expect(rig.alipay.refused.withLockedValue { $0 }.isEmpty)
            #expect(try await rig.available() == 10_000 - 2_001)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(try await rig.ledgerCount("withdrawal_paid") == 1)
            try await rig.verifyLedger()
        }
    }

    @Test func aFailedAlipayTransferReturnsTheAmountAndADealingOneIsSettledByTheQuery() async throws {
        try await Self.withRig { rig in
            // FAIL
            rig.alipay.transferScript.withLockedValue { $0.status = "FAIL" }
            let failed = try await rig.alipayTransfer(2_000, key: "ali-fail")
            #expect(failed.state == "failed")
            #expect(try await rig.available() == 10_000)

            // DEALING, then the query finds it done
            rig.alipay.transferScript.withLockedValue { $0.status = "DEALING" }
            let dealing = try await rig.alipayTransfer(3_000, key: "ali-dealing")
            #expect(dealing.state == "transferring")
            #expect(dealing.transferState == "DEALING")
            rig.t.clock.advance(seconds: 61)
            #expect(try await WithdrawalPayouts.sync(rig.t.app).inTransit == 1)
            rig.alipay.moveTransfer(dealing.withdrawalNo, to: "SUCCESS")
            rig.t.clock.advance(seconds: 61)
            let report = try await WithdrawalPayouts.sync(rig.t.app)

            #expect(report.paid == 1)
            #expect(try await rig.state(dealing).state == "paid")
            #expect(rig.alipay.transferRequests.withLockedValue { $0 } == [failed.withdrawalNo, dealing.withdrawalNo])
            #expect(try await rig.available() == 7_000)
            #expect(try await rig.platform(.withdrawalsInTransit) == 0)
            #expect(try await rig.ledgerCount("withdrawal_paid") == 1)
            #expect(try await rig.ledgerCount("withdrawal_returned") == 1)
            try await rig.verifyLedger()
        }
    }

    // MARK: inputs and the demo

    @Test func badInputToTheTransferOperationsGetsAClearRefusal() async throws {
        try await Self.withRig { rig in
            // A WeChat withdrawal without the payee's openid, or with one that is not an openid.
            let missing = try await rig.t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","accountNumber":"zhang3"}"#,
                                                   token: rig.sharer, headers: ["Accept-Language": "zh-Hans"])
            #expect(missing.status == .unprocessableEntity)
            #expect(missing.error?.details.first?.field == "openId")
            #expect(missing.error?.details.first?.message.contains("openid") == true)
            let spaced = try await rig.t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","openId":"o pen"}"#,
                                                  token: rig.sharer, headers: ["Accept-Language": "en"])
            #expect(spaced.status == .unprocessableEntity)
            #expect(spaced.error?.message.contains("fields") == true)
            let long = try await rig.t.postJSON("/api/v1/distribution/withdrawals",
                                                #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","openId":"\#(String(repeating: "o", count: 200))"}"#,
                                                token: rig.sharer)
            #expect(long.status == .unprocessableEntity)

            // Asking the provider about what is not in transit, is not there, or is not an id.
            let manual = try await rig.withdraw(#"{"amountFen":1000,"channel":"bank_card","accountName":"张三","accountNumber":"6222020200112233445","bankName":"工商银行"}"#, key: "bank-1")
            let notInTransit = try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(manual.id)/sync", "{}", token: rig.boss)
            #expect(notInTransit.status == .conflict)
            #expect(notInTransit.error?.code == "withdrawal_illegal_transition")
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(UUID())/sync", "{}", token: rig.boss).status == .notFound)
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/not-an-id/sync", "{}", token: rig.boss).status.code / 100 == 4)
            // Only the payout role may ask.
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(manual.id)/sync", "{}", token: rig.sharer).status == .forbidden)
            #expect(try await rig.t.postJSON("/api/v1/admin/distribution/withdrawals/\(manual.id)/sync", "{}").status == .unauthorized)
            #expect(rig.wechat.transferRequests.withLockedValue { $0 }.isEmpty)
        }
    }

    @Test func withoutATransferProviderTheOperatorStillPaysByHand() async throws {
        try await withMallApp { t in
            let n = try await DistributionTests.network(t)
            _ = try await AfterSaleTests.ledger(t).post(LedgerTransactionDraft(
                idempotencyKey: "test-commission:\(n.sharerID)", kind: "commission_settled",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 10_000)),
                          .credit(try LedgerAccountKey(.commissionAvailable, .member(n.sharerID)), Money(fen: 10_000))]))
            let boss = try await t.staffToken("boss", console: "platform")
            #expect(t.app.payoutGateways.isEmpty)
            let requested = try await t.postJSON("/api/v1/distribution/withdrawals", #"{"amountFen":1000,"channel":"wechat_transfer","accountName":"张三","accountNumber":"wx-zhang3"}"#,
                                                 token: n.sharer)
            #expect(requested.status == .created, "\(requested.body.string)")
            let withdrawal = try requested.content.decode(WithdrawalDTO.self)
            let approved = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/approve", "{}", token: boss)
            #expect(try approved.content.decode(WithdrawalDTO.self).state == "approved")
            let sync = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/sync", "{}", token: boss)
            #expect(sync.status == .conflict)
            let paid = try await t.postJSON("/api/v1/admin/distribution/withdrawals/\(withdrawal.id)/pay", "{}", token: boss)
            #expect(try paid.content.decode(WithdrawalDTO.self).state == "paid")
            #expect(try await DistributionTests.balance(t, .commissionAvailable, n.sharerID) == 9_000)
        }
    }
}
