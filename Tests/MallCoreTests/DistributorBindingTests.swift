import Foundation
import Testing
@testable import MallCore

@Suite struct DistributorBindingTests {
    static let buyer = UUID()
    static let first = UUID()
    static let second = UUID()
    static let start = Date(timeIntervalSince1970: 1_700_000_000)
    static func day(_ n: Double) -> Date { start.addingTimeInterval(n * 86_400) }

    static func link(_ distributor: UUID = second, at: Date, trigger: BindingTrigger = .visit, isNew: Bool = true,
                     active: Bool = true) -> BindingCandidate {
        BindingCandidate(buyerID: buyer, distributorID: distributor, distributorIsActive: active, trigger: trigger, buyerIsNew: isNew, at: at)
    }

    static let boundToFirst = BindingRecord(distributorID: first, since: start)

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let settings: BindingSettings
        let current: BindingRecord?
        let candidate: BindingCandidate
        let decision: BindingDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // first bindings
        .init(name: "permanent: the first link binds", settings: BindingSettings(mode: .permanent), current: nil,
              candidate: link(at: day(0)), decision: .bind(BindingRecord(distributorID: second, since: day(0)))),
        .init(name: "expiring: the binding gets its end", settings: BindingSettings(mode: .expiring(days: 30)), current: nil,
              candidate: link(at: day(0)), decision: .bind(BindingRecord(distributorID: second, since: day(0), expiresAt: day(30)))),
        .init(name: "no one binds to themselves", settings: BindingSettings(), current: nil,
              candidate: link(buyer, at: day(0)), decision: .keep(.selfBinding)),
        .init(name: "a frozen distributor's link does not bind", settings: BindingSettings(), current: nil,
              candidate: link(at: day(0), active: false), decision: .keep(.distributorInactive)),
        .init(name: "new members only: an existing member is not bound", settings: BindingSettings(newMembersOnly: true), current: nil,
              candidate: link(at: day(0), isNew: false), decision: .keep(.notNewMember)),
        .init(name: "new members only: a new member is bound", settings: BindingSettings(newMembersOnly: true), current: nil,
              candidate: link(at: day(0), isNew: true), decision: .bind(BindingRecord(distributorID: second, since: day(0)))),
        // triggers
        .init(name: "registration trigger: a visit does not bind", settings: BindingSettings(trigger: .registration), current: nil,
              candidate: link(at: day(0), trigger: .visit), decision: .keep(.beforeTrigger)),
        .init(name: "registration trigger: registration binds", settings: BindingSettings(trigger: .registration), current: nil,
              candidate: link(at: day(0), trigger: .registration), decision: .bind(BindingRecord(distributorID: second, since: day(0)))),
        .init(name: "first paid order trigger: registration does not bind", settings: BindingSettings(trigger: .firstPaidOrder), current: nil,
              candidate: link(at: day(0), trigger: .registration), decision: .keep(.beforeTrigger)),
        .init(name: "first paid order trigger: the order binds", settings: BindingSettings(trigger: .firstPaidOrder), current: nil,
              candidate: link(at: day(0), trigger: .firstPaidOrder), decision: .bind(BindingRecord(distributorID: second, since: day(0)))),
        .init(name: "visit trigger: a later moment binds too", settings: BindingSettings(trigger: .visit), current: nil,
              candidate: link(at: day(0), trigger: .firstPaidOrder), decision: .bind(BindingRecord(distributorID: second, since: day(0)))),
        // an existing binding
        .init(name: "permanent: the first binding wins", settings: BindingSettings(mode: .permanent), current: boundToFirst,
              candidate: link(at: day(400)), decision: .keep(.permanent)),
        .init(name: "the same distributor again is kept", settings: BindingSettings(mode: .latestLink), current: boundToFirst,
              candidate: link(first, at: day(1)), decision: .keep(.alreadyBound)),
        .init(name: "expiring: not yet expired", settings: BindingSettings(mode: .expiring(days: 30)),
              current: BindingRecord(distributorID: first, since: start, expiresAt: day(30)),
              candidate: link(at: day(29)), decision: .keep(.notExpired)),
        .init(name: "expiring: expired, the next link rebinds", settings: BindingSettings(mode: .expiring(days: 30)),
              current: BindingRecord(distributorID: first, since: start, expiresAt: day(30)), candidate: link(at: day(30)),
              decision: .rebind(BindingRecord(distributorID: second, since: day(30), expiresAt: day(60)), .expired)),
        .init(name: "expiring: expired, the same distributor binds afresh", settings: BindingSettings(mode: .expiring(days: 30)),
              current: BindingRecord(distributorID: first, since: start, expiresAt: day(30)), candidate: link(first, at: day(31)),
              decision: .bind(BindingRecord(distributorID: first, since: day(31), expiresAt: day(61)))),
        .init(name: "latest link wins", settings: BindingSettings(mode: .latestLink), current: boundToFirst,
              candidate: link(at: day(1)), decision: .rebind(BindingRecord(distributorID: second, since: day(1)), .latestLink)),
        .init(name: "latest link: not inside the protection period", settings: BindingSettings(mode: .latestLink, protectionDays: 7),
              current: boundToFirst, candidate: link(at: day(6.9)), decision: .keep(.protected)),
        .init(name: "latest link: after the protection period", settings: BindingSettings(mode: .latestLink, protectionDays: 7),
              current: boundToFirst, candidate: link(at: day(7)),
              decision: .rebind(BindingRecord(distributorID: second, since: day(7)), .latestLink)),
        .init(name: "latest link: new members only does not stop a rebind", settings: BindingSettings(mode: .latestLink, newMembersOnly: true),
              current: boundToFirst, candidate: link(at: day(1), isNew: false),
              decision: .rebind(BindingRecord(distributorID: second, since: day(1)), .latestLink)),
        .init(name: "latest link: a self link never rebinds", settings: BindingSettings(mode: .latestLink), current: boundToFirst,
              candidate: link(buyer, at: day(1)), decision: .keep(.selfBinding)),
    ]

    @Test(arguments: cases)
    func bindingDecisions(_ c: Case) throws {
        #expect(try DistributorBinding.decide(current: c.current, candidate: c.candidate, settings: c.settings) == c.decision)
    }

    @Test func settingsOutOfRangeAreRefused() {
        #expect(throws: BindingError.daysOutOfRange(0)) { try BindingSettings(mode: .expiring(days: 0)).validate() }
        #expect(throws: BindingError.daysOutOfRange(-1)) { try BindingSettings(protectionDays: -1).validate() }
        #expect(throws: BindingError.daysOutOfRange(3_651)) { try BindingSettings(mode: .expiring(days: 3_651)).validate() }
        #expect(throws: BindingError.daysOutOfRange(0)) {
            try DistributorBinding.decide(current: nil, candidate: Self.link(at: Self.start), settings: BindingSettings(mode: .expiring(days: 0)))
        }
    }

    @Test func aParentChangeThatMakesACycleIsRefused() throws {
        let a = UUID(), b = UUID(), c = UUID(), d = UUID()
        // a ← b ← c (a is the root). Moving a under c would loop.
        #expect(throws: BindingError.cycle) { try DistributorBinding.checkParentChange(member: a, proposedParent: c, ancestorsOfParent: [b, a]) }
        #expect(throws: BindingError.selfParent) { try DistributorBinding.checkParentChange(member: a, proposedParent: a, ancestorsOfParent: []) }
        try DistributorBinding.checkParentChange(member: d, proposedParent: c, ancestorsOfParent: [b, a])
        try DistributorBinding.checkParentChange(member: c, proposedParent: a, ancestorsOfParent: [])
        #expect(BindingError.cycle.code == "binding_cycle")
        #expect(BindingError.cycle.localizedMessage(.zhHans).contains("循环"))
    }
}
