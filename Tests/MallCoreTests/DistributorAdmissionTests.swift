import Foundation
import Testing
@testable import MallCore

@Suite struct DistributorAdmissionTests {
    static let product = UUID()

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let mode: DistributorAdmissionMode
        let figures: DistributorAdmissionFigures
        let decision: DistributorAdmissionDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        .init(name: "everyone", mode: .automatic, figures: .init(), decision: .admit),
        .init(name: "application", mode: .application, figures: .init(), decision: .needsReview),
        .init(name: "spend reached", mode: .spendThreshold(Money(fen: 10_000)), figures: .init(paidAmount: Money(fen: 10_000)), decision: .admit),
        .init(name: "spend not reached", mode: .spendThreshold(Money(fen: 10_000)), figures: .init(paidAmount: Money(fen: 9_999)),
              decision: .notEligible(.spendBelowThreshold(Money(fen: 10_000)))),
        .init(name: "received orders reached", mode: .receivedOrderThreshold(3), figures: .init(receivedOrderCount: 3), decision: .admit),
        .init(name: "received orders not reached", mode: .receivedOrderThreshold(3), figures: .init(receivedOrderCount: 2),
              decision: .notEligible(.ordersBelowThreshold(3))),
        .init(name: "bought the product", mode: .purchaseOfProduct([product]), figures: .init(purchasedProductIDs: [product, UUID()]),
              decision: .admit),
        .init(name: "did not buy the product", mode: .purchaseOfProduct([product]), figures: .init(purchasedProductIDs: [UUID()]),
              decision: .notEligible(.productNotPurchased)),
        .init(name: "scanned a recruiting store", mode: .storeQRCode, figures: .init(scannedRecruitingStore: true), decision: .admit),
        .init(name: "no store scan", mode: .storeQRCode, figures: .init(), decision: .notEligible(.storeQRCodeRequired)),
        .init(name: "picked", mode: .handPicked, figures: .init(pickedByOperator: true), decision: .admit),
        .init(name: "not picked", mode: .handPicked, figures: .init(), decision: .notEligible(.notPicked)),
    ]

    @Test(arguments: cases)
    func eligibilityFollowsTheMode(_ c: Case) throws {
        #expect(try DistributorAdmission.check(c.figures, settings: DistributorAdmissionSettings(mode: c.mode)) == c.decision)
    }

    @Test(arguments: [DistributorAdmissionMode.automatic, .application, .spendThreshold(Money(fen: 1)), .storeQRCode, .handPicked])
    func noModeEverChargesAFee(_ mode: DistributorAdmissionMode) {
        let settings = DistributorAdmissionSettings(mode: mode, entryFee: Money(fen: 9_900))
        #expect(throws: DistributorAdmissionError.entryFee) { try settings.validate() }
        #expect(throws: DistributorAdmissionError.entryFee) { try DistributorAdmission.check(.init(), settings: settings) }
        #expect(DistributorAdmissionError.entryFee.isCompliance)
        #expect(DistributorAdmissionError.entryFee.localizedMessage(.zhHans) == "合规限制：成为分销员不得收取任何费用。")
    }

    @Test func emptyThresholdsAreRefused() {
        #expect(throws: DistributorAdmissionError.thresholdNotPositive) {
            try DistributorAdmissionSettings(mode: .spendThreshold(.zero)).validate()
        }
        #expect(throws: DistributorAdmissionError.thresholdNotPositive) {
            try DistributorAdmissionSettings(mode: .receivedOrderThreshold(0)).validate()
        }
        #expect(throws: DistributorAdmissionError.noProducts) { try DistributorAdmissionSettings(mode: .purchaseOfProduct([])).validate() }
    }
}
