/// A pre-check for multipart bodies: the form parser in use indexes a 128-entry table with each
/// byte of a part's header *names*, so a byte of 0x80 or above there would stop the process.
/// Header values (such as a UTF-8 file name) may hold any byte and are not looked at.
public enum MultipartCheck {
    public static func headerNamesAreASCII(_ body: [UInt8], boundary: String) -> Bool {
        let delimiter = Array(("--" + boundary).utf8)
        guard delimiter.count > 2 else { return true }
        var starts: [Int] = []
        var search = 0
        while let found = firstIndex(of: delimiter, in: body, from: search, before: body.count) {
            starts.append(found + delimiter.count)
            search = found + delimiter.count
        }
        let ends = starts.dropFirst().map { $0 - delimiter.count } + [body.count]
        for (start, end) in zip(starts, ends) where start < end {
            // The headers run to the first blank line (or, if there is none, to the part's end).
            let blank = firstIndex(of: [13, 10, 13, 10], in: body, from: start, before: end) ?? end
            var lineStart = start
            while lineStart < blank {
                let lineEnd = firstIndex(of: [13, 10], in: body, from: lineStart, before: blank) ?? blank
                let name = body[lineStart..<lineEnd].prefix { $0 != UInt8(ascii: ":") }
                if name.contains(where: { $0 >= 0x80 }) { return false }
                lineStart = lineEnd + 2
            }
        }
        return true
    }

    /// How many parts the body holds (delimiters minus the closing one), counted in one pass, so
    /// that a form with thousands of tiny parts is refused before the parser sees it.
    public static func partCount(_ body: [UInt8], boundary: String) -> Int {
        let delimiter = Array(("--" + boundary).utf8)
        guard delimiter.count > 2 else { return 0 }
        var count = 0
        var search = 0
        while let found = firstIndex(of: delimiter, in: body, from: search, before: body.count) {
            count += 1
            search = found + delimiter.count
        }
        return max(count - 1, 0)
    }

    /// The first start index of `needle` in `haystack[from..<before]`; bounded so that many
    /// small parts cost one pass over the body, not one pass each.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int, before: Int) -> Int? {
        let last = min(before, haystack.count) - needle.count
        guard let first = needle.first, from >= 0, last >= from else { return nil }
        var index = from
        while index <= last {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
