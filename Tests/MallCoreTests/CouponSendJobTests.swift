import Foundation
import Testing
@testable import MallCore

/// 发券任务: which refusals skip a member and which end the job, the status after a batch, and
/// progress that never traps.
@Suite struct CouponSendJobRuleTests {
    @Test(arguments: [
        (CouponRejection.soldOut, CouponSendJobs.Step.endJob(.soldOut)),
        (.dailySoldOut, .endJob(.dailySoldOut)),
        (.claimEnded, .endJob(.claimEnded)),
        (.memberLimitReached(limit: 1), .skipMember),
        (.memberDailyLimitReached(limit: 1), .skipMember),
        (.newMembersOnly, .skipMember),
    ])
    func refusals(_ refusal: CouponRejection, _ step: CouponSendJobs.Step) {
        #expect(CouponSendJobs.step(for: refusal) == step)
    }

    @Test func theStatusAfterABatch() {
        #expect(CouponSendJobs.statusAfterBatch(taken: 200, batchSize: 200, ended: nil) == .running)
        #expect(CouponSendJobs.statusAfterBatch(taken: 199, batchSize: 200, ended: nil) == .done)
        #expect(CouponSendJobs.statusAfterBatch(taken: 0, batchSize: 200, ended: nil) == .done)
        #expect(CouponSendJobs.statusAfterBatch(taken: 200, batchSize: 200, ended: .soldOut) == .failed)
        #expect(CouponSendJobs.statusAfterBatch(taken: 3, batchSize: 200, ended: .notClaimable) == .failed)
        #expect(CouponSendJobs.statusAfterBatch(taken: 3, batchSize: 200, ended: .cancelled) == .cancelled)
        #expect(CouponSendJobStatus.allCases.filter(\.isOpen) == [.queued, .running])
    }

    @Test func progressIsAWholePercentWithinBounds() {
        #expect(CouponSendJobs.percent(handled: 0, total: 2_500) == 0)
        #expect(CouponSendJobs.percent(handled: 200, total: 450) == 44)
        #expect(CouponSendJobs.percent(handled: 2_500, total: 2_500) == 100)
        #expect(CouponSendJobs.percent(handled: 2_600, total: 2_500) == 100)
        #expect(CouponSendJobs.percent(handled: -5, total: 10) == 0)
        #expect(CouponSendJobs.percent(handled: 5, total: 0) == 100)
        #expect(CouponSendJobs.percent(handled: 0, total: 0) == 0)
        #expect((0...100).contains(CouponSendJobs.percent(handled: Int64.max, total: Int64.max)))
        #expect((0...100).contains(CouponSendJobs.percent(handled: Int64.max - 1, total: Int64.max)))
        #expect(CouponSendJobs.percent(handled: Int64.min, total: Int64.max) == 0)
    }

    @Test func everyStatusAndReasonHasBothLanguages() {
        for status in CouponSendJobStatus.allCases {
            #expect(!status.name(.zhHans).isEmpty && status.name(.zhHans) != status.name(.en))
        }
        for end in CouponSendEnd.allCases {
            #expect(!end.message(.zhHans).isEmpty && end.message(.zhHans) != end.message(.en))
        }
    }
}
