import Foundation
import PropertyBased
import Testing
@testable import MallCore

@Suite struct ImagesTests {
    let checker = ModuleMatrix(size: 2, modules: [true, false, false, true])

    @Test func pngHasTheRightStructureAndChecksums() {
        let png = checker.png(scale: 1, margin: 0)
        #expect(Array(png.prefix(8)) == PNG.signature)
        #expect(Array(png[12..<16]) == Array("IHDR".utf8))
        #expect(Array(png[16..<24]) == [0, 0, 0, 2, 0, 0, 0, 2]) // 2 × 2 pixels
        #expect(png[24] == 1) // one bit per pixel
        // Known check values.
        #expect(PNG.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(PNG.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(Array(png.suffix(12)) == [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    @Test func svgDrawsEveryDarkModule() {
        let svg = checker.svg(margin: 1)
        #expect(svg.contains(#"viewBox="0 0 4 4""#))
        #expect(svg.contains("M1 1h1v1h-1z"))
        #expect(svg.contains("M2 2h1v1h-1z"))
        #expect(!svg.contains("M2 1"))
    }

    @Test func distancesBetweenShanghaiPlaces() {
        // People's Square to a point near the Bund: about 1.9 km.
        let d = Geo.distanceMetres(lat1: 31.2304, lng1: 121.4737, lat2: 31.2400, lng2: 121.4900)
        #expect(d > 1_500 && d < 2_000)
        #expect(Geo.distanceMetres(lat1: 30, lng1: 120, lat2: 30, lng2: 120) == 0)
        #expect(!Geo.isValid(lat: 91, lng: 0))
        #expect(!Geo.isValid(lat: .nan, lng: 0))
    }

    /// 暖暖母婴 静安店 in the demo catalog.
    static let jingAn = (lat: 31.2243, lng: 121.4466)
    /// The brief allows for the IUGG mean radius; ours is a little smaller.
    static let halfwayRound = Double.pi * 6_371_008.8

    static func isSane(_ d: Double) -> Bool { d.isFinite && d >= 0 && d <= halfwayRound && d <= Geo.maxDistanceMetres }

    @Test func theAntipodeOfAStoreIsFiniteAndHalfWayRound() {
        // This query made the haversine term 1.0000000000000002 and the distance NaN, which then
        // stopped the server when it was turned into whole metres.
        let d = Geo.distanceMetres(lat1: -31.224300254, lng1: -58.5534003, lat2: Self.jingAn.lat, lng2: Self.jingAn.lng)
        #expect(Self.isSane(d))
        #expect(d > Geo.maxDistanceMetres - 1)
        #expect(Geo.roundedMetres(d) == 20_015_087)
    }

    @Test(arguments: [
        (90.0, 0.0, -90.0, 0.0), (90, 0, 90, 180), (-90, 45, -90, -135), (0, 180, 0, -180), (10, 180, -10, 0),
        (31.2243, 121.4466, 31.2243, 121.4466), (0, 0, 0, 180), (45, 10, -45, -170), (-31.2243, -58.5534, 31.2243, 121.4466),
        (89.999999, 0, -89.999999, 180), (0, -180, 0, 180),
    ])
    func everyDistanceIsFiniteAndAtMostHalfWayRound(lat1: Double, lng1: Double, lat2: Double, lng2: Double) throws {
        let d = Geo.distanceMetres(lat1: lat1, lng1: lng1, lat2: lat2, lng2: lng2)
        #expect(Self.isSane(d), "\(d)")
        #expect(Geo.roundedMetres(d) != nil)
        #expect(Geo.distanceMetres(lat1: lat2, lng1: lng2, lat2: lat1, lng2: lng1) == d)
    }

    @Test func polesAntimeridianAndIdenticalPoints() {
        #expect(Geo.distanceMetres(lat1: 90, lng1: 0, lat2: -90, lng2: 0) == Geo.maxDistanceMetres)
        // All longitudes meet at a pole, and 180° and −180° are the same meridian.
        #expect(Geo.distanceMetres(lat1: 90, lng1: 0, lat2: 90, lng2: 123) < 1e-6)
        #expect(Geo.distanceMetres(lat1: 30, lng1: 180, lat2: 30, lng2: -180) < 1e-6)
        #expect(Geo.distanceMetres(lat1: Self.jingAn.lat, lng1: Self.jingAn.lng, lat2: Self.jingAn.lat, lng2: Self.jingAn.lng) == 0)
        #expect(Geo.roundedMetres(Geo.distanceMetres(lat1: 30, lng1: 180, lat2: 30, lng2: -180)) == 0)
    }

    @Test func coordinatesThatAreNotNumbersGiveNoDistance() {
        for bad in [Double.nan, .infinity, -.infinity] {
            let d = Geo.distanceMetres(lat1: bad, lng1: 0, lat2: 0, lng2: 0)
            #expect(!d.isNaN)
            #expect(Geo.roundedMetres(d) == nil)
            #expect(!Geo.distanceMetres(lat1: 0, lng1: 0, lat2: 0, lng2: bad).isNaN)
        }
        #expect(Geo.roundedMetres(.nan) == nil)
        #expect(Geo.roundedMetres(1_500.5) == 1_501)
    }

    @Test func anyTwoPlacesAreAtMostHalfWayRound() async {
        let latitude = Gen.double(in: -90...90)
        let longitude = Gen.double(in: -180...180)
        await propertyCheck(count: 2_000, input: latitude, longitude, latitude, longitude) { lat1, lng1, lat2, lng2 in
            let d = Geo.distanceMetres(lat1: lat1, lng1: lng1, lat2: lat2, lng2: lng2)
            #expect(Self.isSane(d), "\(lat1),\(lng1) → \(lat2),\(lng2): \(d)")
            // The antipode of the first point, as a user's phone might report it.
            let antipode = Geo.distanceMetres(lat1: lat1, lng1: lng1, lat2: -lat1, lng2: lng1 > 0 ? lng1 - 180 : lng1 + 180)
            #expect(Self.isSane(antipode), "antipode of \(lat1),\(lng1): \(antipode)")
        }
    }
}
