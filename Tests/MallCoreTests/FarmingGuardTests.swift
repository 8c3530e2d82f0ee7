import Testing
@testable import MallCore

@Suite struct FarmingGuardTests {
    static let limits = FarmingLimits()

    @Test(arguments: [
        // phone, device, address today → refusal
        (0, 0 as Int?, 0 as Int?, nil as FarmingRefusal?),
        (0, nil, nil, nil),
        (1, 0, 0, .phoneUsed),
        (0, 1, 0, .deviceUsed(limit: 1)),
        (0, nil, 2, nil),
        (0, nil, 3, .addressDaily(limit: 3)),
        (0, 0, 7, .addressDaily(limit: 3)),
        (2, 5, 9, .phoneUsed),
        (0, 4, 9, .deviceUsed(limit: 1)),
    ])
    func newUserCoupons(phone: Int, device: Int?, address: Int?, expected: FarmingRefusal?) {
        let history = NewUserCouponHistory(otherMembersByPhone: phone, otherMembersByDevice: device, otherMembersByAddressToday: address)
        #expect(FarmingGuard.newUserCoupon(history, limits: Self.limits) == expected)
    }

    @Test(arguments: [
        (0, 0 as Int?, nil as FarmingRefusal?),
        (4, 19, nil),
        (5, 0, .deviceCutsDaily(limit: 5)),
        (0, 20, .addressCutsDaily(limit: 20)),
        (4, nil, nil),
        (9, 99, .deviceCutsDaily(limit: 5)),
    ])
    func cuts(device: Int, address: Int?, expected: FarmingRefusal?) {
        #expect(FarmingGuard.cut(CutHistory(byDeviceToday: device, byAddressToday: address), limits: Self.limits) == expected)
    }

    @Test func theLimitIsTheLastOneAllowed() {
        var limits = FarmingLimits()
        limits.newUserCouponMembersPerDevice = 2
        limits.cutsPerDevicePerDay = 1
        #expect(FarmingGuard.newUserCoupon(.init(otherMembersByPhone: 0, otherMembersByDevice: 1, otherMembersByAddressToday: nil), limits: limits) == nil)
        #expect(FarmingGuard.newUserCoupon(.init(otherMembersByPhone: 0, otherMembersByDevice: 2, otherMembersByAddressToday: nil), limits: limits)
                == .deviceUsed(limit: 2))
        #expect(FarmingGuard.cut(.init(byDeviceToday: 0, byAddressToday: nil), limits: limits) == nil)
        #expect(FarmingGuard.cut(.init(byDeviceToday: 1, byAddressToday: nil), limits: limits) == .deviceCutsDaily(limit: 1))
    }

    @Test func boundsNameEveryFieldOutside() {
        #expect(FarmingLimits().fieldsOutOfBounds.isEmpty)
        let wrong = FarmingLimits(newUserCouponMembersPerDevice: 0, newUserCouponMembersPerIpPerDay: 3, cutsPerDevicePerDay: 1_001,
                                  cutsPerIpPerDay: 20, clusterMinMembers: 1)
        #expect(wrong.fieldsOutOfBounds.map(\.field) == ["newUserCouponMembersPerDevice", "cutsPerDevicePerDay", "clusterMinMembers"])
        #expect(FarmingLimits(newUserCouponMembersPerDevice: Int.max).fieldsOutOfBounds.map(\.field) == ["newUserCouponMembersPerDevice"])
        #expect(FarmingLimits.bounds.allSatisfy { FarmingLimits().value(of: $0.field) != nil })
    }
}
