import Fluent
import SQLKit
import MallCore
import Vapor

/// Stores under `/api/v1`: shoppers find them, merchants keep them and their stock.
struct StoreAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("stores", use: nearby)
        routes.get("stores", ":storeID", use: store)
        routes.get("stores", ":storeID", "qrcode.png", use: qrPNG)
        routes.get("stores", ":storeID", "qrcode.svg", use: qrSVG)

        let merchant = routes.grouped("merchant", "stores")
        merchant.get(use: merchantStores)
        merchant.post(use: create)
        merchant.put(":storeID", use: update)
        merchant.get(":storeID", "stock", use: stock)
        merchant.put(":storeID", "stock", use: setStock)
    }

    @Sendable func nearby(req: Request) async throws -> [StoreDTO] {
        struct Query: Decodable { let lat: Double?; let lng: Double?; let limit: Int? }
        let query = try req.query.decode(Query.self)
        let limit = query.limit ?? 20
        guard (1...100).contains(limit) else { throw APIError.validation([.init("limit", .init("每页数量需在 1-100 之间", "limit must be between 1 and 100"))]) }
        if (query.lat == nil) != (query.lng == nil) || (query.lat.map { !Geo.isValid(lat: $0, lng: query.lng ?? 0) } ?? false) {
            throw APIError.validation([.init("lat", .init("请同时提供有效的 lat 和 lng", "Give a valid lat and lng together"))])
        }
        return try await StoreService.nearby(lat: query.lat, lng: query.lng, limit: limit, on: req.db)
    }

    static func publicStore(_ req: Request) async throws -> Store {
        guard let store = try await Store.query(on: req.db)
            .join(Merchant.self, on: \Store.$merchant.$id == \Merchant.$id)
            .filter(Merchant.self, \.$status == Merchant.Status.active.rawValue)
            .filter(\.$id == (try req.uuidParameter("storeID"))).filter(\.$active == true)
            .first() else { throw APIError.notFound }
        return store
    }

    @Sendable func store(req: Request) async throws -> StoreDTO {
        try StoreDTO(try await Self.publicStore(req))
    }

    /// The store page's address, which the printed code opens.
    static func storeURL(_ req: Request, _ id: UUID) -> String {
        req.application.config.publicBaseURL + "/stores/" + id.uuidString.lowercased()
    }

    @Sendable func qrPNG(req: Request) async throws -> Response {
        let store = try await Self.publicStore(req)
        let png = try QRCode.matrix(for: Self.storeURL(req, try store.requireID())).png()
        var headers = HTTPHeaders()
        headers.contentType = .png
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
        return Response(status: .ok, headers: headers, body: .init(data: Data(png)))
    }

    @Sendable func qrSVG(req: Request) async throws -> Response {
        let store = try await Self.publicStore(req)
        let svg = try QRCode.matrix(for: Self.storeURL(req, try store.requireID())).svg()
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "image", subType: "svg+xml")
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
        return Response(status: .ok, headers: headers, body: .init(string: svg))
    }

    @Sendable func merchantStores(req: Request) async throws -> [StoreDTO] {
        let scope = try req.merchantScope()
        return try await scope.query(Store.self, on: req.db).sort(\.$name).all().map { try StoreDTO($0) }
    }

    @Sendable func create(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        let input = try req.content.decode(StoreInput.self)
        let kind = try StoreService.validate(input)
        let store = Store()
        store.$merchant.id = scope.merchantID
        StoreService.apply(input, kind: kind, to: store)
        try await store.create(on: req.db)
        return try await StoreDTO(store).encodeResponse(status: .created, for: req)
    }

    @Sendable func update(req: Request) async throws -> StoreDTO {
        let scope = try req.merchantScope(.manageShop)
        let store = try await scope.find(Store.self, id: try req.uuidParameter("storeID"), on: req.db)
        let input = try req.content.decode(StoreInput.self)
        StoreService.apply(input, kind: try StoreService.validate(input), to: store)
        try await store.save(on: req.db)
        return try StoreDTO(store)
    }

    @Sendable func stock(req: Request) async throws -> [StoreStockDTO] {
        let scope = try req.merchantScope()
        let store = try await scope.find(Store.self, id: try req.uuidParameter("storeID"), on: req.db)
        let rows = try await StoreStock.query(on: req.db).filter(\.$store.$id == (try store.requireID())).with(\.$sku) { $0.with(\.$product) }.all()
        return rows.map { row in
            StoreStockDTO(skuId: row.$sku.id, skuCode: row.sku.code, productTitle: row.sku.product.title, stock: row.stock,
                          lowStockThreshold: row.lowStockThreshold, low: row.stock <= row.lowStockThreshold)
        }.sorted { $0.skuCode < $1.skuCode }
    }

    /// Sets the store's stock for the given SKUs, which must be the merchant's own.
    @Sendable func setStock(req: Request) async throws -> [StoreStockDTO] {
        let scope = try req.merchantScope(.manageShop)
        let store = try await scope.find(Store.self, id: try req.uuidParameter("storeID"), on: req.db)
        let storeID = try store.requireID()
        let input = try req.content.decode(StoreStockInput.self)
        guard input.items.count <= 1_000 else {
            throw APIError.validation([.init("items", .init("一次最多 1000 行", "At most 1,000 lines at a time"))])
        }
        var issues: [APIError.FieldIssue] = []
        for (index, item) in input.items.enumerated() {
            if !(0...CatalogService.maxStock).contains(item.stock) {
                issues.append(.init("items[\(index)].stock", .init("库存需在 0-100000000 之间", "Stock must be between 0 and 100,000,000")))
            }
            if let t = item.lowStockThreshold, !(0...CatalogService.maxStock).contains(t) {
                issues.append(.init("items[\(index)].lowStockThreshold", .init("预警库存需在 0-100000000 之间", "The threshold must be between 0 and 100,000,000")))
            }
        }
        let skuIDs = input.items.map(\.skuId)
        let owned = try await Sku.query(on: req.db).join(Product.self, on: \Sku.$product.$id == \Product.$id)
            .filter(Product.self, \.$merchant.$id == scope.merchantID).filter(\.$id ~~ skuIDs).all()
        let ownedIDs = Set(owned.compactMap(\.id))
        for (index, item) in input.items.enumerated() where !ownedIDs.contains(item.skuId) {
            issues.append(.init("items[\(index)].skuId", .init("没有这个 SKU", "No such SKU")))
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let now = req.now
        let titles = Dictionary(try await Product.query(on: req.db).filter(\.$id ~~ owned.map(\.$product.id)).all().compactMap { p in p.id.map { ($0, p.title) } },
                                uniquingKeysWith: { first, _ in first })
        // A SKU named twice keeps its last line. Existing rows are read once and everything is
        // written in a few multi-row upserts, so a thousand lines stay one short transaction.
        var latest: [UUID: StoreStockInput.Item] = [:]
        var order: [UUID] = []
        for item in input.items {
            if latest.updateValue(item, forKey: item.skuId) == nil { order.append(item.skuId) }
        }
        let skusByID = Dictionary(owned.compactMap { sku in sku.id.map { ($0, sku) } }, uniquingKeysWith: { first, _ in first })
        let (skuOrder, lines) = (order, latest)
        try await req.writeTransaction { db in
            let (order, latest) = (skuOrder, lines)
            let existing = try await StoreStock.query(on: db).filter(\.$store.$id == storeID).filter(\.$sku.$id ~~ order).all()
            let before = Dictionary(existing.map { ($0.$sku.id, $0) }, uniquingKeysWith: { first, _ in first })
            let sql = try sqlDatabase(db)
            var index = 0
            while index < order.count {
                let chunk = order[index..<min(index + 200, order.count)]
                index += chunk.count
                let rows = chunk.compactMap { skuID -> SQLQueryString? in
                    guard let item = latest[skuID] else { return nil }
                    let threshold = item.lowStockThreshold ?? before[skuID]?.lowStockThreshold ?? 0
                    return "(\(bind: UUID()), \(bind: storeID), \(bind: skuID), \(bind: item.stock), \(bind: threshold))"
                }
                try await sql.raw("""
                    INSERT INTO store_stock (id, store_id, sku_id, stock, low_stock_threshold) VALUES \(rows.joined(separator: ", "))
                    ON CONFLICT (store_id, sku_id) DO UPDATE SET stock = excluded.stock, low_stock_threshold = excluded.low_stock_threshold
                    """).run()
            }
            for skuID in order {
                guard let item = latest[skuID], let sku = skusByID[skuID] else { continue }
                let threshold = item.lowStockThreshold ?? before[skuID]?.lowStockThreshold ?? 0
                if threshold > 0, LowStockAlerts.crosses(old: before[skuID]?.stock, new: item.stock, threshold: threshold) {
                    try await LowStockAlerts.notify(merchantID: scope.merchantID, skuCode: sku.code, productTitle: titles[sku.$product.id] ?? "",
                                                    store: store.name, stock: item.stock, threshold: threshold, on: db, at: now)
                }
            }
        }
        return try await stock(req: req)
    }
}

/// The store page that the store's QR code opens.
struct StorePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("stores", ":storeID", use: store)
    }

    @Sendable func store(req: Request) async throws -> Response {
        struct Page: Encodable, Sendable {
            let id: String
            let name: String
            let kindLabel: String
            let address: String
            let hours: String
            let phone: String
            let merchantID: String
            let merchantName: String
        }
        let store = try await StoreAPIController.publicStore(req)
        let merchant = try await Merchant.find(store.$merchant.id, on: req.db)
        let t = PageStrings.dictionary(req.locale)
        let response = try await req.page("stores/store", Page(
            id: try store.requireID().uuidString.lowercased(), name: store.name, kindLabel: t["store_kind_\(store.kind)"] ?? store.kind,
            address: store.address, hours: store.hours, phone: store.phone,
            merchantID: store.$merchant.id.uuidString, merchantName: merchant?.name ?? ""))
        await DistributionPageController.storeVisit(req, store: store, response: response)
        return response
    }
}
