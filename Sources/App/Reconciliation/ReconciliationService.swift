import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// What can be wrong with a reconciliation request, worded for the operator.
enum ReconciliationError: APIErrorConvertible, Equatable {
    case badDate(field: String)
    case futureDate
    case unknownProvider(String)
    case providerNotConfigured(String)
    case alreadyResolved

    var apiError: APIError {
        switch self {
        case .badDate(let field):
            APIError.validation([.init(field, .init("日期格式应为 YYYY-MM-DD（2000–2999 年的真实日期）", "Give a real date as YYYY-MM-DD (years 2000–2999)"))])
        case .futureDate:
            APIError.validation([.init("date", .init("只能对今天及以前的日期对账", "Only today and earlier days can be reconciled"))])
        case .unknownProvider(let name):
            APIError.validation([.init("provider", .init("未知的支付渠道：\(name)（可选 sandbox、wechat、alipay）", "Unknown provider: \(name) (sandbox, wechat or alipay)"))])
        case .providerNotConfigured(let name):
            APIError(.unprocessableEntity, "reconciliation.provider_not_configured",
                     .init("支付渠道 \(name) 未配置，无法对账", "The provider \(name) is not configured here"),
                     details: [.init("provider", .init("未配置", "Not configured"))])
        case .alreadyResolved:
            APIError(.conflict, "reconciliation.already_resolved", .init("该差异已处理", "This difference has already been resolved"))
        }
    }

    /// A day from a request: real, and not after today in China.
    static func day(_ text: String?, field: String = "date", now: Date) throws -> BillDay {
        guard let text, let day = BillDay(text) else { throw ReconciliationError.badDate(field: field) }
        if let today = BillDay.containing(now), day > today { throw ReconciliationError.futureDate }
        return day
    }

    /// A provider that bills: sandbox, wechat or alipay (the balance is inside our own ledger).
    static func provider(_ text: String, field: String = "provider") throws -> PaymentMethod {
        guard let method = PaymentMethod(rawValue: text), method != .balance else {
            throw ReconciliationError.unknownProvider(String(text.prefix(20)))
        }
        return method
    }
}

/// Reconciliation (对账): each provider's bill for a China-time day compared with what the ledger
/// booked through that provider on the same day.
enum ReconciliationService {
    /// Ledger kinds that move money through a provider, and which side of the bill each is.
    static let ledgerKinds: [String: BillLine.Kind] = [
        "order_payment": .payment, "late_payment": .payment, "order_refund": .refund, "late_payment_refund": .refund,
    ]

    /// Our lines for `provider` on `day`: the ledger's payment and refund transactions booked in the
    /// day's window, each with the amount it moved (its debits, which equal its credits), joined
    /// to the payment or refund it belongs to for the provider and the provider's number.
    ///
    /// A late payment is a payment under its payment number; the refund booked with it
    /// (`late-payment-refund:<no>`) is a refund under the same payment number. Until such
    /// refunds are sent to the provider by themselves, the bill has no line for them and they show
    /// as missing at the provider: money still to be returned by hand.
    static func ourLines(_ provider: PaymentMethod, day: BillDay, on db: any Database) async throws -> [BillLine] {
        let (start, end) = day.window
        let transactions = try await LedgerTransactionRecord.query(on: db).filter(\.$kind ~~ Array(ledgerKinds.keys))
            .filter(\.$createdAt >= start).filter(\.$createdAt < end).sort(\.$createdAt).all()
        guard !transactions.isEmpty else { return [] }
        var amounts: [UUID: Int64] = [:]
        for chunk in chunks(transactions.compactMap(\.id)) {
            let postings = try await LedgerPosting.query(on: db).filter(\.$transaction.$id ~~ chunk).filter(\.$side == LedgerSide.debit.rawValue).all()
            for posting in postings { amounts[posting.$transaction.id, default: 0] += posting.amount }
        }
        func number(_ key: String) -> String { key.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? "" }
        let paymentNos = transactions.filter { $0.kind != "order_refund" }.map { number($0.idempotencyKey) }
        let refundNos = transactions.filter { $0.kind == "order_refund" }.map { number($0.idempotencyKey) }
        var payments: [String: Payment] = [:]
        for chunk in chunks(Array(Set(paymentNos))) {
            for payment in try await Payment.query(on: db).filter(\.$paymentNo ~~ chunk).all() { payments[payment.paymentNo] = payment }
        }
        var refunds: [String: Refund] = [:]
        for chunk in chunks(Array(Set(refundNos))) {
            for refund in try await Refund.query(on: db).filter(\.$refundNo ~~ chunk).all() { refunds[refund.refundNo] = refund }
        }
        var lines: [BillLine] = []
        for transaction in transactions {
            guard let id = transaction.id, let side = ledgerKinds[transaction.kind] else { continue }
            let no = number(transaction.idempotencyKey)
            let amount = Money(fen: amounts[id] ?? 0)
            switch transaction.kind {
            case "order_refund":
                guard let refund = refunds[no], refund.method == provider.rawValue else { continue }
                lines.append(BillLine(kind: .refund, ourNo: no, providerNo: refund.providerRefundNo, amount: amount, at: transaction.createdAt))
            default:
                guard let payment = payments[no], payment.provider == provider.rawValue else { continue }
                lines.append(BillLine(kind: side, ourNo: no, providerNo: side == .payment ? payment.providerTradeNo : "", amount: amount, at: transaction.createdAt))
            }
        }
        return lines
    }

    private static func chunks<T>(_ items: [T], size: Int = 400) -> [[T]] {
        stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }

    /// The providers this instance has, in a fixed order; the balance is not one.
    static func providers(_ app: Application) -> [PaymentMethod] {
        PaymentMethod.allCases.filter { $0 != .balance && app.paymentGateways[$0] != nil }
    }

    /// Runs every configured provider (or only `only`) for `day`. A provider that is not
    /// configured is skipped, unless it was asked for by name.
    static func run(day: BillDay, only: PaymentMethod? = nil, app: Application) async throws -> [ReconciliationRun] {
        if let only, app.paymentGateways[only] == nil || only == .balance { throw ReconciliationError.providerNotConfigured(only.rawValue) }
        var runs: [ReconciliationRun] = []
        for method in only.map({ [$0] }) ?? providers(app) {
            if let done = try await run(method, day: day, app: app) { runs.append(done) }
        }
        return runs
    }

    /// Fetches the bill, compares, and records the run and its differences. A provider that does
    /// not answer, or answers with a bill that cannot be read, is a failed run with its reason.
    @discardableResult
    static func run(_ method: PaymentMethod, day: BillDay, app: Application) async throws -> ReconciliationRun? {
        guard let gateway = app.paymentGateways[method], method != .balance else { return nil }
        let outcome: Result<ReconciliationResult, PaymentProviderError>
        do {
            let bill = try await gateway.bill(for: day)
            let ours = try await ourLines(method, day: day, on: app.db)
            outcome = .success(try Reconciliation.compare(ours: ours, provider: bill))
        } catch let error as PaymentProviderError {
            app.logger.error("reconciliation \(method.rawValue) \(day) failed: \(error.detail)")
            outcome = .failure(error)
        } catch let error as MoneyError {
            outcome = .failure(.badResponse("totals overflow: \(error)"))
        } catch let error as any APIErrorConvertible {
            outcome = .failure(.badResponse(error.apiError.code))
        } catch {
            app.logger.error("reconciliation \(method.rawValue) \(day) failed: \(error)")
            outcome = .failure(.unavailable(String(describing: error)))
        }
        let now = app.clock.now()
        return try await app.writeGate.transaction(on: app.db) { db in
            try await record(outcome, method: method, day: day, now: now, on: db)
        }
    }

    /// Writes one run's outcome in a write transaction. The run's row is taken first (and locked on
    /// PostgreSQL), so two instances running the same day one after the other converge on one row
    /// and one set of differences.
    static func record(_ outcome: Result<ReconciliationResult, PaymentProviderError>, method: PaymentMethod, day: BillDay,
                       now: Date, on db: any Database) async throws -> ReconciliationRun {
        let sql = try sqlDatabase(db)
        try await sql.raw("""
            INSERT INTO reconciliation_runs (id, provider, bill_day, status, message, provider_payments, provider_payment_amount,
              provider_refunds, provider_refund_amount, our_payments, our_payment_amount, our_refunds, our_refund_amount,
              matched, differences, attempts, created_at, finished_at)
            VALUES (\(bind: UUID()), \(bind: method.rawValue), \(bind: day.description), 'failed', '', 0, \(bind: Int64(0)), 0, \(bind: Int64(0)),
              0, \(bind: Int64(0)), 0, \(bind: Int64(0)), 0, 0, 0, \(bind: now), \(bind: now))
            ON CONFLICT (provider, bill_day) DO NOTHING
            """).run()
        if sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT id FROM reconciliation_runs WHERE provider = \(bind: method.rawValue) AND bill_day = \(bind: day.description) FOR UPDATE").run()
        }
        guard let run = try await ReconciliationRun.query(on: db).filter(\.$provider == method.rawValue).filter(\.$billDay == day.description).first() else {
            throw APIError.notFound
        }
        run.attempts += 1
        run.finishedAt = now
        switch outcome {
        case .failure(let error):
            // What the last completed run found stays listed; the day is marked failed until it is run again.
            run.status = ReconciliationRun.Status.failed.rawValue
            run.message = String(error.detail.prefix(500))
            try await run.save(on: db)
            return run
        case .success(let result):
            run.status = ReconciliationRun.Status.completed.rawValue
            run.message = ""
            run.providerPayments = result.provider.payments
            run.providerPaymentAmount = result.provider.paymentAmount.fen
            run.providerRefunds = result.provider.refunds
            run.providerRefundAmount = result.provider.refundAmount.fen
            run.ourPayments = result.ours.payments
            run.ourPaymentAmount = result.ours.paymentAmount.fen
            run.ourRefunds = result.ours.refunds
            run.ourRefundAmount = result.ours.refundAmount.fen
            run.matched = result.matched
            run.differences = result.differences.count
            try await run.save(on: db)
            try await syncDifferences(result.differences, run: run, now: now, on: db)
            return run
        }
    }

    /// Open differences are updated in place (their ids stay), those gone are deleted, new ones are
    /// added; one already resolved with the same amounts is not raised again.
    private static func syncDifferences(_ found: [ReconciliationDifference], run: ReconciliationRun, now: Date, on db: any Database) async throws {
        let runID = try run.requireID()
        let existing = try await ReconciliationDifferenceRecord.query(on: db).filter(\.$runID == runID).all()
        var open: [String: ReconciliationDifferenceRecord] = [:]
        for record in existing where record.status == ReconciliationDifferenceRecord.Status.open.rawValue { open[record.key] = record }
        let resolved = existing.filter { $0.status == ReconciliationDifferenceRecord.Status.resolved.rawValue }
        var kept = Set<String>()
        for difference in found {
            let ourAmount = difference.ourAmount?.fen, providerAmount = difference.providerAmount?.fen
            if let record = open[difference.key] {
                kept.insert(difference.key)
                if record.ourAmount != ourAmount || record.providerAmount != providerAmount || record.providerNo != difference.providerNo {
                    record.ourAmount = ourAmount
                    record.providerAmount = providerAmount
                    record.providerNo = String(difference.providerNo.prefix(200))
                    record.updatedAt = now
                    try await record.save(on: db)
                }
                continue
            }
            if resolved.contains(where: { $0.key == difference.key && $0.ourAmount == ourAmount && $0.providerAmount == providerAmount }) { continue }
            let record = ReconciliationDifferenceRecord()
            record.runID = runID
            record.provider = run.provider
            record.billDay = run.billDay
            record.kind = difference.kind.rawValue
            record.lineKind = difference.lineKind.rawValue
            record.ourNo = String(difference.ourNo.prefix(64))
            record.providerNo = String(difference.providerNo.prefix(200))
            record.ourAmount = ourAmount
            record.providerAmount = providerAmount
            record.status = ReconciliationDifferenceRecord.Status.open.rawValue
            record.note = ""
            record.resolvedByName = ""
            record.createdAt = now
            record.updatedAt = now
            try await record.create(on: db)
        }
        for (key, record) in open where !kept.contains(key) { try await record.delete(on: db) }
    }

    /// Marks an open difference resolved with the operator's note, in the audit log as well.
    static func resolve(_ id: UUID, note: String, staff: StaffUser, ip: String, now: Date, on db: any Database) async throws -> ReconciliationDifferenceRecord {
        guard let record = try await ReconciliationDifferenceRecord.find(id, on: db) else { throw APIError.notFound }
        let moved = try await sqlDatabase(db).raw("""
            UPDATE reconciliation_differences SET status = 'resolved', note = \(bind: note), resolved_by = \(bind: staff.requireID()),
              resolved_by_name = \(bind: staff.username), resolved_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND status = 'open' RETURNING id
            """).all()
        guard !moved.isEmpty else { throw ReconciliationError.alreadyResolved }
        try await AuditLog.record(on: db, actor: staff, action: "reconciliation.resolve",
                                  target: "\(record.provider) \(record.billDay) \(record.kind) \(record.ourNo)", detail: String(note.prefix(200)), ip: ip, at: now)
        guard let fresh = try await ReconciliationDifferenceRecord.find(id, on: db) else { throw APIError.notFound }
        return fresh
    }

    // MARK: the daily job

    /// WeChat publishes yesterday's bill after 10:00 China time; Alipay earlier. From 10:30 the
    /// job reconciles yesterday for each provider that has no completed run of it yet, so a day
    /// that failed is tried again on the next round.
    static let publishedAfterSeconds = 10 * 3600 + 30 * 60

    static func dueDay(now: Date) -> BillDay? {
        guard let today = BillDay.containing(now) else { return nil }
        let sinceMidnight = now.timeIntervalSince(today.window.start)
        return sinceMidnight >= Double(publishedAfterSeconds) ? today.previous : nil
    }

    static func runDue(_ app: Application) async throws -> [ReconciliationRun] {
        guard let day = dueDay(now: app.clock.now()) else { return [] }
        var runs: [ReconciliationRun] = []
        for method in providers(app) {
            let done = try await ReconciliationRun.query(on: app.db).filter(\.$provider == method.rawValue).filter(\.$billDay == day.description)
                .filter(\.$status == ReconciliationRun.Status.completed.rawValue).count()
            guard done == 0 else { continue }
            if let finished = try await run(method, day: day, app: app) { runs.append(finished) }
        }
        return runs
    }
}
