import Foundation
import PropertyBased
import Testing
@testable import MallCore

/// Readable fixed ids: uuid(1) is 00000000-0000-0000-0000-000000000001.
func uuid(_ n: UInt8) -> UUID {
    UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n))
}

@Suite struct CheckoutTests {
    static let shopA = uuid(0xA1), shopB = uuid(0xB1)
    static let a1 = uuid(1), a2 = uuid(2), b1 = uuid(3)

    /// Shop B's line comes between shop A's two: A is still the first order and keeps its lines in order.
    static let lines = [
        CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: 5_990), quantity: 2),
        CheckoutLine(merchantID: shopB, skuID: b1, unitPrice: Money(fen: 10_000), quantity: 1),
        CheckoutLine(merchantID: shopA, skuID: a2, unitPrice: Money(fen: 1_990), quantity: 1),
    ]

    static let discounts = [
        CheckoutDiscount(id: "act:a", kind: .fullReduction, label: "满100减10", amount: Money(fen: 1_000), scope: .merchant(shopA)),
        CheckoutDiscount(id: "coupon:b", kind: .coupon, label: "单品券", amount: Money(fen: 500), scope: .lines([b1])),
        CheckoutDiscount(id: "coupon:p", kind: .coupon, label: "平台券", amount: Money(fen: 2_000), scope: .platform),
    ]

    @Test func twoMerchantsToTheFen() throws {
        // act
        let quote = try Checkout.quote(lines: Self.lines, discounts: Self.discounts, shippingFees: [Self.shopA: Money(fen: 1_000)])

        // check: one order per shop in order of appearance
        #expect(quote.orders.map(\.merchantID) == [Self.shopA, Self.shopB])
        let a = quote.orders[0], b = quote.orders[1]
        #expect(a.lines.map(\.skuID) == [Self.a1, Self.a2])
        #expect(a.lines.map(\.amount.fen) == [11_980, 1_990])
        #expect(a.goodsAmount.fen == 13_970)
        // ¥10 by 11 980 : 1 990 → 857.55 and 142.45: the fen left goes to the larger remainder.
        #expect(a.lines[0].allocations[0] == DiscountAllocation(discountID: "act:a", kind: .fullReduction, amount: Money(fen: 858)))
        #expect(a.lines[1].allocations[0].amount.fen == 142)
        // The platform ¥20 first by what each shop still costs (12 970 : 9 500 → 1 154.43 and 845.57) …
        #expect(a.discounts.map(\.amount.fen) == [1_000, 1_154])
        #expect(b.discounts.map(\.amount.fen) == [500, 846])
        // … then within shop A by what its lines still cost (11 122 : 1 848 → 989.57 and 164.43).
        #expect(a.lines[0].allocations[1].amount.fen == 990)
        #expect(a.lines[1].allocations[1].amount.fen == 164)
        #expect(a.lines.map(\.paid.fen) == [10_132, 1_684])
        #expect(b.lines[0].allocations.map(\.amount.fen) == [500, 846])
        #expect(b.lines[0].paid.fen == 8_654)
        #expect(a.discountTotal.fen == 2_154)
        #expect(a.shippingFee.fen == 1_000)
        #expect(b.shippingFee == .zero)
        #expect(a.payable.fen == 12_816)
        #expect(b.payable.fen == 8_654)
        #expect(quote.goodsAmount.fen == 23_970)
        #expect(quote.discountTotal.fen == 3_500)
        #expect(quote.shippingTotal.fen == 1_000)
        #expect(quote.total.fen == 21_470)
    }

    @Test func aDiscountThatTakesALineToZeroLeavesItThere() throws {
        let lines = [
            CheckoutLine(merchantID: Self.shopA, skuID: Self.a1, unitPrice: Money(fen: 300), quantity: 1),
            CheckoutLine(merchantID: Self.shopA, skuID: Self.a2, unitPrice: Money(fen: 700), quantity: 1),
        ]
        let quote = try Checkout.quote(lines: lines, discounts: [
            CheckoutDiscount(id: "gift", kind: .coupon, label: "赠品券", amount: Money(fen: 300), scope: .lines([Self.a1])),
            CheckoutDiscount(id: "points", kind: .points, label: "积分抵扣", amount: Money(fen: 700), scope: .platform),
        ])
        #expect(quote.orders[0].lines.map(\.paid) == [.zero, .zero])
        // The first line costs nothing when points come, so it carries none of them.
        #expect(quote.orders[0].lines[0].allocations.map(\.discountID) == ["gift"])
        #expect(quote.total == .zero)
    }

    @Test func aDiscountLargerThanItsLinesIsRefused() {
        #expect(throws: CheckoutError.discountExceedsBase(id: "big", amount: Money(fen: 10_001), base: Money(fen: 10_000))) {
            try Checkout.quote(lines: Self.lines, discounts: [
                CheckoutDiscount(id: "big", kind: .coupon, label: "", amount: Money(fen: 10_001), scope: .merchant(Self.shopB)),
            ])
        }
        // What earlier discounts took is no longer there to take.
        #expect(throws: CheckoutError.discountExceedsBase(id: "second", amount: Money(fen: 2), base: Money(fen: 1))) {
            try Checkout.quote(lines: Self.lines, discounts: [
                CheckoutDiscount(id: "first", kind: .coupon, label: "", amount: Money(fen: 9_999), scope: .lines([Self.b1])),
                CheckoutDiscount(id: "second", kind: .coupon, label: "", amount: Money(fen: 2), scope: .merchant(Self.shopB)),
            ])
        }
        let message = CheckoutError.discountExceedsBase(id: "big", amount: Money(fen: 10_001), base: Money(fen: 10_000)).localizedMessage(.zhHans)
        #expect(message == "优惠 big 的金额 ¥100.01 超过适用商品金额 ¥100.00")
    }

    static let other = uuid(0xEE)

    @Test(arguments: [
        ([CheckoutLine](), [CheckoutDiscount](), [UUID: Money](), CheckoutError.noLines),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: 1), quantity: 0)], [], [:], .invalidQuantity(sku: a1)),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: 1), quantity: 100_000)], [], [:], .invalidQuantity(sku: a1)),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: -1), quantity: 1)], [], [:], .negativePrice(sku: a1)),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: 1), quantity: 1), CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: 1), quantity: 1)], [], [:], .duplicateLine(sku: a1)),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: .max / 2), quantity: 3)], [], [:], .amountTooLarge),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: .max / 2), quantity: 1), CheckoutLine(merchantID: shopB, skuID: b1, unitPrice: Money(fen: .max / 2 + 2), quantity: 1)], [], [:], .amountTooLarge),
        ([CheckoutLine(merchantID: shopA, skuID: a1, unitPrice: Money(fen: .max), quantity: 1)], [], [shopA: Money(fen: 1)], .amountTooLarge),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: 1), scope: .merchant(other))], [:], .unknownMerchant(other)),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: 1), scope: .lines([other]))], [:], .unknownLine(discountID: "x", sku: other)),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: 1), scope: .lines([a1, b1]))], [:], .discountSpansMerchants(id: "x")),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: 1), scope: .lines([]))], [:], .emptyScope(id: "x")),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: -1), scope: .platform)], [:], .negativeDiscount(id: "x")),
        (lines, [CheckoutDiscount(id: "", kind: .coupon, label: "", amount: Money(fen: 1), scope: .platform)], [:], .duplicateDiscount(id: "")),
        (lines, [CheckoutDiscount(id: "x", kind: .coupon, label: "", amount: Money(fen: 1), scope: .platform), CheckoutDiscount(id: "x", kind: .points, label: "", amount: Money(fen: 1), scope: .platform)], [:], .duplicateDiscount(id: "x")),
        (lines, [], [other: Money(fen: 1)], .unknownMerchant(other)),
        (lines, [], [shopB: Money(fen: -1)], .negativeShipping(merchant: shopB)),
    ])
    func refusesWhatCannotBeQuoted(lines: [CheckoutLine], discounts: [CheckoutDiscount], shipping: [UUID: Money], error: CheckoutError) {
        #expect(throws: error) { try Checkout.quote(lines: lines, discounts: discounts, shippingFees: shipping) }
    }

    @Test func refusesTooManyLines() {
        let many = (0...Checkout.maxLines).map { n in
            CheckoutLine(merchantID: Self.shopA, skuID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, UInt8(n / 256), UInt8(n % 256))), unitPrice: Money(fen: 1), quantity: 1)
        }
        #expect(throws: CheckoutError.tooManyLines(max: Checkout.maxLines)) { try Checkout.quote(lines: many) }
    }

    struct Scenario: Sendable, CustomStringConvertible {
        var lines: [CheckoutLine]
        var discounts: [CheckoutDiscount]
        var shipping: [UUID: Money]
        var description: String { "\(lines.map { ($0.merchantID.uuid.15, $0.unitPrice.fen, $0.quantity) }) \(discounts.map { ($0.id, $0.amount.fen, $0.scope) }) \(shipping.values.map(\.fen))" }
    }

    /// One to eight lines over up to three shops, up to four discounts of every scope sized from a
    /// fraction of their lines' amounts (so most fit and a few are refused), and random shipping.
    static let scenarios = Generator<Scenario, Shrink.None<Scenario>> { rng in
        let shops = (0..<Int.random(in: 1...3, using: &rng)).map { uuid(0xA0 + UInt8($0)) }
        var lines: [CheckoutLine] = []
        for n in 0..<Int.random(in: 1...8, using: &rng) {
            let price: Int64 = Bool.random(using: &rng) ? Int64.random(in: 0...100_000, using: &rng) : [0, 1, 3, 99_999_999].randomElement(using: &rng) ?? 1
            lines.append(CheckoutLine(merchantID: shops.randomElement(using: &rng) ?? shops[0], skuID: uuid(UInt8(n + 1)), unitPrice: Money(fen: price), quantity: Int64.random(in: 1...20, using: &rng)))
        }
        let present = Array(Set(lines.map(\.merchantID))).sorted { $0.uuidString < $1.uuidString }
        var discounts: [CheckoutDiscount] = []
        let count = Int.random(in: 0...4, using: &rng)
        for n in 0..<count {
            let scope: DiscountScope
            let covered: [CheckoutLine]
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                let shop = present.randomElement(using: &rng) ?? present[0]
                scope = .merchant(shop)
                covered = lines.filter { $0.merchantID == shop }
            case 1:
                let shop = present.randomElement(using: &rng) ?? present[0]
                let ofShop = lines.filter { $0.merchantID == shop }
                let chosen = ofShop.filter { _ in Bool.random(using: &rng) }
                covered = chosen.isEmpty ? [ofShop[0]] : chosen
                scope = .lines(Set(covered.map(\.skuID)))
            default:
                scope = .platform
                covered = lines
            }
            let base = covered.reduce(Int64(0)) { $0 + $1.unitPrice.fen * $1.quantity }
            let amount = base * Int64.random(in: 0...1_000, using: &rng) / 1_000 / Int64(count)
            discounts.append(CheckoutDiscount(id: "d\(n)", kind: .coupon, label: "", amount: Money(fen: amount), scope: scope))
        }
        var shipping: [UUID: Money] = [:]
        for shop in present where Bool.random(using: &rng) { shipping[shop] = Money(fen: Int64.random(in: 0...2_000, using: &rng)) }
        return Scenario(lines: lines, discounts: discounts, shipping: shipping)
    }

    @Test func allocationsAddUpAndNobodyPaysBelowZero() async {
        await propertyCheck(count: 400, input: Self.scenarios) { scenario throws in
            let quote: CheckoutQuote
            do {
                quote = try Checkout.quote(lines: scenario.lines, discounts: scenario.discounts, shippingFees: scenario.shipping)
            } catch let error as CheckoutError {
                guard case .discountExceedsBase = error else { throw error }
                return
            }
            let quotedLines = quote.orders.flatMap(\.lines)
            // Every input line appears once, grouped by shop in order of first appearance.
            #expect(Set(quotedLines.map(\.skuID)) == Set(scenario.lines.map(\.skuID)))
            #expect(quotedLines.count == scenario.lines.count)
            var firstSeen: [UUID] = []
            for line in scenario.lines where !firstSeen.contains(line.merchantID) { firstSeen.append(line.merchantID) }
            #expect(quote.orders.map(\.merchantID) == firstSeen)
            for order in quote.orders {
                #expect(order.lines.map(\.skuID) == scenario.lines.filter { $0.merchantID == order.merchantID }.map(\.skuID))
            }
            // Each discount lands in full, on lines and on orders.
            for discount in scenario.discounts {
                let onLines = quotedLines.flatMap(\.allocations).filter { $0.discountID == discount.id }.reduce(0) { $0 + $1.amount.fen }
                let onOrders = quote.orders.flatMap(\.discounts).filter { $0.id == discount.id }.reduce(0) { $0 + $1.amount.fen }
                #expect(onLines == discount.amount.fen)
                #expect(onOrders == discount.amount.fen)
            }
            for line in quotedLines {
                #expect(line.paid.fen >= 0)
                #expect(line.paid.fen == line.amount.fen - line.allocations.reduce(0) { $0 + $1.amount.fen })
            }
            for order in quote.orders {
                #expect(order.payable.fen == order.lines.reduce(0) { $0 + $1.paid.fen } + order.shippingFee.fen)
                #expect(order.discountTotal.fen == order.discounts.reduce(0) { $0 + $1.amount.fen })
                #expect(order.shippingFee == scenario.shipping[order.merchantID] ?? .zero)
            }
            #expect(quote.total.fen == quote.orders.reduce(0) { $0 + $1.payable.fen })
            #expect(quote.total.fen == quote.goodsAmount.fen - quote.discountTotal.fen + quote.shippingTotal.fen)
            #expect(quote.discountTotal.fen == scenario.discounts.reduce(0) { $0 + $1.amount.fen })
        }
    }
}
