import Foundation

public enum LedgerSide: String, Codable, Sendable, CaseIterable {
    case debit
    case credit
}

public enum LedgerOwnerKind: String, Codable, Sendable {
    case platform
    case merchant
    case member
}

/// Who an account belongs to. The platform has one account per purpose.
public enum LedgerOwner: Hashable, Sendable {
    case platform
    case merchant(UUID)
    case member(UUID)

    public var kind: LedgerOwnerKind {
        switch self {
        case .platform: .platform
        case .merchant: .merchant
        case .member: .member
        }
    }

    /// Stored owner id: "platform" or the owner's UUID.
    public var ownerID: String {
        switch self {
        case .platform: "platform"
        case .merchant(let id), .member(let id): id.uuidString.lowercased()
        }
    }

    public init?(kind: LedgerOwnerKind, ownerID: String) {
        switch kind {
        case .platform:
            guard ownerID == "platform" else { return nil }
            self = .platform
        case .merchant:
            guard let id = UUID(uuidString: ownerID) else { return nil }
            self = .merchant(id)
        case .member:
            guard let id = UUID(uuidString: ownerID) else { return nil }
            self = .member(id)
        }
    }
}

/// What an account is for; this decides its owner kind, its normal side and whether it may go below zero.
public enum LedgerAccountPurpose: String, Codable, Sendable, CaseIterable {
    /// Money held by payment providers for the platform, not yet settled to its bank.
    case paymentClearing = "payment_clearing"
    case platformCash = "platform_cash"
    case feeRevenue = "fee_revenue"
    /// Paid out to members or distributors, on its way through a payout channel.
    case withdrawalsInTransit = "withdrawals_in_transit"
    /// What the platform owes a merchant for its sales.
    case merchantReceivable = "merchant_receivable"
    /// Paid for a merchant's orders that are not finished yet: refunds come out of here first.
    case merchantPending = "merchant_pending"
    /// Money that arrived for a payment nothing waits for any more, on its way back to the payer.
    case paymentsToReturn = "payments_to_return"
    case memberBalance = "member_balance"
    case commissionPending = "commission_pending"
    case commissionFrozen = "commission_frozen"
    case commissionAvailable = "commission_available"
    /// What a distributor owes back after a refund of settled commission.
    case commissionDebt = "commission_debt"
    /// What the platform spent on its own coupons: the part of a shop's sale the buyer did not
    /// pay because of a platform coupon, paid to the shop by the platform.
    case marketingCost = "marketing_cost"

    public var ownerKind: LedgerOwnerKind {
        switch self {
        case .paymentClearing, .platformCash, .feeRevenue, .withdrawalsInTransit, .paymentsToReturn, .marketingCost: .platform
        case .merchantReceivable, .merchantPending: .merchant
        case .memberBalance, .commissionPending, .commissionFrozen, .commissionAvailable, .commissionDebt: .member
        }
    }

    /// Assets grow with debits; what the platform owes and earns grows with credits.
    public var normalSide: LedgerSide {
        switch self {
        case .paymentClearing, .platformCash, .commissionDebt, .marketingCost: .debit
        default: .credit
        }
    }

    /// A provider may net refunds against later settlements, so clearing can dip below zero;
    /// nothing owed to a person ever can.
    public var mayGoNegative: Bool { self == .paymentClearing }
}

public struct LedgerAccountKey: Hashable, Sendable, CustomStringConvertible {
    public let purpose: LedgerAccountPurpose
    public let owner: LedgerOwner

    public init(_ purpose: LedgerAccountPurpose, _ owner: LedgerOwner) throws(LedgerError) {
        guard purpose.ownerKind == owner.kind else { throw .wrongOwner(purpose: purpose) }
        self.purpose = purpose
        self.owner = owner
    }

    public static func platform(_ purpose: LedgerAccountPurpose) -> LedgerAccountKey {
        // Safe by construction: only platform purposes are passed here by callers.
        LedgerAccountKey(unchecked: purpose, .platform)
    }

    init(unchecked purpose: LedgerAccountPurpose, _ owner: LedgerOwner) {
        self.purpose = purpose
        self.owner = owner
    }

    public var description: String { "\(purpose.rawValue)@\(owner.kind.rawValue):\(owner.ownerID)" }
}

public struct LedgerEntry: Hashable, Sendable {
    public let account: LedgerAccountKey
    public let side: LedgerSide
    public let amount: Money

    public init(_ side: LedgerSide, _ account: LedgerAccountKey, _ amount: Money) {
        self.account = account
        self.side = side
        self.amount = amount
    }

    public static func debit(_ account: LedgerAccountKey, _ amount: Money) -> LedgerEntry { .init(.debit, account, amount) }
    public static func credit(_ account: LedgerAccountKey, _ amount: Money) -> LedgerEntry { .init(.credit, account, amount) }

    /// How this entry moves its account's balance, signed in the account's normal direction.
    /// Only an amount of Int64.min against the normal side has no such number.
    public var balanceDelta: Int64 {
        get throws(LedgerError) {
            if side == account.purpose.normalSide { return amount.fen }
            let (negated, overflow) = Int64(0).subtractingReportingOverflow(amount.fen)
            if overflow { throw .overflow }
            return negated
        }
    }
}

/// A transaction as a caller proposes it; `validated()` refuses anything that does not balance.
public struct LedgerTransactionDraft: Sendable {
    public let idempotencyKey: String
    public let kind: String
    public let memo: String
    public let entries: [LedgerEntry]

    public init(idempotencyKey: String, kind: String, memo: String = "", entries: [LedgerEntry]) {
        self.idempotencyKey = idempotencyKey
        self.kind = kind
        self.memo = memo
        self.entries = entries
    }

    public static let maxKeyLength = 200

    public func validated() throws(LedgerError) -> LedgerTransactionDraft {
        let key = idempotencyKey.trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.count <= Self.maxKeyLength, key == idempotencyKey else { throw .invalidIdempotencyKey }
        guard entries.count >= 2 else { throw .tooFewEntries }
        var debits: Int64 = 0
        var credits: Int64 = 0
        for entry in entries {
            guard entry.amount.fen > 0 else { throw .nonPositiveAmount }
            let (sum, overflow): (Int64, Bool)
            if entry.side == .debit {
                (sum, overflow) = debits.addingReportingOverflow(entry.amount.fen)
                debits = sum
            } else {
                (sum, overflow) = credits.addingReportingOverflow(entry.amount.fen)
                credits = sum
            }
            guard !overflow else { throw .overflow }
        }
        guard debits == credits else { throw .unbalanced(debits: Money(fen: debits), credits: Money(fen: credits)) }
        return self
    }

    /// The net change per account, in each account's normal direction. A validated draft always
    /// has one; an unvalidated one may not fit in Int64 and is refused with `.overflow`.
    public var balanceDeltas: [LedgerAccountKey: Int64] {
        get throws(LedgerError) {
            var deltas: [LedgerAccountKey: Int64] = [:]
            for entry in entries {
                let (sum, overflow) = deltas[entry.account, default: 0].addingReportingOverflow(try entry.balanceDelta)
                if overflow { throw .overflow }
                deltas[entry.account] = sum
            }
            return deltas
        }
    }
}

extension LedgerTransactionDraft {
    /// What the transaction does, as bytes to hash: its kind and its entries (purpose, owner kind,
    /// owner id, side, amount in fen), without the memo or the idempotency key.
    ///
    /// Entries are sorted, so their order does not matter; every field is length-prefixed or of
    /// fixed width, so two drafts share these bytes only if they have the same kind and the same
    /// entries. Text is taken as its UTF-8 bytes, as stored, without Unicode normalisation.
    public var canonicalBytes: [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.append("fission.ledger.draft.v1")
        encoder.append(kind)
        let sorted = entries.map { entry in
            var e = CanonicalEncoder()
            e.append(entry.account.purpose.rawValue)
            e.append(entry.account.owner.kind.rawValue)
            e.append(entry.account.owner.ownerID)
            e.append(entry.side.rawValue)
            e.append(entry.amount.fen)
            return e.bytes
        }.sorted { $0.lexicographicallyPrecedes($1) }
        encoder.append(UInt64(sorted.count))
        for entry in sorted { encoder.bytes += entry }
        return encoder.bytes
    }
}

public enum LedgerError: Error, Equatable, Sendable {
    case invalidIdempotencyKey
    case tooFewEntries
    case nonPositiveAmount
    case unbalanced(debits: Money, credits: Money)
    case overflow
    case wrongOwner(purpose: LedgerAccountPurpose)
    case insufficientFunds(account: String)
    /// The idempotency key was already used for a different transaction (other amounts, accounts or kind).
    case idempotencyKeyReused
}

/// Pure checks behind `fission verify-ledger`: every transaction balances and every cached
/// balance equals the one derived from postings.
public enum LedgerVerification {
    public struct TransactionTotals: Sendable {
        public let transactionID: String
        public let debits: Int64
        public let credits: Int64
        public init(transactionID: String, debits: Int64, credits: Int64) {
            self.transactionID = transactionID
            self.debits = debits
            self.credits = credits
        }
    }

    public struct AccountBalances: Sendable {
        public let accountID: String
        public let label: String
        public let purpose: LedgerAccountPurpose
        public let cached: Int64
        public let debits: Int64
        public let credits: Int64
        public init(accountID: String, label: String, purpose: LedgerAccountPurpose, cached: Int64, debits: Int64, credits: Int64) {
            self.accountID = accountID
            self.label = label
            self.purpose = purpose
            self.cached = cached
            self.debits = debits
            self.credits = credits
        }
        /// The balance the postings give; nil when the totals are so far apart (only possible if
        /// they are corrupt, since amounts are positive) that the difference leaves Int64.
        public var derived: Int64? {
            let (balance, overflow) = purpose.normalSide == .debit
                ? debits.subtractingReportingOverflow(credits)
                : credits.subtractingReportingOverflow(debits)
            return overflow ? nil : balance
        }
    }

    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        case unbalancedTransaction(id: String, debits: Int64, credits: Int64)
        case balanceMismatch(account: String, cached: Int64, derived: Int64)
        case negativeBalance(account: String, balance: Int64)
        case postingTotalsOutOfRange(account: String, debits: Int64, credits: Int64)
        /// The transaction's stored hash is not the hash of its link: it, or one before it, was changed,
        /// removed or reordered after it was posted.
        case brokenChain(transactionID: String)
        /// The chain head does not name the last transaction: transactions at the end were removed.
        case chainHeadMismatch(headSequence: Int64, lastSequence: Int64)

        public var description: String {
            switch self {
            case let .unbalancedTransaction(id, debits, credits):
                "transaction \(id) does not balance: debits \(Money(fen: debits)) ≠ credits \(Money(fen: credits))"
            case let .balanceMismatch(account, cached, derived):
                "account \(account): stored balance \(Money(fen: cached)) ≠ postings \(Money(fen: derived))"
            case let .negativeBalance(account, balance):
                "account \(account) is below zero: \(Money(fen: balance))"
            case let .postingTotalsOutOfRange(account, debits, credits):
                "account \(account): postings total debits \(Money(fen: debits)) and credits \(Money(fen: credits)), too far apart for a balance"
            case let .brokenChain(transactionID):
                "hash chain broken at transaction \(transactionID): its stored hash does not match its postings and the hash before it"
            case let .chainHeadMismatch(headSequence, lastSequence):
                "hash chain head is at transaction number \(headSequence) but the last transaction is number \(lastSequence)"
            }
        }
    }

    /// Everything found wrong; `chainBreak` is what `LedgerChain.firstBreak` found, if the caller checked the chain.
    public static func problems(transactions: [TransactionTotals], accounts: [AccountBalances], chainBreak: LedgerChain.Break? = nil) -> [Problem] {
        var found: [Problem] = []
        for t in transactions where t.debits != t.credits || t.debits == 0 {
            found.append(.unbalancedTransaction(id: t.transactionID, debits: t.debits, credits: t.credits))
        }
        for a in accounts {
            guard let derived = a.derived else {
                found.append(.postingTotalsOutOfRange(account: a.label, debits: a.debits, credits: a.credits))
                continue
            }
            if a.cached != derived {
                found.append(.balanceMismatch(account: a.label, cached: a.cached, derived: derived))
            }
            if derived < 0 && !a.purpose.mayGoNegative {
                found.append(.negativeBalance(account: a.label, balance: derived))
            }
        }
        if let chainBreak { found.append(.brokenChain(transactionID: chainBreak.transactionID)) }
        return found
    }
}

/// Posted transactions linked by hashes: each one's hash covers the hash before it, so changing,
/// removing or reordering any posted transaction breaks every link from there on. MallCore only
/// lays out the bytes; the hash function (SHA-256 in the App) is passed in.
public enum LedgerChain {
    public typealias Posting = (accountID: String, side: LedgerSide, amount: Int64)

    /// The bytes whose hash is a posted transaction's hash. `previousHash` is the hash of the
    /// transaction before it, empty for the first. Postings are sorted, so their order does not
    /// matter; every field is length-prefixed or of fixed width, so different links never share bytes.
    public static func link(
        previousHash: [UInt8], transactionID: String, idempotencyKey: String, kind: String,
        createdAtMicros: Int64, postings: [Posting]
    ) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.append("fission.ledger.chain.v1")
        encoder.append(previousHash)
        encoder.append(transactionID)
        encoder.append(idempotencyKey)
        encoder.append(kind)
        encoder.append(createdAtMicros)
        let sorted = postings.map { posting in
            var e = CanonicalEncoder()
            e.append(posting.accountID)
            e.append(posting.side.rawValue)
            e.append(posting.amount)
            return e.bytes
        }.sorted { $0.lexicographicallyPrecedes($1) }
        encoder.append(UInt64(sorted.count))
        for posting in sorted { encoder.bytes += posting }
        return encoder.bytes
    }

    /// A posted transaction as stored, with the hash stored for it.
    public struct Row: Sendable {
        public let transactionID: String
        public let idempotencyKey: String
        public let kind: String
        public let createdAtMicros: Int64
        public let postings: [Posting]
        public let hash: [UInt8]

        public init(transactionID: String, idempotencyKey: String, kind: String, createdAtMicros: Int64, postings: [Posting], hash: [UInt8]) {
            self.transactionID = transactionID
            self.idempotencyKey = idempotencyKey
            self.kind = kind
            self.createdAtMicros = createdAtMicros
            self.postings = postings
            self.hash = hash
        }

        public func link(previousHash: [UInt8]) -> [UInt8] {
            LedgerChain.link(previousHash: previousHash, transactionID: transactionID, idempotencyKey: idempotencyKey,
                             kind: kind, createdAtMicros: createdAtMicros, postings: postings)
        }
    }

    public struct Break: Equatable, Sendable {
        /// Position in the rows given.
        public let index: Int
        public let transactionID: String

        public init(index: Int, transactionID: String) {
            self.index = index
            self.transactionID = transactionID
        }
    }

    /// The first row, in chain order, whose stored hash is not `hash` of its link; nil when every link holds.
    /// `previousHash` is the stored hash of the row before the first one given (empty from the start),
    /// so a long chain can be checked in pieces.
    public static func firstBreak(in rows: [Row], after previousHash: [UInt8] = [], hash: ([UInt8]) -> [UInt8]) -> Break? {
        var previous = previousHash
        for (index, row) in rows.enumerated() {
            guard hash(row.link(previousHash: previous)) == row.hash else {
                return Break(index: index, transactionID: row.transactionID)
            }
            previous = row.hash
        }
        return nil
    }
}

/// Bytes that can be read back only one way: text and byte strings carry their length, numbers are
/// eight bytes big-endian.
struct CanonicalEncoder {
    var bytes: [UInt8] = []

    mutating func append(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func append(_ value: Int64) { append(UInt64(bitPattern: value)) }

    mutating func append(_ data: [UInt8]) {
        append(UInt64(data.count))
        bytes += data
    }

    mutating func append(_ text: String) { append(Array(text.utf8)) }
}
