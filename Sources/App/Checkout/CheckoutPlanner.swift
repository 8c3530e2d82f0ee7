import Crypto
import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct CheckoutInput: Content {
    struct Item: Content {
        let skuId: UUID
        let quantity: Int64
    }

    struct Delivery: Content {
        let merchantId: UUID
        /// express (the default) or pickup.
        let method: String
        let storeId: UUID?
    }

    /// Absent: the selected, buyable lines of the cart (which leave the cart when the order is placed).
    let items: [Item]?
    let addressId: UUID?
    let deliveries: [Delivery]?
    let note: String?
    /// Member coupon ids to use. Absent: the best combination the member holds
    /// (`Pricing.suggestCoupons`); empty: none.
    var couponIds: [UUID]? = nil
    /// Points to spend (积分抵扣), at most what the settings allow; absent or 0: none.
    var points: Int64? = nil
    /// Opens a group of this group-buy activity (no `groupId`) or joins one: one unit of the
    /// activity's SKU at the group price, with no coupons.
    var groupBuy: GroupBuyChoice? = nil
    /// Pays this bargain of the member's at its current price.
    var bargainId: UUID? = nil

    struct GroupBuyChoice: Content {
        let activityId: UUID
        let groupId: UUID?
    }
    /// A flash sale item (秒杀) to buy at its price: `items` is then absent or its one SKU, and the
    /// order takes the item's activity stock instead of the SKU's.
    var flashSaleItemId: UUID? = nil
    /// A goods item of the points mall (积分商城) to redeem: one unit of its SKU at the item's cash
    /// part plus the shop's shipping, its points spent when the order is placed; `items` is then
    /// absent or that one SKU with quantity 1, and no coupons or points deduction apply.
    var pointsMallItemId: UUID? = nil

    /// The same request again gives the same digest, whatever the key order of its JSON.
    var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// What a checkout will create, worked out before anything is written: the lines and their shops,
/// one order per shop and delivery, each order's shipping and the quote to the fen.
struct CheckoutPlan {
    struct Group {
        /// Stands for (merchant, fulfilment) in the quote, which groups by this id.
        let key: UUID
        let merchant: Merchant
        let fulfilment: FulfilmentKind
        let store: Store?
        var lines: [(sku: PurchasableSku, quantity: Int64)]
    }

    let groups: [Group]
    let quote: CheckoutQuote
    let address: Address?
    let fromCart: Bool
    let cartItemIDs: [UUID]
    let note: String
    /// The marketing quote the orders come from, and the coupons it uses.
    let pricing: PricingQuote
    let coupons: CouponChoice
    let points: PointsChoice
    /// The group this checkout opens or joins, or the bargain it pays.
    var activity: PlannedActivity? = nil
    /// The flash sale item this checkout buys, taken in the order's transaction.
    var flash: FlashPurchase? = nil
    /// The points-mall goods item this checkout redeems, taken in the order's transaction.
    var pointsMall: PointsMallPurchase? = nil
    /// 满赠 gifts reached, missed by a little, or run out.
    var gifts: [CheckoutGift] = []

    static let maxLines = 50
}

struct CheckoutPlanner {
    let db: any Database
    let memberID: UUID
    /// The request's clock (coupon validity is decided on it).
    var now: Date = Date()
    var locale: MallLocale = .zhHans
    /// A queued flash ticket's unit (`FlashSaleOrderBuilder`): used instead of judging a new purchase.
    var reservedFlash: FlashPurchase? = nil

    func plan(_ input: CheckoutInput) async throws -> CheckoutPlan {
        let note = (input.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.fits(input.note ?? "", max: 200) else {
            throw APIError.validation([.init("note", .init("备注最多 200 字", "The note has at most 200 characters"))])
        }
        // The lines asked for, or the cart's selection.
        var wanted: [(skuID: UUID, quantity: Int64, field: String)] = []
        var cartItemIDs: [UUID] = []
        let activity = try await ActivityCheckout(db: db, memberID: memberID, now: now).resolve(input)
        guard activity == nil || input.flashSaleItemId == nil else {
            throw APIError.validation([.init("flashSaleItemId", .init("一次结算只能参加一个活动", "One checkout joins one activity"))])
        }
        guard input.pointsMallItemId == nil || (activity == nil && input.flashSaleItemId == nil) else {
            throw APIError.validation([.init("pointsMallItemId", .init("一次结算只能参加一个活动", "One checkout joins one activity"))])
        }
        var flash: FlashPurchase?
        var mall: PointsMallPurchase?
        if let activity {
            wanted = [(activity.skuID, 1, "items[0]")]
        } else if let itemID = input.pointsMallItemId {
            // The cheap refusals (paused, outside its window, over the limit, sold out, too few points) first.
            let found = try await PointsMallService(db: db, now: now).purchase(itemID, memberID: memberID)
            if let items = input.items {
                guard items.count == 1, items[0].skuId == found.skuID, items[0].quantity == 1 else {
                    throw APIError.validation([.init("items", .init("积分兑换每单只能兑换该商品 1 件", "A points-mall redemption buys one unit of the item's SKU"))])
                }
            }
            mall = found
            wanted = [(found.skuID, 1, "items[0]")]
        } else if let itemID = input.flashSaleItemId {
            let items = input.items ?? []
            guard items.count <= 1 else {
                throw APIError.validation([.init("items", .init("秒杀下单只能购买一种商品", "A flash sale checkout buys one item"))])
            }
            let quantity = try CartService.validQuantity(items.first?.quantity ?? 1, field: "items[0].quantity")
            // The cheap refusals (not started, ended, paused, over the limit, sold out) before any other work.
            let found = if let reservedFlash, reservedFlash.itemID == itemID { reservedFlash }
                else { try await FlashSaleService(db: db, now: now).purchase(itemID, quantity: quantity, memberID: memberID) }
            if let item = items.first, item.skuId != found.skuID {
                throw APIError.validation([.init("items[0].skuId", .init("规格与秒杀商品不符", "The SKU is not the flash sale item's"))])
            }
            flash = found
            wanted.append((found.skuID, quantity, "items[0]"))
        } else if let items = input.items {
            guard items.count <= CheckoutPlan.maxLines else {
                throw APIError.validation([.init("items", .init("一次最多结算 \(CheckoutPlan.maxLines) 种商品", "At most \(CheckoutPlan.maxLines) products per checkout"))])
            }
            var seen = Set<UUID>()
            for (index, item) in items.enumerated() {
                _ = try CartService.validQuantity(item.quantity, field: "items[\(index)].quantity")
                guard seen.insert(item.skuId).inserted else {
                    throw APIError.validation([.init("items[\(index)].skuId", .init("同一商品规格只能出现一次", "Each SKU may appear once"))])
                }
                wanted.append((item.skuId, item.quantity, "items[\(index)]"))
            }
        } else {
            let selected = try await CartItem.query(on: db).filter(\.$memberID == memberID).filter(\.$selected == true)
                .sort(\.$createdAt).sort(\.$id).limit(CheckoutPlan.maxLines + 1).all()
            guard selected.count <= CheckoutPlan.maxLines else {
                throw APIError.validation([.init("items", .init("一次最多结算 \(CheckoutPlan.maxLines) 种商品", "At most \(CheckoutPlan.maxLines) products per checkout"))])
            }
            for item in selected {
                wanted.append((item.$sku.id, item.quantity, "cart"))
                if let id = item.id { cartItemIDs.append(id) }
            }
        }
        guard !wanted.isEmpty else { throw CheckoutRefusal.nothingToBuy }

        let skus = try await PurchasableSku.load(wanted.map(\.skuID), on: db)
        let deliveries = Dictionary((input.deliveries ?? []).map { ($0.merchantId, $0) }, uniquingKeysWith: { first, _ in first })
        for delivery in deliveries.values where !["express", "pickup"].contains(delivery.method) {
            throw APIError.validation([.init("deliveries", .init("配送方式只能是 express（快递）或 pickup（自提）", "method must be express or pickup"))])
        }

        var groups: [CheckoutPlan.Group] = []
        var stores: [UUID: Store] = [:]
        for line in wanted {
            guard let sku = skus[line.skuID], sku.isOnSale else { throw CheckoutRefusal.skuUnavailable(field: line.field + ".skuId") }
            // A flash line's units come from the activity's own stock, not the SKU's.
            if flash == nil, let problem = sku.problem(quantity: line.quantity) {
                throw CheckoutRefusal.notEnoughStock(field: line.field + ".quantity", problem: problem, stock: sku.sku.stock)
            }
            let merchantID = try sku.merchant.requireID()
            var fulfilment = FulfilmentKind.express
            var store: Store?
            if sku.product.kind == Product.Kind.service.rawValue {
                fulfilment = .virtual
            } else if let delivery = deliveries[merchantID], delivery.method == "pickup" {
                guard flash == nil else {
                    throw APIError.validation([.init("deliveries", .init("秒杀商品不支持门店自提", "Flash sale items cannot be picked up in a store"))])
                }
                fulfilment = .pickup
                guard let storeID = delivery.storeId else {
                    throw APIError.validation([.init("deliveries", .init("自提需选择门店", "Choose a store for pickup"))])
                }
                if stores[storeID] == nil {
                    guard let found = try await Store.query(on: db).filter(\.$id == storeID).filter(\.$merchant.$id == merchantID)
                        .filter(\.$active == true).first() else {
                        throw APIError.validation([.init("deliveries", .init("门店不存在或未营业", "No such open store"))])
                    }
                    stores[storeID] = found
                }
                store = stores[storeID]
            }
            if let index = groups.firstIndex(where: { $0.merchant.id == merchantID && $0.fulfilment == fulfilment }) {
                groups[index].lines.append((sku, line.quantity))
            } else {
                groups.append(.init(key: UUID(), merchant: sku.merchant, fulfilment: fulfilment, store: store, lines: [(sku, line.quantity)]))
            }
        }

        // Pickup needs the stock in that store.
        for group in groups where group.fulfilment == .pickup {
            guard let store = group.store, let storeID = store.id else { continue }
            let ids = group.lines.compactMap { $0.sku.sku.id }
            let held = try await StoreStock.query(on: db).filter(\.$store.$id == storeID).filter(\.$sku.$id ~~ ids).all()
            let stock = Dictionary(held.map { ($0.$sku.id, $0.stock) }, uniquingKeysWith: { first, _ in first })
            for line in group.lines where (stock[line.sku.sku.id ?? UUID()] ?? 0) < line.quantity {
                throw CheckoutRefusal.pickupUnavailable(field: "deliveries", store: store.name)
            }
        }

        var address: Address?
        if groups.contains(where: { $0.fulfilment == .express }) {
            guard let addressID = input.addressId else { throw CheckoutRefusal.addressRequired }
            address = try await AddressService.owned(addressID, memberID: memberID, on: db)
        }

        var shippingFees: [UUID: Money] = [:]
        for group in groups where group.fulfilment == .express {
            guard let address, let merchantID = group.merchant.id,
                  let template = try await ShippingTemplateRecord.defaultTemplate(of: merchantID, on: db) else { continue }
            let lines = try group.lines.map { line in
                ShippingLine(quantity: line.quantity, unitWeightGrams: Int64(line.sku.sku.weightGrams),
                             amount: try Money(fen: line.sku.sku.price).multiplied(by: line.quantity))
            }
            let fee: Result<Money, ShippingError> = Result { () throws(ShippingError) -> Money in
                try template.fee(to: address.provinceCode, provinceName: ChinaRegions.province(address.provinceCode)?.zh, lines: lines)
            }
            switch fee {
            case .success(let money):
                shippingFees[group.key] = money
            case .failure(.regionNotDelivered):
                throw CheckoutRefusal.regionNotDelivered(merchant: group.merchant.name, province: ChinaRegions.province(address.provinceCode)?.zh ?? address.provinceCode)
            case .failure(let other):
                throw other
            }
        }

        // Coupons are priced per shop (one shop coupon covers all its lines), the orders per shop and delivery.
        let (pricing, coupons, points) = try await CouponCheckout(db: db, memberID: memberID, now: now, locale: locale)
            .price(groups: groups, shippingFees: shippingFees, couponIds: activity == nil && mall == nil ? input.couponIds : [],
                   points: activity == nil && mall == nil ? input.points : nil,
                   exclusive: activity.map { [$0.skuID: $0.exclusive] } ?? flash.map { [$0.skuID: $0.exclusive] }
                       ?? mall.map { [$0.skuID: $0.exclusive] } ?? [:])
        var orderOf: [UUID: UUID] = [:]
        for group in groups { for line in group.lines { orderOf[line.sku.sku.id ?? UUID()] = group.key } }
        var feesAfterCoupons: [UUID: Money] = [:]
        for order in pricing.checkout.orders {
            guard let group = groups.first(where: { $0.merchant.id == order.merchantID && $0.fulfilment == .express }) else { continue }
            feesAfterCoupons[group.key] = order.shippingFee
        }
        let quote = try pricing.orders(orderOf: orderOf, keys: groups.map(\.key), shippingFees: feesAfterCoupons)
        return CheckoutPlan(groups: groups, quote: quote, address: address,
                            fromCart: input.items == nil && activity == nil && flash == nil && mall == nil,
                            cartItemIDs: cartItemIDs, note: note, pricing: pricing, coupons: coupons, points: points, activity: activity?.planned,
                            flash: flash, pointsMall: mall, gifts: try await GiftCheckout.resolve(pricing.gifts, groups: groups, on: db))
    }
}

/// Places a checkout, at most once per `Idempotency-Key`: the same key and body give back the
/// first payment, the same key with another body is refused. The API and the checkout page
/// (whose form carries a key per rendering) both place orders through here.
enum CheckoutPlacement {
    static func place(_ input: CheckoutInput, memberID: UUID, key: String?, req: Request) async throws -> (paymentID: UUID, placedNow: Bool) {
        let (cipher, now, digest) = (req.personalData, req.now, input.digest)
        let configuredMinutes = req.application.config.orderPayMinutes
        func replay() async throws -> UUID? {
            guard let key, let earlier = try await CheckoutRequest.query(on: req.db).filter(\.$memberID == memberID)
                .filter(\.$idempotencyKey == key).first() else { return nil }
            guard earlier.bodyDigest == digest else { throw CheckoutRefusal.idempotencyKeyReused }
            return earlier.paymentID
        }
        if let paymentID = try await replay() { return (paymentID, false) }
        do {
            // Planned before the write transaction, so the reads wait for no writer: the order is
            // what the buyer would have got a moment earlier. Stock, the one thing that must not
            // change in between, is taken by conditional updates inside the transaction.
            let plan = try await CheckoutPlanner(db: req.db, memberID: memberID, now: now, locale: req.locale).plan(input)
            // A flash order closes unpaid after its activity's minutes, so its unit soon sells again.
            let payMinutes = plan.flash.map { min($0.unpaidMinutes, configuredMinutes) } ?? configuredMinutes
            let paymentID = try await req.writeTransaction { db in
                let payment = try await OrderService(db: db, now: now).place(plan, memberID: memberID, cipher: cipher, payMinutes: payMinutes)
                if let key {
                    // A concurrent twin fails here on the unique key and then finds this payment.
                    let claim = CheckoutRequest()
                    claim.memberID = memberID
                    claim.idempotencyKey = key
                    claim.bodyDigest = digest
                    claim.paymentID = try payment.requireID()
                    claim.createdAt = now
                    try await claim.create(on: db)
                }
                return try payment.requireID()
            }
            return (paymentID, true)
        } catch {
            // A concurrent twin under the same key fails on the unique key — or earlier, on what
            // the first took (the last unit, the points), even while planning: either way it
            // finds the first payment.
            guard key != nil, let paymentID = try await replay() else { throw error }
            return (paymentID, false)
        }
    }
}
