import Fluent
import Foundation
import MallCore
import Vapor

/// Batch shipping from a CSV (订单号, 快递公司, 运单号 — or order_no, carrier, tracking_no): every
/// row is checked first, then every order ships in one transaction, or none does and every bad
/// row is listed by its line. Rows with the same order number are that order's parcels.
enum ShipBatchCSV {
    enum Column: String, CaseIterable {
        case orderNo = "订单号", carrier = "快递公司", trackingNo = "运单号"

        var alias: String {
            switch self {
            case .orderNo: "order_no"
            case .carrier: "carrier"
            case .trackingNo: "tracking_no"
            }
        }
    }

    struct Row {
        let line: Int
        let orderNo: String
        let carrier: String
        let trackingNo: String
    }

    /// Reads and checks the file, then ships. Returns what shipped.
    static func shipAll(_ bytes: [UInt8], merchantID: UUID, staffID: UUID, req: Request) async throws -> ShipBatchResultDTO {
        let rows = try parse(bytes)
        let now = req.now
        let waybill = req.application.waybillProvider
        return try await req.writeTransaction { db in
            let groups = try await check(rows, merchantID: merchantID, on: db)
            let service = ShipmentService(db: db, now: now)
            var shipped: [ShipBatchResultDTO.Shipped] = []
            for (order, parcels) in groups {
                let input = ShipInput(parcels: parcels.map { ParcelInput(carrierCode: $0.carrier, trackingNo: $0.trackingNo, lines: nil) }, useWaybill: false)
                let made = try await service.ship(order: order, input, staffID: staffID, waybill: waybill)
                shipped.append(.init(orderId: try order.requireID(), orderNo: order.orderNo, parcels: made.count))
            }
            return ShipBatchResultDTO(shipped: shipped.count, orders: shipped)
        }
    }

    static func fileIssue(_ zh: String, _ en: String) -> LogisticsError {
        .invalid([.init("file", .init(zh, en))])
    }

    /// The data rows with their line numbers; refuses a file that is not a CSV of these columns.
    static func parse(_ bytes: [UInt8]) throws -> [Row] {
        let text: String
        do { text = try CSV.decode(bytes) } catch {
            throw fileIssue("文件不是 UTF-8 编码，请在 Excel 中另存为「CSV UTF-8」", "The file is not UTF-8; save it from Excel as \"CSV UTF-8\"")
        }
        let rows: [(line: Int, fields: [String])]
        do { rows = try CSV.parse(text) } catch {
            throw fileIssue("文件格式不正确：引号没有闭合", "The file is malformed: a quote is not closed")
        }
        guard let header = rows.first else { throw fileIssue("文件是空的", "The file is empty") }
        guard rows.count > 1 else { throw fileIssue("文件中没有要发货的行", "The file has no rows to ship") }
        guard rows.count - 1 <= ShipmentRules.maxBatchRows else {
            throw fileIssue("一次最多 \(ShipmentRules.maxBatchRows) 行", "At most \(ShipmentRules.maxBatchRows) rows at a time")
        }
        var position: [Column: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            if let column = Column.allCases.first(where: { $0.rawValue == trimmed || $0.alias == trimmed.lowercased() }), position[column] == nil {
                position[column] = index
            }
        }
        let missing = Column.allCases.filter { position[$0] == nil }
        guard missing.isEmpty else {
            throw LogisticsError.invalid([.init("header", .init("缺少列：\(missing.map(\.rawValue).joined(separator: "、"))",
                                                               "Missing columns: \(missing.map(\.alias).joined(separator: ", "))"))])
        }
        return rows.dropFirst().map { row in
            func value(_ column: Column) -> String {
                guard let index = position[column], index < row.fields.count else { return "" }
                return CSV.unquoteFormula(row.fields[index].trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return Row(line: row.line, orderNo: value(.orderNo), carrier: value(.carrier), trackingNo: value(.trackingNo))
        }
    }

    /// Each order of the shop that can ship with its parcels, in file order; or every bad row.
    static func check(_ rows: [Row], merchantID: UUID, on db: any Database) async throws -> [(Order, [(carrier: String, trackingNo: String)])] {
        let carriers = try await Carrier.query(on: db).filter(\.$active == true).all()
        func carrierCode(_ text: String) -> String? {
            carriers.first { $0.code == text.uppercased() || $0.nameZh == text || $0.nameEn.lowercased() == text.lowercased() }?.code
        }
        let numbers = Set(rows.map(\.orderNo).filter { !$0.isEmpty && $0.utf8.count <= 40 })
        var orders: [String: Order] = [:]
        // Looked up in slices, so a thousand rows are a few queries.
        let sorted = numbers.sorted()
        var start = 0
        while start < sorted.count {
            let slice = Array(sorted[start..<min(start + 200, sorted.count)])
            for order in try await Order.query(on: db).filter(\.$merchantID == merchantID).filter(\.$orderNo ~~ slice).all() { orders[order.orderNo] = order }
            start += 200
        }

        var issues: [(line: Int, text: LocalizedText)] = []
        var groups: [(Order, [(carrier: String, trackingNo: String)])] = []
        var groupIndex: [String: Int] = [:]
        var seenNumbers: [String: Int] = [:]
        for row in rows {
            var rowIssues: [LocalizedText] = []
            let order = orders[row.orderNo]
            if row.orderNo.isEmpty {
                rowIssues.append(.init("订单号不能为空", "The order number is empty"))
            } else if let order {
                if order.fulfilmentKind != .express {
                    rowIssues.append(.init("订单 \(row.orderNo) 不是快递订单", "Order \(row.orderNo) is not for delivery"))
                } else if order.orderState != .paid {
                    rowIssues.append(.init("订单 \(row.orderNo) 处于「\(order.orderState.label(.zhHans))」状态，不能发货",
                                           "Order \(row.orderNo) is \(order.orderState.label(.en).lowercased()) and cannot ship"))
                }
            } else {
                rowIssues.append(.init("找不到本店订单 \(String(row.orderNo.prefix(40)))", "No order \(String(row.orderNo.prefix(40))) in this shop"))
            }
            let code = carrierCode(row.carrier)
            if code == nil { rowIssues.append(.init("未知的快递公司：\(String(row.carrier.prefix(30)))", "Unknown carrier: \(String(row.carrier.prefix(30)))")) }
            let number = ShipmentRules.normalizedTrackingNo(row.trackingNo)
            if number == nil {
                rowIssues.append(.init("运单号须为 4-40 位字母、数字或短横线", "A tracking number has 4–40 letters, digits or hyphens"))
            } else if let code, let number {
                if let earlier = seenNumbers[code + "|" + number] {
                    rowIssues.append(.init("运单号 \(number) 与第 \(earlier) 行重复", "Tracking number \(number) repeats line \(earlier)"))
                } else {
                    seenNumbers[code + "|" + number] = row.line
                }
            }
            if let order, let code, let number, rowIssues.isEmpty {
                if let index = groupIndex[row.orderNo] {
                    if groups[index].1.count >= ShipmentRules.maxParcels {
                        rowIssues.append(.init("一个订单最多 \(ShipmentRules.maxParcels) 个包裹", "At most \(ShipmentRules.maxParcels) parcels per order"))
                    } else {
                        groups[index].1.append((code, number))
                    }
                } else {
                    groupIndex[row.orderNo] = groups.count
                    groups.append((order, [(code, number)]))
                }
            }
            issues += rowIssues.map { (row.line, $0) }
        }
        guard issues.isEmpty else {
            throw LogisticsError.invalid(issues.prefix(200).map { issue in
                .init("line \(issue.line)", .init("第 \(issue.line) 行：\(issue.text.zh)", "Line \(issue.line): \(issue.text.en)"))
            })
        }
        return groups
    }
}
