import Foundation

/// A square matrix of dark and light modules, such as a QR code, and ways to draw it.
public struct ModuleMatrix: Equatable, Sendable {
    public let size: Int
    /// Row-major; true is dark.
    public let modules: [Bool]

    public init(size: Int, modules: [Bool]) {
        precondition(modules.count == size * size, "a \(size)×\(size) matrix needs \(size * size) modules")
        self.size = size
        self.modules = modules
    }

    public func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// An SVG with a quiet zone of `margin` modules around the code, one path for all dark modules.
    public func svg(margin: Int = 4) -> String {
        let total = size + 2 * margin
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while x + run < size, isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + margin) \(y + margin)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(total) \(total)" shape-rendering="crispEdges">\
        <rect width="\(total)" height="\(total)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
        """
    }

    /// A black-and-white PNG, each module `scale` pixels wide, with a quiet zone of `margin` modules.
    public func png(scale: Int = 8, margin: Int = 4) -> [UInt8] {
        let side = (size + 2 * margin) * scale
        let rowBytes = (side + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * side)
        for py in 0..<side {
            raw.append(0) // filter: none
            var byte: UInt8 = 0
            for px in 0..<side {
                let mx = px / scale - margin
                let my = py / scale - margin
                let dark = mx >= 0 && my >= 0 && mx < size && my < size && isDark(x: mx, y: my)
                // 1-bit greyscale: 1 is white.
                if !dark { byte |= 0x80 >> UInt8(px % 8) }
                if px % 8 == 7 || px == side - 1 {
                    raw.append(byte)
                    byte = 0
                }
            }
        }
        return PNG.encode(width: side, height: side, bitDepth: 1, scanlines: raw)
    }
}

/// The smallest PNG writer that serves: greyscale, stored (uncompressed) deflate blocks.
public enum PNG {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func encode(width: Int, height: Int, bitDepth: UInt8, scanlines: [UInt8]) -> [UInt8] {
        encode(width: width, height: height, bitDepth: bitDepth, colourType: 0, zlibStream: zlibStored(scanlines))
    }

    /// An 8-bit RGB image from `width × height × 3` bytes. `deflate` turns scanlines into a zlib
    /// stream; the default stores them uncompressed, callers with zlib pass its compressor.
    public static func encodeRGB(width: Int, height: Int, pixels: [UInt8], deflate: ([UInt8]) -> [UInt8] = zlibStored) -> [UInt8] {
        precondition(pixels.count == width * height * 3, "pixels must be width × height × 3 bytes")
        var scanlines: [UInt8] = []
        scanlines.reserveCapacity((width * 3 + 1) * height)
        for row in 0..<height {
            scanlines.append(0) // filter: none
            scanlines += pixels[row * width * 3..<(row + 1) * width * 3]
        }
        return encode(width: width, height: height, bitDepth: 8, colourType: 2, zlibStream: deflate(scanlines))
    }

    static func encode(width: Int, height: Int, bitDepth: UInt8, colourType: UInt8, zlibStream: [UInt8]) -> [UInt8] {
        var header: [UInt8] = []
        header += bigEndian(UInt32(width))
        header += bigEndian(UInt32(height))
        header += [bitDepth, colourType, 0, 0, 0] // deflate, adaptive filtering, no interlace
        var png = signature
        png += chunk("IHDR", header)
        png += chunk("IDAT", zlibStream)
        png += chunk("IEND", [])
        return png
    }

    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let last: UInt8 = offset + length >= data.count ? 1 : 0
            out.append(last)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        out += bigEndian(adler32(data))
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return (b << 16) | a
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}

/// Distances between points on the earth for "stores near me", no map service needed.
public enum Geo {
    public static let earthRadiusMetres = 6_371_000.0

    /// The longest possible distance, half way round the earth.
    public static let maxDistanceMetres = Double.pi * earthRadiusMetres

    /// Great-circle distance in metres (haversine), from coordinates in degrees: always within
    /// 0...maxDistanceMetres for finite coordinates, +infinity (never NaN) otherwise.
    public static func distanceMetres(lat1: Double, lng1: Double, lat2: Double, lng2: Double) -> Double {
        guard lat1.isFinite, lng1.isFinite, lat2.isFinite, lng2.isFinite else { return .infinity }
        let dLat = (lat2 - lat1) * .pi / 180
        let dLng = (lng2 - lng1) * .pi / 180
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * .pi / 180) * cos(lat2 * .pi / 180) * sin(dLng / 2) * sin(dLng / 2)
        // Rounding can push the term just past 1 near an antipode, and sqrt(1 − a) would be NaN.
        let h = min(max(a, 0), 1)
        return 2 * earthRadiusMetres * atan2(sqrt(h), sqrt(1 - h))
    }

    /// A distance as whole metres, halves away from zero; nil when it is not a finite number.
    public static func roundedMetres(_ metres: Double) -> Int? {
        CheckedNumber.int(metres)
    }

    public static func isValid(lat: Double, lng: Double) -> Bool {
        lat.isFinite && lng.isFinite && (-90...90).contains(lat) && (-180...180).contains(lng)
    }
}
