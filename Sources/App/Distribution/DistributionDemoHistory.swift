import Fluent
import Foundation
import MallCore
import Vapor

/// A fortnight of the demo mall's distribution, lived through the services with the clock of
/// those days: member 13800138000 is appointed a distributor, 13900139000 follows its link, is
/// topped up and buys five tins of the flagship store's goat milk and two bags of rice crackers,
/// which ship, arrive and complete after the after-sales window. The milk's commission is settled
/// and can be withdrawn; the crackers' stays frozen, held by the operator for a risk review.
enum DistributionDemoHistory {
    static let sharerPhone = "13800138000"
    static let buyerPhone = "13900139000"

    static func seed(app: Application) async throws {
        let db = app.db
        let cipher = app.personalData
        guard let sharerID = try await member(sharerPhone, app: app), let buyerID = try await member(buyerPhone, app: app),
              try await Distributor.find(sharerID, on: db) == nil,
              let boss = try await StaffUser.query(on: db).filter(\.$username == "admin").first(),
              let shopStaff = try await StaffUser.query(on: db).filter(\.$username == "nuannuan").first(),
              let milk = try await sku(titled: "佳贝艾特羊奶粉1段 800g", on: db), let crackers = try await sku(titled: "婴儿米饼 无添加", on: db) else { return }

        let original = app.clock
        let clock = ManualClock(original.now().addingTimeInterval(-14 * 86_400))
        app.clock = clock
        defer { app.clock = original }

        let orderID = try await app.writeGate.transaction(on: db) { tx -> UUID in
            let now = clock.now()
            // The demo's global rule (10 % and 5 %), unless the demo settings wrote it already.
            if try await CommissionRuleRecord.query(on: tx).filter(\.$scopeKey == CommissionRuleScope.global.storageKey).first() == nil {
                let rule = CommissionRule(scope: .global, level1: CommissionLevelRule(.rate(1_000)), level2: CommissionLevelRule(.rate(500)))
                let record = CommissionRuleRecord()
                record.scopeKey = rule.scope.storageKey
                record.merchantID = nil
                record.ruleJSON = String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
                record.updatedAt = now
                try await record.create(on: tx)
            }
            _ = try await DistributorService(db: tx, now: now).appoint(memberID: sharerID, staff: boss, ip: "seed")
            try await BindingService(db: tx, now: now).arrive(memberID: buyerID, distributorID: sharerID, trigger: .visit)
            _ = try await LedgerService(db: tx, now: now).postWithinTransaction(LedgerTransactionDraft(
                idempotencyKey: "seed:topup:\(buyerID.uuidString.lowercased())", kind: "member_topup", memo: "演示充值 demo top-up",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 500_000)),
                          .credit(try LedgerAccountKey(.memberBalance, .member(buyerID)), Money(fen: 500_000))]))
            let address = try await AddressService(db: tx, cipher: cipher, now: now).create(
                AddressInput(receiverName: "李四", phone: buyerPhone, provinceCode: "31", city: "上海市", district: "徐汇区", detail: "漕溪北路 88 号",
                             isDefault: true), memberID: buyerID)
            let input = CheckoutInput(items: [.init(skuId: try milk.requireID(), quantity: 5), .init(skuId: try crackers.requireID(), quantity: 2)],
                                      addressId: try address.requireID(), deliveries: nil, note: nil)
            let plan = try await CheckoutPlanner(db: tx, memberID: buyerID).plan(input)
            let payment = try await OrderService(db: tx, now: now).place(plan, memberID: buyerID, cipher: cipher, payMinutes: app.config.orderPayMinutes)
            try await PaymentService(db: tx, now: now).payWithBalance(payment)
            guard let order = try await Order.query(on: tx).filter(\.$paymentID == payment.requireID()).first() else { throw APIError.notFound }
            return try order.requireID()
        }
        _ = try await OutboxDispatcher.run(app)
        try await app.writeGate.transaction(on: db) { tx in
            let line = try await OrderLine.query(on: tx).filter(\.$order.$id == orderID).filter(\.$skuID == crackers.requireID()).first()
            guard let lineID = line?.id, let held = try await Commission.query(on: tx).filter(\.$orderLineID == lineID).first() else { return }
            _ = try await CommissionService(db: tx, now: clock.now()).setHeld(true, commissionID: held.requireID(), reason: "演示：风控复核 demo risk review",
                                                                           staff: boss, ip: "seed")
        }

        clock.advance(seconds: 86_400)
        try await app.writeGate.transaction(on: db) { tx in
            guard let order = try await Order.find(orderID, on: tx) else { return }
            _ = try await ShipmentService(db: tx, now: clock.now()).ship(
                order: order, ShipInput(parcels: [ParcelInput(carrierCode: "SF", trackingNo: "SF1400000000001", lines: nil)]),
                staffID: try shopStaff.requireID(), waybill: nil)
        }
        clock.advance(seconds: 2 * 86_400)
        try await app.writeGate.transaction(on: db) { tx in
            guard let order = try await Order.find(orderID, on: tx) else { return }
            let service = OrderService(db: tx, now: clock.now())
            _ = try await service.transition(order, .confirmReceipt, actor: .member(buyerID), stamp: "received_at")
            try await service.enqueue("order.received", subject: orderID)
        }
        _ = try await OutboxDispatcher.run(app)

        // The after-sales window passes: the order completes and the commission settles.
        clock.advance(seconds: Double(AfterSaleService.windowDays + 1) * 86_400)
        _ = try await OrderJobs.complete(app, settings: .init())
        _ = try await OutboxDispatcher.run(app)
    }

    private static func sku(titled title: String, on db: any Database) async throws -> Sku? {
        guard let product = try await Product.query(on: db).filter(\.$merchant.$id == DemoData.onboardedMerchantID).filter(\.$title == title).first() else {
            return nil
        }
        return try await Sku.query(on: db).filter(\.$product.$id == product.requireID()).first()
    }

    private static func member(_ phone: String, app: Application) async throws -> UUID? {
        guard let number = PhoneNumber(phone) else { return nil }
        return try await Member.query(on: app.db).filter(\.$phoneHash == app.personalData.lookupHash(number.digits)).first()?.id
    }
}
