import Crypto
import Foundation
import MallCore
import Vapor

/// What an electronic waybill (电子面单) service needs to issue a number for one parcel.
struct WaybillRequest: Sendable {
    let carrierCode: String
    let orderNo: String
    /// 1-based parcel number within the order.
    let parcelNo: Int
    let receiverName: String
    let provinceCode: String
    let city: String
    let district: String
    let addressDetail: String
}

/// An electronic waybill service: asked for a tracking number when a shop ships with
/// `useWaybill`. It is called inside the shipping transaction, so a real adapter must answer
/// quickly or fail (a short timeout); a failure ships nothing.
protocol WaybillProvider: Sendable {
    var name: String { get }
    func trackingNumber(for request: WaybillRequest, logger: Logger) async throws -> String
}

/// The development provider: logs the request and returns a number made from the order number
/// and the parcel, so the same parcel always gets the same number.
struct LoggingWaybillProvider: WaybillProvider {
    var name: String { "logging" }

    func trackingNumber(for request: WaybillRequest, logger: Logger) async throws -> String {
        let number = Self.number(carrierCode: request.carrierCode, orderNo: request.orderNo, parcelNo: request.parcelNo)
        logger.info("waybill \(request.carrierCode) order \(request.orderNo) parcel \(request.parcelNo): \(number)")
        return number
    }

    /// Carrier code, the last 12 digits of the order number, the parcel as two digits.
    static func number(carrierCode: String, orderNo: String, parcelNo: Int) -> String {
        let digits = String(orderNo.filter(\.isNumber).suffix(12))
        return carrierCode.uppercased() + digits + String(format: "%02d", min(max(parcelNo, 0), 99))
    }
}

enum WaybillConfiguration {
    /// `FISSION_WAYBILL_PROVIDER`: `logging` for the development provider, `none` for none. Unset,
    /// development and tests get the logging provider and production gets none.
    static func provider(environment: Environment, variables: [String: String]) throws -> (any WaybillProvider)? {
        switch variables["FISSION_WAYBILL_PROVIDER"] ?? "" {
        case "logging": return LoggingWaybillProvider()
        case "none": return nil
        case "": return environment == .production ? nil : LoggingWaybillProvider()
        case let other: throw ConfigError("FISSION_WAYBILL_PROVIDER must be logging or none, not \(other)")
        }
    }
}

/// The shared secrets carriers sign their tracking pushes with, per carrier code.
struct LogisticsWebhookKeys: Sendable {
    private let keys: [String: SymmetricKey]

    init(keys: [String: SymmetricKey]) { self.keys = keys }

    func key(for carrierCode: String) -> SymmetricKey? { keys[carrierCode.uppercased()] }

    /// `FISSION_LOGISTICS_SECRET_<CODE>` (at least 16 characters) for each seeded carrier. Outside
    /// production a carrier without one gets a key derived from the data key, so development and
    /// tests can sign pushes; in production such a carrier's pushes are refused.
    static func load(environment: Environment, variables: [String: String], dataKey: SymmetricKey) throws -> LogisticsWebhookKeys {
        var keys: [String: SymmetricKey] = [:]
        for seed in CarrierSeed.all {
            if let secret = variables["FISSION_LOGISTICS_SECRET_\(seed.code)"], !secret.isEmpty {
                guard secret.utf8.count >= 16 else { throw ConfigError("FISSION_LOGISTICS_SECRET_\(seed.code) must be at least 16 characters") }
                keys[seed.code] = SymmetricKey(data: Data(secret.utf8))
            } else if environment != .production {
                keys[seed.code] = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data("fission-logistics-\(seed.code)".utf8), using: dataKey))
            }
        }
        return LogisticsWebhookKeys(keys: keys)
    }
}

extension Application {
    private struct WaybillKey: StorageKey { typealias Value = any WaybillProvider }
    private struct WaybillConfiguredKey: StorageKey { typealias Value = Bool }
    private struct WebhookKeysKey: StorageKey { typealias Value = LogisticsWebhookKeys }

    /// The electronic waybill service, if this mall has one.
    var waybillProvider: (any WaybillProvider)? {
        get { storage[WaybillKey.self] }
        set {
            storage[WaybillKey.self] = newValue
            storage[WaybillConfiguredKey.self] = true
        }
    }

    /// Whether `waybillProvider` was set (to a provider or to none) before `configure` ran.
    var waybillProviderConfigured: Bool { storage[WaybillConfiguredKey.self] ?? false }

    var logisticsWebhookKeys: LogisticsWebhookKeys {
        get { storage[WebhookKeysKey.self] ?? LogisticsWebhookKeys(keys: [:]) }
        set { storage[WebhookKeysKey.self] = newValue }
    }

    /// Reads the waybill provider and the carriers' webhook secrets from the environment.
    func configureLogistics() throws {
        let variables = ProcessInfo.processInfo.environment
        if !waybillProviderConfigured {
            waybillProvider = try WaybillConfiguration.provider(environment: environment, variables: variables)
        }
        logisticsWebhookKeys = try LogisticsWebhookKeys.load(environment: environment, variables: variables, dataKey: config.dataKey)
    }
}
