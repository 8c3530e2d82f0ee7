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
    }

    /// The balance pays at once; the sandbox answers with the page where the buyer pays.
    @Sendable func pay(req: Request) async throws -> PaymentDTO {
        let memberID = try req.requireMember().requireID()
        let paymentID = try req.uuidParameter("paymentID")
        let input = try req.content.decode(PayInput.self)
        guard let method = PaymentMethod(rawValue: input.method), method == .balance || (method == .sandbox && req.application.paymentGateways[.sandbox] != nil) else {
            throw PaymentRefusal.methodUnavailable(input.method)
        }
        let now = req.now
        let payment = try await req.writeTransaction { db in
            let payment = try await PaymentService.owned(paymentID, memberID: memberID, on: db)
            let service = PaymentService(db: db, now: now)
            if method == .balance {
                try await service.payWithBalance(payment)
            } else {
                try await service.choose(payment, method: method)
            }
            return payment
        }
        return try PaymentDTO(payment, req.locale, payUrl: Self.payURL(payment))
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
