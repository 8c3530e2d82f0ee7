import Foundation
import Testing
@testable import MallCore

@Suite struct RedemptionTests {
    @Test(arguments: [
        ("12345678", "12345678"), ("1234 5678", "12345678"), ("1234-5678-9012", "123456789012"),
        ("１２３４５６７８", "12345678"), (" 0000 0000 0000 0000 ", "0000000000000000"),
    ])
    func readsWhatStaffType(text: String, code: String) throws {
        #expect(try RedemptionCode.normalized(text) == code)
    }

    @Test(arguments: ["1234567", "12345678901234567", "1234abcd", "", "١٢٣٤٥٦٧٨", "12345678\u{0}", String(repeating: "1", count: 100), "12,345,678"])
    func refusesWhatIsNotACode(text: String) {
        #expect(throws: RedemptionError.invalidFormat) { try RedemptionCode.normalized(text) }
    }

    static let shop = uuid(0xA1), store = uuid(0x51), otherStore = uuid(0x52)

    @Test func aValidCodeInAnAllowedStore() throws {
        let code = IssuedRedemptionCode(merchantID: Self.shop, stores: [Self.store], validFrom: 100, expiresAt: 200)
        try code.checkRedemption(storeID: Self.store, storeMerchantID: Self.shop, now: 100)
        try code.checkRedemption(storeID: Self.store, storeMerchantID: Self.shop, now: 199)
        try IssuedRedemptionCode(merchantID: Self.shop).checkRedemption(storeID: Self.otherStore, storeMerchantID: Self.shop, now: .max)
    }

    @Test(arguments: [
        (IssuedRedemptionCode(merchantID: shop, stores: [store], expiresAt: 200), store, shop, Int64(200), RedemptionError.expired(at: 200)),
        (IssuedRedemptionCode(merchantID: shop, validFrom: 100), store, shop, 99, .notYetValid(from: 100)),
        (IssuedRedemptionCode(merchantID: shop, usedAt: 150), store, shop, 160, .alreadyUsed(at: 150)),
        (IssuedRedemptionCode(merchantID: shop, stores: [store]), otherStore, shop, 0, .wrongStore),
        (IssuedRedemptionCode(merchantID: shop), store, uuid(0xB1), 0, .unknownCode),
        // Used and expired: "used" tells staff more.
        (IssuedRedemptionCode(merchantID: shop, expiresAt: 10, usedAt: 5), store, shop, 20, .alreadyUsed(at: 5)),
    ])
    func refusedAttempts(code: IssuedRedemptionCode, store: UUID, merchant: UUID, now: Int64, error: RedemptionError) {
        #expect(throws: error) { try code.checkRedemption(storeID: store, storeMerchantID: merchant, now: now) }
    }

    @Test func messages() {
        #expect(RedemptionError.invalidFormat.localizedMessage(.zhHans) == "核销码应为 8–16 位数字")
        #expect(RedemptionError.wrongStore.code == "redemption_wrong_store")
    }
}
