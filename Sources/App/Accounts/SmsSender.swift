import MallCore
import Vapor

/// The edge to an SMS gateway. Development logs the message instead of sending it.
public protocol SmsSender: Sendable {
    func send(to phone: PhoneNumber, text: String, logger: Logger) async throws
}

public struct LoggingSmsSender: SmsSender {
    public init() {}
    public func send(to phone: PhoneNumber, text: String, logger: Logger) async throws {
        logger.notice("SMS (logging provider) to \(phone.masked): \(text)")
    }
}

extension Application {
    private struct SmsKey: StorageKey { typealias Value = any SmsSender }

    public var sms: any SmsSender {
        get { storage[SmsKey.self] ?? LoggingSmsSender() }
        set { storage[SmsKey.self] = newValue }
    }
}
