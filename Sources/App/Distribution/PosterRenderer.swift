import CCairo
import CTurboJPEG
import Foundation
import MallCore

/// What a distributor's product poster (商品海报) shows. Everything here is data from outside —
/// merchants' titles and pictures, members' names and avatars — and is drawn defensively.
struct PosterContent: Sendable {
    /// The product's main image bytes as the catalog stores them (see `ImageStorage`): PNG, JPEG,
    /// GIF or WebP. PNG and JPEG are drawn; see `PosterRenderer`.
    var productImage: Data?
    var title: String
    /// Already formatted, e.g. "¥99.00".
    var priceText: String
    var distributorName: String
    /// The distributor's avatar, PNG or JPEG; anything else gets the name's first character in a circle.
    var avatar: Data?
    /// The short link the QR code encodes.
    var link: String
}

/// Draws a 750 × 1334 product poster as PNG with cairo: the product picture on top, the title
/// (at most two lines, then an ellipsis), the price in red, 「<name> 为你推荐」 with the avatar,
/// and the QR code of the distributor's link with 「长按识别二维码 / Scan to buy」.
///
/// Pictures: the catalog keeps uploads exactly as they came (PNG, JPEG, GIF or WebP, checked by
/// `ImageInspection`) and makes no converted variant. cairo decodes PNG and libjpeg-turbo's
/// TurboJPEG API decodes JPEG; GIF and WebP — and any picture over `maxImageBytes` or
/// `maxImageSide`, or one that fails to decode — are drawn as a neutral block with the title's
/// first character instead of being decoded.
///
/// Text is drawn with cairo's own text calls in the "Noto Sans CJK SC" family (Debian's
/// `fonts-noto-cjk`), wrapped character by character as measured by cairo, so Chinese titles
/// break anywhere and Latin words are kept whole when a space allows.
///
/// Pure and synchronous (tens of milliseconds of CPU): no database, no request. A route should
/// call it on a thread pool, not on an event loop.
enum PosterRenderer {
    enum Failure: Error, Equatable {
        /// The link is empty, longer than `maxLinkBytes`, or cannot be put in a QR code.
        case unusableLink
        /// cairo reported an error (usually out of memory); the text is cairo's.
        case drawing(String)
    }

    static let width = 750
    static let height = 1334
    static let fontFamily = "Noto Sans CJK SC"

    /// Pictures larger than these are not decoded: 4096 × 4096 is 64 MB of pixels already.
    static let maxImageBytes = 8 * 1024 * 1024
    static let maxImageSide = 4096
    /// A short link is a few dozen bytes; a longer one would make modules too small to scan.
    static let maxLinkBytes = 256
    /// Only this much of any text is looked at; the catalog's titles are at most 100 characters.
    static let maxTitleScalars = 200
    static let maxNameScalars = 40
    static let maxPriceScalars = 40
    static let titleLines = 2

    /// Where each part goes, in poster pixels; tests read the same boxes.
    enum Layout {
        static let image = Box(x: 0, y: 0, width: 750, height: 750)
        static let title = Box(x: 40, y: 780, width: 670, height: 110)
        static let titleFontSize = 34.0
        static let titleLineHeight = 50.0
        static let price = Box(x: 40, y: 900, width: 670, height: 80)
        static let dividerY = 1010.0
        static let avatar = Box(x: 40, y: 1045, width: 90, height: 90)
        static let recommendation = Box(x: 150, y: 1045, width: 290, height: 90)
        static let scanHint = Box(x: 40, y: 1190, width: 400, height: 90)
        static let qr = Box(x: 470, y: 1040, width: 240, height: 240)
        static let quietZoneModules = 4
    }

    struct Box: Equatable, Sendable {
        var x: Double, y: Double, width: Double, height: Double
        var midX: Double { x + width / 2 }
        var midY: Double { y + height / 2 }
    }

    static func png(_ content: PosterContent) throws -> Data {
        let link = content.link.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !link.isEmpty, link.utf8.count <= maxLinkBytes, let matrix = try? QRCode.matrix(for: link),
              matrix.size + 2 * Layout.quietZoneModules <= Int(Layout.qr.width) else { throw Failure.unusableLink }
        let title = clean(content.title, maxScalars: maxTitleScalars)
        let name = clean(content.distributorName, maxScalars: maxNameScalars)
        let price = clean(content.priceText, maxScalars: maxPriceScalars)

        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else { throw Failure.drawing("no surface") }
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface))
        guard let cr = cairo_create(surface) else { throw Failure.drawing("no context") }
        defer { cairo_destroy(cr) }
        let canvas = Canvas(cr: cr)
        try canvas.check()

        canvas.fill(Box(x: 0, y: 0, width: Double(width), height: Double(height)), 0xFFFFFF)
        try drawProductImage(content.productImage, title: title, on: canvas)
        try drawTitleAndPrice(title: title, price: price, on: canvas)
        try drawRecommendation(name: name, avatar: content.avatar, on: canvas)
        try drawQRCode(matrix, on: canvas)

        cairo_surface_flush(surface)
        return try encodePNG(surface)
    }

    // MARK: - Parts

    private static func drawProductImage(_ bytes: Data?, title: String, on canvas: Canvas) throws {
        let box = Layout.image
        canvas.fill(box, 0xF4F4F4)
        if let bytes, let picture = decodePicture(bytes) {
            defer { cairo_surface_destroy(picture) }
            canvas.draw(picture, in: box, cover: false)
        } else {
            // The placeholder: a neutral block with the title's first character.
            canvas.fill(box, 0xEDEDED)
            canvas.font(size: 240, bold: true)
            canvas.colour(0xC8C8C8)
            canvas.showCentred(title.first.map(String.init) ?? "商", x: box.midX, y: box.midY)
        }
        try canvas.check()
    }

    private static func drawTitleAndPrice(title: String, price: String, on canvas: Canvas) throws {
        let box = Layout.title
        canvas.font(size: Layout.titleFontSize, bold: false)
        canvas.colour(0x1A1A1A)
        let lines = wrap(title, width: box.width, maxLines: titleLines, measure: canvas.advance)
        for (index, line) in lines.enumerated() {
            canvas.show(line, x: box.x, baseline: box.y + Layout.titleFontSize + Double(index) * Layout.titleLineHeight)
        }
        try canvas.check()

        canvas.font(size: 52, bold: true)
        canvas.colour(0xE02E24)
        canvas.show(ellipsized(price, width: Layout.price.width, measure: canvas.advance), x: Layout.price.x, baseline: Layout.price.y + 60)
        canvas.fill(Box(x: 40, y: Layout.dividerY, width: 670, height: 2), 0xEEEEEE)
        try canvas.check()
    }

    private static func drawRecommendation(name: String, avatar: Data?, on canvas: Canvas) throws {
        let circle = Layout.avatar
        if let avatar, let picture = decodePicture(avatar) {
            defer { cairo_surface_destroy(picture) }
            canvas.withCircleClip(circle) { canvas.draw(picture, in: circle, cover: true) }
        } else {
            canvas.withCircleClip(circle) { canvas.fill(circle, 0xFF7A45) }
            canvas.font(size: 40, bold: true)
            canvas.colour(0xFFFFFF)
            canvas.showCentred(name.first.map(String.init) ?? "荐", x: circle.midX, y: circle.midY)
        }
        try canvas.check()

        let text = Layout.recommendation
        canvas.font(size: 28, bold: false)
        canvas.colour(0x333333)
        let suffix = "为你推荐"
        if name.isEmpty {
            canvas.show(suffix, x: text.x, baseline: text.y + 36)
        } else {
            // The name gives way to the suffix, which is always shown whole.
            let room = text.width - canvas.advance(" " + suffix)
            canvas.show(ellipsized(name, width: room, measure: canvas.advance) + " " + suffix, x: text.x, baseline: text.y + 36)
        }
        canvas.font(size: 22, bold: false)
        canvas.colour(0x888888)
        canvas.show("Recommended for you", x: text.x, baseline: text.y + 74)

        let hint = Layout.scanHint
        canvas.font(size: 26, bold: false)
        canvas.colour(0x333333)
        canvas.show("长按识别二维码", x: hint.x, baseline: hint.y + 36)
        canvas.font(size: 22, bold: false)
        canvas.colour(0x888888)
        canvas.show("Scan to buy", x: hint.x, baseline: hint.y + 72)
        try canvas.check()
    }

    /// Whole-pixel modules, centred in the box, with a light quiet zone of four modules around them.
    private static func drawQRCode(_ matrix: ModuleMatrix, on canvas: Canvas) throws {
        let box = Layout.qr
        let total = matrix.size + 2 * Layout.quietZoneModules
        let module = max(1, Int(box.width) / total)
        let side = total * module
        let originX = Int(box.x) + (Int(box.width) - side) / 2 + Layout.quietZoneModules * module
        let originY = Int(box.y) + (Int(box.height) - side) / 2 + Layout.quietZoneModules * module
        canvas.fill(box, 0xFFFFFF)
        canvas.colour(0x000000)
        for y in 0..<matrix.size {
            var x = 0
            while x < matrix.size {
                guard matrix.isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while x + run < matrix.size, matrix.isDark(x: x + run, y: y) { run += 1 }
                cairo_rectangle(canvas.cr, Double(originX + x * module), Double(originY + y * module), Double(run * module), Double(module))
                x += run
            }
        }
        cairo_fill(canvas.cr)
        try canvas.check()
    }

    // MARK: - Text

    /// The first `maxScalars` scalars, with control characters and line breaks turned into
    /// spaces, runs of spaces made one, and the ends trimmed. Bounding by scalars rather than
    /// characters also bounds a single character built from thousands of combining marks.
    static func clean(_ text: String, maxScalars: Int) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = true
        for scalar in text.unicodeScalars.prefix(maxScalars) {
            let category = scalar.properties.generalCategory
            let isSpace = scalar.properties.isWhitespace || category == .control || category == .lineSeparator || category == .paragraphSeparator
            if isSpace {
                if !lastWasSpace { out.append(" ") }
            } else {
                out.append(scalar)
            }
            lastWasSpace = isSpace
        }
        if out.last == " " { out.removeLast() }
        return String(out)
    }

    /// Lines of at most `width`, at most `maxLines` of them, the last ending in "…" when text is
    /// left over. Each line takes as many characters as fit (at least one, so it always moves
    /// on); a break inside a Latin word moves back to the space before it when there is one.
    static func wrap(_ text: String, width: Double, maxLines: Int, measure: (String) -> Double) -> [String] {
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty, lines.count < maxLines {
            var end = rest.index(after: rest.startIndex)
            while end < rest.endIndex {
                let next = rest.index(after: end)
                guard measure(String(rest[..<next])) <= width else { break }
                end = next
            }
            if end < rest.endIndex, isWordCharacter(rest[end]), isWordCharacter(rest[rest.index(before: end)]),
               let space = rest[..<end].lastIndex(of: " "), space > rest.startIndex {
                end = space
            }
            lines.append(String(rest[..<end]).trimmingCharacters(in: .whitespaces))
            rest = rest[end...].drop(while: { $0 == " " })
        }
        if !rest.isEmpty, let last = lines.popLast() {
            lines.append(ellipsized(last, width: width, measure: measure, always: true))
        }
        return lines
    }

    /// The text if it fits; otherwise as much as fits followed by "…".
    static func ellipsized(_ text: String, width: Double, measure: (String) -> Double, always: Bool = false) -> String {
        if !always, measure(text) <= width { return text }
        var kept = Substring(text)
        while !kept.isEmpty, measure(kept.trimmingCharacters(in: .whitespaces) + "…") > width {
            kept = kept.dropLast()
        }
        return kept.trimmingCharacters(in: .whitespaces) + "…"
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber)
    }

    // MARK: - Pictures in, PNG out

    /// PNG through cairo, JPEG through libjpeg-turbo; anything else is nil.
    private static func decodePicture(_ bytes: Data) -> OpaquePointer? {
        bytes.starts(with: [0xFF, 0xD8, 0xFF]) ? decodeJPEG(bytes) : decodePNG(bytes)
    }

    /// A cairo surface for JPEG bytes within the limits, or nil. The size is read from the header
    /// first; TurboJPEG reports a broken stream as an error code, never by ending the process.
    private static func decodeJPEG(_ bytes: Data) -> OpaquePointer? {
        guard bytes.count <= maxImageBytes, let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        var buffer = [UInt8](bytes)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        guard tjDecompressHeader3(handle, &buffer, UInt(buffer.count), &width, &height, &subsampling, &colourspace) == 0,
              (1...Int32(maxImageSide)).contains(width), (1...Int32(maxImageSide)).contains(height) else { return nil }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height) else { return nil }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let pixels = cairo_image_surface_get_data(surface) else {
            cairo_surface_destroy(surface)
            return nil
        }
        let stride = cairo_image_surface_get_stride(surface)
        // cairo's RGB24 is a native-endian 32-bit word per pixel: B, G, R, X in memory on little-endian machines.
        let decoded = tjDecompress2(handle, &buffer, UInt(buffer.count), pixels, width, stride, height, Int32(TJPF_BGRX.rawValue), 0)
        // A warning (a stream cut short, say) would leave part of the picture grey: the placeholder is better.
        guard decoded == 0 else {
            cairo_surface_destroy(surface)
            return nil
        }
        cairo_surface_mark_dirty(surface)
        return surface
    }

    // MARK: - PNG in and out

    /// A cairo surface for PNG bytes within the limits, or nil; the caller destroys it.
    private static func decodePNG(_ bytes: Data) -> OpaquePointer? {
        // The header says what the bytes are and how large they decode, before anything is decoded.
        guard bytes.count <= maxImageBytes, let info = ImageInspection.inspect(Array(bytes.prefix(32))), info.format == .png,
              (1...maxImageSide).contains(info.width), (1...maxImageSide).contains(info.height) else { return nil }
        let source = ByteSource(bytes)
        let surface = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream({ closure, buffer, length in
                guard let closure, let buffer else { return CAIRO_STATUS_READ_ERROR }
                let source = Unmanaged<ByteSource>.fromOpaque(closure).takeUnretainedValue()
                return source.read(into: buffer, count: Int(length)) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR
            }, Unmanaged.passUnretained(source).toOpaque())
        }
        guard let surface else { return nil }
        // A failed decode still returns a surface (an error one) that must be destroyed.
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS,
              cairo_image_surface_get_width(surface) > 0, cairo_image_surface_get_height(surface) > 0 else {
            cairo_surface_destroy(surface)
            return nil
        }
        return surface
    }

    private static func encodePNG(_ surface: OpaquePointer) throws -> Data {
        let sink = ByteSink()
        let status = withExtendedLifetime(sink) {
            cairo_surface_write_to_png_stream(surface, { closure, bytes, length in
                guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
                guard length > 0 else { return CAIRO_STATUS_SUCCESS }
                guard let bytes else { return CAIRO_STATUS_WRITE_ERROR }
                Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
                return CAIRO_STATUS_SUCCESS
            }, Unmanaged.passUnretained(sink).toOpaque())
        }
        try check(status)
        return sink.data
    }

    private static func check(_ status: cairo_status_t) throws {
        guard status == CAIRO_STATUS_SUCCESS else { throw Failure.drawing(String(cString: cairo_status_to_string(status))) }
    }

    private final class ByteSource {
        let bytes: Data
        var offset = 0
        init(_ bytes: Data) { self.bytes = bytes }

        /// Exactly `count` bytes or nothing: libpng treats a short read as an error anyway.
        func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
            guard count >= 0, count <= bytes.count - offset else { return false }
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                buffer.update(from: base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: count)
            }
            offset += count
            return true
        }
    }

    private final class ByteSink {
        var data = Data()
    }

    /// The cairo calls the poster uses, with colours as 0xRRGGBB.
    private struct Canvas {
        let cr: OpaquePointer

        func check() throws { try PosterRenderer.check(cairo_status(cr)) }

        func colour(_ rgb: UInt32) {
            cairo_set_source_rgb(cr, Double((rgb >> 16) & 0xFF) / 255, Double((rgb >> 8) & 0xFF) / 255, Double(rgb & 0xFF) / 255)
        }

        func fill(_ box: Box, _ rgb: UInt32) {
            colour(rgb)
            cairo_rectangle(cr, box.x, box.y, box.width, box.height)
            cairo_fill(cr)
        }

        func font(size: Double, bold: Bool) {
            cairo_select_font_face(cr, PosterRenderer.fontFamily, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
            cairo_set_font_size(cr, size)
        }

        /// How far the pen moves for the text in the current font; an unmeasurable text counts
        /// as too wide, so it is never laid out past a box.
        func advance(_ text: String) -> Double {
            var extents = cairo_text_extents_t()
            cairo_text_extents(cr, text, &extents)
            return extents.x_advance.isFinite ? extents.x_advance : .infinity
        }

        func show(_ text: String, x: Double, baseline: Double) {
            guard !text.isEmpty else { return }
            cairo_move_to(cr, x, baseline)
            cairo_show_text(cr, text)
            cairo_new_path(cr)
        }

        /// The text's ink box centred on (x, y).
        func showCentred(_ text: String, x: Double, y: Double) {
            var extents = cairo_text_extents_t()
            cairo_text_extents(cr, text, &extents)
            guard extents.width.isFinite, extents.height.isFinite else { return }
            show(text, x: x - extents.width / 2 - extents.x_bearing, baseline: y - extents.height / 2 - extents.y_bearing)
        }

        func withCircleClip(_ box: Box, _ body: () -> Void) {
            cairo_save(cr)
            cairo_new_path(cr)
            cairo_arc(cr, box.midX, box.midY, min(box.width, box.height) / 2, 0, 2 * Double.pi)
            cairo_clip(cr)
            body()
            cairo_restore(cr)
        }

        /// The picture scaled to fit inside the box (or to cover it), centred, its edge pixels
        /// repeated rather than faded into the background.
        func draw(_ picture: OpaquePointer, in box: Box, cover: Bool) {
            let width = Double(cairo_image_surface_get_width(picture))
            let height = Double(cairo_image_surface_get_height(picture))
            guard width > 0, height > 0 else { return }
            let scale = cover ? max(box.width / width, box.height / height) : min(box.width / width, box.height / height)
            let drawnWidth = width * scale, drawnHeight = height * scale
            let left = box.x + (box.width - drawnWidth) / 2, top = box.y + (box.height - drawnHeight) / 2
            cairo_save(cr)
            cairo_rectangle(cr, box.x, box.y, box.width, box.height)
            cairo_clip(cr)
            cairo_rectangle(cr, left.rounded(), top.rounded(), drawnWidth.rounded(), drawnHeight.rounded())
            cairo_clip(cr)
            cairo_translate(cr, left, top)
            cairo_scale(cr, scale, scale)
            cairo_set_source_surface(cr, picture, 0, 0)
            if let pattern = cairo_get_source(cr) {
                cairo_pattern_set_filter(pattern, CAIRO_FILTER_GOOD)
                cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
            }
            cairo_paint(cr)
            cairo_restore(cr)
        }
    }
}
