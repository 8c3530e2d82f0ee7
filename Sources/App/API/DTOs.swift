import Foundation
import MallCore
import Vapor

/// Money as clients receive it: exact fen plus a display string in the request's language.
struct MoneyDTO: Content, Equatable {
    let fen: Int64
    let display: String
    init(_ money: Money, _ locale: MallLocale) {
        fen = money.fen
        display = money.formatted(locale)
    }
}

/// `?limit=` on console lists: 1–200, 50 when absent.
struct LimitQuery: Content {
    let limit: Int?

    func validatedLimit(default defaultLimit: Int = 50) throws -> Int {
        guard let limit else { return defaultLimit }
        guard (1...200).contains(limit) else {
            throw APIError.validation([.init("limit", .init("limit 必须在 1 到 200 之间", "limit must be between 1 and 200"))])
        }
        return limit
    }
}
