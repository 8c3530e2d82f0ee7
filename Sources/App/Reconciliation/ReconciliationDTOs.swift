import Foundation
import MallCore
import Vapor

struct ReconciliationTotalsDTO: Content, Equatable {
    let payments: Int
    let paymentAmount: MoneyDTO
    let refunds: Int
    let refundAmount: MoneyDTO
}

struct ReconciliationRunDTO: Content {
    let id: UUID
    let provider: String
    let providerLabel: String
    let date: String
    /// completed or failed.
    let status: String
    let statusLabel: String
    /// Why a failed run failed; empty otherwise.
    let message: String
    let providerTotals: ReconciliationTotalsDTO
    let ourTotals: ReconciliationTotalsDTO
    let matched: Int
    let differences: Int
    let openDifferences: Int
    let attempts: Int
    let finishedAt: Date

    init(_ run: ReconciliationRun, openDifferences: Int, _ locale: MallLocale) throws {
        id = try run.requireID()
        provider = run.provider
        providerLabel = ReconciliationStrings.label("provider_\(run.provider)", locale, fallback: run.provider)
        date = run.billDay
        status = run.status
        statusLabel = ReconciliationStrings.label("run_\(run.status)", locale, fallback: run.status)
        message = run.message
        providerTotals = .init(payments: run.providerPayments, paymentAmount: .init(Money(fen: run.providerPaymentAmount), locale),
                               refunds: run.providerRefunds, refundAmount: .init(Money(fen: run.providerRefundAmount), locale))
        ourTotals = .init(payments: run.ourPayments, paymentAmount: .init(Money(fen: run.ourPaymentAmount), locale),
                          refunds: run.ourRefunds, refundAmount: .init(Money(fen: run.ourRefundAmount), locale))
        matched = run.matched
        differences = run.differences
        self.openDifferences = openDifferences
        attempts = run.attempts
        finishedAt = run.finishedAt
    }
}

struct ReconciliationDifferenceDTO: Content {
    let id: UUID
    let runId: UUID
    let provider: String
    let date: String
    /// missing_at_provider, extra_at_provider or amount_mismatch.
    let kind: String
    let kindLabel: String
    /// payment or refund.
    let lineKind: String
    let lineKindLabel: String
    let ourNo: String
    let providerNo: String
    let ourAmount: MoneyDTO?
    let providerAmount: MoneyDTO?
    /// open or resolved.
    let status: String
    let note: String
    let resolvedBy: String
    let resolvedAt: Date?
    let createdAt: Date

    init(_ record: ReconciliationDifferenceRecord, _ locale: MallLocale) throws {
        id = try record.requireID()
        runId = record.runID
        provider = record.provider
        date = record.billDay
        kind = record.kind
        kindLabel = ReconciliationStrings.label("kind_\(record.kind)", locale, fallback: record.kind)
        lineKind = record.lineKind
        lineKindLabel = ReconciliationStrings.label("line_\(record.lineKind)", locale, fallback: record.lineKind)
        ourNo = record.ourNo
        providerNo = record.providerNo
        ourAmount = record.ourAmount.map { .init(Money(fen: $0), locale) }
        providerAmount = record.providerAmount.map { .init(Money(fen: $0), locale) }
        status = record.status
        note = record.note
        resolvedBy = record.resolvedByName
        resolvedAt = record.resolvedAt
        createdAt = record.createdAt
    }
}

struct ReconcileInput: Content {
    let date: String
    let provider: String?
}

struct ResolveDifferenceInput: Content {
    let note: String
}
