import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct DistributorApplication: Content, Sendable {
    /// individual or enterprise.
    var kind: String
    var realName: String
    var idNumber: String
    var enterpriseName: String?
    var licenceNumber: String?
    /// Answers to the operator's extra form fields, keyed by the field's label.
    var answers: [String: String]?
    /// Image keys of uploaded documents, such as a business licence.
    var documents: [String]?
    /// The agreement version the applicant read; it must be the one in force.
    var agreementVersion: String
    var agree: Bool
}

/// Becoming and being a distributor: admission, review, status, grade and parent.
struct DistributorService {
    let db: any Database
    let now: Date

    static let codeAlphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<8).map { _ in codeAlphabet[Int(generator.next(upperBound: UInt32(codeAlphabet.count)))] })
    }

    /// Checks the application at the edge: every refusal names its field.
    static func validate(_ input: DistributorApplication, config: DistributionConfig) throws {
        var issues: [APIError.FieldIssue] = []
        if !["individual", "enterprise"].contains(input.kind) { issues.append(.init("kind", .init("请选择个人或企业", "Choose individual or enterprise"))) }
        if !TextLength.isFilled(input.realName, max: 30) { issues.append(.init("realName", .init("请填写 1-30 字的真实姓名", "Give your real name, 1–30 characters"))) }
        if !ResidentIDNumber.isValid(input.idNumber) { issues.append(.init("idNumber", .init("身份证号格式不正确", "The ID number is not valid"))) }
        // An individual's form may carry the enterprise fields empty; never longer than an enterprise's.
        if !TextLength.fits(input.enterpriseName ?? "", max: 60) { issues.append(.init("enterpriseName", .init("企业名称最多 60 字", "The enterprise's name has at most 60 characters"))) }
        if !TextLength.fits(input.licenceNumber ?? "", max: 30) { issues.append(.init("licenceNumber", .init("营业执照号最多 30 字", "The licence number has at most 30 characters"))) }
        if input.kind == "enterprise" {
            if !TextLength.isFilled(input.enterpriseName ?? "", max: 60) { issues.append(.init("enterpriseName", .init("请填写企业名称", "Give the enterprise's name"))) }
            if !TextLength.isFilled(input.licenceNumber ?? "", max: 30) { issues.append(.init("licenceNumber", .init("请填写营业执照号", "Give the business licence number"))) }
        }
        let answers = input.answers ?? [:]
        if answers.count > 10 || answers.contains(where: { !TextLength.fits($0.key, max: 40) || !TextLength.fits($0.value, max: 200) }) {
            issues.append(.init("answers", .init("申请表内容过长", "The form answers are too long")))
        }
        for field in config.admission.formFields where !TextLength.isFilled(answers[field] ?? "", max: 200) {
            issues.append(.init("answers.\(field)", .init("请填写「\(field)」", "Fill in \"\(field)\"")))
        }
        let documents = input.documents ?? []
        if documents.count > 5 || documents.contains(where: { !ImageKey.isValid($0) }) {
            issues.append(.init("documents", .init("最多上传 5 个有效的图片", "At most 5 uploaded images")))
        }
        if !input.agree || input.agreementVersion != config.admission.agreementVersion {
            issues.append(.init("agree", .init("请阅读并同意当前版本的分销员协议", "Read and accept the current distributor agreement")))
        }
        if !issues.isEmpty { throw APIError.validation(issues) }
    }

    /// A member asks to become a distributor. The admission mode decides: admitted at once, kept
    /// for review, or refused with what is missing. Nothing ever costs a fee.
    func apply(member: Member, input: DistributorApplication, cipher: PersonalDataCipher) async throws -> Distributor {
        let config = try await DistributionConfig.load(on: db)
        guard config.enabled else {
            throw APIError(.conflict, "distribution.disabled", .init("分销功能未开启", "Distribution is not open"))
        }
        try Self.validate(input, config: config)
        let memberID = try member.requireID()
        try await Self.requireOwnImages(input.documents ?? [], memberID: memberID, field: "documents", on: db)
        try await lockRow(Member.schema, memberID, on: db)
        let existing = try await Distributor.find(memberID, on: db)
        if let existing, existing.status != DistributorRecordStatus.rejected.rawValue {
            throw APIError(.conflict, "distributor.exists", .init("您已经提交过申请或已是分销员", "You have already applied or are a distributor"))
        }
        let decision = try DistributorAdmission.check(try await figures(memberID, config: config), settings: try config.admissionSettings())
        let status: DistributorRecordStatus
        switch decision {
        case .admit: status = .active
        case .needsReview: status = .applied
        case .notEligible(let reason): throw reason
        }
        let distributor = existing ?? Distributor()
        if existing == nil {
            distributor.id = memberID
            distributor.code = try await uniqueCode()
            distributor.createdAt = now
        }
        distributor.status = status.rawValue
        distributor.kind = input.kind
        distributor.displayName = member.nickname
        let identity = ["realName": input.realName, "idNumber": input.idNumber, "enterpriseName": input.enterpriseName ?? "", "licenceNumber": input.licenceNumber ?? ""]
        distributor.identityCipher = try cipher.seal(String(decoding: try JSONEncoder().encode(identity), as: UTF8.self))
        distributor.applicationJSON = String(decoding: try JSONEncoder().encode(input.answers ?? [:]), as: UTF8.self)
        distributor.documents = (input.documents ?? []).joined(separator: ",")
        distributor.gradeID = try await entryGradeID()
        distributor.parentID = try await bindingParent(memberID)
        distributor.agreementVersion = config.admission.agreementVersion
        distributor.agreementSignedAt = now
        distributor.admittedBy = config.admission.mode
        distributor.reviewNote = ""
        distributor.approvedAt = status == .active ? now : nil
        distributor.updatedAt = now
        try await distributor.save(on: db)
        return distributor
    }

    /// Pictures a member names must be ones that member uploaded, never another's.
    static func requireOwnImages(_ keys: [String], memberID: UUID, field: String, on db: any Database) async throws {
        guard !keys.isEmpty else { return }
        let own = try await UploadedImage.query(on: db).filter(\.$storageKey ~~ keys).filter(\.$memberID == memberID).count()
        guard own == Set(keys).count else {
            throw APIError.validation([.init(field, .init("请使用自己上传的图片", "Use pictures you uploaded yourself"))])
        }
    }

    /// The distributor's avatar, from one of its own uploads.
    static func setAvatar(_ image: UploadedImage, distributorID: UUID, on app: Application, now: Date) async throws {
        try await app.writeGate.transaction(on: app.db) { db in
            guard let distributor = try await Distributor.find(distributorID, on: db) else { throw APIError.notFound }
            try await requireOwnImages([image.storageKey], memberID: distributorID, field: "avatar", on: db)
            distributor.avatar = image.storageKey
            distributor.updatedAt = now
            try await distributor.save(on: db)
        }
    }

    /// The operator makes a member a distributor (hand-picked, or a store's staff).
    func appoint(memberID: UUID, staff: StaffUser, ip: String) async throws -> Distributor {
        guard let member = try await Member.find(memberID, on: db) else { throw APIError.notFound }
        try await lockRow(Member.schema, memberID, on: db)
        if let existing = try await Distributor.find(memberID, on: db), existing.status != DistributorRecordStatus.rejected.rawValue {
            throw APIError(.conflict, "distributor.exists", .init("该会员已是分销员或已在申请中", "This member is already a distributor or has applied"))
        }
        let distributor = try await Distributor.find(memberID, on: db) ?? Distributor()
        if distributor.id == nil {
            distributor.id = memberID
            distributor.code = try await uniqueCode()
            distributor.createdAt = now
            distributor.identityCipher = ""
            distributor.applicationJSON = "{}"
            distributor.documents = ""
            distributor.agreementVersion = ""
        }
        distributor.status = DistributorRecordStatus.active.rawValue
        distributor.kind = "individual"
        distributor.displayName = member.nickname
        distributor.gradeID = try await entryGradeID()
        distributor.parentID = try await bindingParent(memberID)
        distributor.admittedBy = "operator"
        distributor.reviewNote = ""
        distributor.approvedAt = now
        distributor.updatedAt = now
        try await distributor.save(on: db)
        try await AuditLog.record(on: db, actor: staff, action: "distributor.appoint", target: "member:\(memberID.uuidString.lowercased())", ip: ip, at: now)
        return distributor
    }

    enum Decision: String, Content, CaseIterable {
        case approve, reject, freeze, unfreeze, remove
    }

    /// Review and status changes by the operator, each audited with its reason.
    /// Approving an application takes every item of the review checklist (审核清单), ticked.
    func decide(_ decision: Decision, distributorID: UUID, note: String, checked: [String] = [], staff: StaffUser, ip: String) async throws -> Distributor {
        guard let distributor = try await Distributor.find(distributorID, on: db) else { throw APIError.notFound }
        let current = DistributorRecordStatus(rawValue: distributor.status) ?? .removed
        let next: DistributorRecordStatus? = switch (decision, current) {
        case (.approve, .applied): .active
        case (.reject, .applied): .rejected
        case (.freeze, .active): .frozen
        case (.unfreeze, .frozen): .active
        case (.remove, .active), (.remove, .frozen): .removed
        default: nil
        }
        guard let next else {
            throw APIError(.conflict, "distributor.illegal_transition",
                           .init("分销员当前状态（\(current.name(.zhHans))）不能执行此操作", "This cannot be done to a distributor that is \(current.name(.en))"))
        }
        if decision == .approve {
            let checklist = try await DistributionConfig.load(on: db).admission.reviewChecklist
            let missing = checklist.filter { !checked.contains($0) }
            guard missing.isEmpty else {
                let list = missing.joined(separator: "、")
                throw APIError.validation([.init("checklist", .init("请逐项核对后再通过：\(list)", "Check every item before approving: \(list)"))])
            }
            distributor.reviewChecklist = String(decoding: try JSONEncoder().encode(checklist), as: UTF8.self)
        }
        distributor.status = next.rawValue
        distributor.reviewNote = String(note.prefix(200))
        if next == .active, distributor.approvedAt == nil { distributor.approvedAt = now }
        distributor.updatedAt = now
        try await distributor.save(on: db)
        try await AuditLog.record(on: db, actor: staff, action: "distributor.\(decision.rawValue)", target: "distributor:\(distributorID.uuidString.lowercased())",
                                  detail: note, ip: ip, at: now)
        return distributor
    }

    func setGrade(_ gradeID: UUID, distributorID: UUID, staff: StaffUser, ip: String) async throws -> Distributor {
        guard let distributor = try await Distributor.find(distributorID, on: db) else { throw APIError.notFound }
        guard try await DistributorGradeRecord.find(gradeID, on: db) != nil else {
            throw APIError.validation([.init("gradeId", .init("等级不存在", "No such grade"))])
        }
        distributor.gradeID = gradeID
        distributor.updatedAt = now
        try await distributor.save(on: db)
        try await AuditLog.record(on: db, actor: staff, action: "distributor.grade", target: "distributor:\(distributorID.uuidString.lowercased())",
                                  detail: gradeID.uuidString.lowercased(), ip: ip, at: now)
        return distributor
    }

    /// The parent's parent, grandparent … to the root (bounded, in case stored data loops).
    func ancestors(of id: UUID) async throws -> [UUID] {
        var chain: [UUID] = []
        var next = try await Distributor.find(id, on: db)?.parentID
        while let current = next, chain.count < 10_000, !chain.contains(current) {
            chain.append(current)
            next = try await Distributor.find(current, on: db)?.parentID
        }
        return chain
    }

    /// The distributor a new distributor's parent becomes: the one it is bound to, if active.
    private func bindingParent(_ memberID: UUID) async throws -> UUID? {
        guard let binding = try await CustomerBinding.find(memberID, on: db), binding.record.isActive(at: now), binding.distributorID != memberID,
              let parent = try await Distributor.find(binding.distributorID, on: db), parent.status == DistributorRecordStatus.active.rawValue else { return nil }
        // A parent below this member would close a loop.
        guard !(try await ancestors(of: binding.distributorID)).contains(memberID) else { return nil }
        return binding.distributorID
    }

    private func entryGradeID() async throws -> UUID? {
        try await DistributorGradeRecord.query(on: db).sort(\.$rank).first()?.id
    }

    private func uniqueCode() async throws -> String {
        for _ in 0..<8 {
            let code = Self.newCode()
            if try await Distributor.query(on: db).filter(\.$code == code).first() == nil { return code }
        }
        throw APIError(.internalServerError, "distributor.code", .init("无法生成推广码", "No promotion code could be made"))
    }

    /// The member's own figures for the admission modes.
    private func figures(_ memberID: UUID, config: DistributionConfig) async throws -> DistributorAdmissionFigures {
        let sql = try sqlDatabase(db)
        let paid = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(payable - refunded_amount), 0) AS BIGINT) AS paid,
                   CAST(COALESCE(SUM(CASE WHEN received_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS received
            FROM orders WHERE member_id = \(bind: memberID) AND paid_at IS NOT NULL
            """).first()
        var products: Set<UUID> = []
        if case "product_purchase" = config.admission.mode {
            let rows = try await sql.raw("""
                SELECT DISTINCT l.product_id AS product_id FROM order_lines l JOIN orders o ON o.id = l.order_id
                WHERE o.member_id = \(bind: memberID) AND o.paid_at IS NOT NULL LIMIT 1000
                """).all()
            for row in rows { products.insert(try row.decode(column: "product_id", as: UUID.self)) }
        }
        let scanned = config.admission.mode == "store_qr"
            ? try await DistributionStoreScan.query(on: db).filter(\.$memberID == memberID).first() != nil : false
        return DistributorAdmissionFigures(paidAmount: Money(fen: try paid?.decode(column: "paid", as: Int64.self) ?? 0),
                                           receivedOrderCount: Int(try paid?.decode(column: "received", as: Int64.self) ?? 0),
                                           purchasedProductIDs: products, scannedRecruitingStore: scanned)
    }
}
