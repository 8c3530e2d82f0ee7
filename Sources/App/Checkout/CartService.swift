import Fluent
import Foundation
import MallCore
import Vapor

/// Why a cart line cannot be bought as it stands; `nil` when it can.
enum CartLineProblem: String, Codable, Sendable {
    /// The product is off the shelf, or its shop is suspended.
    case unavailable
    case soldOut = "sold_out"
    case insufficientStock = "insufficient_stock"
}

/// A SKU with what a buyer needs to decide: its product and shop, read together.
struct PurchasableSku: Sendable {
    let sku: Sku
    let product: Product
    let merchant: Merchant

    var isOnSale: Bool { product.onShelf && merchant.status == Merchant.Status.active.rawValue }

    func problem(quantity: Int64) -> CartLineProblem? {
        if !isOnSale { return .unavailable }
        if sku.stock <= 0 { return .soldOut }
        if sku.stock < quantity { return .insufficientStock }
        return nil
    }

    static func load(_ ids: [UUID], on db: any Database) async throws -> [UUID: PurchasableSku] {
        guard !ids.isEmpty else { return [:] }
        let skus = try await Sku.query(on: db).filter(\.$id ~~ ids).with(\.$product) { $0.with(\.$merchant) }.all()
        var found: [UUID: PurchasableSku] = [:]
        for sku in skus {
            guard let id = sku.id else { continue }
            found[id] = PurchasableSku(sku: sku, product: sku.product, merchant: sku.product.merchant)
        }
        return found
    }
}

extension Sku {
    /// "红 / M" in the order the specs were defined; "" for a product without specs.
    var specText: String {
        specKey.split(separator: ";").compactMap { pair in pair.split(separator: ":", maxSplits: 1).last.map(String.init) }
            .joined(separator: " / ")
    }
}

struct CartAddInput: Content {
    let skuId: UUID
    let quantity: Int64?
}

struct CartChangeInput: Content {
    let quantity: Int64?
    let selected: Bool?
}

struct CartSelectInput: Content {
    /// The items to change; absent means every item in the cart.
    let itemIds: [UUID]?
    let selected: Bool
}

/// A member's cart: at most `maxItems` SKUs of at most `maxQuantity` each.
struct CartService {
    let db: any Database
    let now: Date

    static let maxItems = 100
    static let maxQuantity: Int64 = 999

    static func validQuantity(_ quantity: Int64?, field: String = "quantity") throws -> Int64 {
        let quantity = quantity ?? 1
        guard (1...maxQuantity).contains(quantity) else {
            throw APIError.validation([.init(field, .init("数量需在 1-\(maxQuantity) 之间", "The quantity must be 1–\(maxQuantity)"))])
        }
        return quantity
    }

    /// Adds to the line of that SKU, or starts one. `db` must be a write transaction.
    func add(_ input: CartAddInput, memberID: UUID) async throws -> CartItem {
        let quantity = try Self.validQuantity(input.quantity)
        guard let purchasable = try await PurchasableSku.load([input.skuId], on: db)[input.skuId], purchasable.isOnSale else {
            throw CheckoutRefusal.skuUnavailable(field: "skuId")
        }
        let existing = try await CartItem.query(on: db).filter(\.$memberID == memberID).filter(\.$sku.$id == input.skuId).first()
        let total = min((existing?.quantity ?? 0) + quantity, Self.maxQuantity)
        if let problem = purchasable.problem(quantity: total) {
            throw CheckoutRefusal.notEnoughStock(field: "quantity", problem: problem, stock: purchasable.sku.stock)
        }
        if let existing {
            existing.quantity = total
            existing.selected = true
            existing.updatedAt = now
            try await existing.save(on: db)
            return existing
        }
        let count = try await CartItem.query(on: db).filter(\.$memberID == memberID).count()
        guard count < Self.maxItems else { throw CheckoutRefusal.cartFull }
        let item = CartItem()
        item.memberID = memberID
        item.$sku.id = input.skuId
        item.quantity = total
        item.selected = true
        item.priceWhenAdded = purchasable.sku.price
        item.createdAt = now
        item.updatedAt = now
        try await item.create(on: db)
        return item
    }

    /// `db` must be a write transaction.
    func change(_ itemID: UUID, _ input: CartChangeInput, memberID: UUID) async throws {
        let item = try await Self.owned(itemID, memberID: memberID, on: db)
        if let quantity = input.quantity {
            let quantity = try Self.validQuantity(quantity)
            if let purchasable = try await PurchasableSku.load([item.$sku.id], on: db)[item.$sku.id],
               let problem = purchasable.problem(quantity: quantity), problem == .insufficientStock {
                throw CheckoutRefusal.notEnoughStock(field: "quantity", problem: problem, stock: purchasable.sku.stock)
            }
            item.quantity = quantity
        }
        if let selected = input.selected { item.selected = selected }
        item.updatedAt = now
        try await item.save(on: db)
    }

    func select(_ input: CartSelectInput, memberID: UUID) async throws {
        var query = CartItem.query(on: db).filter(\.$memberID == memberID)
        if let ids = input.itemIds {
            guard ids.count <= Self.maxItems else { throw APIError.validation([.init("itemIds", .init("最多 \(Self.maxItems) 项", "At most \(Self.maxItems) items"))]) }
            query = query.filter(\.$id ~~ ids)
        }
        try await query.set(\.$selected, to: input.selected).set(\.$updatedAt, to: now).update()
    }

    func remove(_ itemIDs: [UUID], memberID: UUID) async throws {
        guard !itemIDs.isEmpty else { return }
        try await CartItem.query(on: db).filter(\.$memberID == memberID).filter(\.$id ~~ itemIDs).delete()
    }

    static func owned(_ id: UUID, memberID: UUID, on db: any Database) async throws -> CartItem {
        guard let item = try await CartItem.query(on: db).filter(\.$id == id).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return item
    }

    /// The cart as the buyer sees it, grouped by shop in the order the shops were first added to.
    static func view(memberID: UUID, on db: any Database, locale: MallLocale, storage: any ImageStorage) async throws -> CartDTO {
        let items = try await CartItem.query(on: db).filter(\.$memberID == memberID).sort(\.$createdAt).sort(\.$id).all()
        let skus = try await PurchasableSku.load(items.map { $0.$sku.id }, on: db)
        var groups: [CartDTO.Group] = []
        var selectedCount: Int64 = 0
        var selectedTotal = Money.zero
        for item in items {
            guard let purchasable = skus[item.$sku.id], let itemID = item.id else { continue }
            let problem = purchasable.problem(quantity: item.quantity)
            let line = CartDTO.Item(item: item, itemID: itemID, purchasable, problem: problem, locale, storage: storage)
            if item.selected, problem == nil {
                selectedCount += item.quantity
                selectedTotal = try selectedTotal.adding(try Money(fen: purchasable.sku.price).multiplied(by: item.quantity))
            }
            let merchantID = purchasable.product.$merchant.id
            if let index = groups.firstIndex(where: { $0.merchantId == merchantID }) {
                groups[index].items.append(line)
            } else {
                groups.append(.init(merchantId: merchantID, merchantName: purchasable.merchant.name, items: [line]))
            }
        }
        return CartDTO(groups: groups, itemCount: items.count, selectedQuantity: selectedCount, selectedTotal: .init(selectedTotal, locale))
    }
}

struct CartDTO: Content {
    struct Item: Content {
        let id: UUID
        let skuId: UUID
        let productId: UUID
        let title: String
        let specText: String
        let image: ImageRef?
        let price: MoneyDTO
        let priceWhenAdded: MoneyDTO
        /// "up", "down" or "same" against the price when it was added.
        let priceChange: String
        let quantity: Int64
        let stock: Int64
        let selected: Bool
        let problem: CartLineProblem?

        init(item: CartItem, itemID: UUID, _ p: PurchasableSku, problem: CartLineProblem?, _ locale: MallLocale, storage: any ImageStorage) {
            id = itemID
            skuId = item.$sku.id
            productId = p.sku.$product.id
            title = p.product.title
            specText = p.sku.specText
            image = ImageRef(p.sku.image.isEmpty ? p.product.mainImage : p.sku.image, storage)
            price = .init(Money(fen: p.sku.price), locale)
            priceWhenAdded = .init(Money(fen: item.priceWhenAdded), locale)
            priceChange = p.sku.price > item.priceWhenAdded ? "up" : p.sku.price < item.priceWhenAdded ? "down" : "same"
            quantity = item.quantity
            stock = p.sku.stock
            selected = item.selected
            self.problem = problem
        }
    }

    struct Group: Content {
        let merchantId: UUID
        let merchantName: String
        var items: [Item]
    }

    let groups: [Group]
    let itemCount: Int
    let selectedQuantity: Int64
    let selectedTotal: MoneyDTO
}
