import Foundation
import MallCore
import NIOConcurrencyHelpers
import Testing
import VaporTesting
@testable import App

/// The Alibaba Cloud SMS adapter, signed as published and checked by a gateway on loopback that
/// verifies the signature itself; the logging provider is refused in production.
@Suite struct SmsProviderTests {
    static let credentials = AliyunSmsSender.Credentials(accessKeyID: "testId", accessKeySecret: "testSecret", signName: "裂变商城",
                                                         templateCode: "SMS_71390007", endpoint: "")

    @Test func theSignatureMatchesOneComputedElsewhere() throws {
        // The expected value was computed with Python's hmac, hashlib and urllib.parse.quote
        // (safe="-_.~") from the published algorithm, not with this code.
        let now = try #require(ISO8601DateFormatter().date(from: "2026-11-26T12:00:00Z"))
        let parameters = AliyunSmsSender.parameters(Self.credentials, phone: "13800138000", code: "123456", now: now,
                                                    nonce: "45e25e9b-0a6f-4070-8c85-2956eda1b466")
        #expect(parameters["Timestamp"] == "2026-11-26T12:00:00Z")
        #expect(AliyunSmsSender.signature(parameters, secret: "testSecret") == "s3iyx/FosPbwa+EgW04RbsNCOMA=")
        #expect(AliyunSmsSender.percentEncode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9")
    }

    /// A stand-in for the gateway: checks each request's signature with the secret it knows.
    final class FakeGateway: Sendable {
        let app: Application
        let received = NIOLockedValueBox<[[String: String]]>([])
        let port: Int

        init(secret: String) async throws {
            app = try await Application.make(.testing)
            let received = self.received
            app.get { req async throws -> Response in
                var parameters: [String: String] = [:]
                for pair in (req.url.query ?? "").split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                    if parts.count == 2 { parameters[parts[0]] = parts[1] }
                }
                let sent = parameters.removeValue(forKey: "Signature")
                guard sent == AliyunSmsSender.signature(parameters, secret: secret) else {
                    return Response(status: .badRequest, body: .init(string: #"{"Code":"SignatureDoesNotMatch","Message":"bad signature"}"#))
                }
                received.withLockedValue { $0.append(parameters) }
                return Response(status: .ok, body: .init(string: #"{"Code":"OK","Message":"OK","BizId":"1","RequestId":"r"}"#))
            }
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            port = app.http.server.shared.localAddress?.port ?? 0
        }

        func stop() async throws {
            await app.server.shutdown()
            try await app.asyncShutdown()
        }
    }

    @Test func codesGoThroughTheGatewaySigned() async throws {
        try await withMallApp { t in
            let gateway = try await FakeGateway(secret: "testSecret")
            let wrongKey = try await FakeGateway(secret: "anotherSecret")
            do {
                func sender(_ port: Int) -> AliyunSmsSender {
                    let c = Self.credentials
                    let clock = t.clock
                    return AliyunSmsSender(credentials: .init(accessKeyID: c.accessKeyID, accessKeySecret: c.accessKeySecret, signName: c.signName,
                                                              templateCode: c.templateCode, endpoint: "http://127.0.0.1:\(port)/"),
                                           client: t.app.client, clock: { clock.now() })
                }
                t.app.sms = sender(gateway.port)
                let sent = try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000001"}"#)
                #expect(sent.status == .accepted)
                let request = try #require(gateway.received.withLockedValue { $0.first })
                #expect(request["PhoneNumbers"] == "13700000001")
                #expect(request["SignName"] == "裂变商城")
                #expect(request["TemplateCode"] == "SMS_71390007")
                let template = try #require(request["TemplateParam"])
                let code = String(template.filter { $0.isNumber })
                #expect(code.count == 6)
                // The code the gateway was given logs the member in.
                let login = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13700000001","smsCode":"\#(code)","acceptAgreements":true}"#)
                #expect(login.status == .ok)

                // A gateway that refuses (here: the signature does not match its key) is a clear 503.
                t.app.sms = sender(wrongKey.port)
                t.clock.advance(seconds: 61)
                let refused = try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000002"}"#)
                #expect(refused.status == .serviceUnavailable)
                #expect(refused.error?.code == "sms.send_failed")
                #expect(wrongKey.received.withLockedValue { $0.isEmpty })
            } catch {
                try await gateway.stop()
                try await wrongKey.stop()
                throw error
            }
            try await gateway.stop()
            try await wrongKey.stop()
        }
    }

    @Test func theLoggingProviderIsRefusedInProduction() async throws {
        try await withMallApp { t in
            #expect(throws: ConfigError.self) { try SmsConfiguration.sender(environment: .production, variables: [:], app: t.app) }
            #expect(throws: ConfigError.self) { try SmsConfiguration.sender(environment: .production, variables: ["FISSION_SMS_PROVIDER": "log"], app: t.app) }
            #expect(throws: ConfigError.self) { try SmsConfiguration.sender(environment: .production, variables: ["FISSION_SMS_PROVIDER": "aliyun"], app: t.app) }
            #expect(try SmsConfiguration.sender(environment: .production, variables: ["FISSION_SMS_PROVIDER": "none"], app: t.app) is DisabledSmsSender)
            #expect(try SmsConfiguration.sender(environment: .development, variables: [:], app: t.app) is LoggingSmsSender)
            let aliyun = ["FISSION_SMS_PROVIDER": "aliyun", "FISSION_ALIYUN_SMS_ACCESS_KEY_ID": "id", "FISSION_ALIYUN_SMS_ACCESS_KEY_SECRET": "s",
                          "FISSION_ALIYUN_SMS_SIGN_NAME": "裂变商城", "FISSION_ALIYUN_SMS_TEMPLATE_CODE": "SMS_1"]
            #expect(try SmsConfiguration.sender(environment: .production, variables: aliyun, app: t.app) is AliyunSmsSender)
            // Without SMS, asking for a code says so.
            t.app.sms = DisabledSmsSender()
            let none = try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700000003"}"#)
            #expect(none.status == .serviceUnavailable)
            #expect(none.error?.code == "sms.not_configured")
        }
    }
}
