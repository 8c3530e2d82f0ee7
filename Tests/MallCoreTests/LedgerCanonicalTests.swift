import Foundation
import PropertyBased
import Testing
@testable import MallCore

/// A small deterministic RNG so that shuffles in properties follow the generated seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct LedgerCanonicalTests {
    static let members = [UUID(), UUID(), UUID()]
    static let merchants = [UUID(), UUID()]
    static let kinds = ["", "a", "ab", "b", "member_topup", "commission_settle", "a\u{0}"]

    static func account(_ purpose: LedgerAccountPurpose, _ pick: Int) -> LedgerAccountKey {
        let owner: LedgerOwner = switch purpose.ownerKind {
        case .platform: .platform
        case .merchant: .merchant(merchants[pick % merchants.count])
        case .member: .member(members[pick % members.count])
        }
        return try! LedgerAccountKey(purpose, owner)
    }

    static let entry = Generator<LedgerEntry, Shrink.None<LedgerEntry>> { rng in
        let purpose = LedgerAccountPurpose.allCases.randomElement(using: &rng)!
        let side = LedgerSide.allCases.randomElement(using: &rng)!
        let amount = Bool.random(using: &rng) ? Int64.random(in: 1...5, using: &rng) : Int64.random(in: .min ... .max, using: &rng)
        return LedgerEntry(side, account(purpose, Int.random(in: 0..<6, using: &rng)), Money(fen: amount))
    }

    static let draft = Generator<LedgerTransactionDraft, Shrink.None<LedgerTransactionDraft>> { rng in
        let count = Int.random(in: 0...5, using: &rng)
        var entries: [LedgerEntry] = []
        for _ in 0..<count { entries.append(entry.run(using: &rng)) }
        return LedgerTransactionDraft(idempotencyKey: "k", kind: kinds.randomElement(using: &rng)!, entries: entries)
    }

    /// What should decide the bytes: the kind's UTF-8 and the entries as a multiset.
    static func meaning(_ d: LedgerTransactionDraft) -> [String] {
        ["kind:" + d.kind.utf8.map { String($0) }.joined(separator: ".")]
            + d.entries.map { "\($0.account)|\($0.side.rawValue)|\($0.amount.fen)" }.sorted()
    }

    @Test func theLayoutIsPinned() {
        // The App stores hashes of these bytes, so any change here needs a new version tag.
        let draft = LedgerTransactionDraft(idempotencyKey: "topup:1", kind: "t", memo: "left out", entries: [
            .credit(.platform(.feeRevenue), Money(fen: 258)),
            .debit(.platform(.platformCash), Money(fen: 258)),
        ])
        func string(_ s: String) -> [UInt8] { [0, 0, 0, 0, 0, 0, 0, UInt8(s.utf8.count)] + Array(s.utf8) }
        let amount: [UInt8] = [0, 0, 0, 0, 0, 0, 1, 2]
        let expected = string("fission.ledger.draft.v1") + string("t") + [0, 0, 0, 0, 0, 0, 0, 2]
            + string("fee_revenue") + string("platform") + string("platform") + string("credit") + amount
            + string("platform_cash") + string("platform") + string("platform") + string("debit") + amount
        #expect(draft.canonicalBytes == expected)
    }

    @Test func orderAndMemoDoNotMatter() async {
        await propertyCheck(count: 500, input: Self.draft, Gen.uint64()) { draft, seed in
            var rng = SplitMix(state: seed)
            let shuffled = LedgerTransactionDraft(idempotencyKey: "other", kind: draft.kind, memo: "a memo \(seed)",
                                                  entries: draft.entries.shuffled(using: &rng))
            #expect(shuffled.canonicalBytes == draft.canonicalBytes)
        }
    }

    @Test func anyChangeOfWhatMovesChangesTheBytes() async {
        await propertyCheck(count: 1_000, input: Self.draft, Gen.int(in: 0...4), Gen.uint64()) { draft, change, seed in
            guard !draft.entries.isEmpty else { return }
            var rng = SplitMix(state: seed)
            var entries = draft.entries
            let i = Int.random(in: entries.indices, using: &rng)
            let e = entries[i]
            var kind = draft.kind
            switch change {
            case 0: entries[i] = LedgerEntry(e.side, e.account, Money(fen: e.amount.fen &+ Int64.random(in: 1...(.max), using: &rng)))
            case 1: entries[i] = LedgerEntry(e.side == .debit ? .credit : .debit, e.account, e.amount)
            case 2:
                let other = LedgerAccountPurpose.allCases.filter { $0 != e.account.purpose }.randomElement(using: &rng)!
                entries[i] = LedgerEntry(e.side, Self.account(other, 0), e.amount)
            case 3:
                guard e.account.owner.kind != .platform else { return }
                let others = (0..<3).map { Self.account(e.account.purpose, $0) }.filter { $0 != e.account }
                entries[i] = LedgerEntry(e.side, others.randomElement(using: &rng)!, e.amount)
            default: kind += "x"
            }
            let changed = LedgerTransactionDraft(idempotencyKey: draft.idempotencyKey, kind: kind, memo: draft.memo, entries: entries)
            #expect(changed.canonicalBytes != draft.canonicalBytes, "change \(change) at \(i)")
        }
    }

    @Test func twoDraftsShareBytesExactlyWhenTheyMeanTheSame() async {
        // Small pools make equal pairs happen, so both directions are exercised.
        let small = Generator<LedgerTransactionDraft, Shrink.None<LedgerTransactionDraft>> { rng in
            let entries = (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                LedgerEntry(LedgerSide.allCases.randomElement(using: &rng)!,
                            [LedgerAccountKey.platform(.platformCash), .platform(.feeRevenue)].randomElement(using: &rng)!,
                            Money(fen: Int64.random(in: 1...2, using: &rng)))
            }
            return LedgerTransactionDraft(idempotencyKey: "k", kind: ["a", "b"].randomElement(using: &rng)!, entries: entries)
        }
        await propertyCheck(count: 1_000, input: small, small) { a, b in
            #expect((a.canonicalBytes == b.canonicalBytes) == (Self.meaning(a) == Self.meaning(b)))
        }
        await propertyCheck(count: 500, input: Self.draft, Self.draft) { a, b in
            #expect((a.canonicalBytes == b.canonicalBytes) == (Self.meaning(a) == Self.meaning(b)))
        }
    }

    @Test func fieldsCannotBleedIntoEachOther() {
        let cash = LedgerAccountKey.platform(.platformCash)
        let a = LedgerTransactionDraft(idempotencyKey: "k", kind: "ab", entries: [.debit(cash, Money(fen: 1))])
        let b = LedgerTransactionDraft(idempotencyKey: "k", kind: "a", entries: [.debit(cash, Money(fen: 1))])
        #expect(a.canonicalBytes != b.canonicalBytes)
        // NFC and NFD spellings compare equal as Swift strings but are different bytes in a database.
        let nfc = LedgerTransactionDraft(idempotencyKey: "k", kind: "caf\u{E9}", entries: [])
        let nfd = LedgerTransactionDraft(idempotencyKey: "k", kind: "cafe\u{301}", entries: [])
        #expect(nfc.kind == nfd.kind)
        #expect(nfc.canonicalBytes != nfd.canonicalBytes)
    }
}
