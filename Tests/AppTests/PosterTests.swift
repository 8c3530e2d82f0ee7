import CCairo
import CTurboJPEG
import Foundation
import MallCore
import Testing
@testable import App

@Suite struct PosterTests {
    typealias Layout = PosterRenderer.Layout

    static func content(title: String = "婴儿纯棉连体衣 新生儿四季款宝宝爬服", image: Data? = nil, name: String = "林小满", avatar: Data? = nil,
                        link: String = "https://mall.example.cn/s/Ab3dE9") -> PosterContent {
        PosterContent(productImage: image, title: title, priceText: "¥99.00", distributorName: name, avatar: avatar, link: link)
    }

    @Test func aPosterIsAPortraitPNGOfTheAdvertisedSize() throws {
        // act
        let png = try PosterRenderer.png(Self.content())

        // check
        let bytes = [UInt8](png)
        #expect(Array(bytes.prefix(8)) == PNG.signature)
        #expect(Array(bytes[12..<16]) == Array("IHDR".utf8))
        #expect(Self.be32(bytes, 16) == 750)
        #expect(Self.be32(bytes, 20) == 1334)
        let decoded = try #require(PosterPixels(png: png))
        #expect(decoded.width == 750 && decoded.height == 1334)
    }

    @Test func theTitleAndPriceAreDrawnAsText() throws {
        // act
        let poster = try #require(PosterPixels(png: try PosterRenderer.png(Self.content())))
        let untitled = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(title: " \n\t "))))

        // check: the ink in the title band is the title's, and the price is red.
        #expect(poster.count(in: Layout.title, where: PosterPixels.isDark) > 500)
        #expect(untitled.count(in: Layout.title, where: PosterPixels.isDark) == 0)
        #expect(poster.count(in: Layout.price) { $0.r > 180 && $0.g < 110 && $0.b < 110 } > 300)
        // 「林小满 为你推荐」 and 「长按识别二维码」 are there too.
        #expect(poster.count(in: Layout.recommendation, where: PosterPixels.isDark) > 300)
        #expect(poster.count(in: Layout.scanHint, where: PosterPixels.isDark) > 300)
    }

    @Test func theFontHasChineseGlyphsRatherThanEmptyBoxes() throws {
        // setup
        let surface = try #require(cairo_image_surface_create(CAIRO_FORMAT_RGB24, 8, 8))
        defer { cairo_surface_destroy(surface) }
        let cr = try #require(cairo_create(surface))
        defer { cairo_destroy(cr) }
        cairo_select_font_face(cr, PosterRenderer.fontFamily, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        let font = try #require(cairo_get_scaled_font(cr))

        // act
        let text = "长按识别二维码为你推荐"
        var glyphs: UnsafeMutablePointer<cairo_glyph_t>?
        var count: Int32 = 0
        let status = cairo_scaled_font_text_to_glyphs(font, 0, 0, text, -1, &glyphs, &count, nil, nil, nil)
        defer { cairo_glyph_free(glyphs) }

        // check: glyph 0 is the font's "missing" box.
        #expect(status == CAIRO_STATUS_SUCCESS)
        #expect(Int(count) == text.count)
        let indices = (0..<Int(count)).map { glyphs?[$0].index ?? 0 }
        #expect(!indices.contains(0), "install fonts-noto-cjk")
    }

    @Test func aLongTitleTakesTwoLinesAndEndsInAnEllipsis() throws {
        // setup: every character one unit wide.
        let measure: (String) -> Double = { Double($0.count) }

        // act
        let chinese = PosterRenderer.wrap("一二三四五六七八九十甲乙", width: 5, maxLines: 2, measure: measure)
        let latin = PosterRenderer.wrap("Apple iPhone 15", width: 10, maxLines: 2, measure: measure)
        let short = PosterRenderer.wrap("奶粉", width: 5, maxLines: 2, measure: measure)

        // check
        #expect(chinese == ["一二三四五", "六七八九…"])
        #expect(latin == ["Apple", "iPhone 15"])
        #expect(short == ["奶粉"])

        // A rendered long title has ink on its second line.
        let poster = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(title: String(repeating: "加厚保暖羽绒服", count: 12)))))
        let secondLine = PosterRenderer.Box(x: Layout.title.x, y: Layout.title.y + Layout.titleLineHeight + 8, width: Layout.title.width, height: 40)
        #expect(poster.count(in: secondLine, where: PosterPixels.isDark) > 300)
    }

    @Test func aPNGProductImageIsShownAndOtherFormatsGetAPlaceholder() throws {
        // setup: a 40 × 30 blue PNG, and the start of a JPEG.
        let blue = Data(PNG.encodeRGB(width: 40, height: 30, pixels: [UInt8](repeating: 0, count: 40 * 30 * 3).enumerated().map { [30, 144, 255][$0.offset % 3] }))
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [UInt8](repeating: 0, count: 64))

        // act
        let shown = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(image: blue))))
        let placeholder = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(image: jpeg))))

        // check: fitted to the width (750 × 562), centred, with the background above it.
        #expect(shown.pixel(x: 375, y: 375) == PosterPixels.RGB(r: 30, g: 144, b: 255))
        #expect(shown.pixel(x: 5, y: 100) == PosterPixels.RGB(r: 30, g: 144, b: 255))
        #expect(shown.pixel(x: 375, y: 40) == PosterPixels.RGB(r: 0xF4, g: 0xF4, b: 0xF4))
        #expect(placeholder.count(in: Layout.image) { $0.b > $0.r + 50 } == 0)
        #expect(placeholder.pixel(x: 20, y: 20) == PosterPixels.RGB(r: 0xED, g: 0xED, b: 0xED))
        // The placeholder carries the title's first character.
        #expect(placeholder.count(in: Layout.image) { $0 != PosterPixels.RGB(r: 0xED, g: 0xED, b: 0xED) } > 1000)
    }

    /// A real baseline JPEG of one colour, made with libjpeg-turbo as a phone's camera would.
    static func jpeg(width: Int32, height: Int32, rgb: [UInt8]) throws -> Data {
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        var pixels = [UInt8]((0..<Int(width * height)).flatMap { _ in rgb })
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        #expect(tjCompress2(handle, &pixels, width, 0, height, Int32(TJPF_RGB.rawValue), &output, &size, Int32(TJSAMP_444.rawValue), 95, 0) == 0)
        defer { tjFree(output) }
        return Data(bytes: try #require(output), count: Int(size))
    }

    @Test func aJPEGProductImageAndAvatarAreDrawnAndABrokenOneGetsThePlaceholder() throws {
        // setup: a camera-style JPEG in blue, a JPEG avatar in green, and a JPEG cut short
        let blue = try Self.jpeg(width: 40, height: 30, rgb: [30, 144, 255])
        let green = try Self.jpeg(width: 16, height: 16, rgb: [20, 160, 60])
        let broken = blue.prefix(blue.count / 3)

        // act
        let shown = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(image: blue, avatar: green))))
        let placeholder = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(image: Data(broken)))))

        // check: the picture's colour within JPEG's loss, the avatar inside its circle
        let centre = shown.pixel(x: 375, y: 375)
        #expect(abs(Int(centre.r) - 30) < 12 && abs(Int(centre.g) - 144) < 12 && abs(Int(centre.b) - 255) < 12, "\(centre)")
        let face = shown.pixel(x: Int(Layout.avatar.midX), y: Int(Layout.avatar.midY))
        #expect(abs(Int(face.r) - 20) < 12 && abs(Int(face.g) - 160) < 12 && abs(Int(face.b) - 60) < 12, "\(face)")
        #expect(placeholder.count(in: Layout.image) { $0.b > $0.r + 50 } == 0)
        #expect(placeholder.pixel(x: 20, y: 20) == PosterPixels.RGB(r: 0xED, g: 0xED, b: 0xED))
    }

    @Test func anAvatarIsClippedToACircle() throws {
        // setup
        let green = Data(PNG.encodeRGB(width: 8, height: 8, pixels: [UInt8](repeating: 0, count: 8 * 8 * 3).enumerated().map { [20, 160, 60][$0.offset % 3] }))

        // act
        let poster = try #require(PosterPixels(png: try PosterRenderer.png(Self.content(avatar: green))))

        // check
        let box = Layout.avatar
        #expect(poster.pixel(x: Int(box.midX), y: Int(box.midY)) == PosterPixels.RGB(r: 20, g: 160, b: 60))
        #expect(poster.pixel(x: Int(box.x) + 2, y: Int(box.y) + 2) == PosterPixels.RGB(r: 255, g: 255, b: 255))
    }

    @Test func hostileContentStillGivesAValidPoster() throws {
        // setup
        let hugeTitle = String(repeating: "商", count: 350_000) // about 1 MB of UTF-8
        let marks = "a" + String(repeating: "\u{0301}", count: 100_000)
        let garbage = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        var giantHeader = PNG.signature + [0, 0, 0, 13] + Array("IHDR".utf8)
        giantHeader += [0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 2, 0, 0, 0] // 100000 × 100000
        let tooManyBytes = Data(TestImages.png()) + Data(count: PosterRenderer.maxImageBytes)
        let contents = [
            PosterContent(productImage: garbage, title: hugeTitle, priceText: "¥\u{0}99\n.00", distributorName: "", avatar: garbage, link: "https://mall.example.cn/s/x"),
            PosterContent(productImage: Data(giantHeader), title: marks, priceText: String(repeating: "9", count: 10_000), distributorName: "\u{202E}\u{0}\n",
                          avatar: Data(), link: "https://mall.example.cn/s/y"),
            PosterContent(productImage: tooManyBytes, title: "", priceText: "", distributorName: String(repeating: "长", count: 100_000), avatar: Data(PNG.signature),
                          link: "https://mall.example.cn/s/z"),
            PosterContent(productImage: Data(), title: "\u{0}", priceText: "¥1.00", distributorName: "😀", avatar: nil, link: "https://mall.example.cn/s/w"),
        ]

        for content in contents {
            // act
            let png = try PosterRenderer.png(content)

            // check
            let picture = try #require(PosterPixels(png: png))
            #expect(picture.width == 750 && picture.height == 1334)
        }
    }

    @Test func theQRCodeHasDarkModulesInsideAQuietZone() throws {
        // act
        let poster = try #require(PosterPixels(png: try PosterRenderer.png(Self.content())))

        // check
        let box = Layout.qr
        let inner = PosterRenderer.Box(x: box.x + 30, y: box.y + 30, width: box.width - 60, height: box.height - 60)
        let dark = poster.count(in: inner, where: PosterPixels.isDark)
        let area = Int(inner.width * inner.height)
        #expect(dark > area / 4 && dark < area * 3 / 4, "\(dark) of \(area) pixels dark")
        let frame = [PosterRenderer.Box(x: box.x, y: box.y, width: box.width, height: 12), PosterRenderer.Box(x: box.x, y: box.y + box.height - 12, width: box.width, height: 12),
                     PosterRenderer.Box(x: box.x, y: box.y, width: 12, height: box.height), PosterRenderer.Box(x: box.x + box.width - 12, y: box.y, width: 12, height: box.height)]
        #expect(frame.allSatisfy { poster.count(in: $0, where: PosterPixels.isDark) == 0 })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zbarimg")))
    func theQRCodeScansBackToTheLink() throws {
        // setup
        let link = "https://mall.example.cn/s/Ab3dE9"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("poster-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        try PosterRenderer.png(Self.content(link: link)).write(to: file)

        // act
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--raw", "-q", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let scanned = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        // check
        #expect(scanned.trimmingCharacters(in: .whitespacesAndNewlines) == link)
    }

    @Test func aLinkThatCannotBeAQRCodeIsRefused() {
        #expect(throws: PosterRenderer.Failure.unusableLink) { try PosterRenderer.png(Self.content(link: "  ")) }
        #expect(throws: PosterRenderer.Failure.unusableLink) { try PosterRenderer.png(Self.content(link: "https://mall.example.cn/" + String(repeating: "x", count: 300))) }
    }

    static func be32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }
}

/// A PNG decoded back through cairo, for looking at pixels.
struct PosterPixels {
    struct RGB: Equatable { var r: Int, g: Int, b: Int }

    let width: Int
    let height: Int
    private let pixels: [UInt32] // 0x??RRGGBB, row-major

    static func isDark(_ p: RGB) -> Bool { p.r + p.g + p.b < 3 * 110 }

    init?(png: Data) {
        let source = PNGBytes([UInt8](png))
        let surface = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream({ closure, buffer, length in
                guard let closure, let buffer else { return CAIRO_STATUS_READ_ERROR }
                let source = Unmanaged<PNGBytes>.fromOpaque(closure).takeUnretainedValue()
                let count = Int(length)
                guard count <= source.bytes.count - source.offset else { return CAIRO_STATUS_READ_ERROR }
                for i in 0..<count { buffer[i] = source.bytes[source.offset + i] }
                source.offset += count
                return CAIRO_STATUS_SUCCESS
            }, Unmanaged.passUnretained(source).toOpaque())
        }
        guard let surface else { return nil }
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) else { return nil }
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        var pixels: [UInt32] = []
        pixels.reserveCapacity(width * height)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride)
            for x in 0..<width { pixels.append(row.load(fromByteOffset: x * 4, as: UInt32.self)) }
        }
        self.pixels = pixels
    }

    func pixel(x: Int, y: Int) -> RGB {
        let p = pixels[y * width + x]
        return RGB(r: Int((p >> 16) & 0xFF), g: Int((p >> 8) & 0xFF), b: Int(p & 0xFF))
    }

    func count(in box: PosterRenderer.Box, where test: (RGB) -> Bool) -> Int {
        var n = 0
        for y in max(0, Int(box.y))..<min(height, Int(box.y + box.height)) {
            for x in max(0, Int(box.x))..<min(width, Int(box.x + box.width)) where test(pixel(x: x, y: y)) { n += 1 }
        }
        return n
    }
}

private final class PNGBytes {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}
