import Fluent
import Foundation
import MallCore
import Vapor

/// Which providers this instance takes, and what they are told about a payment.
enum PaymentProviders {
    /// The sandbox outside production; WeChat Pay and Alipay when their settings are complete
    /// (`AppConfig.load` refuses to start on settings given halfway).
    static func gateways(app: Application, config: AppConfig) -> [PaymentMethod: any PaymentGateway] {
        var gateways: [PaymentMethod: any PaymentGateway] = [:]
        if app.environment != .production { gateways[.sandbox] = SandboxPaymentGateway(app: app) }
        if let wechat = config.wechatPay { gateways[.wechat] = WeChatPayGateway(app: app, settings: wechat) }
        if let alipay = config.alipay { gateways[.alipay] = AlipayGateway(app: app, settings: alipay) }
        return gateways
    }

    /// What the provider shows the buyer: the first line's title and how many more there are.
    static func snapshot(_ payment: Payment, on db: any Database, payerClientIP: String?) async throws -> PaymentSnapshot {
        let orderIDs = try await Order.query(on: db).filter(\.$paymentID == payment.requireID()).sort(\.$orderNo).all().map { try $0.requireID() }
        var lines: [OrderLine] = []
        if !orderIDs.isEmpty { lines = try await OrderLine.query(on: db).filter(\.$order.$id ~~ orderIDs).sort(\.$position).all() }
        let sorted = lines.sorted { (orderIDs.firstIndex(of: $0.$order.id) ?? 0, $0.position) < (orderIDs.firstIndex(of: $1.$order.id) ?? 0, $1.position) }
        return PaymentSnapshot(paymentNo: payment.paymentNo, amount: Money(fen: payment.amount),
                               description: description(titles: sorted.map(\.title)), expiresAt: payment.expiresAt,
                               payerClientIP: payerClientIP)
    }

    /// At most 40 characters without the characters Alipay refuses in a subject (`/ = &` …).
    static func description(titles: [String]) -> String {
        let refused = Set("/=&'\"<>\\%#?+")
        let first = String((titles.first ?? "").filter { !refused.contains($0) && !$0.unicodeScalars.contains { $0.properties.generalCategory == .control } }
            .trimmingCharacters(in: .whitespaces).prefix(32))
        guard !first.isEmpty else { return "裂变商城订单" }
        return titles.count > 1 ? first + " 等\(titles.count)件" : first
    }
}

/// The answer to paying: the payment, and for a provider, how the buyer pays there. The payment's
/// fields stay at the top level, as `GET /payments/{id}` gives them.
struct PayResultDTO: Content {
    let payment: PaymentDTO
    let instruction: PaymentInstruction?

    init(payment: PaymentDTO, instruction: PaymentInstruction?) {
        self.payment = payment
        self.instruction = instruction
    }

    enum CodingKeys: String, CodingKey { case instruction }

    init(from decoder: any Decoder) throws {
        payment = try PaymentDTO(from: decoder)
        instruction = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(PaymentInstruction.self, forKey: .instruction)
    }

    func encode(to encoder: any Encoder) throws {
        try payment.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(instruction, forKey: .instruction)
    }
}
