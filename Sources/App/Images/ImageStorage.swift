import CZlib
import Foundation
import MallCore
import Vapor

/// Where uploaded image bytes live. Keys are opaque paths such as `3f/3f2a….png`; an object
/// store can stand in for the local directory by implementing the same three calls. There is no
/// delete: a picture a product drops may still be shown by past orders.
protocol ImageStorage: Sendable {
    func put(_ bytes: [UInt8], key: String, contentType: String) async throws
    func get(_ key: String) async throws -> [UInt8]?
    /// The address a browser loads the image from.
    func url(for key: String) -> String
}

enum ImageStorageError: Error { case cannotWrite(String) }

/// Keeps images as files under one directory (by default `var/uploads/`), served by `/uploads/…`.
struct LocalImageStorage: ImageStorage {
    let directory: String
    let threadPool: NIOThreadPool

    func put(_ bytes: [UInt8], key: String, contentType: String) async throws {
        let path = try self.path(for: key)
        try await threadPool.runIfActive {
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Written beside and renamed, so a reader never sees half a file.
            let partial = path + ".partial"
            try Data(bytes).write(to: URL(fileURLWithPath: partial))
            guard rename(partial, path) == 0 else { throw ImageStorageError.cannotWrite(path) }
        }
    }

    func get(_ key: String) async throws -> [UInt8]? {
        let path = try self.path(for: key)
        return try await threadPool.runIfActive {
            FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        }
    }

    func url(for key: String) -> String { "/uploads/" + key }

    private func path(for key: String) throws -> String {
        guard ImageKey.isValid(key) else { throw APIError.notFound }
        return directory + "/" + key
    }
}

/// Image keys are generated, never taken from a client, and checked before touching a path.
enum ImageKey {
    static func make(_ format: ImageFormat) -> String {
        let name = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return "\(name.prefix(2))/\(name).\(format.fileExtension)"
    }

    static func isValid(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[0].allSatisfy(\.isHexDigit) else { return false }
        let file = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard file.count == 2, file[0].count == 32, file[0].allSatisfy(\.isHexDigit), file[0].hasPrefix(parts[0]),
              ImageFormat(fileExtension: String(file[1])) != nil else { return false }
        return true
    }

    static func format(of key: String) -> ImageFormat? {
        key.split(separator: ".").last.flatMap { ImageFormat(fileExtension: String($0)) }
    }
}

extension Application {
    private struct ImageStorageKey: StorageKey { typealias Value = any ImageStorage }

    var imageStorage: any ImageStorage {
        get {
            guard let storage = storage[ImageStorageKey.self] else { fatalError("configure(_:config:) sets the image storage") }
            return storage
        }
        set { storage[ImageStorageKey.self] = newValue }
    }
}

/// zlib's deflate for PNG image data, so drawn pictures stay small.
enum Zlib {
    static func compress(_ data: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { target in
            data.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &length, source.baseAddress, uLong(data.count), 9)
            }
        }
        guard status == Z_OK else { return PNG.zlibStored(data) }
        return Array(out.prefix(Int(length)))
    }
}
