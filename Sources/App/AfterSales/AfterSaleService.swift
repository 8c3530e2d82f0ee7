import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// The operator's refund of part of a line (平台退款).
struct PlatformRefundInput: Content {
    let lineId: UUID
    let units: Int64
    /// Less than the units' paid share, when agreed; the share otherwise.
    let amountFen: Int64?
    let reason: String
}

struct AfterSaleInput: Content {
    let lineId: UUID
    /// refund_only or return_and_refund.
    let kind: String
    let units: Int64
    /// An amount agreed with the shop (协商), instead of the units' paid share.
    let amountFen: Int64?
    let reason: String
    /// Image keys from `POST /api/v1/me/images`; at most 6.
    let photos: [String]?
}

/// After-sales: requested by the buyer, decided by the shop (or the platform on appeal), the
/// return's way back, and the refund. Every method expects a write transaction; a refund that
/// must go to a provider is returned so the caller sends it after the commit.
struct AfterSaleService {
    let db: any Database
    let now: Date

    static let windowDays = 7

    func request(orderID: UUID, memberID: UUID, _ input: AfterSaleInput) async throws -> AfterSale {
        guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
        guard let line = try await OrderLine.query(on: db).filter(\.$id == input.lineId).filter(\.$order.$id == orderID).first() else {
            throw APIError.validation([.init("lineId", .init("订单中没有这件商品", "No such line in this order"))])
        }
        guard line.giftActivityID == nil else {
            throw APIError.validation([.init("lineId", .init("赠品不单独退款，请对购买的商品申请售后", "A gift is not refunded on its own; apply for the goods bought"))])
        }
        try await ActivityOrders(db: db, now: now).requireGroupSettled(orderID: orderID)
        guard let kind = AfterSaleKind(rawValue: input.kind) else {
            throw APIError.validation([.init("kind", .init("类型只能是 refund_only（仅退款）或 return_and_refund（退货退款）", "kind must be refund_only or return_and_refund"))])
        }
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.isFilled(input.reason, max: 200) else {
            throw APIError.validation([.init("reason", .init("请填写 1-200 字的原因", "Give a reason of 1–200 characters"))])
        }
        let photos = input.photos ?? []
        guard photos.count <= 6 else { throw APIError.validation([.init("photos", .init("最多 6 张图片", "At most 6 photos"))]) }
        var issues = try await ImageService.requireOwnedByMember(photos.enumerated().map { (key: $0.element, field: "photos[\($0.offset)]") }, memberID: memberID, on: db)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        issues = []

        let open = try await AfterSale.query(on: db).filter(\.$orderLineID == line.requireID()).all().filter { $0.afterSaleState.isOpen }
        let openUnits = open.reduce(Int64(0)) { $0 + $1.units }
        let openAmount = open.reduce(Int64(0)) { $0 + $1.amount }
        let windowOpen = order.receivedAt.map { now.timeIntervalSince($0) < TimeInterval(Self.windowDays * 86_400) } ?? true
        let byAgreement = input.amountFen != nil
        let application = AfterSaleApplication(kind: kind, units: input.units, byAgreement: byAgreement)
        try application.validate(against: AfterSaleLineFacts(
            orderState: order.orderState, fulfilment: order.fulfilmentKind, lineQuantity: line.quantity,
            refundedUnits: line.refundedQuantity, unitsInOpenAfterSales: openUnits, afterSalesWindowOpen: windowOpen))
        // Units in other open requests count as taken, so two requests never share a fen.
        let refundable = try RefundableLine(paid: Money(fen: line.paidAmount), quantity: line.quantity,
                                            refundedUnits: line.refundedQuantity + openUnits,
                                            refundedAmount: Money(fen: line.refundedAmount + openAmount))
        let amount: Money
        if let agreed = input.amountFen {
            amount = try Refunds.agreed(Money(fen: agreed), units: input.units, of: refundable)
        } else {
            amount = try Refunds.refundable(units: input.units, of: refundable)
        }
        // Shipping goes back only when the whole order is undone before it ships.
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).all()
        let allOpen = try await AfterSale.query(on: db).filter(\.$orderID == orderID).all().filter { $0.afterSaleState.isOpen }
        let coveredAfter = lines.allSatisfy { other in
            let taken = other.refundedAmount + allOpen.filter { $0.orderLineID == other.id }.reduce(0) { $0 + $1.amount }
            return taken + (other.id == line.id ? amount.fen : 0) >= other.paidAmount
        }
        let shippingRefundedBefore = try await Refund.query(on: db).filter(\.$orderID == orderID).all().reduce(Int64(0)) { $0 + $1.shippingAmount }
            + allOpen.reduce(Int64(0)) { $0 + $1.shippingAmount }
        let shipping = try Refunds.shipping(fee: Money(fen: order.shippingFee), refundedBefore: Money(fen: shippingRefundedBefore),
                                            shipped: order.orderState != .paid, orderFullyRefundedAfter: coveredAfter)

        let sale = AfterSale()
        sale.afterSaleNo = OrderService.number(prefix: "S", at: now)
        sale.orderID = orderID
        sale.orderLineID = try line.requireID()
        sale.memberID = memberID
        sale.merchantID = order.merchantID
        sale.kind = kind.rawValue
        sale.state = AfterSaleState.requested.rawValue
        sale.units = input.units
        sale.amount = amount.fen
        sale.shippingAmount = shipping.fen
        sale.byAgreement = byAgreement
        sale.reason = reason
        sale.photos = photos.joined(separator: ",")
        (sale.merchantNote, sale.appealReason, sale.returnCarrier, sale.returnTrackingNo) = ("", "", "", "")
        sale.createdAt = now
        sale.updatedAt = now
        try await sale.create(on: db)
        try await appendEvent(sale, from: nil, to: .requested, action: "request", actor: .member(memberID), note: reason)
        try await sqlDatabase(db).raw("UPDATE orders SET open_after_sales = open_after_sales + 1 WHERE id = \(bind: orderID)").run()
        return sale
    }

    /// 平台退款: the operator refunds part of a line after a complaint, also after the after-sales
    /// window has ended and the order completed. The money comes out of the shop's receivable
    /// and the commission on the line is recomputed (clawed back once settled). No shipping.
    func platformRefund(orderID: UUID, _ input: PlatformRefundInput, staffID: UUID) async throws -> (AfterSale, Refund?) {
        guard let order = try await Order.find(orderID, on: db) else { throw APIError.notFound }
        guard [.paid, .shipped, .received, .completed].contains(order.orderState) else {
            throw AfterSaleError.orderNotEligible(order.orderState)
        }
        try await ActivityOrders(db: db, now: now).requireGroupSettled(orderID: orderID)
        guard let line = try await OrderLine.query(on: db).filter(\.$id == input.lineId).filter(\.$order.$id == orderID).first() else {
            throw APIError.validation([.init("lineId", .init("订单中没有这件商品", "No such line in this order"))])
        }
        guard line.giftActivityID == nil else {
            throw APIError.validation([.init("lineId", .init("赠品不单独退款，请对购买的商品申请售后", "A gift is not refunded on its own; apply for the goods bought"))])
        }
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.isFilled(input.reason, max: 200) else {
            throw APIError.validation([.init("reason", .init("请填写 1-200 字的原因", "Give a reason of 1–200 characters"))])
        }
        let open = try await AfterSale.query(on: db).filter(\.$orderLineID == line.requireID()).all().filter { $0.afterSaleState.isOpen }
        // Nothing may be left when open requests hold the rest: a range would trap there.
        let remaining = line.quantity - line.refundedQuantity - open.reduce(0) { $0 + $1.units }
        guard input.units >= 1, input.units <= remaining else {
            throw APIError.validation([.init("units", .init("退款数量超出可退数量", "More units than can still be refunded"))])
        }
        let refundable = try RefundableLine(paid: Money(fen: line.paidAmount), quantity: line.quantity,
                                            refundedUnits: line.refundedQuantity + open.reduce(0) { $0 + $1.units },
                                            refundedAmount: Money(fen: line.refundedAmount + open.reduce(0) { $0 + $1.amount }))
        let amount = try input.amountFen.map { try Refunds.agreed(Money(fen: $0), units: input.units, of: refundable) }
            ?? Refunds.refundable(units: input.units, of: refundable)
        let sale = AfterSale()
        sale.afterSaleNo = OrderService.number(prefix: "S", at: now)
        sale.orderID = orderID
        sale.orderLineID = try line.requireID()
        sale.memberID = order.memberID
        sale.merchantID = order.merchantID
        sale.kind = AfterSaleKind.refundOnly.rawValue
        sale.state = AfterSaleState.requested.rawValue
        sale.units = input.units
        sale.amount = amount.fen
        sale.shippingAmount = 0
        sale.byAgreement = true
        sale.reason = reason
        sale.photos = ""
        (sale.merchantNote, sale.appealReason, sale.returnCarrier, sale.returnTrackingNo) = ("", "", "", "")
        sale.createdAt = now
        sale.updatedAt = now
        try await sale.create(on: db)
        try await appendEvent(sale, from: nil, to: .requested, action: "platform_refund", actor: .staff(staffID), note: reason)
        try await sqlDatabase(db).raw("UPDATE orders SET open_after_sales = open_after_sales + 1 WHERE id = \(bind: orderID)").run()
        return (sale, try await move(sale, .approve, actor: .staff(staffID), note: reason))
    }

    /// Moves the after-sale by a conditional update on the state it was read in, with its
    /// consequences: an approved refund-only request and a received return start the refund; an
    /// approved return asks for the goods back; an ended one frees the order to complete.
    /// Returns the refund to send to the provider after the commit, if one was opened.
    @discardableResult
    func move(_ sale: AfterSale, _ action: AfterSaleAction, actor: OrderActor, note: String = "") async throws -> Refund? {
        let from = sale.afterSaleState
        let to = try AfterSaleStateMachine.apply(action, to: from, kind: sale.afterSaleKind)
        let moved = try await sqlDatabase(db).raw("""
            UPDATE after_sales SET state = \(bind: to.rawValue), updated_at = \(bind: now)
            WHERE id = \(bind: sale.requireID()) AND state = \(bind: from.rawValue) RETURNING id
            """).all()
        guard !moved.isEmpty else {
            let current = try await AfterSale.find(sale.requireID(), on: db)?.afterSaleState ?? .closed
            throw AfterSaleError.notAllowed(state: current, action: action, kind: sale.afterSaleKind)
        }
        sale.state = to.rawValue
        try await appendEvent(sale, from: from, to: to, action: action.rawValue, actor: actor, note: note)
        if from.isOpen, !to.isOpen {
            try await sqlDatabase(db).raw("UPDATE orders SET open_after_sales = open_after_sales - 1 WHERE id = \(bind: sale.orderID) AND open_after_sales > 0").run()
        }
        switch to {
        case .approved where sale.afterSaleKind == .refundOnly, .returnReceived:
            return try await move(sale, .startRefund, actor: .system)
        case .approved:
            return try await move(sale, .requestReturn, actor: .system)
        case .refunding:
            return try await RefundService(db: db, now: now).open(for: sale)
        default:
            return nil
        }
    }

    func appendEvent(_ sale: AfterSale, from: AfterSaleState?, to: AfterSaleState, action: String, actor: OrderActor, note: String) async throws {
        let event = AfterSaleEvent()
        event.afterSaleID = try sale.requireID()
        event.fromState = from?.rawValue
        event.toState = to.rawValue
        event.action = action
        event.actorKind = actor.kind
        event.actorID = actor.id
        event.note = String(note.prefix(200))
        event.createdAt = now
        try await event.create(on: db)
    }
}
