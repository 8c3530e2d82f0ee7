import MallCore
import Testing

@Suite struct PointsReturnTests {
    @Test(arguments: [
        // reversed, spent, value → points back so far
        (Int64(0), Int64(1_000), Int64(1_000), Int64(0)),
        (333, 1_000, 1_000, 333),
        (1, 300, 1_000, 0),
        (999, 300, 1_000, 299),
        (1_000, 300, 1_000, 300),
        (1_200, 300, 1_000, 300),
        (500, 0, 1_000, 0),
        (500, 300, 0, 0),
        (-5, 300, 1_000, 0),
        (Int64.max - 1, Int64.max, Int64.max, Int64.max - 1),
    ])
    func refundsGiveBackTheShareOfPointsTheyReverseAndAllAtTheEnd(reversed: Int64, spent: Int64, value: Int64, back: Int64) {
        #expect(PointsReturn.earnedBack(reversed: reversed, spent: spent, value: value) == back)
    }

    @Test func backSoFarNeverFallsAsMoreIsReversedAndEndsAtWhatWasSpent() {
        let (spent, value): (Int64, Int64) = (777, 1_301)
        var previous: Int64 = 0
        for reversed in stride(from: Int64(0), through: value, by: 7) + [value] {
            let back = PointsReturn.earnedBack(reversed: reversed, spent: spent, value: value)
            #expect(back >= previous && back <= spent)
            previous = back
        }
        #expect(previous == spent)
    }
}
