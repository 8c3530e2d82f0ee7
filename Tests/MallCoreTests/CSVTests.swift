import Foundation
import Testing
@testable import MallCore

@Suite struct CSVTests {
    @Test func parsesQuotesCommasAndLineBreaks() throws {
        let text = "\u{FEFF}名称,说明,价格\r\n\"奶粉, 900g\",\"他说\"\"好\"\"\n第二行\",99.90\r\n\r\n面膜,,9.9\n"
        let rows = try CSV.parse(text)
        #expect(rows.map(\.line) == [1, 2, 5])
        #expect(rows[0].fields == ["名称", "说明", "价格"])
        #expect(rows[1].fields == ["奶粉, 900g", "他说\"好\"\n第二行", "99.90"])
        #expect(rows[2].fields == ["面膜", "", "9.9"])
    }

    @Test func formatsWhatParsesBack() throws {
        let rows = [["a", "b,c", "d\"e"], ["多行\n文字", "", "=SUM(A1)"], ["-5", "+86", "@x"]]
        let text = CSV.format(rows)
        #expect(text.hasPrefix(CSV.byteOrderMark))
        let parsed = try CSV.parse(text).map(\.fields)
        #expect(parsed[0] == rows[0])
        #expect(parsed[1] == ["多行\n文字", "", "'=SUM(A1)"])
        #expect(parsed[2] == ["-5", "+86", "'@x"])
    }

    @Test func formulaGuardsComeOffOnTheWayBack() {
        #expect(CSV.unquoteFormula("'=SUM(A1)") == "=SUM(A1)")
        #expect(CSV.unquoteFormula("'@x") == "@x")
        #expect(CSV.unquoteFormula("'plain") == "'plain")
    }

    @Test func theFormulaGuardLooksAtScalarsNotCharacters() throws {
        // A combining accent makes "=\u{301}" one Character that is not "="; a zero-width joiner or
        // a byte-order mark in front is invisible; a leading tab or CR is read as a formula too.
        let sneaky = ["=\u{301}HYPERLINK(\"http://x\")", "\u{200D}=cmd|' /C calc'!A0", "\u{FEFF}+1+1", "\tcmd", "\r=1", "@\u{0301}x", "-\u{200B}2+3"]
        for field in sneaky {
            #expect(CSV.startsFormula(field), "\(field.unicodeScalars.map { String($0.value, radix: 16) })")
            let written = try CSV.parse(CSV.format([[field]])).first?.fields.first
            #expect(written == "'" + field)
            #expect(CSV.unquoteFormula("'" + field) == field)
        }
        for plain in ["-5", "+86", "12.5", "奶粉", "a=b", "", " =x"] {
            #expect(!CSV.startsFormula(plain), "\(plain)")
        }
    }

    @Test func refusesWhatIsNotUTF8() throws {
        // "奶粉" in GBK.
        #expect(throws: CSV.Problem.notUTF8) { try CSV.decode([0xC4, 0xCC, 0xB7, 0xDB]) }
        #expect(try CSV.decode(Array("\u{FEFF}奶粉".utf8)) == "奶粉")
        #expect(throws: CSV.Problem.unterminatedQuote(line: 2)) { try CSV.parse("a\n\"b,c\nd") }
    }
}
