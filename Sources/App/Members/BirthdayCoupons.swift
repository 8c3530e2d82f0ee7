import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Vapor

/// The operator's birthday setting: which platform coupon template is the birthday coupon (none: no birthday coupons).
struct BirthdaySettings: Content, Equatable, StoredSettings {
    var couponTemplateId: UUID?

    init() { couponTemplateId = nil }
    init(couponTemplateId: UUID?) { self.couponTemplateId = couponTemplateId }

    static let recordName = "birthday"

    func validate() throws {}
}

/// Month and day only: all the perk needs.
struct BirthdayInput: Content {
    let month: Int
    let day: Int
}

struct BirthdayDTO: Content {
    let month: Int?
    let day: Int?
    /// A birthday is set once; after that only the operator could change it.
    let canSet: Bool
}

/// 生日礼: members set a birthday once; the job sends the birthday coupon once a year in its month.
enum BirthdayCoupons {
    struct Report: Sendable, Equatable {
        var issued = 0
        /// Members whose level lacks the perk, or whom the template refused (sold out, limits).
        var skipped = 0
    }

    static func today(_ now: Date) -> (year: Int, month: Int, day: Int) {
        let parts = CouponService.chinaCalendar.dateComponents([.year, .month, .day], from: now)
        return (parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    static func dto(_ record: MemberBirthdayRecord?) -> BirthdayDTO {
        BirthdayDTO(month: record?.month, day: record?.day, canSet: record == nil)
    }

    /// Sets the member's birthday once: a bad date is a 422, a second setting a 409; neither changes anything.
    static func set(_ input: BirthdayInput, memberID: UUID, on db: any Database, now: Date) async throws -> MemberBirthdayRecord {
        let birthday: MemberBirthday
        do {
            birthday = try MemberBirthday(month: input.month, day: input.day, year: nil, today: today(now))
        } catch let error as MemberTagError {
            throw MemberTagService.fieldError(error)
        }
        try await lockRow(Member.schema, memberID, on: db)
        guard try await MemberBirthdayRecord.find(memberID, on: db) == nil else {
            throw APIError(.conflict, "birthday.already_set", .init("生日只能设置一次，如需修改请联系客服", "A birthday can be set once; contact support to change it"))
        }
        let record = MemberBirthdayRecord()
        record.id = memberID
        record.month = birthday.month
        record.day = birthday.day
        record.year = birthday.year
        record.setAt = now
        try await record.create(on: db)
        return record
    }

    /// The operator clears a birthday the member set wrongly (「如需修改请联系客服」): the member sets it
    /// again, once. A coupon issued this year stays issued, and this year's (member, year) row keeps
    /// a second one from going out.
    static func reset(memberID: UUID, on db: any Database) async throws {
        guard try await Member.find(memberID, on: db) != nil else { throw APIError.notFound }
        try await MemberBirthdayRecord.query(on: db).filter(\.$id == memberID).delete()
    }

    /// Issues this year's birthday coupon to each member whose birthday month it is, whose level has
    /// the perk and who has none yet this year. The (member, year) row is written first in the
    /// claim's own transaction, so a rerun or a second instance finds it and issues nothing.
    static func run(_ app: Application, batch: Int = 200) async throws -> Report {
        var report = Report()
        let settings = try await BirthdaySettings.load(on: app.db)
        guard let templateID = settings.couponTemplateId, try await CouponTemplate.find(templateID, on: app.db) != nil else { return report }
        let book = try await MembersConfig.load(on: app.db).levelBook()
        let now = app.clock.now()
        let (year, month, _) = today(now)
        let sql = try sqlDatabase(app.db)
        var after: UUID?
        while true {
            var cursor: SQLQueryString = ""
            if let after { cursor = "AND b.id > \(bind: after)" }
            let rows = try await sql.raw("""
                SELECT b.id AS member_id, COALESCE(p.growth, 0) AS growth FROM member_birthdays b
                LEFT JOIN member_points p ON p.id = b.id
                WHERE b.month = \(bind: month) \(cursor)
                  AND NOT EXISTS (SELECT 1 FROM birthday_coupons c WHERE c.member_id = b.id AND c.year = \(bind: year))
                ORDER BY b.id LIMIT \(bind: batch)
                """).all()
            if rows.isEmpty { return report }
            for row in rows {
                let memberID = try row.decode(column: "member_id", as: UUID.self)
                let growth = try row.decode(column: "growth", as: Int64.self)
                guard book.level(forGrowth: growth).perks.contains(.birthdayCoupon) else {
                    report.skipped += 1
                    continue
                }
                do {
                    let issued = try await app.writeGate.transaction(on: app.db) { db -> Bool in
                        let held = try sqlDatabase(db)
                        let marked = try await held.raw("""
                            INSERT INTO birthday_coupons (id, member_id, year, template_id, member_coupon_id, issued_at)
                            VALUES (\(bind: UUID()), \(bind: memberID), \(bind: year), \(bind: templateID), \(bind: UUID()), \(bind: now))
                            ON CONFLICT (member_id, year) DO NOTHING RETURNING id
                            """).all()
                        guard let mark = marked.first else { return false }
                        let coupon = try await CouponService(db: db, now: now).claim(templateID: templateID, memberID: memberID, source: "birthday", listedOnly: false)
                        try await held.raw("""
                            UPDATE birthday_coupons SET member_coupon_id = \(bind: coupon.requireID()) WHERE id = \(bind: mark.decode(column: "id", as: UUID.self))
                            """).run()
                        return true
                    }
                    if issued { report.issued += 1 }
                } catch is CouponRejection {
                    report.skipped += 1
                } catch is CouponFailure {
                    report.skipped += 1
                }
            }
            after = try rows.last.map { try $0.decode(column: "member_id", as: UUID.self) }
            if rows.count < batch { return report }
        }
    }
}

/// `fission send-birthday-coupons`: this month's birthday coupons, once.
struct SendBirthdayCouponsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Sends this month's birthday coupons to members whose level has the perk (once per member per year)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let report = try await BirthdayCoupons.run(context.application)
        context.console.print("birthday coupons: \(report.issued) issued, \(report.skipped) skipped")
    }
}

/// `fission recompute-member-tags`: every rule tag, once.
struct RecomputeMemberTagsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Recomputes the members of every rule tag." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let report = try await MemberTagService.recomputeAll(context.application)
        context.console.print("member tags: \(report.tags) recomputed, \(report.added) added, \(report.removed) removed")
    }
}

/// While `fission serve` runs: rule tags and birthday coupons once a China day, after 02:00
/// (FISSION_JOBS=off turns them off). Both are safe on two instances at once.
struct ScheduledMemberJobs: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    private let doneDay = NIOLockedValueBox("")

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve",
              ProcessInfo.processInfo.environment["FISSION_JOBS"] != "off" else { return }
        let doneDay = self.doneDay
        let started = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .minutes(3), delay: .minutes(30)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                let now = app.clock.now()
                let day = CouponService.chinaDay(now)
                guard BirthdayCoupons.today(now.addingTimeInterval(-2 * 3_600)).day == BirthdayCoupons.today(now).day,
                      doneDay.withLockedValue({ $0 }) != day else { return }
                do {
                    let tags = try await MemberTagService.recomputeAll(app)
                    app.logger.info("member tags: \(tags.tags) recomputed, \(tags.added) added, \(tags.removed) removed")
                    let birthdays = try await BirthdayCoupons.run(app)
                    app.logger.info("birthday coupons: \(birthdays.issued) issued, \(birthdays.skipped) skipped")
                    doneDay.withLockedValue { $0 = day }
                } catch {
                    app.logger.error("member jobs failed: \(error)")
                }
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}
