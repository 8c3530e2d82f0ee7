import Foundation

/// The rules in force, checked once and compiled into lookups keyed by SKU, product, category and
/// grade, so that an order line costs a few hash lookups and no allocation.
///
/// Building the book is where a configuration is refused: bad formulas, two rules for one scope,
/// a category cycle, and rates that could take a line past the cap (合规). Fixed amounts cannot be
/// checked against the cap without a price, so they are cut at order time instead.
public struct CommissionRuleBook: Sendable {
    public let settings: CommissionSettings
    public let rules: [CommissionRule]

    /// Rule indices per level; -1 where the scope leaves the level to the next rule down.
    struct Slots: Sendable {
        var indices: (Int32, Int32, Int32) = (-1, -1, -1)

        subscript(level: Int) -> Int32 {
            get {
                switch level {
                case 1: indices.0
                case 2: indices.1
                default: indices.2
                }
            }
            set {
                switch level {
                case 1: indices.0 = newValue
                case 2: indices.1 = newValue
                default: indices.2 = newValue
                }
            }
        }

        static let empty = Slots()

        init() {}

        init(rule: CommissionRule, index: Int32) {
            for level in CommissionLevel.all where rule[level] != nil { self[level.number] = index }
        }

        /// This slot where set, otherwise `fallback`'s.
        func over(_ fallback: Slots) -> Slots {
            var merged = self
            for level in 1...3 where merged[level] < 0 { merged[level] = fallback[level] }
            return merged
        }
    }

    let skus: [UUID: Slots]
    let products: [UUID: Slots]
    /// Each category with what its nearest ancestors set, level by level.
    let categories: [UUID: Slots]
    let grades: [UUID: Slots]
    let global: Slots

    /// Checks and compiles the rules.
    ///
    /// - Parameter categoryParents: each category's parent, so that a rule on 母婴 covers 奶粉
    ///   below it; a subcategory's own rule wins level by level.
    public init(rules: [CommissionRule], settings: CommissionSettings = CommissionSettings(),
                categoryParents: [UUID: UUID] = [:]) throws(CommissionConfigError) {
        try settings.validate()
        guard rules.count < Int(Int32.max) else { throw .tooManyRules }
        var skus: [UUID: Slots] = [:]
        var products: [UUID: Slots] = [:]
        var ownCategories: [UUID: Slots] = [:]
        var grades: [UUID: Slots] = [:]
        var global: Slots?
        for (offset, rule) in rules.enumerated() {
            try rule.validate()
            let slots = Slots(rule: rule, index: Int32(offset))
            let fresh: Bool
            switch rule.scope {
            case .sku(let id): fresh = skus.updateValue(slots, forKey: id) == nil
            case .product(let id): fresh = products.updateValue(slots, forKey: id) == nil
            case .category(let id): fresh = ownCategories.updateValue(slots, forKey: id) == nil
            case .grade(let id): fresh = grades.updateValue(slots, forKey: id) == nil
            case .global:
                fresh = global == nil
                global = slots
            }
            guard fresh else { throw .duplicateScope(rule.scope) }
        }
        self.settings = settings
        self.rules = rules
        self.skus = skus
        self.products = products
        self.grades = grades
        self.global = global ?? .empty
        self.categories = try Self.inherit(ownCategories, parents: categoryParents)
        try checkCap()
    }

    /// Gives every category in the tree the levels its nearest ancestors set.
    private static func inherit(_ own: [UUID: Slots], parents: [UUID: UUID]) throws(CommissionConfigError) -> [UUID: Slots] {
        guard !own.isEmpty else { return [:] }
        var resolved: [UUID: Slots] = [:]
        // In a fixed order, so that a cycle is always reported at the same category.
        let all = Set(own.keys).union(parents.keys).sorted { $0.uuidString < $1.uuidString }
        for start in all {
            var slots = own[start] ?? .empty
            var seen: Set<UUID> = [start]
            var current = start
            while let parent = parents[current] {
                guard seen.insert(parent).inserted else { throw .categoryCycle(start) }
                if let above = own[parent] { slots = slots.over(above) }
                current = parent
            }
            if slots[1] >= 0 || slots[2] >= 0 || slots[3] >= 0 { resolved[start] = slots }
        }
        return resolved
    }

    /// Refuses rules whose rates alone could take some line past the cap.
    ///
    /// For each scope, a level the rule sets counts with its highest tier rate; a level it leaves
    /// open counts with the highest rate any rule further down could supply. Grades are taken
    /// level by level, since each level's beneficiary has its own grade. The check is exact from
    /// category down and may be stricter than needed for SKU and product rules, whose category
    /// is not known here.
    private func checkCap() throws(CommissionConfigError) {
        let paying = CommissionLevel.all.filter { settings.pays($0) }
        func rate(_ index: Int32, _ level: CommissionLevel) -> Int {
            guard index >= 0, let levelRule = rules[Int(index)][level] else { return 0 }
            return levelRule.maximumRate.value
        }
        // The highest rate reachable at each level from a given precedence down.
        var below = [0, 0, 0, 0]
        func check(_ slots: Slots, scope: CommissionRuleScope) throws(CommissionConfigError) {
            var total = 0
            for level in paying {
                let index = slots[level.number]
                total += index >= 0 ? rate(index, level) : below[level.number]
            }
            guard total <= settings.capRate.value else {
                throw .ratesExceedCap(scope: scope, total: BasisPoints(total), cap: settings.capRate)
            }
        }
        func raise(_ slots: Slots) {
            for level in paying where slots[level.number] >= 0 {
                below[level.number] = max(below[level.number], rate(slots[level.number], level))
            }
        }
        try check(global, scope: .global)
        raise(global)
        var gradeMaxima = below
        for (id, slots) in grades.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            try check(slots, scope: .grade(id))
            for level in paying where slots[level.number] >= 0 {
                gradeMaxima[level.number] = max(gradeMaxima[level.number], rate(slots[level.number], level))
            }
        }
        below = gradeMaxima
        // Across grades the worst line mixes each level's highest grade rate.
        if let anyGrade = grades.keys.min(by: { $0.uuidString < $1.uuidString }) {
            try check(.empty, scope: .grade(anyGrade))
        }
        for (layer, scope) in [(categories, CommissionRuleSource.category), (products, .product), (skus, .sku)] {
            for (id, slots) in layer.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                let ruleScope: CommissionRuleScope = switch scope {
                case .category: .category(id)
                case .product: .product(id)
                default: .sku(id)
                }
                try check(slots, scope: ruleScope)
            }
            for slots in layer.values { raise(slots) }
        }
    }

    /// The rule slots for a line, most specific first, merged level by level.
    @inline(__always)
    func slots(sku: UUID, product: UUID, category: UUID?) -> Slots {
        var merged = Slots.empty
        if !skus.isEmpty, let own = skus[sku] { merged = own }
        if !products.isEmpty, let own = products[product] { merged = merged.over(own) }
        if !categories.isEmpty, let id = category, let own = categories[id] { merged = merged.over(own) }
        return merged
    }

    func gradeSlots(_ grade: UUID?) -> Slots {
        guard let grade, let own = grades[grade] else { return global }
        return own.over(global)
    }
}
