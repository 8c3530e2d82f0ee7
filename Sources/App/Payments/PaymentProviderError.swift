import Foundation
import Vapor

/// What can go wrong between us and a payment provider, worded for the buyer; the details go to the log.
enum PaymentProviderError: APIErrorConvertible, Equatable {
    /// The provider could not be reached or answered with a server error: worth trying again.
    case unavailable(String)
    /// The provider refused the request (its code and message).
    case refused(code: String, message: String)
    /// The answer was not signed by the provider or not in its documented shape.
    case badResponse(String)
    case channelUnavailable(method: String, channel: String)
    case openIDRequired

    var apiError: APIError {
        switch self {
        case .unavailable:
            APIError(.badGateway, "payment.provider_unavailable", .init("支付渠道暂时不可用，请稍后重试", "The payment provider is not reachable; please try again shortly"))
        case .refused(let code, _):
            APIError(.badGateway, "payment.provider_refused", .init("支付渠道拒绝了本次请求（\(code)）", "The payment provider refused the request (\(code))"))
        case .badResponse:
            APIError(.badGateway, "payment.provider_bad_response", .init("支付渠道的应答无法验证，请稍后重试", "The payment provider's answer could not be verified; please try again shortly"))
        case .channelUnavailable(let method, let channel):
            APIError(.unprocessableEntity, "payment.channel_unavailable", .init("\(method) 不支持该支付场景：\(channel)", "\(method) has no such channel: \(channel)"),
                     details: [.init("channel", .init("不支持的支付场景", "Unsupported channel"))])
        case .openIDRequired:
            APIError(.unprocessableEntity, "payment.openid_required", .init("微信内支付需要用户的 openid", "Paying inside WeChat needs the payer's openid"),
                     details: [.init("openId", .init("必填", "Required"))])
        }
    }

    /// For the log: what the provider said.
    var detail: String {
        switch self {
        case .unavailable(let text), .badResponse(let text): text
        case .refused(let code, let message): "\(code) \(message)"
        case .channelUnavailable(let method, let channel): "\(method) \(channel)"
        case .openIDRequired: "openid required"
        }
    }
}

/// Dates as the providers write them: Beijing time (UTC+8, no daylight saving).
enum ProviderTime {
    static let beijing = TimeZone(secondsFromGMT: 8 * 3600) ?? .current

    /// `2026-11-18T10:34:56+08:00`, WeChat Pay's `time_expire`.
    static func rfc3339(_ date: Date) -> String {
        format(date, "yyyy-MM-dd'T'HH:mm:ss'+08:00'")
    }

    /// `2026-11-18 10:34:56`, Alipay's `timestamp` and `time_expire`.
    static func alipay(_ date: Date) -> String {
        format(date, "yyyy-MM-dd HH:mm:ss")
    }

    private static func format(_ date: Date, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = beijing
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    static func seconds(_ date: Date) -> Int64 {
        let value = date.timeIntervalSince1970.rounded(.down)
        guard value.isFinite, value >= 0, value < 1e15 else { return 0 }
        return Int64(value)
    }
}
