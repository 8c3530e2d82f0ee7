import Fluent
import Foundation
import MallCore
import Vapor

struct AddressInput: Content {
    let receiverName: String?
    let phone: String?
    let provinceCode: String?
    let city: String?
    let district: String?
    let detail: String?
    let isDefault: Bool?
}

/// A member's addresses: at most `maxPerMember`, exactly one default while any exist.
struct AddressService {
    let db: any Database
    let cipher: PersonalDataCipher
    let now: Date

    static let maxPerMember = 20

    struct Valid {
        let receiverName: String
        let phone: PhoneNumber
        let province: ChinaRegions.Province
        let city: String
        let district: String
        let detail: String
    }

    static func validate(_ input: AddressInput) throws -> Valid {
        var issues: [APIError.FieldIssue] = []
        func text(_ raw: String?, _ field: String, max: Int, _ zh: String, _ en: String) -> String {
            let value = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if !TextLength.isFilled(raw ?? "", max: max) { issues.append(.init(field, .init(zh, en))) }
            return value
        }
        let name = text(input.receiverName, "receiverName", max: 20, "收货人需为 1-20 个字", "The receiver needs 1–20 characters")
        let phone = PhoneNumber(input.phone ?? "")
        if phone == nil { issues.append(.init("phone", .init("请填写正确的 11 位手机号", "Enter a valid 11-digit mobile number"))) }
        let province = ChinaRegions.province(input.provinceCode ?? "")
        if province == nil { issues.append(.init("provinceCode", .init("请选择省份", "Choose a province"))) }
        let city = text(input.city, "city", max: 20, "城市需为 1-20 个字", "The city needs 1–20 characters")
        let district = text(input.district, "district", max: 20, "区县需为 1-20 个字", "The district needs 1–20 characters")
        let detail = text(input.detail, "detail", max: 100, "详细地址需为 1-100 个字", "The street address needs 1–100 characters")
        guard issues.isEmpty, let phone, let province else { throw APIError.validation(issues) }
        return Valid(receiverName: name, phone: phone, province: province, city: city, district: district, detail: detail)
    }

    /// `db` must be a write transaction.
    func create(_ input: AddressInput, memberID: UUID) async throws -> Address {
        let valid = try Self.validate(input)
        let existing = try await Address.query(on: db).filter(\.$memberID == memberID).count()
        guard existing < Self.maxPerMember else {
            throw APIError(.conflict, "checkout.too_many_addresses", .init("最多保存 \(Self.maxPerMember) 个地址", "At most \(Self.maxPerMember) addresses can be kept"))
        }
        let address = Address()
        address.memberID = memberID
        address.createdAt = now
        try apply(valid, to: address)
        let makeDefault = existing == 0 || input.isDefault == true
        address.isDefault = makeDefault
        if makeDefault { try await clearDefault(memberID: memberID) }
        try await address.create(on: db)
        return address
    }

    /// `db` must be a write transaction.
    func update(_ id: UUID, _ input: AddressInput, memberID: UUID) async throws -> Address {
        let address = try await Self.owned(id, memberID: memberID, on: db)
        try apply(try Self.validate(input), to: address)
        if input.isDefault == true, !address.isDefault {
            try await clearDefault(memberID: memberID)
            address.isDefault = true
        }
        try await address.save(on: db)
        return address
    }

    /// `db` must be a write transaction. Removing the default makes the newest remaining one the default.
    func delete(_ id: UUID, memberID: UUID) async throws {
        let address = try await Self.owned(id, memberID: memberID, on: db)
        try await address.delete(on: db)
        if address.isDefault,
           let next = try await Address.query(on: db).filter(\.$memberID == memberID).sort(\.$createdAt, .descending).first() {
            next.isDefault = true
            try await next.save(on: db)
        }
    }

    static func owned(_ id: UUID, memberID: UUID, on db: any Database) async throws -> Address {
        guard let address = try await Address.query(on: db).filter(\.$id == id).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        return address
    }

    static func list(memberID: UUID, on db: any Database) async throws -> [Address] {
        try await Address.query(on: db).filter(\.$memberID == memberID)
            .sort(\.$isDefault, .descending).sort(\.$createdAt, .descending).all()
    }

    private func apply(_ valid: Valid, to address: Address) throws {
        address.receiverName = valid.receiverName
        address.phoneCipher = try cipher.seal(valid.phone.digits)
        address.provinceCode = valid.province.code
        address.city = valid.city
        address.district = valid.district
        address.detail = valid.detail
        address.updatedAt = now
    }

    private func clearDefault(memberID: UUID) async throws {
        try await Address.query(on: db).filter(\.$memberID == memberID).filter(\.$isDefault == true)
            .set(\.$isDefault, to: false).update()
    }
}
