import Crypto
import Fluent
import Foundation
import MallCore
import Vapor

/// Checks a carrier's tracking push: HMAC-SHA256 with the carrier's secret over
/// `timestamp\nbody` (the raw bytes as received), hex in `X-Logistics-Signature`, the Unix time in
/// `X-Logistics-Timestamp` within five minutes of ours.
enum TrackingWebhook {
    static let timestampHeader = "X-Logistics-Timestamp"
    static let signatureHeader = "X-Logistics-Signature"
    static let maxSkewSeconds: Int64 = 300

    static func sign(body: [UInt8], timestamp: Int64, key: SymmetricKey) -> String {
        var message = Data("\(timestamp)\n".utf8)
        message.append(contentsOf: body)
        return HMAC<SHA256>.authenticationCode(for: message, using: key).map { String(format: "%02x", $0) }.joined()
    }

    static func verify(body: [UInt8], timestamp: String?, signature: String?, key: SymmetricKey, now: Date) throws -> TrackingPush {
        guard let timestamp, timestamp.utf8.count <= 20, let seconds = Int64(timestamp), let signature, signature.utf8.count == 64 else {
            throw LogisticsError.badSignature
        }
        let nowSeconds = CheckedNumber.int64(now.timeIntervalSince1970, rounding: .down) ?? 0
        let (skew, overflow) = nowSeconds.subtractingReportingOverflow(seconds)
        guard !overflow, skew.magnitude <= UInt64(maxSkewSeconds) else { throw LogisticsError.badSignature }
        guard Tokens.constantTimeEquals(sign(body: body, timestamp: seconds, key: key), signature.lowercased()) else { throw LogisticsError.badSignature }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let push: TrackingPush
        do { push = try decoder.decode(TrackingPush.self, from: Data(body)) } catch {
            throw APIError(.badRequest, "logistics.bad_push", .init("物流推送内容无法解析", "The tracking push could not be read"))
        }
        return push
    }

    /// Checks every event of a verified push before any is applied.
    static func check(_ push: TrackingPush) throws -> [(trackingNo: String, status: TrackingStatus, event: TrackingPush.Event)] {
        guard (1...ShipmentRules.maxEventsPerCallback).contains(push.events.count) else {
            throw LogisticsError.invalid([.init("events", .init("每次推送 1-\(ShipmentRules.maxEventsPerCallback) 条轨迹", "A push carries 1–\(ShipmentRules.maxEventsPerCallback) events"))])
        }
        var issues: [APIError.FieldIssue] = []
        var checked: [(trackingNo: String, status: TrackingStatus, event: TrackingPush.Event)] = []
        for (index, event) in push.events.enumerated() {
            let number = ShipmentRules.normalizedTrackingNo(event.trackingNo)
            let status = TrackingStatus(rawValue: event.status)
            if number == nil { issues.append(.init("events[\(index)].trackingNo", .init("运单号格式不正确", "Malformed tracking number"))) }
            if status == nil { issues.append(.init("events[\(index)].status", .init("未知的轨迹状态", "Unknown tracking status"))) }
            if !TextLength.fits(event.description ?? "", max: 200) || !TextLength.fits(event.location ?? "", max: 60) {
                issues.append(.init("events[\(index)]", .init("描述最多 200 字，地点最多 60 字", "Description up to 200 characters, location up to 60")))
            }
            if let number, let status { checked.append((number, status, event)) }
        }
        guard issues.isEmpty else { throw LogisticsError.invalid(issues) }
        return checked
    }

    /// Applies a verified push: each event goes to every parcel of the carrier with that number.
    /// Unknown numbers and implausible times are counted as ignored (the carrier should not retry
    /// them); repeats are counted as duplicates.
    static func apply(_ push: TrackingPush, carrierCode: String, on db: any Database, now: Date) async throws -> TrackingCallbackResultDTO {
        let events = try check(push)
        var (accepted, duplicates, ignored) = (0, 0, 0)
        let service = ShipmentService(db: db, now: now)
        for (number, status, event) in events {
            let shipments = try await Shipment.query(on: db).filter(\.$carrierCode == carrierCode).filter(\.$trackingNo == number).all()
            if shipments.isEmpty { ignored += 1 }
            for shipment in shipments {
                guard ShipmentRules.eventTimeIsPlausible(event.time, shippedAt: shipment.createdAt, now: now) else {
                    ignored += 1
                    continue
                }
                let outcome = try await service.record(status, on: shipment, at: event.time, description: event.description ?? "",
                                                       location: event.location ?? "", source: "carrier", actorID: nil)
                if outcome == .recorded { accepted += 1 } else { duplicates += 1 }
            }
        }
        return TrackingCallbackResultDTO(code: "SUCCESS", accepted: accepted, duplicates: duplicates, ignored: ignored)
    }
}

/// `POST /callbacks/logistics/{carrierCode}`: carriers' tracking pushes, outside the client API.
struct LogisticsCallbackController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("callbacks", "logistics", ":carrierCode", use: receive)
    }

    @Sendable func receive(req: Request) async throws -> TrackingCallbackResultDTO {
        let code = (req.parameters.get("carrierCode") ?? "").uppercased()
        guard code.utf8.count <= 16, let key = req.application.logisticsWebhookKeys.key(for: code) else { throw LogisticsError.unknownCarrier }
        let body = req.body.data.map { Array($0.readableBytesView) } ?? []
        let push = try TrackingWebhook.verify(body: body, timestamp: req.headers.first(name: TrackingWebhook.timestampHeader),
                                              signature: req.headers.first(name: TrackingWebhook.signatureHeader), key: key, now: req.now)
        let now = req.now
        return try await req.writeTransaction { db in
            try await TrackingWebhook.apply(push, carrierCode: code, on: db, now: now)
        }
    }
}
