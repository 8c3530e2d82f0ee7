import CZlib
import Foundation

/// Just enough of the ZIP format for providers' bill archives: the central directory is read,
/// entries stored or deflated are unpacked, and each entry's CRC-32 is checked. Sizes are bounded,
/// every offset is checked against the data, so a damaged or hostile file is an error, not a trap.
enum ZipArchive {
    struct Entry: Equatable {
        /// The name's raw bytes: Alipay writes GBK names without the UTF-8 flag.
        let nameBytes: [UInt8]
        let nameIsUTF8: Bool
        let data: [UInt8]
    }

    enum Problem: Error, Equatable {
        case notAZip
        case damaged(String)
        case unsupportedMethod(Int)
        case tooLarge
        case checksum
    }

    /// Bigger than any day's bill a shop of this size downloads; a zip bomb stops here.
    static let maxEntrySize = 64 * 1024 * 1024
    static let maxEntries = 64

    static func entries(_ bytes: [UInt8]) throws(Problem) -> [Entry] {
        // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
        guard bytes.count >= 22 else { throw .notAZip }
        var eocd = -1
        var index = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while index >= lowest {
            if u32(bytes, index) == 0x0605_4B50 { eocd = index; break }
            index -= 1
        }
        guard eocd >= 0 else { throw .notAZip }
        guard let count = u16(bytes, eocd + 10), let directoryOffset = u32(bytes, eocd + 16) else { throw .damaged("end record") }
        guard count <= maxEntries else { throw .damaged("\(count) entries") }
        var entries: [Entry] = []
        var cursor = Int(directoryOffset)
        for _ in 0..<count {
            guard u32(bytes, cursor) == 0x0201_4B50, let flags = u16(bytes, cursor + 8), let method = u16(bytes, cursor + 10),
                  let crc = u32(bytes, cursor + 16), let compressedSize = u32(bytes, cursor + 20), let size = u32(bytes, cursor + 24),
                  let nameLength = u16(bytes, cursor + 28), let extraLength = u16(bytes, cursor + 30), let commentLength = u16(bytes, cursor + 32),
                  let localOffset = u32(bytes, cursor + 42) else { throw .damaged("central directory") }
            let nameStart = cursor + 46
            guard nameStart + nameLength <= bytes.count else { throw .damaged("name") }
            let name = Array(bytes[nameStart..<(nameStart + nameLength)])
            cursor = nameStart + nameLength + extraLength + commentLength
            guard Int(size) <= maxEntrySize, Int(compressedSize) <= maxEntrySize else { throw .tooLarge }
            // The local header repeats the name and may carry another extra field.
            let local = Int(localOffset)
            guard u32(bytes, local) == 0x0403_4B50, let localName = u16(bytes, local + 26), let localExtra = u16(bytes, local + 28) else {
                throw .damaged("local header")
            }
            let dataStart = local + 30 + localName + localExtra
            guard dataStart <= bytes.count, Int(compressedSize) <= bytes.count - dataStart else { throw .damaged("entry data") }
            let packed = Array(bytes[dataStart..<(dataStart + Int(compressedSize))])
            let data: [UInt8]
            switch method {
            case 0: data = packed
            case 8: data = try inflate(packed, expected: Int(size))
            default: throw .unsupportedMethod(method)
            }
            guard data.count == Int(size) else { throw .damaged("size") }
            guard crc32(data) == crc else { throw .checksum }
            entries.append(Entry(nameBytes: name, nameIsUTF8: flags & 0x0800 != 0, data: data))
        }
        return entries
    }

    /// A deflated archive of `files` (names as raw bytes, no UTF-8 flag): the fakes serve bills this way.
    static func make(_ files: [(name: [UInt8], data: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        for file in files {
            let packed = deflate(file.data)
            let method: UInt16 = packed == nil ? 0 : 8
            let body = packed ?? file.data
            let crc = crc32(file.data)
            let offset = UInt32(out.count)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(method) + le16(0) + le16(0x21)
            out += le32(crc) + le32(UInt32(body.count)) + le32(UInt32(file.data.count)) + le16(UInt16(file.name.count)) + le16(0)
            out += file.name + body
            directory += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(method) + le16(0) + le16(0x21)
            directory += le32(crc) + le32(UInt32(body.count)) + le32(UInt32(file.data.count)) + le16(UInt16(file.name.count))
            directory += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + file.name
        }
        let directoryOffset = UInt32(out.count)
        out += directory
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(files.count)) + le16(UInt16(files.count))
        out += le32(UInt32(directory.count)) + le32(directoryOffset) + le16(0)
        return out
    }

    // MARK: zlib, raw deflate (no zlib header), as ZIP stores it

    private static func inflate(_ packed: [UInt8], expected: Int) throws(Problem) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw .damaged("inflate") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(expected, 1))
        var input = packed
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == expected else { throw .damaged("deflate stream") }
        return Array(output.prefix(expected))
    }

    private static func deflate(_ data: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 16)
        var input = data
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        data.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    // MARK: little-endian fields

    private static func u16(_ bytes: [UInt8], _ at: Int) -> Int? {
        guard at >= 0, at <= bytes.count - 2 else { return nil }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32? {
        guard at >= 0, at <= bytes.count - 4 else { return nil }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
}
