import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

struct MemberTagRuleInput: Content, Equatable {
    /// Spent at least this much (fen) on received or completed orders, net of refunds.
    let minSpentFen: Int64?
    /// Bought a product of this category or one under it on a paid order.
    let categoryId: UUID?
    /// No order placed and no sign-in in this many days.
    let inactiveDays: Int?
}

/// A new tag: with a `rule` it is a rule tag, without one a manual tag.
struct MemberTagInput: Content {
    let name: String
    let rule: MemberTagRuleInput?
}

/// A change: a new name, and for a rule tag a new rule (replacing the whole rule).
struct MemberTagPatch: Content {
    let name: String?
    let rule: MemberTagRuleInput?
}

struct MemberTagDTO: Content {
    let id: UUID
    let name: String
    /// manual or rule.
    let kind: String
    let rule: MemberTagRuleInput?
    /// "累计消费满 ¥500.00 且 30 天未活跃".
    let ruleSummary: String
    let members: Int64
    let recomputedAt: Date?
    let createdAt: Date
}

struct MemberTagMembersInput: Content {
    let memberIds: [UUID]?
    let phones: [String]?
}

struct MemberTagAddResultDTO: Content {
    let added: Int
    let alreadyTagged: Int
    /// The ids or masked phones that name no member.
    let notFound: [String]
}

struct MemberTagMemberDTO: Content {
    let memberId: UUID
    let nickname: String
    /// 138****0000.
    let phone: String
    /// manual or rule.
    let source: String
    let addedAt: Date
}

struct MemberTagMembersPageDTO: Content {
    let total: Int64
    let items: [MemberTagMemberDTO]
    let nextOffset: Int?
}

struct MemberTagRecomputeDTO: Content {
    let added: Int
    let removed: Int
    let members: Int64
}

/// Tags: validating and writing them, adding members by hand, and recomputing rule tags with one
/// set-based statement pair per tag (members who left, members who joined), never a loop per member.
struct MemberTagService {
    let db: any Database
    let now: Date

    static let maxName = 20
    static let maxTags = 200
    static let maxCategories = 5_000

    static func rule(_ input: MemberTagRuleInput) throws -> MemberTagRule {
        do {
            return try MemberTagRule(minSpent: input.minSpentFen.map { Money(fen: $0) }, categoryID: input.categoryId, inactiveDays: input.inactiveDays)
        } catch let error as MemberTagError {
            throw fieldError(error)
        }
    }

    /// A refusal of MallCore's as a 422 naming its field.
    static func fieldError(_ error: MemberTagError) -> APIError {
        APIError.validation([.init(error.field, .init(error.localizedMessage(.zhHans), error.localizedMessage(.en)))])
    }

    static func summary(_ tag: MemberTag, categoryName: String?, _ locale: MallLocale) -> String {
        guard let rule = tag.rule else { return LocalizedText("手动添加", "Added by hand")(locale) }
        var parts: [String] = []
        if let spent = rule.minSpent { parts.append(LocalizedText("累计消费满 ¥\(spent.decimalString)", "spent ¥\(spent.decimalString) or more")(locale)) }
        if rule.categoryID != nil {
            let name = categoryName ?? "?"
            parts.append(LocalizedText("买过「\(name)」类目", "bought in \(name)")(locale))
        }
        if let days = rule.inactiveDays { parts.append(LocalizedText("\(days) 天未活跃", "inactive \(days) days")(locale)) }
        return parts.joined(separator: LocalizedText(" 且 ", " and ")(locale))
    }

    func dto(_ tag: MemberTag, _ locale: MallLocale) async throws -> MemberTagDTO {
        let id = try tag.requireID()
        let count = try await MemberTagMember.query(on: db).filter(\.$tagID == id).count()
        var categoryName: String?
        if let category = tag.categoryID { categoryName = try await Category.find(category, on: db)?.name }
        return MemberTagDTO(id: id, name: tag.name, kind: tag.kind,
                            rule: tag.isRule ? MemberTagRuleInput(minSpentFen: tag.minSpentFen, categoryId: tag.categoryID, inactiveDays: tag.inactiveDays) : nil,
                            ruleSummary: Self.summary(tag, categoryName: categoryName, locale), members: Int64(count),
                            recomputedAt: tag.recomputedAt, createdAt: tag.createdAt)
    }

    private func checkName(_ raw: String, except: UUID?) async throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.isFilled(raw, max: Self.maxName) else {
            throw APIError.validation([.init("name", .init("请填写标签名称（最多 \(Self.maxName) 字）", "Enter a name of at most \(Self.maxName) characters"))])
        }
        var query = MemberTag.query(on: db).filter(\.$name == name)
        if let except { query = query.filter(\.$id != except) }
        if try await query.first() != nil {
            throw APIError(.conflict, "tag.name_taken", .init("已有同名标签", "A tag with this name exists"))
        }
        return name
    }

    private func checkCategory(_ rule: MemberTagRule) async throws {
        if let category = rule.categoryID, try await Category.find(category, on: db) == nil {
            throw APIError.validation([.init("rule.categoryId", .init("类目不存在", "No such category"))])
        }
    }

    func create(_ input: MemberTagInput) async throws -> MemberTag {
        let rule = try input.rule.map(Self.rule)
        let name = try await checkName(input.name, except: nil)
        if let rule { try await checkCategory(rule) }
        guard try await MemberTag.query(on: db).count() < Self.maxTags else {
            throw APIError(.conflict, "tag.too_many", .init("标签最多 \(Self.maxTags) 个", "At most \(Self.maxTags) tags"))
        }
        let tag = MemberTag()
        tag.id = UUID()
        tag.name = name
        tag.kind = rule == nil ? "manual" : "rule"
        tag.minSpentFen = rule?.minSpent?.fen
        tag.categoryID = rule?.categoryID
        tag.inactiveDays = rule?.inactiveDays
        tag.createdAt = now
        tag.updatedAt = now
        try await tag.create(on: db)
        return tag
    }

    func update(_ id: UUID, _ patch: MemberTagPatch) async throws -> MemberTag {
        guard let tag = try await MemberTag.find(id, on: db) else { throw APIError.notFound }
        let rule = try patch.rule.map(Self.rule)
        if let name = patch.name { tag.name = try await checkName(name, except: id) }
        if let rule {
            guard tag.isRule else {
                throw APIError.validation([.init("rule", .init("手动标签没有规则", "A manual tag has no rule"))])
            }
            try await checkCategory(rule)
            tag.minSpentFen = rule.minSpent?.fen
            tag.categoryID = rule.categoryID
            tag.inactiveDays = rule.inactiveDays
            tag.recomputedAt = nil
        }
        tag.updatedAt = now
        try await tag.save(on: db)
        return tag
    }

    func delete(_ id: UUID) async throws {
        guard let tag = try await MemberTag.find(id, on: db) else { throw APIError.notFound }
        try await MemberTagMember.query(on: db).filter(\.$tagID == id).delete()
        try await tag.delete(on: db)
    }

    /// Adds members to a manual tag by id or phone; unknown ones are listed, already tagged ones counted.
    func add(_ tagID: UUID, memberIDs: [UUID], phoneHashes: [(label: String, hash: String)]) async throws -> MemberTagAddResultDTO {
        guard let tag = try await MemberTag.find(tagID, on: db) else { throw APIError.notFound }
        guard !tag.isRule else {
            throw APIError(.conflict, "tag.rule_managed", .init("规则标签的会员由规则计算，不能手动增减", "A rule tag's members follow its rule and cannot be changed by hand"))
        }
        var notFound: [String] = []
        var wanted: [UUID] = []
        let known = memberIDs.isEmpty ? [] : try await Member.query(on: db).filter(\.$id ~~ Array(Set(memberIDs))).all().compactMap(\.id)
        for id in memberIDs {
            if known.contains(id) { wanted.append(id) } else { notFound.append(id.uuidString.lowercased()) }
        }
        let hashes = Array(Set(phoneHashes.map(\.hash)))
        let byPhone = hashes.isEmpty ? [:] : Dictionary(try await Member.query(on: db).filter(\.$phoneHash ~~ hashes).all()
            .compactMap { member in member.id.map { (member.phoneHash, $0) } }, uniquingKeysWith: { first, _ in first })
        for phone in phoneHashes {
            if let id = byPhone[phone.hash] { wanted.append(id) } else { notFound.append(phone.label) }
        }
        let unique = Array(Set(wanted))
        let present = unique.isEmpty ? [] : try await MemberTagMember.query(on: db).filter(\.$tagID == tagID).filter(\.$memberID ~~ unique).all().map(\.memberID)
        var added = 0
        for id in unique.sorted(by: { $0.uuidString < $1.uuidString }) where !present.contains(id) {
            let row = MemberTagMember()
            row.tagID = tagID
            row.memberID = id
            row.addedAt = now
            row.source = "manual"
            try await row.create(on: db)
            added += 1
        }
        return MemberTagAddResultDTO(added: added, alreadyTagged: present.count, notFound: notFound)
    }

    func remove(_ tagID: UUID, memberID: UUID) async throws {
        guard let tag = try await MemberTag.find(tagID, on: db) else { throw APIError.notFound }
        guard !tag.isRule else {
            throw APIError(.conflict, "tag.rule_managed", .init("规则标签的会员由规则计算，不能手动增减", "A rule tag's members follow its rule and cannot be changed by hand"))
        }
        guard let row = try await MemberTagMember.query(on: db).filter(\.$tagID == tagID).filter(\.$memberID == memberID).first() else {
            throw APIError.notFound
        }
        try await row.delete(on: db)
    }

    /// The category and every category under it (the catalog is a tree by `parent_id`).
    func subtree(_ root: UUID) async throws -> [UUID] {
        let all = try await Category.query(on: db).limit(Self.maxCategories).all()
        var children: [UUID: [UUID]] = [:]
        for category in all {
            if let id = category.id, let parent = category.$parent.id { children[parent, default: []].append(id) }
        }
        var found: Set<UUID> = [root]
        var queue = [root]
        while let next = queue.popLast() {
            for child in children[next] ?? [] where found.insert(child).inserted { queue.append(child) }
        }
        return Array(found)
    }

    /// The members meeting every condition of the rule, as a sub-select of member ids.
    func matching(_ rule: MemberTagRule) async throws -> SQLQueryString {
        var conditions: [SQLQueryString] = []
        if let minSpent = rule.minSpent {
            conditions.append("""
                m.id IN (SELECT o.member_id FROM orders o WHERE o.state IN (\(bind: OrderState.received.rawValue), \(bind: OrderState.completed.rawValue))
                         GROUP BY o.member_id HAVING SUM(o.payable - o.refunded_amount) >= \(bind: minSpent.fen))
                """)
        }
        if let category = rule.categoryID {
            let ids = try await subtree(category)
            let paidStates = [OrderState.paid, .shipped, .received, .completed].map(\.rawValue)
            conditions.append("""
                EXISTS (SELECT 1 FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
                        WHERE o.member_id = m.id AND o.paid_at IS NOT NULL AND o.state IN (\(binds: paidStates))
                          AND l.refunded_quantity < l.quantity AND p.category_id IN (\(binds: ids)))
                """)
        }
        if let since = rule.activeSince(now: now) {
            conditions.append("""
                m.created_at <= \(bind: since)
                AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.member_id = m.id AND o.placed_at > \(bind: since))
                AND NOT EXISTS (SELECT 1 FROM login_attempts a WHERE a.account_key = \(bind: "member:") || m.phone_hash
                                AND a.succeeded = \(bind: true) AND a.created_at > \(bind: since))
                AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.subject_kind = \(bind: "member") AND r.subject_id = m.id
                                AND r.created_at > \(bind: since))
                """)
        }
        return "SELECT m.id FROM members m WHERE " + conditions.joined(separator: " AND ")
    }

    /// Brings a rule tag's members in line with its rule: those who no longer match leave, those
    /// who newly match join (keeping `added_at` of those who stay). Call inside a transaction.
    func recompute(_ tag: MemberTag) async throws -> (added: Int, removed: Int) {
        guard let rule = tag.rule else { return (0, 0) }
        let tagID = try tag.requireID()
        let sql = try sqlDatabase(db)
        let matches = try await matching(rule)
        let removed = try await sql.raw("""
            DELETE FROM member_tag_members WHERE tag_id = \(bind: tagID) AND member_id NOT IN (\(matches)) RETURNING id
            """).all().count
        // Ids are made by the database's own random functions, so the insert stays one statement.
        // SQLite keeps a UUID as its upper-case text, as Fluent writes it.
        let newID: SQLQueryString = sql.dialect.name == "postgresql" ? "gen_random_uuid()" : """
            (hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
             substr('89AB', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
            """
        let added = try await sql.raw("""
            INSERT INTO member_tag_members (id, tag_id, member_id, added_at, source)
            SELECT \(newID), \(bind: tagID), x.id, \(bind: now), \(bind: "rule") FROM (\(matches)) x
            WHERE NOT EXISTS (SELECT 1 FROM member_tag_members t WHERE t.tag_id = \(bind: tagID) AND t.member_id = x.id)
            RETURNING id
            """).all().count
        tag.recomputedAt = now
        try await tag.save(on: db)
        return (added, removed)
    }

    /// Every rule tag, each in a transaction of its own.
    static func recomputeAll(_ app: Application) async throws -> (tags: Int, added: Int, removed: Int) {
        let tags = try await MemberTag.query(on: app.db).filter(\.$kind == "rule").sort(\.$createdAt).limit(maxTags).all()
        var total = (tags: 0, added: 0, removed: 0)
        for tag in tags {
            let now = app.clock.now()
            let tagID = try tag.requireID()
            let result = try await app.writeGate.transaction(on: app.db) { db -> (Int, Int) in
                guard let fresh = try await MemberTag.find(tagID, on: db) else { return (0, 0) }
                return try await MemberTagService(db: db, now: now).recompute(fresh)
            }
            total.tags += 1
            total.added += result.0
            total.removed += result.1
        }
        return total
    }

    static let maxPageLimit = 100
    static let maxOffset = 100_000

    func members(_ tagID: UUID, limit: Int, offset: Int, cipher: PersonalDataCipher) async throws -> MemberTagMembersPageDTO {
        guard try await MemberTag.find(tagID, on: db) != nil else { throw APIError.notFound }
        let total = try await MemberTagMember.query(on: db).filter(\.$tagID == tagID).count()
        let rows = try await MemberTagMember.query(on: db).filter(\.$tagID == tagID).sort(\.$addedAt, .descending).sort(\.$memberID)
            .range(offset..<(offset + limit)).all()
        let members = rows.isEmpty ? [] : try await Member.query(on: db).filter(\.$id ~~ rows.map(\.memberID)).all()
        let byID = Dictionary(members.compactMap { member in member.id.map { ($0, member) } }, uniquingKeysWith: { first, _ in first })
        let items = rows.compactMap { row -> MemberTagMemberDTO? in
            guard let member = byID[row.memberID] else { return nil }
            let phone = PhoneNumber((try? cipher.open(member.phoneCipher)) ?? "")?.masked ?? "***"
            return MemberTagMemberDTO(memberId: row.memberID, nickname: member.nickname, phone: phone, source: row.source, addedAt: row.addedAt)
        }
        return MemberTagMembersPageDTO(total: Int64(total), items: items, nextOffset: offset + rows.count < total ? offset + rows.count : nil)
    }
}
