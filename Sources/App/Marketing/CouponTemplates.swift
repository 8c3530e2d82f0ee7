import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Creating, pausing and stopping templates, and sending coupons to members.
extension CouponService {
    static let maxName = 40
    static let maxScopeIDs = 100
    static let maxRecipients = 100
    /// ¥100 000 000: far above any real threshold, far below overflow.
    static let maxAmountFen: Int64 = 10_000_000_000
    static let maxCount: Int64 = 100_000_000

    /// Checks every field, then lets MallCore's `Coupon` judge the whole; writes nothing on a refusal.
    /// A shop's coupon is paid by the shop and only covers its own products.
    func create(_ input: CouponTemplateInput, merchantID: UUID?) async throws -> CouponTemplate {
        let template = try await checked(input, merchantID: merchantID)
        try await template.create(on: db)
        return template
    }

    /// Changes a template, with the same checks as creating it. Before anyone holds one of its coupons
    /// every field may change; after, the coupons members hold keep their terms (checkout reads them
    /// from the template), so only the name, the quantities, the claim limits, listing and the
    /// commission switch may: any other change is a 409 and nothing is written. The total may not go
    /// below what was claimed. A stopped template is not edited; another shop's is not found.
    func update(_ id: UUID, _ input: CouponTemplateInput, merchantID: UUID?) async throws -> CouponTemplate {
        // Claims take the template's row by a conditional update: held, `issued` cannot move under the check.
        try await lockRow(CouponTemplate.schema, id, on: db)
        guard let template = try await CouponTemplate.find(id, on: db), merchantID == nil || template.merchantID == merchantID else { throw APIError.notFound }
        guard template.status != CouponTemplateStatus.stopped.rawValue else {
            throw APIError(.conflict, "coupon.stopped", .init("该优惠券已停止，不能再修改", "This coupon is stopped and cannot be changed"))
        }
        try ActivityOwnership.requireEditable(activityShop: template.merchantID, by: merchantID)
        let edited = try await checked(input, merchantID: template.merchantID)
        let sameTerms = edited.hasTerms(of: template)
        if template.issued > 0 {
            guard sameTerms else {
                throw APIError(.conflict, "coupon.terms_locked", .init(
                    "已有会员领取该券，只能修改名称、发放总量、领取限制、是否在领券中心展示和是否计佣",
                    "Members already hold this coupon: only its name, total, claim limits, listing and commission switch can change"))
            }
            if let total = edited.totalCount, total < template.issued {
                throw APIError.validation([.init("totalCount", .init("发放总量不能少于已领取的 \(template.issued) 张", "The total cannot be below the \(template.issued) already claimed"))])
            }
        }
        if !sameTerms {
            template.kind = edited.kind
            template.threshold = edited.threshold
            template.benefit = edited.benefit
            template.amountOff = edited.amountOff
            template.payRateBP = edited.payRateBP
            template.maximumOff = edited.maximumOff
            template.scope = edited.scope
            template.scopeIDs = edited.scopeIDs
            template.validity = edited.validity
            template.startsAt = edited.startsAt
            template.endsAt = edited.endsAt
            template.validDays = edited.validDays
        }
        template.name = edited.name
        template.totalCount = edited.totalCount
        template.perMember = edited.perMember
        template.perMemberPerDay = edited.perMemberPerDay
        template.perDay = edited.perDay
        template.paysCommission = edited.paysCommission
        template.claimable = edited.claimable
        template.updatedAt = now
        try await template.save(on: db)
        return template
    }

    /// A new, unsaved template from the input, or the reasons it cannot be one.
    private func checked(_ input: CouponTemplateInput, merchantID: UUID?) async throws -> CouponTemplate {
        var issues: [APIError.FieldIssue] = []
        func issue(_ field: String, _ zh: String, _ en: String) { issues.append(.init(field, .init(zh, en))) }
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.name, max: Self.maxName) { issue("name", "请填写券名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters") }
        let kind = CouponKind(rawValue: input.kind)
        if kind == nil {
            issue("kind", "券类型应为 full_reduction（满减）、discount（折扣）、no_threshold（无门槛）、new_user（新人）或 shipping（运费券）",
                  "kind must be full_reduction, discount, no_threshold, new_user or shipping")
        }
        if kind == .shipping, input.payRateBp != nil || input.maximumOffFen != nil {
            issue("payRateBp", "运费券只能设门槛和最多减的运费（amountOffFen，不填为免运费）", "A shipping coupon takes a threshold and amountOffFen only (none: free shipping)")
        }
        for (field, value) in [("thresholdFen", input.thresholdFen), ("amountOffFen", input.amountOffFen), ("maximumOffFen", input.maximumOffFen)] {
            if let value, !(0...Self.maxAmountFen).contains(value) { issue(field, "金额应在 0 到 1 亿元之间", "The amount must be between 0 and ¥100,000,000") }
        }
        if let rate = input.payRateBp, !(1...9_999).contains(rate) { issue("payRateBp", "折扣应在 1 到 9999（0.01 折到 9.999 折）之间", "payRateBp must be between 1 and 9999") }
        let scopeName = input.scope ?? "all"
        let scopes = ["all", "categories", "products", "all_except_products", "all_except_categories"]
        if !scopes.contains(scopeName) { issue("scope", "适用范围应为 \(scopes.joined(separator: "、"))", "scope must be one of \(scopes.joined(separator: ", "))") }
        let scopeIDs = input.scopeIds ?? []
        if scopeIDs.count > Self.maxScopeIDs { issue("scopeIds", "最多选择 \(Self.maxScopeIDs) 项", "At most \(Self.maxScopeIDs) entries") }
        for (field, value) in [("totalCount", input.totalCount), ("perMember", input.perMember), ("perMemberPerDay", input.perMemberPerDay), ("perDay", input.perDay)] {
            if let value, !(1...Self.maxCount).contains(value) { issue(field, "数量应在 1 到 1 亿之间", "The number must be between 1 and 100,000,000") }
        }
        var start: Date?
        var end: Date?
        let formatter = ISO8601DateFormatter()
        if let text = input.startsAt {
            start = text.count <= 40 ? formatter.date(from: text) : nil
            if start == nil { issue("startsAt", "时间格式应为 ISO 8601，如 2025-06-18T00:00:00+08:00", "Use an ISO 8601 time such as 2025-06-18T00:00:00+08:00") }
        }
        if let text = input.endsAt {
            end = text.count <= 40 ? formatter.date(from: text) : nil
            if end == nil { issue("endsAt", "时间格式应为 ISO 8601，如 2025-06-30T23:59:59+08:00", "Use an ISO 8601 time such as 2025-06-30T23:59:59+08:00") }
        }
        if let days = input.validDays, !(1...CouponValidity.maxDays).contains(days) { issue("validDays", "有效天数应在 1 到 \(CouponValidity.maxDays) 之间", "validDays must be between 1 and \(CouponValidity.maxDays)") }
        let hasWindow = input.startsAt != nil || input.endsAt != nil
        if hasWindow == (input.validDays != nil) {
            issue("validDays", "请填写起止时间（startsAt、endsAt）或领取后有效天数（validDays），二选一", "Give either startsAt and endsAt, or validDays")
        } else if hasWindow, start == nil || end == nil, issues.isEmpty {
            issue("endsAt", "请同时填写开始和结束时间", "Give both startsAt and endsAt")
        }
        if let start, let end {
            if end <= start { issue("endsAt", "结束时间应晚于开始时间", "endsAt must be after startsAt") }
            if end <= now { issue("endsAt", "结束时间应晚于现在", "endsAt must be in the future") }
            if end.timeIntervalSince(now) > Double(CouponValidity.maxDays) * 86_400 { issue("endsAt", "结束时间最多在十年内", "endsAt must be within ten years") }
        }
        guard issues.isEmpty, let kind else { throw APIError.validation(issues) }

        // The set scopes name products or categories that exist (a shop's: its own products).
        if scopeName != "all" {
            let unique = Array(Set(scopeIDs))
            if scopeName.hasSuffix("products") {
                var query = Product.query(on: db).filter(\.$id ~~ unique)
                if let merchantID { query = query.filter(\.$merchant.$id == merchantID) }
                if try await query.count() != unique.count {
                    throw APIError.validation([.init("scopeIds", .init(merchantID == nil ? "有商品不存在" : "只能选择本店的商品",
                                                                        merchantID == nil ? "Some products do not exist" : "Choose your own shop's products only"))])
                }
            } else if try await Category.query(on: db).filter(\.$id ~~ unique).count() != unique.count {
                throw APIError.validation([.init("scopeIds", .init("有类目不存在", "Some categories do not exist"))])
            }
        }

        let template = CouponTemplate()
        template.id = UUID()
        template.name = name
        template.kind = kind.rawValue
        template.threshold = input.thresholdFen ?? 0
        if kind == .shipping {
            // amountOff caps the shipping taken off; 0 takes off all of it.
            template.benefit = "shipping_off"
            template.amountOff = input.amountOffFen ?? 0
            template.payRateBP = 0
            template.maximumOff = 0
        } else if kind == .discount || (kind == .newUser && input.payRateBp != nil) {
            template.benefit = "pay_rate"
            template.payRateBP = input.payRateBp ?? 0
            template.amountOff = 0
            template.maximumOff = input.maximumOffFen ?? 0
        } else {
            template.benefit = "amount_off"
            template.amountOff = input.amountOffFen ?? 0
            template.payRateBP = 0
            template.maximumOff = 0
        }
        template.scope = merchantID != nil && scopeName == "all" ? "merchant" : scopeName
        template.scopeIDs = String(decoding: try JSONEncoder().encode(scopeName == "all" ? [] : Array(Set(scopeIDs)).sorted { $0.uuidString < $1.uuidString }), as: UTF8.self)
        template.validity = hasWindow ? "window" : "days"
        template.startsAt = start
        template.endsAt = end
        template.validDays = input.validDays ?? 0
        template.totalCount = input.totalCount
        template.perMember = input.perMember
        template.perMemberPerDay = input.perMemberPerDay
        template.perDay = input.perDay
        template.issued = 0
        template.payer = merchantID == nil ? "platform" : "merchant"
        template.merchantID = merchantID
        template.status = CouponTemplateStatus.active.rawValue
        template.paysCommission = input.paysCommission ?? ActivityKind.coupon.paysCommissionByDefault
        template.claimable = input.claimable ?? true
        template.createdAt = now
        template.updatedAt = now
        // The engine judges the whole: amount below threshold, rate, scope, limits.
        _ = try Self.coupon(template)
        return template
    }

    /// Pause, resume or stop; a stopped template stays stopped, and its coupons can no longer be used.
    func setStatus(_ id: UUID, to status: CouponTemplateStatus, merchantID: UUID?) async throws -> CouponTemplate {
        guard let template = try await CouponTemplate.find(id, on: db), merchantID == nil || template.merchantID == merchantID else { throw APIError.notFound }
        guard template.status != CouponTemplateStatus.stopped.rawValue || status == .stopped else {
            throw APIError(.conflict, "coupon.stopped", .init("该优惠券已停止，不能再启用", "This coupon is stopped and cannot be resumed"))
        }
        template.status = status.rawValue
        template.updatedAt = now
        try await template.save(on: db)
        return template
    }
}

/// Sending coupons to named members: each recipient in a transaction of its own, so one refusal
/// (a limit reached) does not stop the others. A tag is never sent here: it becomes a job
/// (`CouponSendJobService`) that the worker works off outside the request.
enum CouponSending {
    static let maxRefusedListed = 100

    static func send(_ input: CouponSendInput, templateID: UUID, merchantID: UUID?, req: Request) async throws -> CouponSendResultDTO {
        let ids = input.memberIds ?? []
        let phones = input.phones ?? []
        guard !ids.isEmpty || !phones.isEmpty else {
            throw APIError.validation([.init("memberIds", .init("请填写会员 ID、手机号或标签", "Give member ids, phone numbers or a tag"))])
        }
        for (field, count) in [("memberIds", ids.count), ("phones", phones.count)] where count > CouponService.maxRecipients {
            throw APIError.validation([.init(field, .init("一次最多发给 \(CouponService.maxRecipients) 个\(field == "phones" ? "手机号" : "会员")", "At most \(CouponService.maxRecipients) \(field == "phones" ? "phone numbers" : "members") at a time"))])
        }
        for (index, phone) in phones.enumerated() where phone.count > 20 || PhoneNumber(phone) == nil {
            throw APIError.validation([.init("phones[\(index)]", .init("手机号格式不正确", "Not a valid phone number"))])
        }
        guard let template = try await CouponTemplate.find(templateID, on: req.db), merchantID == nil || template.merchantID == merchantID else {
            throw APIError.notFound
        }
        var recipients: [(label: String, id: UUID?)] = ids.map { ($0.uuidString.lowercased(), $0) }
        for phone in phones {
            let digits = PhoneNumber(phone)?.digits ?? phone
            let member = try await Member.query(on: req.db).filter(\.$phoneHash == req.personalData.lookupHash(digits)).first()
            recipients.append((PhoneNumber(phone)?.masked ?? "***", member?.id))
        }
        var sent = 0
        var skipped = 0
        var refused: [CouponSendResultDTO.Refused] = []
        let now = req.now
        func refuse(_ label: String, _ code: String, _ message: String) {
            skipped += 1
            if refused.count < Self.maxRefusedListed { refused.append(.init(recipient: label, code: code, message: message)) }
        }
        for recipient in recipients {
            guard let memberID = recipient.id, try await Member.find(memberID, on: req.db) != nil else {
                refuse(recipient.label, "not_found", LocalizedText("没有这个会员", "No such member")(req.locale))
                continue
            }
            do {
                try await req.writeTransaction { db in
                    _ = try await CouponService(db: db, now: now).claim(templateID: templateID, memberID: memberID, source: "send", listedOnly: false)
                }
                sent += 1
            } catch {
                let apiError = ErrorMapping.apiError(for: error)
                guard apiError.status.code < 500 else { throw error }
                refuse(recipient.label, apiError.code, apiError.message(req.locale))
            }
        }
        return CouponSendResultDTO(sent: sent, refused: refused, skipped: skipped)
    }
}

extension CouponTemplate {
    /// Whether a coupon of `other` would be worth the same: what it takes off, on what, and when it can be used.
    func hasTerms(of other: CouponTemplate) -> Bool {
        (kind, benefit, threshold, amountOff, payRateBP, maximumOff) == (other.kind, other.benefit, other.threshold, other.amountOff, other.payRateBP, other.maximumOff)
            && (scope, scopeIDs, validity, validDays) == (other.scope, other.scopeIDs, other.validity, other.validDays)
            && Self.sameSecond(startsAt, other.startsAt) && Self.sameSecond(endsAt, other.endsAt)
    }

    /// Times travel as ISO 8601 in whole seconds: a window read back and sent again is the same window.
    private static func sameSecond(_ a: Date?, _ b: Date?) -> Bool {
        a.map { $0.timeIntervalSince1970.rounded(.down) } == b.map { $0.timeIntervalSince1970.rounded(.down) }
    }
}

extension CouponTemplateInput {
    /// The input that would create `template` as it stands: a form that changes some fields starts from it.
    init(_ template: CouponTemplate) throws {
        let ids = try JSONDecoder().decode([UUID].self, from: Data(template.scopeIDs.utf8))
        let formatter = ISO8601DateFormatter()
        self.init(name: template.name, kind: template.kind, thresholdFen: template.threshold,
                  amountOffFen: template.benefit == "pay_rate" ? nil : template.amountOff,
                  payRateBp: template.benefit == "pay_rate" ? template.payRateBP : nil,
                  maximumOffFen: template.benefit == "pay_rate" && template.maximumOff > 0 ? template.maximumOff : nil,
                  scope: template.scope == "merchant" ? "all" : template.scope, scopeIds: ids.isEmpty ? nil : ids,
                  startsAt: template.startsAt.map(formatter.string(from:)), endsAt: template.endsAt.map(formatter.string(from:)),
                  validDays: template.validity == "days" ? template.validDays : nil, totalCount: template.totalCount,
                  perMember: template.perMember, perMemberPerDay: template.perMemberPerDay, perDay: template.perDay,
                  paysCommission: template.paysCommission, claimable: template.claimable)
    }
}
