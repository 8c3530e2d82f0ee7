import Fluent
import Foundation
import MallCore
import Vapor

/// The checkout counter (收银台) and the sandbox provider's own page.
struct PaymentPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("pay", ":paymentID", use: counter)
        routes.post("pay", ":paymentID", use: pay)
        routes.get("pay", "sandbox", ":paymentNo", use: sandboxPage)
        routes.post("pay", "sandbox", ":paymentNo", use: sandboxPay)
    }

    struct CounterPage: Encodable, Sendable {
        struct OrderRow: Encodable, Sendable { let id: String; let merchantName: String; let payable: String }
        let id: String
        let amount: String
        let expiresAt: String
        let balance: String
        let open: Bool
        let sandbox: Bool
        let wechat: Bool
        let alipay: Bool
        let orders: [OrderRow]
    }

    /// Where a provider takes over: a link to its cashier, or WeChat Native's QR code. A link, not
    /// a redirect, because the pages allow forms to submit only to this site.
    struct ProviderPage: Encodable, Sendable {
        let id: String
        let amount: String
        let method: String
        let url: String
        let qrImage: String
    }

    static func own(_ req: Request, member: Member) async throws -> Payment {
        try await PaymentService.owned(try req.uuidParameter("paymentID"), memberID: try member.requireID(), on: req.db)
    }

    static func firstOrderPath(_ paymentID: UUID, on db: any Database) async throws -> String {
        let first = try await Order.query(on: db).filter(\.$paymentID == paymentID).sort(\.$orderNo).first()
        return first.flatMap(\.id).map { "/orders/\($0.uuidString)" } ?? "/orders"
    }

    @Sendable func counter(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let payment = try await Self.own(req, member: member)
        let paymentID = try payment.requireID()
        guard payment.status == PaymentStatus.created.rawValue else { return req.redirect(to: try await Self.firstOrderPath(paymentID, on: req.db)) }
        let wallet = try await MemberWallet.load(for: member.requireID(), ledger: req.ledger)
        let orders = try await Order.query(on: req.db).filter(\.$paymentID == paymentID).sort(\.$orderNo).all()
        let merchants = try await Merchant.query(on: req.db).filter(\.$id ~~ orders.map(\.merchantID)).all()
        return try await req.page("shopping/pay", CounterPage(
            id: paymentID.uuidString, amount: Money(fen: payment.amount).formatted(req.locale),
            expiresAt: PageFormat.timeFormatter.string(from: payment.expiresAt), balance: wallet.balance.formatted(req.locale),
            open: req.now < payment.expiresAt, sandbox: req.application.paymentGateways[.sandbox] != nil,
            wechat: req.application.paymentGateways[.wechat] != nil, alipay: req.application.paymentGateways[.alipay] != nil,
            orders: orders.map { order in .init(id: order.id?.uuidString ?? "", merchantName: merchants.first { $0.id == order.merchantID }?.name ?? "",
                                                payable: Money(fen: order.payable).formatted(req.locale)) }))
    }

    @Sendable func pay(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let payment = try await Self.own(req, member: member)
        let paymentID = try payment.requireID()
        let method = req.formFields.first("method") ?? ""
        let now = req.now
        do {
            switch method {
            case PaymentMethod.balance.rawValue:
                try await req.writeTransaction { db in
                    guard let fresh = try await Payment.find(paymentID, on: db) else { throw APIError.notFound }
                    try await PaymentService(db: db, now: now).payWithBalance(fresh)
                }
                req.flash(PageStrings.shopping["paid_done"] ?? .init("支付成功", "Paid"))
                return req.redirect(to: try await Self.firstOrderPath(paymentID, on: req.db))
            case PaymentMethod.sandbox.rawValue where req.application.paymentGateways[.sandbox] != nil:
                try await req.writeTransaction { db in
                    guard let fresh = try await Payment.find(paymentID, on: db) else { throw APIError.notFound }
                    try await PaymentService(db: db, now: now).choose(fresh, method: .sandbox)
                }
                return req.redirect(to: "/pay/sandbox/\(payment.paymentNo)")
            case PaymentMethod.wechat.rawValue, PaymentMethod.alipay.rawValue:
                guard let chosen = PaymentMethod(rawValue: method), let gateway = req.application.paymentGateways[chosen] else {
                    throw PaymentRefusal.methodUnavailable(method)
                }
                // Phones go to the provider's mobile cashier; computers get WeChat's QR code or Alipay's web cashier.
                let phone = req.headers.first(name: .userAgent).map { $0.contains("Mobile") || $0.contains("Android") || $0.contains("iPhone") } ?? false
                let channel = chosen == .wechat ? (phone ? "h5" : "native") : (phone ? "wap" : "page")
                let clientIP = req.clientIP
                let snapshot = try await req.writeTransaction { db -> PaymentSnapshot in
                    guard let fresh = try await Payment.find(paymentID, on: db) else { throw APIError.notFound }
                    try await PaymentService(db: db, now: now).choose(fresh, method: chosen)
                    return try await PaymentProviders.snapshot(fresh, on: db, payerClientIP: clientIP)
                }
                let instruction = try await gateway.start(snapshot, channel: channel, openID: nil)
                let qr = try instruction.codeURL.map { "data:image/png;base64," + Data(try QRCode.matrix(for: $0).png()).base64EncodedString() } ?? ""
                return try await req.page("shopping/provider", ProviderPage(
                    id: paymentID.uuidString, amount: Money(fen: payment.amount).formatted(req.locale),
                    method: PageStrings.shopping["pay_\(chosen.rawValue)"]?(req.locale) ?? chosen.rawValue, url: instruction.url ?? "", qrImage: qr))
            default:
                throw PaymentRefusal.methodUnavailable(method)
            }
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.session.data["flash"] = apiError.message(req.locale)
            return req.redirect(to: "/pay/\(paymentID.uuidString)")
        }
    }

    struct SandboxPage: Encodable, Sendable {
        let paymentNo: String
        let amount: String
        let open: Bool
    }

    static func sandboxPayment(_ req: Request, member: Member) async throws -> Payment {
        guard req.application.paymentGateways[.sandbox] != nil,
              let payment = try await Payment.query(on: req.db).filter(\.$paymentNo == (try req.parameters.require("paymentNo")))
                .filter(\.$memberID == (try member.requireID())).first(),
              payment.provider == PaymentMethod.sandbox.rawValue else { throw APIError.notFound }
        return payment
    }

    @Sendable func sandboxPage(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let payment = try await Self.sandboxPayment(req, member: member)
        return try await req.page("shopping/sandbox", SandboxPage(paymentNo: payment.paymentNo, amount: Money(fen: payment.amount).formatted(req.locale),
                                                                  open: payment.status == PaymentStatus.created.rawValue))
    }

    /// The buyer pays at the sandbox: it records the charge, then sends us its signed notification,
    /// which is checked like any provider's before it counts.
    @Sendable func sandboxPay(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let payment = try await Self.sandboxPayment(req, member: member)
        let notification = try await SandboxCharges.charge(payment, app: req.application)
        let body = Array(try JSONEncoder().encode(notification))
        let timestamp = CheckedNumber.int64(req.now.timeIntervalSince1970, rounding: .down) ?? 0
        let gateway = req.application.sandboxGateway
        let verified = try gateway.verify(body: body, timestamp: String(timestamp), signature: gateway.sign(body: body, timestamp: timestamp), now: req.now)
        try await PaymentCallbackController.applySandbox(verified, req)
        req.flash(PageStrings.shopping["paid_done"] ?? .init("支付成功", "Paid"))
        return req.redirect(to: try await Self.firstOrderPath(payment.requireID(), on: req.db))
    }
}
