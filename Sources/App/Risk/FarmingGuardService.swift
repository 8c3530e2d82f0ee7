import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Where a claim or a cut came from: the device the client names and its address.
struct FarmClient: Sendable, Equatable {
    /// `h:<X-Device-Id>` or `c:<visitor cookie>`; empty when the client named none.
    var device: String
    /// The address the rate limits use; empty when unknown.
    var ip: String

    /// No device, no address: an operator's or a shop's send, a seed.
    static let none = FarmClient(device: "", ip: "")

    init(device: String, ip: String) {
        self.device = String(device.prefix(80))
        // "unknown" (no peer) and the seed's label are no address.
        self.ip = ip.contains(where: { $0 == "." || $0 == ":" }) ? String(ip.prefix(64)) : ""
    }

    /// The device is the `X-Device-Id` header (apps) or the visitor cookie (pages), as for bargain cuts.
    init(_ req: Request) {
        self.init(device: FarmClient.device(req), ip: req.clientIP)
    }

    static func device(_ req: Request) -> String {
        if let header = req.headers.first(name: "X-Device-Id"), (8...80).contains(header.utf8.count),
           header.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) { return "h:" + header }
        if let cookie = req.cookies[DistributionPageController.visitorCookie]?.string, cookie.count == 36, UUID(uuidString: cookie) != nil { return "c:" + cookie }
        return ""
    }
}

extension FarmingRefusal: APIErrorConvertible {
    /// A lifetime limit is a clash (409) like a bargain's "device used"; a daily one is 429 like its daily limit.
    public var apiError: APIError {
        switch self {
        case .phoneUsed:
            APIError(.conflict, "farming.phone_used", .init("该手机号已领取过新人券", "This phone number has already had new-user coupons"))
        case .deviceUsed:
            APIError(.conflict, "farming.device_used", .init("该设备已领取过新人券", "This device has already claimed a new-user coupon"))
        case .addressDaily(let limit):
            APIError(.tooManyRequests, "farming.address_daily", .init("该网络今天领取新人券的人数已达上限（每天 \(limit) 人）",
                                                                     "New-user coupons from this network have reached today's limit (\(limit) members a day)"))
        case .deviceCutsDaily(let limit):
            APIError(.tooManyRequests, "farming.device_cuts_daily", .init("这台设备今天的助力次数已用完（每天 \(limit) 次）",
                                                                         "This device has no cuts left today (\(limit) a day)"))
        case .addressCutsDaily(let limit):
            APIError(.tooManyRequests, "farming.address_cuts_daily", .init("该网络今天的助力次数已达上限（每天 \(limit) 次）",
                                                                          "Cuts from this network have reached today's limit (\(limit) a day)"))
        }
    }
}

/// The farming guard in the claim's or the cut's own write transaction: `admit` locks the keys the
/// decision reads (on PostgreSQL a transaction-scoped advisory lock per key, taken in sorted
/// order; SQLite's writes are one at a time already), counts and refuses, and `record` writes the
/// event before the transaction commits. A second claim from the same device waits for the first
/// to commit and then sees its row, so concurrent claims never both pass.
struct FarmingGuardService {
    let db: any Database
    let now: Date

    struct Admission: Sendable {
        let kind: FarmEvent.Kind
        let memberID: UUID
        let phoneHash: String
        let client: FarmClient
        let day: String
    }

    /// Checks a new-user coupon for the member: another member with this phone hash, the device's
    /// members ever and the address's members today. Without a device or address only the rest count.
    func admitNewUserCoupon(memberID: UUID, client: FarmClient, limits: FarmingLimits? = nil) async throws -> Admission {
        guard let member = try await Member.find(memberID, on: db) else { throw APIError.notFound }
        let kind = FarmEvent.Kind.newUserCoupon
        let day = CouponService.chinaDay(now)
        try await lock(kind, client, phoneHash: member.phoneHash)
        let limits = try await resolvedLimits(limits)
        let sql = try sqlDatabase(db)
        func members(_ filter: SQLQueryString) async throws -> Int {
            let row = try await sql.raw("""
                SELECT CAST(COUNT(DISTINCT member_id) AS BIGINT) AS n FROM farm_events
                WHERE kind = \(bind: kind.rawValue) AND \(filter) AND member_id <> \(bind: memberID)
                """).first()
            return Int(try row?.decode(column: "n", as: Int64.self) ?? 0)
        }
        let byPhone = try await members("phone_hash = \(bind: member.phoneHash)")
        var byDevice: Int?
        if !client.device.isEmpty { byDevice = try await members("device = \(bind: client.device)") }
        var byAddress: Int?
        if !client.ip.isEmpty { byAddress = try await members("ip = \(bind: client.ip) AND day = \(bind: day)") }
        let history = NewUserCouponHistory(otherMembersByPhone: byPhone, otherMembersByDevice: byDevice, otherMembersByAddressToday: byAddress)
        if let refusal = FarmingGuard.newUserCoupon(history, limits: limits) { throw refusal }
        return Admission(kind: kind, memberID: memberID, phoneHash: member.phoneHash, client: client, day: day)
    }

    /// Checks one more cut from the device and the address today, in every activity together.
    func admitCut(helperID: UUID, client: FarmClient) async throws -> Admission {
        guard let member = try await Member.find(helperID, on: db) else { throw APIError.notFound }
        let kind = FarmEvent.Kind.bargainCut
        let day = CouponService.chinaDay(now)
        try await lock(kind, client, phoneHash: nil)
        let limits = try await FarmingSettings.load(on: db).limits
        let sql = try sqlDatabase(db)
        func cuts(_ filter: SQLQueryString) async throws -> Int {
            let row = try await sql.raw("""
                SELECT CAST(COUNT(*) AS BIGINT) AS n FROM farm_events WHERE kind = \(bind: kind.rawValue) AND \(filter) AND day = \(bind: day)
                """).first()
            return Int(try row?.decode(column: "n", as: Int64.self) ?? 0)
        }
        var byDevice = 0
        if !client.device.isEmpty { byDevice = try await cuts("device = \(bind: client.device)") }
        var byAddress: Int?
        if !client.ip.isEmpty { byAddress = try await cuts("ip = \(bind: client.ip)") }
        let history = CutHistory(byDeviceToday: byDevice, byAddressToday: byAddress)
        if let refusal = FarmingGuard.cut(history, limits: limits) { throw refusal }
        return Admission(kind: kind, memberID: helperID, phoneHash: member.phoneHash, client: client, day: day)
    }

    private func resolvedLimits(_ given: FarmingLimits?) async throws -> FarmingLimits {
        if let given { return given }
        return try await FarmingSettings.load(on: db).limits
    }

    /// The event of an admitted claim or cut, in the same transaction.
    func record(_ admission: Admission, source: String, refID: UUID) async throws {
        let event = FarmEvent()
        event.id = UUID()
        event.kind = admission.kind.rawValue
        event.memberID = admission.memberID
        event.phoneHash = admission.phoneHash
        event.device = admission.client.device
        event.ip = admission.client.ip
        event.day = admission.day
        event.source = source
        event.refID = refID
        event.createdAt = now
        try await event.create(on: db)
    }

    /// Serialises the decisions that read the same keys (PostgreSQL; released at commit or rollback).
    private func lock(_ kind: FarmEvent.Kind, _ client: FarmClient, phoneHash: String?) async throws {
        let sql = try sqlDatabase(db)
        guard sql.dialect.name == "postgresql" else { return }
        var keys: [String] = []
        if let phoneHash { keys.append("farm:\(kind.rawValue):phone:\(phoneHash)") }
        if !client.device.isEmpty { keys.append("farm:\(kind.rawValue):device:\(client.device)") }
        if !client.ip.isEmpty { keys.append("farm:\(kind.rawValue):ip:\(client.ip)") }
        for key in keys.sorted() {
            try await sql.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: key), 0))").run()
        }
    }
}

extension FarmClient {
    /// Gives a browser without one the visitor cookie (the one distribution links set), so that the
    /// claims and registrations it makes from these pages name a device.
    static func ensureVisitorCookie(_ req: Request, on response: Response) {
        let current = req.cookies[DistributionPageController.visitorCookie]?.string ?? ""
        guard current.count != 36 || UUID(uuidString: current) == nil else { return }
        let secure = req.application.config.publicBaseURL.hasPrefix("https://")
        response.cookies[DistributionPageController.visitorCookie] = HTTPCookies.Value(string: UUID().uuidString.lowercased(), maxAge: 365 * 86_400, path: "/",
                                                                                        isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }
}
