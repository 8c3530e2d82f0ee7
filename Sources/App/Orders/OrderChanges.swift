import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct PriceChangeInput: Content {
    /// The new goods total in fen (lines after discounts); nil keeps it.
    let goodsTotalFen: Int64?
    /// The new shipping fee in fen; nil keeps it.
    let shippingFeeFen: Int64?
    let reason: String?
}

/// Why a merchant may not change an order now, worded for the merchant.
enum OrderChangeRefusal: APIErrorConvertible {
    case paymentStarted
    case nothingChanged
    case regionNotDelivered(province: String)

    var apiError: APIError {
        switch self {
        case .paymentStarted:
            APIError(.conflict, "order.payment_started", .init("买家已发起支付，无法改价；可请买家取消后重新下单",
                                                             "The buyer has started paying, so the price can no longer change; the buyer may cancel and order again"))
        case .nothingChanged:
            APIError.validation([.init("goodsTotalFen", .init("请填写新的商品金额或运费", "Give a new goods total or shipping fee"))])
        case .regionNotDelivered(let province):
            APIError(.unprocessableEntity, "order.region_not_delivered", .init("本店不配送到\(province)", "This shop does not deliver to \(province)"),
                     details: [.init("provinceCode", .init("不在配送范围", "Not delivered to"))])
        }
    }
}

/// 改价 and address changes by the shop, each logged on the order's timeline (who, when, old → new).
/// Every method expects `db` to be a write transaction.
struct OrderChanges {
    let db: any Database
    let now: Date

    /// Largest goods total or shipping fee a change may set: ¥1,000,000.00.
    static let maxFen: Int64 = 100_000_000

    static func validate(_ input: PriceChangeInput) throws -> (goods: Money?, shipping: Money?, reason: String) {
        var issues: [APIError.FieldIssue] = []
        if let fen = input.goodsTotalFen, !(1...maxFen).contains(fen) {
            issues.append(.init("goodsTotalFen", .init("商品金额需在 ¥0.01 至 ¥1,000,000.00 之间", "The goods total must be CN¥0.01 to CN¥1,000,000.00")))
        }
        if let fen = input.shippingFeeFen, !(0...maxFen).contains(fen) {
            issues.append(.init("shippingFeeFen", .init("运费需在 ¥0.00 至 ¥1,000,000.00 之间", "The shipping fee must be CN¥0.00 to CN¥1,000,000.00")))
        }
        let reason = (input.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.fits(input.reason ?? "", max: 100) {
            issues.append(.init("reason", .init("原因最多 100 个字", "The reason may have at most 100 characters")))
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        guard input.goodsTotalFen != nil || input.shippingFeeFen != nil else { throw OrderChangeRefusal.nothingChanged }
        return (input.goodsTotalFen.map(Money.init(fen:)), input.shippingFeeFen.map(Money.init(fen:)), reason)
    }

    /// Sets a new goods total and/or shipping fee on an unpaid order. The difference is spread over
    /// the lines (`PriceChange.apply`), so refunds and commission follow the new paid amounts, and
    /// the checkout's payment changes by the same amount. Once the buyer has opened a provider's
    /// cashier the amount there is fixed, so the price is too.
    func changePrice(_ order: Order, _ input: PriceChangeInput, staffID: UUID) async throws {
        let (goods, shipping, reason) = try Self.validate(input)
        _ = try OrderStateMachine.apply(.changePrice, to: order.orderState, facts: OrderFacts(fulfilment: order.fulfilmentKind))
        let orderID = try order.requireID()
        guard order.fulfilmentKind == .express || shipping == nil || shipping == .zero else {
            throw APIError.validation([.init("shippingFeeFen", .init("自提和虚拟商品订单没有运费", "Pickup and virtual orders have no shipping fee"))])
        }
        // The platform already pays the shop this order's shipping (会员包邮): the buyer is not charged it again.
        if let shipping, shipping.fen > 0, try await MemberCheckout(db: db, now: now).shippingSubsidy(orderID: orderID).fen > 0 {
            throw APIError.validation([.init("shippingFeeFen", .init("会员包邮订单的运费由平台承担，不能向买家收取", "This order ships free for the member; the platform pays its shipping"))])
        }
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).sort(\.$position).all()
        let result = try PriceChange.apply(lines: lines.map { PricedLine(amount: Money(fen: $0.lineAmount), paid: Money(fen: $0.paidAmount)) },
                                           shippingFee: Money(fen: order.shippingFee), newGoodsTotal: goods, newShippingFee: shipping)
        let delta = result.payable.fen - order.payable
        let sql = try sqlDatabase(db)
        // The payment moves first and only while no provider holds its amount; this also orders
        // the change against a buyer choosing a method or paying from the balance at the same time.
        let moved = try await sql.raw("""
            UPDATE payments SET amount = amount + \(bind: delta)
            WHERE id = \(bind: order.paymentID) AND status = 'created' AND provider = '' AND amount + \(bind: delta) >= 1 RETURNING id
            """).all()
        guard !moved.isEmpty else {
            let payment = try await Payment.find(order.paymentID, on: db)
            if payment?.status == PaymentStatus.created.rawValue { throw OrderChangeRefusal.paymentStarted }
            throw OrderTransitionError.notAllowed(state: try await Order.find(orderID, on: db)?.orderState ?? .closed, action: .changePrice)
        }
        let updated = try await sql.raw("""
            UPDATE orders SET adjustment_amount = adjustment_amount + \(bind: result.goodsDelta.fen), shipping_fee = \(bind: result.shippingFee.fen),
            payable = \(bind: result.payable.fen) WHERE id = \(bind: orderID) AND state = 'pending_payment' AND payable = \(bind: order.payable) RETURNING id
            """).all()
        guard !updated.isEmpty else {
            throw OrderTransitionError.notAllowed(state: try await Order.find(orderID, on: db)?.orderState ?? .closed, action: .changePrice)
        }
        for (line, (adjustment, paid)) in zip(lines, zip(result.adjustments, result.paid)) where adjustment != .zero {
            try await sql.raw("""
                UPDATE order_lines SET adjustment_amount = adjustment_amount + \(bind: adjustment.fen), paid_amount = \(bind: paid.fen) WHERE id = \(bind: line.requireID())
                """).run()
        }
        let oldGoods = Money(fen: order.payable - order.shippingFee)
        var summary = "商品 \(oldGoods.formatted()) → \(Money(fen: result.payable.fen - result.shippingFee.fen).formatted())"
        if result.shippingDelta != .zero { summary += "，运费 \(Money(fen: order.shippingFee).formatted()) → \(result.shippingFee.formatted())" }
        if !reason.isEmpty { summary += "（\(reason)）" }
        order.adjustmentAmount += result.goodsDelta.fen
        order.shippingFee = result.shippingFee.fen
        order.payable = result.payable.fen
        try await OrderService(db: db, now: now).appendEvent(orderID: orderID, from: .pendingPayment, to: .pendingPayment,
                                                             action: OrderAction.changePrice.rawValue, actor: .staff(staffID), reason: summary)
    }

    /// Sends an express order that has not shipped yet to another address. The fee was agreed at
    /// checkout and stays; a province the shop's template does not deliver to is refused.
    func changeAddress(_ order: Order, _ input: AddressInput, cipher: PersonalDataCipher, staffID: UUID) async throws {
        let valid = try AddressService.validate(input)
        let from = order.orderState
        _ = try OrderStateMachine.apply(.changeAddress, to: from, facts: OrderFacts(fulfilment: order.fulfilmentKind))
        let orderID = try order.requireID()
        if let template = try await ShippingTemplateRecord.defaultTemplate(of: order.merchantID, on: db),
           template.undeliverable.contains(valid.province.code) {
            throw OrderChangeRefusal.regionNotDelivered(province: valid.province.zh)
        }
        let oldPhone = PhoneNumber((try? cipher.open(order.phoneCipher)) ?? "")?.masked ?? "***"
        let oldProvince = ChinaRegions.province(order.provinceCode)?.zh ?? order.provinceCode
        let updated = try await sqlDatabase(db).raw("""
            UPDATE orders SET receiver_name = \(bind: valid.receiverName), phone_cipher = \(bind: try cipher.seal(valid.phone.digits)),
            province_code = \(bind: valid.province.code), city = \(bind: valid.city), district = \(bind: valid.district), address_detail = \(bind: valid.detail)
            WHERE id = \(bind: orderID) AND state = \(bind: from.rawValue) RETURNING id
            """).all()
        guard !updated.isEmpty else {
            throw OrderTransitionError.notAllowed(state: try await Order.find(orderID, on: db)?.orderState ?? .closed, action: .changeAddress)
        }
        let old = "\(order.receiverName) \(oldPhone) \(oldProvince)\(order.city)\(order.district)\(order.addressDetail)"
        try await OrderService(db: db, now: now).appendEvent(orderID: orderID, from: from, to: from, action: OrderAction.changeAddress.rawValue,
                                                             actor: .staff(staffID), reason: "原地址：" + old)
    }
}
