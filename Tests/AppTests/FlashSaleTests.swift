import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct FlashSaleTests {
    /// One session from a minute ago for an hour (or as given), one SKU.
    static func flashJSON(_ t: TestContext, sku: UUID, priceFen: Int64 = 4_900, stock: Int64 = 5, limit: Int64 = 1, startsIn: Double = -60,
                          lasts: Double = 3_600, extra: String = "") -> String {
        let formatter = ISO8601DateFormatter()
        let start = t.clock.now().addingTimeInterval(startsIn)
        return #"{"name":"整点秒杀"\#(extra),"sessions":[{"startsAt":"\#(formatter.string(from: start))","endsAt":"\#(formatter.string(from: start.addingTimeInterval(lasts)))","items":[{"skuId":"\#(sku)","priceFen":\#(priceFen),"stock":\#(stock),"perMemberLimit":\#(limit)}]}]}"#
    }

    static func create(_ t: TestContext, _ json: String, token: String, path: String = "/api/v1/merchant/flash-sales") async throws -> FlashSaleDTO {
        let response = try await t.postJSON(path, json, token: token)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(FlashSaleDTO.self)
    }

    static func item(_ sale: FlashSaleDTO) -> UUID { sale.sessions[0].items[0].id }

    static func buy(_ t: TestContext, _ item: UUID, address: UUID, token: String) async throws -> TestingHTTPResponse {
        try await t.postJSON("/api/v1/checkout", #"{"flashSaleItemId":"\#(item)","addressId":"\#(address)"}"#, token: token)
    }

    static func flashItem(_ t: TestContext, _ id: UUID) async throws -> FlashSaleItem {
        try #require(try await FlashSaleItem.find(id, on: t.app.db))
    }

    static func skuStock(_ t: TestContext, _ id: UUID) async throws -> Int64 {
        try #require(try await Sku.find(id, on: t.app.db)).stock
    }

    /// A member with a token and an address.
    static func buyer(_ t: TestContext, _ phone: String) async throws -> (token: String, address: UUID) {
        let token = try await t.quickMember(phone)
        let address = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: token).content.decode(AddressDTO.self)
        return (token, address.id)
    }

    @Test func aFlashOrderPaysTheFlashPriceToTheFenAndTakesTheActivitysStockNotTheSkus() async throws {
        try await withMallApp { t in
            // setup: shop A's ¥99 milk (10 in stock) at ¥49 for 5 units, one per member
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let milk = s.milk.skus[0].id
            let sale = try await Self.create(t, Self.flashJSON(t, sku: milk), token: s.f.shopAToken)
            #expect(sale.owner == "merchant")
            #expect(!sale.paysCommission)
            #expect(sale.unpaidMinutes == 5)
            #expect(try await Self.skuStock(t, milk) == 5)

            // act
            let preview = try await t.postJSON("/api/v1/checkout/preview", #"{"flashSaleItemId":"\#(Self.item(sale))","addressId":"\#(s.address)"}"#,
                                               token: s.buyer).content.decode(CheckoutPreviewDTO.self)
            let placed = try await Self.buy(t, Self.item(sale), address: s.address, token: s.buyer)
            #expect(placed.status == .created, "\(placed.body.string)")
            let result = try placed.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, result, token: s.buyer)

            // check: ¥49 + ¥8 shipping; the ¥50 saving recorded per line as the shop's flash sale, without commission
            #expect(preview.coupons.savings.map(\.source) == ["flash_sale"])
            #expect(preview.coupons.savings.map(\.amount.fen) == [5_000])
            #expect(preview.total.fen == 5_700)
            #expect(result.payment.amount.fen == 5_700)
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect(line.unitPrice == 9_900)
            #expect(line.paidAmount == 4_900)
            #expect(line.discountAmount == 5_000)
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.map(\.amount) == [5_000])
            #expect(shares.allSatisfy { $0.sourceKind == "flash_sale" && $0.payer == "merchant" && $0.payerMerchantID == s.f.shopA && !$0.paysCommission })
            #expect(shares.first?.sourceID == sale.id.uuidString.lowercased())
            // The unit came from the activity: the SKU's normal stock is untouched.
            let item = try await Self.flashItem(t, Self.item(sale))
            #expect((item.available, item.sold) == (4, 1))
            #expect(try await Self.skuStock(t, milk) == 5)
            // The order closes unpaid after five minutes, not the usual thirty.
            let payment = try #require(try await Payment.find(result.payment.id, on: t.app.db))
            #expect(payment.expiresAt.timeIntervalSince(payment.createdAt) == 300)
            let results = try await t.get("/api/v1/merchant/flash-sales/\(sale.id)/results", token: s.f.shopAToken).content.decode(FlashSaleResultsDTO.self)
            #expect((results.orders, results.unitsSold, results.salesFen, results.discountCostFen, results.available) == (1, 1, 4_900, 5_000, 4))
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func theMemberLimitHoldsAndASoldOutItemIsRefused() async throws {
        try await withMallApp { t in
            // setup: 2 units, one per member
            let s = try await OrderFlowTests.shop(t)
            let sale = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id, stock: 2), token: s.f.shopAToken)
            let item = Self.item(sale)
            let other = try await Self.buyer(t, "13600000002")
            let third = try await Self.buyer(t, "13600000003")

            // act and check: the buyer's one, then their second refused; two of two quantity refused as over the limit
            #expect(try await Self.buy(t, item, address: s.address, token: s.buyer).status == .created)
            let again = try await Self.buy(t, item, address: s.address, token: s.buyer)
            #expect(again.status == .conflict)
            #expect(again.error?.code == "flash_sale_member_limit")
            #expect(again.body.string.contains("每人限购 1 件"))
            let two = try await t.postJSON("/api/v1/checkout", #"{"flashSaleItemId":"\#(item)","addressId":"\#(other.address)","items":[{"skuId":"\#(s.milk.skus[0].id)","quantity":2}]}"#,
                                           token: other.token)
            #expect(two.error?.code == "flash_sale_member_limit")
            #expect(try await Self.buy(t, item, address: other.address, token: other.token).status == .created)
            let late = try await Self.buy(t, item, address: third.address, token: third.token)
            #expect(late.status == .conflict)
            #expect(late.error?.code == "flash_sale_sold_out")
            #expect(late.body.string.contains("已抢光"))
            // check
            #expect(try await Order.query(on: t.app.db).count() == 2)
            let row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 2))
            let board = try await t.get("/api/v1/flash-sales").content.decode(FlashSaleBoardDTO.self)
            #expect(board.sessions.first?.items.map(\.state) == ["sold_out"])
            #expect(board.sessions.first?.items.map(\.progressPercent) == [100])
        }
    }

    @Test func concurrentBuyersTakeExactlyTheUnitsThereAre() async throws {
        try await withMallApp { t in
            // setup: 5 units, 20 members each trying twice at once
            let s = try await OrderFlowTests.shop(t, milkStock: 50)
            let sale = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id, stock: 5), token: s.f.shopAToken)
            let item = Self.item(sale)
            var buyers: [(token: String, address: UUID)] = []
            for index in 0..<20 { buyers.append(try await Self.buyer(t, "1361000\(String(format: "%04d", index))")) }

            // act
            let statuses = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for buyer in buyers + buyers {
                    group.addTask {
                        let response = try await Self.buy(t, item, address: buyer.address, token: buyer.token)
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: five orders, five members, nothing else; the activity's stock at zero, the SKU's untouched
            #expect(statuses.filter { $0.0 == .created }.count == 5, "\(statuses)")
            #expect(statuses.allSatisfy { $0.0 == .created || $0.0 == .conflict }, "\(statuses)")
            let orders = try await Order.query(on: t.app.db).all()
            #expect(orders.count == 5)
            #expect(Set(orders.map(\.memberID)).count == 5)
            let row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 5))
            #expect(try await FlashSalePurchase.query(on: t.app.db).count() == 5)
            #expect(try await FlashSaleMemberCount.query(on: t.app.db).all().map(\.bought).reduce(0, +) == 5)
            #expect(try await Self.skuStock(t, s.milk.skus[0].id) == 45)
        }
    }

    @Test func anUnpaidFlashOrderClosesAfterFiveMinutesAndItsUnitSellsAgain() async throws {
        try await withMallApp { t in
            // setup: one unit, bought and left unpaid
            let s = try await OrderFlowTests.shop(t)
            let sale = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id, stock: 1), token: s.f.shopAToken)
            let item = Self.item(sale)
            let first = try await Self.buy(t, item, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            let other = try await Self.buyer(t, "13600000002")
            #expect(try await Self.buy(t, item, address: other.address, token: other.token).error?.code == "flash_sale_sold_out")

            // act: four minutes: still held; five: closed, the unit back in the activity
            t.clock.advance(seconds: 240)
            _ = try await OrderJobs.closeUnpaid(t.app, settings: .init())
            #expect(try await Self.flashItem(t, item).available == 0)
            t.clock.advance(seconds: 61)
            let closed = try await OrderJobs.closeUnpaid(t.app, settings: .init())
            _ = try await OrderJobs.closeUnpaid(t.app, settings: .init())

            // check: returned once, to the activity (not the SKU) and the member's count; another member buys it
            #expect(closed.closed == 1)
            #expect(try await Order.find(first.orders[0].id, on: t.app.db)?.state == "closed")
            var row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (1, 0))
            #expect(try await Self.skuStock(t, s.milk.skus[0].id) == 9)
            #expect(try await FlashSaleMemberCount.query(on: t.app.db).all().map(\.bought) == [0])
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13600000002"))
            let second = try await Self.buy(t, item, address: other.address, token: token)
            #expect(second.status == .created, "\(second.body.string)")
            row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 1))
            // A buyer's cancel gives it back too.
            let order = try second.content.decode(CheckoutResultDTO.self).orders[0].id
            #expect(try await t.postJSON("/api/v1/me/orders/\(order)/cancel", "{}", token: token).status == .ok)
            row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (1, 0))
        }
    }

    @Test func aStoppedOrEndedActivityGivesItsUnsoldUnitsBackToTheSku() async throws {
        try await withMallApp { t in
            // setup: 5 of 10 carved out, one sold unpaid
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let sale = try await Self.create(t, Self.flashJSON(t, sku: milk, stock: 5), token: s.f.shopAToken)
            let item = Self.item(sale)
            _ = try await Self.buy(t, item, address: s.address, token: s.buyer)
            #expect(try await Self.skuStock(t, milk) == 5)

            // act: the operator stops it (a shop's too)
            let stopped = try await t.postJSON("/api/v1/admin/flash-sales/\(sale.id)/stop", "{}", token: s.f.operatorToken)
            #expect(stopped.status == .ok, "\(stopped.body.string)")

            // check: the 4 unsold are the SKU's again; the held one comes back to the SKU when its order closes
            #expect(try await Self.skuStock(t, milk) == 9)
            let other = try await Self.buyer(t, "13600000002")
            #expect(try await Self.buy(t, item, address: other.address, token: other.token).error?.code == "flash_sale_ended")
            #expect(try await t.postJSON("/api/v1/admin/flash-sales/\(sale.id)/resume", "{}", token: s.f.operatorToken).status == .conflict)
            t.clock.advance(seconds: 301)
            _ = try await OrderJobs.closeUnpaid(t.app, settings: .init())
            #expect(try await Self.skuStock(t, milk) == 10)
            let row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold, row.releasedUnits) == (0, 0, 5))

            // A session that ends is released by the job.
            let later = try await Self.create(t, Self.flashJSON(t, sku: milk, stock: 3, lasts: 600), token: s.f.shopAToken)
            #expect(try await Self.skuStock(t, milk) == 7)
            t.clock.advance(seconds: 601)
            #expect(try await OrderJobs.runAll(t.app).flashReleased == 1)
            #expect(try await OrderJobs.runAll(t.app).flashReleased == 0)
            #expect(try await Self.skuStock(t, milk) == 10)
            #expect(try await Self.flashItem(t, Self.item(later)).released)
        }
    }

    @Test func pausedNotStartedAndEndedAreRefusedWithTheirReasons() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let soon = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id, startsIn: 600), token: s.f.shopAToken)
            let notYet = try await Self.buy(t, Self.item(soon), address: s.address, token: s.buyer)
            #expect(notYet.status == .conflict)
            #expect(notYet.error?.code == "flash_sale_not_started")
            let board = try await t.get("/api/v1/flash-sales").content.decode(FlashSaleBoardDTO.self)
            #expect(board.sessions.first?.items.map(\.state) == ["upcoming"])
            #expect(board.sessions.first?.items.map(\.seconds) == [600])

            let now = try await Self.create(t, Self.flashJSON(t, sku: s.cream.skus[0].id, priceFen: 1_000, stock: 2), token: s.f.shopBToken)
            #expect(try await t.postJSON("/api/v1/merchant/flash-sales/\(now.id)/pause", "{}", token: s.f.shopBToken).status == .ok)
            #expect(try await Self.buy(t, Self.item(now), address: s.address, token: s.buyer).error?.code == "flash_sale_paused")
            #expect(try await t.postJSON("/api/v1/merchant/flash-sales/\(now.id)/resume", "{}", token: s.f.shopBToken).status == .ok)
            t.clock.advance(seconds: 3_600)
            let buyer = try await DistributionTests.token(t, try await t.memberID(phone: "13600000001"))
            let ended = try await Self.buy(t, Self.item(now), address: s.address, token: buyer)
            #expect(ended.error?.code == "flash_sale_ended")
            #expect(ended.body.string.contains("秒杀已结束"))
            #expect(try await Order.query(on: t.app.db).count() == 0)
        }
    }

    @Test func aFlashOrderWithCommissionOffPaysNoneAndWithItOnPaysOnWhatWasPaid() async throws {
        try await withMallApp { t in
            // setup: 10 % and 5 % over two levels; the buyer bound to the sharer; milk at ¥100, flash ¥60
            let n = try await DistributionTests.network(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 100_000)
            let milk = n.s.milk.skus[0].id
            try await Sku.query(on: t.app.db).filter(\.$id == milk).set(\.$price, to: 10_000).update()
            let off = try await Self.create(t, Self.flashJSON(t, sku: milk, priceFen: 6_000, stock: 2), token: n.s.f.operatorToken,
                                            path: "/api/v1/admin/flash-sales")
            let on = try await Self.create(t, Self.flashJSON(t, sku: milk, priceFen: 6_000, stock: 2, extra: #","paysCommission":true"#),
                                           token: n.s.f.operatorToken, path: "/api/v1/admin/flash-sales")
            let undercut = try await Self.create(t, Self.flashJSON(t, sku: milk, priceFen: 6_000, stock: 1), token: n.s.f.operatorToken,
                                                 path: "/api/v1/admin/flash-sales")
            #expect(off.owner == "platform" && !off.paysCommission && on.paysCommission)

            // act: one order under each; the third after the shop dropped the normal price to ¥50, below the flash price
            var orders: [UUID] = []
            for sale in [off, on, undercut] {
                if sale.id == undercut.id { try await Sku.query(on: t.app.db).filter(\.$id == milk).set(\.$price, to: 5_000).update() }
                let result = try await Self.buy(t, Self.item(sale), address: n.s.address, token: n.s.buyer).content.decode(CheckoutResultDTO.self)
                try await PromotionTests.pay(t, result, token: n.s.buyer)
                orders.append(result.orders[0].id)
            }
            _ = try await OutboxDispatcher.run(t.app)

            // check: none on the first; 10 % and 5 % of ¥60 on the second; the platform bears both ¥40 savings
            #expect(try await DistributionTests.commissions(t, order: orders[0]).isEmpty)
            let line = try #require(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == orders[0]).first())
            let snapshot = try #require(try await CommissionLineSnapshot.find(try line.requireID(), on: t.app.db))
            #expect(snapshot.snapshotJSON.contains("marketing_excluded"))
            #expect(try await DistributionTests.commissions(t, order: orders[1]).map(\.amount) == [600, 300])
            // The flash sale saved the third line nothing (¥50 is below its ¥60), yet its switch still keeps commission off.
            let undercutLine = try #require(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == orders[2]).first())
            #expect(undercutLine.paidAmount == 5_000)
            #expect(try await DistributionTests.commissions(t, order: orders[2]).isEmpty)
            let zeroRow = try await OrderLineDiscount.query(on: t.app.db).filter(\.$orderLineID == undercutLine.requireID()).all()
            #expect(zeroRow.map(\.amount) == [0] && zeroRow.map(\.sourceKind) == ["flash_sale"] && zeroRow.allSatisfy { !$0.paysCommission })
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.marketingCost)).fen == 8_000)
            #expect(try await CouponTests.ledger(t).verify().ok)
            let results = try await t.get("/api/v1/admin/flash-sales/\(off.id)/results", token: n.s.f.operatorToken).content.decode(FlashSaleResultsDTO.self)
            #expect((results.orders, results.unitsSold, results.salesFen, results.discountCostFen) == (1, 1, 6_000, 4_000))
        }
    }

    @Test func aShopManagesOnlyItsOwnFlashSales() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            // Another shop's SKU: refused, nothing carved.
            let theirs = try await t.postJSON("/api/v1/merchant/flash-sales", Self.flashJSON(t, sku: s.cream.skus[0].id, priceFen: 100), token: s.f.shopAToken)
            #expect(theirs.status == .unprocessableEntity, "\(theirs.body.string)")
            #expect(theirs.body.string.contains("只能选择本店的商品规格"))
            #expect(try await Self.skuStock(t, s.cream.skus[0].id) == 3)
            let mine = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id), token: s.f.shopAToken)
            // Shop B neither sees, reads nor changes it; the operator sees and stops it.
            #expect(try await t.get("/api/v1/merchant/flash-sales", token: s.f.shopBToken).content.decode([FlashSaleDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/flash-sales/\(mine.id)/stop", "{}", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.get("/api/v1/merchant/flash-sales/\(mine.id)/results", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.postJSON("/api/v1/admin/flash-sales", Self.flashJSON(t, sku: s.milk.skus[0].id), token: s.f.shopAToken).status == .forbidden)
            #expect(try await t.get("/api/v1/merchant/flash-sales", token: s.f.shopAToken).content.decode([FlashSaleDTO].self).map(\.id) == [mine.id])
            #expect(try await t.get("/api/v1/admin/flash-sales", token: s.f.operatorToken).content.decode([FlashSaleDTO].self).map(\.id) == [mine.id])
            #expect(try await FlashSaleActivity.find(mine.id, on: t.app.db)?.status == "active")
            #expect(try await t.postJSON("/api/v1/admin/flash-sales/\(mine.id)/stop", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await FlashSaleActivity.find(mine.id, on: t.app.db)?.status == "stopped")
        }
    }

    @Test func thePagesShowTheSessionsStatesAndTheOperatorsList() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let sale = try await Self.create(t, Self.flashJSON(t, sku: s.milk.skus[0].id), token: s.f.shopAToken)
            _ = try await Self.create(t, Self.flashJSON(t, sku: s.cream.skus[0].id, priceFen: 1_000, stock: 1, startsIn: 3_600), token: s.f.shopBToken)
            let html = try await t.get("/flash-sales").body.string
            #expect(html.contains("限时秒杀"))
            #expect(html.contains("¥49.00") && html.contains("¥99.00"))
            #expect(html.contains("抢购中") && html.contains("即将开始"))
            #expect(html.contains("data-seconds=\"3540\""), "\(html)")
            #expect(html.contains("/checkout?flash=\(Self.item(sale))"))
            #expect(html.contains("/js/flash-sale.js"))
            let product = try await t.get("/products/\(s.milk.id)").body.string
            #expect(product.contains("秒杀价 ¥49.00"), "\(product)")

            // Through the checkout page: the flash price, the saving, then the pay page.
            let client = PageClient(app: t.app)
            _ = try await client.get("/login")
            _ = try await client.post("/login", form: ["phone": "13600000001", "password": "Member2026"])
            let checkout = try await client.get("/checkout?flash=\(Self.item(sale))").body.string
            #expect(checkout.contains("秒杀 整点秒杀"), "\(checkout)")
            #expect(checkout.contains("-¥50.00"))
            #expect(checkout.contains("¥57.00"))
            // 立即抢购 joins the queue: the unit is held at once, the ticket's page waits for the order, then goes on to pay.
            let placed = try await client.post("/checkout", form: ["flash": "\(Self.item(sale))", "address": "\(s.address)", "idempotency_key": "flash-page-1"])
            let ticketPage = try #require(placed.headers.first(name: .location))
            #expect(ticketPage.hasPrefix("/flash-sales/tickets/"), "\(placed.status) \(placed.headers)")
            #expect(try await Self.flashItem(t, Self.item(sale)).sold == 1)
            let waiting = try await client.get(ticketPage)
            #expect(waiting.body.string.contains("排队中，正在生成订单"))
            #expect(waiting.headers.first(name: "Refresh") == "1")
            #expect(try await FlashSaleOrderBuilder.run(t.app).ordered == 1)
            let ready = try await client.get(ticketPage)
            #expect(ready.headers.first(name: .location)?.hasPrefix("/pay/") == true, "\(ready.status) \(ready.headers)")
            let pay = try await client.get(try #require(ready.headers.first(name: .location))).body.string
            #expect(pay.contains("¥57.00"))
            // Nobody else sees the ticket.
            let stranger = PageClient(app: t.app)
            _ = try await t.registerMember("13600000009")
            _ = try await stranger.get("/login")
            _ = try await stranger.post("/login", form: ["phone": "13600000009", "password": "Member2026"])
            #expect(try await stranger.get(ticketPage).status == .notFound)
            // A second one is over the limit: back to the flash sale page, nothing taken.
            let again = try await client.post("/checkout", form: ["flash": "\(Self.item(sale))", "address": "\(s.address)", "idempotency_key": "flash-page-2"])
            #expect(again.headers.first(name: .location) == "/flash-sales")
            #expect(try await Self.flashItem(t, Self.item(sale)).sold == 1)

            let admin = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            let list = try await admin.get("/admin/flash-sales").body.string
            #expect(list.contains("整点秒杀"))
            #expect(list.contains("/admin/flash-sales/\(sale.id)/stop"))
        }
    }

    @Test func hostileInputsAreRefusedWithFourHundredsAndChangeNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let milk = s.milk.skus[0].id
            let boss = s.f.operatorToken
            let formatter = ISO8601DateFormatter()
            let start = formatter.string(from: t.clock.now())
            let end = formatter.string(from: t.clock.now().addingTimeInterval(3_600))
            func session(_ items: String, start: String = start, end: String = end) -> String {
                #"{"startsAt":"\#(start)","endsAt":"\#(end)","items":[\#(items)]}"#
            }
            let good = #"{"skuId":"\#(milk)","priceFen":100,"stock":1}"#
            let bad: [(String, HTTPStatus)] = [
                (#"{"name":"\#(String(repeating: "秒", count: 41))","sessions":[\#(session(good))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(""))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(good, start: end, end: start))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(good, start: "soon"))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(good, end: "9999-01-01T00:00:00Z"))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":9900,"stock":1}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":-1,"stock":1}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":100,"stock":0}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":100,"stock":9223372036854775807}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":100,"stock":1,"perMemberLimit":0}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(UUID())","priceFen":100,"stock":1}"#))]}"#, .unprocessableEntity),
                (#"{"name":"x","sessions":[\#(session(good + "," + good))]}"#, .unprocessableEntity),
                (#"{"name":"x","unpaidMinutes":0,"sessions":[\#(session(good))]}"#, .unprocessableEntity),
                (#"{"name":"x","unpaidMinutes":99999999,"sessions":[\#(session(good))]}"#, .unprocessableEntity),
                // More than the SKU has (10): nothing carved.
                (#"{"name":"x","sessions":[\#(session(#"{"skuId":"\#(milk)","priceFen":100,"stock":11}"#))]}"#, .conflict),
                (#"{"name":"x","sessions":[\#(session(good))],"unpaidMinutes":1e400}"#, .badRequest),
                (#"{"name":"x"}"#, .badRequest),
                ("[]", .badRequest),
            ]
            for (json, status) in bad {
                let response = try await t.postJSON("/api/v1/admin/flash-sales", json, token: boss)
                #expect(response.status == status, "\(json) → \(response.body.string)")
                #expect(response.error?.message.isEmpty == false)
            }
            #expect(try await FlashSaleActivity.query(on: t.app.db).count() == 0)
            #expect(try await FlashSaleItem.query(on: t.app.db).count() == 0)
            #expect(try await Self.skuStock(t, milk) == 10)
            #expect(try await t.postJSON("/api/v1/admin/flash-sales", Self.flashJSON(t, sku: milk), token: s.buyer).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/admin/flash-sales", Self.flashJSON(t, sku: milk)).status == .unauthorized)
            #expect(try await t.postJSON("/api/v1/admin/flash-sales/not-a-uuid/pause", "{}", token: boss).status == .notFound)
            #expect(try await t.postJSON("/api/v1/admin/flash-sales/\(UUID())/stop", "{}", token: boss).status == .notFound)

            // A buyer's bad flash checkouts: refused, nothing taken.
            let sale = try await Self.create(t, Self.flashJSON(t, sku: milk), token: s.f.shopAToken)
            let item = Self.item(sale)
            let buys: [(String, HTTPStatus)] = [
                (#"{"flashSaleItemId":"\#(UUID())","addressId":"\#(s.address)"}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"\#(item)","addressId":"\#(s.address)","items":[{"skuId":"\#(s.cream.skus[0].id)","quantity":1}]}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"\#(item)","addressId":"\#(s.address)","items":[{"skuId":"\#(milk)","quantity":0}]}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"\#(item)","addressId":"\#(s.address)","items":[{"skuId":"\#(milk)","quantity":1},{"skuId":"\#(s.cream.skus[0].id)","quantity":1}]}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"\#(item)"}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"\#(item)","addressId":"\#(s.address)","deliveries":[{"merchantId":"\#(s.f.shopA)","method":"pickup","storeId":"\#(UUID())"}]}"#, .unprocessableEntity),
                (#"{"flashSaleItemId":"nope","addressId":"\#(s.address)"}"#, .badRequest),
            ]
            for (json, status) in buys {
                let response = try await t.postJSON("/api/v1/checkout", json, token: s.buyer)
                #expect(response.status == status, "\(json) → \(response.body.string)")
                #expect(response.error?.message.isEmpty == false)
            }
            #expect(try await Order.query(on: t.app.db).count() == 0)
            let row = try await Self.flashItem(t, item)
            #expect((row.available, row.sold) == (5, 0))
            #expect(try await FlashSaleMemberCount.query(on: t.app.db).count() == 0)
        }
    }
}
