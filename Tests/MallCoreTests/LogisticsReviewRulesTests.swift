import Foundation
import Testing
@testable import MallCore

@Suite struct ParcelPlanTests {
    static let a = UUID(uuidString: "00000000-0000-0000-0000-0000000000A1") ?? UUID()
    static let b = UUID(uuidString: "00000000-0000-0000-0000-0000000000B2") ?? UUID()
    static let lines = [ShippableLine(id: a, units: 3), ShippableLine(id: b, units: 1)]

    @Test func withoutContentsTheFirstParcelHoldsEverything() throws {
        let plan = try ParcelPlan.allocate(lines: Self.lines, parcels: [nil, nil])
        #expect(plan == [[ParcelContent(lineID: Self.a, units: 3), ParcelContent(lineID: Self.b, units: 1)], []])
    }

    @Test func listedUnitsStayAndTheRestGoesToTheOpenParcel() throws {
        let plan = try ParcelPlan.allocate(lines: Self.lines, parcels: [[ParcelContent(lineID: Self.a, units: 1), ParcelContent(lineID: Self.a, units: 1)], nil])
        #expect(plan == [[ParcelContent(lineID: Self.a, units: 2)], [ParcelContent(lineID: Self.a, units: 1), ParcelContent(lineID: Self.b, units: 1)]])
    }

    @Test func refusals() {
        #expect(throws: ParcelPlanError.noParcels) { try ParcelPlan.allocate(lines: Self.lines, parcels: []) }
        #expect(throws: ParcelPlanError.tooManyParcels(max: 20)) { try ParcelPlan.allocate(lines: Self.lines, parcels: Array(repeating: nil, count: 21)) }
        #expect(throws: ParcelPlanError.unknownLine(parcel: 0, entry: 0)) { try ParcelPlan.allocate(lines: Self.lines, parcels: [[ParcelContent(lineID: UUID(), units: 1)]]) }
        #expect(throws: ParcelPlanError.nonPositiveUnits(parcel: 1, entry: 0)) {
            try ParcelPlan.allocate(lines: Self.lines, parcels: [nil, [ParcelContent(lineID: Self.a, units: 0)]])
        }
        #expect(throws: ParcelPlanError.tooManyUnits(lineID: Self.a, asked: .max, shippable: 3)) {
            try ParcelPlan.allocate(lines: Self.lines, parcels: [[ParcelContent(lineID: Self.a, units: 2)], [ParcelContent(lineID: Self.a, units: .max)]])
        }
        #expect(throws: ParcelPlanError.unitsLeftOver(lineID: Self.a, left: 1)) {
            try ParcelPlan.allocate(lines: Self.lines, parcels: [[ParcelContent(lineID: Self.a, units: 2), ParcelContent(lineID: Self.b, units: 1)]])
        }
        #expect(throws: ParcelPlanError.nothingToShip) { try ParcelPlan.allocate(lines: [ShippableLine(id: Self.a, units: 0)], parcels: [nil]) }
    }

    @Test(arguments: [("sf1234567890", "SF1234567890"), ("7300-0001", "7300-0001"), ("SF100", "SF100")])
    func trackingNumbers(raw: String, normalized: String) {
        #expect(ShipmentRules.normalizedTrackingNo(raw) == normalized)
    }

    @Test(arguments: ["", "SF1", "SF 123456", " SF123456", "SF123456\u{0}", "ＳＦ123456", String(repeating: "1", count: 41), "=1+2+3456"])
    func malformedTrackingNumbers(raw: String) {
        #expect(ShipmentRules.normalizedTrackingNo(raw) == nil)
    }

    @Test func eventTimes() {
        let shipped = Date(timeIntervalSince1970: 1_000_000)
        let now = shipped.addingTimeInterval(3_600)
        #expect(ShipmentRules.eventTimeIsPlausible(now, shippedAt: shipped, now: now))
        #expect(ShipmentRules.eventTimeIsPlausible(now.addingTimeInterval(600), shippedAt: shipped, now: now))
        #expect(!ShipmentRules.eventTimeIsPlausible(now.addingTimeInterval(601), shippedAt: shipped, now: now))
        #expect(!ShipmentRules.eventTimeIsPlausible(shipped.addingTimeInterval(-86_401), shippedAt: shipped, now: now))
        #expect(!ShipmentRules.eventTimeIsPlausible(.distantFuture, shippedAt: shipped, now: now))
    }
}

@Suite struct ReviewRulesTests {
    @Test(arguments: [(Int64(0), Int64(0), "0.0"), (1, 5, "5.0"), (3, 13, "4.3"), (2, 9, "4.5"), (3, 14, "4.7"), (20, 89, "4.5"), (.max, .max, "1.0")])
    func averageToOneDecimal(count: Int64, total: Int64, text: String) {
        #expect(RatingSummary(count: count, starsTotal: total).averageText == text)
    }

    @Test func checks() {
        #expect(ReviewRules.check(stars: 5, text: String(repeating: "好", count: 500), photoCount: 6).isEmpty)
        #expect(ReviewRules.check(stars: 0, text: String(repeating: "好", count: 501), photoCount: 7) == [.starsOutOfRange, .textTooLong, .tooManyPhotos])
        #expect(ReviewRules.check(stars: .min, text: "", photoCount: 0) == [.starsOutOfRange])
        #expect(ReviewRules.orderAllowsReview(.received) && ReviewRules.orderAllowsReview(.completed))
        #expect(!ReviewRules.orderAllowsReview(.shipped) && !ReviewRules.orderAllowsReview(.paid))
    }

    @Test func maskedNames() {
        #expect(ReviewRules.maskedName("用户8000") == "用**")
        #expect(ReviewRules.maskedName("  ") == "***")
        #expect(ReviewRules.maskedName("👨‍👩‍👧 family") == "👨‍👩‍👧**")
    }
}
