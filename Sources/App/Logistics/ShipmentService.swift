import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Ships orders in parcels and records their tracking. Every writing method expects `db` to be a
/// write transaction: the parcels, the order's move to shipped and its timeline commit together.
struct ShipmentService {
    let db: any Database
    let now: Date
    var logger: Logger = Logger(label: "fission.logistics")

    init(db: any Database, now: Date) {
        self.db = db
        self.now = now
    }

    // MARK: shipping

    /// Checks the parcels against the order, takes waybill numbers where asked, writes the parcels
    /// and moves the order to shipped. Nothing is written unless everything is right.
    @discardableResult
    func ship(order: Order, _ input: ShipInput, staffID: UUID, waybill: (any WaybillProvider)?) async throws -> [Shipment] {
        let orderID = try order.requireID()
        let parcels = try await Self.parcels(of: input, on: db)
        let useWaybill = input.useWaybill ?? false
        if useWaybill, waybill == nil, parcels.contains(where: { $0.trackingNo == nil }) { throw LogisticsError.waybillUnavailable }

        // The state is checked before the contents, so shipping a shipped order reads as such.
        _ = try OrderStateMachine.apply(.ship, to: order.orderState, facts: OrderFacts(fulfilment: order.fulfilmentKind))
        try await ActivityOrders(db: db, now: now).requireShippable(orderID: orderID)
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).sort(\.$position).all()
        let shippable = try lines.map { ShippableLine(id: try $0.requireID(), units: max($0.quantity - $0.refundedQuantity, 0)) }
        let contents: [[ParcelContent]]
        do {
            contents = try ParcelPlan.allocate(lines: shippable, parcels: parcels.map { parcel in
                parcel.lines.map { $0.map { ParcelContent(lineID: $0.lineId, units: $0.quantity) } }
            })
        } catch {
            throw LogisticsError.plan(error)
        }

        var numbers: [String] = []
        for (index, parcel) in parcels.enumerated() {
            if let given = parcel.trackingNo {
                numbers.append(given)
                continue
            }
            guard let waybill else { throw LogisticsError.waybillUnavailable }
            let request = WaybillRequest(carrierCode: parcel.carrierCode, orderNo: order.orderNo, parcelNo: index + 1, receiverName: order.receiverName,
                                         provinceCode: order.provinceCode, city: order.city, district: order.district, addressDetail: order.addressDetail)
            let issued: String
            do { issued = try await waybill.trackingNumber(for: request, logger: logger) } catch {
                logger.error("waybill \(waybill.name) for \(order.orderNo): \(error)")
                throw LogisticsError.waybillFailed
            }
            guard let number = ShipmentRules.normalizedTrackingNo(issued) else { throw LogisticsError.waybillFailed }
            numbers.append(number)
        }
        var seen: [String: Int] = [:]
        var issues: [APIError.FieldIssue] = []
        for (index, (parcel, number)) in zip(parcels, numbers).enumerated() {
            let key = parcel.carrierCode + "|" + number
            if let first = seen[key] {
                issues.append(.init("parcels[\(index)].trackingNo", .init("与第 \(first + 1) 个包裹的运单号重复", "Repeats the tracking number of parcel \(first + 1)")))
            } else {
                seen[key] = index
            }
        }
        guard issues.isEmpty else { throw LogisticsError.invalid(issues) }

        let orderService = OrderService(db: db, now: now)
        let summary = zip(parcels, numbers).map { "\($0.carrierCode) \($1)" }.joined(separator: ", ")
        try await orderService.transition(order, .ship, actor: .staff(staffID), reason: summary, stamp: "shipped_at")
        var shipments: [Shipment] = []
        for (index, (parcel, number)) in zip(parcels, numbers).enumerated() {
            let shipment = Shipment()
            shipment.orderID = orderID
            shipment.merchantID = order.merchantID
            shipment.parcelNo = index + 1
            shipment.carrierCode = parcel.carrierCode
            shipment.trackingNo = number
            shipment.fromWaybill = parcel.trackingNo == nil
            shipment.staffID = staffID
            shipment.createdAt = now
            try await shipment.create(on: db)
            let shipmentID = try shipment.requireID()
            for content in contents[index] {
                let item = ShipmentItem()
                item.shipmentID = shipmentID
                item.orderLineID = content.lineID
                item.units = content.units
                try await item.create(on: db)
            }
            shipments.append(shipment)
        }
        return shipments
    }

    struct CheckedParcel {
        let carrierCode: String
        /// nil: to be issued by the waybill provider.
        let trackingNo: String?
        let lines: [ParcelLineInput]?
    }

    /// The parcels of a request with carriers known and numbers well-formed, or every problem.
    static func parcels(of input: ShipInput, on db: any Database) async throws -> [CheckedParcel] {
        let carriers = try await Carrier.query(on: db).filter(\.$active == true).all()
        let useWaybill = input.useWaybill ?? false
        if !TextLength.fits(input.carrier ?? "", max: 60) || !TextLength.fits(input.trackingNo ?? "", max: 60) {
            throw LogisticsError.invalid([.init("carrier", .init("快递公司和运单号最多 60 字", "Carrier and tracking number have at most 60 characters"))])
        }
        let requested: [ParcelInput]
        if let parcels = input.parcels {
            requested = parcels
        } else if let carrier = input.carrier {
            // The older one-parcel form names the carrier by code or by name.
            let trimmed = carrier.trimmingCharacters(in: .whitespacesAndNewlines)
            let code = carriers.first { $0.code == trimmed.uppercased() || $0.nameZh == trimmed || $0.nameEn.lowercased() == trimmed.lowercased() }?.code ?? trimmed
            requested = [ParcelInput(carrierCode: code, trackingNo: input.trackingNo?.trimmingCharacters(in: .whitespacesAndNewlines), lines: nil)]
        } else {
            throw LogisticsError.plan(.noParcels)
        }
        guard !requested.isEmpty else { throw LogisticsError.plan(.noParcels) }
        guard requested.count <= ShipmentRules.maxParcels else { throw LogisticsError.plan(.tooManyParcels(max: ShipmentRules.maxParcels)) }
        let codes = Set(carriers.map(\.code))
        var issues: [APIError.FieldIssue] = []
        var checked: [CheckedParcel] = []
        for (index, parcel) in requested.enumerated() {
            let code = parcel.carrierCode
            if !codes.contains(code) {
                issues.append(.init("parcels[\(index)].carrierCode", .init("未知的快递公司编码", "Unknown carrier code")))
            }
            var number: String?
            if let raw = parcel.trackingNo {
                number = ShipmentRules.normalizedTrackingNo(raw)
                if number == nil {
                    issues.append(.init("parcels[\(index)].trackingNo", .init("运单号须为 4-40 位字母、数字或短横线", "A tracking number has 4–40 letters, digits or hyphens")))
                }
            } else if !useWaybill {
                issues.append(.init("parcels[\(index)].trackingNo", .init("请填写运单号，或使用电子面单", "Give a tracking number or use the electronic waybill")))
            }
            if (parcel.lines?.count ?? 0) > 200 {
                issues.append(.init("parcels[\(index)].lines", .init("一个包裹最多 200 行", "At most 200 lines in a parcel")))
            }
            checked.append(CheckedParcel(carrierCode: code, trackingNo: number, lines: parcel.lines))
        }
        guard issues.isEmpty else { throw LogisticsError.invalid(issues) }
        return checked
    }

    // MARK: tracking

    enum EventOutcome: Equatable {
        case recorded
        case duplicate
    }

    /// Appends an event to a parcel once per time and status; a signed (签收) event marks the
    /// parcel delivered. The order itself stays shipped: receipt is the buyer's or the receipt job's.
    @discardableResult
    func record(_ status: TrackingStatus, on shipment: Shipment, at time: Date, description: String, location: String,
                source: String, actorID: UUID?) async throws -> EventOutcome {
        let shipmentID = try shipment.requireID()
        // Whole seconds: a repeat of the same push maps to the same key on both databases.
        let seconds = CheckedNumber.int64(time.timeIntervalSince1970, rounding: .down) ?? 0
        let at = Date(timeIntervalSince1970: TimeInterval(seconds))
        let inserted = try await sqlDatabase(db).raw("""
            INSERT INTO tracking_events (id, shipment_id, status, description, location, occurred_at, event_key, source, actor_id, created_at)
            VALUES (\(bind: UUID()), \(bind: shipmentID), \(bind: status.rawValue), \(bind: String(description.prefix(200))), \(bind: String(location.prefix(60))),
                    \(bind: at), \(bind: "\(seconds)|\(status.rawValue)"), \(bind: source), \(bind: actorID), \(bind: now))
            ON CONFLICT (shipment_id, event_key) DO NOTHING RETURNING id
            """).all()
        guard !inserted.isEmpty else { return .duplicate }
        // Conditional updates: an older event arriving late, or concurrently, never overwrites a newer one.
        let sql = try sqlDatabase(db)
        try await sql.raw("""
            UPDATE shipments SET last_status = \(bind: status.rawValue), last_event_at = \(bind: at)
            WHERE id = \(bind: shipmentID) AND (last_event_at IS NULL OR last_event_at <= \(bind: at))
            """).run()
        if status == .signed {
            try await sql.raw("UPDATE shipments SET delivered_at = \(bind: at) WHERE id = \(bind: shipmentID) AND delivered_at IS NULL").run()
        }
        return .recorded
    }

    // MARK: reading

    /// The order's parcels with what they hold and their events, newest event first.
    static func timeline(orderID: UUID, on db: any Database, locale: MallLocale) async throws -> [ShipmentDTO] {
        let shipments = try await Shipment.query(on: db).filter(\.$orderID == orderID).sort(\.$parcelNo).all()
        let ids = try shipments.map { try $0.requireID() }
        guard !ids.isEmpty else { return [] }
        let items = try await ShipmentItem.query(on: db).filter(\.$shipmentID ~~ ids).all()
        let lines = try await OrderLine.query(on: db).filter(\.$order.$id == orderID).all()
        let linesByID = Dictionary(lines.compactMap { line in line.id.map { ($0, line) } }, uniquingKeysWith: { first, _ in first })
        let events = try await TrackingEvent.query(on: db).filter(\.$shipmentID ~~ ids).all()
        let carriers = try await Carrier.query(on: db).all()
        let names = Dictionary(carriers.map { ($0.code, $0.name(locale)) }, uniquingKeysWith: { first, _ in first })
        return try shipments.map { shipment in
            let id = try shipment.requireID()
            let status = shipment.lastStatus.flatMap(TrackingStatus.init(rawValue:))
            return ShipmentDTO(
                id: id, orderId: shipment.orderID, parcelNo: shipment.parcelNo, carrierCode: shipment.carrierCode,
                carrierName: names[shipment.carrierCode] ?? shipment.carrierCode, trackingNo: shipment.trackingNo, fromWaybill: shipment.fromWaybill,
                status: status?.rawValue ?? "shipped", statusLabel: status?.label(locale) ?? OrderState.shipped.label(locale),
                shippedAt: shipment.createdAt, deliveredAt: shipment.deliveredAt,
                lines: items.filter { $0.shipmentID == id }.map { item in
                    let line = linesByID[item.orderLineID]
                    return ShipmentLineDTO(lineId: item.orderLineID, title: line?.title ?? "", specText: line?.specText ?? "", quantity: item.units)
                }.sorted { (linesByID[$0.lineId]?.position ?? 0) < (linesByID[$1.lineId]?.position ?? 0) },
                events: events.filter { $0.shipmentID == id }
                    .sorted { ($0.occurredAt, $0.createdAt) > ($1.occurredAt, $1.createdAt) }
                    .compactMap { event in
                        event.id.map { TrackingEventDTO(id: $0, status: event.status, statusLabel: event.trackingStatus.label(locale), description: event.details,
                                                       location: event.location, occurredAt: event.occurredAt, source: event.source) }
                    })
        }
    }
}
