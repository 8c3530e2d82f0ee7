import Fluent
import Foundation

// PLACEHOLDER — delete this file when merging with the branch that brings the real `RefundService`
// (after-sales). It only lets the provider callbacks compile here; it records nothing.

/// Stand-in with the real service's signature: `RefundService(db:now:).confirm(refundNo:outcome:)`.
struct RefundService {
    let db: any Database
    let now: Date

    func confirm(refundNo: String, outcome: ProviderRefundState) async throws {}
}
