import Foundation
import MallCore
import Vapor

/// What can go wrong between the cart and a placed order, worded for the buyer.
enum CheckoutRefusal: APIErrorConvertible {
    case skuUnavailable(field: String)
    case notEnoughStock(field: String, problem: CartLineProblem, stock: Int64)
    case cartFull
    case nothingToBuy
    case addressRequired
    case regionNotDelivered(merchant: String, province: String)
    case pickupUnavailable(field: String, store: String)
    case idempotencyKeyReused

    var apiError: APIError {
        switch self {
        case let .skuUnavailable(field):
            return APIError(.conflict, "checkout.sku_unavailable", .init("商品已下架或店铺暂停营业", "This product is no longer on sale"),
                            details: [.init(field, .init("商品已下架", "No longer on sale"))])
        case let .notEnoughStock(field, problem, stock):
            let message: LocalizedText = problem == .soldOut
                ? .init("商品已售罄", "Sold out")
                : .init("库存不足，仅剩 \(stock) 件", "Not enough stock: \(stock) left")
            return APIError(.conflict, "checkout.\(problem.rawValue)", message, details: [.init(field, message)])
        case .cartFull:
            return APIError(.conflict, "checkout.cart_full", .init("购物车最多放 \(CartService.maxItems) 种商品", "The cart holds at most \(CartService.maxItems) products"))
        case .nothingToBuy:
            return APIError(.unprocessableEntity, "checkout.nothing_to_buy", .init("请先选择要购买的商品", "Choose something to buy first"))
        case .addressRequired:
            return APIError(.unprocessableEntity, "checkout.address_required", .init("请选择收货地址", "Choose a delivery address"),
                            details: [.init("addressId", .init("请选择收货地址", "Choose a delivery address"))])
        case let .regionNotDelivered(merchant, province):
            return APIError(.unprocessableEntity, "checkout.region_not_delivered",
                            .init("「\(merchant)」不配送到\(province)", "\(merchant) does not deliver to \(province)"))
        case let .pickupUnavailable(field, store):
            return APIError(.conflict, "checkout.pickup_unavailable", .init("门店「\(store)」库存不足，无法自提", "\(store) does not have this in stock for pickup"),
                            details: [.init(field, .init("门店库存不足", "Not in stock at this store"))])
        case .idempotencyKeyReused:
            return APIError(.conflict, "idempotency_key_reused", .init("该 Idempotency-Key 已用于另一个请求", "This Idempotency-Key was already used for a different request"))
        }
    }
}
