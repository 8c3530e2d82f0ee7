import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// 排队下单: the unit is decided when the buyer joins the queue, the order is built after.
@Suite struct FlashSaleQueueTests {
    typealias F = FlashSaleTests

    static func join(_ t: TestContext, _ item: UUID, address: UUID, token: String, key: String? = nil, extra: String = "") async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = [:]
        if let key { headers.add(name: "Idempotency-Key", value: key) }
        return try await t.postJSON("/api/v1/flash-sales/items/\(item)/tickets", #"{"addressId":"\#(address)"\#(extra)}"#, token: token, headers: headers)
    }

    static func memberCount(_ t: TestContext, item: UUID) async throws -> Int64 {
        try await FlashSaleMemberCount.query(on: t.app.db).filter(\.$itemID == item).all().reduce(0) { $0 + $1.bought }
    }

    @Test func aTicketHoldsTheUnitAtOnceAndItsOrderPaysTheFlashPrice() async throws {
        try await withMallApp { t in
            // setup: shop A's ¥99 milk at ¥49 for 5 units, one per member
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id), token: s.f.shopAToken)
            let item = F.item(sale)

            // act: join the queue, twice with the same key, once more with another
            let joined = try await Self.join(t, item, address: s.address, token: s.buyer, key: "flash-1")
            let again = try await Self.join(t, item, address: s.address, token: s.buyer, key: "flash-1")
            let second = try await Self.join(t, item, address: s.address, token: s.buyer, key: "flash-2")

            // check: 202 with a queued ticket; the same key gives it back; the limit refuses a second unit
            #expect(joined.status == .accepted, "\(joined.body.string)")
            let ticket = try joined.content.decode(FlashSaleTicketDTO.self)
            #expect(ticket.status == "queued")
            #expect(ticket.statusLabel == "排队中，正在生成订单")
            #expect(again.status == .accepted)
            #expect(try again.content.decode(FlashSaleTicketDTO.self).id == ticket.id)
            #expect(second.status == .conflict)
            #expect(second.error?.code == "flash_sale_member_limit")
            // The unit is the buyer's before any order exists.
            var row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (4, 1))
            #expect(try await Self.memberCount(t, item: item) == 1)
            #expect(try await Order.query(on: t.app.db).count() == 0)

            // act: the builder makes the order
            let report = try await FlashSaleOrderBuilder.run(t.app)
            #expect(report == .init(ordered: 1, failed: 0))
            let built = try await t.get("/api/v1/flash-sales/tickets/\(ticket.id)", token: s.buyer).content.decode(FlashSaleTicketDTO.self)
            #expect(built.status == "ordered")
            #expect(built.orderIds.count == 1)
            let paymentID = try #require(built.paymentId)
            let payment = try #require(try await Payment.find(paymentID, on: t.app.db))
            // ¥49 + ¥8 shipping, closing unpaid after the activity's five minutes
            #expect(payment.amount == 5_700)
            #expect(payment.expiresAt.timeIntervalSince(payment.createdAt) == 300)
            let line = try #require(try await OrderLine.query(on: t.app.db).first())
            #expect((line.unitPrice, line.paidAmount, line.discountAmount) == (9_900, 4_900, 5_000))
            let paid = try await t.postJSON("/api/v1/payments/\(paymentID)/pay", #"{"method":"balance"}"#, token: s.buyer)
            #expect(paid.status == .ok, "\(paid.body.string)")

            // check: one unit sold, counted once; the results and the ledger agree
            row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (4, 1))
            #expect(try await FlashSalePurchase.query(on: t.app.db).count() == 1)
            #expect(try await FlashSaleOrderBuilder.run(t.app) == .init())
            let results = try await t.get("/api/v1/merchant/flash-sales/\(sale.id)/results", token: s.f.shopAToken).content.decode(FlashSaleResultsDTO.self)
            #expect((results.orders, results.unitsSold, results.salesFen, results.discountCostFen, results.available) == (1, 1, 4_900, 5_000, 4))
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func concurrentBuyersInTheQueueGetExactlyTheUnitsThereAre() async throws {
        try await withMallApp { t in
            // setup: 5 units, 20 members each trying twice at once
            let s = try await OrderFlowTests.shop(t, milkStock: 50)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 5), token: s.f.shopAToken)
            let item = F.item(sale)
            var buyers: [(token: String, address: UUID)] = []
            for index in 0..<20 { buyers.append(try await F.buyer(t, "1362000\(String(format: "%04d", index))")) }

            // act
            let statuses = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for buyer in buyers + buyers {
                    group.addTask {
                        let response = try await Self.join(t, item, address: buyer.address, token: buyer.token)
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }
            // Two builders at once build each ticket once.
            async let first = FlashSaleOrderBuilder.run(t.app)
            async let second = FlashSaleOrderBuilder.run(t.app)
            let reports = try await [first, second]

            // check: exactly 5 tickets, each refusal a sold-out or the member's limit, 5 orders
            #expect(statuses.filter { $0.0 == .accepted }.count == 5)
            #expect(statuses.filter { $0.0 == .conflict }.count == 35)
            #expect(statuses.allSatisfy { $0.0 == .accepted || ["flash_sale_sold_out", "flash_sale_member_limit"].contains($0.1) })
            #expect(reports.reduce(0) { $0 + $1.ordered } == 5)
            #expect(try await FlashSaleTicket.query(on: t.app.db).count() == 5)
            #expect(try await Order.query(on: t.app.db).count() == 5)
            #expect(Set(try await Order.query(on: t.app.db).all().map(\.memberID)).count == 5)
            let row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 5))
            #expect(try await Self.memberCount(t, item: item) == 5)
        }
    }

    @Test func aTicketWhoseOrderCannotBeMadeFailsAndGivesItsUnitBack() async throws {
        try await withMallApp { t in
            // setup: 1 unit; the buyer joins, then deletes the address the order was to go to
            let s = try await OrderFlowTests.shop(t)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 1), token: s.f.shopAToken)
            let item = F.item(sale)
            let other = try await F.buyer(t, "13600000002")
            let ticket = try await Self.join(t, item, address: s.address, token: s.buyer).content.decode(FlashSaleTicketDTO.self)
            #expect(try await Self.join(t, item, address: other.address, token: other.token).error?.code == "flash_sale_sold_out")
            #expect(try await t.send(.DELETE, "/api/v1/me/addresses/\(s.address)", token: s.buyer).status == .noContent)

            // act
            let report = try await FlashSaleOrderBuilder.run(t.app)

            // check: failed with its reason, no order, the unit back for anyone (the sold-out memory is short)
            #expect(report == .init(ordered: 0, failed: 1))
            let failed = try await t.get("/api/v1/flash-sales/tickets/\(ticket.id)", token: s.buyer).content.decode(FlashSaleTicketDTO.self)
            #expect(failed.status == "failed")
            #expect(failed.message == "收货地址已删除")
            #expect(failed.paymentId == nil)
            #expect(try await Order.query(on: t.app.db).count() == 0)
            var row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (1, 0))
            #expect(try await Self.memberCount(t, item: item) == 0)
            t.clock.advance(seconds: 2)
            #expect(try await Self.join(t, item, address: other.address, token: other.token).status == .accepted)
            #expect(try await FlashSaleOrderBuilder.run(t.app) == .init(ordered: 1, failed: 0))
            row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 1))
            // Failing twice gives back nothing more.
            try await FlashSaleOrderBuilder.fail(ticket.id, lease: UUID(), reason: .notFound, app: t.app)
            row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 1))
        }
    }

    @Test func anUnpaidQueuedOrderClosesAndItsUnitSellsAgainThroughTheQueue() async throws {
        try await withMallApp { t in
            // setup: 1 unit; the buyer's ticket becomes an order left unpaid
            let s = try await OrderFlowTests.shop(t)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 1), token: s.f.shopAToken)
            let item = F.item(sale)
            let other = try await F.buyer(t, "13600000002")
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer).status == .accepted)
            _ = try await FlashSaleOrderBuilder.run(t.app)

            // act: five minutes pass, the close job runs
            t.clock.advance(seconds: 301)
            let closed = try await OrderJobs.closeUnpaid(t.app, settings: .init())

            // check: the unit is back and the other member wins it through the queue
            #expect(closed.closed == 1)
            var row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (1, 0))
            #expect(try await Self.join(t, item, address: other.address, token: other.token).status == .accepted)
            #expect(try await FlashSaleOrderBuilder.run(t.app) == .init(ordered: 1, failed: 0))
            row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 1))
            #expect(try await Self.memberCount(t, item: item) == 1)
        }
    }

    @Test func aBuilderThatStoppedLetsItsTicketGoAndItIsBuiltOnce() async throws {
        try await withMallApp { t in
            // setup: two tickets leased by a builder that then stops
            let s = try await OrderFlowTests.shop(t)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 5), token: s.f.shopAToken)
            let item = F.item(sale)
            let other = try await F.buyer(t, "13600000002")
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer).status == .accepted)
            #expect(try await Self.join(t, item, address: other.address, token: other.token).status == .accepted)
            let stale = try await FlashSaleOrderBuilder.lease(t.app)
            #expect(stale.count == 2)
            // While the lease holds, nobody else takes them.
            #expect(try await FlashSaleOrderBuilder.run(t.app) == .init())

            // act: the lease runs out, another builder builds them, then the stopped one wakes up
            t.clock.advance(seconds: 61)
            let report = try await FlashSaleOrderBuilder.run(t.app)
            let late = try await FlashSaleOrderBuilder.build(stale[0], app: t.app)

            // check: two orders, not three; the late builder changed nothing
            #expect(report == .init(ordered: 2, failed: 0))
            #expect(!late)
            #expect(try await Order.query(on: t.app.db).count() == 2)
            #expect(try await FlashSalePurchase.query(on: t.app.db).count() == 2)
            let row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (3, 2))
            #expect(try await FlashSaleTicket.query(on: t.app.db).all().allSatisfy { $0.status == "ordered" })
        }
    }

    @Test func twoInstancesQueuesAndDirectCheckoutsTogetherSellExactlyTheUnits() async throws {
        try await withMallApp { t in
            // setup: 7 units, one per member; 24 members
            let s = try await OrderFlowTests.shop(t, milkStock: 50)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 7), token: s.f.shopAToken)
            let item = F.item(sale)
            var buyers: [(token: String, address: UUID)] = []
            for index in 0..<24 { buyers.append(try await F.buyer(t, "1363000\(String(format: "%04d", index))")) }

            // act: a third through this instance's queue, a third through the other's, a third by direct checkout, all at once
            let won = try await t.withSecondInstance { other in
                let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for (index, buyer) in buyers.enumerated() {
                        group.addTask {
                            switch index % 3 {
                            case 0: return try await Self.join(t, item, address: buyer.address, token: buyer.token).status == .accepted
                            case 1:
                                let response = try await other.testing().sendRequest(.POST, "/api/v1/flash-sales/items/\(item)/tickets",
                                    headers: ["Authorization": "Bearer \(buyer.token)", "Content-Type": "application/json"],
                                    body: .init(string: #"{"addressId":"\#(buyer.address)"}"#))
                                return response.status == .accepted
                            default: return try await F.buy(t, item, address: buyer.address, token: buyer.token).status == .created
                            }
                        }
                    }
                    return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
                }
                async let here = FlashSaleOrderBuilder.run(t.app)
                async let there = FlashSaleOrderBuilder.run(other)
                _ = try await [here, there]
                return wins
            }

            // check: 7 won, 7 orders of 7 members, nothing left, counts exact
            #expect(won == 7)
            #expect(try await Order.query(on: t.app.db).count() == 7)
            #expect(Set(try await Order.query(on: t.app.db).all().map(\.memberID)).count == 7)
            #expect(try await FlashSalePurchase.query(on: t.app.db).count() == 7)
            let row = try await F.flashItem(t, item)
            #expect((row.available, row.sold) == (0, 7))
            #expect(try await Self.memberCount(t, item: item) == 7)
        }
    }

    @Test func badRequestsToTheQueueAreRefusedAndChangeNothing() async throws {
        try await withMallApp { t in
            // setup: a sale starting in ten minutes and one on now
            let s = try await OrderFlowTests.shop(t, milkStock: 20)
            let later = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 2, startsIn: 600), token: s.f.shopAToken)
            let sale = try await F.create(t, F.flashJSON(t, sku: s.milk.skus[0].id, stock: 2), token: s.f.shopAToken)
            let item = F.item(sale)
            let other = try await F.buyer(t, "13600000002")

            // act and check
            let notYet = try await Self.join(t, F.item(later), address: s.address, token: s.buyer)
            #expect(notYet.status == .conflict)
            #expect(notYet.error?.code == "flash_sale_not_started")
            let foreign = try await Self.join(t, item, address: other.address, token: s.buyer)
            #expect(foreign.status == .unprocessableEntity)
            #expect(foreign.error?.details.first?.field == "addressId")
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer, extra: #","quantity":0"#).status == .unprocessableEntity)
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer, extra: #","quantity":9223372036854775807"#).status == .unprocessableEntity)
            let longNote = String(repeating: "备", count: 201)
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer, extra: #","note":"\#(longNote)""#).status == .unprocessableEntity)
            #expect(try await Self.join(t, UUID(), address: s.address, token: s.buyer).status == .notFound)
            #expect(try await t.postJSON("/api/v1/flash-sales/items/\(item)/tickets", #"{"quantity":1}"#, token: s.buyer).status == .badRequest)
            #expect(try await Self.join(t, item, address: s.address, token: s.f.shopAToken).status == .forbidden)
            #expect(try await t.postJSON("/api/v1/flash-sales/items/\(item)/tickets", #"{"addressId":"\#(s.address)"}"#).status == .unauthorized)
            #expect(try await Self.join(t, item, address: s.address, token: s.buyer, key: String(repeating: "k", count: 65)).status == .badRequest)
            #expect(try await FlashSaleTicket.query(on: t.app.db).count() == 0)
            #expect((try await F.flashItem(t, item).available, try await F.flashItem(t, item).sold) == (2, 0))

            // Someone else's ticket is not found; the same key on another item is refused.
            let mine = try await Self.join(t, item, address: s.address, token: s.buyer, key: "k1").content.decode(FlashSaleTicketDTO.self)
            #expect(try await t.get("/api/v1/flash-sales/tickets/\(mine.id)", token: other.token).status == .notFound)
            t.clock.advance(seconds: 601)
            let reused = try await Self.join(t, F.item(later), address: s.address, token: s.buyer, key: "k1")
            #expect(reused.status == .conflict)
            #expect(reused.error?.code == "idempotency_key_reused")
            #expect(try await FlashSaleTicket.query(on: t.app.db).count() == 1)
        }
    }
}
