import Fluent
import Foundation
import MallCore
import Vapor

/// What the buyer's page needs to pay at a provider.
struct PaymentInstruction: Content, Equatable {
    /// A page to open (the sandbox's page, Alipay's cashier, WeChat's H5 page).
    var url: String?
    /// WeChat JSAPI parameters for `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`.
    var jsapi: [String: String]?
    /// WeChat Native: the `weixin://` link a QR code shows.
    var codeURL: String?
}

/// What a provider says about a payment when asked (order query).
enum ProviderPaymentState: Equatable, Sendable {
    case paid(tradeNo: String, amount: Money)
    case unpaid
    case closed
}

/// What a provider says about a refund: done at once, or later by its own callback.
enum ProviderRefundState: Equatable, Sendable {
    case succeeded(providerRefundNo: String)
    case pending(providerRefundNo: String)
    case failed(reason: String)
}

struct ProviderRefundRequest: Sendable {
    let paymentNo: String
    let providerTradeNo: String
    let refundNo: String
    let paymentAmount: Money
    let refundAmount: Money
    let reason: String
}

/// One payment provider. The sandbox, WeChat Pay and Alipay implement it; the balance is paid
/// inside our own ledger and needs none. Callbacks are routes of their own under `/callbacks/`,
/// each verifying its provider's signature and then calling `PaymentService.confirm` (payments)
/// or `RefundService.confirm` (refunds) in a write transaction.
protocol PaymentGateway: Sendable {
    var method: PaymentMethod { get }
    /// Creates the provider's side of the payment and says how the buyer pays it.
    /// `channel` picks a WeChat flavour (jsapi, h5, native) or Alipay's (page, wap).
    func start(_ payment: PaymentSnapshot, channel: String?, openID: String?) async throws -> PaymentInstruction
    /// Asks whether the payment was made: the close job asks before closing an unpaid checkout,
    /// because a callback may have been lost.
    func query(paymentNo: String) async throws -> ProviderPaymentState
    /// Closes the provider's side so it can no longer be paid.
    func close(paymentNo: String) async throws
    func refund(_ request: ProviderRefundRequest) async throws -> ProviderRefundState
    /// The provider's bill for one China-time day: every payment and refund it moved that day,
    /// with our numbers, its numbers and the amounts in fen. Throws when the bill cannot be
    /// fetched or read; reconciliation records that as a failed run.
    func bill(for day: BillDay) async throws -> [ProviderBillLine]
}

/// One line of a provider's bill (MallCore's value, named for this side).
typealias ProviderBillLine = BillLine

/// The fields of a payment a provider needs, read before any call leaves the process.
struct PaymentSnapshot: Sendable {
    let paymentNo: String
    let amount: Money
    let description: String
    let expiresAt: Date
    /// The buyer's address as we saw it; WeChat's H5 payments must name it.
    var payerClientIP: String? = nil
}

extension Application {
    private struct GatewaysKey: StorageKey { typealias Value = [PaymentMethod: any PaymentGateway] }

    /// The providers this mall takes, by method; the sandbox is always there outside production.
    var paymentGateways: [PaymentMethod: any PaymentGateway] {
        get { storage[GatewaysKey.self] ?? [:] }
        set { storage[GatewaysKey.self] = newValue }
    }
}

/// The development provider's gateway: its "provider side" is the `sandbox_charges` table.
struct SandboxPaymentGateway: PaymentGateway {
    let app: Application

    var method: PaymentMethod { .sandbox }

    func start(_ payment: PaymentSnapshot, channel: String?, openID: String?) async throws -> PaymentInstruction {
        PaymentInstruction(url: "/pay/sandbox/\(payment.paymentNo)")
    }

    func query(paymentNo: String) async throws -> ProviderPaymentState {
        guard let charge = try await SandboxCharges.find(paymentNo, on: app.db) else { return .unpaid }
        return .paid(tradeNo: charge.tradeNo, amount: Money(fen: charge.amountFen))
    }

    func close(paymentNo: String) async throws {}

    func refund(_ request: ProviderRefundRequest) async throws -> ProviderRefundState {
        .succeeded(providerRefundNo: "SBXR" + request.refundNo)
    }

    /// The sandbox's charges paid that day, and the refunds it answered that day. It keeps no
    /// refund table of its own: its refunds are the ones it confirmed at once (`SBXR…`), read from
    /// ours where they were recorded with its answer.
    func bill(for day: BillDay) async throws -> [ProviderBillLine] {
        let (start, end) = day.window
        let charges = try await SandboxCharge.query(on: app.db).filter(\.$paidAt >= start).filter(\.$paidAt < end).sort(\.$paidAt).all()
        let refunds = try await Refund.query(on: app.db).filter(\.$method == PaymentMethod.sandbox.rawValue)
            .filter(\.$status == RefundStatus.succeeded.rawValue).filter(\.$finishedAt >= start).filter(\.$finishedAt < end).all()
        return charges.map { ProviderBillLine(kind: .payment, ourNo: $0.paymentNo, providerNo: $0.tradeNo, amount: Money(fen: $0.amount), at: $0.paidAt) }
            + refunds.filter { $0.providerRefundNo.hasPrefix("SBXR") }.map {
                ProviderBillLine(kind: .refund, ourNo: $0.refundNo, providerNo: $0.providerRefundNo, amount: Money(fen: $0.total), at: $0.finishedAt)
            }
    }
}
