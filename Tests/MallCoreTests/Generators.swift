import PropertyBased

enum Edgy {
    /// Uniform over the whole of Int64 half the time, otherwise one of the values where arithmetic breaks.
    static func int64(_ edges: [Int64] = Edgy.int64Edges) -> Generator<Int64, Shrink.None<Int64>> {
        Generator { rng in
            Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : Int64.random(in: .min ... .max, using: &rng)
        }
    }

    static let int64Edges: [Int64] = [
        .min, .min + 1, .min / 2, -10_000, -1, 0, 1, 10_000, .max / 2, .max - 1, .max,
        // × 20 002 bp, these land on a quotient of UInt64.max with a remainder that rounds up.
        9_222_449_791_875_588_249, -9_222_449_791_875_588_249,
    ]

    static func int(_ edges: [Int] = Edgy.intEdges) -> Generator<Int, Shrink.None<Int>> {
        Generator { rng in
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: edges.randomElement(using: &rng)!
            case 1: Int.random(in: -20_000...20_000, using: &rng)
            default: Int.random(in: .min ... .max, using: &rng)
            }
        }
    }

    static let intEdges: [Int] = [.min, .min + 1, -20_002, -10_000, -1, 0, 1, 5_000, 10_000, 20_001, 20_002, .max - 1, .max]
}
