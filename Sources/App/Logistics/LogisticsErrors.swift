import MallCore
import Vapor

enum LogisticsError: Error, APIErrorConvertible {
    case invalid([APIError.FieldIssue])
    case plan(ParcelPlanError)
    case waybillUnavailable
    case waybillFailed
    case badSignature
    case unknownCarrier
    case shipmentNotFound

    var apiError: APIError {
        switch self {
        case .invalid(let issues):
            return .validation(issues)
        case .plan(let problem):
            let text = LocalizedText(problem.localizedMessage(.zhHans), problem.localizedMessage(.en))
            if problem.kind == .conflict { return APIError(.conflict, problem.code, text) }
            return APIError(.unprocessableEntity, problem.code, text, details: [.init(problem.field, text)])
        case .waybillUnavailable:
            return APIError(.conflict, "logistics.waybill_unavailable", .init("本商城未开通电子面单，请填写运单号", "No electronic waybill service is set up; enter the tracking numbers"))
        case .waybillFailed:
            return APIError(.serviceUnavailable, "logistics.waybill_failed", .init("电子面单服务暂时不可用，请稍后重试或手动填写运单号",
                                                                                     "The waybill service is unavailable; try again or enter the tracking numbers"),
                            headers: ["Retry-After": "5"])
        case .badSignature:
            return APIError(.unauthorized, "logistics.bad_signature", .init("物流推送签名无效或已过期", "The tracking push signature is invalid or stale"))
        case .unknownCarrier:
            return APIError(.notFound, "logistics.unknown_carrier", .init("未知的快递公司", "Unknown carrier"))
        case .shipmentNotFound:
            return .notFound
        }
    }
}
