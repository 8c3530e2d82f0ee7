import Fluent
import Foundation
import MallCore
import Vapor

/// Withdrawals paid by WeChat merchant transfer or Alipay transfer. The call to the provider never
/// happens inside a database transaction: approval claims the withdrawal (approved → transferring)
/// and commits; `send` then calls the provider and records its answer in a transaction of its own.
/// Whatever is unknown — a timeout, a crash between the two — stays in transit until the
/// provider's notification or the query job (`sync`) settles it. Both may arrive together: the
/// row is locked and the state checked, so the payout is booked once.
enum WithdrawalPayouts {
    struct Report: Content, Equatable, CustomStringConvertible {
        var checked = 0
        var paid = 0
        var failed = 0
        var inTransit = 0
        var errors = 0

        var description: String { "checked \(checked), paid \(paid), failed \(failed), in transit \(inTransit), errors \(errors)" }

        mutating func count(_ phase: PayoutStatus.Phase?) {
            switch phase {
            case .succeeded?: paid += 1
            case .failed?: failed += 1
            case .inTransit?, .notFound?: inTransit += 1
            case nil: break
            }
        }
    }

    /// The service as the app runs it: the configured providers decide which channels are automatic.
    static func service(_ app: Application, db: any Database) -> WithdrawalService {
        WithdrawalService(db: db, now: app.clock.now(), automatic: Set(app.payoutGateways.keys))
    }

    /// Sends a transferring withdrawal to its provider (again, with the same number, when the
    /// provider never saw it). Provider trouble is logged and leaves it in transit; the phase
    /// recorded is returned (nil when there was nothing to send).
    @discardableResult
    static func send(_ id: UUID, app: Application) async throws -> PayoutStatus.Phase? {
        guard let withdrawal = try await Withdrawal.find(id, on: app.db), withdrawal.state == WithdrawalState.transferring.rawValue,
              let channel = WithdrawalChannel(rawValue: withdrawal.channel), let gateway = app.payoutGateways[channel] else { return nil }
        let payee = try? JSONDecoder().decode(WithdrawalPayee.self, from: Data(try app.personalData.open(withdrawal.accountCipher).utf8))
        let account = channel == .wechatTransfer ? payee?.openid ?? "" : payee?.number ?? ""
        guard let payee, !account.isEmpty else {
            // Asked for before the provider was configured, without what it needs: nothing was sent, so it is returned.
            let status = PayoutStatus(phase: .failed, providerState: "NOT_SENT",
                                      failReason: channel == .wechatTransfer ? "缺少收款人 openid / no payee openid" : "缺少收款账号 / no payee account")
            return try await record(outBillNo: withdrawal.outBillNo, status: status, app: app)
        }
        let request = PayoutRequest(outBillNo: withdrawal.outBillNo, amount: Money(fen: withdrawal.net), payeeName: payee.name,
                                    payeeAccount: account, remark: "分销佣金提现")
        var status: PayoutStatus
        do {
            status = try await gateway.transfer(request)
        } catch PaymentProviderError.refused(let code, let message) {
            // Declined as asked. It is over only when the provider also has no such transfer.
            do {
                status = try await gateway.query(outBillNo: withdrawal.outBillNo)
            } catch {
                app.logger.warning("withdrawal \(withdrawal.withdrawalNo): transfer refused (\(code)), query failed: \(error)")
                try await touch(id, app: app)
                return .inTransit
            }
            if status.phase == .notFound {
                status = PayoutStatus(phase: .failed, providerState: "REFUSED", failReason: String("\(code) \(message)".prefix(200)))
            }
        } catch {
            app.logger.warning("withdrawal \(withdrawal.withdrawalNo): transfer outcome unknown, left for the query job: \(error)")
            try await touch(id, app: app)
            return .inTransit
        }
        return try await record(outBillNo: withdrawal.outBillNo, status: status, app: app)
    }

    /// Records the provider's word on the transfer numbered `outBillNo` in one transaction. Nil when
    /// no withdrawal is transferring under that number (unknown, or settled already).
    @discardableResult
    static func record(outBillNo: String, status: PayoutStatus, app: Application) async throws -> PayoutStatus.Phase? {
        guard !outBillNo.isEmpty else { return nil }
        let now = app.clock.now()
        let automatic = Set(app.payoutGateways.keys)
        return try await app.writeGate.transaction(on: app.db) { db -> PayoutStatus.Phase? in
            guard let found = try await Withdrawal.query(on: db).filter(\.$outBillNo == outBillNo).first() else {
                throw WithdrawalPayoutError.unknownBill(outBillNo)
            }
            try await lockRow(Withdrawal.schema, found.requireID(), on: db)
            guard let withdrawal = try await Withdrawal.find(found.requireID(), on: db),
                  withdrawal.state == WithdrawalState.transferring.rawValue else { return nil }
            if let amount = status.amount, status.phase != .notFound, amount.fen != withdrawal.net {
                throw WithdrawalPayoutError.amountMismatch(outBillNo: outBillNo, expected: withdrawal.net, stated: amount.fen)
            }
            try await WithdrawalService(db: db, now: now, automatic: automatic).recordTransfer(withdrawal, status)
            return status.phase
        }
    }

    /// Notes that the provider was tried, so that the query job waits before asking again.
    private static func touch(_ id: UUID, app: Application) async throws {
        let now = app.clock.now()
        try await app.writeGate.transaction(on: app.db) { db in
            try await Withdrawal.query(on: db).filter(\.$id == id).filter(\.$state == WithdrawalState.transferring.rawValue)
                .set(\.$transferCheckedAt, to: now).update()
        }
    }

    /// Asks the provider about one transferring withdrawal and records the answer; a transfer the
    /// provider never received is sent again under the same number.
    @discardableResult
    static func check(_ withdrawal: Withdrawal, app: Application) async throws -> PayoutStatus.Phase? {
        guard withdrawal.state == WithdrawalState.transferring.rawValue, let channel = WithdrawalChannel(rawValue: withdrawal.channel),
              let gateway = app.payoutGateways[channel] else { return nil }
        let id = try withdrawal.requireID()
        let status: PayoutStatus
        do {
            status = try await gateway.query(outBillNo: withdrawal.outBillNo)
        } catch {
            try await touch(id, app: app)
            throw error
        }
        if status.phase == .notFound { return try await send(id, app: app) }
        return try await record(outBillNo: withdrawal.outBillNo, status: status, app: app)
    }

    /// The query job: every withdrawal in transit whose provider was last asked at least
    /// `interval` seconds ago. Safe to run again and on two instances at once.
    static func sync(_ app: Application, interval: TimeInterval = 60, limit: Int = 200) async throws -> Report {
        var report = Report()
        guard !app.payoutGateways.isEmpty else { return report }
        let cutoff = app.clock.now().addingTimeInterval(-interval)
        let due = try await Withdrawal.query(on: app.db).filter(\.$state == WithdrawalState.transferring.rawValue)
            .group(.or) { $0.filter(\.$transferCheckedAt == nil).filter(\.$transferCheckedAt <= cutoff) }
            .sort(\.$createdAt).limit(limit).all()
        for withdrawal in due {
            report.checked += 1
            do {
                report.count(try await check(withdrawal, app: app))
            } catch {
                report.errors += 1
                app.logger.warning("withdrawal \(withdrawal.withdrawalNo): transfer query failed: \(error)")
            }
        }
        return report
    }
}

enum WithdrawalPayoutError: APIErrorConvertible, Equatable {
    case unknownBill(String)
    case amountMismatch(outBillNo: String, expected: Int64, stated: Int64)

    var apiError: APIError {
        switch self {
        case .unknownBill:
            APIError(.notFound, "withdrawal.unknown_bill", .init("没有这笔转账对应的提现", "No withdrawal has this transfer number"))
        case .amountMismatch:
            APIError(.badRequest, "withdrawal.amount_mismatch", .init("转账金额与提现不符", "The transfer amount is not the withdrawal's"))
        }
    }
}

/// `fission sync-payouts`: asks the providers about every withdrawal still in transit.
struct SyncPayoutsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Asks WeChat Pay / Alipay about withdrawal transfers still in transit and records paid or failed ones." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let report = try await WithdrawalPayouts.sync(context.application, interval: 0)
        context.console.print("withdrawal transfers: \(report)")
    }
}
