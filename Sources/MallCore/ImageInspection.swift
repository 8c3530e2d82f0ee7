/// What an uploaded file really is, read from its bytes rather than its name or declared type.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case png, jpeg, gif, webp

    public var contentType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .gif: "image/gif"
        case .webp: "image/webp"
        }
    }

    public var fileExtension: String { self == .jpeg ? "jpg" : rawValue }

    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "gif": self = .gif
        case "webp": self = .webp
        default: return nil
        }
    }
}

public struct ImageInfo: Equatable, Sendable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int

    public init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}

/// Upload checks: the format comes from magic bytes and the size from the header, so a renamed
/// text file or a truncated header is refused. SVG is deliberately not accepted (it can carry script).
public enum ImageInspection {
    public static let maxBytes = 5 * 1024 * 1024
    public static let maxSide = 10_000

    public enum Problem: Error, Equatable, Sendable {
        case empty, tooLarge, notAnImage, badDimensions
    }

    public static func check(_ bytes: [UInt8]) throws(Problem) -> ImageInfo {
        if bytes.isEmpty { throw .empty }
        if bytes.count > maxBytes { throw .tooLarge }
        guard let info = inspect(bytes) else { throw .notAnImage }
        guard (1...maxSide).contains(info.width), (1...maxSide).contains(info.height) else { throw .badDimensions }
        return info
    }

    public static func inspect(_ bytes: [UInt8]) -> ImageInfo? {
        if bytes.starts(with: PNG.signature) { return png(bytes) }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return jpeg(bytes) }
        if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) { return gif(bytes) }
        if bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8) { return webp(bytes) }
        return nil
    }

    private static func png(_ b: [UInt8]) -> ImageInfo? {
        // Signature, then the IHDR chunk: length (13), "IHDR", width, height.
        guard b.count >= 24, Array(b[12..<16]) == Array("IHDR".utf8) else { return nil }
        return ImageInfo(format: .png, width: Int(be32(b, 16)), height: Int(be32(b, 20)))
    }

    private static func jpeg(_ b: [UInt8]) -> ImageInfo? {
        var i = 2
        while i + 9 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue } // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2 else { return nil }
            // Start-of-frame markers carry the size; C4, C8 and CC share the range but are not frames.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                let height = Int(b[i + 5]) << 8 | Int(b[i + 6])
                let width = Int(b[i + 7]) << 8 | Int(b[i + 8])
                return ImageInfo(format: .jpeg, width: width, height: height)
            }
            if marker == 0xD9 || marker == 0xDA { return nil } // end or scan before any frame
            i += 2 + length
        }
        return nil
    }

    private static func gif(_ b: [UInt8]) -> ImageInfo? {
        guard b.count >= 10 else { return nil }
        return ImageInfo(format: .gif, width: Int(b[6]) | Int(b[7]) << 8, height: Int(b[8]) | Int(b[9]) << 8)
    }

    private static func webp(_ b: [UInt8]) -> ImageInfo? {
        guard b.count >= 30 else { return nil }
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ":
            // Key frame start code 9D 01 2A, then 14-bit width and height.
            guard b[23] == 0x9D, b[24] == 0x01, b[25] == 0x2A else { return nil }
            return ImageInfo(format: .webp, width: (Int(b[26]) | Int(b[27]) << 8) & 0x3FFF, height: (Int(b[28]) | Int(b[29]) << 8) & 0x3FFF)
        case "VP8L":
            guard b[20] == 0x2F else { return nil }
            let bits = UInt32(b[21]) | UInt32(b[22]) << 8 | UInt32(b[23]) << 16 | UInt32(b[24]) << 24
            return ImageInfo(format: .webp, width: Int(bits & 0x3FFF) + 1, height: Int((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            let width = Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16
            let height = Int(b[27]) | Int(b[28]) << 8 | Int(b[29]) << 16
            return ImageInfo(format: .webp, width: width + 1, height: height + 1)
        default:
            return nil
        }
    }

    private static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}

/// Pictures the demo catalog draws for itself: a soft two-colour gradient with a motif, so that
/// every product and gallery slot looks different without shipping image files.
public enum DrawnPicture {
    public enum Motif: Int, CaseIterable, Sendable { case circle, diamond, stripes, rings }

    /// RGB pixels, `size × size × 3` bytes; none for a size outside 1...ImageInspection.maxSide.
    public static func pixels(size: Int, hue: Double, motif: Motif) -> [UInt8] {
        guard (1...ImageInspection.maxSide).contains(size) else { return [] }
        let top = rgb(hue: hue, saturation: 0.35, value: 0.98)
        let bottom = rgb(hue: hue, saturation: 0.55, value: 0.88)
        let ink = rgb(hue: (hue + 0.5).truncatingRemainder(dividingBy: 1), saturation: 0.55, value: 0.85)
        let light = (1.0, 1.0, 1.0)
        var out = [UInt8](repeating: 0, count: size * size * 3)
        let centre = Double(size) / 2
        for y in 0..<size {
            let t = Double(y) / Double(max(size - 1, 1))
            for x in 0..<size {
                var colour = mix(top, bottom, t)
                let dx = Double(x) + 0.5 - centre, dy = Double(y) + 0.5 - centre
                let r = (dx * dx + dy * dy).squareRoot()
                // Coverage in 0...1 with a one-pixel soft edge, so shapes are not jagged.
                let coverage: Double
                switch motif {
                case .circle: coverage = edge(Double(size) * 0.30 - r)
                case .diamond: coverage = edge(Double(size) * 0.30 - (abs(dx) + abs(dy)) / 1.2)
                case .stripes:
                    let band = (Double(x + y) / Double(size) * 6).truncatingRemainder(dividingBy: 1)
                    coverage = edge((0.25 - abs(band - 0.5)) * Double(size) / 6) * 0.6
                case .rings:
                    let ring = (r / (Double(size) * 0.12)).truncatingRemainder(dividingBy: 1)
                    coverage = r < Double(size) * 0.42 ? edge((0.22 - abs(ring - 0.5)) * Double(size) * 0.12) : 0
                }
                colour = mix(colour, ink, coverage)
                // A highlight in the upper left gives the motif some depth.
                let glow = max(0, 1 - ((dx + centre * 0.35) * (dx + centre * 0.35) + (dy + centre * 0.35) * (dy + centre * 0.35)).squareRoot() / (centre * 0.5))
                colour = mix(colour, light, glow * 0.35)
                let i = (y * size + x) * 3
                out[i] = UInt8(max(0, min(255, colour.0 * 255)))
                out[i + 1] = UInt8(max(0, min(255, colour.1 * 255)))
                out[i + 2] = UInt8(max(0, min(255, colour.2 * 255)))
            }
        }
        return out
    }

    private static func edge(_ distance: Double) -> Double { max(0, min(1, distance + 0.5)) }

    private static func mix(_ a: (Double, Double, Double), _ b: (Double, Double, Double), _ t: Double) -> (Double, Double, Double) {
        (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t)
    }

    static func rgb(hue: Double, saturation: Double, value: Double) -> (Double, Double, Double) {
        let h = (hue.truncatingRemainder(dividingBy: 1) + 1).truncatingRemainder(dividingBy: 1) * 6
        let c = value * saturation
        let x = c * (1 - abs(h.truncatingRemainder(dividingBy: 2) - 1))
        let m = value - c
        // A hue that is not a finite number has no sector; it takes the first rather than trapping.
        let (r, g, b): (Double, Double, Double) = switch CheckedNumber.int(h, rounding: .towardZero) ?? 0 {
        case 0: (c, x, 0)
        case 1: (x, c, 0)
        case 2: (0, c, x)
        case 3: (0, x, c)
        case 4: (x, 0, c)
        default: (c, 0, x)
        }
        return (r + m, g + m, b + m)
    }
}
