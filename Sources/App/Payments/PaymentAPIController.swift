import Crypto
import Fluent
import Foundation
import MallCore
import Vapor

/// Paying a checkout, and the providers' callbacks, under `/api/v1/payments`.
struct PaymentAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let payments = routes.grouped("payments")
        payments.get(":paymentID", use: show)
        payments.post(":paymentID", "pay", use: pay)
    }

    @Sendable func show(req: Request) async throws -> PaymentDTO {
        let memberID = try req.requireMember().requireID()
        let payment = try await PaymentService.owned(try req.uuidParameter("paymentID"), memberID: memberID, on: req.db)
        return try PaymentDTO(payment, req.locale, payUrl: Self.payURL(payment))
    }

    static func payURL(_ payment: Payment) -> String? {
        payment.provider == PaymentMethod.sandbox.rawValue && payment.status == PaymentStatus.created.rawValue
            ? "/pay/sandbox/\(payment.paymentNo)" : nil
    }

    struct PayInput: Content {
        let method: String
        /// WeChat: jsapi, h5 or native; Alipay: wap (default) or page.
        let channel: String?
        /// The payer's openid in our WeChat app, for JSAPI.
        let openId: String?

        func digest(paymentID: UUID) -> String {
            let text = [paymentID.uuidString, method, channel ?? "", openId ?? ""].joined(separator: "\u{1F}")
            return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// The balance pays at once; a provider is chosen and asked to start the payment, and the
    /// answer says how the buyer pays there (the sandbox's page, Alipay's cashier, WeChat's
    /// JSAPI parameters, H5 page or QR code link).
    @Sendable func pay(req: Request) async throws -> PayResultDTO {
        let memberID = try req.requireMember().requireID()
        let paymentID = try req.uuidParameter("paymentID")
        let input = try req.content.decode(PayInput.self)
        guard let method = PaymentMethod(rawValue: input.method) else { throw PaymentRefusal.methodUnavailable(input.method) }
        if let channel = input.channel, !["jsapi", "h5", "native", "wap", "page"].contains(channel) {
            throw PaymentProviderError.channelUnavailable(method: method.rawValue, channel: String(channel.prefix(20)))
        }
        let gateway = req.application.paymentGateways[method]
        guard method == .balance || gateway != nil else { throw PaymentRefusal.methodUnavailable(input.method) }
        // Checked before the method is chosen, so a wrong channel does not tie the payment to it.
        if let openID = input.openId, openID.isEmpty || openID.utf8.count > 128 || !openID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            throw APIError.validation([.init("openId", .init("openid 格式不正确", "The openid is not well-formed"))])
        }
        switch method {
        case .wechat: _ = try WeChatPayGateway.channel(input.channel, openID: input.openId)
        case .alipay: _ = try AlipayGateway.channel(input.channel)
        default: break
        }
        let (now, clientIP) = (req.now, req.clientIP)
        // With an Idempotency-Key, a repeat of the same request answers as the first did (the
        // payment as it is now, the provider asked again for the same order) instead of a 409.
        let key = try OrderAPIController.idempotencyKey(req)
        let digest = input.digest(paymentID: paymentID)
        func replay(on db: any Database) async throws -> Payment? {
            guard let key, let earlier = try await PaymentRequest.query(on: db).filter(\.$memberID == memberID)
                .filter(\.$idempotencyKey == key).first() else { return nil }
            guard earlier.bodyDigest == digest else { throw CheckoutRefusal.idempotencyKeyReused }
            return try await PaymentService.owned(paymentID, memberID: memberID, on: db)
        }
        let (payment, snapshot): (Payment, PaymentSnapshot?)
        do {
            if let earlier = try await replay(on: req.db) {
                let again = method == .balance ? nil : try await PaymentProviders.snapshot(earlier, on: req.db, payerClientIP: clientIP)
                (payment, snapshot) = (earlier, earlier.status == PaymentStatus.created.rawValue ? again : nil)
            } else {
                (payment, snapshot) = try await req.writeTransaction { db -> (Payment, PaymentSnapshot?) in
                    let payment = try await PaymentService.owned(paymentID, memberID: memberID, on: db)
                    if let key {
                        // A concurrent twin fails here on the unique key and replays below.
                        try await PaymentRequest(memberID: memberID, key: key, digest: digest, paymentID: paymentID, at: now).create(on: db)
                    }
                    let service = PaymentService(db: db, now: now)
                    if method == .balance {
                        try await service.payWithBalance(payment)
                        return (payment, PaymentSnapshot?.none)
                    }
                    try await service.choose(payment, method: method)
                    return (payment, try await PaymentProviders.snapshot(payment, on: db, payerClientIP: clientIP))
                }
            }
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            guard let earlier = try await replay(on: req.db) else { throw error }
            (payment, snapshot) = (earlier, nil)
        }
        // The provider is called outside the transaction: a slow provider holds no lock.
        var instruction: PaymentInstruction?
        if let gateway, let snapshot {
            instruction = try await gateway.start(snapshot, channel: input.channel, openID: input.openId)
        }
        return PayResultDTO(payment: try PaymentDTO(payment, req.locale, payUrl: Self.payURL(payment)), instruction: instruction)
    }

}

/// Providers' notifications arrive at `/callbacks/<provider>`, outside the client API: they carry
/// the provider's signature instead of a login.
struct PaymentCallbackController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.post("callbacks", "sandbox", use: sandboxCallback)
    }

    /// The sandbox's own notification, verified over the raw body like a real provider's.
    @Sendable func sandboxCallback(req: Request) async throws -> Response {
        let body = req.body.data.map { Array($0.readableBytesView) } ?? []
        let notification = try req.application.sandboxGateway.verify(
            body: body, timestamp: req.headers.first(name: "X-Sandbox-Timestamp"), signature: req.headers.first(name: "X-Sandbox-Signature"), now: req.now)
        try await Self.applySandbox(notification, req)
        return Response(status: .ok, body: .init(string: #"{"code":"SUCCESS"}"#))
    }

    static func applySandbox(_ notification: SandboxGateway.Notification, _ req: Request) async throws {
        let now = req.now
        try await req.writeTransaction { db in
            _ = try await PaymentService(db: db, now: now).confirm(paymentNo: notification.paymentNo, method: .sandbox,
                                                                   tradeNo: notification.tradeNo, amount: Money(fen: notification.amountFen))
        }
    }

}

/// The sandbox provider's side: it keeps a charge per payment, as a real provider would, so that
/// a lost callback can be found again by asking it.
enum SandboxCharges {
    static func charge(_ payment: Payment, app: Application) async throws -> SandboxGateway.Notification {
        let (paymentNo, amount, now) = (payment.paymentNo, payment.amount, app.clock.now())
        return try await app.writeGate.transaction(on: app.db) { db in
            if let existing = try await SandboxCharge.query(on: db).filter(\.$paymentNo == paymentNo).first() {
                return .init(paymentNo: paymentNo, tradeNo: existing.tradeNo, amountFen: existing.amount)
            }
            let charge = SandboxCharge()
            charge.paymentNo = paymentNo
            charge.tradeNo = "SBX" + OrderService.number(prefix: "", at: now)
            charge.amount = amount
            charge.paidAt = now
            try await charge.create(on: db)
            return .init(paymentNo: paymentNo, tradeNo: charge.tradeNo, amountFen: amount)
        }
    }

    static func find(_ paymentNo: String, on db: any Database) async throws -> SandboxGateway.Notification? {
        guard let charge = try await SandboxCharge.query(on: db).filter(\.$paymentNo == paymentNo).first() else { return nil }
        return .init(paymentNo: paymentNo, tradeNo: charge.tradeNo, amountFen: charge.amount)
    }
}

/// A pay request's `Idempotency-Key`: the same key and body answer as the first request did.
final class PaymentRequest: Model, @unchecked Sendable {
    static let schema = "payment_requests"

    @ID(key: .id) var id: UUID?
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "idempotency_key") var idempotencyKey: String
    @Field(key: "body_digest") var bodyDigest: String
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(memberID: UUID, key: String, digest: String, paymentID: UUID, at date: Date) {
        self.memberID = memberID
        idempotencyKey = key
        bodyDigest = digest
        self.paymentID = paymentID
        createdAt = date
    }
}

struct CreatePaymentRequests: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(PaymentRequest.schema)
            .id()
            .field("member_id", .uuid, .required, .references(Member.schema, .id))
            .field("idempotency_key", .string, .required)
            .field("body_digest", .string, .required)
            .field("payment_id", .uuid, .required, .references(Payment.schema, .id))
            .field("created_at", .datetime, .required)
            .unique(on: "member_id", "idempotency_key")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(PaymentRequest.schema).delete()
    }
}
