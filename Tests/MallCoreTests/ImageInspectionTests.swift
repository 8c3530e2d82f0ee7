import Foundation
import Testing
@testable import MallCore

@Suite struct ImageInspectionTests {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le24(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF)] }

    /// A JPEG header: APP0, a Huffman table (whose marker shares the SOF range) and then the frame.
    static func jpeg(width: Int, height: Int, frame: UInt8 = 0xC0) -> [UInt8] {
        var b: [UInt8] = [0xFF, 0xD8]
        b += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        b += [0xFF, 0xC4, 0x00, 0x05, 0x00, 0x01, 0x02]
        b += [0xFF, frame, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 3]
        b += [UInt8](repeating: 0, count: 9)
        return b + [0xFF, 0xD9]
    }

    static func webp(_ chunk: String, _ body: [UInt8]) -> [UInt8] {
        Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBP".utf8) + Array(chunk.utf8) + [UInt8(body.count), 0, 0, 0] + body
    }

    @Test func formatsAndSizesComeFromTheBytes() throws {
        let png = PNG.encodeRGB(width: 7, height: 3, pixels: [UInt8](repeating: 9, count: 7 * 3 * 3))
        #expect(ImageInspection.inspect(png) == ImageInfo(format: .png, width: 7, height: 3))
        #expect(png[25] == 2) // colour type: RGB

        #expect(ImageInspection.inspect(Self.jpeg(width: 640, height: 480)) == ImageInfo(format: .jpeg, width: 640, height: 480))
        #expect(ImageInspection.inspect(Self.jpeg(width: 1080, height: 1920, frame: 0xC2)) == ImageInfo(format: .jpeg, width: 1080, height: 1920))

        let gif = Array("GIF89a".utf8) + Self.le16(300) + Self.le16(200) + [0, 0, 0]
        #expect(ImageInspection.inspect(gif) == ImageInfo(format: .gif, width: 300, height: 200))

        let extended = Self.webp("VP8X", [0, 0, 0, 0] + Self.le24(799) + Self.le24(599))
        #expect(ImageInspection.inspect(extended) == ImageInfo(format: .webp, width: 800, height: 600))
        let bits = UInt32(499) | UInt32(249) << 14
        let lossless = Self.webp("VP8L", [0x2F, UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24 & 0xFF), 0, 0, 0, 0, 0])
        #expect(ImageInspection.inspect(lossless) == ImageInfo(format: .webp, width: 500, height: 250))
        let lossy = Self.webp("VP8 ", [0, 0, 0, 0x9D, 0x01, 0x2A] + Self.le16(320) + Self.le16(240))
        #expect(ImageInspection.inspect(lossy) == ImageInfo(format: .webp, width: 320, height: 240))

        #expect(try ImageInspection.check(png).format == .png)
    }

    @Test func whatIsNotAPictureIsRefused() {
        #expect(throws: ImageInspection.Problem.empty) { try ImageInspection.check([]) }
        #expect(throws: ImageInspection.Problem.notAnImage) { try ImageInspection.check(Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8)) }
        #expect(throws: ImageInspection.Problem.notAnImage) { try ImageInspection.check(Array("hello, this is text".utf8)) }
        #expect(throws: ImageInspection.Problem.notAnImage) { try ImageInspection.check(PNG.signature) }
        #expect(throws: ImageInspection.Problem.notAnImage) { try ImageInspection.check([0xFF, 0xD8, 0xFF, 0xD9, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: ImageInspection.Problem.notAnImage) { try ImageInspection.check(Self.webp("VP8 ", [0, 0, 0, 1, 2, 3, 0, 0, 0, 0])) }
        let zeroWide = PNG.encode(width: 0, height: 0, bitDepth: 8, scanlines: [])
        #expect(throws: ImageInspection.Problem.badDimensions) { try ImageInspection.check(zeroWide) }
        let huge = PNG.encodeRGB(width: 1, height: 1, pixels: [0, 0, 0]) + [UInt8](repeating: 0, count: ImageInspection.maxBytes)
        #expect(throws: ImageInspection.Problem.tooLarge) { try ImageInspection.check(huge) }
    }

    @Test func formatsMapToTypesAndExtensions() {
        #expect(ImageFormat.jpeg.contentType == "image/jpeg")
        #expect(ImageFormat.jpeg.fileExtension == "jpg")
        #expect(ImageFormat(fileExtension: "JPEG") == .jpeg)
        #expect(ImageFormat(fileExtension: "svg") == nil)
    }

    @Test func drawnPicturesDifferByHueAndMotif() {
        let a = DrawnPicture.pixels(size: 24, hue: 0.1, motif: .circle)
        #expect(a.count == 24 * 24 * 3)
        #expect(a == DrawnPicture.pixels(size: 24, hue: 0.1, motif: .circle))
        #expect(a != DrawnPicture.pixels(size: 24, hue: 0.6, motif: .circle))
        #expect(a != DrawnPicture.pixels(size: 24, hue: 0.1, motif: .diamond))
        // The centre carries the motif's colour, the corner the background's.
        let centre = (12 * 24 + 12) * 3
        #expect(a[centre..<centre + 3] != a[0..<3])
    }

    @Test func drawingNeverTrapsOnOddArguments() {
        for hue in [Double.nan, .infinity, -.infinity, -0.25, 1e300] {
            #expect(DrawnPicture.pixels(size: 4, hue: hue, motif: .rings).count == 48, "\(hue)")
        }
        #expect(DrawnPicture.pixels(size: 0, hue: 0.1, motif: .circle).isEmpty)
        #expect(DrawnPicture.pixels(size: -3, hue: 0.1, motif: .circle).isEmpty)
        #expect(DrawnPicture.pixels(size: .max, hue: 0.1, motif: .circle).isEmpty)
    }
}
