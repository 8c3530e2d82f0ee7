import PropertyBased
import Testing
@testable import MallCore

/// FNV-1a four times over with different starting points: 32 bytes, deterministic, nothing like
/// SHA-256 in strength but enough to see that the bytes changed.
func toyHash(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    for lane in UInt64(0)..<4 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ (lane &* 0x9E37_79B9_7F4A_7C15)
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: h >> UInt64(shift))) }
    }
    return out
}

@Suite struct LedgerChainTests {
    typealias Posting = LedgerChain.Posting

    static func transactions() -> [(id: String, key: String, kind: String, micros: Int64, postings: [Posting])] {
        [
            ("t1", "topup:1", "member_topup", 1_800_000_000_000_000, [("clearing", .debit, 5_000), ("member:a", .credit, 5_000)]),
            ("t2", "order:1", "order_paid", 1_800_000_000_000_001, [("member:a", .debit, 2_990), ("merchant:m", .credit, 2_990)]),
            ("t3", "commission:1:1", "commission_accrue", 1_800_000_000_000_001, [("fees", .debit, 120), ("pending:b", .credit, 120)]),
            ("t4", "withdraw:1", "withdrawal_freeze", 1_800_000_000_500_000, [("available:b", .debit, 100), ("frozen:b", .credit, 100)]),
        ]
    }

    /// Rows as the App would store them, each hashed over the one before.
    static func chain(_ items: [(id: String, key: String, kind: String, micros: Int64, postings: [Posting])] = transactions()) -> [LedgerChain.Row] {
        var previous: [UInt8] = []
        return items.map { t in
            let hash = toyHash(LedgerChain.link(previousHash: previous, transactionID: t.id, idempotencyKey: t.key,
                                                kind: t.kind, createdAtMicros: t.micros, postings: t.postings))
            previous = hash
            return LedgerChain.Row(transactionID: t.id, idempotencyKey: t.key, kind: t.kind, createdAtMicros: t.micros, postings: t.postings, hash: hash)
        }
    }

    static func replacing(_ row: LedgerChain.Row, postings: [Posting]? = nil, kind: String? = nil, micros: Int64? = nil, hash: [UInt8]? = nil) -> LedgerChain.Row {
        LedgerChain.Row(transactionID: row.transactionID, idempotencyKey: row.idempotencyKey, kind: kind ?? row.kind,
                        createdAtMicros: micros ?? row.createdAtMicros, postings: postings ?? row.postings, hash: hash ?? row.hash)
    }

    @Test func anIntactChainHolds() {
        #expect(LedgerChain.firstBreak(in: Self.chain(), hash: toyHash) == nil)
        #expect(LedgerChain.firstBreak(in: [], hash: toyHash) == nil)
    }

    @Test func postingOrderDoesNotMatter() {
        var rows = Self.chain()
        rows[1] = Self.replacing(rows[1], postings: rows[1].postings.reversed())
        #expect(LedgerChain.firstBreak(in: rows, hash: toyHash) == nil)
    }

    @Test func aChangedAmountBreaksTheChainAtThatTransaction() {
        var rows = Self.chain()
        rows[2] = Self.replacing(rows[2], postings: [("fees", .debit, 1_200), ("pending:b", .credit, 1_200)])
        #expect(LedgerChain.firstBreak(in: rows, hash: toyHash) == LedgerChain.Break(index: 2, transactionID: "t3"))
    }

    @Test func reorderedRemovedOrRehashedRowsBreakTheChain() {
        let rows = Self.chain()
        var swapped = rows
        swapped.swapAt(1, 2)
        #expect(LedgerChain.firstBreak(in: swapped, hash: toyHash) == LedgerChain.Break(index: 1, transactionID: "t3"))

        var removed = rows
        removed.remove(at: 1)
        #expect(LedgerChain.firstBreak(in: removed, hash: toyHash) == LedgerChain.Break(index: 1, transactionID: "t3"))

        // A row changed and given a fresh hash of its own still breaks the link after it.
        var rehashed = rows
        let forged: [Posting] = [("member:a", .debit, 1), ("merchant:m", .credit, 1)]
        let forgedHash = toyHash(LedgerChain.link(previousHash: rows[0].hash, transactionID: "t2", idempotencyKey: "order:1",
                                                  kind: "order_paid", createdAtMicros: rows[1].createdAtMicros, postings: forged))
        rehashed[1] = Self.replacing(rows[1], postings: forged, hash: forgedHash)
        #expect(LedgerChain.firstBreak(in: rehashed, hash: toyHash) == LedgerChain.Break(index: 2, transactionID: "t3"))

        var lastHash = rows
        lastHash[3] = Self.replacing(rows[3], hash: [UInt8](repeating: 0, count: 32))
        #expect(LedgerChain.firstBreak(in: lastHash, hash: toyHash) == LedgerChain.Break(index: 3, transactionID: "t4"))

        var time = rows
        time[0] = Self.replacing(rows[0], micros: rows[0].createdAtMicros + 1)
        #expect(LedgerChain.firstBreak(in: time, hash: toyHash) == LedgerChain.Break(index: 0, transactionID: "t1"))
    }

    @Test func aChainCanBeCheckedInPieces() {
        let rows = Self.chain()
        #expect(LedgerChain.firstBreak(in: Array(rows[2...]), after: rows[1].hash, hash: toyHash) == nil)
        #expect(LedgerChain.firstBreak(in: Array(rows[2...]), hash: toyHash) == LedgerChain.Break(index: 0, transactionID: "t3"))
    }

    @Test func linkFieldsCannotBleedIntoEachOther() {
        let postings: [Posting] = [("a", .debit, 1), ("b", .credit, 1)]
        func link(_ previous: [UInt8], _ id: String, _ key: String, _ kind: String, _ postings: [Posting]) -> [UInt8] {
            LedgerChain.link(previousHash: previous, transactionID: id, idempotencyKey: key, kind: kind, createdAtMicros: 0, postings: postings)
        }
        #expect(link([], "a", "bc", "k", postings) != link([], "ab", "c", "k", postings))
        #expect(link([], "t", "k", "x", postings) != link([0], "t", "k", "x", postings))
        #expect(link([], "t", "k", "x", [("ab", .debit, 1)]) != link([], "t", "k", "x", [("a", .debit, 1)]))
        #expect(link([], "t", "k", "x", postings) == link([], "t", "k", "x", postings.reversed()))
        #expect(link([], "t", "k", "x", postings) != link([], "t", "k", "x", postings + [("a", .debit, 1)]))
    }

    @Test func anyTamperingIsFoundAtTheRowTampered() async {
        let base = Self.chain()
        await propertyCheck(count: 300, input: Gen.int(in: 0...3), Gen.int(in: 0...4), Gen.int64()) { index, field, value in
            var rows = base
            let row = rows[index]
            let original = row.postings[0]
            switch field {
            case 0: rows[index] = Self.replacing(row, postings: [(original.accountID, original.side, original.amount == value ? value &+ 1 : value)] + row.postings.dropFirst())
            case 1: rows[index] = Self.replacing(row, postings: [(original.accountID + "x", original.side, original.amount)] + row.postings.dropFirst())
            case 2: rows[index] = Self.replacing(row, postings: [(original.accountID, .credit, original.amount)] + row.postings.dropFirst())
            case 3: rows[index] = Self.replacing(row, micros: row.createdAtMicros == value ? value &+ 1 : value)
            default: rows[index] = Self.replacing(row, kind: row.kind + "x")
            }
            #expect(LedgerChain.firstBreak(in: rows, hash: toyHash)?.index == index, "field \(field) of row \(index)")
        }
    }

    @Test func verificationReportsABrokenChain() {
        let problems = LedgerVerification.problems(transactions: [], accounts: [],
                                                   chainBreak: LedgerChain.Break(index: 2, transactionID: "t3"))
        #expect(problems == [.brokenChain(transactionID: "t3")])
        #expect(problems[0].description.contains("t3"))
        #expect(LedgerVerification.problems(transactions: [], accounts: []).isEmpty)
    }
}
