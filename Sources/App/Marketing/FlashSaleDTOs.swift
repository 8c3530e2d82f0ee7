import Foundation
import MallCore
import Vapor

/// A flash sale as the operator or a shop defines it. Times are ISO 8601 ("2025-06-18T10:00:00+08:00").
struct FlashSaleInput: Content {
    struct Item: Content {
        let skuId: UUID
        let priceFen: Int64
        /// Units carved out of the SKU's stock for this session.
        let stock: Int64
        /// Default 1.
        let perMemberLimit: Int64?
    }

    struct Session: Content {
        let startsAt: String
        let endsAt: String
        let items: [Item]
    }

    let name: String
    let sessions: [Session]
    /// Default off (`ActivityKind.flashSale`).
    let paysCommission: Bool?
    /// Unpaid flash orders close after this many minutes; default 5.
    let unpaidMinutes: Int?
}

struct FlashSaleDTO: Content {
    struct Item: Content {
        let id: UUID
        let skuId: UUID
        let productId: UUID
        let priceFen: Int64
        let activityStock: Int64
        let available: Int64
        let sold: Int64
        let perMemberLimit: Int64?
        let released: Bool
    }

    struct Session: Content {
        let id: UUID
        let startsAt: Date
        let endsAt: Date
        let items: [Item]
    }

    let id: UUID
    let name: String
    /// platform or merchant: who runs it and pays its saving.
    let owner: String
    let merchantId: UUID?
    let status: String
    let statusLabel: String
    let paysCommission: Bool
    let unpaidMinutes: Int
    let sessions: [Session]

    init(_ activity: FlashSaleActivity, sessions: [FlashSaleSessionRecord], items: [FlashSaleItem], _ locale: MallLocale) throws {
        id = try activity.requireID()
        name = activity.name
        owner = activity.owner
        merchantId = activity.merchantID
        status = activity.status
        statusLabel = FlashSaleStatus(rawValue: activity.status)?.name(locale) ?? activity.status
        paysCommission = activity.paysCommission
        unpaidMinutes = activity.unpaidMinutes
        self.sessions = try sessions.map { session in
            let sessionID = try session.requireID()
            return Session(id: sessionID, startsAt: session.startsAt, endsAt: session.endsAt, items: try items.filter { $0.sessionID == sessionID }.map { item in
                Item(id: try item.requireID(), skuId: item.skuID, productId: item.productID, priceFen: item.price, activityStock: item.activityStock,
                     available: item.available, sold: item.sold, perMemberLimit: item.perMemberLimit, released: item.released)
            })
        }
    }
}

/// An activity's results: orders paid (or further along), their units and what buyers paid for
/// them, the savings given (the discount's cost), units held by orders awaiting payment, and
/// units still available.
struct FlashSaleResultsDTO: Content {
    let activityId: UUID
    let orders: Int64
    let unitsSold: Int64
    let unitsAwaitingPayment: Int64
    let salesFen: Int64
    let discountCostFen: Int64
    let available: Int64
}

/// Today's sessions as the buyer sees them.
struct FlashSaleBoardDTO: Content {
    struct Item: Content {
        let id: UUID
        let skuId: UUID
        let productId: UUID
        let title: String
        let image: String
        let price: MoneyDTO
        let normalPrice: MoneyDTO
        let activityStock: Int64
        let available: Int64
        /// Share taken, 0–100.
        let progressPercent: Int64
        /// upcoming, on_sale, sold_out or ended.
        let state: String
        let stateLabel: String
        /// Seconds to the start (upcoming) or to the end (on sale, sold out).
        let seconds: Int64
        let perMemberLimit: Int64?
    }

    struct Session: Content {
        let id: UUID
        let activityId: UUID
        let name: String
        let startsAt: Date
        let endsAt: Date
        let items: [Item]
    }

    let sessions: [Session]
}

/// Joining a flash sale's queue (排队下单): the unit is decided at once, the order follows.
struct FlashSaleTicketInput: Content {
    let addressId: UUID
    /// Default 1.
    let quantity: Int64?
    let note: String?
    /// Points to spend on the order (积分抵扣), as at checkout; absent or 0: none.
    let points: Int64?
    /// Coupons to use, as at checkout; absent: the best the member holds, empty: none.
    let couponIds: [UUID]?
}

/// A place in the queue as its buyer sees it: queued (the unit is theirs, the order is being
/// made), ordered (pay `paymentId` in time) or failed (the unit went back, `message` says why).
struct FlashSaleTicketDTO: Content {
    let id: UUID
    let itemId: UUID
    let quantity: Int64
    let status: String
    let statusLabel: String
    let paymentId: UUID?
    let orderIds: [UUID]
    let message: String?
    let createdAt: Date

    init(_ ticket: FlashSaleTicket, orderIDs: [UUID], _ locale: MallLocale) throws {
        id = try ticket.requireID()
        itemId = ticket.itemID
        quantity = ticket.quantity
        status = ticket.status
        let known = FlashSaleTicketStatus(rawValue: ticket.status) ?? .queued
        statusLabel = known.name(locale)
        paymentId = ticket.paymentID
        self.orderIds = orderIDs
        message = known == .failed ? (locale == .zhHans ? ticket.failureZh : ticket.failureEn) : nil
        createdAt = ticket.createdAt
    }
}
