import Fluent
import Foundation
import JWT
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct AuthAPITests {
    @Test func registerRecordsTheAgreementsAndSignsIn() async throws {
        try await withMallApp { t in
            let token = try await t.registerMember("13812345678")
            let me = try await t.get("/api/v1/me", token: token)
            #expect(me.status == .ok)
            let body = try me.content.decode(MeResponse.self)
            #expect(body.kind == "member")
            #expect(body.member?.phone == "138****5678")
            #expect(body.member?.userAgreementVersion == AgreementVersions.userAgreement)
            #expect(body.member?.privacyPolicyVersion == AgreementVersions.privacyPolicy)
            #expect(body.member?.agreedAt == t.clock.now())
        }
    }

    @Test func badRegistrationsGetAClearMessageAndChangeNothing() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            // Only the owner of a number, holding its code, learns that it is already registered.
            let takenCode = try await t.smsCode("13812345678")
            let cases: [(json: String, status: HTTPStatus, code: String, field: String)] = [
                (#"{"phone":"12345","password":"Member2026","smsCode":"123456","acceptAgreements":true}"#, .unprocessableEntity, "validation_failed", "phone"),
                (#"{"phone":"13900000001","password":"short1","smsCode":"123456","acceptAgreements":true}"#, .unprocessableEntity, "validation_failed", "password"),
                (#"{"phone":"13900000001","password":"Member2026","smsCode":"123456","acceptAgreements":false}"#, .unprocessableEntity, "validation_failed", "acceptAgreements"),
                (#"{"phone":"13900000001","password":"Member2026","smsCode":"123456","acceptAgreements":true}"#, .unauthorized, "sms.code_invalid", "smsCode"),
                (#"{"phone":"13812345678","password":"Member2026","smsCode":"\#(takenCode)","acceptAgreements":true}"#, .conflict, "auth.phone_taken", "phone"),
                (#"{"phone":13900000001,"password":"Member2026","smsCode":"123456","acceptAgreements":true}"#, .badRequest, "invalid_body", "phone"),
                (#"{"phone":"13900000001","password":"Member2026","acceptAgreements":true}"#, .badRequest, "invalid_body", "smsCode"),
                (#"{"phone":"13900000001","smsCode":"123456","acceptAgreements":true}"#, .badRequest, "invalid_body", "password"),
                (#"{"phone":"13900000001","#, .badRequest, "invalid_body", "body"),
            ]
            for c in cases {
                let response = try await t.postJSON("/api/v1/auth/register", c.json)
                #expect(response.status == c.status, "\(c.json)")
                let error = try #require(response.error, "\(response.body.string)")
                #expect(error.code == c.code)
                #expect(error.details.map(\.field) == [c.field], "\(c.json)")
                #expect(!error.message.isEmpty)
            }
            #expect(try await Member.query(on: t.app.db).count() == 1)
        }
    }

    @Test func errorsSpeakTheVisitorsLanguage() async throws {
        try await withMallApp { t in
            let zh = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Wrong2026"}"#)
            #expect(zh.error?.message == "账号或密码错误")
            let en = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Wrong2026"}"#, headers: ["Accept-Language": "en-US,en;q=0.9"])
            #expect(en.error?.message == "Wrong account or password")
        }
    }

    @Test func sixWrongPasswordsAreThrottledUntilTheWindowPasses() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            for _ in 1...5 {
                let wrong = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Wrong2026"}"#)
                #expect(wrong.status == .unauthorized)
            }
            // The sixth attempt is refused even with the right password.
            let sixth = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#)
            #expect(sixth.status == .tooManyRequests)
            #expect(sixth.error?.code == "auth.throttled")
            #expect(sixth.headers.first(name: "Retry-After") == "900")
            // Another account from elsewhere is not affected by this account's lock.
            try await t.registerMember("13900000002")
            #expect(try await t.postJSON("/api/v1/auth/login", #"{"phone":"13900000002","password":"Member2026"}"#).status == .ok)

            t.clock.advance(seconds: 15 * 60 + 1)
            let later = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#)
            #expect(later.status == .ok)
        }
    }

    @Test func smsCodesLogInOnceAndExpire() async throws {
        try await withMallApp { t in
            // A new number: the code registers it once the agreements are accepted.
            #expect(try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000003"}"#).status == .accepted)
            let code = try #require(t.sms.lastCode(for: "13700000003"))
            let resend = try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000003"}"#)
            #expect(resend.status == .tooManyRequests)
            #expect(resend.error?.code == "sms.too_soon")
            #expect(t.sms.messages.count == 1)

            let noAgreement = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000003","smsCode":"\#(code)"}"#)
            #expect(noAgreement.status == .unprocessableEntity)
            #expect(try await Member.query(on: t.app.db).count() == 0)

            t.clock.advance(seconds: 61)
            #expect(try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000003"}"#).status == .accepted)
            let second = try #require(t.sms.lastCode(for: "13700000003"))
            let wrong = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000003","smsCode":"\#(second == "000000" ? "111111" : "000000")","acceptAgreements":true}"#)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.error?.code == "sms.code_invalid")

            let ok = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000003","smsCode":"\#(second)","acceptAgreements":true}"#)
            #expect(ok.status == .ok)
            #expect(try await Member.query(on: t.app.db).count() == 1)
            let reused = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000003","smsCode":"\#(second)","acceptAgreements":true}"#)
            #expect(reused.status == .unauthorized)

            t.clock.advance(seconds: 61)
            #expect(try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000003"}"#).status == .accepted)
            let third = try #require(t.sms.lastCode(for: "13700000003"))
            t.clock.advance(seconds: 301)
            let expired = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000003","smsCode":"\#(third)"}"#)
            #expect(expired.status == .unauthorized)
        }
    }

    @Test func tokensExpireAndRefreshTokensWorkOnce() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let login = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#)
            let pair = try login.content.decode(TokenPair.self)
            #expect(pair.expiresIn == 900)

            t.clock.advance(seconds: 901)
            #expect(try await t.get("/api/v1/me", token: pair.accessToken).status == .unauthorized)

            let refreshed = try await t.postJSON("/api/v1/auth/refresh", #"{"refreshToken":"\#(pair.refreshToken)"}"#)
            #expect(refreshed.status == .ok)
            let newPair = try refreshed.content.decode(TokenPair.self)
            #expect(try await t.get("/api/v1/me", token: newPair.accessToken).status == .ok)

            let reused = try await t.postJSON("/api/v1/auth/refresh", #"{"refreshToken":"\#(pair.refreshToken)"}"#)
            #expect(reused.status == .unauthorized)
            #expect(reused.error?.code == "auth.invalid_refresh_token")
        }
    }

    @Test func missingOrForgedTokensAreRefused() async throws {
        try await withMallApp { t in
            let anonymous = try await t.get("/api/v1/me")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.error?.code == "unauthenticated")
            #expect(try await t.get("/api/v1/me", token: "not-a-jwt").status == .unauthorized)
            // A real member's claims: accepted when the mall signed them, refused when another key did.
            _ = try await t.registerMember("13812345678")
            let id = try await t.memberID(phone: "13812345678")
            let claims = AccessClaims(sub: .init(value: id.uuidString), kind: "member",
                                      exp: .init(value: t.clock.now().addingTimeInterval(600)), iat: .init(value: t.clock.now()))
            let genuine = try await t.app.jwt.keys.sign(claims)
            #expect(try await t.get("/api/v1/me", token: genuine).status == .ok)
            let otherKeys = JWTKeyCollection()
            await otherKeys.add(hmac: HMACKey(from: "another-secret-of-at-least-thirty-two-characters"), digestAlgorithm: .sha256)
            let forged = try await otherKeys.sign(claims)
            #expect(try await t.get("/api/v1/me", token: forged).status == .unauthorized)
            // The same claims with no signature at all.
            let unsigned = genuine.split(separator: ".").prefix(2).joined(separator: ".") + "."
            #expect(try await t.get("/api/v1/me", token: unsigned).status == .unauthorized)
        }
    }

    @Test func theWalletShowsLedgerBalances() async throws {
        try await withMallApp { t in
            let token = try await t.registerMember("13812345678")
            let id = try await t.memberID(phone: "13812345678")
            _ = try await LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate).post(LedgerTransactionDraft(
                idempotencyKey: "topup:1", kind: "member_topup",
                entries: [.debit(.platform(.paymentClearing), Money(fen: 12_345)), .credit(try LedgerAccountKey(.memberBalance, .member(id)), Money(fen: 12_345))]))
            let wallet = try await t.get("/api/v1/me/wallet", token: token, headers: ["Accept-Language": "en"])
            let body = try wallet.content.decode(WalletResponse.self)
            #expect(body.balance == MoneyDTO(Money(fen: 12_345), .en))
            #expect(body.balance.display == "CN¥123.45")
            #expect(body.commissionAvailable.fen == 0)
        }
    }
}
