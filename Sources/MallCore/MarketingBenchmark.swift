import Foundation

/// A fixed pricing workload for `fission bench-pricing`: carts of 20 lines over two shops with
/// three promotions (a limited-time price, a tiered full reduction, a platform 满折) and a
/// coupon. The same seed always builds the same carts and gives the same checksum.
public enum MarketingBenchmark {
    public static let linesPerCart = 20

    /// Prices `carts` carts through `Pricing.quote`.
    ///
    /// - Returns: the carts priced and the sum of every total, which changes when the pricing does.
    public static func run(carts: Int, seed: UInt64 = 0x6D6B_7467) -> (carts: Int, checksum: Int64) {
        guard carts > 0, let workload = try? Workload(seed: seed) else { return (0, 0) }
        var checksum: Int64 = 0
        var done = 0
        for index in 0..<carts {
            if let quote = try? Pricing.quote(workload.inputs[index % workload.inputs.count]) {
                checksum = checksum &+ quote.total.fen
                done += 1
            }
        }
        return (done, checksum)
    }

    /// The baseline: the same carts through `Checkout.quote` with no marketing.
    public static func baseline(carts: Int, seed: UInt64 = 0x6D6B_7467) -> (carts: Int, checksum: Int64) {
        guard carts > 0, let workload = try? Workload(seed: seed) else { return (0, 0) }
        let plain = workload.inputs.map { input in input.lines.map(\.checkoutLine) }
        var checksum: Int64 = 0
        var done = 0
        for index in 0..<carts {
            if let quote = try? Checkout.quote(lines: plain[index % plain.count], shippingFees: workload.inputs[0].shippingFees) {
                checksum = checksum &+ quote.total.fen
                done += 1
            }
        }
        return (done, checksum)
    }

    struct Workload {
        let inputs: [PricingInput]

        init(seed: UInt64) throws {
            var rng = SplitMix64(seed: seed)
            let shops = [rng.uuid(), rng.uuid()]
            let categories = (0..<4).map { _ in rng.uuid() }
            let now = Date(timeIntervalSince1970: 1_750_000_000)
            let window = try ActivityWindow(start: now.addingTimeInterval(-3_600), end: now.addingTimeInterval(3_600))
            var inputs: [PricingInput] = []
            for cart in 0..<64 {
                let lines = (0..<MarketingBenchmark.linesPerCart).map { index in
                    PricingLine(merchantID: shops[index % 2], skuID: rng.uuid(), productID: rng.uuid(),
                                categoryIDs: [categories[rng.below(4)]], unitPrice: Money(fen: Int64(500 + rng.below(30_000))),
                                quantity: Int64(1 + rng.below(3)))
                }
                let offers = try lines.prefix(4).map { line in
                    try LimitedTimeOffer(id: "lt-\(line.skuID)", name: "限时折扣", skuID: line.skuID, price: Money(fen: line.unitPrice.fen * 8 / 10),
                                         window: window, perMemberLimit: 2, payer: .merchant(line.merchantID))
                }
                let tiers = try FullReductionActivity(
                    id: "fr-shop", name: "店铺满减", payer: .merchant(shops[0]), window: window,
                    tiers: [.amountOff(over: Money(fen: 19_900), Money(fen: 2_000)), .amountOff(over: Money(fen: 29_900), Money(fen: 4_000))])
                let rate = try FullReductionActivity(
                    id: "fr-platform", name: "跨店满折", scope: .categories([categories[0], categories[1]]), payer: .platform, window: window,
                    tiers: [.payRate(over: Money(fen: 10_000), BasisPoints(9_500)), .payRate(over: Money(fen: 50_000), BasisPoints(9_000))])
                let coupon = try Coupon(id: "c-\(cart)", kind: .fullReduction, name: "平台满300减30", threshold: Money(fen: 30_000),
                                        benefit: .amountOff(Money(fen: 3_000)), validity: .window(window))
                inputs.append(PricingInput(lines: lines, limitedTimeOffers: offers, fullReductions: [tiers, rate],
                                           coupons: [MemberCoupon(id: "mc-\(cart)", coupon: coupon, receivedAt: now)],
                                           shippingFees: [shops[0]: Money(fen: 1_000), shops[1]: Money(fen: 800)], now: now))
            }
            self.inputs = inputs
        }
    }
}
