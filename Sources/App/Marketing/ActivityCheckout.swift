import Fluent
import Foundation
import MallCore
import Vapor

/// A checkout that opens or joins a group, or pays a bargain: one unit of the activity's SKU at
/// the activity's price, checked here before anything is written. The seat or the bargain is
/// taken by a conditional update when the order is placed (`ActivityOrders.placed`).
struct ActivityCheckout {
    let db: any Database
    let memberID: UUID
    let now: Date

    struct Resolved {
        let skuID: UUID
        let exclusive: ExclusiveActivity
        let planned: PlannedActivity
    }

    func resolve(_ input: CheckoutInput) async throws -> Resolved? {
        guard input.groupBuy != nil || input.bargainId != nil else { return nil }
        if input.groupBuy != nil, input.bargainId != nil {
            throw APIError.validation([.init("bargainId", .init("拼团和砍价不能在同一单中", "A checkout is either a group buy or a bargain"))])
        }
        let resolved: Resolved
        if let choice = input.groupBuy {
            resolved = try await group(choice)
        } else if let bargainID = input.bargainId {
            resolved = try await bargain(bargainID)
        } else {
            return nil
        }
        if let items = input.items {
            guard items.count == 1, items[0].skuId == resolved.skuID, items[0].quantity == 1 else {
                throw APIError.validation([.init("items", .init("拼团或砍价每单只能买活动商品 1 件", "A group buy or bargain buys one unit of the activity's SKU"))])
            }
        }
        return resolved
    }

    private func group(_ choice: CheckoutInput.GroupBuyChoice) async throws -> Resolved {
        guard let activity = try await GroupBuyActivity.find(choice.activityId, on: db) else {
            throw APIError.validation([.init("groupBuy.activityId", .init("拼团活动不存在", "No such group-buy activity"))])
        }
        guard GroupBuyService.isRunning(activity, now: now) else {
            throw APIError(.conflict, "group_buy.not_running", .init("拼团活动未开始或已结束", "This group-buy activity is not running"))
        }
        let activityID = try activity.requireID()
        let planned: PlannedActivity
        if let groupID = choice.groupId {
            guard let group = try await GroupBuyGroup.find(groupID, on: db), group.activityID == activityID else {
                throw APIError.validation([.init("groupBuy.groupId", .init("该团不存在", "No such group"))])
            }
            if let refusal = GroupBuy.joinRefusal(group.state, now: now) { throw refusal }
            let already = try await GroupBuyMember.query(on: db).filter(\.$groupID == groupID).filter(\.$memberID == memberID)
                .filter(\.$status ~~ [GroupMemberStatus.held.rawValue, GroupMemberStatus.paid.rawValue]).first()
            guard already == nil, group.leaderMemberID != memberID else {
                throw APIError(.conflict, "group_buy.already_in", .init("你已经在这个团里了", "You are already in this group"))
            }
            planned = .groupJoin(activityID: activityID, groupID: groupID)
        } else {
            planned = .groupLeader(activityID: activityID)
        }
        return Resolved(skuID: activity.skuID, exclusive: try GroupBuyService.exclusive(activity), planned: planned)
    }

    private func bargain(_ bargainID: UUID) async throws -> Resolved {
        guard let bargain = try await BargainRecord.find(bargainID, on: db), bargain.memberID == memberID,
              let activity = try await BargainActivity.find(bargain.activityID, on: db) else {
            throw APIError.validation([.init("bargainId", .init("砍价不存在", "No such bargain"))])
        }
        guard bargain.status == "open", now < bargain.expiresAt, activity.status != PromotionStatus.stopped.rawValue else { throw BargainRefusal.notOpen }
        return Resolved(skuID: bargain.skuID, exclusive: try BargainService.exclusive(activity, price: bargain.currentPrice),
                        planned: .bargain(bargainID: bargainID, price: bargain.currentPrice))
    }
}
