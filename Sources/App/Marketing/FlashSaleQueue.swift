import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Vapor

/// A place in a flash sale's queue (排队下单): the unit is the buyer's from the moment the ticket
/// exists (taken from the item's `available` and counted against the member's limit), and its
/// order is built afterwards by `FlashSaleOrderBuilder`. queued → ordered, or failed with the
/// unit given back.
final class FlashSaleTicket: Model, @unchecked Sendable {
    static let schema = "flash_sale_tickets"
    @ID(key: .id) var id: UUID?
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "address_id") var addressID: UUID
    @Field(key: "quantity") var quantity: Int64
    @Field(key: "note") var note: String
    /// Points to spend on the order, as the checkout's `points`.
    @OptionalField(key: "points") var points: Int64?
    /// The coupons chosen, comma-separated; absent: the best the member holds, as the checkout.
    @OptionalField(key: "coupon_ids") var couponIDs: String?
    /// queued, ordered or failed (`FlashSaleTicketStatus`).
    @Field(key: "status") var status: String
    @OptionalField(key: "idempotency_key") var idempotencyKey: String?
    @OptionalField(key: "payment_id") var paymentID: UUID?
    @OptionalField(key: "failure_code") var failureCode: String?
    @OptionalField(key: "failure_zh") var failureZh: String?
    @OptionalField(key: "failure_en") var failureEn: String?
    /// The builder holding the ticket and until when: a builder that died lets it go by itself.
    @OptionalField(key: "lease") var lease: UUID?
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    @Field(key: "attempts") var attempts: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

enum FlashSaleTicketStatus: String, Codable, Sendable {
    case queued, ordered, failed

    func name(_ locale: MallLocale) -> String {
        switch self {
        case .queued: LocalizedText("排队中，正在生成订单", "In the queue: the order is being created")(locale)
        case .ordered: LocalizedText("已抢到，请在时限内付款", "Yours: please pay in time")(locale)
        case .failed: LocalizedText("未能下单，名额已退回", "The order could not be created; the unit was given back")(locale)
        }
    }
}

struct CreateFlashSaleTickets: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(FlashSaleTicket.schema)
            .id()
            .field("item_id", .uuid, .required, .references(FlashSaleItem.schema, .id))
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("address_id", .uuid, .required)
            .field("quantity", .int64, .required)
            .field("note", .string, .required)
            .field("points", .int64)
            .field("coupon_ids", .string)
            .field("status", .string, .required)
            .field("idempotency_key", .string)
            .field("payment_id", .uuid)
            .field("failure_code", .string)
            .field("failure_zh", .string)
            .field("failure_en", .string)
            .field("lease", .uuid)
            .field("lease_until", .datetime)
            .field("attempts", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "member_id", "idempotency_key")
            .create()
        try await createIndex("flash_sale_tickets_status", on: FlashSaleTicket.schema, columns: ["status", "created_at"], db: db)
        try await createIndex("flash_sale_tickets_member", on: FlashSaleTicket.schema, columns: ["member_id", "created_at"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(FlashSaleTicket.schema).delete()
    }
}

/// Takes flash sale units for queued buyers in batches: the requests for one item that arrive
/// while a batch is being written wait for the next one, so the hot row is locked once per batch
/// instead of once per buyer. Every decision is MallCore's (`FlashSale.allocate`) on what the
/// batch's transaction reads; the writes are conditional, so instances and the direct checkout
/// (`FlashSaleService.take`) never oversell between them.
actor FlashSaleQueue {
    struct Ask: Sendable {
        let itemID: UUID
        let memberID: UUID
        let addressID: UUID
        let quantity: Int64
        let note: String
        var points: Int64? = nil
        var couponIDs: [UUID]? = nil
        let key: String?

        /// What the API and the checkout page send, checked at the edge the same way for both.
        static func checked(itemID: UUID, memberID: UUID, addressID: UUID, quantity: Int64?, note: String?, points: Int64?,
                            couponIDs: [UUID]?, key: String?) throws -> Ask {
            let quantity = try CartService.validQuantity(quantity ?? 1, field: "quantity")
            let note = (note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard TextLength.fits(note, max: 200) else {
                throw APIError.validation([.init("note", .init("备注最多 200 字", "The note has at most 200 characters"))])
            }
            if let points, !(0...MembersConfig.maxPoints).contains(points) {
                throw APIError.validation([.init("points", .init("积分应在 0 到 \(MembersConfig.maxPoints) 之间", "points must be between 0 and \(MembersConfig.maxPoints)"))])
            }
            if let couponIDs, couponIDs.count > CouponService.maxPerCheckout {
                throw APIError.validation([.init("couponIds", .init("一次最多使用 \(CouponService.maxPerCheckout) 张优惠券", "At most \(CouponService.maxPerCheckout) coupons per order"))])
            }
            return Ask(itemID: itemID, memberID: memberID, addressID: addressID, quantity: quantity, note: note, points: points,
                       couponIDs: couponIDs, key: key)
        }
    }

    private struct Waiting {
        let ask: Ask
        let reply: CheckedContinuation<FlashSaleTicket, any Error>
    }

    static let batchLimit = 200
    /// After a batch finds an item sold out, asks are refused without the database for this long;
    /// a unit that comes back (an unpaid close) sells again after it.
    static let soldOutMemory: TimeInterval = 1

    private let app: Application
    private var waiting: [UUID: [Waiting]] = [:]
    private var writing: Set<UUID> = []
    private var soldOutUntil: [UUID: Date] = [:]

    init(app: Application) { self.app = app }

    func reserve(_ ask: Ask) async throws -> FlashSaleTicket {
        // A retry with a key may hold a ticket already: it goes to the database for it.
        if ask.key == nil, let until = soldOutUntil[ask.itemID], until > app.clock.now() { throw FlashSaleRefusal.soldOut }
        return try await withCheckedThrowingContinuation { reply in
            waiting[ask.itemID, default: []].append(Waiting(ask: ask, reply: reply))
            if writing.insert(ask.itemID).inserted {
                Task { await self.drain(ask.itemID) }
            }
        }
    }

    /// Writes batches for one item until nobody waits for it.
    private func drain(_ itemID: UUID) async {
        while let queue = waiting[itemID], !queue.isEmpty {
            let batch = Array(queue.prefix(Self.batchLimit))
            waiting[itemID] = Array(queue.dropFirst(batch.count))
            do {
                let asks = batch.map(\.ask)
                let written: ([Outcome], Int64?)
                do {
                    written = try await Self.write(asks, itemID: itemID, app: app)
                } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
                    // A key repeated at another instance at the same moment: again, now finding its ticket.
                    written = try await Self.write(asks, itemID: itemID, app: app)
                }
                let (outcomes, left) = written
                let now = app.clock.now()
                if soldOutUntil.count > 1_000 { soldOutUntil = soldOutUntil.filter { $0.value > now } }
                soldOutUntil[itemID] = left == 0 ? now.addingTimeInterval(Self.soldOutMemory) : nil
                for (waiting, outcome) in zip(batch, outcomes) { waiting.reply.resume(with: outcome) }
                if outcomes.contains(where: { (try? $0.get()) != nil }) {
                    app.flashOrderBuilder?.wake()
                }
            } catch {
                for waiting in batch { waiting.reply.resume(throwing: error) }
            }
        }
        waiting[itemID] = nil
        writing.remove(itemID)
    }

    /// One transaction for the batch: the item and the members' holdings are read, MallCore
    /// decides, then the members' counts (conditional upserts, in member order), the item (locked
    /// last, the hot row) and the tickets are written. Returns each ask's ticket or refusal and the
    /// units left (nil: no such item).
    typealias Outcome = Result<FlashSaleTicket, any Error>

    static func write(_ asks: [Ask], itemID: UUID, app: Application) async throws -> ([Outcome], Int64?) {
        let now = app.clock.now()
        return try await app.writeGate.transaction(on: app.db) { db in
            let sql = try sqlDatabase(db)
            guard let row = try await sql.raw("""
                SELECT i.available, i.per_member_limit, i.released, s.starts_at, s.ends_at, a.status, a.unpaid_minutes
                FROM flash_sale_items i JOIN flash_sale_sessions s ON s.id = i.session_id JOIN flash_sale_activities a ON a.id = i.activity_id
                WHERE i.id = \(bind: itemID)
                """).first() else {
                // The item is the path's: not found, as for any unknown id in a path.
                let missing = APIError(.notFound, "not_found", .init("秒杀商品不存在", "No such flash sale item"))
                return (asks.map { _ in Outcome.failure(missing) }, nil)
            }
            let status = FlashSaleStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .stopped
            let limit = try row.decode(column: "per_member_limit", as: Int64?.self)
            let window = try ActivityWindow(start: try row.decode(column: "starts_at", as: Date.self), end: try row.decode(column: "ends_at", as: Date.self))
            let session = try FlashSaleSession(id: itemID.uuidString, window: window, perMemberLimit: limit,
                                               unpaidTimeout: TimeInterval(try row.decode(column: "unpaid_minutes", as: Int.self) * 60))
            let released = try row.decode(column: "released", as: Bool.self)
            let available = try released ? 0 : row.decode(column: "available", as: Int64.self)
            let memberIDs = Array(Set(asks.map(\.memberID)))

            // A repeated key gets its first ticket back; a key seen twice in the batch, the first one's outcome.
            let keys = Array(Set(asks.compactMap(\.key)))
            var earlier: [String: FlashSaleTicket] = [:]
            if !keys.isEmpty {
                for ticket in try await FlashSaleTicket.query(on: db).filter(\.$memberID ~~ memberIDs).filter(\.$idempotencyKey ~~ keys.map(Optional.some)).all() {
                    if let key = ticket.idempotencyKey { earlier["\(ticket.memberID)|\(key)"] = ticket }
                }
            }
            let addresses = try await sql.raw("""
                SELECT id, member_id FROM addresses WHERE id IN (\(binds: Array(Set(asks.map(\.addressID)))))
                """).all()
            var addressOwner: [UUID: UUID] = [:]
            for address in addresses {
                let id = try address.decode(column: "id", as: UUID.self)
                addressOwner[id] = try address.decode(column: "member_id", as: UUID.self)
            }
            var held: [String: Int64] = [:]
            for count in try await sql.raw("""
                SELECT member_id, bought FROM flash_sale_member_counts WHERE item_id = \(bind: itemID) AND member_id IN (\(binds: memberIDs))
                """).all() {
                let member = try count.decode(column: "member_id", as: UUID.self)
                held[member.uuidString] = try count.decode(column: "bought", as: Int64.self)
            }

            // The asks that reach MallCore: known item, own address, a key not used before.
            var outcomes: [Outcome?] = Array(repeating: nil, count: asks.count)
            var firstWithKey: [String: Int] = [:]
            var judged: [Int] = []
            for (index, ask) in asks.enumerated() {
                if let key = ask.key {
                    let slot = "\(ask.memberID)|\(key)"
                    if let ticket = earlier[slot] {
                        outcomes[index] = ticket.itemID == itemID ? Outcome.success(ticket) : Outcome.failure(CheckoutRefusal.idempotencyKeyReused)
                        continue
                    }
                    if firstWithKey[slot] != nil { continue }  // answered with the first one's outcome below
                    firstWithKey[slot] = index
                }
                guard addressOwner[ask.addressID] == ask.memberID else {
                    outcomes[index] = Outcome.failure(APIError.validation([.init("addressId", .init("收货地址不存在", "No such address"))]))
                    continue
                }
                judged.append(index)
            }
            let refusals = FlashSale.allocate(judged.map { FlashSale.QueuedRequest(member: asks[$0].memberID.uuidString, quantity: asks[$0].quantity) },
                                              session: session, available: available, held: held,
                                              now: status == .stopped ? max(now, window.end) : now, paused: status == .paused)
            var granted: [Int] = []
            for (index, refusal) in zip(judged, refusals) {
                if let refusal { outcomes[index] = Outcome.failure(refusal) } else { granted.append(index) }
            }

            // Counts first, in member order (as the direct checkout takes them before the item):
            // a member whose count moved meanwhile past the limit loses this batch's grants.
            var perMember: [UUID: Int64] = [:]
            for index in granted { perMember[asks[index].memberID, default: 0] += asks[index].quantity }
            let bound = limit ?? Int64.max / 2
            // One statement for the batch: its rows are written, and their rows locked, in the order given.
            var counted = Set<UUID>()
            let ordered = perMember.sorted(by: { $0.key.uuidString < $1.key.uuidString })
            if !ordered.isEmpty {
                let values = ordered.map { memberID, units in
                    SQLGroupExpression([SQLBind(UUID()), SQLBind(itemID), SQLBind(memberID), SQLBind(units)]) as any SQLExpression
                }
                let upserted = try await sql.raw("""
                    INSERT INTO flash_sale_member_counts (id, item_id, member_id, bought) VALUES \(SQLList(values))
                    ON CONFLICT (item_id, member_id) DO UPDATE SET bought = flash_sale_member_counts.bought + excluded.bought
                    WHERE flash_sale_member_counts.bought + excluded.bought <= \(bind: bound)
                    RETURNING member_id
                    """).all()
                for row in upserted { counted.insert(try row.decode(column: "member_id", as: UUID.self)) }
            }
            for index in granted where !counted.contains(asks[index].memberID) {
                outcomes[index] = Outcome.failure(FlashSaleRefusal.memberLimit(limit: bound, left: 0))
            }
            granted.removeAll { !counted.contains(asks[$0].memberID) }

            // The item last. Another instance or a direct checkout may have taken units since the
            // read: the grants that no longer fit are refused and their counts given back.
            var left = available
            if !granted.isEmpty {
                if sql.dialect.name == "postgresql" {
                    if let locked = try await sql.raw("SELECT available, released FROM flash_sale_items WHERE id = \(bind: itemID) FOR UPDATE").first() {
                        left = try locked.decode(column: "released", as: Bool.self) ? 0 : locked.decode(column: "available", as: Int64.self)
                    } else {
                        left = 0
                    }
                }
                var fits: [Int] = []
                var dropped: [UUID: Int64] = [:]
                for index in granted {
                    if asks[index].quantity <= left {
                        left -= asks[index].quantity
                        fits.append(index)
                    } else {
                        outcomes[index] = Outcome.failure(left > 0 ? FlashSaleRefusal.notEnoughStock(available: left) : FlashSaleRefusal.soldOut)
                        dropped[asks[index].memberID, default: 0] += asks[index].quantity
                    }
                }
                for (memberID, units) in dropped.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                    try await sql.raw("""
                        UPDATE flash_sale_member_counts SET bought = bought - \(bind: units) WHERE item_id = \(bind: itemID) AND member_id = \(bind: memberID)
                        """).run()
                }
                let total = fits.reduce(Int64(0)) { $0 + asks[$1].quantity }
                if total > 0 {
                    let taken = try await sql.raw("""
                        UPDATE flash_sale_items SET available = available - \(bind: total), sold = sold + \(bind: total)
                        WHERE id = \(bind: itemID) AND available >= \(bind: total) AND released = \(bind: false) RETURNING available
                        """).all()
                    // Under the lock (or SQLite's one writer) the units are there; if not, nothing is kept.
                    guard let after = taken.first else { throw FlashSaleRefusal.soldOut }
                    left = try after.decode(column: "available", as: Int64.self)
                    var rows: [any SQLExpression] = []
                    for index in fits {
                        let ask = asks[index]
                        let ticket = FlashSaleTicket()
                        let ticketID = UUID()
                        ticket.id = ticketID
                        ticket.itemID = itemID
                        ticket.memberID = ask.memberID
                        ticket.addressID = ask.addressID
                        ticket.quantity = ask.quantity
                        ticket.note = ask.note
                        ticket.points = ask.points
                        ticket.couponIDs = ask.couponIDs.map { $0.map(\.uuidString).joined(separator: ",") }
                        ticket.status = FlashSaleTicketStatus.queued.rawValue
                        ticket.idempotencyKey = ask.key
                        ticket.attempts = 0
                        ticket.createdAt = now
                        ticket.updatedAt = now
                        outcomes[index] = Outcome.success(ticket)
                        rows.append(SQLGroupExpression([SQLBind(ticketID), SQLBind(itemID), SQLBind(ask.memberID), SQLBind(ask.addressID),
                                                        SQLBind(ask.quantity), SQLBind(ask.note), SQLBind(ask.points), SQLBind(ticket.couponIDs), SQLBind(ticket.status), SQLBind(ask.key),
                                                        SQLLiteral.numeric("0"), SQLBind(now), SQLBind(now)]))
                    }
                    try await sql.raw("""
                        INSERT INTO flash_sale_tickets (id, item_id, member_id, address_id, quantity, note, points, coupon_ids, status, idempotency_key, attempts, created_at, updated_at)
                        VALUES \(SQLList(rows))
                        """).run()
                }
            }
            // Asks that repeated a key within the batch share the first one's outcome.
            for (index, ask) in asks.enumerated() where outcomes[index] == nil {
                if let key = ask.key, let first = firstWithKey["\(ask.memberID)|\(key)"] { outcomes[index] = outcomes[first] }
            }
            return (outcomes.map { $0 ?? Outcome.failure(FlashSaleRefusal.soldOut) }, left)
        }
    }
}

/// Builds the orders of queued tickets: each in a transaction of its own, through the normal
/// checkout planner and `OrderService.place`, with the ticket's unit instead of a new one. A
/// ticket is leased first and marked ordered only by the lease holder, so two builders (or two
/// instances) never build it twice; one that died lets its lease run out. A ticket whose order
/// cannot be built (the address gone, the SKU off sale, no delivery there) fails, and its unit
/// goes back to the item and the member's count.
final class FlashSaleOrderBuilder: Sendable {
    static let leaseSeconds: TimeInterval = 60
    static let maxAttempts = 5
    static let batch = 20

    /// While tickets keep coming, building waits for a gap this long, but never longer than
    /// `maxWait`: deciding units is what buyers wait on first, and building an order costs many
    /// times more than queueing one.
    static let quietGap: TimeInterval = 0.05
    static let maxWait: TimeInterval = 2

    private let app: Application
    private let pending = NIOLockedValueBox(false)
    private let running = NIOLockedValueBox(false)
    private let lastWake = NIOLockedValueBox(Date.distantPast)

    init(app: Application) { self.app = app }

    /// After tickets were queued: build soon, unless a round is already running (it will loop).
    func wake() {
        lastWake.withLockedValue { $0 = Date() }
        pending.withLockedValue { $0 = true }
        guard running.withLockedValue({ was in defer { was = true }; return !was }) else { return }
        let app = self.app
        Task {
            let started = Date()
            while Date().timeIntervalSince(self.lastWake.withLockedValue { $0 }) < Self.quietGap, Date().timeIntervalSince(started) < Self.maxWait {
                try? await Task.sleep(for: .milliseconds(20))
            }
            while self.pending.withLockedValue({ was in defer { was = false }; return was }) {
                do { _ = try await Self.run(app) } catch { app.logger.error("flash sale orders: \(error)") }
            }
            self.running.withLockedValue { $0 = false }
            // A wake that came between the last check and the flag: go round again.
            if self.pending.withLockedValue({ $0 }) { self.wake() }
        }
    }

    struct Report: Sendable, Equatable {
        var ordered = 0
        var failed = 0
    }

    /// Builds queued tickets until none is left (or only ones other builders hold).
    static func run(_ app: Application) async throws -> Report {
        var report = Report()
        while true {
            let leased = try await lease(app)
            if leased.isEmpty { return report }
            for ticket in leased {
                if try await build(ticket, app: app) { report.ordered += 1 } else { report.failed += 1 }
            }
        }
    }

    /// Leases up to `batch` queued tickets nobody holds (oldest first).
    static func lease(_ app: Application) async throws -> [FlashSaleTicket] {
        let now = app.clock.now()
        let token = UUID()
        let until = now.addingTimeInterval(leaseSeconds)
        // The timer asks every few seconds: a read first, so an empty queue takes no write lock.
        guard try await FlashSaleTicket.query(on: app.db).filter(\.$status == FlashSaleTicketStatus.queued.rawValue).first() != nil else { return [] }
        return try await app.writeGate.transaction(on: app.db) { db in
            let sql = try sqlDatabase(db)
            let skip = sql.dialect.name == "postgresql" ? "FOR UPDATE SKIP LOCKED" : ""
            let ids = try await sql.raw("""
                SELECT id FROM flash_sale_tickets WHERE status = \(bind: FlashSaleTicketStatus.queued.rawValue)
                  AND (lease_until IS NULL OR lease_until < \(bind: now)) ORDER BY created_at, id LIMIT \(bind: batch) \(unsafeRaw: skip)
                """).all().map { try $0.decode(column: "id", as: UUID.self) }
            guard !ids.isEmpty else { return [] }
            try await sql.raw("""
                UPDATE flash_sale_tickets SET lease = \(bind: token), lease_until = \(bind: until), attempts = attempts + 1
                WHERE id IN (\(binds: ids)) AND status = \(bind: FlashSaleTicketStatus.queued.rawValue)
                """).run()
            return try await FlashSaleTicket.query(on: db).filter(\.$id ~~ ids).filter(\.$lease == token).sort(\.$createdAt).sort(\.$id).all()
        }
    }

    /// True when the order was placed; false when the ticket failed (or another builder had it).
    static func build(_ ticket: FlashSaleTicket, app: Application) async throws -> Bool {
        let now = app.clock.now()
        let ticketID = try ticket.requireID()
        guard let lease = ticket.lease else { return false }
        let input = CheckoutInput(items: nil, addressId: ticket.addressID, deliveries: nil, note: ticket.note.isEmpty ? nil : ticket.note,
                                  couponIds: ticket.couponIDs.map { $0.split(separator: ",").compactMap { UUID(uuidString: String($0)) } },
                                  points: ticket.points, flashSaleItemId: ticket.itemID)
        do {
            // Addresses can be deleted while a ticket waits: say so, rather than the planner's bare 404.
            if try await Address.query(on: app.db).filter(\.$id == ticket.addressID).filter(\.$memberID == ticket.memberID).first() == nil {
                throw APIError(.unprocessableEntity, "flash_sale_address_gone", .init("收货地址已删除", "The delivery address was deleted"))
            }
            let flash = try await FlashSaleService(db: app.db, now: now).purchase(ticket.itemID, quantity: ticket.quantity, memberID: ticket.memberID,
                                                                                  ticketID: ticketID)
            let plan = try await CheckoutPlanner(db: app.db, memberID: ticket.memberID, now: now, reservedFlash: flash).plan(input)
            let payMinutes = min(flash.unpaidMinutes, app.config.orderPayMinutes)
            let cipher = app.personalData
            return try await app.writeGate.transaction(on: app.db) { db in
                let payment = try await OrderService(db: db, now: now).place(plan, memberID: ticket.memberID, cipher: cipher, payMinutes: payMinutes)
                let marked = try await sqlDatabase(db).raw("""
                    UPDATE flash_sale_tickets SET status = \(bind: FlashSaleTicketStatus.ordered.rawValue), payment_id = \(bind: payment.requireID()),
                      lease = NULL, lease_until = NULL, updated_at = \(bind: now)
                    WHERE id = \(bind: ticketID) AND status = \(bind: FlashSaleTicketStatus.queued.rawValue) AND lease = \(bind: lease) RETURNING id
                    """).all()
                // Another builder took the ticket over: this order must not exist.
                guard !marked.isEmpty else { throw TicketTakenOver() }
                return true
            }
        } catch is TicketTakenOver {
            return false
        } catch {
            let mapped = ErrorMapping.apiError(for: error)
            // A passing fault (the database away, a busy SQLite): the lease runs out and the ticket is tried again.
            if mapped.status.code >= 500, ticket.attempts < maxAttempts { throw error }
            try await fail(ticketID, lease: lease, reason: mapped, app: app)
            return false
        }
    }

    private struct TicketTakenOver: Error {}

    /// The ticket fails and its unit goes back, once (only the lease holder can fail it).
    static func fail(_ ticketID: UUID, lease: UUID, reason: APIError, app: Application) async throws {
        let now = app.clock.now()
        try await app.writeGate.transaction(on: app.db) { db in
            let sql = try sqlDatabase(db)
            guard let row = try await sql.raw("""
                UPDATE flash_sale_tickets SET status = \(bind: FlashSaleTicketStatus.failed.rawValue), failure_code = \(bind: reason.code),
                  failure_zh = \(bind: reason.message.zh), failure_en = \(bind: reason.message.en), lease = NULL, lease_until = NULL, updated_at = \(bind: now)
                WHERE id = \(bind: ticketID) AND status = \(bind: FlashSaleTicketStatus.queued.rawValue) AND lease = \(bind: lease)
                RETURNING item_id, member_id, quantity
                """).first() else { return }
            try await FlashSaleService.returnUnits(itemID: try row.decode(column: "item_id", as: UUID.self),
                                                   memberID: try row.decode(column: "member_id", as: UUID.self),
                                                   units: try row.decode(column: "quantity", as: Int64.self), sql: sql)
        }
    }
}

extension Application {
    private struct FlashSaleQueueKey: StorageKey { typealias Value = FlashSaleQueue }
    private struct FlashOrderBuilderKey: StorageKey { typealias Value = FlashSaleOrderBuilder }
    private static let flashLock = NIOLock()

    /// One queue per process, made on first use.
    var flashSaleQueue: FlashSaleQueue {
        Self.flashLock.withLock {
            if let queue = storage[FlashSaleQueueKey.self] { return queue }
            let queue = FlashSaleQueue(app: self)
            storage[FlashSaleQueueKey.self] = queue
            return queue
        }
    }

    /// Set while `serve` runs: tickets are built as soon as they are queued. Tests build them by
    /// calling `FlashSaleOrderBuilder.run`.
    var flashOrderBuilder: FlashSaleOrderBuilder? {
        get { Self.flashLock.withLock { storage[FlashOrderBuilderKey.self] } }
        set { Self.flashLock.withLock { storage[FlashOrderBuilderKey.self] = newValue } }
    }
}

/// While `fission serve` runs, queued flash tickets are built as they come, and every few seconds
/// whatever another instance or a stopped process left behind.
struct ScheduledFlashSaleOrders: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve" else { return }
        let builder = FlashSaleOrderBuilder(app: app)
        app.flashOrderBuilder = builder
        let started = app.eventLoopGroup.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in builder.wake() }
        task.withLockedValue { $0 = started }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}
