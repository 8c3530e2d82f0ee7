import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct MerchantOnboardingTests {
    func application(licence: String) -> String {
        #"{"companyName":"青禾有机农场","contactName":"李青","contactPhone":"13612345678","licenceNumber":"91330100MA2XXXXX1A","licenceImage":"\#(licence)","businessCategory":"生鲜","username":"qinghe","password":"Farm2026ok"}"#
    }

    @Test func anApprovedApplicantSellsWithItsOwnLogin() async throws {
        try await withMallApp { t in
            // setup
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            // act: apply with a licence picture, then review
            let licence = try await t.uploadLicence()
            let applied = try await t.postJSON("/api/v1/merchant-applications", application(licence: licence))
            #expect(applied.status == .created)
            let submitted = try applied.content.decode(MerchantApplicationDTO.self)
            #expect(submitted.status == "pending")
            #expect(submitted.contactPhone == "136****5678")
            #expect(submitted.licenceImageUrl == "/uploads/" + licence)
            let picture = try await t.get(submitted.licenceImageUrl)
            #expect(picture.status == .ok)
            #expect(picture.headers.contentType == .png)
            #expect(Array(picture.body.readableBytesView) == TestImages.png())
            #expect(try await t.staffTokenResponse("qinghe", console: "merchant", password: "Farm2026ok").status == .unauthorized)

            let pending = try await t.get("/api/v1/admin/merchant-applications", token: boss).content.decode([MerchantApplicationDTO].self)
            #expect(pending.map(\.companyName) == ["青禾有机农场"])
            let approved = try await t.postJSON("/api/v1/admin/merchant-applications/\(submitted.id)/approve", #"{"serviceRateBp":450}"#, token: boss)
            #expect(approved.status == .ok, "\(approved.body.string)")
            let merchant = try approved.content.decode(MerchantDTO.self)
            // check
            #expect(merchant.name == "青禾有机农场")
            #expect(merchant.serviceRateBp == 450)
            #expect(try await UploadedImage.query(on: t.app.db).filter(\.$storageKey == licence).first()?.$merchant.id == merchant.id)
            #expect(try await LedgerAccount.query(on: t.app.db).filter(\.$purpose == "merchant_receivable").filter(\.$ownerID == merchant.id.uuidString.lowercased()).count() == 1)
            let owner = try await t.staffToken("qinghe", console: "merchant", password: "Farm2026ok")
            #expect(try await t.get("/api/v1/merchant/profile", token: owner).content.decode(MerchantDTO.self).id == merchant.id)
            #expect(try await t.postJSON("/api/v1/admin/merchant-applications/\(submitted.id)/approve", #"{"serviceRateBp":450}"#, token: boss).status == .conflict)
            let log = try await t.get("/api/v1/admin/audit-logs", token: boss).content.decode([AuditLogDTO].self)
            #expect(log.contains { $0.action == "merchant.approve" && $0.detail == "青禾有机农场" })
        }
    }

    @Test func rejectedApplicationsKeepTheirReason() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let submitted = try await t.postJSON("/api/v1/merchant-applications", application(licence: try await t.uploadLicence())).content.decode(MerchantApplicationDTO.self)
            #expect(try await t.postJSON("/api/v1/admin/merchant-applications/\(submitted.id)/reject", #"{"reason":" "}"#, token: boss).status == .unprocessableEntity)
            let rejected = try await t.postJSON("/api/v1/admin/merchant-applications/\(submitted.id)/reject", #"{"reason":"营业执照模糊，请重新上传"}"#, token: boss)
            #expect(try rejected.content.decode(MerchantApplicationDTO.self).rejectReason == "营业执照模糊，请重新上传")
            #expect(try await Merchant.query(on: t.app.db).count() == 1)
            let list = try await t.get("/api/v1/admin/merchant-applications?status=rejected", token: boss).content.decode([MerchantApplicationDTO].self)
            #expect(list.count == 1)
            #expect(try await t.get("/api/v1/admin/merchant-applications?status=maybe", token: boss).status == .unprocessableEntity)
        }
    }

    @Test func badApplicationsNameEveryField() async throws {
        try await withMallApp { t in
            try await t.createStaff("taken", role: .merchantStaff, merchantID: Merchant.selfOperatedID)
            let bad = try await t.postJSON("/api/v1/merchant-applications", #"{"companyName":"","contactName":"李青","contactPhone":"123","licenceNumber":"X","businessCategory":"生鲜","username":"a","password":"short"}"#)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.error?.details.map(\.field) == ["companyName", "contactPhone", "username", "password", "licenceImage"])
            #expect(bad.error?.details.last?.message == "请上传营业执照图片")
            let unknownLicence = try await t.postJSON("/api/v1/merchant-applications", application(licence: "ab/ab000000000000000000000000000000.png"))
            #expect(unknownLicence.error?.details.map(\.field) == ["licenceImage"])
            // A stranger is not told which login names exist: the application is taken in, and the
            // reviewer meets the clash when approving.
            let taken = try await t.postJSON("/api/v1/merchant-applications", application(licence: try await t.uploadLicence()).replacingOccurrences(of: "qinghe", with: "taken"))
            #expect(taken.status == .created)
            let free = try await t.postJSON("/api/v1/merchant-applications", application(licence: try await t.uploadLicence()).replacingOccurrences(of: "qinghe", with: "qinghe2"))
            #expect(free.status == .created)
            #expect(taken.body.string.contains("taken") && free.body.string.contains("qinghe2"))
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let boss = try await t.staffToken("boss", console: "platform")
            let id = try #require(try await MerchantApplication.query(on: t.app.db).filter(\.$username == "taken").first()?.id)
            let approve = try await t.postJSON("/api/v1/admin/merchant-applications/\(id)/approve", #"{"serviceRateBp":500}"#, token: boss)
            #expect(approve.status == .conflict)
            #expect(approve.error?.code == "merchant.username_taken")
            #expect(try await Merchant.query(on: t.app.db).count() == 1)
        }
    }

    @Test func operatorsSetTheRateAndSuspend() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            try await t.createStaff("help", role: .platformSupport, merchantID: nil)
            let merchantID = try await t.createMerchant("甲店")
            let boss = try await t.staffToken("boss", console: "platform")
            let help = try await t.staffToken("help", console: "platform")
            func patch(_ json: String, _ token: String) async throws -> TestingHTTPResponse {
                try await t.app.testing().sendRequest(.PATCH, "/api/v1/admin/merchants/\(merchantID)",
                                                     headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: .init(string: json))
            }
            #expect(try await patch(#"{"status":"suspended"}"#, help).status == .forbidden)
            let suspended = try await patch(#"{"status":"suspended","serviceRateBp":800}"#, boss)
            let dto = try suspended.content.decode(MerchantDTO.self)
            #expect(dto.status == "suspended")
            #expect(dto.serviceRateBp == 800)
            #expect(try await patch(#"{"serviceRateBp":5001}"#, boss).status == .unprocessableEntity)
            #expect(try await patch(#"{"status":"closed"}"#, boss).status == .unprocessableEntity)
            #expect(try await Merchant.find(merchantID, on: t.app.db)?.serviceRateBP == 800)
        }
    }
}

extension TestContext {
    func staffTokenResponse(_ username: String, console: String, password: String) async throws -> TestingHTTPResponse {
        try await postJSON("/api/v1/auth/staff-login", #"{"username":"\#(username)","password":"\#(password)","console":"\#(console)"}"#)
    }
}

@Suite struct MerchantOnboardingPageTests {
    @Test func anApplicantIsApprovedOnTheConsoleAndSignsIn() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            let applicant = PageClient(app: t.app)
            try await applicant.get("/merchant/apply")
            let bad = try await applicant.post("/merchant/apply", form: ["companyName": "青禾农场", "contactName": "李青", "contactPhone": "123",
                                                                        "licenceNumber": "91330100", "businessCategory": "生鲜", "username": "qinghe", "password": "Farm2026ok"])
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("请输入正确的11位手机号"))
            #expect(bad.body.string.contains(#"value="青禾农场""#))
            let fields = ["companyName": "青禾农场", "contactName": "李青", "contactPhone": "13612345678",
                          "licenceNumber": "91330100", "businessCategory": "生鲜", "username": "qinghe", "password": "Farm2026ok"]
            let noPicture = try await applicant.post("/merchant/apply", form: fields)
            #expect(noPicture.status == .unprocessableEntity)
            #expect(noPicture.body.string.contains("请上传营业执照图片"))
            let notAnImage = try await applicant.postMultipart("/merchant/apply", fields: fields, files: [("licenceFile", "licence.png", "image/png", Array("not really a picture".utf8))])
            #expect(notAnImage.status == .unsupportedMediaType)
            #expect(notAnImage.body.string.contains("只能上传 JPG、PNG、GIF 或 WebP 图片"))
            let blank = try await applicant.postMultipart("/merchant/apply", fields: [:], files: [])
            #expect(blank.status == .unprocessableEntity)
            #expect(blank.body.string.contains("请上传营业执照图片"))
            #expect(try await MerchantApplication.query(on: t.app.db).count() == 0)
            #expect(try await UploadedImage.query(on: t.app.db).count() == 0)
            let done = try await applicant.postMultipart("/merchant/apply", fields: fields, files: [("licenceFile", "licence.png", "image/png", TestImages.png())])
            #expect(done.body.string.contains("申请已提交，请等待平台审核。"))

            let boss = PageClient(app: t.app)
            try await boss.get("/admin/login")
            try await boss.post("/admin/login", form: ["username": "boss", "password": "Staff2026"])
            let console = try await boss.get("/admin").body.string
            #expect(console.contains("青禾农场"))
            #expect(console.contains("李青 136****5678"))
            let licenceKey = try #require(try await MerchantApplication.query(on: t.app.db).first()?.licenceImage)
            #expect(console.contains(#"href="/uploads/\#(licenceKey)""#))
            let id = try #require(try await MerchantApplication.query(on: t.app.db).first()?.requireID())
            let bogus = try await boss.post("/admin/merchant-applications/\(id)/approve", form: ["rate": "abc"])
            #expect(bogus.headers.first(name: .location) == "/admin")
            #expect(try await boss.get("/admin").body.string.contains("平台抽佣请填写百分比"))
            try await boss.post("/admin/merchant-applications/\(id)/approve", form: ["rate": "5.5"])
            let after = try await boss.get("/admin").body.string
            #expect(after.contains("已通过：青禾农场"))
            #expect(after.contains("5.50%"))
            #expect(after.contains("暂无待审核申请"))

            let owner = PageClient(app: t.app)
            try await owner.get("/merchant/login")
            let login = try await owner.post("/merchant/login", form: ["username": "qinghe", "password": "Farm2026ok"])
            #expect(login.headers.first(name: .location) == "/merchant")
            #expect(try await owner.get("/merchant").body.string.contains("青禾农场"))

            // Suspending from the console takes the shop off the storefront.
            let merchantID = try #require(try await Merchant.query(on: t.app.db).filter(\.$name == "青禾农场").first()?.requireID())
            try await boss.post("/admin/merchants/\(merchantID)/status", form: ["status": "suspended"])
            #expect(try await Merchant.find(merchantID, on: t.app.db)?.status == "suspended")
            #expect(try await PageClient(app: t.app).get("/shops/\(merchantID)").status == .notFound)
        }
    }
}
