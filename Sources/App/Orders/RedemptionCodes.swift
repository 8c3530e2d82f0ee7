import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// A one-time code (核销码): one per pickup order, or one per unit of a service product. Issued when
/// the order is paid; used once, by a conditional update, at a store allowed to take it.
final class RedemptionCodeRecord: Model, @unchecked Sendable {
    static let schema = "redemption_codes"

    enum Kind: String, Codable { case pickup, service }

    @ID(key: .id) var id: UUID?
    @Field(key: "code") var code: String
    @Field(key: "kind") var kind: String
    @Field(key: "order_id") var orderID: UUID
    @OptionalField(key: "order_line_id") var orderLineID: UUID?
    @Field(key: "merchant_id") var merchantID: UUID
    /// Comma-separated store ids; empty: any store of the merchant.
    @Field(key: "store_ids") var storeIDs: String
    @Field(key: "issued_at") var issuedAt: Date
    @OptionalField(key: "expires_at") var expiresAt: Date?
    @OptionalField(key: "used_at") var usedAt: Date?
    @OptionalField(key: "used_store_id") var usedStoreID: UUID?
    @OptionalField(key: "used_by") var usedBy: UUID?

    init() {}

    var issued: IssuedRedemptionCode {
        IssuedRedemptionCode(merchantID: merchantID, stores: Set(storeIDs.split(separator: ",").compactMap { UUID(uuidString: String($0)) }),
                             validFrom: nil, expiresAt: expiresAt.map(Self.seconds), usedAt: usedAt.map(Self.seconds))
    }

    static func seconds(_ date: Date) -> Int64 { CheckedNumber.int64(date.timeIntervalSince1970, rounding: .down) ?? 0 }
}

struct CreateRedemptionCodes: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(RedemptionCodeRecord.schema)
            .id()
            .field("code", .string, .required)
            .field("kind", .string, .required)
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("order_line_id", .uuid, .references(OrderLine.schema, .id))
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("store_ids", .string, .required)
            .field("issued_at", .datetime, .required)
            .field("expires_at", .datetime)
            .field("used_at", .datetime)
            .field("used_store_id", .uuid, .references(Store.schema, .id))
            .field("used_by", .uuid)
            .unique(on: "code")
            .create()
        try await createIndex("redemption_codes_order", on: RedemptionCodeRecord.schema, columns: ["order_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(RedemptionCodeRecord.schema).delete()
    }
}

struct RedemptionService {
    let db: any Database
    let now: Date

    /// Twelve random digits: 10^12 codes, so guessing one that exists takes a store far more tries
    /// than its rate limit allows.
    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
    }

    /// Issues the codes a paid order needs: one for a pickup, one per unit of a service line.
    func issue(for order: Order) async throws {
        let orderID = try order.requireID()
        switch order.fulfilmentKind {
        case .express:
            return
        case .pickup:
            try await create(kind: .pickup, order: order, line: nil, stores: order.pickupStoreID.map { [$0] } ?? [], expiresAt: nil)
        case .virtual:
            let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).sort(\.$position).all()
            for line in lines {
                let product = try await Product.find(line.productID, on: db)
                let stores = try await ProductRedeemStore.query(on: db).filter(\.$product.$id == line.productID).all().map(\.$store.id)
                let expiresAt = product?.validityDays.map { now.addingTimeInterval(TimeInterval($0) * 86_400) }
                for _ in 0..<line.quantity {
                    try await create(kind: .service, order: order, line: line, stores: stores, expiresAt: expiresAt)
                }
            }
        }
    }

    /// A drawn code that already exists is drawn again; `ON CONFLICT DO NOTHING` keeps the
    /// payment's transaction alive on PostgreSQL, where a failed insert would abort it.
    private func create(kind: RedemptionCodeRecord.Kind, order: Order, line: OrderLine?, stores: [UUID], expiresAt: Date?) async throws {
        let storeIDs = stores.map { $0.uuidString }.joined(separator: ",")
        for _ in 0..<8 {
            let inserted = try await sqlDatabase(db).raw("""
                INSERT INTO redemption_codes (id, code, kind, order_id, order_line_id, merchant_id, store_ids, issued_at, expires_at)
                VALUES (\(bind: UUID()), \(bind: Self.newCode()), \(bind: kind.rawValue), \(bind: try order.requireID()), \(bind: try line?.requireID()),
                        \(bind: order.merchantID), \(bind: storeIDs), \(bind: now), \(bind: expiresAt))
                ON CONFLICT (code) DO NOTHING RETURNING id
                """).all()
            if !inserted.isEmpty { return }
        }
        throw Abort(.internalServerError, reason: "could not draw an unused redemption code")
    }

    /// Uses the code at `store`. A second use, another shop's code, a code for another store or an
    /// expired one is refused and changes nothing. When the last code of an order is used, the
    /// order is received (picked up or redeemed).
    func redeem(_ typed: String, store: Store, staffID: UUID) async throws -> RedemptionCodeRecord {
        let code = try RedemptionCode.normalized(typed)
        let storeID = try store.requireID()
        guard let record = try await RedemptionCodeRecord.query(on: db).filter(\.$code == code).first() else { throw RedemptionError.unknownCode }
        // A group-buy order is served only once its group has formed.
        try await ActivityOrders(db: db, now: now).requireShippable(orderID: record.orderID)
        try record.issued.checkRedemption(storeID: storeID, storeMerchantID: store.$merchant.id, now: RedemptionCodeRecord.seconds(now))
        let used = try await sqlDatabase(db).raw("""
            UPDATE redemption_codes SET used_at = \(bind: now), used_store_id = \(bind: storeID), used_by = \(bind: staffID)
            WHERE id = \(bind: record.requireID()) AND used_at IS NULL RETURNING id
            """).all()
        guard !used.isEmpty else { throw RedemptionError.alreadyUsed(at: RedemptionCodeRecord.seconds(now)) }
        record.usedAt = now
        guard let order = try await Order.find(record.orderID, on: db) else { return record }
        let open = try await RedemptionCodeRecord.query(on: db).filter(\.$orderID == record.orderID).filter(\.$usedAt == nil).count()
        if open == 0, order.orderState == .paid {
            let service = OrderService(db: db, now: now)
            let action: OrderAction = order.fulfilmentKind == .pickup ? .pickUp : .redeemAll
            try await service.transition(order, action, actor: .staff(staffID), reason: store.name,
                                         facts: OrderFacts(fulfilment: order.fulfilmentKind, allCodesRedeemed: true), stamp: "received_at")
            try await service.enqueue("order.received", subject: order.requireID())
        }
        return record
    }
}

struct RedemptionCodeDTO: Content {
    let id: UUID
    let code: String
    let kind: String
    let used: Bool
    let usedAt: Date?
    let expiresAt: Date?

    init(_ record: RedemptionCodeRecord) throws {
        id = try record.requireID()
        code = record.code
        kind = record.kind
        used = record.usedAt != nil
        usedAt = record.usedAt
        expiresAt = record.expiresAt
    }
}

struct RedeemInput: Content {
    let code: String
    /// The store at the counter; a store clerk's own store when absent.
    let storeId: UUID?
}

struct RedemptionResultDTO: Content {
    let code: String
    let kind: String
    let orderId: UUID
    let orderNo: String
    let orderState: String
    let orderStateLabel: String
    let lines: [String]
}

/// `GET /api/v1/me/orders/{id}/codes` for the buyer (the order page shows each as a QR code),
/// `POST /api/v1/merchant/redemptions` at the counter.
struct RedemptionAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("me", "orders", ":orderID", "codes", use: codes)
        routes.post("merchant", "redemptions", use: redeem)
    }

    @Sendable func codes(req: Request) async throws -> [RedemptionCodeDTO] {
        let memberID = try req.requireMember().requireID()
        let order = try await OrderAPIController.ownOrder(req, memberID: memberID, on: req.db)
        let orderID = try order.requireID()
        return try await RedemptionCodeRecord.query(on: req.db).filter(\.$orderID == orderID).sort(\.$issuedAt).sort(\.$code).all()
            .map { try RedemptionCodeDTO($0) }
    }

    @Sendable func redeem(req: Request) async throws -> RedemptionResultDTO {
        let input = try req.content.decode(RedeemInput.self)
        let (record, order) = try await Self.redeemAtCounter(req, code: input.code, storeID: input.storeId)
        let lines = try await OrderLine.query(on: req.db).filter(\.$order.$id == order.requireID()).sort(\.$position).all()
        return RedemptionResultDTO(code: record.code, kind: record.kind, orderId: try order.requireID(), orderNo: order.orderNo,
                                   orderState: order.state, orderStateLabel: order.orderState.label(req.locale, fulfilment: order.fulfilmentKind),
                                   lines: lines.map { "\($0.title) \($0.specText) × \($0.quantity)" })
    }

    /// Counter redemption for the API and the console page alike: bounded per staff account, in
    /// the clerk's own store, and a code only one store takes (a pickup) needs no store chosen.
    static func redeemAtCounter(_ req: Request, code: String, storeID asked: UUID?) async throws -> (RedemptionCodeRecord, Order) {
        let scope = try req.merchantScope(.redeemCodes)
        let staff = try req.requireStaff(.redeemCodes)
        let staffID = try staff.requireID()
        // Bounded per staff account, so nobody can walk through codes at the counter.
        try await req.takeAnonymousHit(RateLimits.redemptionAttemptsPerStaff, key: staffID.uuidString)
        var chosen = staff.$store.id ?? asked
        if chosen == nil, let normalized = try? RedemptionCode.normalized(code),
           let record = try await RedemptionCodeRecord.query(on: req.db).filter(\.$code == normalized).filter(\.$merchantID == scope.merchantID).first() {
            let stores = record.storeIDs.split(separator: ",").compactMap { UUID(uuidString: String($0)) }
            if stores.count == 1 { chosen = stores[0] }
        }
        guard let storeID = chosen else {
            throw APIError.validation([.init("storeId", .init("请选择核销门店", "Choose the store"))])
        }
        if let clerkStore = staff.$store.id, let asked, asked != clerkStore {
            throw APIError.validation([.init("storeId", .init("只能在自己的门店核销", "You can only redeem at your own store"))])
        }
        let now = req.now
        return try await req.writeTransaction { db in
            guard let store = try await Store.query(on: db).filter(\.$id == storeID).filter(\.$merchant.$id == scope.merchantID).first() else {
                throw APIError.notFound
            }
            let record = try await RedemptionService(db: db, now: now).redeem(code, store: store, staffID: staffID)
            guard let order = try await Order.find(record.orderID, on: db) else { throw APIError.notFound }
            return (record, order)
        }
    }
}
