import Crypto
import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// A carrier's side of tracking pushes: signs with its secret and posts to a running server.
struct FakeCarrier {
    let code: String
    let key: SymmetricKey
    let live: LiveServer

    struct Sent {
        let status: HTTPStatus
        let result: TrackingCallbackResultDTO?
    }

    static func body(_ events: [(trackingNo: String, status: String, time: Date, description: String)]) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        let items = events.map { event in
            #"{"trackingNo":"\#(event.trackingNo)","status":"\#(event.status)","time":"\#(formatter.string(from: event.time))","description":"\#(event.description)","location":"上海"}"#
        }
        return Array(#"{"events":[\#(items.joined(separator: ","))]}"#.utf8)
    }

    /// Posts `body` signed at `timestamp`, or with `signature` when given (a forgery).
    func post(_ body: [UInt8], timestamp: Int64, signature: String? = nil) async throws -> Sent {
        let headers: HTTPHeaders = [
            "Content-Type": "application/json", TrackingWebhook.timestampHeader: String(timestamp),
            TrackingWebhook.signatureHeader: signature ?? TrackingWebhook.sign(body: body, timestamp: timestamp, key: key),
        ]
        let response = try await live.send(.POST, "/callbacks/logistics/\(code)", headers: headers, body: String(decoding: body, as: UTF8.self))
        return Sent(status: response.status, result: try? response.content.decode(TrackingCallbackResultDTO.self))
    }
}

@Suite struct LogisticsTests {
    static func shipments(_ t: TestContext, order: UUID, token: String, merchant: Bool = false) async throws -> [ShipmentDTO] {
        let response = try await t.get(merchant ? "/api/v1/merchant/orders/\(order)/shipments" : "/api/v1/me/orders/\(order)/shipments", token: token)
        #expect(response.status == .ok, "\(response.body.string)")
        return try response.content.decode([ShipmentDTO].self)
    }

    /// Paid orders of shop A, one unit of milk each, placed and paid by the fixture's buyer.
    static func paidOrders(_ t: TestContext, count: Int) async throws -> (s: OrderFlowTests.Shop, orders: [OrderDTO]) {
        let s = try await OrderFlowTests.shop(t)
        try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 200_000)
        var orders: [OrderDTO] = []
        for _ in 0..<count {
            let json = #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":1}],"addressId":"\#(s.address)"}"#
            let result = try await t.postJSON("/api/v1/checkout", json, token: s.buyer).content.decode(CheckoutResultDTO.self)
            let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(paid.status == .ok, "\(paid.body.string)")
            orders.append(result.orders[0])
        }
        return (s, orders)
    }

    @Test func twoParcelsShipTheOrderAndTheBuyerSeesBoth() async throws {
        try await withMallApp { t in
            // setup: a paid order of 3 units
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            let line = order.lines[0].id
            let url = "/api/v1/merchant/orders/\(order.id)/ship"

            // Refusals change nothing: too many units, an unknown carrier, a malformed number, another shop.
            let tooMany = try await t.postJSON(url, #"{"parcels":[{"carrierCode":"SF","trackingNo":"SF1000000001","lines":[{"lineId":"\#(line)","quantity":4}]}]}"#, token: s.f.shopAToken)
            #expect(tooMany.status == .unprocessableEntity, "\(tooMany.body.string)")
            #expect(tooMany.error?.code == "shipment_too_many_units")
            let leftOver = try await t.postJSON(url, #"{"parcels":[{"carrierCode":"SF","trackingNo":"SF1000000001","lines":[{"lineId":"\#(line)","quantity":2}]}]}"#, token: s.f.shopAToken)
            #expect(leftOver.error?.code == "shipment_units_left_over")
            let unknown = try await t.postJSON(url, #"{"parcels":[{"carrierCode":"XX","trackingNo":"bad number!"}]}"#, token: s.f.shopAToken)
            #expect(unknown.status == .unprocessableEntity)
            #expect(Set(unknown.error?.details.map(\.field) ?? []) == ["parcels[0].carrierCode", "parcels[0].trackingNo"])
            let tooManyParcels = try await t.postJSON(url, #"{"parcels":[\#((0..<21).map { #"{"carrierCode":"SF","trackingNo":"SF10000000\#($0 + 10)"}"# }.joined(separator: ","))]}"#, token: s.f.shopAToken)
            #expect(tooManyParcels.error?.code == "shipment_too_many_parcels")
            let otherShop = try await t.postJSON(url, #"{"parcels":[{"carrierCode":"SF","trackingNo":"SF1000000001"}]}"#, token: s.f.shopBToken)
            #expect(otherShop.status == .notFound)
            #expect(try await Order.find(order.id, on: t.app.db)?.state == "paid")
            #expect(try await Shipment.query(on: t.app.db).count() == 0)

            // act: two parcels, two units and one
            let shipped = try await t.postJSON(url, #"""
                {"parcels":[{"carrierCode":"SF","trackingNo":"sf1000000001","lines":[{"lineId":"\#(line)","quantity":2}]},
                            {"carrierCode":"ZTO","trackingNo":"7300000000002","lines":[{"lineId":"\#(line)","quantity":1}]}],"useWaybill":false}
                """#, token: s.f.shopAToken)

            // check
            #expect(shipped.status == .ok, "\(shipped.body.string)")
            let dto = try shipped.content.decode(OrderDTO.self)
            #expect(dto.state == "shipped")
            #expect(dto.timeline?.contains { $0.action == "ship" && $0.reason == "SF SF1000000001, ZTO 7300000000002" } == true)
            #expect(try await Order.find(order.id, on: t.app.db)?.shippedAt == t.clock.now())
            let parcels = try await Self.shipments(t, order: order.id, token: s.buyer)
            #expect(parcels.map(\.carrierName) == ["顺丰速运", "中通快递"])
            #expect(parcels.map(\.trackingNo) == ["SF1000000001", "7300000000002"])
            #expect(parcels.map { $0.lines.map(\.quantity) } == [[2], [1]])
            #expect(parcels.allSatisfy { $0.status == "shipped" && $0.events.isEmpty && !$0.fromWaybill })
            #expect(try await Self.shipments(t, order: order.id, token: s.f.shopAToken, merchant: true).count == 2)

            // Shipping again is a state conflict; strangers see nothing.
            let again = try await t.postJSON(url, #"{"parcels":[{"carrierCode":"SF","trackingNo":"SF1000000009"}]}"#, token: s.f.shopAToken)
            #expect(again.status == .conflict)
            #expect(try await t.get("/api/v1/merchant/orders/\(order.id)/shipments", token: s.f.shopBToken).status == .notFound)
            let stranger = try await t.registerMember("13600000077")
            #expect(try await t.get("/api/v1/me/orders/\(order.id)/shipments", token: stranger).status == .notFound)
            #expect(try await Shipment.query(on: t.app.db).count() == 2)
        }
    }

    @Test func waybillNumbersComeFromTheProvider() async throws {
        try await withMallApp { t in
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            let body = #"{"parcels":[{"carrierCode":"SF"},{"carrierCode":"JD","lines":[]}],"useWaybill":true}"#
            // Without a provider the shop must type the numbers.
            t.app.waybillProvider = nil
            let refused = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", body, token: s.f.shopAToken)
            #expect(refused.status == .conflict)
            #expect(refused.error?.code == "logistics.waybill_unavailable")
            #expect(try await Order.find(order.id, on: t.app.db)?.state == "paid")

            t.app.waybillProvider = LoggingWaybillProvider()
            let shipped = try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", body, token: s.f.shopAToken)
            #expect(shipped.status == .ok, "\(shipped.body.string)")
            let parcels = try await Self.shipments(t, order: order.id, token: s.buyer)
            #expect(parcels.map(\.trackingNo) == [
                LoggingWaybillProvider.number(carrierCode: "SF", orderNo: order.orderNo, parcelNo: 1),
                LoggingWaybillProvider.number(carrierCode: "JD", orderNo: order.orderNo, parcelNo: 2),
            ])
            #expect(parcels[0].trackingNo.hasPrefix("SF") && parcels[0].trackingNo.hasSuffix("01"))
            #expect(parcels.allSatisfy { $0.fromWaybill })
            // The first parcel without contents holds everything.
            #expect(parcels.map { $0.lines.map(\.quantity) } == [[3], []])
        }
    }

    @Test func signedTrackingPushesAppearOnceAndForgeriesChangeNothing() async throws {
        try await withMallApp { t in
            // setup: shipped in one SF parcel
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            #expect(try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"parcels":[{"carrierCode":"SF","trackingNo":"SF2000000001"}]}"#, token: s.f.shopAToken).status == .ok)
            let key = try #require(t.app.logisticsWebhookKeys.key(for: "SF"))
            let now = Int64(t.clock.now().timeIntervalSince1970)
            // Times a little ahead of the server's clock, as a carrier's may be (access tokens keep the clock still).
            let collected = FakeCarrier.body([("SF2000000001", "collected", t.clock.now().addingTimeInterval(60), "已揽收")])
            let signed = FakeCarrier.body([("sf2000000001", "in_transit", t.clock.now().addingTimeInterval(120), "到达上海转运中心"),
                                           ("SF2000000001", "signed", t.clock.now().addingTimeInterval(300), "本人签收"),
                                           ("SF9999999999", "in_transit", t.clock.now(), "别人的包裹"),
                                           ("SF2000000001", "returned", t.clock.now().addingTimeInterval(-3 * 86_400), "三天前的旧消息")])
            let later = now

            try await t.withLiveServer { live in
                let carrier = FakeCarrier(code: "SF", key: key, live: live)
                // Forged, stale, tampered, wrong carrier: refused, nothing recorded.
                #expect(try await carrier.post(collected, timestamp: later, signature: String(repeating: "0", count: 64)).status == .unauthorized)
                #expect(try await carrier.post(collected, timestamp: later - 301).status == .unauthorized)
                var tampered = collected
                if let index = tampered.firstIndex(of: UInt8(ascii: "1")) { tampered[index] = UInt8(ascii: "2") }
                #expect(try await carrier.post(tampered, timestamp: later, signature: TrackingWebhook.sign(body: collected, timestamp: later, key: key)).status == .unauthorized)
                let other = FakeCarrier(code: "ZTO", key: key, live: live)
                #expect(try await other.post(collected, timestamp: later).status == .unauthorized)
                let nobody = FakeCarrier(code: "NOPE", key: key, live: live)
                #expect(try await nobody.post(collected, timestamp: later).status == .notFound)
                #expect(try await TrackingEvent.query(on: t.app.db).count() == 0)

                // act: the pushes, one delivered twice
                let first = try await carrier.post(collected, timestamp: later)
                #expect(first.status == .ok)
                #expect(first.result?.accepted == 1)
                let second = try await carrier.post(signed, timestamp: later)
                #expect(second.result?.accepted == 2)
                // The unknown number and the event from before the shipment are ignored.
                #expect(second.result?.ignored == 2)
                let repeated = try await carrier.post(signed, timestamp: later)
                #expect(repeated.status == .ok)
                #expect(repeated.result?.accepted == 0)
                #expect(repeated.result?.duplicates == 2)
            }

            // check: newest first, delivered, the order still awaits the buyer's receipt
            let parcel = try #require(try await Self.shipments(t, order: order.id, token: s.buyer).first)
            #expect(parcel.events.map(\.status) == ["signed", "in_transit", "collected"])
            #expect(parcel.events.map(\.statusLabel) == ["已签收", "运输中", "已揽收"])
            #expect(parcel.status == "signed")
            #expect(parcel.deliveredAt != nil)
            #expect(try await Order.find(order.id, on: t.app.db)?.state == "shipped")
            #expect(try await TrackingEvent.query(on: t.app.db).count() == 3)
        }
    }

    @Test func theShopEntersEventsByHand() async throws {
        try await withMallApp { t in
            let (s, order, _) = try await AfterSaleTests.paidOrder(t)
            #expect(try await t.postJSON("/api/v1/merchant/orders/\(order.id)/ship", #"{"parcels":[{"carrierCode":"EMS","trackingNo":"1100000000001"}]}"#, token: s.f.shopAToken).status == .ok)
            let parcel = try #require(try await Self.shipments(t, order: order.id, token: s.buyer).first)
            let url = "/api/v1/merchant/orders/\(order.id)/shipments/\(parcel.id)/events"
            let at = ISO8601DateFormatter().string(from: t.clock.now().addingTimeInterval(-3_600))

            let added = try await t.postJSON(url, #"{"status":"in_transit","description":"已发往北京","location":"上海","occurredAt":"\#(at)"}"#, token: s.f.shopAToken)
            #expect(added.status == .created, "\(added.body.string)")
            let repeated = try await t.postJSON(url, #"{"status":"in_transit","description":"已发往北京","occurredAt":"\#(at)"}"#, token: s.f.shopAToken)
            #expect(repeated.status == .ok)
            let bad = try await t.postJSON(url, #"{"status":"teleported"}"#, token: s.f.shopAToken)
            #expect(bad.status == .unprocessableEntity)
            let future = ISO8601DateFormatter().string(from: t.clock.now().addingTimeInterval(86_400))
            #expect(try await t.postJSON(url, #"{"status":"signed","occurredAt":"\#(future)"}"#, token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await t.postJSON(url, #"{"status":"signed"}"#, token: s.f.shopBToken).status == .notFound)
            let buyerTry = try await t.postJSON(url, #"{"status":"signed"}"#, token: s.buyer)
            #expect(buyerTry.status == .forbidden)

            let events = try #require(try await Self.shipments(t, order: order.id, token: s.buyer).first).events
            #expect(events.map(\.source) == ["merchant"])
            #expect(events.first?.description == "已发往北京")
        }
    }

    @Test func aBatchFileShipsEveryOrderOrNone() async throws {
        try await withMallApp { t in
            // setup: three paid orders
            let (s, orders) = try await Self.paidOrders(t, count: 3)
            func upload(_ csv: String, token: String? = nil) async throws -> TestingHTTPResponse {
                var headers = HTTPHeaders()
                headers.contentType = HTTPMediaType(type: "text", subType: "csv")
                headers.bearerAuthorization = .init(token: token ?? s.f.shopAToken)
                return try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/orders/ship-batch", headers: headers, body: .init(string: csv))
            }
            let nos = orders.map(\.orderNo)

            // One bad row (line 3: unknown carrier): nothing ships.
            let bad = try await upload("order_no,carrier,tracking_no\r\n\(nos[0]),SF,SF3000000001\r\n\(nos[1]),火星快递,MX3000000002\r\n\(nos[2]),ZTO,7300000003\r\n")
            #expect(bad.status == .unprocessableEntity, "\(bad.body.string)")
            #expect(bad.error?.details.map(\.field) == ["line 3"])
            #expect(bad.error?.details.first?.message.contains("火星快递") == true)
            // Another shop's order is not found from this shop.
            let foreign = try await upload("order_no,carrier,tracking_no\n\(nos[0]),SF,SF3000000001\n", token: s.f.shopBToken)
            #expect(foreign.error?.details.map(\.field) == ["line 2"])
            #expect(try await Order.query(on: t.app.db).filter(\.$state == "paid").count() == 3)
            #expect(try await Shipment.query(on: t.app.db).count() == 0)

            // act: Chinese headers, the third order in two parcels
            let good = try await upload(CSV.byteOrderMark + "订单号,快递公司,运单号\n\(nos[0]),SF,SF3000000001\n\(nos[1]),圆通速递,YT3000000002\n\(nos[2]),中通快递,7300000003\n\(nos[2]),ZTO,7300000004\n")

            // check
            #expect(good.status == .ok, "\(good.body.string)")
            let result = try good.content.decode(ShipBatchResultDTO.self)
            #expect(result.shipped == 3)
            #expect(result.orders.map(\.parcels) == [1, 1, 2])
            #expect(try await Order.query(on: t.app.db).filter(\.$state == "shipped").count() == 3)
            let third = try await Self.shipments(t, order: orders[2].id, token: s.buyer)
            #expect(third.map(\.trackingNo) == ["7300000003", "7300000004"])
            // A second run is refused row by row: they have shipped.
            let twice = try await upload("order_no,carrier,tracking_no\n\(nos[0]),SF,SF3000000009\n")
            #expect(twice.error?.details.first?.message.contains("已发货") == true)
            // Too many rows, and not a CSV at all.
            let rows = (0...ShipmentRules.maxBatchRows).map { "\($0),SF,SF\(4_000_000 + $0)" }.joined(separator: "\n")
            #expect(try await upload("order_no,carrier,tracking_no\n" + rows).status == .unprocessableEntity)
            var json = HTTPHeaders()
            json.contentType = .json
            json.bearerAuthorization = .init(token: s.f.shopAToken)
            #expect(try await t.app.testing().sendRequest(.POST, "/api/v1/merchant/orders/ship-batch", headers: json, body: .init(string: "{}")).status == .unsupportedMediaType)
        }
    }
}
