import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Logins that cannot be raced past their limit, locked out by a stranger or used to list
/// accounts; access that ends the moment a shop is suspended.
@Suite struct AccountAccessTests {
    func login(_ t: TestContext, _ phone: String, _ password: String, from address: String) async throws -> TestingHTTPResponse {
        try await t.postJSON("/api/v1/auth/login", #"{"phone":"\#(phone)","password":"\#(password)"}"#, headers: ["X-Forwarded-For": address])
    }

    @Test func fortyParallelWrongPasswordsGetFiveChecks() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let app = t.app
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await app.testing().sendRequest(.POST, "/api/v1/auth/login", headers: ["Content-Type": "application/json"],
                                                            body: .init(string: #"{"phone":"13812345678","password":"Wrong2026"}"#)).status.code
                    }
                }
                var all: [UInt] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0 == 401 }.count == 5)
            #expect(statuses.filter { $0 == 429 }.count == 35)
            // Exactly five passwords were checked: five attempts are on record.
            #expect(try await LoginAttempt.query(on: t.app.db).filter(\.$succeeded == false).count() == 5)
        }
    }

    @Test func aStrangerCannotLockTheOwnerOut() async throws {
        try await withMallApp { t in
            t.app.config.trustForwardedFor = true
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil, password: "Boss2026ok")
            func staffLogin(_ password: String, from address: String) async throws -> TestingHTTPResponse {
                try await t.postJSON("/api/v1/auth/staff-login", #"{"username":"boss","password":"\#(password)","console":"platform"}"#,
                                     headers: ["X-Forwarded-For": address])
            }
            for _ in 0..<5 { #expect(try await staffLogin("Wrong2026", from: "203.0.113.9").status == .unauthorized) }
            #expect(try await staffLogin("Wrong2026", from: "203.0.113.9").status == .tooManyRequests)
            // The attacker's address is locked, the operator's is not.
            #expect(try await staffLogin("Boss2026ok", from: "198.51.100.7").status == .ok)

            // Many addresses against one account: slowed to one try every few seconds, not locked.
            for i in 0..<25 { _ = try await staffLogin("Wrong2026", from: "203.0.113.\(100 + i)") }
            let slowed = try await staffLogin("Boss2026ok", from: "198.51.100.7")
            #expect(slowed.status == .tooManyRequests)
            #expect(Int(slowed.headers.first(name: "Retry-After") ?? "") ?? 999 <= 5)
            t.clock.advance(seconds: 6)
            #expect(try await staffLogin("Boss2026ok", from: "198.51.100.7").status == .ok)
        }
    }

    @Test func theClientAddressIsTheLastForwardedHop() async throws {
        try await withMallApp { t in
            t.app.config.trustForwardedFor = true
            try await t.registerMember("13812345678")
            // A client sending its own X-Forwarded-For cannot pick the address it is counted under.
            for i in 0..<5 {
                #expect(try await login(t, "13812345678", "Wrong2026", from: "10.0.0.\(i), 203.0.113.9").status == .unauthorized)
            }
            #expect(try await login(t, "13812345678", "Member2026", from: "10.0.0.99, 203.0.113.9").status == .tooManyRequests)
            #expect(try await login(t, "13812345678", "Member2026", from: "203.0.113.10").status == .ok)
        }
    }

    @Test func aSuspendedShopsStaffLoseAccessAtOnce() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            #expect(try await t.get("/api/v1/merchant/products", token: f.shopAToken).status == .ok)
            let suspend = try await t.app.testing().sendRequest(.PATCH, "/api/v1/admin/merchants/\(f.shopA)",
                                                                headers: ["Content-Type": "application/json", "Authorization": "Bearer \(f.operatorToken)"],
                                                                body: .init(string: #"{"status":"suspended"}"#))
            #expect(suspend.status == .ok)
            // The token issued before is worthless, a new login is refused, uploads and staff too.
            #expect(try await t.get("/api/v1/merchant/products", token: f.shopAToken).status == .unauthorized)
            #expect(try await t.upload("/api/v1/merchant/images", bytes: TestImages.png(), token: f.shopAToken).status == .unauthorized)
            let again = try await t.postJSON("/api/v1/auth/staff-login", #"{"username":"a-owner","password":"Staff2026","console":"merchant"}"#)
            #expect(again.status == .forbidden)
            #expect(again.error?.code == "auth.merchant_suspended")
            let staff = try await t.postJSON("/api/v1/merchant/staff", #"{"username":"a-new","displayName":"新人","password":"Staff2026","role":"merchant_staff"}"#, token: f.shopAToken)
            #expect(staff.status == .unauthorized)
            #expect(try await StaffUser.query(on: t.app.db).filter(\.$username == "a-new").count() == 0)
            // The other shop works as before.
            #expect(try await t.get("/api/v1/merchant/products", token: f.shopBToken).status == .ok)
        }
    }

    @Test func twoReviewersAtOnceReviewAnApplicationOnce() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let licence = try await t.uploadLicence()
            let applied = try await t.postJSON("/api/v1/merchant-applications", #"{"companyName":"青禾有机农场","contactName":"李青","contactPhone":"13612345678","licenceNumber":"91330100MA2XXXXX1A","licenceImage":"\#(licence)","businessCategory":"生鲜","username":"qinghe","password":"Farm2026ok"}"#)
            #expect(applied.status == .created)
            let id = try #require(try await MerchantApplication.query(on: t.app.db).first()?.id)
            let app = t.app
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let path = "/api/v1/admin/merchant-applications/\(id)/" + (i % 2 == 0 ? "approve" : "reject")
                        let body = i % 2 == 0 ? #"{"serviceRateBp":500}"# : #"{"reason":"资料不全"}"#
                        return try await app.testing().sendRequest(.POST, path, headers: ["Content-Type": "application/json", "Authorization": "Bearer \(boss)"],
                                                                   body: .init(string: body)).status.code
                    }
                }
                var all: [UInt] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 7, "\(statuses)")
            let merchants = try await Merchant.query(on: t.app.db).filter(\.$name == "青禾有机农场").count()
            let owners = try await StaffUser.query(on: t.app.db).filter(\.$username == "qinghe").count()
            let status = try await MerchantApplication.find(id, on: t.app.db)?.status
            #expect((status == "approved" && merchants == 1 && owners == 1) || (status == "rejected" && merchants == 0 && owners == 0))
        }
    }

    @Test func aStoreClerkChangesNothingNotEvenAMessage() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let store = try await t.postJSON("/api/v1/merchant/stores", #"{"name":"静安店","kind":"direct","address":"南京西路1号","latitude":31.22,"longitude":121.44}"#, token: f.shopAToken).content.decode(StoreDTO.self)
            let clerk = try await t.createStaff("a-clerk", role: .storeClerk, merchantID: f.shopA)
            clerk.$store.id = store.id
            try await clerk.save(on: t.app.db)
            let product = try await f.createProduct(#"{"title":"奶粉","categoryId":"\#(f.milk)","skus":[{"code":"LOW-1","priceFen":100,"stock":1,"lowStockThreshold":5}],"onShelf":true}"#)
            _ = product
            let clerkToken = try await t.staffToken("a-clerk", console: "merchant")
            let inbox = try await t.get("/api/v1/merchant/messages", token: clerkToken).content.decode([MerchantMessageDTO].self)
            #expect(inbox.count == 1)
            let read = try await t.postJSON("/api/v1/merchant/messages/\(inbox[0].id)/read", "{}", token: clerkToken)
            #expect(read.status == .forbidden)
            #expect(try await MerchantMessage.query(on: t.app.db).filter(\.$readAt != nil).count() == 0)
        }
    }

    @Test func strangersAreBoundedInWhatTheyCanMakeTheMallDo() async throws {
        try await withMallApp { t in
            t.app.config.trustForwardedFor = true
            // SMS codes from one address: ten an hour, whatever the numbers.
            var statuses: [HTTPStatus] = []
            for i in 0..<12 {
                let phone = "1370000" + String(format: "%04d", i)
                statuses.append(try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"\#(phone)"}"#, headers: ["X-Forwarded-For": "203.0.113.5"]).status)
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == .accepted })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
            #expect(t.sms.messages.count == 10)
            #expect(try await t.postJSON("/api/v1/auth/sms-codes", #"{"phone":"13700009999"}"#, headers: ["X-Forwarded-For": "203.0.113.6"]).status == .accepted)

            // Licence pictures from one address: ten an hour.
            var uploads: [HTTPStatus] = []
            for _ in 0..<11 {
                var headers = HTTPHeaders()
                headers.contentType = .png
                headers.replaceOrAdd(name: "X-Forwarded-For", value: "203.0.113.7")
                uploads.append(try await t.app.testing().sendRequest(.POST, "/api/v1/merchant-applications/licence-images", headers: headers,
                                                                     body: ByteBuffer(bytes: TestImages.png())).status)
            }
            #expect(uploads.prefix(10).allSatisfy { $0 == .created })
            #expect(uploads.last == .tooManyRequests)
            #expect(try await UploadedImage.query(on: t.app.db).count() == 10)
        }
    }

    @Test func aReusedRefreshTokenRevokesItsWholeFamily() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            func login() async throws -> TokenPair {
                try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#).content.decode(TokenPair.self)
            }
            func refresh(_ token: String) async throws -> TestingHTTPResponse {
                try await t.postJSON("/api/v1/auth/refresh", #"{"refreshToken":"\#(token)"}"#)
            }
            let phone = try await login()
            let laptop = try await login()
            // The owner refreshes; a thief replays the old token: the thief is refused and the
            // owner's newer token from the same login stops working too. The other device is untouched.
            let owner = try await refresh(phone.refreshToken).content.decode(TokenPair.self)
            #expect(try await refresh(phone.refreshToken).status == .unauthorized)
            #expect(try await refresh(owner.refreshToken).status == .unauthorized)
            #expect(try await refresh(laptop.refreshToken).status == .ok)

            // Logging out one device ends its refresh tokens and nothing else.
            let tablet = try await login()
            let desk = try await login()
            #expect(try await t.postJSON("/api/v1/auth/logout", #"{"refreshToken":"\#(tablet.refreshToken)"}"#).status == .noContent)
            #expect(try await refresh(tablet.refreshToken).status == .unauthorized)
            #expect(try await refresh(desk.refreshToken).status == .ok)
            #expect(try await t.postJSON("/api/v1/auth/logout", #"{"refreshToken":"unknown"}"#).status == .noContent)
        }
    }

    /// The same with signed-in members kept in memory (production keeps them a second) and without.
    @Test(arguments: [0, 60_000]) func signingOutEverywhereEndsTokensAndPageSessions(keptMilliseconds: Int64) async throws {
        try await withMallApp { t in
            t.app.signedInMembers = SignedInMemberCache(timeToLive: .milliseconds(keptMilliseconds))
            try await t.registerMember("13812345678")
            let api = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#).content.decode(TokenPair.self)
            let browser = PageClient(app: t.app)
            try await browser.get("/login")
            _ = try await browser.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            #expect(try await browser.get("/member").status == .ok)

            t.clock.advance(seconds: 1)
            #expect(try await t.postJSON("/api/v1/auth/logout-all", "{}", token: api.accessToken).status == .noContent)
            #expect(try await t.get("/api/v1/me", token: api.accessToken).status == .unauthorized)
            #expect(try await t.postJSON("/api/v1/auth/refresh", #"{"refreshToken":"\#(api.refreshToken)"}"#).status == .unauthorized)
            #expect(try await browser.get("/member").headers.first(name: .location) == "/login")

            // A new login afterwards works as usual.
            t.clock.advance(seconds: 1)
            let again = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#).content.decode(TokenPair.self)
            #expect(try await t.get("/api/v1/me", token: again.accessToken).status == .ok)
        }
    }

    /// A sign-out everywhere made at another instance reaches a member this one keeps within the
    /// time it keeps it.
    @Test func aSignOutAtAnotherInstanceEndsAKeptMemberWithinItsTime() async throws {
        try await withMallApp { t in
            t.app.signedInMembers = SignedInMemberCache(timeToLive: .milliseconds(300))
            try await t.registerMember("13812345678")
            let api = try await t.postJSON("/api/v1/auth/login", #"{"phone":"13812345678","password":"Member2026"}"#).content.decode(TokenPair.self)
            #expect(try await t.get("/api/v1/me", token: api.accessToken).status == .ok)
            #expect(t.app.signedInMembers.count == 1)

            t.clock.advance(seconds: 1)
            let member = try #require(try await Member.query(on: t.app.db).first()?.id)
            let now = t.clock.now()
            try await t.app.writeGate.transaction(on: t.app.db) { db in
                try await SignOuts.signOutEverywhere(kind: "member", id: member, now: now, on: db)
            }
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await t.get("/api/v1/me", token: api.accessToken).status == .unauthorized)
        }
    }

    @Test func sessionsEndOnTheServerAndAreSwept() async throws {
        try await withMallApp { t in
            try await t.registerMember("13812345678")
            let browser = PageClient(app: t.app)
            try await browser.get("/login")
            _ = try await browser.post("/login", form: ["phone": "13812345678", "password": "Member2026"])
            #expect(try await browser.get("/member").status == .ok)
            #expect(try await SessionRecord.query(on: t.app.db).count() == 1)

            // Past its lifetime the session is over even though the browser still sends the cookie.
            t.clock.advance(seconds: 7 * 24 * 3600 + 1)
            #expect(try await browser.get("/member").headers.first(name: .location) == "/login")
            let report = try await Sweeper.run(on: t.app.db, gate: t.app.writeGate, now: t.clock.now())
            #expect(report.sessions >= 1)
            #expect(try await SessionRecord.query(on: t.app.db).count() == 0)
        }
    }
}
