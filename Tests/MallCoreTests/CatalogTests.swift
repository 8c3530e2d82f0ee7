import Foundation
import Testing
@testable import MallCore

@Suite struct CatalogTests {
    @Test func twoByThreeSpecsMakeSixCombinations() throws {
        let matrix = try SpecMatrix([.init(name: "颜色", values: ["红", "蓝"]), .init(name: "尺码", values: ["S", "M", "L"])])
        #expect(matrix.combinations.count == 6)
        #expect(matrix.allKeys == ["颜色:红;尺码:S", "颜色:红;尺码:M", "颜色:红;尺码:L", "颜色:蓝;尺码:S", "颜色:蓝;尺码:M", "颜色:蓝;尺码:L"])
        #expect(try matrix.key(for: ["尺码": "M", "颜色": "蓝"]) == "颜色:蓝;尺码:M")
        #expect(try SpecMatrix([]).allKeys == [""])
    }

    @Test func refusesSpecsAShopperCouldNotChooseFrom() {
        #expect(throws: SpecMatrix.Problem.duplicateSpecName("颜色")) { try SpecMatrix([.init(name: "颜色", values: ["红"]), .init(name: " 颜色 ", values: ["蓝"])]) }
        #expect(throws: SpecMatrix.Problem.duplicateValue(spec: "颜色", value: "红")) { try SpecMatrix([.init(name: "颜色", values: ["红", "红 "])]) }
        #expect(throws: SpecMatrix.Problem.noValues(spec: "颜色")) { try SpecMatrix([.init(name: "颜色", values: [])]) }
        #expect(throws: SpecMatrix.Problem.emptyValue(spec: "颜色")) { try SpecMatrix([.init(name: "颜色", values: [" "])]) }
        #expect(throws: SpecMatrix.Problem.emptySpecName(index: 0)) { try SpecMatrix([.init(name: "", values: ["红"])]) }
        #expect(throws: SpecMatrix.Problem.tooManySpecs) { try SpecMatrix((1...4).map { .init(name: "s\($0)", values: ["a"]) }) }
        let many = (1...30).map(String.init)
        #expect(throws: SpecMatrix.Problem.tooManyCombinations(900)) { try SpecMatrix([.init(name: "a", values: many), .init(name: "b", values: many)]) }
    }

    @Test func skusMustCoverEveryCombinationOnce() throws {
        let matrix = try SpecMatrix([.init(name: "颜色", values: ["红", "蓝"]), .init(name: "尺码", values: ["S"])])
        try matrix.checkCoverage([["颜色": "红", "尺码": "S"], ["颜色": "蓝", "尺码": "S"]])
        #expect(throws: SpecMatrix.Problem.missingCombination("颜色:蓝;尺码:S")) { try matrix.checkCoverage([["颜色": "红", "尺码": "S"]]) }
        #expect(throws: SpecMatrix.Problem.duplicateCombination("颜色:红;尺码:S")) {
            try matrix.checkCoverage([["颜色": "红", "尺码": "S"], ["颜色": "红", "尺码": "S"], ["颜色": "蓝", "尺码": "S"]])
        }
        #expect(throws: SpecMatrix.Problem.unknownCombination("尺码:S;颜色:绿")) { try matrix.checkCoverage([["颜色": "绿", "尺码": "S"]]) }
    }

    @Test func chineseIsIndexedByCharacterPairs() {
        #expect(SearchTerms.index("婴儿奶粉 900g") == ["婴儿", "儿奶", "奶粉", "900g"])
        #expect(SearchTerms.index("ＡＢＣ面膜") == ["abc", "面膜"])
        #expect(SearchTerms.index("SKU-001, Milk") == ["sku-001", "milk"])
        #expect(SearchTerms.index("水") == ["水"])
        // A two-character query is one pair that the product's own pairs contain.
        #expect(SearchTerms.query("奶粉").isSubset(of: SearchTerms.index("飞鹤星飞帆婴儿奶粉3段")))
        #expect(!SearchTerms.query("奶粉").isSubset(of: SearchTerms.index("纯牛奶 粉色包装")))
        #expect(SearchTerms.needsSubstringMatch("奶"))
        #expect(!SearchTerms.needsSubstringMatch("奶粉"))
    }

    @Test func categoryMovesThatWouldLoopAreRefused() {
        let root = UUID(), child = UUID(), grandchild = UUID(), other = UUID()
        let parents: [UUID: UUID?] = [root: nil, child: root, grandchild: child, other: nil]
        #expect(CategoryTree.wouldCreateCycle(moving: root, under: grandchild, parents: parents))
        #expect(CategoryTree.wouldCreateCycle(moving: child, under: child, parents: parents))
        #expect(!CategoryTree.wouldCreateCycle(moving: grandchild, under: other, parents: parents))
        #expect(!CategoryTree.wouldCreateCycle(moving: other, under: nil, parents: parents))
        #expect(CategoryTree.subtree(of: root, parents: parents) == [root, child, grandchild])
    }
}

@Suite struct SpecSeparatorTests {
    @Test func separatorsAreReserved() {
        #expect(throws: SpecMatrix.Problem.reservedCharacter("红:深")) { try SpecMatrix([.init(name: "颜色", values: ["红:深"])]) }
        #expect(throws: SpecMatrix.Problem.reservedCharacter("颜;色")) { try SpecMatrix([.init(name: "颜;色", values: ["红"])]) }
    }
}
