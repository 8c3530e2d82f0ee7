import Foundation
import MallCore
import Vapor

/// Money sent out of the platform to a person — a distributor's withdrawal — by the provider that
/// holds the merchant's funds. The number is ours and stays the same for every attempt, so that
/// the provider, which is idempotent on it, never pays twice.
struct PayoutRequest: Sendable, Equatable {
    /// WeChat's `out_bill_no`, Alipay's `out_biz_no`: the withdrawal number.
    let outBillNo: String
    /// What the payee receives (the withdrawal's amount less its fee).
    let amount: Money
    /// The payee's real name, as the provider checks it against the account.
    let payeeName: String
    /// The openid under our WeChat app, or the Alipay login id (phone or e-mail).
    let payeeAccount: String
    /// Shown to the payee.
    let remark: String
}

/// What the provider says about one transfer.
struct PayoutStatus: Sendable, Equatable {
    enum Phase: String, Sendable {
        /// Accepted, being paid, or waiting for the payee to confirm.
        case inTransit
        case succeeded
        /// Failed or cancelled: nothing was paid and nothing will be.
        case failed
        /// The provider has never seen this number: sending it again is safe.
        case notFound
    }

    var phase: Phase
    /// The provider's own word (WeChat's bill state, Alipay's status), kept on the withdrawal.
    var providerState: String
    /// The provider's number for the transfer.
    var billNo: String = ""
    /// The amount as the provider states it; checked against the withdrawal before it is believed.
    var amount: Money? = nil
    /// WeChat's `package_info` while the payee has to confirm in WeChat (WAIT_USER_CONFIRM).
    var packageInfo: String = ""
    var failReason: String = ""

    static let notFound = PayoutStatus(phase: .notFound, providerState: "NOT_FOUND")
}

/// A provider that pays withdrawals out. `transfer` throws `PaymentProviderError.refused` when the
/// provider declined the request itself (the transfer may not exist), and `.unavailable` or
/// `.badResponse` when the outcome is unknown; the caller then asks with `query` later.
protocol PayoutGateway: Sendable {
    var channel: WithdrawalChannel { get }
    func transfer(_ request: PayoutRequest) async throws -> PayoutStatus
    func query(outBillNo: String) async throws -> PayoutStatus
    /// What a member's app needs besides `package_info` to open WeChat's confirmation (mchId, appId).
    var confirmation: (merchantID: String, appID: String)? { get }
}

extension Application {
    private struct PayoutGatewaysKey: StorageKey { typealias Value = [WithdrawalChannel: any PayoutGateway] }

    /// The withdrawal channels paid through a provider; the others are paid by the operator's hand.
    var payoutGateways: [WithdrawalChannel: any PayoutGateway] {
        get { storage[PayoutGatewaysKey.self] ?? [:] }
        set { storage[PayoutGatewaysKey.self] = newValue }
    }
}

enum PayoutProviders {
    /// WeChat merchant transfer when WeChat Pay and a transfer scene are configured, Alipay transfer
    /// when Alipay and a transfer title are. Says on the console which channels stay manual.
    static func gateways(app: Application, config: AppConfig) -> [WithdrawalChannel: any PayoutGateway] {
        var gateways: [WithdrawalChannel: any PayoutGateway] = [:]
        if let wechat = config.wechatPay, let transfer = wechat.transfer {
            gateways[.wechatTransfer] = WeChatTransferGateway(gateway: WeChatPayGateway(app: app, settings: wechat), transfer: transfer)
        }
        if let alipay = config.alipay, let title = alipay.transferTitle {
            gateways[.alipayTransfer] = AlipayTransferGateway(gateway: AlipayGateway(app: app, settings: alipay), title: title)
        }
        let manual = [WithdrawalChannel.wechatTransfer, .alipayTransfer].filter { gateways[$0] == nil }
        if !manual.isEmpty {
            app.logger.notice("""
                withdrawals to \(manual.map(\.rawValue).joined(separator: ", ")) are paid by hand: the operator marks them paid \
                (set FISSION_WECHAT_TRANSFER_SCENE_ID / FISSION_ALIPAY_TRANSFER_TITLE with the provider's settings to pay them automatically)
                """)
        }
        return gateways
    }
}
