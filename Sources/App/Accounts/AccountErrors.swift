import MallCore
import Vapor

enum AuthError: Error, APIErrorConvertible {
    case invalidPhone
    case weakPassword(PasswordPolicy.Violation)
    case agreementRequired
    case phoneTaken
    case invalidCredentials
    case throttled(retryAfterSeconds: Int)
    case smsTooSoon(retryAfterSeconds: Int)
    case smsDailyLimit
    case smsBusy(retryAfterSeconds: Int)
    case smsCodeInvalid
    case invalidRefreshToken
    case wrongConsole
    case merchantSuspended

    var apiError: APIError {
        switch self {
        case .invalidPhone:
            return .validation([.init("phone", .init("请输入正确的11位手机号", "Enter a valid 11-digit mainland mobile number"))])
        case .weakPassword(let violation):
            let text: LocalizedText = switch violation {
            case .tooShort: .init("密码至少8位", "The password needs at least 8 characters")
            case .tooLong: .init("密码最多64位", "The password can have at most 64 characters")
            case .needsLetterAndDigit: .init("密码需同时包含字母和数字", "The password needs both letters and digits")
            case .unsupportedCharacter: .init("密码只能使用英文字母、数字、空格和英文符号", "A password may use only English letters, digits, spaces and ASCII symbols")
            }
            return .validation([.init("password", text)])
        case .agreementRequired:
            return .validation([.init("acceptAgreements", .init("请阅读并同意《用户协议》和《隐私政策》", "Please read and accept the User Agreement and the Privacy Policy"))])
        case .phoneTaken:
            return APIError(.conflict, "auth.phone_taken", .init("该手机号已注册，请直接登录", "This phone number is already registered; please log in"),
                            details: [.init("phone", .init("手机号已注册", "Already registered"))])
        case .invalidCredentials:
            return APIError(.unauthorized, "auth.invalid_credentials", .init("账号或密码错误", "Wrong account or password"))
        case .throttled(let seconds):
            let minutes = max(1, (seconds + 59) / 60)
            return APIError(.tooManyRequests, "auth.throttled",
                            .init("登录失败次数过多，请\(minutes)分钟后再试", "Too many failed logins; try again in \(minutes) minute\(minutes == 1 ? "" : "s")"),
                            headers: ["Retry-After": String(seconds)])
        case .smsTooSoon(let seconds):
            return APIError(.tooManyRequests, "sms.too_soon", .init("验证码发送过于频繁，请\(seconds)秒后再试", "Codes are sent at most once a minute; try again in \(seconds) s"),
                            headers: ["Retry-After": String(seconds)])
        case .smsBusy(let seconds):
            return APIError(.tooManyRequests, "sms.busy", .init("验证码请求过多，请稍后再试", "Too many codes were asked for; please try again later"),
                            headers: ["Retry-After": String(seconds)])
        case .smsDailyLimit:
            return APIError(.tooManyRequests, "sms.daily_limit", .init("今日验证码发送次数已达上限", "The daily limit of codes for this number is reached"))
        case .smsCodeInvalid:
            return APIError(.unauthorized, "sms.code_invalid", .init("验证码错误或已失效", "The code is wrong or has expired"),
                            details: [.init("smsCode", .init("验证码错误或已失效", "Wrong or expired code"))])
        case .invalidRefreshToken:
            return APIError(.unauthorized, "auth.invalid_refresh_token", .init("登录已过期，请重新登录", "Your session has expired; please log in again"))
        case .merchantSuspended:
            return APIError(.forbidden, "auth.merchant_suspended", .init("店铺已被暂停，请联系平台", "This shop is suspended; please contact the platform"))
        case .wrongConsole:
            return APIError(.forbidden, "auth.wrong_console", .init("该账号不能登录此后台", "This account cannot sign in to this console"))
        }
    }
}
