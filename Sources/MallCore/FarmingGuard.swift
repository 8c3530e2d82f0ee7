/// The farming guard (羊毛防护): how many members one phone, one device and one client address
/// may bring to new-user coupons (新人券) and to bargain cuts (砍价助力).
///
/// A farmer registers many accounts and takes each one's new-user coupon, or has many accounts
/// cut one bargain; what the accounts share is the device and the network. New-user coupons are
/// therefore counted in *members*, not coupons: one member may take every new-user coupon the
/// mall offers, but a device serves that many members in its lifetime and an address that many a
/// day. Cuts are counted per device and per address each day. Addresses are counted loosely by
/// default, since carriers and offices put many real people behind one (NAT).
public struct FarmingLimits: Codable, Equatable, Sendable {
    /// Members one device may take new-user coupons for, ever.
    public var newUserCouponMembersPerDevice: Int
    /// Members one client address may take new-user coupons for in one China day.
    public var newUserCouponMembersPerIpPerDay: Int
    /// Bargain cuts from one device in one China day, in every activity together.
    public var cutsPerDevicePerDay: Int
    /// Bargain cuts from one client address in one China day, in every activity together.
    public var cutsPerIpPerDay: Int
    /// A device or address used by at least this many members is listed in the operator's report.
    public var clusterMinMembers: Int

    /// One new member per device, three a day per address (a family or an office); five cuts a day
    /// per device (a helper who cuts for a few friends in a few activities) and twenty per address;
    /// a cluster is three members on one device or address.
    public init(newUserCouponMembersPerDevice: Int = 1, newUserCouponMembersPerIpPerDay: Int = 3,
                cutsPerDevicePerDay: Int = 5, cutsPerIpPerDay: Int = 20, clusterMinMembers: Int = 3) {
        self.newUserCouponMembersPerDevice = newUserCouponMembersPerDevice
        self.newUserCouponMembersPerIpPerDay = newUserCouponMembersPerIpPerDay
        self.cutsPerDevicePerDay = cutsPerDevicePerDay
        self.cutsPerIpPerDay = cutsPerIpPerDay
        self.clusterMinMembers = clusterMinMembers
    }

    /// The bounds each setting must keep; a wider value is refused, never clamped.
    public static let bounds: [(field: String, range: ClosedRange<Int>)] = [
        ("newUserCouponMembersPerDevice", 1...100),
        ("newUserCouponMembersPerIpPerDay", 1...10_000),
        ("cutsPerDevicePerDay", 1...1_000),
        ("cutsPerIpPerDay", 1...100_000),
        ("clusterMinMembers", 2...1_000),
    ]

    public func value(of field: String) -> Int? {
        switch field {
        case "newUserCouponMembersPerDevice": newUserCouponMembersPerDevice
        case "newUserCouponMembersPerIpPerDay": newUserCouponMembersPerIpPerDay
        case "cutsPerDevicePerDay": cutsPerDevicePerDay
        case "cutsPerIpPerDay": cutsPerIpPerDay
        case "clusterMinMembers": clusterMinMembers
        default: nil
        }
    }

    /// The fields outside their bounds, in the order of `bounds`.
    public var fieldsOutOfBounds: [(field: String, range: ClosedRange<Int>)] {
        Self.bounds.filter { bound in !(bound.range.contains(value(of: bound.field) ?? Int.min)) }
    }
}

/// Why the guard refuses.
public enum FarmingRefusal: Error, Equatable, Sendable {
    /// Another member with this phone number already had new-user coupons (a re-registered number).
    case phoneUsed
    /// The device already brought `limit` other members to new-user coupons.
    case deviceUsed(limit: Int)
    /// The address brought `limit` other members to new-user coupons today.
    case addressDaily(limit: Int)
    /// The device cut `limit` times today.
    case deviceCutsDaily(limit: Int)
    /// The address cut `limit` times today.
    case addressCutsDaily(limit: Int)
}

/// What the records say about one new-user coupon claim, not counting the claiming member.
public struct NewUserCouponHistory: Equatable, Sendable {
    /// Other members who had new-user coupons under this phone number.
    public var otherMembersByPhone: Int
    /// Other members who had new-user coupons on this device (nil: the device is unknown).
    public var otherMembersByDevice: Int?
    /// Other members who had new-user coupons from this address today (nil: the address is unknown).
    public var otherMembersByAddressToday: Int?

    public init(otherMembersByPhone: Int, otherMembersByDevice: Int?, otherMembersByAddressToday: Int?) {
        self.otherMembersByPhone = otherMembersByPhone
        self.otherMembersByDevice = otherMembersByDevice
        self.otherMembersByAddressToday = otherMembersByAddressToday
    }
}

/// What the records say about one cut: the cuts already made today.
public struct CutHistory: Equatable, Sendable {
    public var byDeviceToday: Int
    /// nil: the address is unknown.
    public var byAddressToday: Int?

    public init(byDeviceToday: Int, byAddressToday: Int?) {
        self.byDeviceToday = byDeviceToday
        self.byAddressToday = byAddressToday
    }
}

public enum FarmingGuard {
    /// nil when the member may take a new-user coupon; the phone is checked first, then the device, then the address.
    public static func newUserCoupon(_ history: NewUserCouponHistory, limits: FarmingLimits) -> FarmingRefusal? {
        if history.otherMembersByPhone > 0 { return .phoneUsed }
        if let device = history.otherMembersByDevice, device >= limits.newUserCouponMembersPerDevice {
            return .deviceUsed(limit: limits.newUserCouponMembersPerDevice)
        }
        if let address = history.otherMembersByAddressToday, address >= limits.newUserCouponMembersPerIpPerDay {
            return .addressDaily(limit: limits.newUserCouponMembersPerIpPerDay)
        }
        return nil
    }

    /// nil when one more cut is allowed from this device and address today.
    public static func cut(_ history: CutHistory, limits: FarmingLimits) -> FarmingRefusal? {
        if history.byDeviceToday >= limits.cutsPerDevicePerDay { return .deviceCutsDaily(limit: limits.cutsPerDevicePerDay) }
        if let address = history.byAddressToday, address >= limits.cutsPerIpPerDay { return .addressCutsDaily(limit: limits.cutsPerIpPerDay) }
        return nil
    }
}
