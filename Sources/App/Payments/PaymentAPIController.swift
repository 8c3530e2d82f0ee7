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
        payments.post("callbacks", "sandbox", use: sandboxCallback)
        routes.post("sandbox", "payments", ":paymentNo", "complete", use: sandboxComplete)
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
        guard let method = PaymentMethod(rawValue: input.method), method == .balance || method == .sandbox else {
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

    /// What the sandbox's pay page does when the buyer confirms: the charge is recorded at the
    /// "provider" first, then its signed callback is delivered to us.
    @Sendable func sandboxComplete(req: Request) async throws -> PaymentDTO {
        let memberID = try req.requireMember().requireID()
        let paymentNo = try req.parameters.require("paymentNo")
        guard let payment = try await Payment.query(on: req.db).filter(\.$paymentNo == paymentNo).filter(\.$memberID == memberID).first(),
              payment.provider == PaymentMethod.sandbox.rawValue else { throw APIError.notFound }
        let notification = try await SandboxCharges.charge(payment, on: req)
        try await Self.applySandbox(notification, req)
        guard let fresh = try await Payment.find(payment.requireID(), on: req.db) else { throw APIError.notFound }
        return try PaymentDTO(fresh, req.locale)
    }
}

/// The sandbox provider's side: it keeps a charge per payment, as a real provider would, so that
/// a lost callback can be found again by asking it.
enum SandboxCharges {
    static func charge(_ payment: Payment, on req: Request) async throws -> SandboxGateway.Notification {
        let (paymentNo, amount, now) = (payment.paymentNo, payment.amount, req.now)
        return try await req.writeTransaction { db in
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
