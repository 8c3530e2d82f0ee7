import Fluent
import Foundation
import MallCore
import Vapor

/// One stored image: who uploaded it, what it really is, and where its bytes are.
final class UploadedImage: Model, @unchecked Sendable {
    static let schema = "images"

    enum Purpose: String, Codable { case product, licence, drawn, member }

    @ID(key: .id) var id: UUID?
    /// The owning merchant; none for a licence sent with an application.
    @OptionalParent(key: "merchant_id") var merchant: Merchant?
    /// The member who sent it (after-sales and review photos); none for a shop's pictures.
    @OptionalField(key: "member_id") var memberID: UUID?
    @Field(key: "storage_key") var storageKey: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "content_type") var contentType: String
    @Field(key: "byte_size") var byteSize: Int64
    @Field(key: "width") var width: Int
    @Field(key: "height") var height: Int
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

struct ImageDTO: Content {
    let id: UUID
    /// Pass this in `mainImage`, `gallery` or a SKU's `image`.
    let key: String
    let url: String
    let contentType: String
    let byteSize: Int64
    let width: Int
    let height: Int

    init(_ image: UploadedImage, storage: any ImageStorage) throws {
        id = try image.requireID()
        key = image.storageKey
        url = storage.url(for: image.storageKey)
        contentType = image.contentType
        byteSize = image.byteSize
        width = image.width
        height = image.height
    }
}

enum ImageError: Error, APIErrorConvertible {
    case rejected(ImageInspection.Problem, field: String)
    case unknownImage(field: String)

    var apiError: APIError {
        switch self {
        case let .rejected(problem, field):
            switch problem {
            case .empty:
                return APIError(.badRequest, "image.missing", .init("请选择要上传的图片", "Choose an image to upload"), details: [.init(field, .init("没有图片", "No image"))])
            case .tooLarge:
                return APIError(.payloadTooLarge, "image.too_large", .init("图片不能超过 5 MB", "Images can be at most 5 MB"), details: [.init(field, .init("图片超过 5 MB", "Larger than 5 MB"))])
            case .notAnImage:
                return APIError(.unsupportedMediaType, "image.unsupported", .init("只能上传 JPG、PNG、GIF 或 WebP 图片", "Only JPG, PNG, GIF or WebP images can be uploaded"),
                                details: [.init(field, .init("不是可识别的图片", "Not a recognised image"))])
            case .badDimensions:
                return APIError(.unprocessableEntity, "image.bad_dimensions", .init("图片尺寸需在 1-10000 像素之间", "Image sides must be 1–10,000 pixels"),
                                details: [.init(field, .init("尺寸无效", "Invalid dimensions"))])
            }
        case let .unknownImage(field):
            return .validation([.init(field, .init("图片不存在，请先上传", "No such image; upload it first"))])
        }
    }
}

enum ImageService {
    /// Checks the bytes, stores them and records the image. The file is written before the row,
    /// so a row never points at missing bytes; an unreferenced file is harmless.
    static func store(_ bytes: [UInt8], purpose: UploadedImage.Purpose, merchantID: UUID?, memberID: UUID? = nil, field: String = "file",
                      storage: any ImageStorage, on db: any Database, at now: Date) async throws -> UploadedImage {
        let info: ImageInfo
        do { info = try ImageInspection.check(bytes) } catch { throw ImageError.rejected(error, field: field) }
        let key = ImageKey.make(info.format)
        try await storage.put(bytes, key: key, contentType: info.format.contentType)
        let image = UploadedImage()
        image.$merchant.id = merchantID
        image.memberID = memberID
        image.storageKey = key
        image.purpose = purpose.rawValue
        image.contentType = info.format.contentType
        image.byteSize = Int64(bytes.count)
        image.width = info.width
        image.height = info.height
        image.createdAt = now
        try await image.create(on: db)
        return image
    }

    /// Checks that every key names an image the member uploaded; reports each bad one by field.
    static func requireOwnedByMember(_ keys: [(key: String, field: String)], memberID: UUID, on db: any Database) async throws -> [APIError.FieldIssue] {
        let wanted = Set(keys.map(\.key))
        guard !wanted.isEmpty else { return [] }
        let found = try await UploadedImage.query(on: db).filter(\.$storageKey ~~ Array(wanted)).filter(\.$memberID == memberID).all()
        let known = Set(found.map(\.storageKey))
        return keys.filter { !known.contains($0.key) }.map { ImageError.unknownImage(field: $0.field).apiError.details[0] }
    }

    /// Checks that every key names an image the merchant uploaded; reports each bad one by field.
    static func requireOwned(_ keys: [(field: String, key: String)], merchantID: UUID, on db: any Database) async throws -> [APIError.FieldIssue] {
        let wanted = Set(keys.map(\.key))
        guard !wanted.isEmpty else { return [] }
        let found = try await UploadedImage.query(on: db)
            .filter(\.$storageKey ~~ Array(wanted))
            .filter(\.$merchant.$id == merchantID)
            .all()
        let known = Set(found.map(\.storageKey))
        return keys.filter { !known.contains($0.key) }.map { ImageError.unknownImage(field: $0.field).apiError.details[0] }
    }
}

struct CreateImages: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(UploadedImage.schema)
            .id()
            .field("merchant_id", .uuid, .references(Merchant.schema, .id))
            .field("storage_key", .string, .required)
            .field("purpose", .string, .required)
            .field("content_type", .string, .required)
            .field("byte_size", .int64, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "storage_key")
            .create()
        // New columns one statement each: SQLite alters a table one column at a time.
        try await db.schema(Product.schema).field("main_image", .string, .required, .sql(.default(""))).update()
        try await db.schema(Product.schema).field("gallery", .string, .required, .sql(.default(""))).update()
        try await db.schema(Sku.schema).field("image", .string, .required, .sql(.default(""))).update()
        try await db.schema(MerchantApplication.schema).field("licence_image", .string, .required, .sql(.default(""))).update()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(MerchantApplication.schema).deleteField("licence_image").update()
        try await db.schema(Sku.schema).deleteField("image").update()
        try await db.schema(Product.schema).deleteField("gallery").update()
        try await db.schema(Product.schema).deleteField("main_image").update()
        try await db.schema(UploadedImage.schema).delete()
    }
}

/// Image routes: the public files and the merchant's upload.
struct ImageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("uploads", ":folder", ":file", use: serve)
    }

    /// Keys never change their bytes, so browsers may keep them for a year.
    @Sendable func serve(req: Request) async throws -> Response {
        let key = (req.parameters.get("folder") ?? "") + "/" + (req.parameters.get("file") ?? "")
        guard ImageKey.isValid(key), let format = ImageKey.format(of: key),
              let bytes = try await req.application.imageStorage.get(key) else { throw APIError.notFound }
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: format.contentType)
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=31536000, immutable")
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        return Response(status: .ok, headers: headers, body: .init(data: Data(bytes)))
    }
}

/// `POST /api/v1/merchant/images`: multipart with a `file` field, or the image itself as the body.
struct ImageAPIController: RouteCollection {
    static let maxRequest: ByteCount = "6mb"

    func boot(routes: any RoutesBuilder) throws {
        routes.on(.POST, "merchant", "images", body: .collect(maxSize: Self.maxRequest), use: upload)
        routes.on(.POST, "merchant-applications", "licence-images", body: .collect(maxSize: Self.maxRequest), use: uploadLicence)
        routes.on(.POST, "me", "images", body: .collect(maxSize: Self.maxRequest), use: uploadMemberImage)
    }

    /// A member's photo for an after-sale or a review, counted against a daily allowance.
    @Sendable func uploadMemberImage(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        try await req.takeAnonymousHit(RateLimits.memberImagesPerMember, key: memberID.uuidString)
        let image = try await ImageService.store(try Self.uploadedBytes(req), purpose: .member, merchantID: nil, memberID: memberID,
                                                 storage: req.application.imageStorage, on: req.db, at: req.now)
        return try await ImageDTO(image, storage: req.application.imageStorage).encodeResponse(status: .created, for: req)
    }

    @Sendable func upload(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        let image = try await ImageService.store(try Self.uploadedBytes(req), purpose: .product, merchantID: scope.merchantID,
                                                 storage: req.application.imageStorage, on: req.db, at: req.now)
        return try await ImageDTO(image, storage: req.application.imageStorage).encodeResponse(status: .created, for: req)
    }

    /// An applicant has no account yet; the licence is kept without an owner until approval.
    @Sendable func uploadLicence(req: Request) async throws -> Response {
        // Anyone may send a licence picture: bounded per address and for everyone together.
        try await req.takeAnonymousHit(RateLimits.licenceUploadsPerAddress)
        try await req.takeAnonymousHit(RateLimits.licenceUploadsGlobal, key: "all")
        let image = try await ImageService.store(try Self.uploadedBytes(req), purpose: .licence, merchantID: nil,
                                                 storage: req.application.imageStorage, on: req.db, at: req.now)
        return try await ImageDTO(image, storage: req.application.imageStorage).encodeResponse(status: .created, for: req)
    }

    static func uploadedBytes(_ req: Request, field: String = "file") throws -> [UInt8] {
        if req.headers.contentType.flatMap(BodyKind.of) == .multipart {
            struct Upload: Decodable { let file: File? }
            // A form without the file, or not a well-formed form at all, has no picture in it.
            guard let file = (try? req.content.decode(Upload.self))?.file else { throw ImageError.rejected(.empty, field: field) }
            return Array(file.data.readableBytesView)
        }
        return req.body.data.map { Array($0.readableBytesView) } ?? []
    }
}
