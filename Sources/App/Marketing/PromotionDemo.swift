import Fluent
import Foundation
import MallCore

/// The demo mall's promotion: the platform's 满199减20 / 满299减40 over the whole mall, for 90 days.
enum PromotionDemo {
    static func seed(on db: any Database, now: Date) async throws {
        let formatter = ISO8601DateFormatter()
        _ = try await PromotionService(db: db, now: now).create(PromotionInput(
            name: "平台满减", kind: PromotionKind.fullReduction.rawValue, startsAt: formatter.string(from: now),
            endsAt: formatter.string(from: now.addingTimeInterval(90 * 86_400)),
            tiers: [.init(thresholdFen: 19_900, amountOffFen: 2_000, payRateBp: nil), .init(thresholdFen: 29_900, amountOffFen: 4_000, payRateBp: nil)],
            skus: nil, perMemberLimit: nil, scope: "all", merchantId: nil, productIds: nil, paysCommission: nil), merchantID: nil)
    }
}
