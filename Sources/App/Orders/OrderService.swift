import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Who moved an order, for its timeline.
struct OrderActor: Sendable {
    let kind: String
    let id: UUID?

    static func member(_ id: UUID) -> OrderActor { OrderActor(kind: "member", id: id) }
    static func staff(_ id: UUID) -> OrderActor { OrderActor(kind: "staff", id: id) }
    static let system = OrderActor(kind: "system", id: nil)
    static let provider = OrderActor(kind: "provider", id: nil)
}

/// Places orders and moves them. Every method expects `db` to be a write transaction, so the state
/// change, the stock, the ledger and the timeline commit together or not at all.
struct OrderService {
    let db: any Database
    let now: Date

    /// Minutes a checkout may stay unpaid before the close job closes it.
    static let defaultPayMinutes = 30

    // MARK: placing

    /// Writes the plan: one payment, one order per group with its lines and first event, the stock
    /// taken, the cart lines removed. Stock is taken by conditional updates in SKU order, so two
    /// checkouts never wait on each other in a circle and stock never goes below zero.
    /// Everything the order paid went back; for one that paid nothing, every unit.
    func whollyRefunded(_ order: Order) async throws -> Bool {
        var unitsLeft: Int64 = 0
        if order.payable == 0 {
            let row = try await sqlDatabase(db).raw("""
                SELECT CAST(COALESCE(SUM(quantity - refunded_quantity), 0) AS BIGINT) AS units_left FROM order_lines
                WHERE order_id = \(bind: order.requireID())
                """).first()
            unitsLeft = try row?.decode(column: "units_left", as: Int64.self) ?? 0
        }
        return Refunds.orderWhollyRefunded(paid: Money(fen: order.payable), refunded: Money(fen: order.refundedAmount), unitsLeft: unitsLeft)
    }

    func place(_ plan: CheckoutPlan, memberID: UUID, cipher: PersonalDataCipher, payMinutes: Int) async throws -> Payment {
        // Per-member limits are counted again while placing: one checkout of the member at a time.
        // Taken before any insert, whose foreign keys share-lock the member's row.
        if plan.pointsMall != nil || plan.pricing.lines.contains(where: { $0.limitedTimeUnits > 0 }) { try await lockRow("members", memberID, on: db) }
        let payment = Payment()
        payment.paymentNo = Self.number(prefix: "P", at: now)
        payment.memberID = memberID
        payment.amount = plan.quote.total.fen
        payment.status = PaymentStatus.created.rawValue
        payment.provider = ""
        payment.providerTradeNo = ""
        payment.createdAt = now
        payment.expiresAt = now.addingTimeInterval(TimeInterval(payMinutes * 60))
        // Rows are written with plain INSERTs: placing runs under SQLite's one writer, and a
        // model's create costs more there than the statement itself.
        let paymentID = UUID()
        payment.id = paymentID
        payment.$id.exists = true
        let sql = try sqlDatabase(db)
        try await sql.raw("""
            INSERT INTO payments (id, payment_no, member_id, amount, status, provider, provider_trade_no, created_at, expires_at)
            VALUES (\(bind: paymentID), \(bind: payment.paymentNo), \(bind: memberID), \(bind: payment.amount), \(bind: payment.status), '', '',
                    \(bind: now), \(bind: payment.expiresAt))
            """).run()

        var centralStock: [(skuID: UUID, productID: UUID, quantity: Int64)] = []
        var storeStock: [(storeID: UUID, skuID: UUID, quantity: Int64, name: String)] = []
        // One random stem per checkout and the group's place after it, so the orders sort as planned.
        let stem = Self.number(prefix: "", at: now, randomDigits: 8)
        var sources: [String: DiscountSource] = [:]
        for line in plan.pricing.lines { for allocation in line.allocations { sources[allocation.source.discountID] = allocation.source } }
        var couponOrders: [UUID: UUID] = [:]
        var firstOrderID: UUID?
        var flashLine: (orderID: UUID, lineID: UUID)?
        var giftStock: [(gift: CheckoutGift, storeID: UUID?)] = []
        for (index, (group, quote)) in zip(plan.groups, plan.quote.orders).enumerated() {
            let order = Order()
            order.orderNo = stem + String(format: "%02d", index + 1)
            order.memberID = memberID
            order.merchantID = try group.merchant.requireID()
            order.paymentID = paymentID
            order.state = OrderState.pendingPayment.rawValue
            order.fulfilment = group.fulfilment.rawValue
            order.pickupStoreID = group.store?.id
            if group.fulfilment == .express, let address = plan.address {
                order.receiverName = address.receiverName
                order.phoneCipher = address.phoneCipher
                order.provinceCode = address.provinceCode
                order.city = address.city
                order.district = address.district
                order.addressDetail = address.detail
            } else {
                (order.receiverName, order.phoneCipher, order.provinceCode, order.city, order.district, order.addressDetail) = ("", "", "", "", "", "")
            }
            order.goodsAmount = quote.goodsAmount.fen
            order.discountAmount = quote.discountTotal.fen
            order.adjustmentAmount = 0
            order.shippingFee = quote.shippingFee.fen
            order.payable = quote.payable.fen
            order.refundedAmount = 0
            order.serviceRateBP = group.merchant.serviceRateBP
            order.serviceFee = 0
            order.feeReturned = 0
            order.buyerNote = plan.note
            order.placedAt = now
            order.openAfterSales = 0
            order.reviewed = false
            let orderID = UUID()
            try await sql.raw("""
                INSERT INTO orders (id, order_no, member_id, merchant_id, payment_id, state, fulfilment, pickup_store_id, receiver_name, phone_cipher,
                  province_code, city, district, address_detail, goods_amount, discount_amount, adjustment_amount, shipping_fee, payable,
                  refunded_amount, service_rate_bp, service_fee, fee_returned, buyer_note, placed_at, open_after_sales, reviewed)
                VALUES (\(bind: orderID), \(bind: order.orderNo), \(bind: memberID), \(bind: order.merchantID), \(bind: paymentID), \(bind: order.state),
                  \(bind: order.fulfilment), \(bind: order.pickupStoreID), \(bind: order.receiverName), \(bind: order.phoneCipher), \(bind: order.provinceCode),
                  \(bind: order.city), \(bind: order.district), \(bind: order.addressDetail), \(bind: order.goodsAmount), \(bind: order.discountAmount), 0,
                  \(bind: order.shippingFee), \(bind: order.payable), 0, \(bind: order.serviceRateBP), 0, 0, \(bind: order.buyerNote), \(bind: now), 0, \(bind: false))
                """).run()

            // Shipping the platform took off (a level's free shipping, a platform shipping coupon): the
            // platform pays the shop that fee (see `MemberCheckout`); a shop's own shipping coupon the shop bears.
            let platformShipping = (plan.pricing.shippingSavings[order.merchantID] ?? []).reduce(Int64(0)) { sum, saving in
                if case .platform = saving.source.payer { sum + saving.amount.fen } else { sum }
            }
            if group.fulfilment == .express, platformShipping > 0 {
                try await MemberCheckout(db: db, now: now).recordWaivedShipping(orderID: orderID, amount: Money(fen: platformShipping))
            }
            if group.fulfilment == .express {
                try await OrderShippingSavings.record(orderID: orderID, plan.pricing.shippingSavings[order.merchantID] ?? [], on: sql)
            }
            let skus = Dictionary(group.lines.compactMap { line in line.sku.sku.id.map { ($0, line.sku) } }, uniquingKeysWith: { first, _ in first })
            for (position, line) in quote.lines.enumerated() {
                guard let sku = skus[line.skuID] else { continue }
                let row = OrderLine()
                row.$order.id = orderID
                row.position = position
                row.productID = sku.sku.$product.id
                row.skuID = line.skuID
                row.skuCode = sku.sku.code
                row.title = sku.product.title
                row.specText = sku.sku.specText
                row.image = sku.sku.image.isEmpty ? sku.product.mainImage : sku.sku.image
                row.unitPrice = line.unitPrice.fen
                row.quantity = line.quantity
                row.weightGrams = Int64(sku.sku.weightGrams)
                row.lineAmount = line.amount.fen
                row.discountAmount = line.amount.fen - line.paid.fen
                row.adjustmentAmount = 0
                row.paidAmount = line.paid.fen
                row.allocationsJSON = String(decoding: try JSONEncoder().encode(line.allocations), as: UTF8.self)
                let lineID = UUID()
                try await sql.raw("""
                    INSERT INTO order_lines (id, order_id, position, product_id, sku_id, sku_code, title, spec_text, image, unit_price, quantity,
                      weight_grams, line_amount, discount_amount, adjustment_amount, paid_amount, allocations_json, refunded_quantity, refunded_amount)
                    VALUES (\(bind: lineID), \(bind: orderID), \(bind: position), \(bind: row.productID), \(bind: row.skuID), \(bind: row.skuCode),
                      \(bind: row.title), \(bind: row.specText), \(bind: row.image), \(bind: row.unitPrice), \(bind: row.quantity), \(bind: row.weightGrams),
                      \(bind: row.lineAmount), \(bind: row.discountAmount), 0, \(bind: row.paidAmount), \(bind: row.allocationsJSON), 0, 0)
                    """).run()
                // Each discount's share of the line, by source and payer, for refunds, statements and commission.
                for allocation in line.allocations where allocation.amount.fen > 0 {
                    guard let source = sources[allocation.discountID] else { continue }
                    let payerMerchant: UUID? = if case .merchant(let id) = source.payer { id } else { nil }
                    try await sql.raw("""
                        INSERT INTO order_line_discounts (id, order_id, order_line_id, source_kind, source_id, payer, payer_merchant_id, amount, reversed_amount, pays_commission)
                        VALUES (\(bind: UUID()), \(bind: orderID), \(bind: lineID), \(bind: source.kind.rawValue), \(bind: source.id),
                          \(bind: payerMerchant == nil ? "platform" : "merchant"), \(bind: payerMerchant), \(bind: allocation.amount.fen), 0, \(bind: source.paysCommission))
                        """).run()
                    if source.kind == .coupon, let coupon = UUID(uuidString: source.id), couponOrders[coupon] == nil { couponOrders[coupon] = orderID }
                }
                // An activity that saved the line nothing still decides its commission: a zero row carries the switch.
                if let exclusive = plan.pricing.lines.first(where: { $0.skuID == line.skuID })?.exclusiveSource,
                   !line.allocations.contains(where: { $0.discountID == exclusive.discountID }) {
                    let payerMerchant: UUID? = if case .merchant(let id) = exclusive.payer { id } else { nil }
                    try await sql.raw("""
                        INSERT INTO order_line_discounts (id, order_id, order_line_id, source_kind, source_id, payer, payer_merchant_id, amount, reversed_amount, pays_commission)
                        VALUES (\(bind: UUID()), \(bind: orderID), \(bind: lineID), \(bind: exclusive.kind.rawValue), \(bind: exclusive.id),
                          \(bind: payerMerchant == nil ? "platform" : "merchant"), \(bind: payerMerchant), 0, 0, \(bind: exclusive.paysCommission))
                        """).run()
                }
                try await PromotionService.recordPurchases(plan.pricing.lines.first { $0.skuID == line.skuID }, memberID: memberID, orderID: orderID,
                                                           lineID: lineID, now: now, db: db)
                if let flash = plan.flash, flash.skuID == line.skuID {
                    // Its units come from the flash sale's own stock, taken last (below).
                    flashLine = (orderID, lineID)
                } else if group.fulfilment == .pickup, let storeID = group.store?.id {
                    storeStock.append((storeID, line.skuID, line.quantity, group.store?.name ?? ""))
                } else {
                    centralStock.append((line.skuID, sku.sku.$product.id, line.quantity))
                }
            }
            try await OrderSavings.record(orderID: orderID, steps: plan.pricing.steps,
                                          allocations: quote.lines.flatMap { $0.allocations.map { ($0.discountID, $0.amount.fen) } },
                                          shipping: group.fulfilment == .express ? plan.pricing.shippingSavings[order.merchantID] ?? [] : [],
                                          pointsUsed: plan.points.used, on: sql)
            for (offset, gift) in plan.gifts.enumerated() where gift.isAwarded && gift.groupKey == group.key {
                try await Self.insertGift(gift, orderID: orderID, position: quote.lines.count + offset, sql: sql)
                giftStock.append((gift, group.fulfilment == .pickup ? group.store?.id : nil))
            }
            try await appendEvent(orderID: orderID, from: nil, to: .pendingPayment, action: "place", actor: .member(memberID), reason: "")
            if firstOrderID == nil { firstOrderID = orderID }
        }

        for take in centralStock.sorted(by: { $0.skuID.uuidString < $1.skuID.uuidString }) {
            let taken = try await sql.raw("""
                UPDATE skus SET stock = stock - \(bind: take.quantity) WHERE id = \(bind: take.skuID) AND stock >= \(bind: take.quantity) RETURNING stock
                """).all()
            guard !taken.isEmpty else {
                let left = try await Sku.find(take.skuID, on: db)?.stock ?? 0
                throw CheckoutRefusal.notEnoughStock(field: "items", problem: left <= 0 ? .soldOut : .insufficientStock, stock: max(left, 0))
            }
            try await sql.raw("UPDATE products SET total_stock = total_stock - \(bind: take.quantity) WHERE id = \(bind: take.productID)").run()
        }
        for take in storeStock.sorted(by: { ($0.storeID.uuidString, $0.skuID.uuidString) < ($1.storeID.uuidString, $1.skuID.uuidString) }) {
            let taken = try await sql.raw("""
                UPDATE store_stock SET stock = stock - \(bind: take.quantity)
                WHERE store_id = \(bind: take.storeID) AND sku_id = \(bind: take.skuID) AND stock >= \(bind: take.quantity) RETURNING stock
                """).all()
            guard !taken.isEmpty else { throw CheckoutRefusal.pickupUnavailable(field: "deliveries", store: take.name) }
        }
        // Gifts last, after the goods: a gift taken meanwhile refuses the checkout, which the buyer confirms again.
        for take in giftStock {
            let taken = if let storeID = take.storeID {
                try await sql.raw("""
                    UPDATE store_stock SET stock = stock - \(bind: take.gift.quantity)
                    WHERE store_id = \(bind: storeID) AND sku_id = \(bind: take.gift.sku.requireID()) AND stock >= \(bind: take.gift.quantity) RETURNING stock
                    """).all()
            } else {
                try await sql.raw("""
                    UPDATE skus SET stock = stock - \(bind: take.gift.quantity)
                    WHERE id = \(bind: take.gift.sku.requireID()) AND stock >= \(bind: take.gift.quantity) RETURNING stock
                    """).all()
            }
            guard !taken.isEmpty else {
                throw APIError(.conflict, "promotion.gift_gone", .init("赠品「\(take.gift.product.title)」刚刚送完，请重新确认订单",
                                                                        "The gift \(take.gift.product.title) has just run out; please confirm the order again"))
            }
            if take.storeID == nil {
                try await sql.raw("UPDATE products SET total_stock = total_stock - \(bind: take.gift.quantity) WHERE id = \(bind: take.gift.product.requireID())").run()
            }
        }
        if let activity = plan.activity, let orderID = firstOrderID {
            try await ActivityOrders(db: db, now: now).placed(activity, orderID: orderID, memberID: memberID)
        }
        if !plan.coupons.chosen.isEmpty {
            // A shipping coupon has no line share: it is recorded on the checkout's first order.
            var orderOf = couponOrders
            for id in plan.coupons.chosen where orderOf[id] == nil { orderOf[id] = firstOrderID }
            try await CouponService(db: db, now: now).markUsed(plan.coupons.chosen, memberID: memberID, paymentID: paymentID, orderOf: orderOf)
        }
        if plan.pricing.pointsUsed > 0 {
            try await PointsService(db: db, now: now).spend(memberID, points: plan.pricing.pointsUsed, ref: PointsService.spendRef(paymentID: paymentID))
        }
        if plan.fromCart, !plan.cartItemIDs.isEmpty {
            try await CartItem.query(on: db).filter(\.$memberID == memberID).filter(\.$id ~~ plan.cartItemIDs).delete()
        }
        if let mall = plan.pointsMall, let orderID = firstOrderID {
            try await PointsMallService(db: db, now: now).take(mall, memberID: memberID, orderID: orderID)
        }
        if let flash = plan.flash, let flashLine {
            if flash.ticketID != nil {
                try await FlashSaleService.attach(flash, memberID: memberID, orderID: flashLine.orderID, lineID: flashLine.lineID, now: now, sql: sql)
            } else {
                try await FlashSaleService.take(flash, memberID: memberID, orderID: flashLine.orderID, lineID: flashLine.lineID, now: now, sql: sql)
            }
        }
        if payment.amount == 0 { try await PaymentService(db: db, now: now).settleNothingDue(payment) }
        return payment
    }

    /// A gift is a line of its own at no price: nothing paid, nothing refunded, no commission.
    static func insertGift(_ gift: CheckoutGift, orderID: UUID, position: Int, sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO order_lines (id, order_id, position, product_id, sku_id, sku_code, title, spec_text, image, unit_price, quantity,
              weight_grams, line_amount, discount_amount, adjustment_amount, paid_amount, allocations_json, refunded_quantity, refunded_amount,
              gift_activity_id)
            VALUES (\(bind: UUID()), \(bind: orderID), \(bind: position), \(bind: gift.product.requireID()), \(bind: gift.sku.requireID()),
              \(bind: gift.sku.code), \(bind: gift.product.title), \(bind: gift.sku.specText),
              \(bind: gift.sku.image.isEmpty ? gift.product.mainImage : gift.sku.image), 0, \(bind: gift.quantity),
              \(bind: Int64(gift.sku.weightGrams)), 0, 0, 0, 0, '[]', 0, 0, \(bind: gift.activityID))
            """).run()
    }

    /// Digits a person can read out: the time to the second, then random digits.
    /// (A shared calendar: a DateFormatter built per order cost more than the order's inserts.)
    static func number(prefix: String, at date: Date, randomDigits: Int = 10) -> String {
        let parts = CouponService.chinaCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let stamp = String(format: "%04d%02d%02d%02d%02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                           parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        var random = ""
        for _ in 0..<max(0, randomDigits) { random.append(Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8.random(in: 0...9)))) }
        return prefix + stamp + random
    }

    // MARK: moving

    /// Moves the order by `action` if its state allows, by a conditional update on the state it was
    /// read in: of two racing moves, one wins and the other is refused as the state no longer fits.
    @discardableResult
    func transition(_ order: Order, _ action: OrderAction, actor: OrderActor, reason: String = "", facts: OrderFacts? = nil,
                    stamp: String? = nil) async throws -> OrderState {
        let from = order.orderState
        let to = try OrderStateMachine.apply(action, to: from, facts: facts ?? OrderFacts(fulfilment: order.fulfilmentKind))
        guard to != from else { return to }
        let orderID = try order.requireID()
        let stampSQL: SQLQueryString = stamp.map { ", \(unsafeRaw: $0) = \(bind: now)" } ?? ""
        let moved = try await sqlDatabase(db).raw("""
            UPDATE orders SET state = \(bind: to.rawValue)\(stampSQL) WHERE id = \(bind: orderID) AND state = \(bind: from.rawValue) RETURNING id
            """).all()
        guard !moved.isEmpty else { throw OrderTransitionError.notAllowed(state: try await currentState(orderID), action: action) }
        order.state = to.rawValue
        try await appendEvent(orderID: orderID, from: from, to: to, action: action.rawValue, actor: actor, reason: reason)
        return to
    }

    private func currentState(_ orderID: UUID) async throws -> OrderState {
        try await Order.find(orderID, on: db)?.orderState ?? .closed
    }

    func appendEvent(orderID: UUID, from: OrderState?, to: OrderState, action: String, actor: OrderActor, reason: String) async throws {
        try await sqlDatabase(db).raw("""
            INSERT INTO order_events (id, order_id, from_state, to_state, action, actor_kind, actor_id, reason, created_at)
            VALUES (\(bind: UUID()), \(bind: orderID), \(bind: from?.rawValue), \(bind: to.rawValue), \(bind: action), \(bind: actor.kind),
                    \(bind: actor.id), \(bind: String(reason.prefix(200))), \(bind: now))
            """).run()
    }

    /// Ends an unpaid checkout: the payment closes, each of its orders is cancelled (by the buyer)
    /// or closed (timed out), and the stock goes back. Returns false when the payment was no longer
    /// open (paid meanwhile, or closed by someone else), and then changes nothing.
    @discardableResult
    func closeUnpaid(_ payment: Payment, action: OrderAction, actor: OrderActor, reason: String) async throws -> Bool {
        let paymentID = try payment.requireID()
        let closed = try await sqlDatabase(db).raw("""
            UPDATE payments SET status = \(bind: PaymentStatus.closed.rawValue), closed_at = \(bind: now)
            WHERE id = \(bind: paymentID) AND status = \(bind: PaymentStatus.created.rawValue) RETURNING id
            """).all()
        guard !closed.isEmpty else { return false }
        payment.status = PaymentStatus.closed.rawValue
        let orders = try await Order.query(on: db).filter(\.$paymentID == paymentID).sort(\.$orderNo).all()
        for order in orders where order.orderState == .pendingPayment {
            try await transition(order, action, actor: actor, reason: reason, stamp: "finished_at")
            try await returnStock(of: order)
            try await ActivityOrders(db: db, now: now).closed(orderID: order.requireID())
            try await PointsMallService(db: db, now: now).giveBack(orderID: order.requireID(), reason: action.rawValue)
        }
        try await CouponService(db: db, now: now).giveBack(paymentID: paymentID)
        let points = PointsService(db: db, now: now)
        let spent = try await points.checkoutPoints(paymentID: paymentID).spent
        try await points.giveBack(paymentID: paymentID, points: spent, returnRef: PointsService.spendRef(paymentID: paymentID) + ":return:close")
        return true
    }

    /// The buyer cancels an unpaid order, and with it the rest of its checkout (one payment).
    func cancelByBuyer(_ orderID: UUID, memberID: UUID) async throws {
        guard let order = try await Order.query(on: db).filter(\.$id == orderID).filter(\.$memberID == memberID).first() else { throw APIError.notFound }
        guard order.orderState == .pendingPayment, let payment = try await Payment.find(order.paymentID, on: db),
              try await closeUnpaid(payment, action: .cancel, actor: .member(memberID), reason: "buyer cancelled") else {
            throw OrderTransitionError.notAllowed(state: (try await Order.find(orderID, on: db))?.orderState ?? .closed, action: .cancel)
        }
    }

    /// Puts back what the order took: the flash sale's stock for a flash line, the store's stock for
    /// pickup, the SKU's otherwise. A SKU deleted since gets nothing back.
    func returnStock(of order: Order) async throws {
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == order.requireID()).all()
        let sql = try sqlDatabase(db)
        // A flash line's units go back to its activity instead.
        let flashLines = try await FlashSaleService.giveBack(orderID: order.requireID(), sql: sql)
        for line in lines.sorted(by: { $0.skuID.uuidString < $1.skuID.uuidString }) where !flashLines.contains(line.id ?? UUID()) {
            let quantity = line.quantity - line.refundedQuantity
            guard quantity > 0 else { continue }
            if order.fulfilmentKind == .pickup, let storeID = order.pickupStoreID {
                try await sql.raw("UPDATE store_stock SET stock = stock + \(bind: quantity) WHERE store_id = \(bind: storeID) AND sku_id = \(bind: line.skuID)").run()
            } else {
                try await sql.raw("UPDATE skus SET stock = stock + \(bind: quantity) WHERE id = \(bind: line.skuID)").run()
                try await sql.raw("UPDATE products SET total_stock = total_stock + \(bind: quantity) WHERE id = \(bind: line.productID)").run()
            }
        }
    }

    /// Records follow-up work in the same transaction; the topic and subject make it unique.
    func enqueue(_ topic: String, subject: UUID, payload: String = "") async throws {
        try await sqlDatabase(db).raw("""
            INSERT INTO outbox_messages (id, topic, subject_id, payload, created_at) VALUES
            (\(bind: UUID()), \(bind: topic), \(bind: subject), \(bind: payload), \(bind: now))
            ON CONFLICT (topic, subject_id) DO NOTHING
            """).run()
    }
}
