import Foundation
import Testing
@testable import App

/// Alipay's synchronous answers are verified over the member text exactly as received.
@Suite struct AlipayResponseTests {
    static let key = PaymentTestKeys.signer(PaymentTestKeys.alipay)
    static let verifier = PaymentTestKeys.verifier(PaymentTestKeys.alipay)

    @Test func verifiesTheMemberTextExactlyAsWritten() throws {
        // Spacing, escapes and Chinese text as Alipay might write them; the sign may come first.
        let member = #"{ "code":"10000","msg":"Success","sub":{"a":[1,2,{"b":"}\"]"}]},"subject":"奶粉\u0026面霜 \/ 2件" }"#
        let sign = try Self.key.base64Signature(for: Data(member.utf8))
        let body = "  {\"sign\" : \"\(sign.replacingOccurrences(of: "/", with: "\\/"))\" ,\n \"alipay_trade_query_response\" :\(member) }\n"
        let verified = try AlipayResponse.verify(body: Array(body.utf8), method: "alipay.trade.query", alipayPublicKey: Self.verifier)
        #expect(String(decoding: verified, as: UTF8.self) == member)
        // What the fake writes verifies too.
        let written = try AlipayResponse.sign(memberJSON: member, method: "alipay.trade.close", alipayKey: Self.key)
        #expect(try AlipayResponse.verify(body: Array(written.utf8), method: "alipay.trade.close", alipayPublicKey: Self.verifier) == Data(member.utf8))
    }

    @Test func refusesReEncodedMissingUnsignedAndAmbiguousAnswers() throws {
        let member = #"{"code":"10000","msg":"Success","total_amount":"88.88"}"#
        let body = try AlipayResponse.sign(memberJSON: member, method: "alipay.trade.query", alipayKey: Self.key)
        func check(_ text: String, _ expected: AlipaySignatureError) {
            expectPaymentError(expected) { _ = try AlipayResponse.verify(body: Array(text.utf8), method: "alipay.trade.query", alipayPublicKey: Self.verifier) }
        }
        check(body.replacingOccurrences(of: #""msg":"Success""#, with: #""msg": "Success""#), .badSignature)
        check(body.replacingOccurrences(of: "88.88", with: "88.89"), .badSignature)
        check(body.replacingOccurrences(of: "alipay_trade_query_response", with: "alipay_trade_close_response"), .missingField("alipay_trade_query_response"))
        check(#"{"alipay_trade_query_response":\#(member)}"#, .missingSign)
        check(#"{"alipay_trade_query_response":\#(member),"sign":""}"#, .malformedSignature)
        check(#"{"alipay_trade_query_response":\#(member),"sign":7}"#, .malformedSignature)
        check(String(body.dropLast()) + #","alipay_trade_query_response":{}}"#, .duplicateParameter("alipay_trade_query_response"))
        check(body + "x", .malformedBody)
        check("[" + body + "]", .malformedBody)
        let signedByStranger = try AlipayResponse.sign(memberJSON: member, method: "alipay.trade.query", alipayKey: PaymentTestKeys.signer(PaymentTestKeys.stranger))
        check(signedByStranger, .badSignature)
    }

    @Test func hostileAnswersNeverTrap() {
        var generator = PaymentTestGenerator(state: 20_261_118)
        let pieces = Array(#"{}[]":,\ "a"sign1x\u"#.utf8) + [0x00, 0xFF, 0x0A]
        for _ in 0..<3_000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<length).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }
            _ = try? AlipayResponse.verify(body: bytes, method: "alipay.trade.query", alipayPublicKey: Self.verifier)
            _ = try? AlipayRawJSON.topLevelMembers(Array("{\"alipay_trade_query_response\":".utf8) + bytes)
        }
        let deep = Array(("{\"a\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}").utf8)
        #expect(throws: AlipaySignatureError.malformedBody) { _ = try AlipayRawJSON.topLevelMembers(deep) }
    }
}
