import Fluent
import Foundation
import MallCore

/// One account per (purpose, owner). `balance` is a cache of its postings that verify-ledger checks.
final class LedgerAccount: Model, @unchecked Sendable {
    static let schema = "ledger_accounts"

    @ID(key: .id) var id: UUID?
    @Field(key: "purpose") var purpose: String
    @Field(key: "owner_kind") var ownerKind: String
    @Field(key: "owner_id") var ownerID: String
    @Field(key: "balance") var balance: Int64
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// A balanced set of postings, written once under a unique idempotency key.
final class LedgerTransactionRecord: Model, @unchecked Sendable {
    static let schema = "ledger_transactions"

    @ID(key: .id) var id: UUID?
    @Field(key: "idempotency_key") var idempotencyKey: String
    @Field(key: "kind") var kind: String
    @Field(key: "memo") var memo: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// Append-only: postings are never updated or deleted; corrections are new reversing transactions.
final class LedgerPosting: Model, @unchecked Sendable {
    static let schema = "ledger_postings"

    @ID(key: .id) var id: UUID?
    @Parent(key: "transaction_id") var transaction: LedgerTransactionRecord
    @Parent(key: "account_id") var account: LedgerAccount
    @Field(key: "side") var side: String
    @Field(key: "amount") var amount: Int64
    @Field(key: "created_at") var createdAt: Date

    init() {}
}
