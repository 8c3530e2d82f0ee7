import MallCore
import Vapor

/// A user-facing text in both languages the mall speaks.
public struct LocalizedText: Sendable, Equatable {
    public let zh: String
    public let en: String
    public init(_ zh: String, _ en: String) {
        self.zh = zh
        self.en = en
    }
    public func callAsFunction(_ locale: MallLocale) -> String { locale == .zhHans ? zh : en }
}

extension Request {
    /// The visitor's language: the `lang` cookie set by the switcher, else Accept-Language, else zh-Hans.
    public var locale: MallLocale {
        if let cookie = cookies["lang"]?.string, let chosen = MallLocale(rawValue: cookie) { return chosen }
        return LanguageNegotiation.locale(acceptLanguage: headers.first(name: .acceptLanguage))
    }
}

enum LanguageNegotiation {
    /// Picks the first supported language by quality; Chinese of any script maps to zh-Hans.
    static func locale(acceptLanguage: String?) -> MallLocale {
        guard let header = acceptLanguage, !header.isEmpty else { return .zhHans }
        let ranges: [(tag: String, q: Double)] = header.split(separator: ",").enumerated().compactMap { index, part in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { return nil }
            var q = 1.0
            for piece in pieces.dropFirst() where piece.hasPrefix("q=") {
                q = Double(piece.dropFirst(2)) ?? 0
            }
            // Stable order for equal weights: earlier wins.
            return (tag, q - Double(index) * 1e-6)
        }
        for range in ranges.sorted(by: { $0.q > $1.q }) where range.q > 0 {
            if range.tag.hasPrefix("zh") { return .zhHans }
            if range.tag.hasPrefix("en") { return .en }
        }
        return .zhHans
    }
}
