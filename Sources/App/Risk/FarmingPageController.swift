import Fluent
import Foundation
import MallCore
import Vapor

/// The operator's 羊毛防护 page `/admin/risk/farming`: the limits (with a form to change them) and
/// the devices and addresses several members used, as the API's report.
struct FarmingPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("admin", "risk", "farming", use: page)
        routes.post("admin", "risk", "farming", "settings", use: saveSettings)
    }

    struct Page: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let dimension: String
            let dimensionLabel: String
            let value: String
            let members: Int64
            let phones: String
            let coupons: Int64
            let cuts: Int64
            let firstSeen: String
            let lastSeen: String
        }
        struct Limit: Encodable, Sendable {
            let field: String
            let label: String
            let value: Int
            let min: Int
            let max: Int
        }
        let days: Int
        let minMembers: Int
        let limits: [Limit]
        let rows: [Row]
        let nextLink: String
        let dayChoices: [Int]
    }

    static let limitLabels: [String: LocalizedText] = [
        "newUserCouponMembersPerDevice": .init("每台设备可领新人券的会员数（累计）", "Members per device for new-user coupons (ever)"),
        "newUserCouponMembersPerIpPerDay": .init("每个网络地址每天可领新人券的会员数", "Members per address per day for new-user coupons"),
        "cutsPerDevicePerDay": .init("每台设备每天助力砍价次数", "Bargain cuts per device per day"),
        "cutsPerIpPerDay": .init("每个网络地址每天助力砍价次数", "Bargain cuts per address per day"),
        "clusterMinMembers": .init("报表：同一设备或地址至少几位会员", "Report: members on one device or address, at least"),
    ]

    @Sendable func page(req: Request) async throws -> Response {
        guard try DistributionConsolePageController.staff(req, .manageMarketing) != nil else { return req.redirect(to: "/admin/login") }
        let query = try FarmingReportQuery(req)
        let locale = req.locale
        let settings = try await FarmingSettings.load(on: req.db)
        let report = try await FarmingReport.clusters(query, on: req.db, cipher: req.personalData, now: req.now)
        let rows = report.clusters.map { cluster in
            Page.Row(dimension: cluster.dimension,
                     dimensionLabel: cluster.dimension == "ip" ? LocalizedText("网络地址", "Address")(locale) : LocalizedText("设备", "Device")(locale),
                     value: cluster.value.count > 24 ? String(cluster.value.prefix(23)) + "…" : cluster.value,
                     members: cluster.members, phones: cluster.maskedPhones.joined(separator: locale == .zhHans ? "、" : ", "),
                     coupons: cluster.newUserCoupons, cuts: cluster.bargainCuts,
                     firstSeen: PageDates.chinaMinute(cluster.firstSeen), lastSeen: PageDates.chinaMinute(cluster.lastSeen))
        }
        let limits = FarmingLimits.bounds.map { bound in
            Page.Limit(field: bound.field, label: (Self.limitLabels[bound.field] ?? .init(bound.field, bound.field))(locale),
                       value: settings.limits.value(of: bound.field) ?? 0, min: bound.range.lowerBound, max: bound.range.upperBound)
        }
        let next = report.nextOffset.map { "/admin/risk/farming?days=\(query.days)&minMembers=\(report.minMembers)&offset=\($0)" } ?? ""
        return try await req.page("console/farming", Page(days: query.days, minMembers: report.minMembers, limits: limits, rows: rows,
                                                           nextLink: next, dayChoices: [1, 7, 30, 90]))
    }

    @Sendable func saveSettings(req: Request) async throws -> Response {
        guard let staff = try DistributionConsolePageController.staff(req, .manageMarketing) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        let (now, ip) = (req.now, req.clientIP)
        return try await OrderPageController.redirectBack(req, "/admin/risk/farming") {
            var limits = FarmingLimits()
            var issues: [APIError.FieldIssue] = []
            for bound in FarmingLimits.bounds {
                let text = (form.first(bound.field) ?? "").trimmingCharacters(in: .whitespaces)
                guard text.count <= 9, let value = Int(text) else {
                    issues.append(.init(bound.field, .init("\((Self.limitLabels[bound.field] ?? .init(bound.field, bound.field)).zh)应为整数",
                                                           "\((Self.limitLabels[bound.field] ?? .init(bound.field, bound.field)).en) must be a whole number")))
                    continue
                }
                switch bound.field {
                case "newUserCouponMembersPerDevice": limits.newUserCouponMembersPerDevice = value
                case "newUserCouponMembersPerIpPerDay": limits.newUserCouponMembersPerIpPerDay = value
                case "cutsPerDevicePerDay": limits.cutsPerDevicePerDay = value
                case "cutsPerIpPerDay": limits.cutsPerIpPerDay = value
                default: limits.clusterMinMembers = value
                }
            }
            guard issues.isEmpty else { throw APIError.validation(issues) }
            let settings = FarmingSettings(limits)
            try settings.validate()
            try await req.writeTransaction { db in
                try await settings.save(on: db, now: now)
                try await AuditLog.record(on: db, actor: staff, action: "risk.farming.settings", target: FarmingSettings.recordName, ip: ip, at: now)
            }
            req.flash(FarmingPageStrings.table["fg_saved"] ?? .init("已保存", "Saved"))
        }
    }
}

/// Texts of the 羊毛防护 page.
enum FarmingPageStrings {
    static let table: [String: LocalizedText] = [
        "fg_title": .init("羊毛防护", "Farming guard"),
        "fg_intro": .init("同一设备或网络地址被多个会员用于领取新人券或助力砍价，可能是批量注册薅羊毛。",
                          "Devices or network addresses that several members used for new-user coupons or bargain cuts: possibly accounts farmed in bulk."),
        "fg_limits": .init("限制", "Limits"),
        "fg_save": .init("保存", "Save"),
        "fg_saved": .init("已保存", "Saved"),
        "fg_window": .init("时间范围", "Window"),
        "fg_days": .init("天", "days"),
        "fg_clusters": .init("可疑聚集", "Suspicious clusters"),
        "fg_empty": .init("这段时间没有可疑聚集", "No suspicious clusters in this window"),
        "fg_kind": .init("类型", "Kind"),
        "fg_value": .init("设备 / 地址", "Device / address"),
        "fg_members": .init("会员数", "Members"),
        "fg_phones": .init("手机号（部分）", "Phones (some)"),
        "fg_coupons": .init("新人券", "New-user coupons"),
        "fg_cuts": .init("砍价助力", "Bargain cuts"),
        "fg_first": .init("首次", "First seen"),
        "fg_last": .init("最近", "Last seen"),
        "fg_next": .init("下一页", "Next page"),
        "fg_min_members": .init("至少会员数", "At least members"),
        "fg_nav": .init("羊毛防护", "Farming guard"),
    ]
}
