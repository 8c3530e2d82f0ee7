import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Distribution under `/api/v1`: the distributor's own (`/distribution/...`), the shop's
/// product rules (`/merchant/distribution/...`) and the operator's console (`/admin/distribution/...`).
struct DistributionAPIController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let mine = routes.grouped("distribution")
        mine.get("agreement", use: agreement)
        mine.get("me", use: me)
        mine.put("me", "avatar", use: putAvatar)
        mine.post("apply", use: apply)
        mine.post("touch", use: touch)
        mine.get("commissions", use: myCommissions)
        mine.get("team", use: team)
        mine.get("ranking", use: ranking)
        mine.get("earn", use: earn)
        mine.get("posters", ":productID", use: poster)
        mine.get("withdrawals", use: myWithdrawals)
        mine.post("withdrawals", use: requestWithdrawal)

        let shop = routes.grouped("merchant", "distribution", "rules")
        shop.get(use: shopRules)
        shop.put(use: putShopRule)
        shop.delete(":ruleID", use: deleteShopRule)
        let shopDistribution = routes.grouped("merchant", "distribution")
        shopDistribution.get("batches", use: shopBatches)
        shopDistribution.post("batches", ":batchID", "approve", use: approveShopBatch)
        shopDistribution.put("stores", ":storeID", use: putStoreDistribution)

        let admin = routes.grouped("admin", "distribution")
        admin.get("settings", use: settings)
        admin.put("settings", use: putSettings)
        admin.get("rules", use: rules)
        admin.put("rules", use: putRule)
        admin.delete("rules", ":ruleID", use: deleteRule)
        admin.get("grades", use: grades)
        admin.put("grades", use: putGrades)
        admin.post("grades", "assess", use: assessGrades)
        admin.post("preview", use: preview)
        admin.get("distributors", use: distributors)
        admin.post("distributors", ":memberID", "decision", use: decide)
        admin.post("distributors", ":memberID", "grade", use: setGrade)
        admin.post("distributors", ":memberID", "appoint", use: appoint)
        admin.get("bindings", ":memberID", use: bindingHistory)
        admin.put("bindings", ":memberID", use: moveBinding)
        admin.get("commissions", use: commissions)
        admin.post("commissions", ":commissionID", "hold", use: hold)
        admin.post("commissions", ":commissionID", "release", use: release)
        admin.post("settlement", "run", use: runSettlement)
        admin.get("batches", use: batches)
        admin.post("batches", ":batchID", "approve", use: approveBatch)
        admin.get("withdrawals", use: withdrawals)
        admin.post("withdrawals", ":withdrawalID", "approve", use: approveWithdrawal)
        admin.post("withdrawals", ":withdrawalID", "reject", use: rejectWithdrawal)
        admin.post("withdrawals", ":withdrawalID", "pay", use: payWithdrawal)
        admin.post("withdrawals", ":withdrawalID", "fail", use: failWithdrawal)
        admin.post("withdrawals", ":withdrawalID", "sync", use: syncWithdrawal)
    }

    // MARK: - The distributor's own

    struct AgreementDTO: Content {
        let version: String
        let text: String
        let admissionMode: String
        let formFields: [String]
        let entryFee: MoneyDTO
    }

    @Sendable func agreement(req: Request) async throws -> AgreementDTO {
        let config = try await DistributionConfig.load(on: req.db)
        return AgreementDTO(version: config.admission.agreementVersion, text: config.admission.agreementText, admissionMode: config.admission.mode,
                            formFields: config.admission.formFields, entryFee: .init(.zero, req.locale))
    }

    @Sendable func me(req: Request) async throws -> MyDistributionDTO {
        let member = try req.requireMember()
        return try await Self.myDistribution(req, memberID: member.requireID())
    }

    struct AvatarInput: Content {
        /// The key of a picture uploaded through `POST /api/v1/me/images`.
        let imageKey: String
    }

    @Sendable func putAvatar(req: Request) async throws -> MyDistributionDTO {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(AvatarInput.self)
        guard ImageKey.isValid(input.imageKey),
              let image = try await UploadedImage.query(on: req.db).filter(\.$storageKey == input.imageKey).filter(\.$memberID == memberID).first() else {
            throw APIError.validation([.init("imageKey", .init("请使用自己上传的图片", "Use a picture you uploaded yourself"))])
        }
        guard let distributor = try await Distributor.find(memberID, on: req.db), distributor.status == DistributorRecordStatus.active.rawValue else {
            throw APIError(.forbidden, "distributor.not_active", .init("成为分销员后才能设置头像", "Become a distributor to set an avatar"))
        }
        try await DistributorService.setAvatar(image, distributorID: memberID, on: req.application, now: req.now)
        return try await Self.myDistribution(req, memberID: memberID)
    }

    static func myDistribution(_ req: Request, memberID: UUID) async throws -> MyDistributionDTO {
        let config = try await DistributionConfig.load(on: req.db)
        let distributor = try await Distributor.find(memberID, on: req.db)
        var boundTo: String?
        if let binding = try await CustomerBinding.find(memberID, on: req.db), binding.record.isActive(at: req.now),
           let who = try await Distributor.find(binding.distributorID, on: req.db) {
            boundTo = who.displayName
        }
        guard let distributor else {
            return MyDistributionDTO(distributor: nil, balances: nil, links: nil, boundTo: boundTo, admissionMode: config.admission.mode,
                                     agreementVersion: config.admission.agreementVersion)
        }
        let active = distributor.status == DistributorRecordStatus.active.rawValue
        return MyDistributionDTO(distributor: DistributorDTO(distributor, req.locale),
                                 balances: try await balances(memberID, on: req.db, locale: req.locale),
                                 links: active ? DistributionLinksDTO(shop: "/s/\(distributor.code)", shopQrCode: "/s/\(distributor.code)/qr.svg") : nil,
                                 boundTo: boundTo, admissionMode: config.admission.mode, agreementVersion: config.admission.agreementVersion,
                                 earned: try await earned(memberID, on: req.db, now: req.now, locale: req.locale))
    }

    static func balances(_ memberID: UUID, on db: any Database, locale: MallLocale) async throws -> CommissionBalancesDTO {
        let by = try await CommissionService(db: db, now: Date()).commissionAccounts(memberID)
        let withdrawals = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN state IN ('requested', 'approved', 'transferring') THEN amount ELSE 0 END), 0) AS BIGINT) AS withdrawing,
                   CAST(COALESCE(SUM(CASE WHEN state = 'paid' THEN amount ELSE 0 END), 0) AS BIGINT) AS withdrawn
            FROM withdrawals WHERE distributor_id = \(bind: memberID)
            """).first()
        func money(_ fen: Int64?) -> MoneyDTO { .init(Money(fen: fen ?? 0), locale) }
        return CommissionBalancesDTO(pending: money(by["commission_pending"]), frozen: money(by["commission_frozen"]),
                                     available: money(by["commission_available"]), debt: money(by["commission_debt"]),
                                     withdrawing: money(try withdrawals?.decode(column: "withdrawing", as: Int64.self)),
                                     withdrawn: money(try withdrawals?.decode(column: "withdrawn", as: Int64.self)))
    }

    @Sendable func apply(req: Request) async throws -> Response {
        let member = try req.requireMember()
        let input = try req.content.decode(DistributorApplication.self)
        let (now, cipher) = (req.now, req.application.personalData)
        let distributor = try await req.writeTransaction { db in
            try await DistributorService(db: db, now: now).apply(member: member, input: input, cipher: cipher)
        }
        return try await DistributorDTO(distributor, req.locale).encodeResponse(status: .created, for: req)
    }

    struct TouchInput: Content {
        let code: String
    }

    struct TouchDTO: Content {
        let bound: Bool
        let distributorName: String?
        let reason: String?
    }

    /// A signed-in member opened a distributor's link in an app: a visit for the binding rules.
    @Sendable func touch(req: Request) async throws -> TouchDTO {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(TouchInput.self)
        guard let distributor = try await Self.distributor(code: input.code, on: req.db) else { throw APIError.notFound }
        let distributorID = try distributor.requireID()
        let now = req.now
        let outcome = try await req.writeTransaction { db in
            try await DistributionVisits.record(distributorID: distributorID, visitorKey: "m:\(memberID.uuidString.lowercased())", productID: nil,
                                                source: "link", on: db, now: now)
            return try await BindingService(db: db, now: now).arrive(memberID: memberID, distributorID: distributorID, trigger: .visit)
        }
        switch outcome {
        case .bound: return TouchDTO(bound: true, distributorName: distributor.displayName, reason: nil)
        case .kept(let reason): return TouchDTO(bound: false, distributorName: nil, reason: reason)
        }
    }

    static func distributor(code raw: String, on db: any Database) async throws -> Distributor? {
        let code = raw.uppercased()
        guard code.count == 8, code.allSatisfy({ DistributorService.codeAlphabet.contains($0) }) else { return nil }
        return try await Distributor.query(on: db).filter(\.$code == code).first()
    }

    struct ListQuery: Content {
        let state: String?
        let limit: Int?
        let distributorId: UUID?
        let merchantId: UUID?

        /// A state the list does not know is a 422, not an empty list that looks like "none".
        func validState(_ known: [String]) throws -> String? {
            guard let state else { return nil }
            guard known.contains(state) else {
                let list = known.joined(separator: ", ")
                throw APIError.validation([.init("state", .init("状态须为 \(list) 之一", "The state must be one of \(list)"))])
            }
            return state
        }
    }

    @Sendable func myCommissions(req: Request) async throws -> [CommissionDTO] {
        let memberID = try req.requireMember().requireID()
        let query = try req.query.decode(ListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit(default: 50)
        var builder = Commission.query(on: req.db).filter(\.$beneficiaryID == memberID)
        if let state = try query.validState(CommissionState.allCases.map(\.rawValue)) { builder = builder.filter(\.$state == state) }
        let rows = try await builder.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
        return try await Self.dtos(rows, req: req)
    }

    /// Buyers appear masked to distributors: a nickname's first character and stars.
    static func dtos(_ rows: [Commission], req: Request) async throws -> [CommissionDTO] {
        let buyerIDs = Array(Set(rows.map(\.buyerID)))
        var names: [UUID: String] = [:]
        if !buyerIDs.isEmpty {
            for member in try await Member.query(on: req.db).filter(\.$id ~~ buyerIDs).all() {
                names[member.id ?? UUID()] = ReviewRules.maskedName(member.nickname)
            }
        }
        return rows.map { CommissionDTO($0, buyer: names[$0.buyerID] ?? "**", req.locale) }
    }

    /// The distributor's team by level: direct downlines and theirs, with what each sold.
    @Sendable func team(req: Request) async throws -> TeamDTO {
        let memberID = try req.requireMember().requireID()
        guard try await Distributor.find(memberID, on: req.db) != nil else { throw APIError.notFound }
        var members: [TeamMemberDTO] = []
        var levels: [TeamLevelDTO] = []
        var current = [memberID]
        for level in 1...2 where !current.isEmpty {
            let rows = try await Distributor.query(on: req.db).filter(\.$parentID ~~ current).sort(\.$createdAt).limit(500).all()
            let sales = try await CommissionService(db: req.db, now: req.now).periodSales(rows.compactMap(\.id))
            var total: Int64 = 0
            for row in rows {
                let id = try row.requireID()
                let sold = sales[id] ?? .zero
                total += sold.fen
                members.append(TeamMemberDTO(memberId: id, name: ReviewRules.maskedName(row.displayName), level: level, status: row.status,
                                             sales: .init(sold, req.locale)))
            }
            levels.append(TeamLevelDTO(level: level, members: rows.count, sales: .init(Money(fen: total), req.locale)))
            current = rows.compactMap(\.id)
        }
        return TeamDTO(levels: levels, members: members)
    }

    struct RankingEntryDTO: Content {
        let place: Int
        /// Masked, except the caller's own.
        let name: String
        /// Own (level-1) sales this month.
        let sales: MoneyDTO
        let isMe: Bool
    }

    /// This month's top ten distributors by their own sales (本月排行).
    @Sendable func ranking(req: Request) async throws -> [RankingEntryDTO] {
        let memberID = try req.requireMember().requireID()
        guard try await Distributor.find(memberID, on: req.db) != nil else { throw APIError.notFound }
        return try await Self.rankingEntries(req, memberID: memberID)
    }

    static func rankingEntries(_ req: Request, memberID: UUID) async throws -> [RankingEntryDTO] {
        let rows = try await sqlDatabase(req.db).raw("""
            SELECT c.beneficiary_id AS id, d.display_name AS name, CAST(SUM(c.base) AS BIGINT) AS sales
            FROM commissions c JOIN distributors d ON d.id = c.beneficiary_id
            WHERE c.level = 1 AND c.state <> 'voided' AND c.created_at >= \(bind: CommissionService.monthStart(req.now))
            GROUP BY c.beneficiary_id, d.display_name ORDER BY sales DESC, c.beneficiary_id LIMIT 10
            """).all()
        return try rows.enumerated().map { index, row in
            let id = try row.decode(column: "id", as: UUID.self)
            let name = try row.decode(column: "name", as: String.self)
            return RankingEntryDTO(place: index + 1, name: id == memberID ? name : ReviewRules.maskedName(name),
                                   sales: .init(Money(fen: try row.decode(column: "sales", as: Int64.self)), req.locale), isMe: id == memberID)
        }
    }

    struct EarnedDTO: Content {
        let today: MoneyDTO
        let month: MoneyDTO
        let total: MoneyDTO
    }

    /// Commission earned today, this month and in all (China time), whatever its state, less what refunds took back.
    static func earned(_ memberID: UUID, on db: any Database, now: Date, locale: MallLocale) async throws -> EarnedDTO {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = CommissionService.chinaTime
        let row = try await sqlDatabase(db).raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN created_at >= \(bind: calendar.startOfDay(for: now)) THEN amount ELSE 0 END), 0) AS BIGINT) AS today,
                   CAST(COALESCE(SUM(CASE WHEN created_at >= \(bind: CommissionService.monthStart(now)) THEN amount ELSE 0 END), 0) AS BIGINT) AS month,
                   CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total
            FROM commissions WHERE beneficiary_id = \(bind: memberID) AND state <> 'voided'
            """).first()
        func money(_ column: String) throws -> MoneyDTO { .init(Money(fen: try row?.decode(column: column, as: Int64.self) ?? 0), locale) }
        return EarnedDTO(today: try money("today"), month: try money("month"), total: try money("total"))
    }

    struct EarnQuery: Content {
        let productId: UUID
    }

    struct EarnDTO: Content {
        let productId: UUID
        /// What sharing earns at level 1 on one unit of the cheapest SKU; zero when nothing.
        let amount: MoneyDTO
    }

    /// 分享赚: what a new customer's purchase of one unit would pay this distributor.
    @Sendable func earn(req: Request) async throws -> EarnDTO {
        let memberID = try req.requireMember().requireID()
        let productID = try req.query.decode(EarnQuery.self).productId
        let amount = try await Self.shareEarning(productID: productID, distributorID: memberID, on: req.db, now: req.now)
        return EarnDTO(productId: productID, amount: .init(amount, req.locale))
    }

    static func shareEarning(productID: UUID, distributorID: UUID, on db: any Database, now: Date) async throws -> Money {
        guard let distributor = try await Distributor.find(distributorID, on: db), distributor.status == DistributorRecordStatus.active.rawValue,
              let sku = try await Sku.query(on: db).filter(\.$product.$id == productID).sort(\.$price).first() else { return .zero }
        let preview = try await CommissionPreview.run(skuID: try sku.requireID(), quantity: 1, paidAmount: nil, buyerID: nil, distributorID: distributorID,
                                                      on: db, now: now)
        return preview.level1.beneficiaryID == distributorID ? preview.level1.amount : .zero
    }

    @Sendable func poster(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        return try await DistributionPageController.poster(req, memberID: memberID, productID: try req.uuidParameter("productID"))
    }

    @Sendable func myWithdrawals(req: Request) async throws -> [WithdrawalDTO] {
        let memberID = try req.requireMember().requireID()
        let limit = try req.query.decode(LimitQuery.self).validatedLimit(default: 50)
        let confirmation = req.application.payoutGateways[.wechatTransfer]?.confirmation
        return try await Withdrawal.query(on: req.db).filter(\.$distributorID == memberID).sort(\.$createdAt, .descending).limit(limit).all()
            .map { WithdrawalDTO($0, req.locale, confirmation: confirmation) }
    }

    @Sendable func requestWithdrawal(req: Request) async throws -> Response {
        let memberID = try req.requireMember().requireID()
        let input = try req.content.decode(WithdrawalInput.self)
        let key = try OrderAPIController.idempotencyKey(req) ?? UUID().uuidString
        let withdrawal = try await Self.requestWithdrawal(req, memberID: memberID, input: input, key: key)
        return try await WithdrawalDTO(withdrawal, req.locale, confirmation: req.application.payoutGateways[.wechatTransfer]?.confirmation)
            .encodeResponse(status: .created, for: req)
    }

    static func requestWithdrawal(_ req: Request, memberID: UUID, input: WithdrawalInput, key: String) async throws -> Withdrawal {
        let (now, cipher, automatic) = (req.now, req.application.personalData, Set(req.application.payoutGateways.keys))
        let withdrawal = try await req.writeTransaction { db in
            try await WithdrawalService(db: db, now: now, automatic: automatic)
                .request(distributorID: memberID, input: input, idempotencyKey: key, cipher: cipher)
        }
        // Approved at once (below the threshold) and claimed for a transfer: sent now that it is committed.
        return try await sendIfTransferring(withdrawal, req: req)
    }

    /// Calls the provider for a withdrawal that was just claimed, outside any transaction, and
    /// returns it as it stands afterwards. Provider trouble leaves it in transit for the query job.
    static func sendIfTransferring(_ withdrawal: Withdrawal, req: Request) async throws -> Withdrawal {
        guard withdrawal.state == WithdrawalState.transferring.rawValue, let id = withdrawal.id else { return withdrawal }
        do {
            try await WithdrawalPayouts.send(id, app: req.application)
        } catch {
            req.logger.error("withdrawal \(withdrawal.withdrawalNo): recording the transfer failed, left for the query job: \(error)")
        }
        return try await Withdrawal.find(id, on: req.db) ?? withdrawal
    }

    // MARK: - The shop's product rules

    @Sendable func shopRules(req: Request) async throws -> [CommissionRuleDTO] {
        let scope = try req.merchantScope()
        return try await CommissionRuleRecord.query(on: req.db).filter(\.$merchantID == scope.merchantID).sort(\.$scopeKey).all().map(CommissionRuleDTO.init)
    }

    @Sendable func putShopRule(req: Request) async throws -> CommissionRuleDTO {
        let scope = try req.merchantScope(.manageShop)
        return try await Self.saveShopRule(try req.content.decode(CommissionRuleInput.self).rule(), merchantID: scope.merchantID, req: req)
    }

    @discardableResult
    static func saveShopRule(_ rule: CommissionRule, merchantID: UUID, req: Request) async throws -> CommissionRuleDTO {
        let config = try await DistributionConfig.load(on: req.db)
        try config.merchantBounds().validate(rule, settings: try config.commissionSettings())
        // Only the shop's own products and SKUs.
        let productID: UUID?
        switch rule.scope {
        case .product(let id): productID = id
        case .sku(let id): productID = try await Sku.find(id, on: req.db)?.$product.id
        default: productID = nil
        }
        guard let productID, let product = try await Product.find(productID, on: req.db), product.$merchant.id == merchantID else { throw APIError.notFound }
        return try await Self.saveRule(rule, merchantID: merchantID, req: req)
    }

    @Sendable func deleteShopRule(req: Request) async throws -> HTTPStatus {
        let scope = try req.merchantScope(.manageShop)
        let ruleID = try req.uuidParameter("ruleID")
        guard let record = try await CommissionRuleRecord.find(ruleID, on: req.db), record.merchantID == scope.merchantID else { throw APIError.notFound }
        try await req.writeTransaction { db in try await record.delete(on: db) }
        return .noContent
    }

    /// The shop's own settlement batches (手动结算): what waits for its approval.
    @Sendable func shopBatches(req: Request) async throws -> [BatchDTO] {
        let scope = try req.merchantScope()
        let limit = try req.query.decode(LimitQuery.self).validatedLimit()
        return try await CommissionBatch.query(on: req.db).filter(\.$merchantID == scope.merchantID)
            .sort(\.$createdAt, .descending).limit(limit).all().map { BatchDTO($0, req.locale) }
    }

    @Sendable func approveShopBatch(req: Request) async throws -> CommissionSettlement.Report {
        let scope = try req.merchantScope(.manageShop)
        let staff = try req.requireStaff(.manageShop)
        let batchID = try req.uuidParameter("batchID")
        // Another shop's batch is not found, never approved.
        guard let batch = try await CommissionBatch.find(batchID, on: req.db), batch.merchantID == scope.merchantID else { throw APIError.notFound }
        return try await CommissionSettlement.approve(batchID: batchID, by: staff, ip: req.clientIP, app: req.application)
    }

    struct StoreDistributionInput: Content {
        /// The promotion code of the store's staff distributor; empty or absent for none.
        let staffDistributorCode: String?
        let recruitsDistributors: Bool?
    }

    struct StoreDistributionDTO: Content {
        let storeId: UUID
        let staffDistributorCode: String?
        let staffDistributorName: String?
        let recruitsDistributors: Bool
        let qrCode: String
    }

    /// A store's QR code: who a buyer scanning it binds to, and whether it recruits distributors.
    @Sendable func putStoreDistribution(req: Request) async throws -> StoreDistributionDTO {
        let scope = try req.merchantScope(.manageShop)
        return try await Self.setStoreDistribution(storeID: try req.uuidParameter("storeID"), merchantID: scope.merchantID,
                                                   input: try req.content.decode(StoreDistributionInput.self), req: req)
    }

    static func setStoreDistribution(storeID: UUID, merchantID: UUID, input: StoreDistributionInput, req: Request) async throws -> StoreDistributionDTO {
        guard let store = try await Store.find(storeID, on: req.db), store.$merchant.id == merchantID else { throw APIError.notFound }
        var staff: Distributor?
        let code = (input.staffDistributorCode ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        if !code.isEmpty {
            guard code.count <= 16, let found = try await Self.distributor(code: code, on: req.db),
                  found.status == DistributorRecordStatus.active.rawValue else {
                throw APIError.validation([.init("staffDistributorCode", .init("没有这个推广码的正常分销员", "No active distributor has this promotion code"))])
            }
            staff = found
        }
        store.staffDistributorID = staff?.id
        store.recruitsDistributors = input.recruitsDistributors ?? false
        try await req.writeTransaction { db in try await store.save(on: db) }
        return StoreDistributionDTO(storeId: storeID, staffDistributorCode: staff?.code, staffDistributorName: staff?.displayName,
                                    recruitsDistributors: store.recruitsDistributors ?? false,
                                    qrCode: "/api/v1/stores/\(storeID.uuidString.lowercased())/qrcode.svg")
    }

    // MARK: - The operator's console

    @Sendable func settings(req: Request) async throws -> DistributionConfig {
        _ = try req.requireStaff(.manageDistribution)
        return try await DistributionConfig.load(on: req.db)
    }

    @Sendable func putSettings(req: Request) async throws -> DistributionConfig {
        let staff = try req.requireStaff(.manageDistribution)
        let config = try req.content.decode(DistributionConfig.self)
        try config.validate()
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            // Rates already saved must still fit under a lowered cap or fewer levels.
            let service = CommissionService(db: db, now: now)
            _ = try await service.ruleBook(config)
            try await config.save(on: db, now: now)
            try await AuditLog.record(on: db, actor: staff, action: "distribution.settings", target: "distribution", ip: ip, at: now)
        }
        return config
    }

    @Sendable func rules(req: Request) async throws -> [CommissionRuleDTO] {
        _ = try req.requireStaff(.manageDistribution)
        return try await CommissionRuleRecord.query(on: req.db).sort(\.$scopeKey).all().map(CommissionRuleDTO.init)
    }

    @Sendable func putRule(req: Request) async throws -> CommissionRuleDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let rule = try req.content.decode(CommissionRuleInput.self).rule()
        let saved = try await Self.saveRule(rule, merchantID: nil, req: req)
        try await AuditLog.record(on: req.db, actor: staff, action: "distribution.rule", target: rule.scope.storageKey, ip: req.clientIP, at: req.now)
        return saved
    }

    /// Saves a rule after checking the whole book with it in place: a rule that would let some
    /// line pass the cap is refused (合规). Later edits change no commission already booked.
    static func saveRule(_ rule: CommissionRule, merchantID: UUID?, req: Request) async throws -> CommissionRuleDTO {
        let now = req.now
        let json = String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
        let record = try await req.writeTransaction { db -> CommissionRuleRecord in
            let config = try await DistributionConfig.load(on: db)
            let existing = try await CommissionRuleRecord.query(on: db).filter(\.$scopeKey == rule.scope.storageKey).first()
            if let existing, merchantID != nil, existing.merchantID != merchantID {
                throw APIError(.conflict, "commission.rule_owned", .init("该规则由平台设置，商家不能修改", "The platform set this rule; a shop cannot change it"))
            }
            let others = try await CommissionRuleRecord.query(on: db).filter(\.$scopeKey != rule.scope.storageKey).all()
            let decoder = JSONDecoder()
            let book = try others.map { try decoder.decode(CommissionRule.self, from: Data($0.ruleJSON.utf8)) } + [rule]
            _ = try CommissionRuleBook(rules: book, settings: try config.commissionSettings())
            let record = existing ?? CommissionRuleRecord()
            record.scopeKey = rule.scope.storageKey
            record.merchantID = merchantID ?? existing?.merchantID
            record.ruleJSON = json
            record.updatedAt = now
            try await record.save(on: db)
            return record
        }
        return try CommissionRuleDTO(record)
    }

    @Sendable func deleteRule(req: Request) async throws -> HTTPStatus {
        let staff = try req.requireStaff(.manageDistribution)
        try await Self.deleteRule(try req.uuidParameter("ruleID"), staff: staff, req: req)
        return .noContent
    }

    static func deleteRule(_ ruleID: UUID, staff: StaffUser, req: Request) async throws {
        guard let record = try await CommissionRuleRecord.find(ruleID, on: req.db) else { throw APIError.notFound }
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            try await record.delete(on: db)
            try await AuditLog.record(on: db, actor: staff, action: "distribution.rule.delete", target: record.scopeKey, ip: ip, at: now)
        }
    }

    struct GradeDTO: Content {
        let id: UUID
        let name: String
        let honourTitle: String
        let rank: Int
        let promotion: [GradeCondition]
        let promotionMatch: String
        let minimum: [GradeCondition]
    }

    @Sendable func grades(req: Request) async throws -> [GradeDTO] {
        _ = try req.requireStaff(.manageDistribution)
        return try await Self.gradeList(on: req.db)
    }

    static func gradeList(on db: any Database) async throws -> [GradeDTO] {
        try await DistributorGradeRecord.query(on: db).sort(\.$rank).all().map { record in
            let grade = try JSONDecoder().decode(DistributorGrade.self, from: Data(record.definitionJSON.utf8))
            return GradeDTO(id: grade.id, name: grade.name, honourTitle: grade.honourTitle, rank: grade.rank, promotion: grade.promotion,
                            promotionMatch: grade.promotionMatch.rawValue, minimum: grade.minimum)
        }
    }

    /// The whole ladder at once, checked by MallCore (a condition on headcount is refused, 合规).
    @Sendable func putGrades(req: Request) async throws -> [GradeDTO] {
        let staff = try req.requireStaff(.manageDistribution)
        return try await Self.saveGrades(try req.content.decode([GradeDTO].self), staff: staff, req: req)
    }

    static func saveGrades(_ input: [GradeDTO], staff: StaffUser, req: Request) async throws -> [GradeDTO] {
        guard input.count <= 20 else { throw APIError.validation([.init("grades", .init("等级最多 20 个", "At most 20 grades"))]) }
        let grades = try input.map { dto -> DistributorGrade in
            guard let match = DistributorGrade.Match(rawValue: dto.promotionMatch), TextLength.fits(dto.name, max: 20), TextLength.fits(dto.honourTitle, max: 20),
                  dto.promotion.count <= 10, dto.minimum.count <= 10 else {
                throw APIError.validation([.init("grades", .init("等级名称和称号不超过 20 字，条件最多 10 个，匹配方式为 all 或 any",
                                                                  "Names and titles up to 20 characters, at most 10 conditions, match all or any"))])
            }
            return DistributorGrade(id: dto.id, name: dto.name, honourTitle: dto.honourTitle, rank: dto.rank, promotion: dto.promotion,
                                    promotionMatch: match, minimum: dto.minimum)
        }
        _ = try GradeLadder(grades)
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            let kept = Set(grades.map(\.id))
            for record in try await DistributorGradeRecord.query(on: db).all() where !kept.contains(record.id ?? UUID()) {
                let inUse = try await Distributor.query(on: db).filter(\.$gradeID == record.id).count()
                guard inUse == 0 else {
                    throw APIError(.conflict, "grade.in_use", .init("等级「\(record.name)」仍有分销员，不能删除", "Grade \(record.name) still has distributors"))
                }
                try await record.delete(on: db)
            }
            // Ranks are unique: the ladder is written afresh, ids kept, so a reorder cannot collide with itself.
            try await DistributorGradeRecord.query(on: db).delete()
            for grade in grades {
                let record = DistributorGradeRecord()
                record.id = grade.id
                record.name = grade.name
                record.rank = grade.rank
                record.definitionJSON = String(decoding: try JSONEncoder().encode(grade), as: UTF8.self)
                record.updatedAt = now
                try await record.create(on: db)
            }
            try await AuditLog.record(on: db, actor: staff, action: "distribution.grades", target: "grades", ip: ip, at: now)
        }
        return try await Self.gradeList(on: req.db)
    }

    /// Promotion and demotion now, by each distributor's own results.
    @Sendable func assessGrades(req: Request) async throws -> GradeAssessment.Report {
        let staff = try req.requireStaff(.manageDistribution)
        let report = try await GradeAssessment.run(req.application)
        try await req.writeTransaction { [now = req.now, ip = req.clientIP] db in
            try await AuditLog.record(on: db, actor: staff, action: "distribution.grades.assess", target: "grades",
                                      detail: "promoted \(report.promoted), demoted \(report.demoted)", ip: ip, at: now)
        }
        return report
    }

    @Sendable func preview(req: Request) async throws -> CommissionPreviewDTO {
        _ = try req.requireStaff(.manageDistribution)
        let input = try req.content.decode(CommissionPreviewInput.self)
        guard (1...100_000).contains(input.quantity) else {
            throw APIError.validation([.init("quantity", .init("数量须为 1-100000", "The quantity must be 1–100,000"))])
        }
        if let paid = input.paidAmountFen, !(0...100_000_000_00).contains(paid) {
            throw APIError.validation([.init("paidAmountFen", .init("金额超出范围", "The amount is out of range"))])
        }
        let result = try await CommissionPreview.run(skuID: input.skuId, quantity: input.quantity, paidAmount: input.paidAmountFen.map { Money(fen: $0) },
                                                     buyerID: input.buyerId, distributorID: input.distributorId, on: req.db, now: req.now)
        return try await CommissionPreview.dto(result, req: req)
    }

    @Sendable func distributors(req: Request) async throws -> [DistributorDTO] {
        _ = try req.requireStaff(.manageDistribution)
        let query = try req.query.decode(ListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit()
        var builder = Distributor.query(on: req.db)
        if let state = try query.validState(DistributorRecordStatus.allCases.map(\.rawValue)) { builder = builder.filter(\.$status == state) }
        return try await builder.sort(\.$createdAt, .descending).limit(limit).all().map { DistributorDTO($0, req.locale) }
    }

    struct DecisionInput: Content {
        let decision: DistributorService.Decision
        /// The review checklist items ticked, for an approval.
        let checklist: [String]?
        let note: String?
    }

    @Sendable func decide(req: Request) async throws -> DistributorDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let memberID = try req.uuidParameter("memberID")
        let input = try req.content.decode(DecisionInput.self)
        let note = input.note ?? ""
        guard TextLength.fits(note, max: 200), input.decision != .reject || TextLength.isFilled(note, max: 200) else {
            throw APIError.validation([.init("note", .init("驳回须填写原因（≤200 字）", "A rejection needs a reason (≤200 characters)"))])
        }
        let (now, ip) = (req.now, req.clientIP)
        let distributor = try await req.writeTransaction { db in
            try await DistributorService(db: db, now: now).decide(input.decision, distributorID: memberID, note: note,
                                                                  checked: Array((input.checklist ?? []).prefix(20)), staff: staff, ip: ip)
        }
        return DistributorDTO(distributor, req.locale)
    }

    struct GradeInput: Content {
        let gradeId: UUID
    }

    @Sendable func setGrade(req: Request) async throws -> DistributorDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let memberID = try req.uuidParameter("memberID")
        let input = try req.content.decode(GradeInput.self)
        let (now, ip) = (req.now, req.clientIP)
        let distributor = try await req.writeTransaction { db in
            try await DistributorService(db: db, now: now).setGrade(input.gradeId, distributorID: memberID, staff: staff, ip: ip)
        }
        return DistributorDTO(distributor, req.locale)
    }

    @Sendable func appoint(req: Request) async throws -> DistributorDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let memberID = try req.uuidParameter("memberID")
        let (now, ip) = (req.now, req.clientIP)
        let distributor = try await req.writeTransaction { db in
            try await DistributorService(db: db, now: now).appoint(memberID: memberID, staff: staff, ip: ip)
        }
        return DistributorDTO(distributor, req.locale)
    }

    struct BindingHistoryDTO: Content {
        let memberId: UUID
        let distributorId: UUID?
        let since: Date?
        let expiresAt: Date?
        let history: [Entry]

        struct Entry: Content {
            let from: UUID?
            let to: UUID
            let reason: String
            let trigger: String
            let note: String
            let at: Date
        }
    }

    @Sendable func bindingHistory(req: Request) async throws -> BindingHistoryDTO {
        _ = try req.requireStaff(.manageDistribution)
        let memberID = try req.uuidParameter("memberID")
        return try await Self.bindingDTO(memberID, on: req.db)
    }

    static func bindingDTO(_ memberID: UUID, on db: any Database) async throws -> BindingHistoryDTO {
        let binding = try await CustomerBinding.find(memberID, on: db)
        let entries = try await BindingHistoryEntry.query(on: db).filter(\.$memberID == memberID).sort(\.$at).limit(200).all()
        return BindingHistoryDTO(memberId: memberID, distributorId: binding?.distributorID, since: binding?.since, expiresAt: binding?.expiresAt,
                                 history: entries.map { .init(from: $0.fromDistributorID, to: $0.toDistributorID, reason: $0.reason, trigger: $0.trigger,
                                                              note: $0.note, at: $0.at) })
    }

    struct MoveInput: Content {
        let distributorId: UUID
        let reason: String
    }

    @Sendable func moveBinding(req: Request) async throws -> BindingHistoryDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let memberID = try req.uuidParameter("memberID")
        let input = try req.content.decode(MoveInput.self)
        guard TextLength.isFilled(input.reason, max: 200) else {
            throw APIError.validation([.init("reason", .init("请填写 1-200 字的原因", "Give a reason of 1–200 characters"))])
        }
        let (now, ip) = (req.now, req.clientIP)
        try await req.writeTransaction { db in
            _ = try await BindingService(db: db, now: now).move(memberID: memberID, to: input.distributorId, reason: input.reason, staff: staff, ip: ip)
        }
        return try await Self.bindingDTO(memberID, on: req.db)
    }

    @Sendable func commissions(req: Request) async throws -> [CommissionDTO] {
        _ = try req.requireStaff(.manageDistribution)
        let query = try req.query.decode(ListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit()
        var builder = Commission.query(on: req.db)
        if let state = try query.validState(CommissionState.allCases.map(\.rawValue)) { builder = builder.filter(\.$state == state) }
        if let id = query.distributorId { builder = builder.filter(\.$beneficiaryID == id) }
        if let id = query.merchantId { builder = builder.filter(\.$merchantID == id) }
        let rows = try await builder.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
        return rows.map { CommissionDTO($0, buyer: $0.buyerID.uuidString.lowercased(), req.locale) }
    }

    struct ReasonInput: Content {
        let reason: String
    }

    struct ReleaseInput: Content {
        let reason: String?
    }

    /// A body the client may leave out; one that is sent must decode, or the answer is a 400.
    static func optionalBody<T: Decodable>(_ req: Request, _ type: T.Type) throws -> T? {
        guard let body = req.body.data, body.readableBytes > 0 else { return nil }
        return try req.content.decode(T.self)
    }

    @Sendable func hold(req: Request) async throws -> CommissionDTO { try await setHeld(req, true) }
    @Sendable func release(req: Request) async throws -> CommissionDTO { try await setHeld(req, false) }

    private func setHeld(_ req: Request, _ held: Bool) async throws -> CommissionDTO {
        let staff = try req.requireStaff(.manageDistribution)
        let commissionID = try req.uuidParameter("commissionID")
        let reason = held ? try req.content.decode(ReasonInput.self).reason : (try Self.optionalBody(req, ReleaseInput.self)?.reason ?? "")
        guard TextLength.fits(reason, max: 200), !held || TextLength.isFilled(reason, max: 200) else {
            throw APIError.validation([.init("reason", .init("请填写 1-200 字的原因", "Give a reason of 1–200 characters"))])
        }
        let (now, ip) = (req.now, req.clientIP)
        let commission = try await req.writeTransaction { db in
            try await CommissionService(db: db, now: now).setHeld(held, commissionID: commissionID, reason: reason, staff: staff, ip: ip)
        }
        return CommissionDTO(commission, buyer: commission.buyerID.uuidString.lowercased(), req.locale)
    }

    @Sendable func runSettlement(req: Request) async throws -> CommissionSettlement.Report {
        _ = try req.requireStaff(.manageDistribution)
        return try await CommissionSettlement.run(req.application, force: true)
    }

    struct BatchDTO: Content {
        let id: UUID
        let merchantId: UUID
        let period: String
        let state: String
        let commissionCount: Int
        let total: MoneyDTO
        let createdAt: Date
        let settledAt: Date?
        let approvedBy: String

        init(_ batch: CommissionBatch, _ locale: MallLocale) {
            id = batch.id ?? UUID()
            merchantId = batch.merchantID
            period = batch.period
            state = batch.state
            commissionCount = batch.commissionCount
            total = .init(Money(fen: batch.total), locale)
            createdAt = batch.createdAt
            settledAt = batch.settledAt
            approvedBy = batch.approvedBy
        }
    }

    @Sendable func batches(req: Request) async throws -> [BatchDTO] {
        _ = try req.requireStaff(.manageDistribution)
        let limit = try req.query.decode(LimitQuery.self).validatedLimit()
        return try await CommissionBatch.query(on: req.db).sort(\.$createdAt, .descending).limit(limit).all().map { BatchDTO($0, req.locale) }
    }

    @Sendable func approveBatch(req: Request) async throws -> CommissionSettlement.Report {
        let staff = try req.requireStaff(.manageDistribution)
        let batchID = try req.uuidParameter("batchID")
        return try await CommissionSettlement.approve(batchID: batchID, by: staff, ip: req.clientIP, app: req.application)
    }

    @Sendable func withdrawals(req: Request) async throws -> [WithdrawalDTO] {
        _ = try req.requireStaff(.payoutWithdrawals)
        let query = try req.query.decode(ListQuery.self)
        let limit = try LimitQuery(limit: query.limit).validatedLimit()
        var builder = Withdrawal.query(on: req.db)
        if let state = try query.validState(WithdrawalState.allCases.map(\.rawValue)) { builder = builder.filter(\.$state == state) }
        if let id = query.distributorId { builder = builder.filter(\.$distributorID == id) }
        return try await builder.sort(\.$createdAt, .descending).limit(limit).all().map { WithdrawalDTO($0, req.locale) }
    }

    enum WithdrawalAction { case approve, reject, pay, fail }

    /// Asks the provider now about a withdrawal in transit (WeChat / Alipay transfer).
    @Sendable func syncWithdrawal(req: Request) async throws -> WithdrawalDTO { try await Self.syncWithdrawal(req) }

    static func syncWithdrawal(_ req: Request) async throws -> WithdrawalDTO {
        let staff = try req.requireStaff(.payoutWithdrawals)
        let withdrawalID = try req.uuidParameter("withdrawalID")
        guard let withdrawal = try await Withdrawal.find(withdrawalID, on: req.db) else { throw APIError.notFound }
        let state = WithdrawalState(rawValue: withdrawal.state) ?? .rejected
        guard state == .transferring else { throw WithdrawalError.illegalTransition(from: state) }
        guard let channel = WithdrawalChannel(rawValue: withdrawal.channel), req.application.payoutGateways[channel] != nil else {
            throw APIError(.conflict, "withdrawal.provider_not_configured",
                           .init("该提现方式的支付渠道未配置，无法查询", "This channel's provider is not configured here; nothing to ask"))
        }
        try await WithdrawalPayouts.check(withdrawal, app: req.application)
        let (now, ip, no) = (req.now, req.clientIP, withdrawal.withdrawalNo)
        try await req.writeTransaction { db in
            try await AuditLog.record(on: db, actor: staff, action: "withdrawal.sync", target: "withdrawal:\(no)", ip: ip, at: now)
        }
        return WithdrawalDTO(try await Withdrawal.find(withdrawalID, on: req.db) ?? withdrawal, req.locale)
    }

    @Sendable func approveWithdrawal(req: Request) async throws -> WithdrawalDTO { try await Self.decideWithdrawal(req, .approve, text: "") }
    @Sendable func rejectWithdrawal(req: Request) async throws -> WithdrawalDTO {
        try await Self.decideWithdrawal(req, .reject, text: try req.content.decode(ReasonInput.self).reason)
    }
    @Sendable func failWithdrawal(req: Request) async throws -> WithdrawalDTO {
        try await Self.decideWithdrawal(req, .fail, text: try req.content.decode(ReasonInput.self).reason)
    }

    struct PayInput: Content {
        /// The image key of the bank's payment proof; required for bank cards.
        let proofImage: String?
    }

    @Sendable func payWithdrawal(req: Request) async throws -> WithdrawalDTO {
        let proof = try Self.optionalBody(req, PayInput.self)?.proofImage
        return try await Self.decideWithdrawal(req, .pay, text: proof ?? "")
    }

    static func decideWithdrawal(_ req: Request, _ action: WithdrawalAction, text: String) async throws -> WithdrawalDTO {
        let staff = try req.requireStaff(.payoutWithdrawals)
        let withdrawalID = try req.uuidParameter("withdrawalID")
        switch action {
        case .reject, .fail:
            guard TextLength.isFilled(text, max: 200) else {
                throw APIError.validation([.init("reason", .init("请填写 1-200 字的原因", "Give a reason of 1–200 characters"))])
            }
        case .pay:
            guard text.isEmpty || ImageKey.isValid(text) else {
                throw APIError.validation([.init("proofImage", .init("打款凭证须为已上传的图片", "The proof must be an uploaded image"))])
            }
        case .approve: break
        }
        let (now, ip, automatic) = (req.now, req.clientIP, Set(req.application.payoutGateways.keys))
        let decided = try await req.writeTransaction { db -> Withdrawal in
            guard let withdrawal = try await Withdrawal.find(withdrawalID, on: db) else { throw APIError.notFound }
            let service = WithdrawalService(db: db, now: now, automatic: automatic)
            switch action {
            case .approve: return try await service.approve(withdrawal, actor: staff, ip: ip)
            case .reject: return try await service.reject(withdrawal, reason: text, actor: staff, ip: ip)
            case .pay:
                // The state first: paying what is not approved is a 409 whether or not a proof came.
                if withdrawal.channel == WithdrawalChannel.bankCard.rawValue, text.isEmpty, withdrawal.state == WithdrawalState.approved.rawValue {
                    throw APIError.validation([.init("proofImage", .init("银行卡提现须上传打款凭证", "A bank-card payout needs the payment proof"))])
                }
                try await service.pay(withdrawal, proof: text, actor: staff, ip: ip)
                return withdrawal
            case .fail:
                try await service.fail(withdrawal, reason: text, actor: staff, ip: ip)
                return withdrawal
            }
        }
        let withdrawal = try await sendIfTransferring(decided, req: req)
        return WithdrawalDTO(withdrawal, req.locale)
    }
}
