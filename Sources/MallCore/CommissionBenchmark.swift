import Foundation

/// A fixed commission workload for `fission bench-commission`: the same seed always builds the
/// same rules and orders and gives the same checksum, so two runs, or two machines, compare.
public enum CommissionBenchmark {
    /// Calculates orders from a pool built from `seed` until at least `lines` order lines are done.
    ///
    /// - Returns: the lines calculated and the sum of every commission amount, which changes when
    ///   the calculation does.
    public static func run(lines: Int, seed: UInt64 = 0x6D61_6C6C) -> (lines: Int, checksum: Int64) {
        guard lines > 0, let workload = try? Workload(seed: seed) else { return (0, 0) }
        var done = 0
        var checksum: Int64 = 0
        var next = 0
        while done < lines {
            let order = workload.orders[next]
            next = next + 1 == workload.orders.count ? 0 : next + 1
            if let result = try? workload.book.calculate(order.participants, lines: order.lines) {
                for line in result.lines {
                    checksum = checksum &+ line.level1.amount.fen &+ line.level2.amount.fen &+ line.level3.amount.fen
                }
            }
            done += order.lines.count
        }
        return (done, checksum)
    }

    struct Order {
        let participants: CommissionParticipants
        let lines: [CommissionLineInput]
    }

    /// Rules at every precedence, tiers, fixed amounts, frozen distributors and self-purchases.
    struct Workload {
        let book: CommissionRuleBook
        let orders: [Order]

        init(seed: UInt64) throws {
            var rng = SplitMix64(seed: seed)
            let roots = (0..<2).map { _ in rng.uuid() }
            let categories = (0..<8).map { _ in rng.uuid() }
            var parents: [UUID: UUID] = [:]
            for (index, category) in categories.enumerated() { parents[category] = roots[index % 2] }
            let products = (0..<32).map { _ in (id: rng.uuid(), category: categories[rng.below(8)]) }
            let skus = (0..<128).map { _ in (id: rng.uuid(), product: products[rng.below(32)]) }
            let grades = (0..<3).map { _ in rng.uuid() }

            func rate(_ bp: Int) -> CommissionLevelRule { CommissionLevelRule(.rate(bp)) }
            var rules: [CommissionRule] = [
                CommissionRule(scope: .global, level1: rate(1_000), level2: rate(500), level3: rate(200)),
                CommissionRule(scope: .grade(grades[1]), level1: CommissionLevelRule(.rate(1_200), tiers: [
                    CommissionTier(minimumPeriodSales: Money(fen: 1_000_000), formula: .rate(1_500)),
                    CommissionTier(minimumPeriodSales: Money(fen: 5_000_000), formula: .rate(1_800)),
                ])),
                CommissionRule(scope: .grade(grades[2]), level1: rate(2_000), level2: rate(800)),
                CommissionRule(scope: .category(roots[0]), level2: rate(600)),
                CommissionRule(scope: .category(categories[3]), level1: rate(1_600)),
            ]
            for product in products.prefix(6) {
                rules.append(CommissionRule(scope: .product(product.id), level1: CommissionLevelRule(.init(rate: BasisPoints(800),
                                                                                                          perUnit: Money(fen: 50)))))
            }
            for (index, sku) in skus.prefix(10).enumerated() {
                let formula: CommissionFormula = index % 2 == 0 ? .perOrder(Money(fen: 500)) : .perUnit(Money(fen: 300))
                rules.append(CommissionRule(scope: .sku(sku.id), level1: CommissionLevelRule(formula), level3: rate(100)))
            }
            book = try CommissionRuleBook(rules: rules, settings: CommissionSettings(selfPurchaseCommission: true),
                                          categoryParents: parents)

            let distributors = (0..<64).map { index in
                DistributorSnapshot(id: rng.uuid(), status: index % 23 == 0 ? .frozen : (index % 31 == 0 ? .removed : .active),
                                    gradeID: rng.below(4) == 3 ? nil : grades[rng.below(3)],
                                    periodSales: Money(fen: Int64(rng.below(8_000_000))))
            }
            var orders: [Order] = []
            for _ in 0..<512 {
                let buyer = rng.uuid()
                let chainLength = rng.below(4)
                let upline = (0..<chainLength).map { _ in distributors[rng.below(64)] }
                let selfBuyer = rng.below(10) == 0 ? DistributorSnapshot(id: buyer) : nil
                let lineCount = 1 + rng.below(6)
                let lines = (0..<lineCount).map { _ -> CommissionLineInput in
                    let sku = skus[rng.below(128)]
                    let quantity = Int64(1 + rng.below(3))
                    let price = Int64(100 + rng.below(50_000))
                    let discount = Int64(rng.below(Int(price / 5)))
                    return CommissionLineInput(lineID: rng.uuid(), skuID: sku.id, productID: sku.product.id, categoryID: sku.product.category,
                                               quantity: quantity, unitListPrice: Money(fen: price),
                                               paidAmount: Money(fen: (price - discount) * quantity), marketingExcluded: rng.below(20) == 0)
                }
                orders.append(Order(participants: CommissionParticipants(buyerID: buyer, buyerAsDistributor: selfBuyer, upline: upline),
                                    lines: lines))
            }
            self.orders = orders
        }
    }
}

/// A small deterministic generator for workloads; never used where chance must be unpredictable.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound`, for a positive bound; 0 otherwise.
    mutating func below(_ bound: Int) -> Int {
        guard bound > 0 else { return 0 }
        return Int(truncatingIfNeeded: next() % UInt64(bound))
    }

    mutating func uuid() -> UUID {
        let a = next(), b = next()
        return withUnsafeBytes(of: (a, b)) { raw in
            UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
        }
    }
}
