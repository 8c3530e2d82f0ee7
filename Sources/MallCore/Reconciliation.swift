import Foundation

/// A calendar day in China time (UTC+8, no daylight saving), the day providers cut their bills by.
public struct BillDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Only real days written `YYYY-MM-DD` between the years 2000 and 2999; anything else is nil.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public init?(year: Int, month: Int, day: Int) {
        guard (2000...2999).contains(year), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The China-time day `date` falls on.
    public static func containing(_ date: Date) -> BillDay? {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, seconds > -1e12, seconds < 1e12 else { return nil }
        let local = Int64(seconds) + chinaOffsetSeconds
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        return fromEpochDays(days)
    }

    /// The day before.
    public var previous: BillDay? { Self.fromEpochDays(epochDays - 1) }

    /// 00:00 China time of this day, and of the next: the half-open window of its bill.
    public var window: (start: Date, end: Date) {
        let start = epochDays * 86_400 - Self.chinaOffsetSeconds
        return (Date(timeIntervalSince1970: TimeInterval(start)), Date(timeIntervalSince1970: TimeInterval(start + 86_400)))
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// `YYYYMMDD`, as Alipay names its bill files.
    public var compact: String { String(format: "%04d%02d%02d", year, month, day) }

    public static func < (lhs: BillDay, rhs: BillDay) -> Bool { lhs.epochDays < rhs.epochDays }

    static let chinaOffsetSeconds: Int64 = 8 * 3600

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days-from-civil, in integers).
    var epochDays: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func fromEpochDays(_ days: Int64) -> BillDay? {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return BillDay(year: Int(year), month: Int(month), day: Int(day))
    }
}

/// One line of money through a provider: a payment in or a refund out.
public struct BillLine: Hashable, Sendable {
    public enum Kind: String, CaseIterable, Codable, Sendable {
        case payment, refund
    }

    public let kind: Kind
    /// Our number at the provider: the payment's out_trade_no, the refund's out_refund_no / out_request_no.
    public let ourNo: String
    /// The provider's own number for it (transaction id, refund id); may be empty.
    public let providerNo: String
    /// Always positive: a refund's amount is what went back.
    public let amount: Money
    public let at: Date?

    public init(kind: Kind, ourNo: String, providerNo: String, amount: Money, at: Date? = nil) {
        self.kind = kind
        self.ourNo = ourNo
        self.providerNo = providerNo
        self.amount = amount
        self.at = at
    }
}

/// What one side of a day holds, in counts and fen.
public struct BillTotals: Equatable, Sendable {
    public var payments = 0
    public var paymentAmount = Money.zero
    public var refunds = 0
    public var refundAmount = Money.zero

    public init() {}

    public init(_ lines: [BillLine]) throws(MoneyError) {
        for line in lines {
            switch line.kind {
            case .payment:
                payments += 1
                paymentAmount = try paymentAmount.adding(line.amount)
            case .refund:
                refunds += 1
                refundAmount = try refundAmount.adding(line.amount)
            }
        }
    }
}

public enum ReconciliationDifferenceKind: String, CaseIterable, Codable, Sendable {
    /// We booked it; the provider's bill does not have it.
    case missingAtProvider = "missing_at_provider"
    /// The provider's bill has it; our ledger does not (a lost callback, a refund made in the provider's console …).
    case extraAtProvider = "extra_at_provider"
    /// Both have it, with different amounts.
    case amountMismatch = "amount_mismatch"
}

public struct ReconciliationDifference: Hashable, Sendable {
    public let kind: ReconciliationDifferenceKind
    public let lineKind: BillLine.Kind
    public let ourNo: String
    public let providerNo: String
    public let ourAmount: Money?
    public let providerAmount: Money?

    public init(kind: ReconciliationDifferenceKind, lineKind: BillLine.Kind, ourNo: String, providerNo: String, ourAmount: Money?, providerAmount: Money?) {
        self.kind = kind
        self.lineKind = lineKind
        self.ourNo = ourNo
        self.providerNo = providerNo
        self.ourAmount = ourAmount
        self.providerAmount = providerAmount
    }

    /// What identifies the same difference on a later run of the day.
    public var key: String { "\(kind.rawValue)|\(lineKind.rawValue)|\(ourNo)" }
}

public struct ReconciliationResult: Equatable, Sendable {
    public let ours: BillTotals
    public let provider: BillTotals
    /// Numbers both sides have with the same amount.
    public let matched: Int
    /// Sorted by line kind, then our number, then kind.
    public let differences: [ReconciliationDifference]
}

/// Compares a provider's bill for a day with what our ledger booked through that provider on
/// the same day, line by line. Nothing is dropped: every number on either side ends up matched
/// or in a difference.
public enum Reconciliation {
    public static func compare(ours: [BillLine], provider: [BillLine]) throws(MoneyError) -> ReconciliationResult {
        struct Side {
            var amount = Money.zero
            var providerNos: [String] = []
        }
        struct Key: Hashable, Comparable {
            let kind: BillLine.Kind
            let no: String
            static func < (a: Key, b: Key) -> Bool { (a.kind.rawValue, a.no) < (b.kind.rawValue, b.no) }
        }
        // A number twice on one side is added up: a second line with the same number is money
        // moved twice and shows as a different amount, never as a line swallowed.
        func grouped(_ lines: [BillLine]) throws(MoneyError) -> [Key: Side] {
            var groups: [Key: Side] = [:]
            for line in lines {
                let key = Key(kind: line.kind, no: line.ourNo)
                var side = groups[key] ?? Side()
                side.amount = try side.amount.adding(line.amount)
                if !line.providerNo.isEmpty, !side.providerNos.contains(line.providerNo) { side.providerNos.append(line.providerNo) }
                groups[key] = side
            }
            return groups
        }
        let mine = try grouped(ours)
        let theirs = try grouped(provider)
        var matched = 0
        var differences: [ReconciliationDifference] = []
        for key in Set(mine.keys).union(theirs.keys).sorted() {
            let our = mine[key]
            let their = theirs[key]
            let providerNo = (their?.providerNos ?? our?.providerNos ?? []).joined(separator: ",")
            switch (our, their) {
            case let (our?, their?):
                if our.amount == their.amount {
                    matched += 1
                } else {
                    differences.append(.init(kind: .amountMismatch, lineKind: key.kind, ourNo: key.no, providerNo: providerNo,
                                             ourAmount: our.amount, providerAmount: their.amount))
                }
            case let (our?, nil):
                differences.append(.init(kind: .missingAtProvider, lineKind: key.kind, ourNo: key.no, providerNo: providerNo,
                                         ourAmount: our.amount, providerAmount: nil))
            case let (nil, their?):
                differences.append(.init(kind: .extraAtProvider, lineKind: key.kind, ourNo: key.no, providerNo: providerNo,
                                         ourAmount: nil, providerAmount: their.amount))
            case (nil, nil):
                break
            }
        }
        return ReconciliationResult(ours: try BillTotals(ours), provider: try BillTotals(provider), matched: matched, differences: differences)
    }
}
