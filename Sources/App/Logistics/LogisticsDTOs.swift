import Foundation
import MallCore
import Vapor

struct ParcelLineInput: Content {
    let lineId: UUID
    let quantity: Int64
}

struct ParcelInput: Content {
    let carrierCode: String
    /// May be left out with `useWaybill`: the waybill provider issues one.
    let trackingNo: String?
    /// What the parcel holds; without it, everything no other parcel lists.
    let lines: [ParcelLineInput]?
}

/// `POST /api/v1/merchant/orders/{orderID}/ship`. The older form `{"carrier","trackingNo"}`
/// (one parcel, carrier by code or name) is still read.
struct ShipInput: Content {
    var parcels: [ParcelInput]?
    var useWaybill: Bool?
    var carrier: String?
    var trackingNo: String?

    init(parcels: [ParcelInput]?, useWaybill: Bool? = nil, carrier: String? = nil, trackingNo: String? = nil) {
        self.parcels = parcels
        self.useWaybill = useWaybill
        self.carrier = carrier
        self.trackingNo = trackingNo
    }
}

/// A tracking event typed in by the shop.
struct TrackingEventInput: Content {
    let status: String
    let description: String?
    let location: String?
    /// When it happened; now when left out.
    let occurredAt: Date?
}

struct CarrierDTO: Content {
    let code: String
    let name: String
}

struct TrackingEventDTO: Content {
    let id: UUID
    let status: String
    let statusLabel: String
    let description: String
    let location: String
    let occurredAt: Date
    /// carrier or merchant.
    let source: String
}

struct ShipmentLineDTO: Content {
    let lineId: UUID
    let title: String
    let specText: String
    let quantity: Int64
}

struct ShipmentDTO: Content {
    let id: UUID
    let orderId: UUID
    let parcelNo: Int
    let carrierCode: String
    let carrierName: String
    let trackingNo: String
    let fromWaybill: Bool
    /// `shipped` until the carrier reports, then the latest tracking status.
    let status: String
    let statusLabel: String
    let shippedAt: Date
    let deliveredAt: Date?
    let lines: [ShipmentLineDTO]
    /// Newest first.
    let events: [TrackingEventDTO]
}

struct ShipBatchResultDTO: Content {
    struct Shipped: Content {
        let orderId: UUID
        let orderNo: String
        let parcels: Int
    }
    let shipped: Int
    let orders: [Shipped]
}

struct TrackingCallbackResultDTO: Content {
    let code: String
    let accepted: Int
    let duplicates: Int
    let ignored: Int
}

/// A carrier's push to `/callbacks/logistics/{carrierCode}`, signed over the raw body.
struct TrackingPush: Decodable, Sendable {
    struct Event: Decodable, Sendable {
        let trackingNo: String
        let status: String
        let time: Date
        let description: String?
        let location: String?
    }
    let events: [Event]
}
