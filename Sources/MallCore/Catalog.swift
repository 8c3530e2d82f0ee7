import Foundation

/// A product's specs (规格), e.g. 颜色 × 尺码, and the SKU combinations they generate.
public struct SpecMatrix: Equatable, Sendable {
    public struct Spec: Equatable, Sendable, Codable {
        public let name: String
        public let values: [String]
        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    public static let maxSpecs = 3
    public static let maxValuesPerSpec = 50
    public static let maxCombinations = 600

    public let specs: [Spec]

    public enum Problem: Error, Equatable, Sendable {
        case tooManySpecs
        case emptySpecName(index: Int)
        case duplicateSpecName(String)
        case noValues(spec: String)
        case emptyValue(spec: String)
        case duplicateValue(spec: String, value: String)
        case tooManyValues(spec: String)
        case tooManyCombinations(Int)
        /// A SKU names a combination the specs do not make.
        case unknownCombination(String)
        case missingCombination(String)
        case duplicateCombination(String)
        /// ":" and ";" join spec names and values in SKU keys.
        case reservedCharacter(String)
    }

    /// Trims names and values and refuses anything a shopper could not choose between.
    public init(_ specs: [Spec]) throws(Problem) {
        guard specs.count <= Self.maxSpecs else { throw .tooManySpecs }
        var seenNames = Set<String>()
        var cleaned: [Spec] = []
        var combinations = 1
        for (index, spec) in specs.enumerated() {
            let name = spec.name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else { throw .emptySpecName(index: index) }
            guard !name.contains(Self.pairSeparator), !name.contains(Self.nameSeparator) else { throw .reservedCharacter(name) }
            guard seenNames.insert(name).inserted else { throw .duplicateSpecName(name) }
            guard !spec.values.isEmpty else { throw .noValues(spec: name) }
            guard spec.values.count <= Self.maxValuesPerSpec else { throw .tooManyValues(spec: name) }
            var seenValues = Set<String>()
            var values: [String] = []
            for raw in spec.values {
                let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !value.isEmpty else { throw .emptyValue(spec: name) }
                guard !value.contains(Self.pairSeparator), !value.contains(Self.nameSeparator) else { throw .reservedCharacter(value) }
                guard seenValues.insert(value).inserted else { throw .duplicateValue(spec: name, value: value) }
                values.append(value)
            }
            combinations *= values.count
            guard combinations <= Self.maxCombinations else { throw .tooManyCombinations(combinations) }
            cleaned.append(Spec(name: name, values: values))
        }
        self.specs = cleaned
    }

    static let nameSeparator: Character = ":"
    static let pairSeparator: Character = ";"

    /// Every combination, in the order the specs and values were given; a product without specs has one.
    public var combinations: [[String: String]] {
        specs.reduce([[:]]) { partial, spec in
            partial.flatMap { combination in
                spec.values.map { value in combination.merging([spec.name: value]) { _, new in new } }
            }
        }
    }

    /// A stable text key for a combination: "颜色:红;尺码:M" in spec order; "" without specs.
    public func key(for combination: [String: String]) throws(Problem) -> String {
        guard combination.count == specs.count else { throw .unknownCombination(Self.describe(combination)) }
        var parts: [String] = []
        for spec in specs {
            guard let value = combination[spec.name], spec.values.contains(value) else {
                throw .unknownCombination(Self.describe(combination))
            }
            parts.append("\(spec.name)\(Self.nameSeparator)\(value)")
        }
        return parts.joined(separator: String(Self.pairSeparator))
    }

    public var allKeys: [String] { combinations.compactMap { try? key(for: $0) } }

    /// Checks that the given SKU combinations cover every combination exactly once.
    public func checkCoverage(_ skuCombinations: [[String: String]]) throws(Problem) {
        var seen = Set<String>()
        for combination in skuCombinations {
            let key = try key(for: combination)
            guard seen.insert(key).inserted else { throw .duplicateCombination(key) }
        }
        for key in allKeys where !seen.contains(key) { throw .missingCombination(key) }
    }

    private static func describe(_ combination: [String: String]) -> String {
        combination.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ";")
    }
}

/// Search terms that work for Chinese queries of two characters as well as for words and codes,
/// the same on every database: CJK text is indexed by overlapping character pairs (bigrams),
/// other text by lower-cased words.
public enum SearchTerms {
    /// Terms to index for a text.
    public static func index(_ text: String) -> Set<String> {
        var terms = Set<String>()
        for run in runs(of: normalized(text)) {
            switch run {
            case .cjk(let characters):
                if characters.count == 1 { terms.insert(String(characters)) }
                for i in 0..<max(characters.count - 1, 0) { terms.insert(String(characters[i...i + 1])) }
            case .word(let word):
                terms.insert(word)
            }
        }
        return terms
    }

    /// Terms a product must have for a query to match it; empty when the query has nothing to search by.
    /// A single CJK character cannot be matched through pairs, so it is returned as itself and
    /// callers fall back to a substring match for it.
    public static func query(_ text: String) -> Set<String> {
        index(text)
    }

    /// Whether the query is a single CJK character, which the index does not hold as a pair.
    public static func needsSubstringMatch(_ text: String) -> Bool {
        let runs = runs(of: normalized(text))
        return runs.contains { if case .cjk(let c) = $0 { return c.count == 1 } else { return false } }
    }

    /// Full-width forms folded to ASCII, letters lower-cased.
    public static func normalized(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF01...0xFF5E: scalars.append(Unicode.Scalar(scalar.value - 0xFEE0) ?? scalar)
            case 0x3000: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        return String(scalars).lowercased()
    }

    enum Run: Equatable {
        case cjk([Character])
        case word(String)
    }

    static func runs(of text: String) -> [Run] {
        var result: [Run] = []
        var cjk: [Character] = []
        var word = ""
        func flush() {
            if !cjk.isEmpty { result.append(.cjk(cjk)); cjk = [] }
            if !word.isEmpty { result.append(.word(word)); word = "" }
        }
        for character in text {
            if isCJK(character) {
                if !word.isEmpty { result.append(.word(word)); word = "" }
                cjk.append(character)
            } else if character.isLetter || character.isNumber || character == "-" || character == "_" {
                if !cjk.isEmpty { result.append(.cjk(cjk)); cjk = [] }
                word.append(character)
            } else {
                flush()
            }
        }
        flush()
        return result
    }

    static func isCJK(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        switch scalar.value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F, 0x3040...0x30FF, 0xAC00...0xD7AF: return true
        default: return false
        }
    }
}

/// Category trees: moving a category under one of its own descendants would make a cycle.
public enum CategoryTree {
    /// `parents` maps each category to its parent (nil for a root).
    public static func wouldCreateCycle(moving category: UUID, under newParent: UUID?, parents: [UUID: UUID?]) -> Bool {
        var current = newParent
        var steps = 0
        while let node = current {
            if node == category { return true }
            steps += 1
            if steps > parents.count + 1 { return true } // already cyclic data: refuse
            current = parents[node] ?? nil
        }
        return false
    }

    /// The category and all its descendants.
    public static func subtree(of root: UUID, parents: [UUID: UUID?]) -> Set<UUID> {
        var children: [UUID: [UUID]] = [:]
        for (child, parent) in parents { if let parent { children[parent, default: []].append(child) } }
        var result: Set<UUID> = [root]
        var stack = [root]
        while let node = stack.popLast() {
            for child in children[node] ?? [] where result.insert(child).inserted { stack.append(child) }
        }
        return result
    }
}
