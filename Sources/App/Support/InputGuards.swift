import MallCore
import NIOConcurrencyHelpers
import NIOCore
import Vapor

/// The kinds of request body the app takes. Everything is classified through `BodyKind.of`, which
/// compares media types without regard to case, so `MULTIPART/FORM-DATA` is multipart everywhere.
enum BodyKind: String, Sendable, CaseIterable {
    case json, form, multipart, csv, image

    static func of(_ type: HTTPMediaType) -> BodyKind? {
        switch (type.type.lowercased(), type.subType.lowercased()) {
        case ("application", "json"): .json
        case ("application", "x-www-form-urlencoded"): .form
        case ("multipart", "form-data"): .multipart
        case ("text", "csv"), ("text", "plain"): .csv
        case ("image", "png"), ("image", "jpeg"), ("image", "gif"), ("image", "webp"), ("application", "octet-stream"): .image
        default: nil
        }
    }
}

/// What one route may be sent: which body kinds, how many bytes, how many form fields or parts.
/// Form decoders cost the square of the field count, so the count is checked before any decoding.
struct BodyRule: Sendable, Equatable {
    var kinds: Set<BodyKind>
    var maxBytes: Int
    var maxFields: Int

    static let small = BodyRule(kinds: [.json, .form], maxBytes: 64 << 10, maxFields: 64)
    /// The API takes JSON; forms are for pages.
    static let apiJSON = BodyRule(kinds: [.json], maxBytes: 64 << 10, maxFields: 0)
    static let productJSON = BodyRule(kinds: [.json], maxBytes: 1 << 20, maxFields: 0)
    static let productEditor = BodyRule(kinds: [.form], maxBytes: 1 << 20, maxFields: ProductEditorLimits.maxFormFields)
    static let picture = BodyRule(kinds: [.multipart, .image], maxBytes: 6 << 20, maxFields: 8)
    static let application = BodyRule(kinds: [.multipart, .form], maxBytes: 6 << 20, maxFields: 32)
    static let csvImport = BodyRule(kinds: [.csv], maxBytes: 10 << 20, maxFields: 0)
    static let csvUpload = BodyRule(kinds: [.multipart], maxBytes: 10 << 20, maxFields: 8)
    /// Payment providers' notifications: WeChat Pay posts JSON, Alipay a form of about 30 fields.
    static let wechatNotification = BodyRule(kinds: [.json], maxBytes: 64 << 10, maxFields: 0)
    static let alipayNotification = BodyRule(kinds: [.form], maxBytes: 64 << 10, maxFields: 128)

    /// Routes that take more than a small JSON or form body; `*` stands for one path segment.
    static let table: [(method: HTTPMethod, path: [String], rule: BodyRule)] = [
        (.POST, ["api", "v1", "merchant", "products"], .productJSON),
        (.PUT, ["api", "v1", "merchant", "products", "*"], .productJSON),
        (.POST, ["api", "v1", "merchant", "products", "import"], .csvImport),
        (.POST, ["api", "v1", "merchant", "orders", "ship-batch"], BodyRule(kinds: [.csv], maxBytes: 1 << 20, maxFields: 0)),
        (.PUT, ["api", "v1", "merchant", "stores", "*", "stock"], .productJSON),
        (.POST, ["api", "v1", "merchant", "images"], .picture),
        (.POST, ["api", "v1", "merchant-applications", "licence-images"], .picture),
        (.POST, ["api", "v1", "me", "images"], .picture),
        (.POST, ["merchant", "apply"], .application),
        (.POST, ["orders", "*", "review"], .application),
        (.POST, ["distribution", "apply"], .application),
        (.POST, ["distribution", "avatar"], .picture),
        (.POST, ["merchant", "products", "new"], .productEditor),
        (.POST, ["merchant", "products", "*", "edit"], .productEditor),
        (.POST, ["merchant", "products", "*", "images"], .picture),
        (.POST, ["merchant", "products", "import"], .csvUpload),
        (.POST, ["callbacks", "wechat"], .wechatNotification),
        (.POST, ["callbacks", "alipay"], .alipayNotification),
    ]

    static func rule(method: HTTPMethod, path: String) -> BodyRule {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        for entry in table where entry.method == method && entry.path.count == segments.count {
            if zip(entry.path, segments).allSatisfy({ $0 == "*" || $0 == $1 }) { return entry.rule }
        }
        return segments.first == "api" ? .apiJSON : .small
    }
}

enum ProductEditorLimits {
    /// SKU rows one editor submission may carry; the spec generator never makes more.
    static let maxSkuRows = SpecMatrix.maxCombinations
    /// Every row has about ten fields, plus the product's own fields and specs.
    static let maxFormFields = maxSkuRows * 12 + 200
}

/// Reads and checks every request before a route sees it:
/// - the Content-Type is rewritten with its type and subtype in lower case, so that Vapor's
///   decoder lookup (whose hash is case-sensitive) and every check here agree;
/// - each route takes only its body kinds (415), up to its size (413), within a deadline (408);
/// - form fields and multipart parts are counted before decoding; multipart part header names
///   must be ASCII (the parser would stop the process otherwise);
/// - a NUL character in the query or in a JSON, form or CSV body is refused (400).
struct InputGuardMiddleware: AsyncMiddleware {
    static let maxQueryBytes = 4096
    /// How long a body may take to arrive once its headers are in.
    let bodyDeadline: TimeAmount

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let query = request.url.query {
            guard query.utf8.count <= Self.maxQueryBytes else {
                throw APIError(.uriTooLong, "query_too_long", .init("查询参数过长", "The query string is too long"))
            }
            if query.range(of: "%00") != nil { throw APIError.unstorableText }
        }
        guard let raw = request.headers.first(name: .contentType) else {
            // No declared type: only an empty body is welcome.
            if try await hasBody(request) { throw Self.unsupported(BodyRule.rule(method: request.method, path: request.url.path)) }
            return try await next.respond(to: request)
        }
        request.headers.replaceOrAdd(name: .contentType, value: MediaTypes.normalized(raw))
        guard let type = request.headers.contentType else { throw Self.unsupported(.small) }

        let rule = BodyRule.rule(method: request.method, path: request.url.path)
        guard let body = try await collect(request, max: rule.maxBytes), body.readableBytes > 0 else {
            return try await next.respond(to: request)
        }
        guard let kind = BodyKind.of(type), rule.kinds.contains(kind) else { throw Self.unsupported(rule) }
        let bytes = body.readableBytesView
        switch kind {
        case .json:
            if Self.contains(bytes, Array(#"\u0000"#.utf8)) { throw APIError.unstorableText }
        case .form:
            if Self.contains(bytes, Array("%00".utf8)) { throw APIError.unstorableText }
            if FormFields.count(bytes) > rule.maxFields { throw Self.tooManyFields(rule) }
        case .csv:
            if bytes.contains(0) { throw APIError.unstorableText }
        case .multipart:
            guard let boundary = type.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 70 else { throw Self.badMultipart }
            let array = Array(bytes)
            guard MultipartCheck.headerNamesAreASCII(array, boundary: boundary) else { throw Self.badMultipart }
            if MultipartCheck.partCount(array, boundary: boundary) > rule.maxFields { throw Self.tooManyFields(rule) }
        case .image:
            break
        }
        return try await next.respond(to: request)
    }

    static let badMultipart = APIError(.badRequest, "bad_multipart", .init("上传内容格式不正确", "The upload is not a well-formed form"))

    static func unsupported(_ rule: BodyRule) -> APIError {
        let names = rule.kinds.map(MediaTypes.label).sorted().joined(separator: ", ")
        return APIError(.unsupportedMediaType, "unsupported_media_type",
                        .init("不支持的内容类型，此处接受：\(names)", "Unsupported content type; this address takes: \(names)"))
    }

    static func tooManyFields(_ rule: BodyRule) -> APIError {
        APIError(.payloadTooLarge, "too_many_fields", .init("提交的字段过多（最多 \(rule.maxFields) 个）", "Too many fields (at most \(rule.maxFields))"))
    }

    private func hasBody(_ request: Request) async throws -> Bool {
        guard let body = try await collect(request, max: BodyRule.small.maxBytes) else { return false }
        return body.readableBytes > 0
    }

    /// The whole body, read within the deadline: a caller trickling bytes does not hold a task.
    private func collect(_ request: Request, max: Int) async throws -> ByteBuffer? {
        if let data = request.body.data {
            guard data.readableBytes <= max else { throw Abort(.payloadTooLarge) }
            return data
        }
        if let length = request.headers.first(name: .contentLength).flatMap(Int.init), length > max { throw Abort(.payloadTooLarge) }
        let loop = request.eventLoop
        let promise = loop.makePromise(of: ByteBuffer?.self)
        // Whichever comes first, the body or the deadline, settles the promise; the other does nothing.
        let settled = NIOLockedValueBox(false)
        func settle() -> Bool { settled.withLockedValue { done in defer { done = true }; return !done } }
        let timer = loop.scheduleTask(in: bodyDeadline) {
            guard settle() else { return }
            promise.fail(APIError(.requestTimeout, "body_timeout", .init("请求内容发送超时", "The request body took too long to arrive")))
        }
        request.body.collect(max: max).hop(to: loop).whenComplete { result in
            timer.cancel()
            guard settle() else { return }
            promise.completeWith(result)
        }
        return try await promise.futureResult.get()
    }

    static func contains(_ bytes: ByteBufferView, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var index = bytes.startIndex
        let last = bytes.endIndex - needle.count
        while index <= last {
            if bytes[index] == first, bytes[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

/// Media types compared and written one way: type and subtype in lower case.
enum MediaTypes {
    /// The header with its type and subtype in lower case; parameters (a boundary) kept as sent.
    static func normalized(_ raw: String) -> String {
        guard let semicolon = raw.firstIndex(of: ";") else { return raw.lowercased() }
        return raw[..<semicolon].lowercased() + raw[semicolon...]
    }

    static func label(_ kind: BodyKind) -> String {
        switch kind {
        case .json: "application/json"
        case .form: "application/x-www-form-urlencoded"
        case .multipart: "multipart/form-data"
        case .csv: "text/csv"
        case .image: "image/png, image/jpeg, image/gif, image/webp"
        }
    }
}

/// A URL-encoded form read in one pass into its fields; `name[]` and repeated `name` collect in order.
struct FormFields: Sendable {
    private var values: [String: [String]] = [:]

    init(_ body: ByteBuffer?) {
        guard let body else { return }
        for pair in body.readableBytesView.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            var name = Self.decode(parts[0])
            if name.hasSuffix("[]") { name.removeLast(2) }
            values[name, default: []].append(parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    /// How many fields a body holds, counted before anything is decoded.
    static func count(_ bytes: ByteBufferView) -> Int {
        guard !bytes.isEmpty else { return 0 }
        return bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "&") ? 1 : 0) }
    }

    func first(_ name: String) -> String? { values[name]?.first }
    func all(_ name: String) -> [String]? { values[name] }

    private static func decode(_ bytes: ByteBufferView.SubSequence) -> String {
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "+", with: " ")
        return text.removingPercentEncoding ?? text
    }

    /// The row a field such as `skus[12].priceFen` belongs to; nil for any other field.
    static func rowIndex(_ field: String, prefix: String) -> Int? {
        guard field.hasPrefix(prefix + "[") else { return nil }
        let rest = field.dropFirst(prefix.count + 1)
        guard let close = rest.firstIndex(of: "]") else { return nil }
        return Int(rest[..<close])
    }
}

extension Request {
    private struct FormFieldsKey: StorageKey { typealias Value = FormFields }

    /// The URL-encoded body read once: the CSRF check and the handler share it.
    var formFields: FormFields {
        if let read = storage[FormFieldsKey.self] { return read }
        let read = FormFields(body.data)
        storage[FormFieldsKey.self] = read
        return read
    }
}
