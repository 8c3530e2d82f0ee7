import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// The farming guard (羊毛防护): new-user coupons and bargain cuts limited per phone, device and
/// address, and the operator's report of devices and addresses several members used.
@Suite struct FarmingGuardTests {
    static let newUserCoupon = #"{"name":"新人10元","kind":"new_user","amountOffFen":1000,"validDays":7,"perMember":1}"#

    static func operatorToken(_ t: TestContext) async throws -> String {
        try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
        return try await t.staffToken("boss", console: "platform")
    }

    static func claim(_ t: TestContext, _ template: UUID, token: String, device: String?, address: String? = nil) async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = [:]
        if let device { headers.add(name: "X-Device-Id", value: device) }
        if let address { headers.add(name: "X-Forwarded-For", value: address) }
        return try await t.postJSON("/api/v1/coupons/\(template)/claim", "{}", token: token, headers: headers)
    }

    static func putLimits(_ t: TestContext, token: String, perDevice: Int = 1, perIp: Int = 3, cutsPerDevice: Int = 5, cutsPerIp: Int = 20,
                          cluster: Int = 3) async throws -> TestingHTTPResponse {
        try await t.send(.PUT, "/api/v1/admin/risk/farming/settings", #"""
            {"newUserCouponMembersPerDevice":\#(perDevice),"newUserCouponMembersPerIpPerDay":\#(perIp),"cutsPerDevicePerDay":\#(cutsPerDevice),"cutsPerIpPerDay":\#(cutsPerIp),"clusterMinMembers":\#(cluster)}
            """#, token: token)
    }

    @Test func oneDeviceGivesNewUserCouponsToOneMemberOnly() async throws {
        try await withMallApp { t in
            // setup: two new-user coupons; two fresh members on one phone handset
            let boss = try await Self.operatorToken(t)
            let first = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            let second = try await CouponTests.createCoupon(t, #"{"name":"新人9折","kind":"new_user","payRateBp":9000,"validDays":7,"perMember":1}"#, token: boss)
            let alice = try await t.quickMember("13700000001")
            let bob = try await t.quickMember("13700000002")

            // act
            let aliceFirst = try await Self.claim(t, first.id, token: alice, device: "handset-0001")
            let aliceSecond = try await Self.claim(t, second.id, token: alice, device: "handset-0001")
            let bobFirst = try await Self.claim(t, first.id, token: bob, device: "handset-0001")
            let bobCookie = try await t.postJSON("/api/v1/coupons/\(second.id)/claim", "{}", token: bob,
                                                 headers: ["X-Device-Id": "handset-0001", "Accept-Language": "en"])

            // check: one member takes every new-user coupon; the second member on the device none, and nothing changed
            #expect(aliceFirst.status == .created && aliceSecond.status == .created, "\(aliceFirst.body.string) \(aliceSecond.body.string)")
            #expect(bobFirst.status == .conflict && bobFirst.error?.code == "farming.device_used", "\(bobFirst.body.string)")
            #expect(bobFirst.error?.message == "该设备已领取过新人券")
            #expect(bobCookie.status == .conflict && bobCookie.error?.message == "This device has already claimed a new-user coupon")
            let bobID = try await t.memberID(phone: "13700000002")
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == bobID).count() == 0)
            #expect(try await CouponTemplate.find(first.id, on: t.app.db)?.issued == 1)
            #expect(try await CouponTemplate.find(second.id, on: t.app.db)?.issued == 1)
            let events = try await FarmEvent.query(on: t.app.db).all()
            #expect(events.count == 2)
            #expect(events.allSatisfy { $0.kind == "new_user_coupon" && $0.device == "h:handset-0001" && $0.source == "claim" })
            #expect(events.allSatisfy { $0.phoneHash == t.app.personalData.lookupHash("13700000001") })
            // Another device is fine for Bob.
            #expect(try await Self.claim(t, first.id, token: bob, device: "handset-0002").status == .created)
        }
    }

    @Test func theRegistrationGiftIsGuardedAndRecordedAndRegistrationStillSucceeds() async throws {
        try await withMallApp { t in
            // setup
            let boss = try await Self.operatorToken(t)
            let coupon = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            func register(_ phone: String) async throws -> TestingHTTPResponse {
                let code = try await t.smsCode(phone)
                return try await t.postJSON("/api/v1/auth/register",
                                            #"{"phone":"\#(phone)","password":"Member2026","smsCode":"\#(code)","acceptAgreements":true}"#,
                                            headers: ["X-Device-Id": "farm-phone-0001"])
            }

            // act: two registrations from one device
            let first = try await register("13700000011")
            let second = try await register("13700000012")

            // check: both registered; only the first got the new-user coupon
            #expect(first.status == .created && second.status == .created)
            let firstID = try await t.memberID(phone: "13700000011")
            let secondID = try await t.memberID(phone: "13700000012")
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == firstID).count() == 1)
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == secondID).count() == 0)
            #expect(try await CouponTemplate.find(coupon.id, on: t.app.db)?.issued == 1)
            let event = try #require(try await FarmEvent.query(on: t.app.db).first())
            #expect(event.source == "registration" && event.memberID == firstID && event.device == "h:farm-phone-0001")
        }
    }

    @Test func oneBrowserRegisteringTwiceGetsTheGiftOnce() async throws {
        try await withMallApp { t in
            // setup: the registration page gives the browser its visitor cookie
            let boss = try await Self.operatorToken(t)
            _ = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            let browser = PageClient(app: t.app)
            try await browser.get("/register")
            let device = try #require(browser.cookies[DistributionPageController.visitorCookie])

            // act: two accounts one after the other in the same browser
            for phone in ["13700000081", "13700000082"] {
                t.clock.advance(seconds: 61)
                try await browser.get("/register")
                _ = try await browser.post("/register/sms-code", form: ["phone": phone])
                let code = try #require(t.sms.lastCode(for: phone))
                let done = try await browser.post("/register", form: ["phone": phone, "password": "Member2026", "code": code, "agree": "on"])
                #expect(done.headers.first(name: .location) == "/member")
                _ = try await browser.post("/logout", form: [:])
            }

            // check: the cookie stayed the same; the first account has the coupon, the second none
            #expect(browser.cookies[DistributionPageController.visitorCookie] == device)
            let first = try await t.memberID(phone: "13700000081")
            let second = try await t.memberID(phone: "13700000082")
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == first).count() == 1)
            #expect(try await MemberCouponRecord.query(on: t.app.db).filter(\.$memberID == second).count() == 0)
            #expect(try await FarmEvent.query(on: t.app.db).all().map(\.device) == ["c:" + device])
        }
    }

    @Test func theAddressLimitCountsMembersPerDay() async throws {
        try await withMallApp { t in
            // setup: the server sits behind its own proxy
            t.app.config.trustForwardedFor = true
            let boss = try await Self.operatorToken(t)
            let coupon = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            var members: [String] = []
            for index in 1...5 { members.append(try await t.quickMember("1370000002\(index)")) }

            // act: four members on four devices behind one address, the fifth the next day
            var statuses: [HTTPStatus] = []
            var codes: [String] = []
            for index in 0..<4 {
                let response = try await Self.claim(t, coupon.id, token: members[index], device: "device-ip-000\(index)", address: "203.0.113.9")
                statuses.append(response.status)
                codes.append(response.error?.code ?? "")
            }
            // A client cannot choose the address it is counted under: the last hop is the proxy's.
            let spoofed = try await Self.claim(t, coupon.id, token: members[3], device: "device-ip-0003", address: "198.51.100.1, 203.0.113.9")
            t.clock.advance(seconds: 86_400)
            let fifth = try await TokenService(app: t.app, db: t.app.db).issue(kind: "member", subjectID: try await t.memberID(phone: "13700000025")).accessToken
            let nextDay = try await Self.claim(t, coupon.id, token: fifth, device: "device-ip-0004", address: "203.0.113.9")

            // check: three a day
            #expect(statuses == [.created, .created, .created, .tooManyRequests], "\(codes)")
            #expect(codes[3] == "farming.address_daily")
            #expect(spoofed.status == .tooManyRequests)
            #expect(nextDay.status == .created, "\(nextDay.body.string)")
            #expect(try await MemberCouponRecord.query(on: t.app.db).count() == 4)
            #expect(try await FarmEvent.query(on: t.app.db).filter(\.$ip == "203.0.113.9").count() == 4)
        }
    }

    @Test func aPhoneNumberThatHadNewUserCouponsGetsNoneUnderAnotherAccount() async throws {
        try await withMallApp { t in
            // setup: a member took a new-user coupon, then the account was anonymised (its phone hash
            // replaced) and the number registered again
            let boss = try await Self.operatorToken(t)
            let coupon = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            let old = try await t.quickMember("13700000031")
            #expect(try await Self.claim(t, coupon.id, token: old, device: "old-phone-0001").status == .created)
            let oldID = try await t.memberID(phone: "13700000031")
            try await Member.query(on: t.app.db).filter(\.$id == oldID).set(\.$phoneHash, to: "anonymised-\(oldID)").update()
            let again = try await t.quickMember("13700000031")

            // act: on a new device
            let response = try await Self.claim(t, coupon.id, token: again, device: "new-phone-0001")

            // check
            #expect(response.status == .conflict && response.error?.code == "farming.phone_used", "\(response.body.string)")
            #expect(try await MemberCouponRecord.query(on: t.app.db).count() == 1)
        }
    }

    @Test func eightConcurrentClaimsFromOneDeviceIssueExactlyOne() async throws {
        try await withMallApp { t in
            // setup: eight fresh members, two new-user coupons (so the template's own row does not serialise them all)
            let boss = try await Self.operatorToken(t)
            let first = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            let second = try await CouponTests.createCoupon(t, #"{"name":"新人5元","kind":"new_user","amountOffFen":500,"validDays":7,"perMember":1}"#, token: boss)
            var members: [String] = []
            for index in 0..<8 { members.append(try await t.quickMember("1370000004\(index)")) }

            // act: all at once from one device
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for (index, token) in members.enumerated() {
                    group.addTask {
                        let response = try await Self.claim(t, index % 2 == 0 ? first.id : second.id, token: token, device: "farm-rig-0001")
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: exactly one coupon, one event; the other seven refused for the device
            #expect(results.filter { $0.0 == .created }.count == 1, "\(results)")
            #expect(results.filter { $0.0 == .conflict && $0.1 == "farming.device_used" }.count == 7, "\(results)")
            #expect(try await MemberCouponRecord.query(on: t.app.db).count() == 1)
            #expect(try await FarmEvent.query(on: t.app.db).count() == 1)
            let issued = (try await CouponTemplate.find(first.id, on: t.app.db)?.issued ?? 0) + (try await CouponTemplate.find(second.id, on: t.app.db)?.issued ?? 0)
            #expect(issued == 1)
        }
    }

    @Test func bargainCutsAreLimitedPerDeviceAndPerAddressEachDay() async throws {
        try await withMallApp { t in
            // setup: two cuts a day per device, three per address; five starters in one activity
            t.app.config.trustForwardedFor = true
            let s = try await OrderFlowTests.shop(t)
            #expect(try await Self.putLimits(t, token: s.f.operatorToken, cutsPerDevice: 2, cutsPerIp: 3).status == .ok)
            let activity = try await BargainTests.activity(t, s, cuts: 10, limit: 10)
            var bargains: [BargainDTO] = [try await BargainTests.start(t, activity, token: s.buyer)]
            for index in 1...4 { bargains.append(try await BargainTests.start(t, activity, token: try await t.quickMember("1360000010\(index)"))) }
            var helpers: [String] = []
            for index in 1...6 { helpers.append(try await t.quickMember("1360000020\(index)")) }
            func cut(_ bargain: Int, _ helper: Int, device: String, address: String) async throws -> TestingHTTPResponse {
                try await t.postJSON("/api/v1/bargains/\(bargains[bargain].id)/cut", "{}", token: helpers[helper],
                                     headers: ["X-Device-Id": device, "X-Forwarded-For": address])
            }

            // act: one device cuts three bargains (three helpers); then three other devices behind one address
            let deviceCuts = [try await cut(0, 0, device: "helper-dev-0001", address: "198.51.100.1"),
                              try await cut(1, 1, device: "helper-dev-0001", address: "198.51.100.2"),
                              try await cut(2, 2, device: "helper-dev-0001", address: "198.51.100.3")]
            let priceBefore = try #require(try await BargainRecord.find(bargains[3].id, on: t.app.db)).currentPrice
            let addressCuts = [try await cut(3, 3, device: "helper-dev-0002", address: "203.0.113.50"),
                               try await cut(4, 4, device: "helper-dev-0003", address: "203.0.113.50"),
                               try await cut(0, 5, device: "helper-dev-0004", address: "203.0.113.50"),
                               try await cut(1, 5, device: "helper-dev-0005", address: "203.0.113.50")]
            // The next day the same device and address cut again (a bargain started that day).
            t.clock.advance(seconds: 86_400)
            bargains.append(try await BargainTests.start(t, activity, token: try await t.quickMember("13600000109")))
            helpers[0] = try await TokenService(app: t.app, db: t.app.db).issue(kind: "member", subjectID: try await t.memberID(phone: "13600000201")).accessToken
            let tomorrow = try await cut(5, 0, device: "helper-dev-0001", address: "203.0.113.50")

            // check
            #expect(deviceCuts.map(\.status) == [.ok, .ok, .tooManyRequests], "\(deviceCuts.map(\.body.string))")
            #expect(deviceCuts[2].error?.code == "farming.device_cuts_daily")
            #expect(addressCuts.map(\.status) == [.ok, .ok, .ok, .tooManyRequests], "\(addressCuts.map(\.body.string))")
            #expect(addressCuts[3].error?.code == "farming.address_cuts_daily")
            #expect(tomorrow.status == .ok, "\(tomorrow.body.string)")
            // The refused cuts changed nothing: bargain 2 was never cut, bargain 1 once (not by helper 5).
            #expect(try await BargainCut.query(on: t.app.db).filter(\.$bargainID == bargains[2].id).count() == 0)
            #expect(try await BargainRecord.find(bargains[2].id, on: t.app.db)?.helpers == 0)
            #expect(try await BargainCut.query(on: t.app.db).filter(\.$bargainID == bargains[1].id).count() == 1)
            #expect(try await BargainRecord.find(bargains[3].id, on: t.app.db)?.currentPrice ?? 0 < priceBefore)
            let events = try await FarmEvent.query(on: t.app.db).filter(\.$kind == "bargain_cut").all()
            #expect(events.count == 6)
            #expect(try await BargainCut.query(on: t.app.db).count() == 6)
            #expect(events.filter { $0.ip == "203.0.113.50" }.count == 4 && events.filter { $0.device == "h:helper-dev-0001" }.count == 3)
        }
    }

    @Test func concurrentCutsFromOneDeviceStopAtItsDailyLimit() async throws {
        try await withMallApp { t in
            // setup: two cuts a day per device; six bargains, six helpers on one device
            let s = try await OrderFlowTests.shop(t)
            #expect(try await Self.putLimits(t, token: s.f.operatorToken, cutsPerDevice: 2).status == .ok)
            let activity = try await BargainTests.activity(t, s, cuts: 10, limit: 10)
            var bargains: [BargainDTO] = [try await BargainTests.start(t, activity, token: s.buyer)]
            for index in 1...5 { bargains.append(try await BargainTests.start(t, activity, token: try await t.quickMember("1360000030\(index)"))) }
            var helpers: [String] = []
            for index in 0..<6 { helpers.append(try await t.quickMember("1360000040\(index)")) }

            // act: all at once
            let pairs = Array(zip(bargains.map(\.id), helpers))
            let results = try await withThrowingTaskGroup(of: (HTTPStatus, String).self) { group in
                for (bargain, helper) in pairs {
                    group.addTask {
                        let response = try await BargainTests.cut(t, bargain, token: helper, device: "one-rig-device")
                        return (response.status, response.error?.code ?? "")
                    }
                }
                return try await group.reduce(into: [(HTTPStatus, String)]()) { $0.append($1) }
            }

            // check: exactly two cuts, each with its event
            #expect(results.filter { $0.0 == .ok }.count == 2, "\(results)")
            #expect(results.filter { $0.0 == .tooManyRequests && $0.1 == "farming.device_cuts_daily" }.count == 4, "\(results)")
            #expect(try await BargainCut.query(on: t.app.db).count() == 2)
            #expect(try await FarmEvent.query(on: t.app.db).filter(\.$kind == "bargain_cut").count() == 2)
        }
    }

    @Test func theReportListsClustersWithMaskedPhonesAndExactCounts() async throws {
        try await withMallApp { t in
            // setup: a lenient device limit so that a farm gets through; three members on one device and one address,
            // two members on another device (below the cluster size)
            t.app.config.trustForwardedFor = true
            let boss = try await Self.operatorToken(t)
            #expect(try await Self.putLimits(t, token: boss, perDevice: 10, perIp: 10).status == .ok)
            let first = try await CouponTests.createCoupon(t, Self.newUserCoupon, token: boss)
            let second = try await CouponTests.createCoupon(t, #"{"name":"新人5元","kind":"new_user","amountOffFen":500,"validDays":7,"perMember":1}"#, token: boss)
            let phones = ["13700000051", "13700000052", "13700000053"]
            for phone in phones {
                let token = try await t.quickMember(phone)
                #expect(try await Self.claim(t, first.id, token: token, device: "farm-rig-0051", address: "198.51.100.77").status == .created)
                t.clock.advance(seconds: 60)
            }
            // The first member takes the second coupon too: four coupons, still three members.
            let firstToken = try await TokenService(app: t.app, db: t.app.db).issue(kind: "member", subjectID: try await t.memberID(phone: phones[0])).accessToken
            #expect(try await Self.claim(t, second.id, token: firstToken, device: "farm-rig-0051", address: "198.51.100.77").status == .created)
            for phone in ["13700000061", "13700000062"] {
                let token = try await t.quickMember(phone)
                #expect(try await Self.claim(t, first.id, token: token, device: "quiet-dev-0061", address: "192.0.2.\(phone.suffix(1))").status == .created)
            }

            // act
            let response = try await t.get("/api/v1/admin/risk/farming?days=7", token: boss)
            let pagedResponse = try await t.get("/api/v1/admin/risk/farming?days=7&limit=1", token: boss)
            #expect(pagedResponse.status == .ok, "\(pagedResponse.body.string)")
            let paged = try pagedResponse.content.decode(FarmingReportDTO.self)
            let stricterResponse = try await t.get("/api/v1/admin/risk/farming?minMembers=4", token: boss)
            #expect(stricterResponse.status == .ok, "\(stricterResponse.body.string)")
            let stricter = try stricterResponse.content.decode(FarmingReportDTO.self)

            // check: the device and the address, three members each, four coupons, masked phones only
            #expect(response.status == .ok, "\(response.body.string)")
            let report = try response.content.decode(FarmingReportDTO.self)
            #expect(report.minMembers == 3 && report.clusters.count == 2 && report.nextOffset == nil)
            let device = try #require(report.clusters.first { $0.dimension == "device" })
            let address = try #require(report.clusters.first { $0.dimension == "ip" })
            #expect(device.value == "h:farm-rig-0051" && address.value == "198.51.100.77")
            for cluster in [device, address] {
                #expect(cluster.members == 3 && cluster.newUserCoupons == 4 && cluster.bargainCuts == 0)
                #expect(Set(cluster.maskedPhones) == ["137****0051", "137****0052", "137****0053"])
                #expect(abs(cluster.lastSeen.timeIntervalSince(cluster.firstSeen) - 180) < 1)
            }
            for phone in phones { #expect(!response.body.string.contains(phone)) }
            #expect(paged.clusters.count == 1 && paged.nextOffset == 1)
            #expect(stricter.clusters.isEmpty && stricter.minMembers == 4)
            // Outside the window nothing is listed.
            t.clock.advance(seconds: 2 * 86_400)
            let later = try await t.get("/api/v1/admin/risk/farming?days=1", token: try await t.staffToken("boss", console: "platform"))
                .content.decode(FarmingReportDTO.self)
            #expect(later.clusters.isEmpty)

            // The operator's page shows the same table, linked from the console's home.
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            #expect(try await console.get("/admin").body.string.contains("/admin/risk/farming"))
            let page = try await console.get("/admin/risk/farming?days=7")
            #expect(page.status == .ok)
            let html = page.body.string
            #expect(html.contains("羊毛防护") && html.contains("h:farm-rig-0051") && html.contains("198.51.100.77"))
            #expect(html.contains("137****0051") && !html.contains("13700000051"))
            #expect(html.contains("data-cluster=\"device\"") && html.contains("data-cluster=\"ip\""))
        }
    }

    @Test func settingsAreValidatedAndOnlyOperatorsReachTheGuard() async throws {
        try await withMallApp { t in
            // setup
            let f = try await CatalogFixture.make(t)
            let member = try await t.quickMember("13700000071")

            // act
            let wrong = try await Self.putLimits(t, token: f.operatorToken, cutsPerDevice: 0, cluster: 1)
            let huge = try await t.send(.PUT, "/api/v1/admin/risk/farming/settings",
                                        #"{"newUserCouponMembersPerDevice":9223372036854775808,"newUserCouponMembersPerIpPerDay":3,"cutsPerDevicePerDay":5,"cutsPerIpPerDay":20,"clusterMinMembers":3}"#,
                                        token: f.operatorToken)
            let missing = try await t.send(.PUT, "/api/v1/admin/risk/farming/settings", #"{"cutsPerDevicePerDay":5}"#, token: f.operatorToken)
            let after = try await t.get("/api/v1/admin/risk/farming/settings", token: f.operatorToken).content.decode(FarmingSettings.self)
            let saved = try await Self.putLimits(t, token: f.operatorToken, perDevice: 2, cutsPerIp: 40)

            // check: 422 naming both fields, nothing saved; then a valid one is kept
            #expect(wrong.status == .unprocessableEntity)
            #expect(Set(wrong.error?.details.map(\.field) ?? []) == ["cutsPerDevicePerDay", "clusterMinMembers"], "\(wrong.body.string)")
            #expect((400..<500).contains(huge.status.code) && (400..<500).contains(missing.status.code))
            #expect(after == FarmingSettings())
            #expect(saved.status == .ok)
            let kept = try await t.get("/api/v1/admin/risk/farming/settings", token: f.operatorToken).content.decode(FarmingSettings.self)
            #expect(kept.limits.newUserCouponMembersPerDevice == 2 && kept.limits.cutsPerIpPerDay == 40)
            #expect(try await AuditLogEntry.query(on: t.app.db).filter(\.$action == "risk.farming.settings").count() == 1)

            // Report parameters out of range are 422s.
            for query in ["days=0", "days=91", "days=abc", "limit=0", "limit=101", "offset=-1", "offset=10001", "minMembers=1", "days=1e3", "days="] {
                let response = try await t.get("/api/v1/admin/risk/farming?\(query)", token: f.operatorToken)
                #expect(response.status == .unprocessableEntity, "\(query): \(response.status)")
            }

            // Nobody but operators with marketing rights: 401 without a token, 403 for a member, a shop or finance.
            try await t.createStaff("money", role: .platformFinance, merchantID: nil)
            let finance = try await t.staffToken("money", console: "platform")
            for path in ["/api/v1/admin/risk/farming", "/api/v1/admin/risk/farming/settings"] {
                #expect(try await t.get(path).status == .unauthorized)
                for token in [member, f.shopAToken, finance] { #expect(try await t.get(path, token: token).status == .forbidden, "\(path)") }
            }
            #expect(try await Self.putLimits(t, token: member, perDevice: 50).status == .forbidden)
            #expect(try await Self.putLimits(t, token: f.shopAToken, perDevice: 50).status == .forbidden)
            let page = try await PageClient(app: t.app).get("/admin/risk/farming")
            #expect(page.headers.first(name: .location) == "/admin/login")
            let unchanged = try await t.get("/api/v1/admin/risk/farming/settings", token: f.operatorToken).content.decode(FarmingSettings.self)
            #expect(unchanged.limits.newUserCouponMembersPerDevice == 2)
        }
    }

    @Test func theSettingsFormSavesAndRefusesWithAMessage() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let console = try await ConsolePageTests.signedIn(t, "/admin/login", ["username": "boss", "password": "Staff2026"])
            _ = try await console.get("/admin/risk/farming")
            let fields = ["newUserCouponMembersPerDevice": "1", "newUserCouponMembersPerIpPerDay": "5", "cutsPerDevicePerDay": "abc",
                          "cutsPerIpPerDay": "20", "clusterMinMembers": "3"]
            let refused = try await console.post("/admin/risk/farming/settings", form: fields)
            #expect(refused.headers.first(name: .location) == "/admin/risk/farming")
            #expect(try await FarmingSettings.load(on: t.app.db) == FarmingSettings())
            var good = fields
            good["cutsPerDevicePerDay"] = "8"
            _ = try await console.post("/admin/risk/farming/settings", form: good)
            let saved = try await FarmingSettings.load(on: t.app.db)
            #expect(saved.limits.cutsPerDevicePerDay == 8 && saved.limits.newUserCouponMembersPerIpPerDay == 5)
            #expect(try await console.get("/admin/risk/farming").body.string.contains("value=\"8\""))
        }
    }
}
