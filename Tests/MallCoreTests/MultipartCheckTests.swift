import Testing
@testable import MallCore

@Suite struct MultipartCheckTests {
    func body(_ parts: [[UInt8]], boundary: String = "XyZ") -> [UInt8] {
        var out: [UInt8] = []
        for part in parts { out += Array("--\(boundary)\r\n".utf8) + part + Array("\r\n".utf8) }
        return out + Array("--\(boundary)--\r\n".utf8)
    }

    @Test func browserFormsPassEvenWithChineseFileNames() {
        let file = Array("Content-Disposition: form-data; name=\"file\"; filename=\"营业执照.png\"\r\nContent-Type: image/png\r\n\r\n".utf8) + [0x89, 0x50, 0xFF, 0xFE, 0x80]
        let field = Array("Content-Disposition: form-data; name=\"_csrf\"\r\n\r\nabc".utf8)
        #expect(MultipartCheck.headerNamesAreASCII(body([field, file]), boundary: "XyZ"))
        #expect(MultipartCheck.headerNamesAreASCII(Array("--XyZ--\r\n".utf8), boundary: "XyZ"))
        #expect(MultipartCheck.headerNamesAreASCII([], boundary: "XyZ"))
    }

    @Test func aHighByteInAHeaderNameIsRefused() {
        // The body a fuzzer sent: a part that starts with non-ASCII bytes where a header name goes.
        let fuzzed: [UInt8] = Array("--b7\r\n".utf8) + [0xF2, 0xB9, 0xA6, 0x8C, 0xC3, 0x8E] + Array(",--b7--\r\n".utf8)
        #expect(!MultipartCheck.headerNamesAreASCII(fuzzed, boundary: "b7"))
        let secondHeader = Array("Content-Disposition: form-data; name=\"a\"\r\nX-é: 1\r\n\r\nvalue".utf8)
        #expect(!MultipartCheck.headerNamesAreASCII(body([secondHeader]), boundary: "XyZ"))
        let noBlankLine = Array("Content-Disposition: form-data; name=\"a\"\r\n".utf8) + [0xC3, 0xA9]
        #expect(!MultipartCheck.headerNamesAreASCII(body([noBlankLine]), boundary: "XyZ"))
    }
}
