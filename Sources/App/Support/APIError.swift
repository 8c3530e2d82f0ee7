import Fluent
import FluentPostgresDriver
import MallCore
import SQLiteNIO
import Vapor

/// The one error shape clients see: `{"code", "message", "details": [{"field", "message"}]}`.
public struct APIError: Error, Sendable {
    public struct FieldIssue: Sendable {
        public let field: String
        public let message: LocalizedText
        public init(_ field: String, _ message: LocalizedText) {
            self.field = field
            self.message = message
        }
    }

    public let status: HTTPStatus
    public let code: String
    public let message: LocalizedText
    public var details: [FieldIssue]
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ code: String, _ message: LocalizedText, details: [FieldIssue] = [], headers: HTTPHeaders = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    static func validation(_ issues: [FieldIssue]) -> APIError {
        APIError(.unprocessableEntity, "validation_failed", .init("提交的信息有误，请检查后重试", "Some fields are invalid; please check and try again"), details: issues)
    }

    static let unauthenticated = APIError(.unauthorized, "unauthenticated", .init("请先登录", "Please log in first"))
    static let forbidden = APIError(.forbidden, "forbidden", .init("没有权限执行此操作", "You do not have permission to do this"))
    static let notFound = APIError(.notFound, "not_found", .init("找不到该内容", "Not found"))
    static let unstorableText = APIError(.badRequest, "unstorable_text", .init("内容含有无法保存的字符（如空字符）", "The text holds a character that cannot be stored (such as NUL)"))
}

/// Each area's error type maps itself to an `APIError` here, so status and wording live in one place.
public protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}

struct ErrorBody: Content {
    struct Detail: Content {
        let field: String
        let message: String
    }
    let code: String
    let message: String
    let details: [Detail]
}

enum ErrorMapping {
    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            return error.apiError
        case let error as DecodingError:
            return decodingError(error)
        case let error as LedgerError:
            return error.apiError
        case let error as MoneyError:
            return error.apiError
        case let error as any DistributionFailure:
            return .distribution(error)
        case let error as any LocalizedRuleError:
            // A refused MallCore rule: wrong input is 422, a clash with the current state 409.
            return APIError(error.kind == .conflict ? .conflict : .unprocessableEntity, error.code,
                            .init(error.localizedMessage(.zhHans), error.localizedMessage(.en)))
        case let error as any AbortError:
            return abort(error)
        case let error as SQLiteError where [.busy, .busyTimeout, .busyInSnapshot].contains(error.reason):
            // Another process kept the write lock past the busy timeout; nothing was written.
            return WriteGate.busy
        case let error as PSQLError where ["22021", "22P05"].contains(error.serverInfo?[.sqlState] ?? ""):
            // Text PostgreSQL cannot store (a NUL character); the transaction was rolled back.
            return .unstorableText
        default:
            return APIError(.internalServerError, "internal_error", .init("服务器开小差了，请稍后再试", "Something went wrong on our side; please try again later"))
        }
    }

    private static func decodingError(_ error: DecodingError) -> APIError {
        let (path, text): ([any CodingKey], LocalizedText) = switch error {
        case let .keyNotFound(key, context):
            (context.codingPath + [key], .init("缺少必填字段", "This field is required"))
        case let .typeMismatch(_, context):
            (context.codingPath, .init("字段类型不正确", "This field has the wrong type"))
        case let .valueNotFound(_, context):
            (context.codingPath, .init("字段不能为空", "This field must not be null"))
        case let .dataCorrupted(context):
            (context.codingPath, .init("数据格式不正确", "The data is malformed"))
        @unknown default:
            ([], .init("数据格式不正确", "The data is malformed"))
        }
        // "skus[0].priceFen", the way the validation messages name fields.
        let field = path.reduce(into: "") { name, key in
            if let index = key.intValue { name += "[\(index)]" } else { name += (name.isEmpty ? "" : ".") + key.stringValue }
        }
        return APIError(.badRequest, "invalid_body", .init("请求内容无法解析", "The request body could not be read"),
                        details: [.init(field.isEmpty ? "body" : field, text)])
    }

    private static func abort(_ error: any AbortError) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound
        case .unauthorized:
            return .unauthenticated
        case .forbidden:
            return .forbidden
        case .methodNotAllowed:
            return APIError(.methodNotAllowed, "method_not_allowed", .init("不支持该请求方法", "This method is not allowed here"))
        case .unsupportedMediaType:
            return APIError(.unsupportedMediaType, "unsupported_media_type", .init("不支持的内容类型，请使用 JSON", "Unsupported content type; send JSON"))
        case .payloadTooLarge:
            return APIError(.payloadTooLarge, "payload_too_large", .init("提交的内容过大", "The request is too large"))
        case .tooManyRequests:
            return APIError(.tooManyRequests, "too_many_requests", .init("操作过于频繁，请稍后再试", "Too many requests; please wait and try again"), headers: error.headers)
        case .badRequest:
            return APIError(.badRequest, "bad_request", .init("请求无法处理：\(error.reason)", "The request could not be processed: \(error.reason)"))
        default:
            if error.status.code >= 500 {
                return APIError(error.status, "internal_error", .init("服务器开小差了，请稍后再试", "Something went wrong on our side; please try again later"))
            }
            return APIError(error.status, "request_error", .init("请求无法处理：\(error.reason)", "The request could not be processed: \(error.reason)"))
        }
    }
}

extension LedgerError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .insufficientFunds:
            APIError(.conflict, "ledger.insufficient_funds", .init("余额不足", "Insufficient balance"))
        case .invalidIdempotencyKey:
            APIError(.badRequest, "ledger.invalid_idempotency_key", .init("幂等键无效", "Invalid idempotency key"))
        case .idempotencyKeyReused:
            APIError(.conflict, "idempotency_key_reused", .init("该幂等键已用于另一笔不同的交易", "This idempotency key was already used for a different transaction"))
        case .tooFewEntries, .nonPositiveAmount, .unbalanced, .overflow, .wrongOwner:
            APIError(.unprocessableEntity, "ledger.invalid_transaction", .init("记账分录不平衡或金额无效", "The ledger transaction is unbalanced or has an invalid amount"))
        }
    }
}

extension MoneyError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .invalidFormat:
            APIError(.unprocessableEntity, "money.invalid", .init("金额格式不正确，例如 99.90", "Invalid amount; write it like 99.90"))
        case .tooManyDecimals:
            APIError(.unprocessableEntity, "money.too_many_decimals", .init("金额最多两位小数", "Amounts have at most two decimals"))
        case .negativeNotAllowed:
            APIError(.unprocessableEntity, "money.negative", .init("金额不能为负数", "The amount cannot be negative"))
        case .overflow:
            APIError(.unprocessableEntity, "money.overflow", .init("金额超出范围", "The amount is out of range"))
        }
    }
}
