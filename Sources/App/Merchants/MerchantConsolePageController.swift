import Fluent
import MallCore
import Vapor

/// The merchant console's home: the shop, its products and stores, staff and messages.
struct MerchantConsolePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("merchant", use: merchantHome)
    }

    struct MerchantHome: Encodable, Sendable {
        struct StaffRow: Encodable, Sendable { let username: String; let name: String; let role: String; let store: String }
        struct StoreOption: Encodable, Sendable { let id: String; let name: String }
        struct ProductRow: Encodable, Sendable { let id: String; let title: String; let price: String; let stock: Int64; let onShelf: Bool; let low: Bool }
        struct StoreRow: Encodable, Sendable { let id: String; let name: String; let kind: String; let skus: Int; let units: Int64; let low: Int }
        let merchantName: String
        let role: String
        let serviceRate: String
        let staff: [StaffRow]
        let products: [ProductRow]
        let stores: [StoreRow]
        let messages: [String]
        let canManage: Bool
        let canManageStaff: Bool
        let storeOptions: [StoreOption]
        /// A store clerk's own store, "" for everyone else.
        let clerkStore: String
    }

    @Sendable func merchantHome(req: Request) async throws -> Response {
        guard case .staff(let viewer, let role) = req.principal, !role.isPlatform else { return req.redirect(to: "/merchant/login") }
        let scope = try req.merchantScope()
        guard let merchant = try await Merchant.find(scope.merchantID, on: req.db) else { throw APIError.notFound }
        let staff = try await scope.query(StaffUser.self, on: req.db).sort(\.$username).all()
        let t = PageStrings.dictionary(req.locale)
        let products = try await scope.query(Product.self, on: req.db).sort(\.$listedAt, .descending).limit(100).with(\.$skus).all()
        let stores = try await scope.query(Store.self, on: req.db).sort(\.$name).all()
        let storeIDs = stores.compactMap(\.id)
        let stock = try await StoreStock.query(on: req.db).filter(\.$store.$id ~~ storeIDs).all()
        let messages = try await scope.query(MerchantMessage.self, on: req.db).filter(\.$readAt == nil).sort(\.$createdAt, .descending).limit(10).all()
        return try await req.page("console/merchant", MerchantHome(
            merchantName: merchant.name,
            role: t["staff_role_\(role.rawValue)"] ?? role.rawValue,
            serviceRate: PageFormat.percent(BasisPoints(merchant.serviceRateBP)),
            staff: staff.map { member in
                .init(username: member.username, name: member.displayName, role: t["staff_role_\(member.role)"] ?? member.role,
                      store: stores.first { $0.id == member.$store.id }?.name ?? "")
            },
            products: products.map { product in
                .init(id: product.id?.uuidString ?? "", title: product.title, price: Money(fen: product.minPrice).formatted(req.locale),
                      stock: product.totalStock, onShelf: product.onShelf,
                      low: product.skus.contains { $0.stock <= $0.lowStockThreshold })
            },
            stores: stores.map { store in
                let rows = stock.filter { $0.$store.id == store.id }
                return .init(id: store.id?.uuidString.lowercased() ?? "", name: store.name, kind: t["store_kind_\(store.kind)"] ?? store.kind,
                             skus: rows.count, units: rows.reduce(0) { $0 + $1.stock }, low: rows.filter { $0.stock <= $0.lowStockThreshold }.count)
            },
            messages: messages.map(\.title),
            canManage: role.can(.manageShop),
            canManageStaff: role.can(.manageShopStaff),
            storeOptions: stores.map { .init(id: $0.id?.uuidString ?? "", name: $0.name) },
            clerkStore: stores.first { $0.id == viewer.$store.id }?.name ?? ""))
    }
}
