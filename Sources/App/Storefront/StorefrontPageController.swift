import Fluent
import MallCore
import Vapor

/// The storefront's own pages: home, language switch and the legal texts.
struct StorefrontPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get(use: home)
        routes.get("lang", use: switchLanguage)
        routes.get("legal", "user-agreement", use: userAgreement)
        routes.get("legal", "privacy", use: privacyPolicy)
    }

    struct HomePage: Encodable, Sendable {
        let categories: [CatalogPageController.CategoryLink]
        let products: [CatalogPageController.Card]
        let isEmpty: Bool
    }

    @Sendable func home(req: Request) async throws -> Response {
        var params = ProductListQuery()
        params.limit = 12
        let page = try await ProductQueries.list(params, on: req.db, locale: req.locale, storage: req.application.imageStorage)
        return try await req.page("storefront/home", HomePage(
            categories: try await CatalogPageController.categoryTree(on: req.db),
            products: CatalogPageController.cards(page),
            isEmpty: page.items.isEmpty))
    }

    @Sendable func switchLanguage(req: Request) async throws -> Response {
        struct Query: Decodable { let to: String?; let back: String? }
        let query = try? req.query.decode(Query.self)
        let locale = query?.to.flatMap(MallLocale.init(rawValue:)) ?? .zhHans
        let response = req.redirect(to: Self.sameSitePath(query?.back))
        response.cookies["lang"] = HTTPCookies.Value(string: locale.rawValue, maxAge: 365 * 24 * 3600, path: "/", isHTTPOnly: false, sameSite: .lax)
        return response
    }

    /// Only a plain path on this site, so the switcher cannot be used as an open redirect:
    /// browsers read "//host" and "/\\host" as another origin.
    static func sameSitePath(_ candidate: String?) -> String {
        guard let path = candidate, path.hasPrefix("/"), path.count <= 512 else { return "/" }
        let second = path.dropFirst().first
        guard second != "/", second != "\\" else { return "/" }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/-._~?=&%+"))
        guard path.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else { return "/" }
        return path
    }

    struct LegalPage: Encodable, Sendable { let title: String; let body: String; let version: String }

    @Sendable func userAgreement(req: Request) async throws -> Response {
        let t = PageStrings.dictionary(req.locale)
        return try await req.page("storefront/legal", LegalPage(title: t["legal_user_title"] ?? "", body: t["legal_user_body"] ?? "", version: AgreementVersions.userAgreement))
    }

    @Sendable func privacyPolicy(req: Request) async throws -> Response {
        let t = PageStrings.dictionary(req.locale)
        return try await req.page("storefront/legal", LegalPage(title: t["legal_privacy_title"] ?? "", body: t["legal_privacy_body"] ?? "", version: AgreementVersions.privacyPolicy))
    }
}
