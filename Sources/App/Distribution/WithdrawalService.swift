import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct WithdrawalInput: Content, Sendable {
    var amountFen: Int64
    /// balance, wechat_transfer, alipay_transfer or bank_card.
    var channel: String
    /// For transfers and bank cards: the payee's real name and account (card number, Alipay account …).
    var accountName: String?
    var accountNumber: String?
    var bankName: String?
    /// For a WeChat transfer: the payee's openid under the mall's WeChat app (the mini-program or
    /// the official-account page knows it). Required when WeChat merchant transfer is configured.
    var openId: String?
}

/// The payee of a transfer or bank payment, sealed at rest in `account_cipher`.
struct WithdrawalPayee: Codable, Sendable {
    var name: String
    var number: String
    var bank: String
    var openid: String?
}

/// 提现 in two phases: at request the amount leaves the available commission and waits in
/// `withdrawals_in_transit`; approval pays it (the mall balance at once, other channels when the
/// transfer or the operator's bank payment is done) or it goes back with a reason.
struct WithdrawalService {
    let db: any Database
    let now: Date
    /// Channels paid through a provider (`Application.payoutGateways`): approval hands them over.
    var automatic: Set<WithdrawalChannel> = []

    /// A replayed key must name the same payee: the same key with another account is another withdrawal.
    static func samePayee(_ earlier: Withdrawal, _ input: WithdrawalInput, cipher: PersonalDataCipher) throws -> Bool {
        guard !earlier.accountCipher.isEmpty else { return true }
        let payee = try JSONDecoder().decode(WithdrawalPayee.self, from: Data(try cipher.open(earlier.accountCipher).utf8))
        let number = (input.accountNumber ?? "").trimmingCharacters(in: .whitespaces)
        return payee.name == (input.accountName ?? "") && payee.number == number && payee.bank == (input.bankName ?? "")
            && (payee.openid ?? "") == (earlier.channel == WithdrawalChannel.wechatTransfer.rawValue ? input.openId ?? "" : "")
    }

    func request(distributorID: UUID, input: WithdrawalInput, idempotencyKey: String, cipher: PersonalDataCipher) async throws -> Withdrawal {
        // Before a repeated key is looked up, so that a replay never passes text the rules refuse.
        guard TextLength.fits(input.accountName ?? "", max: 30), TextLength.fits(input.accountNumber ?? "", max: 40),
              TextLength.fits(input.bankName ?? "", max: 40), TextLength.fits(input.openId ?? "", max: 128) else {
            throw APIError.validation([.init("accountNumber", .init("收款人姓名最多 30 字，账号和开户行最多 40 字",
                                                                    "The payee's name has at most 30 characters, the account and the bank at most 40"))])
        }
        let sql = try sqlDatabase(db)
        // One request at a time per distributor, so the counts and the balance are read once.
        try await lockRow(Distributor.schema, distributorID, on: db)
        if let earlier = try await Withdrawal.query(on: db).filter(\.$distributorID == distributorID).filter(\.$idempotencyKey == idempotencyKey).first() {
            guard earlier.amount == input.amountFen, earlier.channel == input.channel,
                  try Self.samePayee(earlier, input, cipher: cipher) else {
                throw APIError(.conflict, "idempotency_key_reused", .init("该幂等键已用于另一笔提现", "This Idempotency-Key was used for another withdrawal"))
            }
            return earlier
        }
        guard let distributor = try await Distributor.find(distributorID, on: db),
              distributor.status == DistributorRecordStatus.active.rawValue else {
            throw APIError(.forbidden, "distributor.not_active", .init("只有正常状态的分销员可以提现", "Only an active distributor can withdraw"))
        }
        guard let channel = WithdrawalChannel(rawValue: input.channel) else {
            throw APIError.validation([.init("channel", .init("请选择提现方式", "Choose a channel"))])
        }
        var account = ""
        var hint = ""
        if channel != .balance {
            let name = input.accountName ?? ""
            let number = (input.accountNumber ?? "").trimmingCharacters(in: .whitespaces)
            let openID = channel == .wechatTransfer ? input.openId ?? "" : ""
            if !openID.isEmpty, !openID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                throw APIError.validation([.init("openId", .init("openid 格式不正确", "The openid is not well-formed"))])
            }
            if channel == .wechatTransfer, automatic.contains(.wechatTransfer), openID.isEmpty {
                throw APIError.validation([.init("openId", .init("提现到微信零钱需要您在本商城微信应用中的 openid，请在微信内打开后重试",
                                                                 "A WeChat withdrawal needs your openid in the mall's WeChat app; open the mall inside WeChat and try again"))])
            }
            // With an openid the transfer knows its payee; the WeChat ID is then only for the operator.
            let numberNeeded = openID.isEmpty
            guard TextLength.isFilled(name, max: 30), numberNeeded ? TextLength.isFilled(number, max: 40) : TextLength.fits(number, max: 40) else {
                throw APIError.validation([.init("accountNumber", .init("请填写收款人姓名和账号", "Give the payee's name and account"))])
            }
            if channel == .bankCard {
                let digits = number.filter(\.isNumber)
                guard digits.count == number.count, (12...19).contains(digits.count), TextLength.isFilled(input.bankName ?? "", max: 40) else {
                    throw APIError.validation([.init("accountNumber", .init("请填写 12-19 位银行卡号和开户行", "Give a 12–19 digit card number and the bank"))])
                }
            }
            let payee = WithdrawalPayee(name: name, number: number, bank: input.bankName ?? "", openid: openID.isEmpty ? nil : openID)
            account = try cipher.seal(String(decoding: try JSONEncoder().encode(payee), as: UTF8.self))
            hint = String((number.isEmpty ? openID : number).suffix(4))
        }
        let config = try await DistributionConfig.load(on: db)
        let settings = try config.withdrawalSettings()
        let balance = try await CommissionService(db: db, now: now).balances(distributorID)
        let (weekday, dayOfMonth, dayStart, monthStart) = Self.calendarFacts(now)
        let counts = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN created_at >= \(bind: dayStart) THEN 1 ELSE 0 END), 0) AS BIGINT) AS today,
                   CAST(COUNT(*) AS BIGINT) AS month
            FROM withdrawals WHERE distributor_id = \(bind: distributorID) AND state <> 'rejected' AND created_at >= \(bind: monthStart)
            """).first()
        let context = WithdrawalContext(available: balance.available, debt: balance.debt,
                                        countToday: Int(try counts?.decode(column: "today", as: Int64.self) ?? 0),
                                        countThisMonth: Int(try counts?.decode(column: "month", as: Int64.self) ?? 0),
                                        weekday: weekday, dayOfMonth: dayOfMonth)
        let quote = try WithdrawalRules.check(amount: Money(fen: input.amountFen), channel: channel, context: context, settings: settings)

        let withdrawal = Withdrawal()
        withdrawal.withdrawalNo = OrderService.number(prefix: "W", at: now)
        withdrawal.distributorID = distributorID
        withdrawal.amount = quote.amount.fen
        withdrawal.fee = quote.fee.fen
        withdrawal.net = quote.net.fen
        withdrawal.channel = channel.rawValue
        withdrawal.state = WithdrawalState.requested.rawValue
        withdrawal.accountCipher = account
        withdrawal.accountHint = hint
        withdrawal.reason = ""
        withdrawal.outBillNo = ""
        withdrawal.proofImage = ""
        withdrawal.idempotencyKey = idempotencyKey
        withdrawal.createdAt = now
        withdrawal.updatedAt = now
        withdrawal.providerState = ""
        withdrawal.providerBillNo = ""
        withdrawal.packageInfo = ""
        try await withdrawal.create(on: db)
        let member = LedgerOwner.member(distributorID)
        // The ledger refuses to take more than is available: of two racing requests one fails here.
        _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
            idempotencyKey: "withdrawal:\(withdrawal.withdrawalNo)", kind: "withdrawal_requested", memo: channel.rawValue,
            entries: [.debit(try LedgerAccountKey(.commissionAvailable, member), quote.amount), .credit(.platform(.withdrawalsInTransit), quote.amount)]))
        if quote.autoApprove { return try await approve(withdrawal, actor: nil, ip: "") }
        return withdrawal
    }

    /// China-time weekday (1 = Monday), day of month, and the starts of today and this month.
    static func calendarFacts(_ now: Date) -> (Int, Int, Date, Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = CommissionService.chinaTime
        let parts = calendar.dateComponents([.weekday, .day], from: now)
        let weekday = ((parts.weekday ?? 1) + 5) % 7 + 1
        return (weekday, parts.day ?? 1, calendar.startOfDay(for: now), CommissionService.monthStart(now))
    }

    /// Approved: the mall balance is paid at once; a channel with a provider is claimed for its
    /// transfer (sent after this transaction commits); the others wait for the operator's payment.
    func approve(_ withdrawal: Withdrawal, actor: StaffUser?, ip: String) async throws -> Withdrawal {
        try await move(withdrawal, .approve, actor: actor, ip: ip)
        if withdrawal.channel == WithdrawalChannel.balance.rawValue {
            try await pay(withdrawal, proof: "", actor: actor, ip: ip)
        } else if let channel = WithdrawalChannel(rawValue: withdrawal.channel), automatic.contains(channel) {
            try await startTransfer(withdrawal)
        }
        return withdrawal
    }

    /// approved → transferring, with the number the provider will know it by: the withdrawal's
    /// own, so that every later attempt (a retry, the query job) names the same transfer.
    func startTransfer(_ withdrawal: Withdrawal) async throws {
        try await move(withdrawal, .startTransfer, actor: nil, ip: "")
        withdrawal.outBillNo = withdrawal.withdrawalNo
        withdrawal.transferCheckedAt = now
        try await withdrawal.save(on: db)
    }

    /// Applies what the provider says about a transfer: paid (with the ledger's payout), failed
    /// (the amount back), or still in transit (its state and, for WeChat, the confirmation package).
    func recordTransfer(_ withdrawal: Withdrawal, _ status: PayoutStatus) async throws {
        switch status.phase {
        case .succeeded:
            try await move(withdrawal, .transferSucceeded, actor: nil, ip: "")
            withdrawal.paidAt = now
            withdrawal.packageInfo = ""
        case .failed:
            try await move(withdrawal, .transferFailed(reason: status.failReason.isEmpty ? status.providerState : status.failReason), actor: nil, ip: "")
            withdrawal.packageInfo = ""
        case .inTransit:
            withdrawal.packageInfo = String(status.packageInfo.prefix(2_000))
        case .notFound:
            break
        }
        withdrawal.providerState = String(status.providerState.prefix(40))
        if !status.billNo.isEmpty { withdrawal.providerBillNo = String(status.billNo.prefix(64)) }
        withdrawal.transferCheckedAt = now
        try await withdrawal.save(on: db)
        if status.phase == .succeeded { try await bookPaid(withdrawal) }
    }

    func reject(_ withdrawal: Withdrawal, reason: String, actor: StaffUser, ip: String) async throws -> Withdrawal {
        try await move(withdrawal, .reject(reason: reason), actor: actor, ip: ip)
        return withdrawal
    }

    /// The payout is done: for the balance channel into the member's balance, otherwise out of
    /// the platform through the provider or the bank (with the operator's proof for a bank card).
    func pay(_ withdrawal: Withdrawal, proof: String, actor: StaffUser?, ip: String) async throws {
        try await move(withdrawal, .pay, actor: actor, ip: ip)
        withdrawal.proofImage = proof
        withdrawal.paidAt = now
        try await withdrawal.save(on: db)
        try await bookPaid(withdrawal)
    }

    /// The payout's ledger transaction: out of transit to the member's balance or, for money that
    /// left through a provider or the bank, to payment clearing; the fee to the platform's revenue.
    private func bookPaid(_ withdrawal: Withdrawal) async throws {
        let no = withdrawal.withdrawalNo
        var entries: [LedgerEntry] = [.debit(.platform(.withdrawalsInTransit), Money(fen: withdrawal.amount))]
        if withdrawal.channel == WithdrawalChannel.balance.rawValue {
            entries.append(.credit(try LedgerAccountKey(.memberBalance, .member(withdrawal.distributorID)), Money(fen: withdrawal.net)))
        } else {
            entries.append(.credit(.platform(.paymentClearing), Money(fen: withdrawal.net)))
        }
        if withdrawal.fee > 0 { entries.append(.credit(.platform(.feeRevenue), Money(fen: withdrawal.fee))) }
        _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
            idempotencyKey: "withdrawal-paid:\(no)", kind: "withdrawal_paid", memo: withdrawal.channel, entries: entries))
    }

    func fail(_ withdrawal: Withdrawal, reason: String, actor: StaffUser?, ip: String) async throws {
        try await move(withdrawal, .fail(reason: reason), actor: actor, ip: ip)
    }

    /// One state move by conditional update; a returned amount goes back to the available balance.
    private func move(_ withdrawal: Withdrawal, _ event: WithdrawalEvent, actor: StaffUser?, ip: String) async throws {
        let from = WithdrawalState(rawValue: withdrawal.state) ?? .rejected
        let transition = try WithdrawalLifecycle.apply(event, to: from)
        let reason: String = switch event {
        case .reject(let text), .fail(let text), .transferFailed(let text): String(text.prefix(200))
        default: withdrawal.reason
        }
        let moved = try await sqlDatabase(db).raw("""
            UPDATE withdrawals SET state = \(bind: transition.state.rawValue), reason = \(bind: reason), decided_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: withdrawal.requireID()) AND state = \(bind: from.rawValue) RETURNING id
            """).all()
        guard !moved.isEmpty else { throw WithdrawalError.illegalTransition(from: from) }
        withdrawal.state = transition.state.rawValue
        withdrawal.reason = reason
        withdrawal.decidedAt = now
        withdrawal.updatedAt = now
        if transition.returnsAmount {
            _ = try await LedgerService(db: db, now: now).postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "withdrawal-returned:\(withdrawal.withdrawalNo)", kind: "withdrawal_returned", memo: reason,
                entries: [.debit(.platform(.withdrawalsInTransit), Money(fen: withdrawal.amount)),
                          .credit(try LedgerAccountKey(.commissionAvailable, .member(withdrawal.distributorID)), Money(fen: withdrawal.amount))]))
        }
        if let actor {
            try await AuditLog.record(on: db, actor: actor, action: "withdrawal.\(transition.state.rawValue)", target: "withdrawal:\(withdrawal.withdrawalNo)",
                                      detail: reason, ip: ip, at: now)
        }
    }
}
