import Foundation

/// Where a parcel is, as carriers report it. The raw values are what the database and the
/// tracking webhook use.
public enum TrackingStatus: String, CaseIterable, Codable, Sendable {
    /// 已揽收
    case collected
    /// 运输中
    case inTransit = "in_transit"
    /// 派送中
    case outForDelivery = "out_for_delivery"
    /// 已签收: the parcel is delivered; the order is still received only by the buyer or the receipt job.
    case signed
    /// 异常 (lost, damaged, refused, address problem)
    case exception
    /// 已退回
    case returned

    public func label(_ locale: MallLocale) -> String {
        switch self {
        case .collected: locale.choose(zh: "已揽收", en: "Collected")
        case .inTransit: locale.choose(zh: "运输中", en: "In transit")
        case .outForDelivery: locale.choose(zh: "派送中", en: "Out for delivery")
        case .signed: locale.choose(zh: "已签收", en: "Delivered")
        case .exception: locale.choose(zh: "异常", en: "Exception")
        case .returned: locale.choose(zh: "已退回", en: "Returned")
        }
    }
}

public enum ShipmentRules {
    public static let maxParcels = 20
    public static let maxEventsPerCallback = 50
    public static let maxBatchRows = 1_000
    /// A carrier's clock may run a little ahead of ours; events further in the future are refused.
    public static let futureToleranceSeconds: TimeInterval = 600
    /// Events dated this long before the parcel was shipped are refused (a wrong year, a replay).
    public static let pastToleranceSeconds: TimeInterval = 86_400

    /// A tracking number as carriers print them: 4–40 ASCII letters, digits or hyphens (nothing
    /// else, not even spaces: the API contract says so); stored in upper case.
    public static func normalizedTrackingNo(_ raw: String) -> String? {
        guard (4...40).contains(raw.unicodeScalars.count),
              raw.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else { return nil }
        return raw.uppercased()
    }

    /// Whether a carrier's event time is believable for a parcel shipped at `shippedAt`.
    public static func eventTimeIsPlausible(_ time: Date, shippedAt: Date, now: Date) -> Bool {
        time.timeIntervalSince(now) <= futureToleranceSeconds && shippedAt.timeIntervalSince(time) <= pastToleranceSeconds
    }
}

/// A line of the order as it can still be shipped: bought units less those refunded.
public struct ShippableLine: Sendable, Equatable {
    public let id: UUID
    public let units: Int64
    public init(id: UUID, units: Int64) {
        self.id = id
        self.units = units
    }
}

public struct ParcelContent: Sendable, Equatable {
    public let lineID: UUID
    public let units: Int64
    public init(lineID: UUID, units: Int64) {
        self.lineID = lineID
        self.units = units
    }
}

public enum ParcelPlanError: LocalizedRuleError, Equatable {
    case noParcels
    case tooManyParcels(max: Int)
    /// `parcel` is 0-based, `entry` the index in its `lines`.
    case unknownLine(parcel: Int, entry: Int)
    case nonPositiveUnits(parcel: Int, entry: Int)
    case tooManyUnits(lineID: UUID, asked: Int64, shippable: Int64)
    /// Every parcel lists its lines and some units are in none of them.
    case unitsLeftOver(lineID: UUID, left: Int64)
    case nothingToShip

    public var code: String {
        switch self {
        case .noParcels: "shipment_no_parcels"
        case .tooManyParcels: "shipment_too_many_parcels"
        case .unknownLine: "shipment_unknown_line"
        case .nonPositiveUnits: "shipment_non_positive_units"
        case .tooManyUnits: "shipment_too_many_units"
        case .unitsLeftOver: "shipment_units_left_over"
        case .nothingToShip: "shipment_nothing_to_ship"
        }
    }

    public var kind: RuleErrorKind {
        switch self {
        case .nothingToShip: .conflict
        default: .invalid
        }
    }

    /// The request field the refusal is about, as the API names it.
    public var field: String {
        switch self {
        case .noParcels, .tooManyParcels, .tooManyUnits, .unitsLeftOver, .nothingToShip: "parcels"
        case let .unknownLine(parcel, entry), let .nonPositiveUnits(parcel, entry): "parcels[\(parcel)].lines[\(entry)]"
        }
    }

    public func localizedMessage(_ locale: MallLocale) -> String {
        switch self {
        case .noParcels:
            locale.choose(zh: "请至少填写一个包裹", en: "Give at least one parcel")
        case let .tooManyParcels(max):
            locale.choose(zh: "一次最多 \(max) 个包裹", en: "At most \(max) parcels at a time")
        case .unknownLine:
            locale.choose(zh: "订单中没有这件商品", en: "No such line in this order")
        case .nonPositiveUnits:
            locale.choose(zh: "数量必须大于 0", en: "The quantity must be more than 0")
        case let .tooManyUnits(_, asked, shippable):
            locale.choose(zh: "包裹中的数量 \(asked) 超过可发数量 \(shippable)", en: "The parcels hold \(asked) units where \(shippable) can ship")
        case let .unitsLeftOver(_, left):
            locale.choose(zh: "还有 \(left) 件商品不在任何包裹中", en: "\(left) units are in no parcel")
        case .nothingToShip:
            locale.choose(zh: "订单已全部退款，没有可发的商品", en: "Everything was refunded; nothing is left to ship")
        }
    }
}

/// Splits an order's shippable units over its parcels. Parcels that list their lines hold those;
/// what no parcel lists goes to the first parcel that lists nothing (by default: everything in
/// the first parcel). An order ships in one go, so no unit may be left out.
public enum ParcelPlan {
    public static func allocate(lines: [ShippableLine], parcels: [[ParcelContent]?]) throws(ParcelPlanError) -> [[ParcelContent]] {
        guard !parcels.isEmpty else { throw .noParcels }
        guard parcels.count <= ShipmentRules.maxParcels else { throw .tooManyParcels(max: ShipmentRules.maxParcels) }
        let shippable = Dictionary(lines.map { ($0.id, $0.units) }, uniquingKeysWith: { first, _ in first })
        guard shippable.values.contains(where: { $0 > 0 }) else { throw .nothingToShip }
        var assigned: [UUID: Int64] = [:]
        var result: [[ParcelContent]] = []
        for (p, parcel) in parcels.enumerated() {
            var merged: [ParcelContent] = []
            for (e, content) in (parcel ?? []).enumerated() {
                guard let limit = shippable[content.lineID] else { throw .unknownLine(parcel: p, entry: e) }
                guard content.units > 0 else { throw .nonPositiveUnits(parcel: p, entry: e) }
                let (sum, overflow) = (assigned[content.lineID] ?? 0).addingReportingOverflow(content.units)
                guard !overflow, sum <= limit else { throw .tooManyUnits(lineID: content.lineID, asked: overflow ? .max : sum, shippable: limit) }
                assigned[content.lineID] = sum
                if let index = merged.firstIndex(where: { $0.lineID == content.lineID }) {
                    merged[index] = ParcelContent(lineID: content.lineID, units: merged[index].units + content.units)
                } else {
                    merged.append(content)
                }
            }
            result.append(merged)
        }
        let rest = lines.compactMap { line -> ParcelContent? in
            let left = line.units - (assigned[line.id] ?? 0)
            return left > 0 ? ParcelContent(lineID: line.id, units: left) : nil
        }
        guard !rest.isEmpty else { return result }
        guard let open = parcels.firstIndex(where: { $0 == nil || $0?.isEmpty == true }) else {
            throw .unitsLeftOver(lineID: rest[0].lineID, left: rest[0].units)
        }
        result[open] = rest
        return result
    }
}
