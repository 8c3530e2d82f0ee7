import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct GroupBuyTests {
    /// Shop A's milk (¥99.00) at ¥69.00 in groups of `size`, `minutes` to fill.
    static func activity(_ t: TestContext, _ s: OrderFlowTests.Shop, size: Int = 2, minutes: Int = 1_440, virtual: Bool = false) async throws -> GroupBuyActivityDTO {
        let (start, end) = PromotionTests.window(t)
        let json = #"{"name":"奶粉两人团","skuId":"\#(s.milk.skus[0].id)","priceFen":6900,"size":\#(size),"durationMinutes":\#(minutes),"virtualCompletion":\#(virtual),"startsAt":"\#(start)","endsAt":"\#(end)"}"#
        let response = try await t.postJSON("/api/v1/merchant/group-buys", json, token: s.f.shopAToken)
        #expect(response.status == .created, "\(response.body.string)")
        return try response.content.decode(GroupBuyActivityDTO.self)
    }

    /// A member with an address, ready to check out.
    static func member(_ t: TestContext, _ phone: String) async throws -> (token: String, address: UUID) {
        let token = try await t.quickMember(phone)
        let address = try await t.postJSON("/api/v1/me/addresses", AddressTests.addressJSON(), token: token).content.decode(AddressDTO.self)
        return (token, address.id)
    }

    static func place(_ t: TestContext, activity: UUID, group: UUID? = nil, address: UUID, token: String) async throws -> TestingHTTPResponse {
        let groupJSON = group.map { #","groupId":"\#($0)""# } ?? ""
        return try await t.postJSON("/api/v1/checkout", #"{"addressId":"\#(address)","groupBuy":{"activityId":"\#(activity)"\#(groupJSON)}}"#, token: token)
    }

    /// Pays at the sandbox and delivers its signed callback, as the cashier would.
    static func paySandbox(_ t: TestContext, _ paymentID: UUID, token: String) async throws {
        let chosen = try await t.postJSON("/api/v1/payments/\(paymentID)/pay", #"{"method":"sandbox"}"#, token: token)
        #expect(chosen.status == .ok, "\(chosen.body.string)")
        let payment = try #require(try await Payment.find(paymentID, on: t.app.db))
        let notification = try await SandboxCharges.charge(payment, app: t.app)
        let body = Array(try JSONEncoder().encode(notification))
        let timestamp = Int64(t.clock.now().timeIntervalSince1970)
        let delivered = try await t.app.testing().sendRequest(.POST, "/callbacks/sandbox", headers: [
            "Content-Type": "application/json", "X-Sandbox-Timestamp": String(timestamp),
            "X-Sandbox-Signature": t.app.sandboxGateway.sign(body: body, timestamp: timestamp)], body: .init(bytes: body))
        #expect(delivered.status == .ok, "\(delivered.body.string)")
    }

    static func group(ofOrder orderID: UUID, _ t: TestContext) async throws -> GroupBuyGroup {
        let member = try #require(try await GroupBuyMember.query(on: t.app.db).filter(\.$orderID == orderID).first())
        return try #require(try await GroupBuyGroup.find(try #require(member.groupID), on: t.app.db))
    }

    @Test func aGroupThatFillsSucceedsAndOnlyThenShips() async throws {
        try await withMallApp { t in
            // setup
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s)
            #expect(activity.summary == "2人团 ¥69.00")
            #expect(!activity.paysCommission)

            // act: the leader opens the group and pays from the balance
            let opened = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer)
            #expect(opened.status == .created, "\(opened.body.string)")
            let leader = try opened.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: s.buyer)
            let group = try await Self.group(ofOrder: leader.orders[0].id, t)
            let before = try await t.get("/api/v1/group-buys/groups/\(try group.requireID())").content.decode(GroupBuyGroupDTO.self)
            let openBefore = try await t.get("/api/v1/group-buys/\(activity.id)/groups").content.decode([GroupBuyGroupDTO].self)
            let tooEarly = try await t.postJSON("/api/v1/merchant/orders/\(leader.orders[0].id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)
            // a friend joins through the group and pays
            let friend = try await Self.member(t, "13600000002")
            try await OrderFlowTests.topUp(t, phone: "13600000002", fen: 50_000)
            let joined = try await Self.place(t, activity: activity.id, group: try group.requireID(), address: friend.address, token: friend.token)
            #expect(joined.status == .created, "\(joined.body.string)")
            let joiner = try joined.content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, joiner, token: friend.token)
            let shipped = try await t.postJSON("/api/v1/merchant/orders/\(leader.orders[0].id)/ship", #"{"carrier":"顺丰速运","trackingNo":"SF100"}"#, token: s.f.shopAToken)

            // check: ¥69.00 + ¥8.00 shipping each; the group formed; the saving of ¥30.00 is recorded per line, paying no commission
            #expect(leader.payment.amount.fen == 7_700)
            #expect(joiner.payment.amount.fen == 7_700)
            #expect(before.paid == 1 && before.seatsLeft == 1 && before.status == "open" && before.canJoin)
            #expect(before.secondsLeft == 86_400)
            #expect(tooEarly.status == .conflict)
            #expect(tooEarly.error?.code == "group_buy.not_formed")
            let after = try await t.get("/api/v1/group-buys/groups/\(try group.requireID())").content.decode(GroupBuyGroupDTO.self)
            #expect(after.status == "succeeded" && after.paid == 2 && after.seatsLeft == 0 && !after.canJoin)
            // The open group is listed to join while it has a seat, and no longer once it formed.
            #expect(openBefore.map(\.id) == [try group.requireID()])
            #expect(try await t.get("/api/v1/group-buys/\(activity.id)/groups").content.decode([GroupBuyGroupDTO].self).isEmpty)
            #expect(try await t.get("/api/v1/group-buys/\(UUID())/groups").status == .notFound)
            #expect(after.members.map(\.isLeader) == [true, false])
            #expect(shipped.status == .ok, "\(shipped.body.string)")
            let shares = try await OrderLineDiscount.query(on: t.app.db).all()
            #expect(shares.map(\.amount) == [3_000, 3_000])
            #expect(shares.allSatisfy { $0.sourceKind == "group_buy" && !$0.paysCommission && $0.payer == "merchant" && $0.payerMerchantID == s.f.shopA })
            let lines = try await OrderLine.query(on: t.app.db).all()
            #expect(lines.map(\.paidAmount) == [6_900, 6_900])
            let results = try await t.get("/api/v1/merchant/group-buys/\(activity.id)/results", token: s.f.shopAToken).content.decode(GroupBuyResultsDTO.self)
            #expect(results.succeededGroups == 1 && results.paidOrders == 2 && results.sales.fen == 15_400 && results.discountCost.fen == 6_000)
            // The page shows the group, its seats and its share link.
            let page = try await t.get("/groups/\(try group.requireID())")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("拼团成功"))
            #expect(page.body.string.lowercased().contains("/groups/\(try group.requireID().uuidString.lowercased())/qr.svg"))
            #expect(try await t.get("/groups/\(try group.requireID())/qr.svg").status == .ok)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func aFriendWhoOpensTheGroupBindsToTheLeadersDistributorLikeAnyLink() async throws {
        try await withMallApp { t in
            // setup: the buyer is bound to the sharer and opens a group; a friend has an account
            let n = try await DistributionTests.network(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, n.s)
            let leader = try await Self.place(t, activity: activity.id, address: n.s.address, token: n.s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: n.s.buyer)
            let groupID = try await Self.group(ofOrder: leader.orders[0].id, t).requireID()
            try await t.registerMember("13700000009")
            let visitor = PageClient(app: t.app)

            // act: the friend opens the group's link, then signs in
            let page = try await visitor.get("/groups/\(groupID)")
            try await visitor.get("/login")
            _ = try await visitor.post("/login", form: ["phone": "13700000009", "password": "Member2026"])

            // check: the visit counted for the sharer and the friend is bound to the sharer
            #expect(page.status == .ok)
            #expect(page.body.string.contains("立即参团"))
            #expect(visitor.cookies["fm_share"] == n.sharerCode)
            let friend = try await t.memberID(phone: "13700000009")
            #expect(try await CustomerBinding.find(friend, on: t.app.db)?.distributorID == n.sharerID)
            // The product page offers the group; the group's poster renders.
            let product = try await visitor.get("/products/\(n.s.milk.id)")
            #expect(product.body.string.contains("2人团 ¥69.00"))
            #expect(product.body.string.contains("发起拼团"))
            let poster = try await visitor.get("/groups/\(groupID)/poster.png")
            #expect(poster.status == .ok)
            #expect(poster.headers.contentType == .png)
        }
    }

    @Test func aGroupThatExpiresRefundsEveryMemberInFullThroughTheSandbox() async throws {
        try await withMallApp { t in
            // setup: a group of three with two paid members at the sandbox
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.activity(t, s, size: 3)
            let clearingBefore = try await CouponTests.ledger(t).balance(of: .platform(.paymentClearing))
            let leader = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await Self.paySandbox(t, leader.payment.id, token: s.buyer)
            let groupID = try await Self.group(ofOrder: leader.orders[0].id, t).requireID()
            let friend = try await Self.member(t, "13600000002")
            let joiner = try await Self.place(t, activity: activity.id, group: groupID, address: friend.address, token: friend.token)
                .content.decode(CheckoutResultDTO.self)
            try await Self.paySandbox(t, joiner.payment.id, token: friend.token)
            #expect(try await CouponTests.ledger(t).balance(of: .platform(.paymentClearing)).fen == clearingBefore.fen + 15_400)

            // act: a day passes; the job runs (twice: a second run changes nothing)
            let early = try await GroupBuyJobs.run(t.app)
            t.clock.advance(seconds: 86_400)
            let report = try await GroupBuyJobs.run(t.app)
            let again = try await GroupBuyJobs.run(t.app)

            // check: both refunded ¥77.00 through the sandbox, the orders closed, the ledger back where it was
            #expect(early.failed == 0)
            #expect(report.failed == 1 && report.refundsSent == 2)
            #expect(again == .init())
            let group = try #require(try await GroupBuyGroup.find(groupID, on: t.app.db))
            #expect(group.status == "failed")
            let orders = try await Order.query(on: t.app.db).all()
            #expect(orders.map(\.state) == ["closed", "closed"])
            #expect(orders.allSatisfy { $0.refundedAmount == $0.payable && $0.payable == 7_700 })
            let refunds = try await Refund.query(on: t.app.db).all()
            #expect(refunds.count == 2 && refunds.allSatisfy { $0.status == "succeeded" && $0.method == "sandbox" && $0.total == 7_700 })
            #expect(try await GroupBuyMember.query(on: t.app.db).all().allSatisfy { $0.status == "refunded" })
            let ledger = CouponTests.ledger(t)
            #expect(try await ledger.balance(of: .platform(.paymentClearing)).fen == clearingBefore.fen)
            #expect(try await ledger.balance(of: LedgerAccountKey(.merchantPending, .merchant(s.f.shopA))).fen == 0)
            #expect(try await ledger.balance(of: .platform(.feeRevenue)).fen == 0)
            #expect(try await ledger.verify().ok)
        }
    }

    @Test func withVirtualCompletionAShortGroupSucceedsAtItsDeadline() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s, size: 3, virtual: true)
            let leader = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: s.buyer)
            t.clock.advance(seconds: 86_401)
            let report = try await GroupBuyJobs.run(t.app)
            #expect(report.succeeded == 1 && report.refundsSent == 0)
            let group = try await Self.group(ofOrder: leader.orders[0].id, t)
            #expect(group.status == "succeeded" && group.virtualMembers == 2)
            #expect(try await Refund.query(on: t.app.db).count() == 0)
        }
    }

    @Test func concurrentJoinsNeverExceedTheSizeAndAClosedOrderFreesItsSeat() async throws {
        try await withMallApp { t in
            // setup: a group of three whose leader paid; eight friends with addresses
            let s = try await OrderFlowTests.shop(t, milkStock: 50)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s, size: 3)
            let leader = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: s.buyer)
            let groupID = try await Self.group(ofOrder: leader.orders[0].id, t).requireID()
            var friends: [(token: String, address: UUID)] = []
            for index in 0..<8 { friends.append(try await Self.member(t, "1360000010\(index)")) }

            // act: all eight join at once
            let outcomes = try await withThrowingTaskGroup(of: (HTTPStatus, String, UUID?).self) { tasks in
                for friend in friends {
                    tasks.addTask {
                        let response = try await Self.place(t, activity: activity.id, group: groupID, address: friend.address, token: friend.token)
                        let result = try? response.content.decode(CheckoutResultDTO.self)
                        return (response.status, response.error?.code ?? "", result?.orders.first?.id)
                    }
                }
                return try await tasks.reduce(into: [(HTTPStatus, String, UUID?)]()) { $0.append($1) }
            }

            // check: two seats were left, two joined, six were told the group is full
            #expect(outcomes.filter { $0.0 == .created }.count == 2, "\(outcomes.map { ($0.0.code, $0.1) })")
            #expect(outcomes.filter { $0.0 == .conflict && $0.1 == "group_full" }.count == 6, "\(outcomes.map { ($0.0.code, $0.1) })")
            var group = try #require(try await GroupBuyGroup.find(groupID, on: t.app.db))
            #expect(group.paid == 1 && group.held == 2)
            // One joiner cancels the unpaid order: the seat is free again and a ninth friend takes it.
            let orderIDs = outcomes.compactMap { $0.2 }
            #expect(orderIDs.count == 2, "\(outcomes)")
            let orderID = try #require(orderIDs.first)
            let order = try #require(try await Order.find(orderID, on: t.app.db))
            try await t.app.writeGate.transaction(on: t.app.db) { db in
                try await OrderService(db: db, now: t.clock.now()).cancelByBuyer(orderID, memberID: order.memberID)
            }
            group = try #require(try await GroupBuyGroup.find(groupID, on: t.app.db))
            #expect(group.held == 1)
            let ninth = try await Self.member(t, "13600000199")
            let late = try await Self.place(t, activity: activity.id, group: groupID, address: ninth.address, token: ninth.token)
            #expect(late.status == .created, "\(late.body.string)")
            group = try #require(try await GroupBuyGroup.find(groupID, on: t.app.db))
            #expect(group.held == 2 && group.paid == 1)
        }
    }

    @Test func aJoinersPaymentAfterTheDeadlineIsRefundedInFull() async throws {
        try await withMallApp { t in
            // setup: a group of two with ten minutes to fill; a friend places at minute nine
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s, size: 2, minutes: 10)
            let leader = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: s.buyer)
            let groupID = try await Self.group(ofOrder: leader.orders[0].id, t).requireID()
            t.clock.advance(seconds: 540)
            let friend = try await Self.member(t, "13600000002")
            let joiner = try await Self.place(t, activity: activity.id, group: groupID, address: friend.address, token: friend.token)
                .content.decode(CheckoutResultDTO.self)

            // act: the deadline passes, the job fails the group; then the friend's payment arrives
            t.clock.advance(seconds: 120)
            _ = try await GroupBuyJobs.run(t.app)
            let token = try await DistributionTests.token(t, try await t.memberID(phone: "13600000002"))
            try await Self.paySandbox(t, joiner.payment.id, token: token)
            let report = try await GroupBuyJobs.run(t.app)

            // check: the friend's ¥77.00 went back through the sandbox, like the leader's
            #expect(report.refundsSent == 1)
            let order = try #require(try await Order.find(joiner.orders[0].id, on: t.app.db))
            #expect(order.state == "closed" && order.refundedAmount == 7_700)
            let refund = try #require(try await Refund.query(on: t.app.db).filter(\.$orderID == joiner.orders[0].id).first())
            #expect(refund.status == "succeeded" && refund.total == 7_700 && refund.method == "sandbox")
            let member = try #require(try await GroupBuyMember.query(on: t.app.db).filter(\.$orderID == joiner.orders[0].id).first())
            #expect(member.status == "refunded")
            #expect(try #require(try await GroupBuyGroup.find(groupID, on: t.app.db)).paid == 1)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func anOpenGroupTakesNoAfterSalesAndALeaderPayingAfterTheStopIsRefunded() async throws {
        try await withMallApp { t in
            // setup: the buyer's group is open with one paid member; a second leader has placed but not paid
            let s = try await OrderFlowTests.shop(t)
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let activity = try await Self.activity(t, s, size: 3)
            let first = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, first, token: s.buyer)
            let groupID = try await Self.group(ofOrder: first.orders[0].id, t).requireID()
            let line = try #require(try await OrderLine.query(on: t.app.db).filter(\.$order.$id == first.orders[0].id).first())
            let late = try await Self.member(t, "13600000002")
            let second = try await Self.place(t, activity: activity.id, address: late.address, token: late.token).content.decode(CheckoutResultDTO.self)

            // act: the buyer and the operator try to refund the open group's order; the shop stops the activity; the second leader pays
            let asked = try await t.postJSON("/api/v1/me/orders/\(first.orders[0].id)/after-sales",
                                             #"{"lineId":"\#(try line.requireID())","kind":"refund_only","units":1,"reason":"不想要了"}"#, token: s.buyer)
            let byOperator = try await t.postJSON("/api/v1/admin/orders/\(first.orders[0].id)/refunds",
                                                  #"{"lineId":"\#(try line.requireID())","units":1,"reason":"投诉"}"#, token: s.f.operatorToken)
            #expect(try await t.postJSON("/api/v1/merchant/group-buys/\(activity.id)/stop", "{}", token: s.f.shopAToken).status == .ok)
            try await Self.paySandbox(t, second.payment.id, token: late.token)
            let report = try await GroupBuyJobs.run(t.app)

            // check: both refusals say why and wrote nothing; the open group still counts one paid member
            #expect(asked.status == .conflict && byOperator.status == .conflict)
            #expect(asked.error?.code == "group_buy.in_progress" && byOperator.error?.code == "group_buy.in_progress")
            #expect(asked.body.string.contains("拼团进行中"))
            #expect(try await AfterSale.query(on: t.app.db).filter(\.$orderID == first.orders[0].id).count() == 0)
            let group = try #require(try await GroupBuyGroup.find(groupID, on: t.app.db))
            #expect(group.status == "open" && group.paid == 1)
            // The second leader's ¥77.00 went back through the sandbox and no group opened for it.
            #expect(report.refundsSent == 1)
            let order = try #require(try await Order.find(second.orders[0].id, on: t.app.db))
            #expect(order.state == "closed" && order.refundedAmount == 7_700)
            let refund = try #require(try await Refund.query(on: t.app.db).filter(\.$orderID == second.orders[0].id).first())
            #expect(refund.status == "succeeded" && refund.total == 7_700 && refund.method == "sandbox")
            let leader = try #require(try await GroupBuyMember.query(on: t.app.db).filter(\.$orderID == second.orders[0].id).first())
            #expect(leader.status == "refunded" && leader.groupID == nil)
            #expect(try await GroupBuyGroup.query(on: t.app.db).count() == 1)
            #expect(try await CouponTests.ledger(t).verify().ok)
        }
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let (start, end) = PromotionTests.window(t)
            let sku = s.milk.skus[0].id
            for (json, field) in [
                (#"{"name":"x","skuId":"\#(sku)","priceFen":9900,"size":2,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "priceFen"),
                (#"{"name":"x","skuId":"\#(sku)","priceFen":100,"size":1,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "size"),
                (#"{"name":"x","skuId":"\#(sku)","priceFen":100,"size":2,"durationMinutes":0,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "durationMinutes"),
                (#"{"name":" ","skuId":"\#(sku)","priceFen":100,"size":2,"startsAt":"\#(start)","endsAt":"\#(end)"}"#, "name"),
                (#"{"name":"x","skuId":"\#(sku)","priceFen":100,"size":2,"startsAt":"\#(end)","endsAt":"\#(start)"}"#, "endsAt"),
            ] {
                let response = try await t.postJSON("/api/v1/merchant/group-buys", json, token: s.f.shopAToken)
                #expect(response.status == .unprocessableEntity, "\(json)")
                #expect(response.error?.details.map(\.field).contains(field) == true, "\(response.body.string)")
            }
            #expect(try await GroupBuyActivity.query(on: t.app.db).count() == 0)
            // A checkout naming a made-up activity or group, or two units, is refused with nothing written.
            let activity = try await Self.activity(t, s)
            let unknown = try await Self.place(t, activity: UUID(), address: s.address, token: s.buyer)
            #expect(unknown.status == .unprocessableEntity)
            let noGroup = try await Self.place(t, activity: activity.id, group: UUID(), address: s.address, token: s.buyer)
            #expect(noGroup.status == .unprocessableEntity)
            let two = try await t.postJSON("/api/v1/checkout", #"{"addressId":"\#(s.address)","items":[{"skuId":"\#(sku)","quantity":2}],"groupBuy":{"activityId":"\#(activity.id)"}}"#, token: s.buyer)
            #expect(two.status == .unprocessableEntity)
            #expect(try await Order.query(on: t.app.db).count() == 0)
            #expect(try await GroupBuyMember.query(on: t.app.db).count() == 0)
            // The leader cannot join their own group.
            try await OrderFlowTests.topUp(t, phone: "13600000001", fen: 50_000)
            let leader = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer).content.decode(CheckoutResultDTO.self)
            try await PromotionTests.pay(t, leader, token: s.buyer)
            let groupID = try await Self.group(ofOrder: leader.orders[0].id, t).requireID()
            let own = try await Self.place(t, activity: activity.id, group: groupID, address: s.address, token: s.buyer)
            #expect(own.status == .conflict)
            #expect(try await Order.query(on: t.app.db).count() == 1)
        }
    }

    @Test func aShopSeesAndChangesOnlyItsOwnActivities() async throws {
        try await withMallApp { t in
            let s = try await OrderFlowTests.shop(t)
            let activity = try await Self.activity(t, s)
            let (start, end) = PromotionTests.window(t)
            // Shop B cannot use shop A's SKU, see, pause or read the results of shop A's activity.
            let foreign = try await t.postJSON("/api/v1/merchant/group-buys",
                                               #"{"name":"x","skuId":"\#(s.milk.skus[0].id)","priceFen":100,"size":2,"startsAt":"\#(start)","endsAt":"\#(end)"}"#,
                                               token: s.f.shopBToken)
            #expect(foreign.status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/merchant/group-buys", token: s.f.shopBToken).content.decode([GroupBuyActivityDTO].self).isEmpty)
            #expect(try await t.postJSON("/api/v1/merchant/group-buys/\(activity.id)/pause", "{}", token: s.f.shopBToken).status == .notFound)
            #expect(try await t.get("/api/v1/merchant/group-buys/\(activity.id)/results", token: s.f.shopBToken).status == .notFound)
            #expect(try await GroupBuyActivity.find(activity.id, on: t.app.db)?.status == "active")
            // The operator sees it and can stop any activity; a stopped one stays stopped.
            #expect(try await t.get("/api/v1/admin/group-buys", token: s.f.operatorToken).content.decode([GroupBuyActivityDTO].self).map(\.id) == [activity.id])
            #expect(try await t.postJSON("/api/v1/admin/group-buys/\(activity.id)/stop", "{}", token: s.f.operatorToken).status == .ok)
            #expect(try await t.postJSON("/api/v1/merchant/group-buys/\(activity.id)/resume", "{}", token: s.f.shopAToken).status == .conflict)
            // A stopped activity opens no group.
            let refused = try await Self.place(t, activity: activity.id, address: s.address, token: s.buyer)
            #expect(refused.status == .conflict)
        }
    }
}
