import Fluent
import Foundation
import MallCore
import SQLKit

/// A courier company the mall knows, by its short code (SF, ZTO …). Seeded by the migration.
final class Carrier: Model, @unchecked Sendable {
    static let schema = "carriers"

    @ID(key: .id) var id: UUID?
    @Field(key: "code") var code: String
    @Field(key: "name_zh") var nameZh: String
    @Field(key: "name_en") var nameEn: String
    @Field(key: "sort_order") var sortOrder: Int
    @Field(key: "active") var active: Bool

    init() {}

    func name(_ locale: MallLocale) -> String { locale == .zhHans ? nameZh : nameEn }
}

/// One parcel of an order: a carrier, a tracking number and what it holds. An order ships once,
/// in one or several parcels.
final class Shipment: Model, @unchecked Sendable {
    static let schema = "shipments"

    @ID(key: .id) var id: UUID?
    @Field(key: "order_id") var orderID: UUID
    @Field(key: "merchant_id") var merchantID: UUID
    /// 1, 2, … within the order.
    @Field(key: "parcel_no") var parcelNo: Int
    @Field(key: "carrier_code") var carrierCode: String
    @Field(key: "tracking_no") var trackingNo: String
    /// The number came from the electronic waybill provider.
    @Field(key: "from_waybill") var fromWaybill: Bool
    /// The latest tracking status by event time; nil until the first event.
    @OptionalField(key: "last_status") var lastStatus: String?
    @OptionalField(key: "last_event_at") var lastEventAt: Date?
    @OptionalField(key: "delivered_at") var deliveredAt: Date?
    @OptionalField(key: "staff_id") var staffID: UUID?
    @Field(key: "created_at") var createdAt: Date

    init() {}
}

/// Units of an order line inside a parcel.
final class ShipmentItem: Model, @unchecked Sendable {
    static let schema = "shipment_items"

    @ID(key: .id) var id: UUID?
    @Field(key: "shipment_id") var shipmentID: UUID
    @Field(key: "order_line_id") var orderLineID: UUID
    @Field(key: "units") var units: Int64

    init() {}
}

/// What a carrier (or the shop, by hand) said about a parcel. Never updated; a repeat of the same
/// time and status for the same parcel is recognised by `event_key` and ignored.
final class TrackingEvent: Model, @unchecked Sendable {
    static let schema = "tracking_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "shipment_id") var shipmentID: UUID
    @Field(key: "status") var status: String
    @Field(key: "description") var details: String
    @Field(key: "location") var location: String
    @Field(key: "occurred_at") var occurredAt: Date
    /// "<epoch seconds>|<status>": one row per parcel, time and status.
    @Field(key: "event_key") var eventKey: String
    /// carrier or merchant.
    @Field(key: "source") var source: String
    @OptionalField(key: "actor_id") var actorID: UUID?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    var trackingStatus: TrackingStatus { TrackingStatus(rawValue: status) ?? .exception }
}

/// The carriers a new mall starts with; operators may add more rows later.
enum CarrierSeed {
    static let all: [(code: String, zh: String, en: String)] = [
        ("SF", "顺丰速运", "SF Express"),
        ("ZTO", "中通快递", "ZTO Express"),
        ("YTO", "圆通速递", "YTO Express"),
        ("YD", "韵达快递", "Yunda Express"),
        ("STO", "申通快递", "STO Express"),
        ("JD", "京东物流", "JD Logistics"),
        ("EMS", "邮政EMS", "China Post EMS"),
        ("YZPY", "邮政快递包裹", "China Post Parcel"),
        ("JTSD", "极兔速递", "J&T Express"),
        ("DBL", "德邦快递", "Deppon Express"),
    ]
}

struct CreateLogistics: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(Carrier.schema)
            .id()
            .field("code", .string, .required)
            .field("name_zh", .string, .required)
            .field("name_en", .string, .required)
            .field("sort_order", .int, .required)
            .field("active", .bool, .required)
            .unique(on: "code")
            .create()
        for (index, seed) in CarrierSeed.all.enumerated() {
            let carrier = Carrier()
            carrier.code = seed.code
            carrier.nameZh = seed.zh
            carrier.nameEn = seed.en
            carrier.sortOrder = index
            carrier.active = true
            try await carrier.create(on: db)
        }
        try await db.schema(Shipment.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("merchant_id", .uuid, .required, .references(Merchant.schema, .id))
            .field("parcel_no", .int, .required)
            .field("carrier_code", .string, .required)
            .field("tracking_no", .string, .required)
            .field("from_waybill", .bool, .required)
            .field("last_status", .string)
            .field("last_event_at", .datetime)
            .field("delivered_at", .datetime)
            .field("staff_id", .uuid)
            .field("created_at", .datetime, .required)
            .unique(on: "order_id", "parcel_no")
            .create()
        try await createIndex("shipments_tracking", on: Shipment.schema, columns: ["carrier_code", "tracking_no"], db: db)
        try await db.schema(ShipmentItem.schema)
            .id()
            .field("shipment_id", .uuid, .required, .references(Shipment.schema, .id))
            .field("order_line_id", .uuid, .required, .references(OrderLine.schema, .id))
            .field("units", .int64, .required)
            .unique(on: "shipment_id", "order_line_id")
            .create()
        try await db.schema(TrackingEvent.schema)
            .id()
            .field("shipment_id", .uuid, .required, .references(Shipment.schema, .id))
            .field("status", .string, .required)
            .field("description", .string, .required)
            .field("location", .string, .required)
            .field("occurred_at", .datetime, .required)
            .field("event_key", .string, .required)
            .field("source", .string, .required)
            .field("actor_id", .uuid)
            .field("created_at", .datetime, .required)
            .unique(on: "shipment_id", "event_key")
            .create()
    }

    func revert(on db: any Database) async throws {
        for schema in [TrackingEvent.schema, ShipmentItem.schema, Shipment.schema, Carrier.schema] { try await db.schema(schema).delete() }
    }
}
