import Fluent
import Foundation
import MallCore

/// A member who shares the mall for commission (分销员). Its id is the member's id, so the
/// commission engine compares buyers, distributors and parents in one id space.
final class Distributor: Model, @unchecked Sendable {
    static let schema = "distributors"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    /// The short code in the distributor's links, `/s/<code>`; unique.
    @Field(key: "code") var code: String
    /// applied, active, frozen, removed, rejected.
    @Field(key: "status") var status: String
    /// individual or enterprise.
    @Field(key: "kind") var kind: String
    @Field(key: "display_name") var displayName: String
    /// Real name, ID number and the enterprise's licence number, sealed at rest.
    @Field(key: "identity_cipher") var identityCipher: String
    /// The answers to the application form, as JSON.
    @Field(key: "application_json") var applicationJSON: String
    /// Image keys of uploaded documents (a business licence …), comma-separated.
    @Field(key: "documents") var documents: String
    @OptionalField(key: "grade_id") var gradeID: UUID?
    /// The distributor this one was bound to when it joined: its level-2 upline.
    @OptionalField(key: "parent_id") var parentID: UUID?
    @Field(key: "agreement_version") var agreementVersion: String
    @OptionalField(key: "agreement_signed_at") var agreementSignedAt: Date?
    /// How it was admitted: application, automatic, spend_threshold, …, operator.
    @Field(key: "admitted_by") var admittedBy: String
    @Field(key: "review_note") var reviewNote: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "approved_at") var approvedAt: Date?
    @Field(key: "updated_at") var updatedAt: Date
    /// The checklist items the reviewer ticked when approving, as a JSON array.
    @OptionalField(key: "review_checklist") var reviewChecklist: String?
    /// An uploaded picture (image key) shown on the homepage and, when PNG or JPEG, on posters.
    @OptionalField(key: "avatar") var avatar: String?

    init() {}

    var documentKeys: [String] { documents.split(separator: ",").map(String.init) }
    var checkedItems: [String] { reviewChecklist.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [] }
}

/// A member opened the page of a store that recruits distributors (its QR code): the
/// store_qr admission mode asks for one.
final class DistributionStoreScan: Model, @unchecked Sendable {
    static let schema = "distribution_store_scans"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "store_id") var storeID: UUID
    @Field(key: "scanned_at") var scannedAt: Date

    init() {}
}

/// Store QR codes (a store's staff distributor and recruiting), avatars and the reviewer's checklist.
struct ExtendDistribution: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Distributor.schema).field("review_checklist", .string).update()
        try await db.schema(Distributor.schema).field("avatar", .string).update()
        try await db.schema(Store.schema).field("staff_distributor_id", .uuid).update()
        try await db.schema(Store.schema).field("recruits_distributors", .bool).update()
        try await db.schema(DistributionStoreScan.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("store_id", .uuid, .required, .references(Store.schema, .id))
            .field("scanned_at", .datetime, .required)
            .unique(on: "member_id", "store_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(DistributionStoreScan.schema).delete()
        try await db.schema(Store.schema).deleteField("recruits_distributors").update()
        try await db.schema(Store.schema).deleteField("staff_distributor_id").update()
        try await db.schema(Distributor.schema).deleteField("avatar").update()
        try await db.schema(Distributor.schema).deleteField("review_checklist").update()
    }
}

enum DistributorRecordStatus: String, Codable, Sendable, CaseIterable {
    case applied, active, frozen, removed, rejected

    /// The engine's view: only these statuses sit in the network.
    var engineStatus: DistributorStatus? {
        switch self {
        case .active: .active
        case .frozen: .frozen
        case .removed: .removed
        case .applied, .rejected: nil
        }
    }

    func name(_ locale: MallLocale) -> String {
        switch self {
        case .applied: locale == .zhHans ? "待审核" : "applied"
        case .active: locale == .zhHans ? "正常" : "active"
        case .frozen: locale == .zhHans ? "已冻结" : "frozen"
        case .removed: locale == .zhHans ? "已清退" : "removed"
        case .rejected: locale == .zhHans ? "未通过" : "rejected"
        }
    }
}

/// 普通 / 高级 / 金牌: the definition is MallCore's `DistributorGrade`, stored as JSON.
final class DistributorGradeRecord: Model, @unchecked Sendable {
    static let schema = "distributor_grades"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "rank") var rank: Int
    @Field(key: "definition_json") var definitionJSON: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// One commission rule (MallCore `CommissionRule`) for one scope; `scope_key` is unique.
final class CommissionRuleRecord: Model, @unchecked Sendable {
    static let schema = "commission_rules"

    @ID(key: .id) var id: UUID?
    /// "global", "grade:<id>", "category:<id>", "product:<id>", "sku:<id>".
    @Field(key: "scope_key") var scopeKey: String
    /// The shop that set a product or SKU rule; nil for the operator's rules.
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    @Field(key: "rule_json") var ruleJSON: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// The operator's distribution settings as one JSON document (`DistributionConfig`).
final class DistributionSettingsRecord: Model, @unchecked Sendable {
    static let schema = "distribution_settings"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "config_json") var configJSON: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// A buyer's current binding (锁客); the id is the buyer's member id.
final class CustomerBinding: Model, @unchecked Sendable {
    static let schema = "customer_bindings"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "distributor_id") var distributorID: UUID
    @Field(key: "since") var since: Date
    @OptionalField(key: "expires_at") var expiresAt: Date?
    /// visit, registration, first_paid_order or operator.
    @Field(key: "trigger") var trigger: String

    init() {}

    var record: BindingRecord { BindingRecord(distributorID: distributorID, since: since, expiresAt: expiresAt) }
}

/// Every change of a buyer's binding, with who or what made it.
final class BindingHistoryEntry: Model, @unchecked Sendable {
    static let schema = "binding_history"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @OptionalField(key: "from_distributor_id") var fromDistributorID: UUID?
    @Field(key: "to_distributor_id") var toDistributorID: UUID
    /// bind, expired, latest_link, operator.
    @Field(key: "reason") var reason: String
    @Field(key: "trigger") var trigger: String
    @Field(key: "note") var note: String
    @Field(key: "at") var at: Date

    init() {}
}

/// The last distributor link a member followed, read when a later moment (registration, the
/// first paid order) is the binding trigger. The id is the member's id.
final class DistributionTouch: Model, @unchecked Sendable {
    static let schema = "distribution_touches"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "distributor_id") var distributorID: UUID
    @Field(key: "at") var at: Date

    init() {}
}

/// A visit through a distributor's link, counted once per visitor per China day.
final class DistributionVisit: Model, @unchecked Sendable {
    static let schema = "distribution_visits"

    @ID(key: .id) var id: UUID?
    @Field(key: "distributor_id") var distributorID: UUID
    /// "m:<member id>" or "v:<cookie id>".
    @Field(key: "visitor_key") var visitorKey: String
    /// yyyy-MM-dd in China time.
    @Field(key: "day") var day: String
    /// shop or product.
    @Field(key: "target") var target: String
    @OptionalField(key: "product_id") var productID: UUID?
    /// link, qr or poster.
    @Field(key: "source") var source: String
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// One commission: one order line, one level, one beneficiary. `amount` is what it is worth
/// now (lowered by refunds); `original_amount` what it was at payment.
final class Commission: Model, @unchecked Sendable {
    static let schema = "commissions"

    @ID(key: .id) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "order_no") var orderNo: String
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    @Field(key: "buyer_id") var buyerID: UUID
    @Field(key: "beneficiary_id") var beneficiaryID: UUID
    @Field(key: "level") var level: Int
    /// pending, frozen, settled, voided.
    @Field(key: "state") var state: String
    @Field(key: "held") var held: Bool
    @Field(key: "amount") var amount: Int64
    @Field(key: "original_amount") var originalAmount: Int64
    /// What was clawed back after settlement.
    @Field(key: "clawed_back") var clawedBack: Int64
    @Field(key: "base") var base: Int64
    @Field(key: "rule_source") var ruleSource: String
    @Field(key: "tier") var tier: Int
    @Field(key: "cap_reduction") var capReduction: Int64
    @Field(key: "product_title") var productTitle: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "received_at") var receivedAt: Date?
    /// When the order completed (window over, nothing open): from then it may settle.
    @OptionalField(key: "settleable_at") var settleableAt: Date?
    @OptionalField(key: "settled_at") var settledAt: Date?
    @OptionalField(key: "batch_id") var batchID: UUID?
    @Field(key: "hold_reason") var holdReason: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    var status: CommissionStatus {
        CommissionStatus(state: CommissionState(rawValue: state) ?? .voided, held: held)
    }
}

/// The payment-time calculation of one line, kept so refunds are recomputed under the rules in
/// force then and so the order can explain its commission. The id is the order line's id.
final class CommissionLineSnapshot: Model, @unchecked Sendable {
    static let schema = "commission_lines"

    @ID(custom: .id, generatedBy: .user) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "snapshot_json") var snapshotJSON: String
    @Field(key: "created_at") var createdAt: Date

    init() {}

    func result() throws -> CommissionLineResult {
        try JSONDecoder().decode(CommissionLineResult.self, from: Data(snapshotJSON.utf8))
    }
}

/// A settlement batch (结算批次) of one shop for one period, settled at once or after approval.
final class CommissionBatch: Model, @unchecked Sendable {
    static let schema = "commission_batches"

    @ID(key: .id) var id: UUID?
    @Field(key: "merchant_id") var merchantID: UUID
    /// e.g. "2026-11-26", "2026-W48", "2026-11".
    @Field(key: "period") var period: String
    /// awaiting_approval or settled.
    @Field(key: "state") var state: String
    @Field(key: "commission_count") var commissionCount: Int
    @Field(key: "total") var total: Int64
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "settled_at") var settledAt: Date?
    @Field(key: "approved_by") var approvedBy: String

    init() {}
}

/// A withdrawal (提现): frozen at request, then paid or returned.
final class Withdrawal: Model, @unchecked Sendable {
    static let schema = "withdrawals"

    @ID(key: .id) var id: UUID?
    @Field(key: "withdrawal_no") var withdrawalNo: String
    @Field(key: "distributor_id") var distributorID: UUID
    @Field(key: "amount") var amount: Int64
    @Field(key: "fee") var fee: Int64
    @Field(key: "net") var net: Int64
    @Field(key: "channel") var channel: String
    @Field(key: "state") var state: String
    /// Payee name, ID number, card or account, sealed at rest; empty for the mall balance.
    @Field(key: "account_cipher") var accountCipher: String
    /// The last four characters of the account, for display.
    @Field(key: "account_hint") var accountHint: String
    @Field(key: "reason") var reason: String
    /// The transfer's number at WeChat (out_bill_no) or Alipay (out_biz_no).
    @Field(key: "out_bill_no") var outBillNo: String
    @Field(key: "proof_image") var proofImage: String
    @Field(key: "idempotency_key") var idempotencyKey: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @OptionalField(key: "paid_at") var paidAt: Date?
    @Field(key: "updated_at") var updatedAt: Date
    /// The provider's last word on a transfer (WeChat's bill state, Alipay's status); empty before.
    @Field(key: "provider_state") var providerState: String
    /// The provider's own number for the transfer (WeChat's transfer_bill_no, Alipay's order_id).
    @Field(key: "provider_bill_no") var providerBillNo: String
    /// WeChat's package_info while the payee has still to confirm (WAIT_USER_CONFIRM).
    @Field(key: "package_info") var packageInfo: String
    /// When the provider was last asked, so that the query job paces itself.
    @OptionalField(key: "transfer_checked_at") var transferCheckedAt: Date?

    init() {}
}

/// The provider's side of a withdrawal paid by WeChat merchant transfer or Alipay transfer.
struct AddWithdrawalTransfers: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Withdrawal.schema).field("provider_state", .string, .required, .sql(.default(""))).update()
        try await db.schema(Withdrawal.schema).field("provider_bill_no", .string, .required, .sql(.default(""))).update()
        try await db.schema(Withdrawal.schema).field("package_info", .string, .required, .sql(.default(""))).update()
        try await db.schema(Withdrawal.schema).field("transfer_checked_at", .datetime).update()
        try await createIndex("withdrawals_out_bill_no", on: Withdrawal.schema, columns: ["out_bill_no"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await sqlDatabase(db).drop(index: "withdrawals_out_bill_no").run()
        for field in ["transfer_checked_at", "package_info", "provider_bill_no", "provider_state"] {
            try await db.schema(Withdrawal.schema).deleteField(.string(field)).update()
        }
    }
}

struct CreateDistribution: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Distributor.schema)
            .field("id", .uuid, .identifier(auto: false), .references(Member.schema, .id))
            .field("code", .string, .required)
            .field("status", .string, .required)
            .field("kind", .string, .required)
            .field("display_name", .string, .required)
            .field("identity_cipher", .string, .required)
            .field("application_json", .string, .required)
            .field("documents", .string, .required)
            .field("grade_id", .uuid)
            .field("parent_id", .uuid)
            .field("agreement_version", .string, .required)
            .field("agreement_signed_at", .datetime)
            .field("admitted_by", .string, .required)
            .field("review_note", .string, .required)
            .field("created_at", .datetime, .required)
            .field("approved_at", .datetime)
            .field("updated_at", .datetime, .required)
            .unique(on: "code")
            .create()
        try await createIndex("distributors_parent", on: Distributor.schema, columns: ["parent_id"], db: db)
        try await createIndex("distributors_status", on: Distributor.schema, columns: ["status", "created_at"], db: db)

        try await db.schema(DistributorGradeRecord.schema)
            .field("id", .uuid, .identifier(auto: false))
            .field("name", .string, .required)
            .field("rank", .int, .required)
            .field("definition_json", .string, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "rank")
            .create()

        try await db.schema(CommissionRuleRecord.schema)
            .id()
            .field("scope_key", .string, .required)
            .field("merchant_id", .uuid)
            .field("rule_json", .string, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "scope_key")
            .create()

        try await db.schema(DistributionSettingsRecord.schema)
            .id()
            .field("name", .string, .required)
            .field("config_json", .string, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "name")
            .create()

        try await db.schema(CustomerBinding.schema)
            .field("id", .uuid, .identifier(auto: false), .references(Member.schema, .id))
            .field("distributor_id", .uuid, .required)
            .field("since", .datetime, .required)
            .field("expires_at", .datetime)
            .field("trigger", .string, .required)
            .create()
        try await createIndex("customer_bindings_distributor", on: CustomerBinding.schema, columns: ["distributor_id"], db: db)

        try await db.schema(BindingHistoryEntry.schema)
            .id()
            .field("member_id", .uuid, .required)
            .field("from_distributor_id", .uuid)
            .field("to_distributor_id", .uuid, .required)
            .field("reason", .string, .required)
            .field("trigger", .string, .required)
            .field("note", .string, .required)
            .field("at", .datetime, .required)
            .create()
        try await createIndex("binding_history_member", on: BindingHistoryEntry.schema, columns: ["member_id", "at"], db: db)

        try await db.schema(DistributionTouch.schema)
            .field("id", .uuid, .identifier(auto: false))
            .field("distributor_id", .uuid, .required)
            .field("at", .datetime, .required)
            .create()

        try await db.schema(DistributionVisit.schema)
            .id()
            .field("distributor_id", .uuid, .required)
            .field("visitor_key", .string, .required)
            .field("day", .string, .required)
            .field("target", .string, .required)
            .field("product_id", .uuid)
            .field("source", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "distributor_id", "visitor_key", "day")
            .create()

        try await db.schema(Commission.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_no", .string, .required)
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("merchant_id", .uuid, .required)
            .field("buyer_id", .uuid, .required)
            .field("beneficiary_id", .uuid, .required)
            .field("level", .int, .required)
            .field("state", .string, .required)
            .field("held", .bool, .required)
            .field("amount", .int64, .required)
            .field("original_amount", .int64, .required)
            .field("clawed_back", .int64, .required)
            .field("base", .int64, .required)
            .field("rule_source", .string, .required)
            .field("tier", .int, .required)
            .field("cap_reduction", .int64, .required)
            .field("product_title", .string, .required)
            .field("created_at", .datetime, .required)
            .field("received_at", .datetime)
            .field("settleable_at", .datetime)
            .field("settled_at", .datetime)
            .field("batch_id", .uuid)
            .field("hold_reason", .string, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "order_line_id", "level")
            .create()
        try await createIndex("commissions_order", on: Commission.schema, columns: ["order_id"], db: db)
        try await createIndex("commissions_beneficiary", on: Commission.schema, columns: ["beneficiary_id", "created_at"], db: db)
        try await createIndex("commissions_settle", on: Commission.schema, columns: ["state", "settleable_at"], db: db)

        try await db.schema(CommissionLineSnapshot.schema)
            .field("id", .uuid, .identifier(auto: false))
            .field("order_id", .uuid, .required)
            .field("snapshot_json", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await createIndex("commission_lines_order", on: CommissionLineSnapshot.schema, columns: ["order_id"], db: db)

        try await db.schema(CommissionBatch.schema)
            .id()
            .field("merchant_id", .uuid, .required)
            .field("period", .string, .required)
            .field("state", .string, .required)
            .field("commission_count", .int, .required)
            .field("total", .int64, .required)
            .field("created_at", .datetime, .required)
            .field("settled_at", .datetime)
            .field("approved_by", .string, .required)
            .unique(on: "merchant_id", "period")
            .create()

        try await db.schema(Withdrawal.schema)
            .id()
            .field("withdrawal_no", .string, .required)
            .field("distributor_id", .uuid, .required)
            .field("amount", .int64, .required)
            .field("fee", .int64, .required)
            .field("net", .int64, .required)
            .field("channel", .string, .required)
            .field("state", .string, .required)
            .field("account_cipher", .string, .required)
            .field("account_hint", .string, .required)
            .field("reason", .string, .required)
            .field("out_bill_no", .string, .required)
            .field("proof_image", .string, .required)
            .field("idempotency_key", .string, .required)
            .field("created_at", .datetime, .required)
            .field("decided_at", .datetime)
            .field("paid_at", .datetime)
            .field("updated_at", .datetime, .required)
            .unique(on: "withdrawal_no")
            .unique(on: "distributor_id", "idempotency_key")
            .create()
        try await createIndex("withdrawals_state", on: Withdrawal.schema, columns: ["state", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        for schema in [Withdrawal.schema, CommissionBatch.schema, CommissionLineSnapshot.schema, Commission.schema,
                       DistributionVisit.schema, DistributionTouch.schema, BindingHistoryEntry.schema, CustomerBinding.schema,
                       DistributionSettingsRecord.schema, CommissionRuleRecord.schema, DistributorGradeRecord.schema, Distributor.schema] {
            try await db.schema(schema).delete()
        }
    }
}
