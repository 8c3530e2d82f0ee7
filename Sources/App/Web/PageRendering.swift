import Fluent
import MallCore
import Vapor

/// What every page's template receives besides its own data.
struct PageContext<Page: Encodable & Sendable>: Encodable, Sendable {
    let t: [String: String]
    let lang: String
    let otherLang: String
    let csrf: String
    let path: String
    /// This page's path and query, encoded for the language switcher's `back` parameter.
    let back: String
    let viewer: Viewer?
    let flash: String?
    let error: String?
    let fieldErrors: [String: String]
    /// Lines in a signed-in member's cart, for the tab bar; shoppers who are not staff see the bar.
    let cartCount: Int
    let showTabbar: Bool
    let page: Page
}

struct Viewer: Encodable, Sendable {
    let kind: String
    let name: String
    let isMember: Bool
    let isOperator: Bool
    let isMerchant: Bool
}

struct NoPageData: Encodable, Sendable {}

extension Request {
    var viewer: Viewer? {
        switch principal {
        case .member(let member):
            return Viewer(kind: "member", name: member.nickname, isMember: true, isOperator: false, isMerchant: false)
        case .staff(let staff, let role):
            return Viewer(kind: "staff", name: staff.displayName, isMember: false, isOperator: role.isPlatform, isMerchant: !role.isPlatform)
        case nil:
            return nil
        }
    }

    /// Renders `template` with the common context; `error` shows a banner, `status` a 4xx for failed forms.
    func page<Page: Encodable & Sendable>(_ template: String, _ data: Page, status: HTTPStatus = .ok, error: APIError? = nil) async throws -> Response {
        let locale = self.locale
        // Pages outside the session group (such as a 404 for an unknown path) have no session.
        let flash = hasSession ? session.data["flash"] : nil
        if flash != nil { session.data["flash"] = nil }
        var fieldErrors: [String: String] = [:]
        for issue in error?.details ?? [] { fieldErrors[issue.field] = issue.message(locale) }
        var cartCount = 0
        if case .member(let member) = principal, let memberID = member.id {
            cartCount = try await CartItem.query(on: db).filter(\.$memberID == memberID).count()
        }
        var showTabbar = true
        if case .staff = principal { showTabbar = false }
        let context = PageContext(
            t: PageStrings.dictionary(locale),
            lang: locale.rawValue,
            otherLang: locale == .zhHans ? MallLocale.en.rawValue : MallLocale.zhHans.rawValue,
            csrf: csrfToken,
            path: url.path,
            back: (url.path + (url.query.map { "?" + $0 } ?? "")).addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? "/",
            viewer: viewer,
            flash: flash,
            error: error.map { $0.message(locale) },
            fieldErrors: fieldErrors,
            cartCount: cartCount,
            showTabbar: showTabbar,
            page: data)
        let view = try await self.view.render(template, context)
        let response = try await view.encodeResponse(for: self)
        response.status = status
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        attachCSRFCookie(to: response)
        return response
    }

    /// The form page again after a refused submission: the message, the field errors and the
    /// refusal's status (and headers such as Retry-After). Server faults are not forms' to show.
    func pageAfterFailure<Page: Encodable & Sendable>(_ error: any Error, _ template: String, _ data: Page) async throws -> Response {
        let apiError = ErrorMapping.apiError(for: error)
        guard apiError.status.code < 500 else { throw error }
        let response = try await page(template, data, status: apiError.status, error: apiError)
        for (name, value) in apiError.headers { response.headers.replaceOrAdd(name: name, value: value) }
        return response
    }

    func flash(_ text: LocalizedText) {
        session.data["flash"] = text(locale)
    }
}

/// Every form POST must carry the session's CSRF token in `_csrf` (or `X-CSRF-Token`). The token
/// is read before anything is decoded: a URL-encoded form is scanned for the one field, and a
/// multipart form (whose parts the input guard has counted) is decoded only then.
struct CSRFMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.method == .POST {
            guard let expected = request.csrfExpected, let sent = Self.sentToken(request), Tokens.constantTimeEquals(sent, expected) else {
                throw APIError(.forbidden, "csrf_failed", PageStrings.table["csrf_expired"] ?? .init("页面已过期", "Page expired"))
            }
        }
        return try await next.respond(to: request)
    }

    static func sentToken(_ request: Request) -> String? {
        if let header = request.headers.first(name: "X-CSRF-Token") { return header }
        guard let body = request.body.data else { return nil }
        switch request.headers.contentType.flatMap(BodyKind.of) {
        case .form:
            return request.formFields.first("_csrf")
        case .multipart:
            struct Form: Decodable { let _csrf: String? }
            return (try? request.content.decode(Form.self))?._csrf
        default:
            return nil
        }
    }
}

/// Formats every console page shows the same way.
enum PageFormat {
    static func percent(_ rate: BasisPoints) -> String {
        let whole = rate.value / 100
        let fraction = rate.value % 100
        return fraction == 0 ? "\(whole)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }()
}
