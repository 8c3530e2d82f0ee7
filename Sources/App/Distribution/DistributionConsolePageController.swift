import Fluent
import Foundation
import MallCore
import Vapor

/// The operator console's distribution page: settings, the global rule, the commission preview,
/// applications and distributors, withdrawals, commissions with holds, and settlement batches.
/// Every form calls what the API calls.
struct DistributionConsolePageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let admin = routes.grouped("admin", "distribution")
        admin.get(use: page)
        admin.post("settings", use: saveSettings)
        admin.post("rule", use: saveGlobalRule)
        admin.post("distributors", ":memberID", ":decision", use: decide)
        admin.post("withdrawals", ":withdrawalID", ":action", use: withdrawal)
        admin.post("commissions", ":commissionID", ":action", use: commission)
        admin.post("batches", ":batchID", "approve", use: approveBatch)
        admin.post("settle", use: settleNow)
        admin.post("bindings", ":memberID", use: moveBinding)
        admin.post("grades", "assess", use: assessGrades)
        admin.post("grades", use: saveGrades)
        admin.post("distributors", ":memberID", "grade", use: setGrade)
        admin.post("rules", use: saveScopedRule)
        admin.post("rules", ":ruleID", "delete", use: deleteRule)
    }

    struct Page: Encodable, Sendable {
        struct Person: Encodable, Sendable {
            let id: String
            let name: String
            let code: String
            let status: String
            let statusName: String
            let kind: String
            let createdAt: String
            let note: String
            let documents: [String]
            let gradeID: String
            let gradeName: String
        }
        struct GradeRow: Encodable, Sendable {
            let id: String
            let name: String
            let title: String
            let rank: Int
            let promoteYuan: String
            let keepYuan: String
        }
        struct WithdrawalRow: Encodable, Sendable {
            let id: String
            let no: String
            let who: String
            let amount: String
            let fee: String
            let net: String
            let channel: String
            let account: String
            let state: String
            let stateName: String
            let offline: Bool
        }
        struct CommissionRow: Encodable, Sendable {
            let id: String
            let orderNo: String
            let who: String
            let level: Int
            let amount: String
            let state: String
            let stateName: String
            let held: Bool
            let holdReason: String
        }
        struct BatchRow: Encodable, Sendable {
            let id: String
            let period: String
            let count: Int
            let total: String
            let state: String
        }
        struct Rule: Encodable, Sendable {
            let id: String
            let scope: String
            let levels: String
            let isGlobal: Bool
        }
        let config: DistributionConfig
        let capPercent: String
        let feePercent: String
        let minimumYuan: String
        let rate1: String
        let rate2: String
        let rate3: String
        let rules: [Rule]
        let applications: [Person]
        let distributors: [Person]
        let withdrawals: [WithdrawalRow]
        let commissions: [CommissionRow]
        let batches: [BatchRow]
        let preview: CommissionPreviewDTO?
        let previewSku: String
        struct TreeRow: Encodable, Sendable {
            let level: Int
            let name: String
            let code: String
            let status: String
            let sales: String
            let downlines: Int
        }
        let treeCode: String
        let tree: [TreeRow]
        struct BindingRow: Encodable, Sendable {
            let at: String
            let from: String
            let to: String
            let reason: String
            let trigger: String
        }
        let bindingPhone: String
        let bindingMemberID: String
        let boundTo: String
        let bindingHistory: [BindingRow]
        let grades: [GradeRow]
        let spendThresholdYuan: String
        let checklistText: String
        let commissionState: String
        let commissionCode: String
        struct StateOption: Encodable, Sendable { let key: String; let name: String }
        let commissionStates: [StateOption]
    }

    static func staff(_ req: Request, _ permission: Permission = .manageDistribution) throws -> StaffUser? {
        guard case .staff(let staff, let role) = req.principal, role.isPlatform else { return nil }
        guard role.can(permission) else { throw APIError.forbidden }
        return staff
    }

    @Sendable func page(req: Request) async throws -> Response {
        guard try Self.staff(req) != nil else { return req.redirect(to: "/admin/login") }
        let locale = req.locale
        let config = try await DistributionConfig.load(on: req.db)
        let records = try await CommissionRuleRecord.query(on: req.db).sort(\.$scopeKey).all()
        let dtos = try records.map(CommissionRuleDTO.init)
        let global = dtos.first { $0.scope == "global" }
        let rates = (1...3).map { level in global?.levels[String(level)]?.rateBp.map { PageFormat.percent(BasisPoints($0)).replacingOccurrences(of: "%", with: "") } ?? "" }
        let rules = dtos.map { dto in
            Page.Rule(id: dto.id.uuidString.lowercased(), scope: dto.scopeId.map { "\(dto.scope) \($0.uuidString.lowercased())" } ?? dto.scope,
                      levels: dto.levelsText(locale), isGlobal: dto.scope == "global")
        }
        let gradeList = try await DistributionAPIController.gradeList(on: req.db)
        let gradeNames = Dictionary(gradeList.map { ($0.id, $0.name) }) { first, _ in first }
        func yuan(_ fen: Int64?) -> String {
            fen.map { Money(fen: $0).formatted(.en).replacingOccurrences(of: "¥", with: "").replacingOccurrences(of: ",", with: "") } ?? ""
        }
        let grades = gradeList.map { g in
            Page.GradeRow(id: g.id.uuidString.lowercased(), name: g.name, title: g.honourTitle, rank: g.rank,
                          promoteYuan: yuan(g.promotion.first { $0.metric == .ownSales }?.threshold),
                          keepYuan: yuan(g.minimum.first { $0.metric == .ownSales }?.threshold))
        }
        let storage = req.application.imageStorage
        func person(_ d: Distributor) -> Page.Person {
            Page.Person(id: d.id?.uuidString.lowercased() ?? "", name: d.displayName, code: d.code, status: d.status,
                        statusName: (DistributorRecordStatus(rawValue: d.status) ?? .removed).name(locale),
                        kind: d.kind == "enterprise" ? (locale == .zhHans ? "企业" : "enterprise") : (locale == .zhHans ? "个人" : "individual"),
                        createdAt: PageFormat.timeFormatter.string(from: d.createdAt), note: d.reviewNote,
                        documents: d.documentKeys.map { storage.url(for: $0) }, gradeID: d.gradeID?.uuidString.lowercased() ?? "",
                        gradeName: d.gradeID.flatMap { gradeNames[$0] } ?? "")
        }
        let applications = try await Distributor.query(on: req.db).filter(\.$status == DistributorRecordStatus.applied.rawValue)
            .sort(\.$createdAt).limit(100).all().map(person)
        let distributors = try await Distributor.query(on: req.db).filter(\.$status != DistributorRecordStatus.applied.rawValue)
            .sort(\.$createdAt, .descending).limit(100).all().map(person)
        let withdrawalRecords = try await Withdrawal.query(on: req.db).sort(\.$createdAt, .descending).limit(50).all()
        // The commission ledger, filtered by state and by the distributor's code.
        let commissionState = (try? req.query.get(String.self, at: "state")) ?? ""
        let commissionCode = (try? req.query.get(String.self, at: "who")) ?? ""
        var commissionQuery = Commission.query(on: req.db)
        if CommissionState(rawValue: commissionState) != nil { commissionQuery = commissionQuery.filter(\.$state == commissionState) }
        if !commissionCode.isEmpty {
            let who = try await DistributionAPIController.distributor(code: commissionCode, on: req.db)?.id ?? UUID()
            commissionQuery = commissionQuery.filter(\.$beneficiaryID == who)
        }
        let commissionRecords = try await commissionQuery.sort(\.$createdAt, .descending).limit(50).all()
        // Names for the rows shown, and for the binding looked up below.
        let bindingPhone = (try? req.query.get(String.self, at: "phone")) ?? ""
        var bindingMember: UUID?
        var binding: DistributionAPIController.BindingHistoryDTO?
        if let phone = PhoneNumber(bindingPhone),
           let found = try await Member.query(on: req.db).filter(\.$phoneHash == req.application.personalData.lookupHash(phone.digits)).first(), let foundID = found.id {
            bindingMember = foundID
            binding = try await DistributionAPIController.bindingDTO(foundID, on: req.db)
        }
        var wanted = Set(withdrawalRecords.map(\.distributorID)).union(commissionRecords.map(\.beneficiaryID))
        if let binding {
            wanted.formUnion([binding.distributorId].compactMap { $0 })
            wanted.formUnion(binding.history.flatMap { [$0.from, $0.to].compactMap { $0 } })
        }
        let names = Dictionary(try await Distributor.query(on: req.db).filter(\.$id ~~ Array(wanted)).all().map { ($0.id ?? UUID(), $0.displayName) }) { first, _ in first }
        let withdrawals = withdrawalRecords.map { w in
            let dto = WithdrawalDTO(w, locale)
            return Page.WithdrawalRow(id: dto.id.uuidString.lowercased(), no: dto.withdrawalNo, who: names[w.distributorID] ?? "", amount: dto.amount.display,
                                      fee: dto.fee.display, net: dto.net.display, channel: dto.channelName,
                                      account: w.accountHint.isEmpty ? "" : "****" + w.accountHint, state: dto.state, stateName: dto.stateName,
                                      offline: w.channel != WithdrawalChannel.balance.rawValue)
        }
        let commissions = commissionRecords.map { c in
            Page.CommissionRow(id: c.id?.uuidString.lowercased() ?? "", orderNo: c.orderNo, who: names[c.beneficiaryID] ?? "", level: c.level,
                               amount: Money(fen: c.amount).formatted(locale), state: c.state,
                               stateName: (CommissionState(rawValue: c.state) ?? .voided).name(locale), held: c.held, holdReason: c.holdReason)
        }
        let batches = try await CommissionBatch.query(on: req.db).sort(\.$createdAt, .descending).limit(30).all().map {
            Page.BatchRow(id: $0.id?.uuidString.lowercased() ?? "", period: $0.period, count: $0.commissionCount,
                          total: Money(fen: $0.total).formatted(locale), state: $0.state)
        }
        // The preview form is a GET: the SKU, quantity, amount and sharing distributor's code.
        var preview: CommissionPreviewDTO?
        let sku = (try? req.query.get(String.self, at: "sku")) ?? ""
        if let skuID = UUID(uuidString: sku) {
            let quantity = Int64((try? req.query.get(String.self, at: "quantity")) ?? "1") ?? 1
            let paid = ((try? req.query.get(String.self, at: "paid")) ?? "").isEmpty ? nil : try? Money.parse((try? req.query.get(String.self, at: "paid")) ?? "")
            let code = (try? req.query.get(String.self, at: "code")) ?? ""
            let distributorID = try await DistributionAPIController.distributor(code: code, on: req.db)?.id
            if (1...100_000).contains(quantity), let result = try? await CommissionPreview.run(skuID: skuID, quantity: quantity, paidAmount: paid, buyerID: nil,
                                                                                              distributorID: distributorID, on: req.db, now: req.now) {
                preview = try await CommissionPreview.dto(result, req: req)
            }
        }
        // The team tree (团队) below one distributor, two levels deep, with each one's own sales this month.
        let treeCode = (try? req.query.get(String.self, at: "tree")) ?? ""
        var tree: [Page.TreeRow] = []
        if let root = try await DistributionAPIController.distributor(code: treeCode, on: req.db), let rootID = root.id {
            let service = CommissionService(db: req.db, now: req.now)
            var current = [rootID]
            for level in 1...2 where !current.isEmpty {
                let rows = try await Distributor.query(on: req.db).filter(\.$parentID ~~ current).sort(\.$createdAt).limit(200).all()
                let ids = rows.compactMap(\.id)
                let (sales, below) = (try await service.periodSales(ids), try await service.downlineCounts(ids))
                for row in rows {
                    guard let id = row.id else { continue }
                    tree.append(.init(level: level, name: row.displayName, code: row.code, status: (DistributorRecordStatus(rawValue: row.status) ?? .removed).name(locale),
                                      sales: (sales[id] ?? .zero).formatted(locale), downlines: below[id] ?? 0))
                }
                current = rows.compactMap(\.id)
            }
        }
        // One buyer's binding and its history, found by phone number.
        var bindingMemberID = ""
        var boundTo = ""
        var bindingHistory: [Page.BindingRow] = []
        if let foundID = bindingMember, let dto = binding {
            bindingMemberID = foundID.uuidString.lowercased()
            boundTo = dto.distributorId.flatMap { names[$0] } ?? "—"
            bindingHistory = dto.history.reversed().map {
                .init(at: PageFormat.timeFormatter.string(from: $0.at), from: $0.from.flatMap { names[$0] } ?? "—", to: names[$0.to] ?? $0.to.uuidString.lowercased(),
                      reason: $0.reason, trigger: $0.trigger)
            }
        }
        return try await req.page("console/distribution", Page(
            config: config, capPercent: PageFormat.percent(BasisPoints(config.commission.capRateBp)).replacingOccurrences(of: "%", with: ""),
            feePercent: PageFormat.percent(BasisPoints(config.withdrawal.feeRateBp)).replacingOccurrences(of: "%", with: ""),
            minimumYuan: Money(fen: config.withdrawal.minimumFen).formatted(.en).replacingOccurrences(of: "¥", with: "").replacingOccurrences(of: ",", with: ""),
            rate1: rates[0], rate2: rates[1], rate3: rates[2], rules: rules, applications: applications, distributors: distributors, withdrawals: withdrawals,
            commissions: commissions, batches: batches, preview: preview, previewSku: sku, treeCode: treeCode, tree: tree,
            bindingPhone: bindingPhone, bindingMemberID: bindingMemberID, boundTo: boundTo, bindingHistory: bindingHistory,
            grades: grades, spendThresholdYuan: yuan(config.admission.spendThresholdFen),
            checklistText: config.admission.reviewChecklist.joined(separator: "\n"), commissionState: commissionState, commissionCode: commissionCode,
            commissionStates: CommissionState.allCases.map { .init(key: $0.rawValue, name: $0.name(locale)) }))
    }

    @Sendable func saveSettings(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            var config = try await DistributionConfig.load(on: req.db)
            func int(_ name: String) -> Int? { form.first(name).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
            func percent(_ name: String, field: String) throws -> Int {
                guard let rate = BasisPoints.parsePercent(form.first(name) ?? "") else {
                    throw DistributionConfig.invalid(field, "请输入百分比，如 50 或 1.5", "Enter a percentage such as 50 or 1.5")
                }
                return rate.value
            }
            config.enabled = form.first("enabled") == "on"
            config.commission.levelCount = int("levelCount") ?? config.commission.levelCount
            config.commission.selfPurchase = form.first("selfPurchase") == "on"
            config.commission.base = form.first("base") ?? config.commission.base
            config.commission.capRateBp = try percent("capPercent", field: "commission.capRateBp")
            config.binding.mode = form.first("bindingMode") ?? config.binding.mode
            config.binding.expiringDays = int("expiringDays") ?? config.binding.expiringDays
            config.binding.trigger = form.first("trigger") ?? config.binding.trigger
            config.binding.protectionDays = int("protectionDays") ?? config.binding.protectionDays
            config.binding.newMembersOnly = form.first("newMembersOnly") == "on"
            config.admission.mode = form.first("admissionMode") ?? config.admission.mode
            if let raw = form.first("spendThresholdYuan"), !raw.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let spend = try? Money.parse(raw) else {
                    throw DistributionConfig.invalid("admission.spendThresholdFen", "请输入消费门槛金额，如 99.00", "Enter the spend threshold, such as 99.00")
                }
                config.admission.spendThresholdFen = spend.fen
            }
            config.admission.receivedOrderThreshold = int("receivedOrderThreshold") ?? config.admission.receivedOrderThreshold
            if let checklist = form.first("reviewChecklist") {
                config.admission.reviewChecklist = checklist.split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            config.settlement.schedule = form.first("schedule") ?? config.settlement.schedule
            config.settlement.approval = form.first("approval") ?? config.settlement.approval
            config.withdrawal.feeRateBp = try percent("feePercent", field: "withdrawal.feeRateBp")
            guard let minimum = try? Money.parse(form.first("minimumYuan") ?? "") else {
                throw DistributionConfig.invalid("withdrawal.minimumFen", "请输入最低提现金额，如 1.00", "Enter the minimum, such as 1.00")
            }
            config.withdrawal.minimumFen = minimum.fen
            config.withdrawal.maxPerDay = int("maxPerDay") ?? config.withdrawal.maxPerDay
            try config.validate()
            let (now, ip, saved) = (req.now, req.clientIP, config)
            try await req.writeTransaction { db in
                _ = try await CommissionService(db: db, now: now).ruleBook(saved)
                try await saved.save(on: db, now: now)
                try await AuditLog.record(on: db, actor: staff, action: "distribution.settings", target: "distribution", ip: ip, at: now)
            }
            req.flash(.init("分销设置已保存", "Distribution settings saved"))
        }
    }

    @Sendable func saveGlobalRule(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/distribution") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            var levels: [String: CommissionLevelInput] = [:]
            for level in 1...3 {
                let raw = (form.first("level\(level)") ?? "").trimmingCharacters(in: .whitespaces)
                guard !raw.isEmpty else { continue }
                guard let rate = BasisPoints.parsePercent(raw) else {
                    throw DistributionConfig.invalid("level\(level)", "第 \(level) 级比例请输入百分比，如 10", "Enter level \(level)'s rate as a percentage such as 10")
                }
                levels[String(level)] = CommissionLevelInput(rateBp: rate.value, perUnitFen: nil, perOrderFen: nil, tiers: nil)
            }
            let rule = try CommissionRuleInput(scope: "global", scopeId: nil, levels: levels).rule()
            _ = try await DistributionAPIController.saveRule(rule, merchantID: nil, req: req)
            try await AuditLog.record(on: req.db, actor: staff, action: "distribution.rule", target: "global", ip: req.clientIP, at: req.now)
            req.flash(.init("全局佣金规则已保存", "The global rule is saved"))
        }
    }

    @Sendable func decide(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let memberID = try req.uuidParameter("memberID")
        let note = req.formFields.first("note") ?? ""
        let checked = Array((req.formFields.all("checked") ?? []).prefix(20))
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            guard let decision = DistributorService.Decision(rawValue: req.parameters.get("decision") ?? "") else { throw APIError.notFound }
            guard TextLength.fits(note, max: 200), decision != .reject || TextLength.isFilled(note, max: 200) else {
                throw DistributionConfig.invalid("note", "驳回须填写原因（≤200 字）", "A rejection needs a reason (≤200 characters)")
            }
            let (now, ip) = (req.now, req.clientIP)
            _ = try await req.writeTransaction { db in
                try await DistributorService(db: db, now: now).decide(decision, distributorID: memberID, note: note, checked: checked, staff: staff, ip: ip)
            }
            req.flash(.init("已处理", "Done"))
        }
    }

    @Sendable func withdrawal(req: Request) async throws -> Response {
        guard try Self.staff(req, .payoutWithdrawals) != nil else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            if req.parameters.get("action") == "sync" {
                let dto = try await DistributionAPIController.syncWithdrawal(req)
                req.flash(.init("提现单 \(dto.withdrawalNo)：\(dto.stateName)", "Withdrawal \(dto.withdrawalNo): \(dto.stateName)"))
                return
            }
            let action: DistributionAPIController.WithdrawalAction
            switch req.parameters.get("action") ?? "" {
            case "approve": action = .approve
            case "reject": action = .reject
            case "pay": action = .pay
            case "fail": action = .fail
            default: throw APIError.notFound
            }
            let text = action == .pay ? (form.first("proof") ?? "") : (form.first("reason") ?? "")
            let dto = try await DistributionAPIController.decideWithdrawal(req, action, text: text)
            req.flash(.init("提现单 \(dto.withdrawalNo)：\(dto.stateName)", "Withdrawal \(dto.withdrawalNo): \(dto.stateName)"))
        }
    }

    @Sendable func commission(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let commissionID = try req.uuidParameter("commissionID")
        let reason = req.formFields.first("reason") ?? ""
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let held = req.parameters.get("action") == "hold"
            guard held || req.parameters.get("action") == "release" else { throw APIError.notFound }
            guard TextLength.fits(reason, max: 200), !held || TextLength.isFilled(reason, max: 200) else {
                throw DistributionConfig.invalid("reason", "请填写 1-200 字的原因", "Give a reason of 1–200 characters")
            }
            let (now, ip) = (req.now, req.clientIP)
            _ = try await req.writeTransaction { db in
                try await CommissionService(db: db, now: now).setHeld(held, commissionID: commissionID, reason: reason, staff: staff, ip: ip)
            }
            req.flash(held ? .init("佣金已暂扣", "Commission held") : .init("佣金已放行", "Commission released"))
        }
    }

    @Sendable func approveBatch(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let batchID = try req.uuidParameter("batchID")
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let report = try await CommissionSettlement.approve(batchID: batchID, by: staff, ip: req.clientIP, app: req.application)
            req.flash(.init("已结算 \(report.settled) 笔佣金", "\(report.settled) commissions settled"))
        }
    }

    @Sendable func moveBinding(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let memberID = try req.uuidParameter("memberID")
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            guard let target = try await DistributionAPIController.distributor(code: form.first("code") ?? "", on: req.db), let targetID = target.id else {
                throw DistributionConfig.invalid("code", "找不到该推广码的分销员", "No distributor has this code")
            }
            let reason = try AfterSaleAPIController.text(form.first("reason") ?? "", field: "reason", max: 200)
            let (now, ip) = (req.now, req.clientIP)
            _ = try await req.writeTransaction { db in
                try await BindingService(db: db, now: now).move(memberID: memberID, to: targetID, reason: reason, staff: staff, ip: ip)
            }
            req.flash(.init("已改绑到 \(target.displayName)", "Now bound to \(target.displayName)"))
        }
    }

    @Sendable func assessGrades(req: Request) async throws -> Response {
        guard try Self.staff(req) != nil else { return req.redirect(to: "/admin/login") }
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let report = try await GradeAssessment.run(req.application)
            req.flash(.init("评估 \(report.assessed) 人：升级 \(report.promoted)，降级 \(report.demoted)",
                            "\(report.assessed) assessed: \(report.promoted) promoted, \(report.demoted) demoted"))
        }
    }

    @Sendable func settleNow(req: Request) async throws -> Response {
        guard try Self.staff(req) != nil else { return req.redirect(to: "/admin/login") }
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let report = try await CommissionSettlement.run(req.application, force: true)
            req.flash(.init("生成 \(report.batches) 个结算批次，已结算 \(report.settled) 笔，待审批 \(report.awaitingApproval) 批",
                            "\(report.batches) batches: \(report.settled) settled, \(report.awaitingApproval) awaiting approval"))
        }
    }

    /// The grade ladder from the console: names, titles, ranks and the own-sales conditions;
    /// any other condition a grade has (set through the API) is kept as it was.
    @Sendable func saveGrades(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let ids = form.all("gradeId") ?? [], names = form.all("name") ?? [], titles = form.all("title") ?? []
            let ranks = form.all("rank") ?? [], promote = form.all("promoteYuan") ?? [], keep = form.all("keepYuan") ?? []
            guard ids.count <= 21, [names.count, titles.count, ranks.count, promote.count, keep.count].allSatisfy({ $0 == ids.count }) else {
                throw DistributionConfig.invalid("grades", "等级表单不完整", "The grade form is incomplete")
            }
            let existing = Dictionary(try await DistributionAPIController.gradeList(on: req.db).map { ($0.id, $0) }) { first, _ in first }
            func fen(_ raw: String, _ field: String) throws -> Int64? {
                let text = raw.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { return nil }
                guard let money = try? Money.parse(text) else {
                    throw DistributionConfig.invalid(field, "请输入金额，如 1000.00", "Enter an amount such as 1000.00")
                }
                return money.fen
            }
            var grades: [DistributionAPIController.GradeDTO] = []
            for index in ids.indices {
                let name = names[index].trimmingCharacters(in: .whitespaces)
                let id = UUID(uuidString: ids[index])
                if name.isEmpty && id == nil { continue }  // the blank row for a new grade
                guard let rank = Int(ranks[index].trimmingCharacters(in: .whitespaces)), (1...1000).contains(rank) else {
                    throw DistributionConfig.invalid("rank", "顺序请输入 1-1000 的整数", "The rank is a whole number from 1 to 1000")
                }
                let old = id.flatMap { existing[$0] }
                let window = old?.promotion.first { $0.metric == .ownSales }?.window ?? .period
                var promotion = old?.promotion.filter { $0.metric != .ownSales } ?? []
                if let threshold = try fen(promote[index], "promoteYuan") { promotion.append(GradeCondition(.ownSales, atLeast: threshold, window: window)) }
                var minimum = old?.minimum.filter { $0.metric != .ownSales } ?? []
                if let threshold = try fen(keep[index], "keepYuan") { minimum.append(GradeCondition(.ownSales, atLeast: threshold, window: .period)) }
                grades.append(.init(id: id ?? UUID(), name: name, honourTitle: titles[index].trimmingCharacters(in: .whitespaces), rank: rank,
                                    promotion: promotion, promotionMatch: old?.promotionMatch ?? "all", minimum: minimum))
            }
            _ = try await DistributionAPIController.saveGrades(grades, staff: staff, req: req)
            req.flash(.init("分销员等级已保存", "Grades saved"))
        }
    }

    @Sendable func setGrade(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let memberID = try req.uuidParameter("memberID")
        let grade = req.formFields.first("gradeId").flatMap(UUID.init(uuidString:))
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            guard let grade else { throw DistributionConfig.invalid("gradeId", "请选择等级", "Choose a grade") }
            let (now, ip) = (req.now, req.clientIP)
            _ = try await req.writeTransaction { db in
                try await DistributorService(db: db, now: now).setGrade(grade, distributorID: memberID, staff: staff, ip: ip)
            }
            req.flash(.init("等级已调整", "Grade changed"))
        }
    }

    /// A category, product, SKU or grade rule: a rate per level and a fixed amount per unit.
    @Sendable func saveScopedRule(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let form = req.formFields
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            let scope = form.first("scope") ?? ""
            guard ["category", "product", "sku", "grade"].contains(scope) else {
                throw DistributionConfig.invalid("scope", "请选择规则范围", "Choose the rule's scope")
            }
            guard let target = form.first("scopeId").flatMap({ UUID(uuidString: $0.trimmingCharacters(in: .whitespaces)) }) else {
                throw DistributionConfig.invalid("scopeId", "请填写对象 ID", "Give the target's id")
            }
            var levels: [String: CommissionLevelInput] = [:]
            for level in 1...3 {
                let rateText = (form.first("rate\(level)") ?? "").trimmingCharacters(in: .whitespaces)
                let unitText = (form.first("unit\(level)") ?? "").trimmingCharacters(in: .whitespaces)
                guard !rateText.isEmpty || !unitText.isEmpty else { continue }
                var rate: Int?
                if !rateText.isEmpty {
                    guard let parsed = BasisPoints.parsePercent(rateText) else {
                        throw DistributionConfig.invalid("rate\(level)", "第 \(level) 级比例请输入百分比，如 10", "Enter level \(level)'s rate as a percentage such as 10")
                    }
                    rate = parsed.value
                }
                var unit: Int64?
                if !unitText.isEmpty {
                    guard let parsed = try? Money.parse(unitText) else {
                        throw DistributionConfig.invalid("unit\(level)", "第 \(level) 级每件金额请输入如 2.50", "Enter level \(level)'s amount per unit such as 2.50")
                    }
                    unit = parsed.fen
                }
                levels[String(level)] = CommissionLevelInput(rateBp: rate, perUnitFen: unit, perOrderFen: nil, tiers: nil)
            }
            guard !levels.isEmpty else { throw DistributionConfig.invalid("rate1", "请至少设置一级", "Set at least one level") }
            let rule = try CommissionRuleInput(scope: scope, scopeId: target, levels: levels).rule()
            _ = try await DistributionAPIController.saveRule(rule, merchantID: nil, req: req)
            try await AuditLog.record(on: req.db, actor: staff, action: "distribution.rule", target: "\(scope):\(target.uuidString.lowercased())", ip: req.clientIP, at: req.now)
            req.flash(.init("佣金规则已保存", "The rule is saved"))
        }
    }

    @Sendable func deleteRule(req: Request) async throws -> Response {
        guard let staff = try Self.staff(req) else { return req.redirect(to: "/admin/login") }
        let ruleID = try req.uuidParameter("ruleID")
        return try await OrderPageController.redirectBack(req, "/admin/distribution") {
            try await DistributionAPIController.deleteRule(ruleID, staff: staff, req: req)
            req.flash(.init("规则已删除", "The rule is deleted"))
        }
    }
}
