import Foundation

/// RFC 4180 CSV: fields separated by commas, quoted when they hold a comma, a quote or a line
/// break. Files for people carry a UTF-8 byte-order mark so that Excel reads Chinese correctly.
public enum CSV {
    public static let byteOrderMark = "\u{FEFF}"

    public enum Problem: Error, Equatable, Sendable {
        case notUTF8
        case unterminatedQuote(line: Int)
    }

    /// Decodes bytes as UTF-8 (with or without a byte-order mark); anything else, such as GBK, is refused.
    public static func decode(_ bytes: [UInt8]) throws(Problem) -> String {
        guard var text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        if text.hasPrefix(byteOrderMark) { text.removeFirst() }
        return text
    }

    /// Rows of fields with the line on which each row starts (1-based).
    public static func parse(_ text: String) throws(Problem) -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var fieldStarted = false
        var iterator = Array(text.unicodeScalars)
        if iterator.first == "\u{FEFF}" { iterator.removeFirst() }
        var index = 0
        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append((rowStart, fields)) }
            fields = []
            field = ""
            fieldStarted = false
        }
        while index < iterator.count {
            let c = iterator[index]
            if inQuotes {
                if c == "\"" {
                    if index + 1 < iterator.count, iterator[index + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else {
                switch c {
                case "\"" where !fieldStarted:
                    inQuotes = true
                    fieldStarted = true
                case ",":
                    fields.append(field)
                    field = ""
                    fieldStarted = false
                case "\r":
                    if index + 1 < iterator.count, iterator[index + 1] == "\n" { index += 1 }
                    endRow()
                    line += 1
                    rowStart = line
                case "\n":
                    endRow()
                    line += 1
                    rowStart = line
                default:
                    field.unicodeScalars.append(c)
                    fieldStarted = true
                }
            }
            index += 1
        }
        if inQuotes { throw .unterminatedQuote(line: rowStart) }
        if fieldStarted || !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }

    /// One line per row, CRLF line ends as RFC 4180 and Excel expect, with a byte-order mark.
    public static func format(_ rows: [[String]]) -> String {
        byteOrderMark + rows.map(line).joined()
    }

    /// One row and its CRLF, for writing a file a few rows at a time.
    public static func line(_ row: [String]) -> String {
        row.map(quote).joined(separator: ",") + "\r\n"
    }

    /// Undoes the guard `format` puts before a leading =, +, - or @.
    public static func unquoteFormula(_ field: String) -> String {
        // Scalar by scalar: a joiner after the quote mark would make the two one Character.
        guard field.unicodeScalars.first == "'" else { return field }
        let rest = String(field.unicodeScalars.dropFirst())
        return startsFormula(rest) ? rest : field
    }

    /// Whether a spreadsheet could read the field as a formula: its first scalar is a tab or a
    /// carriage return, or its first visible scalar is =, +, - or @ (looked at scalar by scalar,
    /// so `=` with a combining accent, or behind a zero-width joiner, is still caught). A plain
    /// number such as -5 stays as it is.
    public static func startsFormula(_ field: String) -> Bool {
        let scalars = field.unicodeScalars
        guard let first = scalars.first else { return false }
        if first == "\t" || first == "\r" { return true }
        guard let visible = scalars.first(where: { $0.properties.generalCategory != .format }) else { return false }
        return "=+-@".unicodeScalars.contains(visible) && Double(field) == nil
    }

    static func quote(_ field: String) -> String {
        // A leading =, +, - or @ would run as a formula in a spreadsheet; a quote mark keeps it text.
        var value = field
        if startsFormula(value) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
