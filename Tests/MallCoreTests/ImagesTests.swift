import Foundation
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
}
