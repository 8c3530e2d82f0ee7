import Fluent
import Foundation
import MallCore
import Vapor

struct GroupBuyActivityDTO: Content {
    let id: UUID
    let name: String
    let productId: UUID
    let skuId: UUID
    let shopId: UUID
    let price: MoneyDTO
    let size: Int
    /// 「2人团 ¥69.00」.
    let summary: String
    let durationMinutes: Int
    let virtualCompletion: Bool
    let startsAt: Date
    let endsAt: Date
    let owner: String
    let status: String
    let statusLabel: String
    let paysCommission: Bool

    init(_ activity: GroupBuyActivity, _ locale: MallLocale) throws {
        id = try activity.requireID()
        name = activity.name
        productId = activity.productID
        skuId = activity.skuID
        shopId = activity.shopID
        price = MoneyDTO(Money(fen: activity.price), locale)
        size = activity.size
        summary = Self.summary(activity, locale)
        durationMinutes = activity.durationSeconds / 60
        virtualCompletion = activity.virtualCompletion
        startsAt = activity.startsAt
        endsAt = activity.endsAt
        owner = activity.owner
        status = activity.status
        statusLabel = CouponTemplateStatus(rawValue: activity.status)?.name(locale) ?? activity.status
        paysCommission = activity.paysCommission
    }

    static func summary(_ activity: GroupBuyActivity, _ locale: MallLocale) -> String {
        let price = Money(fen: activity.price).formatted(locale)
        return LocalizedText("\(activity.size)人团 \(price)", "Group of \(activity.size) \(price)")(locale)
    }
}

struct GroupBuyGroupDTO: Content {
    struct Member: Content {
        /// 「张*」: the nickname's first character.
        let name: String
        let isLeader: Bool
        let isVirtual: Bool
    }

    let id: UUID
    let activity: GroupBuyActivityDTO
    let status: String
    let statusLabel: String
    let size: Int
    let paid: Int
    /// Seats neither paid nor held by a joiner paying now.
    let seatsLeft: Int
    let deadline: Date
    let secondsLeft: Int64
    let members: [Member]
    /// Where others join: the group's page.
    let shareLink: String
    let canJoin: Bool
}

struct GroupBuyResultsDTO: Content {
    let activityId: UUID
    let openGroups: Int64
    let succeededGroups: Int64
    let failedGroups: Int64
    /// Paid orders in groups still counting (not refunded).
    let paidOrders: Int64
    let sales: MoneyDTO
    /// What the group price took off those orders.
    let discountCost: MoneyDTO
}

struct BargainActivityDTO: Content {
    let id: UUID
    let name: String
    let productId: UUID
    let skuId: UUID
    let shopId: UUID
    let floorPrice: MoneyDTO
    let maxCuts: Int
    let durationMinutes: Int
    let newMemberCountsDouble: Bool
    let dailyCutLimit: Int
    let startsAt: Date
    let endsAt: Date
    let owner: String
    let status: String
    let statusLabel: String
    let paysCommission: Bool

    init(_ activity: BargainActivity, _ locale: MallLocale) throws {
        id = try activity.requireID()
        name = activity.name
        productId = activity.productID
        skuId = activity.skuID
        shopId = activity.shopID
        floorPrice = MoneyDTO(Money(fen: activity.floorPrice), locale)
        maxCuts = activity.maxCuts
        durationMinutes = activity.durationSeconds / 60
        newMemberCountsDouble = activity.newMemberDouble
        dailyCutLimit = activity.dailyCutLimit
        startsAt = activity.startsAt
        endsAt = activity.endsAt
        owner = activity.owner
        status = activity.status
        statusLabel = CouponTemplateStatus(rawValue: activity.status)?.name(locale) ?? activity.status
        paysCommission = activity.paysCommission
    }
}

struct BargainDTO: Content {
    struct Cut: Content {
        let helper: String
        let amount: MoneyDTO
        let countedDouble: Bool
        let at: Date
    }

    let id: UUID
    let activityId: UUID
    let name: String
    let skuId: UUID
    let productId: UUID
    let startPrice: MoneyDTO
    let floorPrice: MoneyDTO
    let currentPrice: MoneyDTO
    /// Cut so far, out of start − floor.
    let cutAmount: MoneyDTO
    /// 0 to 100.
    let progressPercent: Int
    let cutsLeft: Int
    let helpers: Int
    let status: String
    let expiresAt: Date
    let secondsLeft: Int64
    let orderId: UUID?
    let cuts: [Cut]
    let shareLink: String
}

struct BargainResultsDTO: Content {
    let activityId: UUID
    let started: Int64
    let open: Int64
    let paid: Int64
    let expired: Int64
    let cuts: Int64
    let sales: MoneyDTO
    let discountCost: MoneyDTO
}

struct BargainStartInput: Content {
    let activityId: UUID
}

/// 「张*」: enough to recognise a friend, nothing more.
func maskedName(_ nickname: String) -> String {
    guard let first = nickname.trimmingCharacters(in: .whitespacesAndNewlines).first else { return "*" }
    return String(first) + "*"
}

func wholeSecondsLeft(_ now: Date, _ end: Date) -> Int64 {
    CheckedNumber.int64(end.timeIntervalSince(now), rounding: .up).map { max(0, $0) } ?? 0
}

enum ActivityViews {
    static func group(_ group: GroupBuyGroup, _ req: Request) async throws -> GroupBuyGroupDTO {
        guard let activity = try await GroupBuyActivity.find(group.activityID, on: req.db) else { throw APIError.notFound }
        let groupID = try group.requireID()
        let members = try await GroupBuyMember.query(on: req.db).filter(\.$groupID == groupID).filter(\.$status == GroupMemberStatus.paid.rawValue)
            .sort(\.$paidAt).sort(\.$id).all().sorted { ($0.role == "leader" ? 0 : 1) < ($1.role == "leader" ? 0 : 1) }
        let people = try await Member.query(on: req.db).filter(\.$id ~~ members.map(\.memberID)).all()
        var shown = members.map { row in
            GroupBuyGroupDTO.Member(name: maskedName(people.first { $0.id == row.memberID }?.nickname ?? ""), isLeader: row.role == "leader", isVirtual: false)
        }
        for _ in 0..<max(0, min(group.virtualMembers, GroupBuyRule.maxSize)) {
            shown.append(.init(name: LocalizedText("拼团好友", "Group friend")(req.locale), isLeader: false, isVirtual: true))
        }
        let now = req.now
        let status = GroupStatus(rawValue: group.status) ?? .failed
        let label: String = switch status {
        case .open: LocalizedText("拼团中", "Forming")(req.locale)
        case .succeeded: LocalizedText("拼团成功", "Succeeded")(req.locale)
        case .failed: LocalizedText("拼团失败，已全额退款", "Failed; refunded in full")(req.locale)
        }
        return GroupBuyGroupDTO(id: groupID, activity: try GroupBuyActivityDTO(activity, req.locale), status: group.status, statusLabel: label,
                                size: group.size, paid: group.paid, seatsLeft: group.state.seatsLeft, deadline: group.deadline,
                                secondsLeft: wholeSecondsLeft(now, group.deadline), members: shown,
                                shareLink: req.application.config.publicBaseURL + "/groups/\(groupID.uuidString.lowercased())",
                                canJoin: GroupBuy.joinRefusal(group.state, now: now) == nil && GroupBuyService.isRunning(activity, now: now))
    }

    static func bargain(_ bargain: BargainRecord, _ req: Request) async throws -> BargainDTO {
        guard let activity = try await BargainActivity.find(bargain.activityID, on: req.db) else { throw APIError.notFound }
        let id = try bargain.requireID()
        let cuts = try await BargainCut.query(on: req.db).filter(\.$bargainID == id).sort(\.$createdAt).sort(\.$id).all()
        let people = try await Member.query(on: req.db).filter(\.$id ~~ cuts.map(\.helperMemberID)).all()
        let gap = max(1, bargain.startPrice - bargain.floorPrice)
        let done = max(0, bargain.startPrice - bargain.currentPrice)
        let percent = Int(done * 100 / gap)
        let locale = req.locale
        return BargainDTO(id: id, activityId: bargain.activityID, name: activity.name, skuId: bargain.skuID, productId: activity.productID,
                          startPrice: MoneyDTO(Money(fen: bargain.startPrice), locale), floorPrice: MoneyDTO(Money(fen: bargain.floorPrice), locale),
                          currentPrice: MoneyDTO(Money(fen: bargain.currentPrice), locale), cutAmount: MoneyDTO(Money(fen: done), locale),
                          progressPercent: min(100, percent), cutsLeft: bargain.cutsLeft, helpers: bargain.helpers, status: bargain.status,
                          expiresAt: bargain.expiresAt, secondsLeft: wholeSecondsLeft(req.now, bargain.expiresAt), orderId: bargain.orderID,
                          cuts: cuts.map { cut in
                              .init(helper: maskedName(people.first { $0.id == cut.helperMemberID }?.nickname ?? ""),
                                    amount: MoneyDTO(Money(fen: cut.amount), locale), countedDouble: cut.countedDouble, at: cut.createdAt)
                          },
                          shareLink: req.application.config.publicBaseURL + "/bargains/\(id.uuidString.lowercased())")
    }
}
