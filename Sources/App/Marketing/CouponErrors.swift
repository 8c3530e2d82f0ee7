import Foundation
import MallCore
import Vapor

/// Coupon refusals the App adds to MallCore's `CouponRejection` and `MarketingError` (which map
/// themselves: 409 for a clash with the coupon's state, 422 for a wrong definition).
enum CouponFailure: Error, APIErrorConvertible {
    case notClaimable
    case alreadyUsed
    case notYours(field: String)

    var apiError: APIError {
        switch self {
        case .notClaimable:
            APIError(.conflict, "coupon.not_claimable", .init("该优惠券已暂停或已停止发放", "This coupon is paused or stopped"))
        case .alreadyUsed:
            APIError(.conflict, "coupon.already_used", .init("优惠券已被使用，请重新选择", "A chosen coupon has just been used; choose again"))
        case .notYours(let field):
            APIError.validation([.init(field, .init("没有这张优惠券", "You hold no such coupon"))])
        }
    }
}

enum CouponStopped: Error, APIErrorConvertible {
    case stopped(field: String)

    var apiError: APIError {
        APIError(.conflict, "coupon.stopped", .init("该优惠券已停用", "This coupon has been stopped"), details: [])
    }
}
