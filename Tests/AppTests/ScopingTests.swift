import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct ScopingTests {
    @Test func aMerchantSeesOnlyItsOwnStaff() async throws {
        try await withMallApp { t in
            // setup: two merchants with staff each
            let a = try await t.createMerchant("甲店")
            let b = try await t.createMerchant("乙店")
            try await t.createStaff("a-owner", role: .merchantOwner, merchantID: a)
            let aClerk = try await t.createStaff("a-clerk", role: .merchantStaff, merchantID: a)
            let bOwner = try await t.createStaff("b-owner", role: .merchantOwner, merchantID: b)
            let token = try await t.staffToken("a-owner", console: "merchant")

            // act + check: the list and direct look-ups
            let list = try await t.get("/api/v1/merchant/staff", token: token).content.decode([StaffDTO].self)
            #expect(list.map(\.username) == ["a-clerk", "a-owner"])
            #expect(try await t.get("/api/v1/merchant/staff/\(aClerk.requireID())", token: token).status == .ok)
            let foreign = try await t.get("/api/v1/merchant/staff/\(bOwner.requireID())", token: token)
            #expect(foreign.status == .notFound)
            #expect(foreign.error?.code == "not_found")
            #expect(try await t.get("/api/v1/merchant/staff/not-a-uuid", token: token).status == .notFound)

            let profile = try await t.get("/api/v1/merchant/profile", token: token).content.decode(MerchantDTO.self)
            #expect(profile.id == a)
            #expect(profile.name == "甲店")
        }
    }

    @Test func rolesDecideWhatTheAPIAllows() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            try await t.createStaff("money", role: .platformFinance, merchantID: nil)
            try await t.createStaff("help", role: .platformSupport, merchantID: nil)
            try await t.createStaff("shop", role: .merchantOwner, merchantID: Merchant.selfOperatedID)
            let member = try await t.registerMember("13812345678")
            let boss = try await t.staffToken("boss", console: "platform")
            let money = try await t.staffToken("money", console: "platform")
            let help = try await t.staffToken("help", console: "platform")
            let shop = try await t.staffToken("shop", console: "merchant")

            #expect(try await t.postJSON("/api/v1/admin/ledger/verify", "{}", token: money).status == .ok)
            #expect(try await t.postJSON("/api/v1/admin/ledger/verify", "{}", token: help).status == .forbidden)
            #expect(try await t.get("/api/v1/admin/merchants", token: help).status == .ok)
            #expect(try await t.get("/api/v1/admin/merchants", token: member).status == .forbidden)
            #expect(try await t.get("/api/v1/admin/merchants", token: shop).status == .forbidden)
            #expect(try await t.get("/api/v1/merchant/staff", token: boss).status == .forbidden)
            #expect(try await t.get("/api/v1/merchant/staff", token: member).status == .forbidden)
            #expect(try await t.get("/api/v1/me/wallet", token: boss).status == .forbidden)

            // Operator actions land in the audit log.
            let log = try await t.get("/api/v1/admin/audit-logs?limit=10", token: boss).content.decode([AuditLogDTO].self)
            #expect(log.first?.action == "ledger.verify")
            #expect(log.first?.actor == "money")
            #expect(log.contains { $0.action == "staff.login" && $0.actor == "boss" })
            #expect(try await t.get("/api/v1/admin/audit-logs?limit=0", token: boss).status == .unprocessableEntity)
            #expect(try await t.get("/api/v1/admin/audit-logs", token: money).status == .forbidden)
        }
    }

    @Test func staffSignInOnlyToTheirOwnConsole() async throws {
        try await withMallApp { t in
            try await t.createStaff("boss", role: .platformAdmin, merchantID: nil)
            try await t.createStaff("shop", role: .merchantOwner, merchantID: Merchant.selfOperatedID)
            let wrongConsole = try await t.postJSON("/api/v1/auth/staff-login", #"{"username":"boss","password":"Staff2026","console":"merchant"}"#)
            #expect(wrongConsole.status == .forbidden)
            #expect(wrongConsole.error?.code == "auth.wrong_console")
            #expect(try await t.postJSON("/api/v1/auth/staff-login", #"{"username":"shop","password":"Staff2026","console":"platform"}"#).status == .forbidden)
            let badConsole = try await t.postJSON("/api/v1/auth/staff-login", #"{"username":"shop","password":"Staff2026","console":"pos"}"#)
            #expect(badConsole.status == .unprocessableEntity)
            #expect(badConsole.error?.details.first?.field == "console")
        }
    }

    @Test func disabledStaffLoseAccessAtOnce() async throws {
        try await withMallApp { t in
            let staff = try await t.createStaff("shop", role: .merchantOwner, merchantID: Merchant.selfOperatedID)
            let token = try await t.staffToken("shop", console: "merchant")
            staff.active = false
            try await staff.save(on: t.app.db)
            #expect(try await t.get("/api/v1/merchant/profile", token: token).status == .unauthorized)
        }
    }
}
