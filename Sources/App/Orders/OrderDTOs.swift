import Foundation
import MallCore
import Vapor

struct OrderLineDTO: Content {
    let id: UUID
    let productId: UUID
    let skuId: UUID
    let title: String
    let specText: String
    let image: ImageRef?
    let unitPrice: MoneyDTO
    let quantity: Int64
    let lineAmount: MoneyDTO
    let discountAmount: MoneyDTO
    let adjustmentAmount: MoneyDTO
    let paidAmount: MoneyDTO
    let refundedQuantity: Int64
    let refundedAmount: MoneyDTO
    /// Given free by a 满赠 activity.
    let isGift: Bool

    init(_ line: OrderLine, _ locale: MallLocale, storage: any ImageStorage) throws {
        id = try line.requireID()
        productId = line.productID
        skuId = line.skuID
        title = line.title
        specText = line.specText
        image = ImageRef(line.image, storage)
        unitPrice = .init(Money(fen: line.unitPrice), locale)
        quantity = line.quantity
        lineAmount = .init(Money(fen: line.lineAmount), locale)
        discountAmount = .init(Money(fen: line.discountAmount), locale)
        adjustmentAmount = .init(Money(fen: line.adjustmentAmount), locale)
        paidAmount = .init(Money(fen: line.paidAmount), locale)
        refundedQuantity = line.refundedQuantity
        refundedAmount = .init(Money(fen: line.refundedAmount), locale)
        isGift = line.giftActivityID != nil
    }
}

struct OrderEventDTO: Content {
    let state: String
    let stateLabel: String
    let action: String
    let actorKind: String
    let reason: String
    let at: Date
}

struct DeliveryAddressDTO: Content {
    let receiverName: String
    let phone: String
    let province: String
    let city: String
    let district: String
    let detail: String
}

struct OrderDTO: Content {
    let id: UUID
    let orderNo: String
    let state: String
    let stateLabel: String
    let fulfilment: String
    let merchantId: UUID
    let merchantName: String
    let paymentId: UUID
    let goodsAmount: MoneyDTO
    let discountAmount: MoneyDTO
    let adjustmentAmount: MoneyDTO
    let shippingFee: MoneyDTO
    let payable: MoneyDTO
    let refundedAmount: MoneyDTO
    let address: DeliveryAddressDTO?
    let pickupStoreId: UUID?
    let note: String
    let placedAt: Date
    let paidAt: Date?
    let lines: [OrderLineDTO]
    let timeline: [OrderEventDTO]?

    init(_ order: Order, merchantName: String, lines: [OrderLine], events: [OrderEvent]?, req: Request) throws {
        let locale = req.locale
        id = try order.requireID()
        orderNo = order.orderNo
        state = order.state
        stateLabel = order.orderState.label(locale, fulfilment: order.fulfilmentKind)
        fulfilment = order.fulfilment
        merchantId = order.merchantID
        self.merchantName = merchantName
        paymentId = order.paymentID
        goodsAmount = .init(Money(fen: order.goodsAmount), locale)
        discountAmount = .init(Money(fen: order.discountAmount), locale)
        adjustmentAmount = .init(Money(fen: order.adjustmentAmount), locale)
        shippingFee = .init(Money(fen: order.shippingFee), locale)
        payable = .init(Money(fen: order.payable), locale)
        refundedAmount = .init(Money(fen: order.refundedAmount), locale)
        if order.fulfilmentKind == .express, !order.phoneCipher.isEmpty {
            address = DeliveryAddressDTO(
                receiverName: order.receiverName,
                phone: PhoneNumber(try req.personalData.open(order.phoneCipher))?.masked ?? "***",
                province: ChinaRegions.province(order.provinceCode)?.name(locale) ?? order.provinceCode,
                city: order.city, district: order.district, detail: order.addressDetail)
        } else {
            address = nil
        }
        pickupStoreId = order.pickupStoreID
        note = order.buyerNote
        placedAt = order.placedAt
        paidAt = order.paidAt
        let storage = req.application.imageStorage
        self.lines = try lines.sorted { $0.position < $1.position }.map { try OrderLineDTO($0, locale, storage: storage) }
        timeline = events?.sorted { $0.createdAt < $1.createdAt }.map { event in
            let state = OrderState(rawValue: event.toState) ?? .closed
            // A change keeps the state; its row names the change instead.
            let label = switch OrderAction(rawValue: event.action) {
            case .changePrice: PageStrings.shopping["price_adjusted"]?(locale) ?? event.action
            case .changeAddress: PageStrings.shopping["address_changed"]?(locale) ?? event.action
            default: state.label(locale, fulfilment: order.fulfilmentKind)
            }
            return OrderEventDTO(state: event.toState, stateLabel: label, action: event.action,
                                 actorKind: event.actorKind, reason: event.reason, at: event.createdAt)
        }
    }
}

struct PaymentDTO: Content {
    let id: UUID
    let paymentNo: String
    let amount: MoneyDTO
    let status: String
    let method: String?
    let expiresAt: Date
    let paidAt: Date?
    /// Where to send the buyer to pay, for providers that pay on a page of their own.
    let payUrl: String?

    init(_ payment: Payment, _ locale: MallLocale, payUrl: String? = nil) throws {
        id = try payment.requireID()
        paymentNo = payment.paymentNo
        amount = .init(Money(fen: payment.amount), locale)
        status = payment.status
        method = payment.provider.isEmpty ? nil : payment.provider
        expiresAt = payment.expiresAt
        paidAt = payment.paidAt
        self.payUrl = payUrl
    }
}

struct CheckoutResultDTO: Content {
    let payment: PaymentDTO
    let orders: [OrderDTO]
}

struct CheckoutPreviewDTO: Content {
    struct Line: Content {
        let skuId: UUID
        let title: String
        let specText: String
        let image: ImageRef?
        let unitPrice: MoneyDTO
        let quantity: Int64
        let amount: MoneyDTO
        let paid: MoneyDTO
    }

    struct Gift: Content {
        let activityId: UUID
        let activityName: String
        let skuId: UUID
        let title: String
        let quantity: Int64
        /// awarded, below_threshold or out_of_stock.
        let status: String
        /// Below the threshold: what is missing.
        let missing: MoneyDTO?
        /// 「赠 润唇膏 ×1」, 「还差 ¥12.00 送 润唇膏」, 「赠品 润唇膏 已送完」.
        let text: String

        init(_ gift: CheckoutGift, _ locale: MallLocale) {
            activityId = gift.activityID
            activityName = gift.activityName
            skuId = gift.sku.id ?? UUID()
            title = gift.product.title
            quantity = gift.quantity
            switch gift.status {
            case .awarded: (status, missing) = ("awarded", nil)
            case .belowThreshold(let short): (status, missing) = ("below_threshold", MoneyDTO(short, locale))
            case .outOfStock: (status, missing) = ("out_of_stock", nil)
            }
            text = gift.text(locale)
        }
    }

    struct Group: Content {
        let merchantId: UUID
        let merchantName: String
        let fulfilment: String
        let storeId: UUID?
        let storeName: String?
        let lines: [Line]
        /// 满赠 for this order: awarded, below its threshold, or out of stock.
        let gifts: [Gift]
        let goodsAmount: MoneyDTO
        let discountAmount: MoneyDTO
        let shippingFee: MoneyDTO
        let payable: MoneyDTO
    }

    let orders: [Group]
    let goodsAmount: MoneyDTO
    let discountAmount: MoneyDTO
    let shippingFee: MoneyDTO
    let total: MoneyDTO
    let coupons: CheckoutCouponsDTO
    let points: CheckoutPointsDTO
    /// The member level's part: absent for a level that changes nothing.
    let member: CheckoutMemberDTO?
    /// A points-mall redemption: the points it spends and the cash part; absent otherwise.
    let pointsMall: CheckoutPointsMallDTO?

    init(_ plan: CheckoutPlan, _ locale: MallLocale, storage: any ImageStorage) {
        orders = zip(plan.groups, plan.quote.orders).map { group, quote in
            let skus = Dictionary(group.lines.compactMap { line in line.sku.sku.id.map { ($0, line.sku) } }, uniquingKeysWith: { first, _ in first })
            return Group(
                merchantId: group.merchant.id ?? UUID(), merchantName: group.merchant.name, fulfilment: group.fulfilment.rawValue,
                storeId: group.store?.id, storeName: group.store?.name,
                lines: quote.lines.map { line in
                    let sku = skus[line.skuID]
                    return Line(skuId: line.skuID, title: sku?.product.title ?? "", specText: sku?.sku.specText ?? "",
                                image: ImageRef(sku.map { $0.sku.image.isEmpty ? $0.product.mainImage : $0.sku.image } ?? "", storage),
                                unitPrice: .init(line.unitPrice, locale), quantity: line.quantity, amount: .init(line.amount, locale), paid: .init(line.paid, locale))
                },
                gifts: plan.gifts.filter { $0.groupKey == group.key }.map { Gift($0, locale) },
                goodsAmount: .init(quote.goodsAmount, locale), discountAmount: .init(quote.discountTotal, locale),
                shippingFee: .init(quote.shippingFee, locale), payable: .init(quote.payable, locale))
        }
        goodsAmount = .init(plan.quote.goodsAmount, locale)
        discountAmount = .init(plan.quote.discountTotal, locale)
        shippingFee = .init(plan.quote.shippingTotal, locale)
        total = .init(plan.quote.total, locale)
        coupons = CheckoutCouponsDTO(plan, locale)
        points = CheckoutPointsDTO(balance: plan.points.balance, usable: plan.points.usable, used: plan.points.used, value: .init(plan.points.value, locale))
        member = plan.pricing.member.map { CheckoutMemberDTO($0, pricing: plan.pricing, locale) }
        pointsMall = plan.pointsMall.map { CheckoutPointsMallDTO($0, plan: plan, locale) }
    }
}

/// The member level at checkout: 「会员折扣（白银会员 98折）-¥4.00」 and 「会员包邮」.
struct CheckoutMemberDTO: Content {
    let levelId: String
    let levelName: String
    /// The share of the price the member pays (9 800 = 98折).
    let discountBP: Int
    let discountLabel: String
    /// What the level took off the goods.
    let discount: MoneyDTO
    let freeShipping: Bool
    /// The shipping it waived (the platform pays it to the shop).
    let shippingWaived: MoneyDTO
    let shippingLabel: String?

    init(_ member: MemberPricing, pricing: PricingQuote, _ locale: MallLocale) {
        levelId = member.levelID
        levelName = member.levelName
        discountBP = member.discount.value
        discountLabel = member.discountLabel(locale)
        discount = .init(pricing.memberDiscount, locale)
        freeShipping = member.freeShipping
        shippingWaived = .init(Money(fen: pricing.shippingWaived.values.reduce(0) { $0 + $1.fen }), locale)
        shippingLabel = member.freeShipping ? member.shippingLabel(locale) : nil
    }
}

/// Points at checkout: what the member holds, the most this order lets them spend, what it spends and saves.
struct CheckoutPointsDTO: Content {
    let balance: Int64
    let usable: Int64
    let used: Int64
    let value: MoneyDTO
}
