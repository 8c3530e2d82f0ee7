import Fluent
import MallCore
import Vapor

/// A member's addresses and cart under `/api/v1/me`.
struct CheckoutAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let addresses = routes.grouped("me", "addresses")
        addresses.get(use: listAddresses)
        addresses.post(use: createAddress)
        addresses.put(":addressID", use: updateAddress)
        addresses.delete(":addressID", use: deleteAddress)
        routes.get("regions", use: regions)

        let cart = routes.grouped("me", "cart")
        cart.get(use: viewCart)
        cart.post("items", use: addToCart)
        cart.patch("items", ":itemID", use: changeItem)
        cart.delete("items", ":itemID", use: removeItem)
        cart.post("selection", use: select)
    }

    @Sendable func regions(req: Request) async throws -> [RegionDTO] {
        ChinaRegions.provinces.map { RegionDTO(code: $0.code, name: $0.name(req.locale)) }
    }

    @Sendable func listAddresses(req: Request) async throws -> [AddressDTO] {
        let member = try req.requireMember()
        return try await AddressService.list(memberID: member.requireID(), on: req.db).map { try AddressDTO($0, req) }
    }

    @Sendable func createAddress(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(AddressInput.self)
        let (cipher, now) = (req.personalData, req.now)
        let address = try await req.writeTransaction { db in
            try await AddressService(db: db, cipher: cipher, now: now).create(input, memberID: memberID)
        }
        return try await AddressDTO(address, req).encodeResponse(status: .created, for: req)
    }

    @Sendable func updateAddress(req: Request) async throws -> AddressDTO {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("addressID")
        let input = try req.content.decode(AddressInput.self)
        let (cipher, now) = (req.personalData, req.now)
        let address = try await req.writeTransaction { db in
            try await AddressService(db: db, cipher: cipher, now: now).update(id, input, memberID: memberID)
        }
        return try AddressDTO(address, req)
    }

    @Sendable func deleteAddress(req: Request) async throws -> HTTPStatus {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("addressID")
        let (cipher, now) = (req.personalData, req.now)
        try await req.writeTransaction { db in
            try await AddressService(db: db, cipher: cipher, now: now).delete(id, memberID: memberID)
        }
        return .noContent
    }

    @Sendable func viewCart(req: Request) async throws -> CartDTO {
        let memberID = try req.requireMember().requireID()
        return try await CartService.view(memberID: memberID, on: req.db, locale: req.locale, storage: req.application.imageStorage)
    }

    @Sendable func addToCart(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(CartAddInput.self)
        let now = req.now
        _ = try await req.writeTransaction { db in try await CartService(db: db, now: now).add(input, memberID: memberID) }
        return try await viewCart(req: req).encodeResponse(status: .created, for: req)
    }

    @Sendable func changeItem(req: Request) async throws -> CartDTO {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("itemID")
        let input = try req.content.decode(CartChangeInput.self)
        let now = req.now
        try await req.writeTransaction { db in try await CartService(db: db, now: now).change(id, input, memberID: memberID) }
        return try await viewCart(req: req)
    }

    @Sendable func removeItem(req: Request) async throws -> CartDTO {
        let memberID = try req.requireMember().requireID()
        let id = try req.uuidParameter("itemID")
        let now = req.now
        try await req.writeTransaction { db in
            _ = try await CartService.owned(id, memberID: memberID, on: db)
            try await CartService(db: db, now: now).remove([id], memberID: memberID)
        }
        return try await viewCart(req: req)
    }

    @Sendable func select(req: Request) async throws -> CartDTO {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(CartSelectInput.self)
        let now = req.now
        try await req.writeTransaction { db in try await CartService(db: db, now: now).select(input, memberID: memberID) }
        return try await viewCart(req: req)
    }
}

struct RegionDTO: Content {
    let code: String
    let name: String
}

struct AddressDTO: Content {
    let id: UUID
    let receiverName: String
    /// Masked: 138****8000.
    let phone: String
    let provinceCode: String
    let province: String
    let city: String
    let district: String
    let detail: String
    let isDefault: Bool

    init(_ address: Address, _ req: Request) throws {
        id = try address.requireID()
        receiverName = address.receiverName
        phone = PhoneNumber(try req.personalData.open(address.phoneCipher))?.masked ?? "***"
        provinceCode = address.provinceCode
        province = ChinaRegions.province(address.provinceCode)?.name(req.locale) ?? address.provinceCode
        city = address.city
        district = address.district
        detail = address.detail
        isDefault = address.isDefault
    }
}
