import Fluent
import Foundation
import MallCore

/// One provider's bill for one China-time day compared with our ledger: a single row per
/// (provider, day), brought up to date by every run of that day.
final class ReconciliationRun: Model, @unchecked Sendable {
    static let schema = "reconciliation_runs"

    enum Status: String, Codable, CaseIterable, Sendable {
        /// The bill was fetched and compared (differences or not).
        case completed
        /// The provider did not give a readable bill; `message` says why.
        case failed
    }

    @ID(key: .id) var id: UUID?
    /// sandbox, wechat or alipay.
    @Field(key: "provider") var provider: String
    /// `YYYY-MM-DD` in China time.
    @Field(key: "bill_day") var billDay: String
    @Field(key: "status") var status: String
    @Field(key: "message") var message: String
    @Field(key: "provider_payments") var providerPayments: Int
    @Field(key: "provider_payment_amount") var providerPaymentAmount: Int64
    @Field(key: "provider_refunds") var providerRefunds: Int
    @Field(key: "provider_refund_amount") var providerRefundAmount: Int64
    @Field(key: "our_payments") var ourPayments: Int
    @Field(key: "our_payment_amount") var ourPaymentAmount: Int64
    @Field(key: "our_refunds") var ourRefunds: Int
    @Field(key: "our_refund_amount") var ourRefundAmount: Int64
    @Field(key: "matched") var matched: Int
    /// Differences found by the last completed run (open or already resolved).
    @Field(key: "differences") var differences: Int
    @Field(key: "attempts") var attempts: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "finished_at") var finishedAt: Date

    init() {}
}

/// One line the two sides disagree on. Open until an operator resolves it with a note; a later
/// run of the day updates open ones in place, removes those that no longer differ, and leaves
/// resolved ones as they were.
final class ReconciliationDifferenceRecord: Model, @unchecked Sendable {
    static let schema = "reconciliation_differences"

    enum Status: String, Codable, CaseIterable, Sendable {
        case open, resolved
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "run_id") var runID: UUID
    @Field(key: "provider") var provider: String
    @Field(key: "bill_day") var billDay: String
    /// missing_at_provider, extra_at_provider or amount_mismatch.
    @Field(key: "kind") var kind: String
    /// payment or refund.
    @Field(key: "line_kind") var lineKind: String
    @Field(key: "our_no") var ourNo: String
    @Field(key: "provider_no") var providerNo: String
    @OptionalField(key: "our_amount") var ourAmount: Int64?
    @OptionalField(key: "provider_amount") var providerAmount: Int64?
    @Field(key: "status") var status: String
    @Field(key: "note") var note: String
    @OptionalField(key: "resolved_by") var resolvedBy: UUID?
    @Field(key: "resolved_by_name") var resolvedByName: String
    @OptionalField(key: "resolved_at") var resolvedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var differenceKind: ReconciliationDifferenceKind { ReconciliationDifferenceKind(rawValue: kind) ?? .amountMismatch }
    var key: String { "\(kind)|\(lineKind)|\(ourNo)" }
}

struct CreateReconciliation: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(ReconciliationRun.schema)
            .id()
            .field("provider", .string, .required)
            .field("bill_day", .string, .required)
            .field("status", .string, .required)
            .field("message", .string, .required)
            .field("provider_payments", .int, .required)
            .field("provider_payment_amount", .int64, .required)
            .field("provider_refunds", .int, .required)
            .field("provider_refund_amount", .int64, .required)
            .field("our_payments", .int, .required)
            .field("our_payment_amount", .int64, .required)
            .field("our_refunds", .int, .required)
            .field("our_refund_amount", .int64, .required)
            .field("matched", .int, .required)
            .field("differences", .int, .required)
            .field("attempts", .int, .required)
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime, .required)
            .unique(on: "provider", "bill_day")
            .create()
        try await createIndex("reconciliation_runs_day", on: ReconciliationRun.schema, columns: ["bill_day", "provider"], db: db)
        try await db.schema(ReconciliationDifferenceRecord.schema)
            .id()
            .field("run_id", .uuid, .required, .references(ReconciliationRun.schema, .id))
            .field("provider", .string, .required)
            .field("bill_day", .string, .required)
            .field("kind", .string, .required)
            .field("line_kind", .string, .required)
            .field("our_no", .string, .required)
            .field("provider_no", .string, .required)
            .field("our_amount", .int64)
            .field("provider_amount", .int64)
            .field("status", .string, .required)
            .field("note", .string, .required)
            .field("resolved_by", .uuid)
            .field("resolved_by_name", .string, .required)
            .field("resolved_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await createIndex("reconciliation_differences_run", on: ReconciliationDifferenceRecord.schema, columns: ["run_id", "status"], db: db)
        try await createIndex("reconciliation_differences_open", on: ReconciliationDifferenceRecord.schema, columns: ["status", "bill_day"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(ReconciliationDifferenceRecord.schema).delete()
        try await db.schema(ReconciliationRun.schema).delete()
    }
}
