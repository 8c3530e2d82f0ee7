import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct CouponTests {
    /// The platform's 满199减20, claimable, one per member.
    static let platformCoupon = #"{"name":"满199减20","kind":"full_reduction","thresholdFen":19900,"amountOffFen":2000,"validDays":7,"perMember":1}"#

    static func createCoupon(_ t: TestContext, _ json: String, token: String, path: String = "/api/v1/admin/coupons") async throws -> CouponTemplateDTO {
        let response = try await t.postJSON(path, json, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(CouponTemplateDTO.self)
    }

    static func claim(_ t: TestContext, _ template: UUID, token: String) async throws -> MemberCouponDTO {
        let response = try await t.postJSON("/api/v1/coupons/\(template)/claim", "{}", token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(MemberCouponDTO.self)
    }

    static func checkoutJSON(_ s: OrderFlowTests.Shop, coupons: [UUID]?) -> String {
        let list = coupons.map { #","couponIds":[\#($0.map { "\"\($0)\"" }.joined(separator: ","))]"# } ?? ""
        return #"{"items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2},{"skuId":"\#(s.cream.skus[0].id)","quantity":1}],"addressId":"\#(s.address)"\#(list)}"#
    }

    static func ledger(_ t: TestContext) -> LedgerService { LedgerService(db: t.app.db, now: t.clock.now(), gate: t.app.writeGate) }

    @Test func twentyConcurrentClaimsOfTheLastFiveIssueExactlyFive() async throws {
        try await withMallApp { t in
            // setup: 5 coupons, 20 members
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let coupon = try await Self.createCoupon(t, #"{"name":"无门槛5元","kind":"no_threshold","amountOffFen":500,"validDays":3,"totalCount":5}"#, token: boss)
            var members: [String] = []
            for index in 0..<20 { members.append(try await t.quickMember("1370000\(String(format: "%04d", index))")) }

            // act: all at once
            let statuses = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for token in members {
                    group.addTask {
                        let response = try await t.postJSON("/api/v1/coupons/\(coupon.id)/claim", "{}", token: token)
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check
            #expect(statuses.filter { $0.0 == .created }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0.0 == .conflict && $0.1 == "coupon_sold_out" }.count == 15, "\(statuses)")
            #expect(try await MemberCouponRecord.query(on: t.app.db).count() == 5)
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.issued == 5)
            let centre = try await t.get("/api/v1/coupons").content.decode([CouponOfferDTO].self)
            #expect(centre.isEmpty)
        }
    }

    @Test func perMemberAndPerDayLimitsHoldUnderConcurrentClaims() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let coupon = try await Self.createCoupon(t, #"{"name":"每日一张","kind":"no_threshold","amountOffFen":300,"validDays":30,"perMember":2,"perMemberPerDay":1}"#, token: boss)
            var member = try await t.quickMember("13700009999")
            let memberID = try await t.memberID(phone: "13700009999")
            func burst() async throws -> [HTTPStatus] {
                let member = member
                return try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                    for _ in 0..<6 { group.addTask { try await t.postJSON("/api/v1/coupons/\(coupon.id)/claim", "{}", token: member).status } }
                    return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
                }
            }
            #expect(try await burst().filter { $0 == .created }.count == 1)
            let again = try await t.postJSON("/api/v1/coupons/\(coupon.id)/claim", "{}", token: member)
            #expect(again.error?.code == "coupon_member_daily_limit")
            // A day later (with a fresh token: the old one has expired by then) one more, then the member limit.
            t.clock.advance(seconds: 86_400)
            member = try await DistributionTests.token(t, memberID)
            #expect(try await burst().filter { $0 == .created }.count == 1)
            t.clock.advance(seconds: 86_400)
            member = try await DistributionTests.token(t, memberID)
            let third = try await t.postJSON("/api/v1/coupons/\(coupon.id)/claim", "{}", token: member)
            #expect(third.status == .conflict)
            #expect(third.error?.code == "coupon_member_limit")
            #expect(third.body.string.contains("每人限领 2 张"))
            let mine = try await t.get("/api/v1/me/coupons", token: member).content.decode([MemberCouponDTO].self)
            #expect(mine.count == 2)
            #expect(mine.allSatisfy { $0.state == "available" })
        }
    }

    @Test func aPlatformCouponIsSplitPerLineToTheFenAndThePlatformPaysIt() async throws {
        try await withMallApp { t in
            // setup: ¥198 of milk from shop A (¥13 shipping) and ¥50 of cream from shop B
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: s.f.operatorToken)
            let held = try await Self.claim(t, coupon.id, token: s.buyer)

            // act: the preview suggests it; the order uses it
            let preview = try await t.postJSON("/api/v1/checkout/preview", Self.checkoutJSON(s, coupons: nil), token: s.buyer)
                .content.decode(CheckoutPreviewDTO.self)
            let placed = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [held.id]), token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            let paid = try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(paid.status == .ok, "\(paid.body.string)")

            // check: ¥20 over ¥248 by what each line costs — 1 597 and 403 fen
            #expect(preview.coupons.chosen == [held.id])
            #expect(preview.coupons.suggested)
            #expect(preview.coupons.savings.map(\.amount.fen) == [2_000])
            #expect(preview.total.fen == 19_800 + 1_300 + 5_000 - 2_000)
            #expect(result.payment.amount.fen == 24_100)
            let payables: [Int64] = [19_800 - 1_597 + 1_300, 5_000 - 403]
            #expect(result.orders.map(\.payable.fen) == payables)
            let lines = try await OrderLine.query(on: t.app.db).sort(\.$lineAmount, .descending).all()
            #expect(lines.map(\.paidAmount) == [18_203, 4_597])
            #expect(lines.map(\.discountAmount) == [1_597, 403])
            let shares = try await OrderLineDiscount.query(on: t.app.db).sort(\.$amount, .descending).all()
            #expect(shares.map(\.amount) == [1_597, 403])
            #expect(shares.allSatisfy { $0.payer == "platform" && $0.sourceKind == "coupon" && $0.sourceID == held.id.uuidString.lowercased() })
            let mine = try await t.get("/api/v1/me/coupons", token: s.buyer).content.decode([MemberCouponDTO].self)
            #expect(mine.map(\.state) == ["used"])
            // The shops are paid the full goods less their fee; the platform bears the ¥20.
            let ledger = Self.ledger(t)
            let rate = try #require(try await Merchant.find(s.f.shopA, on: t.app.db)).serviceRateBP
            let feeA = try Money(fen: 18_203).applying(BasisPoints(rate))
            let feeB = try Money(fen: 4_597).applying(BasisPoints(rate))
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 18_203 + 1_300 + 1_597 - feeA.fen)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 2_000)
            #expect(try await ledger.balance(of: .platform(.feeRevenue)).fen == feeA.fen + feeB.fen)
            #expect(try await ledger.verify().ok)
            // Used once: a second checkout naming it is refused and takes nothing.
            let twice = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [held.id]), token: s.buyer)
            #expect(twice.status == .conflict)
            #expect(twice.error?.code == "coupon_already_used")
            #expect(try await Order.query(on: t.app.db).count() == 2)
        }
    }

    @Test func aShopCouponTakesOffOnlyThatShopsLinesAndReducesItsReceivable() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let shopCoupon = try await Self.createCoupon(t, #"{"name":"甲店9折","kind":"discount","payRateBp":9000,"maximumOffFen":5000,"validDays":7}"#,
                                                         token: s.f.shopAToken, path: "/api/v1/merchant/coupons")
            #expect(shopCoupon.payer == "merchant")
            let platform = try await Self.createCoupon(t, Self.platformCoupon, token: s.f.operatorToken)
            let mineShop = try await Self.claim(t, shopCoupon.id, token: s.buyer)
            let minePlatform = try await Self.claim(t, platform.id, token: s.buyer)
            // Shop B cannot see or send shop A's coupon.
            #expect(try await t.get("/api/v1/merchant/coupons", token: s.f.shopBToken).content.decode([CouponTemplateDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/coupons/\(shopCoupon.id)/send", #"{"memberIds":[]}"#, token: s.f.shopBToken).status != .ok)

            let placed = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [minePlatform.id, mineShop.id]), token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer).status == .ok)

            // 9折 on ¥198 = ¥19.80 off shop A; then ¥20 on the ¥228.20 left: 1 562 + 438 (largest remainder).
            let lines = try await OrderLine.query(on: t.app.db).sort(\.$lineAmount, .descending).all()
            let shop: Int64 = 1_980
            let platformOnMilk: Int64 = 1_562
            #expect(lines.map(\.discountAmount) == [shop + platformOnMilk, 2_000 - platformOnMilk])
            #expect(lines.map { $0.lineAmount - $0.discountAmount } == lines.map(\.paidAmount))
            #expect(result.payment.amount.fen == 19_800 + 1_300 + 5_000 - 1_980 - 2_000)
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.filter { $0.payer == "merchant" }.map(\.amount) == [1_980])
            #expect(shares.filter { $0.payer == "merchant" }.allSatisfy { $0.payerMerchantID == s.f.shopA })
            #expect(shares.filter { $0.payer == "platform" }.reduce(0) { $0 + $1.amount } == 2_000)
            #expect(try await Self.ledger(t).balance(of: .platform(.marketingCost)).fen == 2_000)
            #expect(try await Self.ledger(t).verify().ok)
        }
    }

    @Test func cancellingAnUnpaidOrderGivesTheCouponBackUnlessItHasEnded() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: s.f.operatorToken)
            let held = try await Self.claim(t, coupon.id, token: s.buyer)
            let first = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [held.id]), token: s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await MemberCouponRecord.find(held.id, on: t.app.db)?.state == "used")
            #expect(try await t.postJSON("/api/v1/me/orders/\(first.orders[0].id)/cancel", "{}", token: s.buyer).status == .ok)
            let back = try #require(try await MemberCouponRecord.find(held.id, on: t.app.db))
            #expect(back.state == "available")
            #expect(back.returnedAt != nil)
            #expect(back.usedPaymentID == nil)

            // Used again, then the order is cancelled after the coupon's end: it stays used.
            let second = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [held.id]), token: s.buyer)
            #expect(second.status == .created, "\(second.body.string)")
            let order = try second.content.decode(CheckoutResultDTO.self).orders[0]
            t.clock.advance(seconds: 8 * 86_400)
            let buyer = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            let cancelled = try await t.postJSON("/api/v1/me/orders/\(order.id)/cancel", "{}", token: buyer)
            #expect(cancelled.status == .ok, "\(cancelled.body.string)")
            #expect(try await MemberCouponRecord.find(held.id, on: t.app.db)?.state == "used")
        }
    }

    @Test func aFullRefundGivesTheCouponBackAndReversesThePlatformsShare() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: s.f.operatorToken)
            let held = try await Self.claim(t, coupon.id, token: s.buyer)
            let result = try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [held.id]), token: s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: s.buyer).status == .ok)

            // act: shop A's order refunded in full first, then shop B's
            let tokens = [s.f.shopAToken, s.f.shopBToken]
            for (index, placed) in result.orders.enumerated() {
                let order = try await t.get("/api/v1/me/orders/\(placed.id)", token: s.buyer).content.decode(OrderDTO.self)
                let line = order.lines[0]
                let requested = try await t.postJSON("/api/v1/me/orders/\(order.id)/after-sales",
                                                     #"{"lineId":"\#(line.id)","kind":"refund_only","units":\#(line.quantity),"reason":"不想要了"}"#, token: s.buyer)
                #expect(requested.status == .created, "\(requested.body.string)")
                let sale = try requested.content.decode(AfterSaleDTO.self)
                let done = try await t.postJSON("/api/v1/merchant/after-sales/\(sale.id)/approve", "{}", token: tokens[index])
                #expect(try done.content.decode(AfterSaleDTO.self).state == "refunded", "\(done.body.string)")
                // check: the coupon waits for every order it touched
                #expect(try await MemberCouponRecord.find(held.id, on: t.app.db)?.state == (index == 0 ? "used" : "available"))
            }

            // check: everything went back, the platform's ¥20 too
            let ledger = Self.ledger(t)
            #expect(try await ledger.balance(of: .platform(.marketingCost)).fen == 0)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            let shopB = try #require(try await Merchant.query(on: t.app.db).filter(\.$name == "乙店").first()?.requireID())
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(shopB))).fen == 0)
            let member = try await t.memberID(phone: "13600000001")
            #expect(try await ledger.balance(of: LedgerAccountKey(.memberBalance, .member(member))).fen == 50_000)
            #expect(try await OrderLineDiscount.query(on: t.app.db).all().allSatisfy { $0.reversedAmount == $0.amount })
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func theCheckoutPageShowsTheSavingAndTheCentreAndMyCouponsList() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: s.f.operatorToken)
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            let login = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            #expect(login.status == .seeOther || login.status == .found, "\(login.body.string)")
            let centre = try await client.get("/coupons")
            #expect(centre.body.string.contains("领券中心"))
            #expect(centre.body.string.contains("满199减20"))
            let claimed = try await client.post("/coupons/\(coupon.id)/claim", form: [:])
            #expect(claimed.headers.first(name: .location) == "/coupons")
            let mine = try await client.get("/me/coupons")
            #expect(mine.body.string.contains("可使用"))
            #expect(try await client.get("/member").body.string.contains("/me/coupons"))

            let page = try await client.get("/checkout?sku=\(s.milk.skus[0].id)&qty=3")
            let html = page.body.string
            #expect(page.status == .ok)
            #expect(html.contains("优惠券 满199减20"), "\(html)")
            #expect(html.contains("-¥20.00"))
            #expect(html.contains("checkout-coupons"))
            // ¥297 + ¥18 shipping − ¥20
            #expect(html.contains("¥295.00"))
        }
    }

    @Test func hostileInputsAreRefusedWithFourHundredsAndChangeNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let boss = s.f.operatorToken
            let long = String(repeating: "券", count: 41)
            let bad: [(String, HTTPStatus)] = [
                (#"{"name":"\#(long)","kind":"no_threshold","amountOffFen":100,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"mystery","amountOffFen":100,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"shipping","payRateBp":5000,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction","thresholdFen":9223372036854775807,"amountOffFen":100,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"full_reduction","thresholdFen":100,"amountOffFen":100,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"discount","payRateBp":10000,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":-5,"validDays":1}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100,"validDays":0}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100,"startsAt":"yesterday","endsAt":"2099-01-01T00:00:00Z"}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100,"validDays":1,"totalCount":0}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100,"validDays":1,"scope":"products","scopeIds":["\#(UUID())"]}"#, .unprocessableEntity),
                (#"{"name":"x","kind":"no_threshold","amountOffFen":100,"validDays":99999999999999999999}"#, .badRequest),
                (#"{"name":"x"}"#, .badRequest),
            ]
            for (json, status) in bad {
                let response = try await t.postJSON("/api/v1/admin/coupons", json, token: boss)
                #expect(response.status == status, "\(json) → \(response.body.string)")
                #expect(response.error?.message.isEmpty == false)
            }
            // A shop may not put another shop's products in scope, and a member may not create at all.
            let scoped = #"{"name":"x","kind":"no_threshold","amountOffFen":100,"validDays":1,"scope":"products","scopeIds":["\#(s.cream.id)"]}"#
            #expect(try await t.postJSON("/api/v1/merchant/coupons", scoped, token: s.f.shopAToken).status == .unprocessableEntity)
            #expect(try await t.postJSON("/api/v1/admin/coupons", Self.platformCoupon, token: s.buyer).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/admin/coupons", Self.platformCoupon).status == .unauthorized)
            #expect(try await CouponTemplate.query(on: t.app.db).count() == 0)

            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: boss)
            // Changing it: the same bodies are refused the same way, and ids that are no coupon are 4xx.
            for (json, status) in bad {
                let response = try await t.send(.PUT, "/api/v1/admin/coupons/\(coupon.id)", json, token: boss)
                #expect(response.status == status, "PUT \(json) → \(response.body.string)")
            }
            for id in ["%00", String(repeating: "9", count: 400), UUID().uuidString, "..%2F..%2Fetc"] {
                for (path, token) in [("/api/v1/admin/coupons/\(id)", boss), ("/api/v1/merchant/coupons/\(id)", s.f.shopAToken)] {
                    let response = try await t.send(.PUT, path, Self.platformCoupon, token: token)
                    #expect((400..<500).contains(response.status.code), "PUT \(path.prefix(60))")
                }
            }
            #expect(try await t.send(.PUT, "/api/v1/merchant/coupons/\(coupon.id)", Self.platformCoupon, token: s.f.shopAToken).status == .notFound)
            #expect(try await t.send(.PUT, "/api/v1/admin/coupons/\(coupon.id)", Self.platformCoupon, token: s.buyer).status == .forbidden)
            let unchanged = try #require(try await CouponTemplate.find(coupon.id, on: t.app.db))
            #expect((unchanged.name, unchanged.threshold, unchanged.amountOff, unchanged.validDays) == ("满199减20", 19_900, 2_000, 7))
            #expect(try await t.postJSON("/api/v1/coupons/not-a-uuid/claim", "{}", token: s.buyer).status == .notFound)
            #expect(try await t.postJSON("/api/v1/coupons/\(UUID())/claim", "{}", token: s.buyer).status == .notFound)
            #expect(try await t.get("/api/v1/me/coupons?state=everything", token: s.buyer).status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/me/coupons?state=", token: s.buyer).status == .unprocessableEntity)
            let phones = (0..<101).map { "\"1390000\(String(format: "%04d", $0))\"" }.joined(separator: ",")
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"phones":[\#(phones)]}"#, token: boss).status == .unprocessableEntity)
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"phones":["12"]}"#, token: boss).status == .unprocessableEntity)
            let sent = try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/send", #"{"phones":["13600000001","13600000001"],"memberIds":["\#(UUID())"]}"#, token: boss)
                .content.decode(CouponSendResultDTO.self)
            #expect(sent.sent == 1)
            #expect(sent.refused.map(\.code).sorted() == ["coupon_member_limit", "not_found"])
            // Checkout: too many, someone else's or unknown coupons change nothing.
            let eleven = (0..<11).map { _ in UUID() }
            #expect(try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: eleven), token: s.buyer).status == .unprocessableEntity)
            #expect(try await t.postJSON("/api/v1/checkout", Self.checkoutJSON(s, coupons: [UUID()]), token: s.buyer).status == .unprocessableEntity)
            let held = try #require(try await MemberCouponRecord.query(on: t.app.db).first())
            let stranger = try await t.quickMember("13600000077")
            let theirs = try await t.postJSON("/api/v1/checkout/preview", Self.checkoutJSON(s, coupons: [try held.requireID()]), token: stranger)
            #expect(theirs.status == .unprocessableEntity || theirs.status == .notFound || theirs.status == .conflict, "\(theirs.body.string)")
            // Below the threshold: 409 with the reason.
            let small = #"{"items":[{"skuId":"\#(s.cream.skus[0].id)","quantity":1}],"addressId":"\#(s.address)","couponIds":["\#(try held.requireID())"]}"#
            let below = try await t.postJSON("/api/v1/checkout", small, token: s.buyer)
            #expect(below.status == .conflict)
            #expect(below.body.string.contains("还差"))
            #expect(try await Order.query(on: t.app.db).count() == 0)
            #expect(try await MemberCouponRecord.find(held.id, on: t.app.db)?.state == "available")
            // Paused: not claimable; stopped: final.
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/pause", "{}", token: boss).status == .ok)
            let other = try await t.quickMember("13600000088")
            #expect(try await t.postJSON("/api/v1/coupons/\(coupon.id)/claim", "{}", token: other).error?.code == "coupon.not_claimable")
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/stop", "{}", token: boss).status == .ok)
            #expect(try await t.postJSON("/api/v1/admin/coupons/\(coupon.id)/resume", "{}", token: boss).status == .conflict)
        }
    }

    @Test func aCouponOrdersCommissionIsOnWhatWasPaidAfterTheCoupon() async throws {
        try await withMallApp { t in
            // setup: 10 % and 5 % over two levels; the buyer bound to the sharer; ¥300 of milk
            let n = try await DistributionTests.network(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            try await Sku.query(on: t.app.db).filter(\.$id == n.s.milk.skus[0].id).set(\.$price, to: 10_000).update()
            let coupon = try await Self.createCoupon(t, Self.platformCoupon, token: n.s.f.operatorToken)
            let held = try await Self.claim(t, coupon.id, token: n.s.buyer)

            // act
            let json = #"{"items":[{"skuId":"\#(n.s.milk.skus[0].id)","quantity":3}],"addressId":"\#(n.s.address)","couponIds":["\#(held.id)"]}"#
            let result = try await t.postJSON("/api/v1/checkout", json, token: n.s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: n.s.buyer).status == .ok)
            _ = try await OutboxDispatcher.run(t.app)

            // check: ¥300 − ¥20 = ¥280 paid; commission 10 % and 5 % of it
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect(line.paidAmount == 28_000)
            let rows = try await DistributionTests.commissions(t, order: result.orders[0].id)
            #expect(rows.map(\.amount) == [2_800, 1_400])
            #expect(try await Self.ledger(t).verify().ok)
        }
    }

    @Test func aCouponWhoseSwitchIsOffLeavesItsLinesWithoutCommission() async throws {
        try await withMallApp { t in
            // setup: the same network, a platform coupon that pays no commission
            let n = try await DistributionTests.network(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            try await Sku.query(on: t.app.db).filter(\.$id == n.s.milk.skus[0].id).set(\.$price, to: 10_000).update()
            let body = Self.platformCoupon.replacingOccurrences(of: "{", with: #"{"paysCommission":false,"#, options: [], range: Self.platformCoupon.range(of: "{"))
            let coupon = try await Self.createCoupon(t, body, token: n.s.f.operatorToken)
            let held = try await Self.claim(t, coupon.id, token: n.s.buyer)

            // act
            let json = #"{"items":[{"skuId":"\#(n.s.milk.skus[0].id)","quantity":3}],"addressId":"\#(n.s.address)","couponIds":["\#(held.id)"]}"#
            let result = try await t.postJSON("/api/v1/checkout", json, token: n.s.buyer).content.decode(CheckoutResultDTO.self)
            #expect(try await t.postJSON("/api/v1/payments/\(result.payment.id)/pay", #"{"method":"balance"}"#, token: n.s.buyer).status == .ok)
            _ = try await OutboxDispatcher.run(t.app)

            // check: no commission, and the snapshot says why
            #expect(try await DistributionTests.commissions(t, order: result.orders[0].id).isEmpty)
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            let snapshot = try #require(try await CommissionLineSnapshot.find(try line.requireID(), on: t.app.db))
            #expect(snapshot.snapshotJSON.contains("marketing_excluded"))
            #expect(try await Self.ledger(t).verify().ok)
        }
    }
}
