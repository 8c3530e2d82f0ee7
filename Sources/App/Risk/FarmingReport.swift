import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// One device or client address that several members used for new-user coupons or bargain cuts.
struct FarmingClusterDTO: Content, Equatable {
    /// `device` or `ip`.
    let dimension: String
    /// The device (`h:…` from X-Device-Id, `c:…` the visitor cookie) or the address.
    let value: String
    /// Distinct members in the window.
    let members: Int64
    /// Masked phone numbers of up to `FarmingReport.phonesShown` of them.
    let maskedPhones: [String]
    let newUserCoupons: Int64
    let bargainCuts: Int64
    let firstSeen: Date
    let lastSeen: Date
}

struct FarmingReportDTO: Content {
    let from: Date
    let to: Date
    let minMembers: Int
    let clusters: [FarmingClusterDTO]
    /// The `offset` of the next page; absent on the last page.
    let nextOffset: Int?
}

/// The query of `GET /api/v1/admin/risk/farming` and `/admin/risk/farming`, checked before anything is read.
struct FarmingReportQuery: Sendable {
    var days: Int
    var minMembers: Int?
    var limit: Int
    var offset: Int

    static let maxDays = 90
    static let maxLimit = 100
    static let maxOffset = 10_000

    init(days: Int = 7, minMembers: Int? = nil, limit: Int = 50, offset: Int = 0) {
        self.days = days
        self.minMembers = minMembers
        self.limit = limit
        self.offset = offset
    }

    /// Absent parameters take their defaults; a present one that is not a whole number in its range is a 422.
    init(_ req: Request) throws {
        self.init()
        var issues: [APIError.FieldIssue] = []
        func number(_ name: String, _ range: ClosedRange<Int>) -> Int? {
            guard let text = req.query[String.self, at: name] else { return nil }
            guard let value = Int(text), range.contains(value) else {
                issues.append(.init(name, .init("\(name) 应为 \(range.lowerBound) 到 \(range.upperBound) 的整数",
                                                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")))
                return nil
            }
            return value
        }
        days = number("days", 1...Self.maxDays) ?? days
        minMembers = number("minMembers", FarmingReport.minMembersRange)
        limit = number("limit", 1...Self.maxLimit) ?? limit
        offset = number("offset", 0...Self.maxOffset) ?? offset
        guard issues.isEmpty else { throw APIError.validation(issues) }
    }
}

/// Devices and addresses used by at least K members in a window. The grouping runs in the
/// database over the window's rows (indexed by time), only one page of clusters comes back, and
/// each cluster's shown phones are one small indexed query.
enum FarmingReport {
    static let phonesShown = 5
    static var minMembersRange: ClosedRange<Int> { FarmingLimits.bounds.first { $0.field == "clusterMinMembers" }?.range ?? 2...1_000 }

    static func clusters(_ query: FarmingReportQuery, on db: any Database, cipher: PersonalDataCipher, now: Date) async throws -> FarmingReportDTO {
        var minMembers = query.minMembers ?? 0
        if query.minMembers == nil { minMembers = try await FarmingSettings.load(on: db).limits.clusterMinMembers }
        let to = now
        let from = now.addingTimeInterval(-Double(query.days) * 86_400)
        let sql = try sqlDatabase(db)
        func grouped(_ dimension: String) -> SQLQueryString {
            """
            SELECT \(literal: dimension) AS dimension, \(ident: dimension) AS value, CAST(COUNT(DISTINCT member_id) AS BIGINT) AS members,
                   CAST(SUM(CASE WHEN kind = 'new_user_coupon' THEN 1 ELSE 0 END) AS BIGINT) AS coupons,
                   CAST(SUM(CASE WHEN kind = 'bargain_cut' THEN 1 ELSE 0 END) AS BIGINT) AS cuts,
                   MIN(created_at) AS first_seen, MAX(created_at) AS last_seen
            FROM farm_events WHERE created_at >= \(bind: from) AND created_at <= \(bind: to) AND \(ident: dimension) <> ''
            GROUP BY \(ident: dimension) HAVING COUNT(DISTINCT member_id) >= \(bind: minMembers)
            """
        }
        // One more than the page says whether another page follows.
        let rows = try await sql.raw("""
            SELECT dimension, value, members, coupons, cuts, first_seen, last_seen FROM (\(grouped("device")) UNION ALL \(grouped("ip"))) clusters
            ORDER BY members DESC, last_seen DESC, dimension, value LIMIT \(bind: query.limit + 1) OFFSET \(bind: query.offset)
            """).all()
        var clusters: [FarmingClusterDTO] = []
        for row in rows.prefix(query.limit) {
            let dimension = try row.decode(column: "dimension", as: String.self)
            let value = try row.decode(column: "value", as: String.self)
            clusters.append(FarmingClusterDTO(
                dimension: dimension, value: value, members: try row.decode(column: "members", as: Int64.self),
                maskedPhones: try await maskedPhones(dimension: dimension, value: value, from: from, to: to, on: db, cipher: cipher),
                newUserCoupons: try row.decode(column: "coupons", as: Int64.self), bargainCuts: try row.decode(column: "cuts", as: Int64.self),
                firstSeen: try row.decode(column: "first_seen", as: Date.self), lastSeen: try row.decode(column: "last_seen", as: Date.self)))
        }
        return FarmingReportDTO(from: from, to: to, minMembers: minMembers, clusters: clusters,
                                nextOffset: rows.count > query.limit && query.offset + query.limit <= FarmingReportQuery.maxOffset ? query.offset + query.limit : nil)
    }

    /// The masked numbers of the cluster's first few members (by member id, so the same ones each time).
    static func maskedPhones(dimension: String, value: String, from: Date, to: Date, on db: any Database, cipher: PersonalDataCipher) async throws -> [String] {
        let column = dimension == "ip" ? "ip" : "device"
        let rows = try await sqlDatabase(db).raw("""
            SELECT DISTINCT member_id FROM farm_events WHERE \(ident: column) = \(bind: value) AND created_at >= \(bind: from) AND created_at <= \(bind: to)
            ORDER BY member_id LIMIT \(bind: phonesShown)
            """).all()
        let ids = try rows.map { try $0.decode(column: "member_id", as: UUID.self) }
        guard !ids.isEmpty else { return [] }
        let members = try await Member.query(on: db).filter(\.$id ~~ ids).all()
        let byID = Dictionary(members.compactMap { member in member.id.map { ($0, member) } }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { id in
            guard let member = byID[id], let digits = try? cipher.open(member.phoneCipher) else { return nil }
            return PhoneNumber(digits)?.masked ?? "***"
        }
    }
}
