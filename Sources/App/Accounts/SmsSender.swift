import Crypto
import Foundation
import MallCore
import Vapor

/// One verification code on its way to a phone: the code for providers that fill a template, the
/// full text for those that send words.
public struct SmsCodeMessage: Sendable {
    public let phone: PhoneNumber
    public let code: String
    public let text: String
}

/// The edge to an SMS gateway.
public protocol SmsSender: Sendable {
    func send(_ message: SmsCodeMessage, logger: Logger) async throws
}

/// Development: the message goes to the server log. Refused in production (see `SmsConfiguration`).
public struct LoggingSmsSender: SmsSender {
    public init() {}
    public func send(_ message: SmsCodeMessage, logger: Logger) async throws {
        logger.notice("SMS (logging provider) to \(message.phone.masked): \(message.text)")
    }
}

/// A shop without SMS: password logins only; asking for a code is a clear 503.
public struct DisabledSmsSender: SmsSender {
    public init() {}
    public func send(_ message: SmsCodeMessage, logger: Logger) async throws {
        throw SmsError.notConfigured
    }
}

enum SmsError: Error, APIErrorConvertible {
    case notConfigured
    case providerRefused(code: String)
    case providerUnreachable

    var apiError: APIError {
        switch self {
        case .notConfigured:
            APIError(.serviceUnavailable, "sms.not_configured", .init("短信服务未开通，请使用密码登录", "Text messages are not set up; please log in with a password"))
        case .providerRefused, .providerUnreachable:
            APIError(.serviceUnavailable, "sms.send_failed", .init("短信发送失败，请稍后再试", "The text message could not be sent; please try again later"),
                     headers: ["Retry-After": "60"])
        }
    }
}

/// Alibaba Cloud SMS (`SendSms`, API version 2017-05-25), signed as Alibaba Cloud publishes for its
/// RPC APIs: the parameters sorted and percent-encoded (RFC 3986), `GET&%2F&` and the encoded
/// query as the string to sign, HMAC-SHA1 with the AccessKey secret and `&`, in Base64.
public struct AliyunSmsSender: SmsSender {
    public struct Credentials: Sendable {
        public let accessKeyID: String
        public let accessKeySecret: String
        public let signName: String
        public let templateCode: String
        public let endpoint: String
    }

    let credentials: Credentials
    let client: any Client
    let clock: @Sendable () -> Date

    public func send(_ message: SmsCodeMessage, logger: Logger) async throws {
        let parameters = Self.parameters(credentials, phone: message.phone.digits, code: message.code, now: clock(), nonce: UUID().uuidString)
        let query = Self.signedQuery(parameters, secret: credentials.accessKeySecret)
        let response: ClientResponse
        do {
            response = try await client.get(URI(string: credentials.endpoint + "?" + query)) { request in
                request.timeout = .seconds(10)
            }
        } catch {
            logger.error("SMS provider unreachable: \(error)")
            throw SmsError.providerUnreachable
        }
        struct Answer: Decodable { let Code: String?; let Message: String? }
        let answer = try? response.content.decode(Answer.self, as: .json)
        guard response.status == .ok, answer?.Code == "OK" else {
            logger.error("SMS provider refused: \(response.status.code) \(answer?.Code ?? "-") \(answer?.Message ?? "")")
            throw SmsError.providerRefused(code: answer?.Code ?? String(response.status.code))
        }
    }

    static func parameters(_ credentials: Credentials, phone: String, code: String, now: Date, nonce: String) -> [String: String] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return [
            "AccessKeyId": credentials.accessKeyID, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou", "SignName": credentials.signName, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce,
            "SignatureVersion": "1.0", "TemplateCode": credentials.templateCode, "TemplateParam": #"{"code":"\#(code)"}"#,
            "Timestamp": formatter.string(from: now), "Version": "2017-05-25",
        ]
    }

    /// RFC 3986 percent-encoding: only letters, digits, `-`, `_`, `.` and `~` stay as they are.
    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet()
        allowed.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func canonicalQuery(_ parameters: [String: String]) -> String {
        parameters.sorted { $0.key < $1.key }.map { percentEncode($0.key) + "=" + percentEncode($0.value) }.joined(separator: "&")
    }

    static func signature(_ parameters: [String: String], secret: String) -> String {
        let stringToSign = "GET&" + percentEncode("/") + "&" + percentEncode(canonicalQuery(parameters))
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: Data((secret + "&").utf8)))
        return Data(mac).base64EncodedString()
    }

    static func signedQuery(_ parameters: [String: String], secret: String) -> String {
        "Signature=" + percentEncode(signature(parameters, secret: secret)) + "&" + canonicalQuery(parameters)
    }
}

/// Which provider sends codes, from the environment: `FISSION_SMS_PROVIDER` is `log` (development
/// default), `aliyun` (with its FISSION_ALIYUN_SMS_* settings) or `none`. The logging provider
/// would put every code in a log: it refuses to start in production.
enum SmsConfiguration {
    static func sender(environment: Environment, variables: [String: String], app: Application) throws -> any SmsSender {
        let provider = variables["FISSION_SMS_PROVIDER"] ?? (environment == .production ? "" : "log")
        switch provider {
        case "log":
            guard environment != .production else {
                throw ConfigError("FISSION_SMS_PROVIDER=log writes codes to the log and is refused in production; use aliyun or none")
            }
            return LoggingSmsSender()
        case "none":
            return DisabledSmsSender()
        case "aliyun":
            func required(_ name: String) throws -> String {
                guard let value = variables[name], !value.isEmpty else { throw ConfigError("\(name) is required for FISSION_SMS_PROVIDER=aliyun") }
                return value
            }
            let credentials = AliyunSmsSender.Credentials(
                accessKeyID: try required("FISSION_ALIYUN_SMS_ACCESS_KEY_ID"), accessKeySecret: try required("FISSION_ALIYUN_SMS_ACCESS_KEY_SECRET"),
                signName: try required("FISSION_ALIYUN_SMS_SIGN_NAME"), templateCode: try required("FISSION_ALIYUN_SMS_TEMPLATE_CODE"),
                endpoint: variables["FISSION_ALIYUN_SMS_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://dysmsapi.aliyuncs.com/")
            let clock = app.clock
            return AliyunSmsSender(credentials: credentials, client: app.client, clock: { clock.now() })
        default:
            throw ConfigError("FISSION_SMS_PROVIDER must be log, aliyun or none in production (it is \"\(provider)\")")
        }
    }
}

extension Application {
    private struct SmsKey: StorageKey { typealias Value = any SmsSender }

    public var sms: any SmsSender {
        get { storage[SmsKey.self] ?? LoggingSmsSender() }
        set { storage[SmsKey.self] = newValue }
    }

    /// Whether a sender was chosen before `configure` (tests capture messages that way).
    var hasSmsSender: Bool { storage[SmsKey.self] != nil }
}
