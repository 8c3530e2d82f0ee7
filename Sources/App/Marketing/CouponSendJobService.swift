import Fluent
import Foundation
import MallCore
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Vapor

struct CouponSendJobDTO: Content {
    let id: UUID
    let templateId: UUID
    let couponName: String
    let merchantId: UUID?
    let tagId: UUID
    let tagName: String
    /// queued, running, done, failed or cancelled.
    let status: String
    let statusLabel: String
    /// The tag's members when the job was made.
    let total: Int64
    let issued: Int64
    let skipped: Int64
    /// Whole percent of `total` handled.
    let percent: Int
    /// Why the job ended early (sold_out, daily_sold_out, claim_ended, not_claimable, cancelled).
    let reasonCode: String?
    let reason: String?
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?

    init(_ job: CouponSendJob, couponName: String, _ locale: MallLocale) throws {
        id = try job.requireID()
        templateId = job.templateID
        self.couponName = couponName
        merchantId = job.merchantID
        tagId = job.tagID
        tagName = job.tagName
        status = job.status
        statusLabel = CouponSendJobStatus(rawValue: job.status)?.name(locale) ?? job.status
        total = job.total
        issued = job.issued
        skipped = job.skipped
        percent = job.status == CouponSendJobStatus.done.rawValue ? 100 : CouponSendJobs.percent(handled: job.issued + job.skipped, total: job.total)
        reasonCode = job.endReason
        reason = job.endReason.flatMap(CouponSendEnd.init(rawValue:))?.message(locale)
        createdAt = job.createdAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
    }
}

/// Making, cancelling and working off 发券任务. Every method that writes expects `db` to be a
/// write transaction.
struct CouponSendJobService {
    let db: any Database
    let now: Date

    static let batchSize = 200
    static let maxListed = 100

    static let inProgress = APIError(.conflict, "coupon_send.in_progress",
                                     .init("该券正在发给这个标签，请等任务结束后再发", "This coupon is already being sent to this tag; wait until that job ends"))

    /// Checks the tag, the coupon (a shop's own only) and that nothing is sent to the same tag
    /// already, then queues the job; issues nothing. A refusal writes nothing.
    func create(templateID: UUID, tagID: UUID, merchantID: UUID?, staffID: UUID?) async throws -> CouponSendJob {
        guard let tag = try await MemberTag.find(tagID, on: db) else {
            throw APIError.validation([.init("tagId", .init("标签不存在", "No such tag"))])
        }
        // The coupon's row orders two requests for the same coupon (PostgreSQL; SQLite writes one at a time).
        try await lockRow(CouponTemplate.schema, templateID, on: db)
        guard let template = try await CouponTemplate.find(templateID, on: db), merchantID == nil || template.merchantID == merchantID else {
            throw APIError.notFound
        }
        guard template.status == CouponTemplateStatus.active.rawValue else { throw CouponFailure.notClaimable }
        // Ended or sold out refuses every member: say so now rather than queue a job that ends at once.
        if let refusal = Coupons.claimRefusal(try CouponService.coupon(template), counts: CouponClaimCounts(issued: template.issued),
                                              now: now, isNewMember: true) {
            throw refusal
        }
        let total = try await MemberTagMember.query(on: db).filter(\.$tagID == tagID).count()
        guard total > 0 else {
            throw APIError.validation([.init("tagId", .init("该标签还没有会员", "The tag has no members yet"))])
        }
        let open = try await CouponSendJob.query(on: db).filter(\.$templateID == templateID).filter(\.$tagID == tagID)
            .filter(\.$status ~~ [CouponSendJobStatus.queued.rawValue, CouponSendJobStatus.running.rawValue]).first()
        guard open == nil else { throw Self.inProgress }
        let job = CouponSendJob()
        job.id = UUID()
        job.templateID = templateID
        job.merchantID = template.merchantID
        job.tagID = tagID
        job.tagName = tag.name
        job.status = CouponSendJobStatus.queued.rawValue
        job.total = Int64(total)
        job.issued = 0
        job.skipped = 0
        job.createdBy = staffID
        job.createdAt = now
        job.updatedAt = now
        try await job.create(on: db)
        return job
    }

    /// Stops a queued or running job; what it issued stays issued. A worker in the middle of a batch
    /// finishes that batch first (PostgreSQL waits on the job's row), and takes no further one.
    /// With `merchantID`, only that shop's own job is found.
    func cancel(_ id: UUID, merchantID: UUID? = nil) async throws -> CouponSendJob {
        var query = CouponSendJob.query(on: db).filter(\.$id == id)
        if let merchantID { query = query.filter(\.$merchantID == merchantID) }
        guard try await query.first() != nil else { throw APIError.notFound }
        let moved = try await sqlDatabase(db).raw("""
            UPDATE coupon_send_jobs SET status = 'cancelled', end_reason = 'cancelled', finished_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: id) AND status IN ('queued', 'running') RETURNING id
            """).all()
        guard let job = try await CouponSendJob.find(id, on: db) else { throw APIError.notFound }
        guard !moved.isEmpty else {
            throw APIError(.conflict, "coupon_send.finished", .init("任务已结束，不能取消", "The job has already ended and cannot be cancelled"))
        }
        return job
    }

    struct Batch: Sendable, Equatable {
        let jobID: UUID
        var issued = 0
        var skipped = 0
        var status: CouponSendJobStatus
    }

    /// One batch of the oldest open job no other worker holds: its next `size` members in id order,
    /// each in a savepoint of its own so one member's refusal leaves the others. The job's row is
    /// locked for the batch (PostgreSQL `FOR UPDATE SKIP LOCKED`: a second worker takes another
    /// job or none; SQLite has one writer), the (job, member) row guards against any repeat, and
    /// the cursor moves in the same transaction as the coupons. Nil when no job is open.
    func processBatch(size: Int = batchSize, jobID: UUID? = nil) async throws -> Batch? {
        let sql = try sqlDatabase(db)
        let postgres = sql.dialect.name == "postgresql"
        let lock: SQLQueryString = postgres ? "FOR UPDATE SKIP LOCKED" : ""
        var only: SQLQueryString = ""
        if let jobID { only = "AND id = \(bind: jobID)" }
        guard let row = try await sql.raw("""
            SELECT id FROM coupon_send_jobs WHERE status IN ('queued', 'running') \(only) ORDER BY created_at, id LIMIT 1 \(lock)
            """).first() else { return nil }
        let id = try row.decode(column: "id", as: UUID.self)
        guard let job = try await CouponSendJob.find(id, on: db) else { return nil }

        var cursor: SQLQueryString = ""
        if let after = job.cursor { cursor = "AND member_id > \(bind: after)" }
        let members = try await sql.raw("""
            SELECT member_id FROM member_tag_members WHERE tag_id = \(bind: job.tagID) AND added_at <= \(bind: job.createdAt) \(cursor)
            ORDER BY member_id LIMIT \(bind: size)
            """).all().map { try $0.decode(column: "member_id", as: UUID.self) }
        if postgres, !members.isEmpty {
            // The members' rows before the coupon's, in id order, as every claim takes them: no deadlock with a member claiming at the same time.
            try await sql.raw("SELECT id FROM members WHERE id IN (\(binds: members)) ORDER BY id FOR UPDATE").run()
        }

        var batch = Batch(jobID: id, status: .running)
        var ended: CouponSendEnd?
        var last: UUID?
        let coupons = CouponService(db: db, now: now)
        handling: for memberID in members {
            try await sql.raw("SAVEPOINT coupon_send").run()
            do {
                let marked = try await sql.raw("""
                    INSERT INTO coupon_send_job_members (id, job_id, member_id, outcome, code, handled_at)
                    VALUES (\(bind: UUID()), \(bind: id), \(bind: memberID), 'issued', '', \(bind: now))
                    ON CONFLICT (job_id, member_id) DO NOTHING RETURNING id
                    """).all()
                if let mark = marked.first {
                    let coupon = try await coupons.claim(templateID: job.templateID, memberID: memberID, source: "send", listedOnly: false)
                    try await sql.raw("""
                        UPDATE coupon_send_job_members SET member_coupon_id = \(bind: coupon.requireID()) WHERE id = \(bind: mark.decode(column: "id", as: UUID.self))
                        """).run()
                    batch.issued += 1
                }
                try await sql.raw("RELEASE SAVEPOINT coupon_send").run()
            } catch {
                try await sql.raw("ROLLBACK TO SAVEPOINT coupon_send").run()
                try await sql.raw("RELEASE SAVEPOINT coupon_send").run()
                let step: CouponSendJobs.Step
                let code: String
                switch error {
                case let refusal as CouponRejection:
                    step = CouponSendJobs.step(for: refusal)
                    code = refusal.code
                case is CouponFailure:
                    step = .endJob(.notClaimable)
                    code = "coupon.not_claimable"
                case let refusal as FarmingRefusal:
                    step = .skipMember
                    code = ErrorMapping.apiError(for: refusal).code
                case let apiError as APIError where apiError.status == .notFound:
                    // The coupon is gone (the member's row is locked and exists).
                    step = .endJob(.notClaimable)
                    code = apiError.code
                default:
                    throw error
                }
                if case .endJob(let reason) = step {
                    ended = reason
                    break handling
                }
                try await sql.raw("""
                    INSERT INTO coupon_send_job_members (id, job_id, member_id, outcome, code, handled_at)
                    VALUES (\(bind: UUID()), \(bind: id), \(bind: memberID), 'skipped', \(bind: String(code.prefix(60))), \(bind: now))
                    ON CONFLICT (job_id, member_id) DO NOTHING
                    """).run()
                batch.skipped += 1
            }
            last = memberID
        }

        batch.status = CouponSendJobs.statusAfterBatch(taken: members.count, batchSize: size, ended: ended)
        job.status = batch.status.rawValue
        job.issued += Int64(batch.issued)
        job.skipped += Int64(batch.skipped)
        if let last { job.cursor = last }
        if let ended { job.endReason = ended.rawValue }
        if job.startedAt == nil { job.startedAt = now }
        if !batch.status.isOpen { job.finishedAt = now }
        job.updatedAt = now
        try await job.save(on: db)
        return batch
    }
}

/// Reads for the job lists and pages.
enum CouponSendJobQueries {
    /// The newest jobs first: a shop's (`merchantID`) or all, of one coupon or every one.
    static func list(on db: any Database, merchantID: UUID?, templateID: UUID?, limit: Int, locale: MallLocale) async throws -> [CouponSendJobDTO] {
        var query = CouponSendJob.query(on: db).sort(\.$createdAt, .descending).sort(\.$id).limit(limit)
        if let merchantID { query = query.filter(\.$merchantID == merchantID) }
        if let templateID { query = query.filter(\.$templateID == templateID) }
        let jobs = try await query.all()
        let ids = Array(Set(jobs.map(\.templateID)))
        let templates = ids.isEmpty ? [] : try await CouponTemplate.query(on: db).filter(\.$id ~~ ids).all()
        let names = Dictionary(templates.compactMap { template in template.id.map { ($0, template.name) } }, uniquingKeysWith: { first, _ in first })
        return try jobs.map { try CouponSendJobDTO($0, couponName: names[$0.templateID] ?? "", locale) }
    }

    /// One job; another shop's is a 404.
    static func one(_ id: UUID, on db: any Database, merchantID: UUID?, locale: MallLocale) async throws -> CouponSendJobDTO {
        guard let job = try await CouponSendJob.find(id, on: db), merchantID == nil || job.merchantID == merchantID else { throw APIError.notFound }
        let name = try await CouponTemplate.find(job.templateID, on: db)?.name ?? ""
        return try CouponSendJobDTO(job, couponName: name, locale)
    }
}

/// The worker: open jobs batch by batch, each batch its own write transaction.
enum CouponSendWorker {
    struct Report: Sendable, Equatable {
        var batches = 0
        var issued = 0
        var skipped = 0
        /// Jobs that reached done, failed or cancelled in this run.
        var finished = 0
    }

    /// Works until no open job is left or `maxBatches` batches ran.
    static func run(_ app: Application, batchSize: Int = CouponSendJobService.batchSize, maxBatches: Int = .max) async throws -> Report {
        var report = Report()
        while report.batches < maxBatches {
            let next: CouponSendJobService.Batch?
            do {
                next = try await runBatch(app, size: batchSize)
            } catch let error as APIError where error.code == WriteGate.busy.code {
                // SQLite: another instance has held the writer past the busy timeout, working the
                // jobs itself; this run stops and the next round tries again.
                break
            }
            guard let batch = next else { break }
            report.batches += 1
            report.issued += batch.issued
            report.skipped += batch.skipped
            if !batch.status.isOpen { report.finished += 1 }
        }
        return report
    }

    /// One batch of the oldest open job (or of `jobID`); nil when there is none to take.
    static func runBatch(_ app: Application, size: Int = CouponSendJobService.batchSize, jobID: UUID? = nil) async throws -> CouponSendJobService.Batch? {
        let now = app.clock.now()
        return try await app.writeGate.transaction(on: app.db) { db in
            try await CouponSendJobService(db: db, now: now).processBatch(size: size, jobID: jobID)
        }
    }
}

/// `fission run-coupon-sends`: every queued coupon send to a tag, to the end.
struct RunCouponSendsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Sends queued coupons to member tags (发券任务), batch by batch; safe beside serve and a second instance." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let started = Date()
        let report = try await CouponSendWorker.run(context.application)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        context.console.print("coupon sends: \(report.batches) batches, \(report.issued) issued, \(report.skipped) skipped, \(report.finished) jobs finished in \(seconds) s")
    }
}

/// While `fission serve` runs, queued coupon sends are worked off every five seconds, at most
/// 50 batches a round so other jobs get their turn (FISSION_JOBS=off turns it off).
struct ScheduledCouponSends: LifecycleHandler {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    func didBoot(_ app: Application) throws {
        guard ProcessInfo.processInfo.arguments.dropFirst().first == "serve",
              ProcessInfo.processInfo.environment["FISSION_JOBS"] != "off" else { return }
        let started = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do {
                    let report = try await CouponSendWorker.run(app, maxBatches: 50)
                    if report.batches > 0 { app.logger.info("coupon sends: \(report)") }
                } catch {
                    app.logger.error("coupon sends failed: \(error)")
                }
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdown(_ app: Application) {
        task.withLockedValue { $0?.cancel() }
    }
}
