import Fluent
import Foundation
import MallCore
import Vapor

/// Carriers, parcels and tracking under `/api/v1`. Shipping itself is
/// `POST /merchant/orders/{orderID}/ship` in `OrderAPIController`, which calls `ShipmentService`.
struct LogisticsAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("carriers", use: carriers)
        routes.get("me", "orders", ":orderID", "shipments", use: myShipments)
        let merchant = routes.grouped("merchant", "orders")
        merchant.get(":orderID", "shipments", use: merchantShipments)
        merchant.post(":orderID", "shipments", ":shipmentID", "events", use: addEvent)
        merchant.on(.POST, "ship-batch", body: .collect(maxSize: "1mb"), use: shipBatch)
    }

    @Sendable func carriers(req: Request) async throws -> [CarrierDTO] {
        let locale = req.locale
        return try await Carrier.query(on: req.db).filter(\.$active == true).sort(\.$sortOrder).sort(\.$code).all()
            .map { CarrierDTO(code: $0.code, name: $0.name(locale)) }
    }

    @Sendable func myShipments(req: Request) async throws -> [ShipmentDTO] {
        let memberID = try req.requireMember().requireID()
        let order = try await OrderAPIController.ownOrder(req, memberID: memberID, on: req.db)
        return try await ShipmentService.timeline(orderID: try order.requireID(), on: req.db, locale: req.locale)
    }

    static func shopOrder(_ req: Request, merchantID: UUID, on db: any Database) async throws -> Order {
        guard let order = try await Order.query(on: db).filter(\.$id == (try req.uuidParameter("orderID"))).filter(\.$merchantID == merchantID).first() else {
            throw APIError.notFound
        }
        return order
    }

    @Sendable func merchantShipments(req: Request) async throws -> [ShipmentDTO] {
        let scope = try req.merchantScope()
        let order = try await Self.shopOrder(req, merchantID: scope.merchantID, on: req.db)
        return try await ShipmentService.timeline(orderID: try order.requireID(), on: req.db, locale: req.locale)
    }

    /// A tracking event the shop types in (a carrier without pushes, a phone call). The same time
    /// and status again changes nothing and answers 200 instead of 201.
    @Sendable func addEvent(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.handleOrders)
        let staffID = try req.requireStaff(.handleOrders).requireID()
        let orderID = try req.uuidParameter("orderID")
        let shipmentID = try req.uuidParameter("shipmentID")
        let input = try req.content.decode(TrackingEventInput.self)
        var issues: [APIError.FieldIssue] = []
        let status = TrackingStatus(rawValue: input.status)
        if status == nil {
            let names = TrackingStatus.allCases.map(\.rawValue).joined(separator: ", ")
            issues.append(.init("status", .init("状态只能是 \(names)", "status must be one of \(names)")))
        }
        // Lengths as sent (what the contract's maxLength counts), then trimmed.
        if !TextLength.fits(input.description ?? "", max: 200) { issues.append(.init("description", .init("描述最多 200 字", "At most 200 characters"))) }
        if !TextLength.fits(input.location ?? "", max: 60) { issues.append(.init("location", .init("地点最多 60 字", "At most 60 characters"))) }
        let description = (input.description ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let location = (input.location ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard issues.isEmpty, let status else { throw LogisticsError.invalid(issues) }
        let now = req.now
        let time = input.occurredAt ?? now
        let outcome = try await req.writeTransaction { db in
            guard let shipment = try await Shipment.query(on: db).filter(\.$id == shipmentID).filter(\.$orderID == orderID)
                .filter(\.$merchantID == scope.merchantID).first() else { throw LogisticsError.shipmentNotFound }
            guard ShipmentRules.eventTimeIsPlausible(time, shippedAt: shipment.createdAt, now: now) else {
                throw LogisticsError.invalid([.init("occurredAt", .init("时间须在发货之后、不晚于现在", "The time must be after shipment and not in the future"))])
            }
            return try await ShipmentService(db: db, now: now).record(status, on: shipment, at: time, description: description, location: location,
                                                                      source: "merchant", actorID: staffID)
        }
        let timeline = try await ShipmentService.timeline(orderID: orderID, on: req.db, locale: req.locale)
        guard let parcel = timeline.first(where: { $0.id == shipmentID }) else { throw APIError.notFound }
        return try await parcel.encodeResponse(status: outcome == .recorded ? .created : .ok, for: req)
    }

    /// The CSV as the raw request body (text/csv); all rows ship or none.
    @Sendable func shipBatch(req: Request) async throws -> ShipBatchResultDTO {
        let scope = try req.merchantScope(.handleOrders)
        let staffID = try req.requireStaff(.handleOrders).requireID()
        let bytes = req.body.data.map { Array($0.readableBytesView) } ?? []
        return try await ShipBatchCSV.shipAll(bytes, merchantID: scope.merchantID, staffID: staffID, req: req)
    }
}
