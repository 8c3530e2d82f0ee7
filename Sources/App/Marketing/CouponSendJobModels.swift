import Fluent
import Foundation
import MallCore

/// 发券任务: one coupon sent to the members of a tag by the worker, never by the request that asked
/// for it. `cursor` is the last member id handled (members are taken in id order), so a worker that
/// stops mid-way leaves the rest to the next one.
final class CouponSendJob: Model, @unchecked Sendable {
    static let schema = "coupon_send_jobs"

    @ID(key: .id) var id: UUID?
    @Field(key: "template_id") var templateID: UUID
    /// The coupon's shop (nil for a platform coupon): the shop reads its own jobs only.
    @OptionalField(key: "merchant_id") var merchantID: UUID?
    @Field(key: "tag_id") var tagID: UUID
    /// The tag's name when the job was made (the tag may be renamed or deleted later).
    @Field(key: "tag_name") var tagName: String
    /// `CouponSendJobStatus`.
    @Field(key: "status") var status: String
    /// The tag's members when the job was made.
    @Field(key: "total") var total: Int64
    @Field(key: "issued") var issued: Int64
    @Field(key: "skipped") var skipped: Int64
    @OptionalField(key: "cursor") var cursor: UUID?
    /// `CouponSendEnd` when the job ended early.
    @OptionalField(key: "end_reason") var endReason: String?
    @OptionalField(key: "created_by") var createdBy: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    @OptionalField(key: "started_at") var startedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}
}

/// One member handled by a job: (job, member) is unique, so no worker issues a member twice for one job.
final class CouponSendJobMember: Model, @unchecked Sendable {
    static let schema = "coupon_send_job_members"

    @ID(key: .id) var id: UUID?
    @Field(key: "job_id") var jobID: UUID
    @Field(key: "member_id") var memberID: UUID
    /// issued or skipped.
    @Field(key: "outcome") var outcome: String
    /// Why a member was skipped (the refusal's code), "" when issued.
    @Field(key: "code") var code: String
    @OptionalField(key: "member_coupon_id") var memberCouponID: UUID?
    @Field(key: "handled_at") var handledAt: Date

    init() {}
}

struct CreateCouponSendJobs: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(CouponSendJob.schema)
            .id()
            .field("template_id", .uuid, .required, .references(CouponTemplate.schema, .id))
            .field("merchant_id", .uuid)
            .field("tag_id", .uuid, .required)
            .field("tag_name", .string, .required)
            .field("status", .string, .required)
            .field("total", .int64, .required)
            .field("issued", .int64, .required)
            .field("skipped", .int64, .required)
            .field("cursor", .uuid)
            .field("end_reason", .string)
            .field("created_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("started_at", .datetime)
            .field("finished_at", .datetime)
            .create()
        try await createIndex("coupon_send_jobs_status", on: CouponSendJob.schema, columns: ["status", "created_at"], db: db)
        try await createIndex("coupon_send_jobs_merchant", on: CouponSendJob.schema, columns: ["merchant_id", "created_at"], db: db)
        try await createIndex("coupon_send_jobs_template", on: CouponSendJob.schema, columns: ["template_id", "created_at"], db: db)
        try await db.schema(CouponSendJobMember.schema)
            .id()
            .field("job_id", .uuid, .required, .references(CouponSendJob.schema, .id))
            .field("member_id", .uuid, .required)
            .field("outcome", .string, .required)
            .field("code", .string, .required)
            .field("member_coupon_id", .uuid)
            .field("handled_at", .datetime, .required)
            .unique(on: "job_id", "member_id")
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema(CouponSendJobMember.schema).delete()
        try await db.schema(CouponSendJob.schema).delete()
    }
}
