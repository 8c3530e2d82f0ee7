import CQRencode
import MallCore
import Vapor

/// QR codes through libqrencode.
enum QRCode {
    enum Failure: Error { case cannotEncode }

    /// Medium error correction, which survives a crease or a smudge on a printed poster.
    static func matrix(for text: String) throws -> ModuleMatrix {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { throw Failure.cannotEncode }
        defer { QRcode_free(code) }
        let size = Int(code.pointee.width)
        // Each byte's lowest bit is the module: 1 is dark.
        let modules = (0..<size * size).map { code.pointee.data[$0] & 1 == 1 }
        return ModuleMatrix(size: size, modules: modules)
    }
}
