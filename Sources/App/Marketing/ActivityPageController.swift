import Fluent
import Foundation
import MallCore
import Vapor

/// The buyer's group page (`/groups/<id>`) and bargain page (`/bargains/<id>`), each with its
/// share link, QR code and poster; the product page's 「2人团 ¥69」 and 「砍价」 entries.
struct ActivityPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("groups", ":groupID", use: groupPage)
        routes.get("groups", ":groupID", "qr.svg", use: groupQR)
        routes.get("groups", ":groupID", "poster.png", use: groupPoster)
        routes.post("bargain-activities", ":activityID", "start", use: startBargain)
        routes.get("bargains", ":bargainID", use: bargainPage)
        routes.post("bargains", ":bargainID", "cut", use: cutBargain)
        routes.get("bargains", ":bargainID", "qr.svg", use: bargainQR)
        routes.get("bargains", ":bargainID", "poster.png", use: bargainPoster)
    }

    struct GroupPage: Encodable, Sendable {
        let group: GroupBuyGroupDTO
        let title: String
        let joinLink: String
        let isMember: Bool
        let emptySeats: [Int]
    }

    /// A visitor who opens a group arrives through the leader's distributor (the leader, when the
    /// leader is a distributor), exactly as through that distributor's link.
    @Sendable func groupPage(req: Request) async throws -> Response {
        guard let group = try await GroupBuyGroup.find(try req.uuidParameter("groupID"), on: req.db) else { throw APIError.notFound }
        let dto = try await ActivityViews.group(group, req)
        let product = try await Product.find(dto.activity.productId, on: req.db)
        var isMember = false
        if case .member(let member) = req.principal, let memberID = member.id {
            isMember = try await GroupBuyMember.query(on: req.db).filter(\.$groupID == group.requireID()).filter(\.$memberID == memberID)
                .filter(\.$status ~~ [GroupMemberStatus.held.rawValue, GroupMemberStatus.paid.rawValue]).first() != nil
        }
        let join = "/checkout?sku=\(dto.activity.skuId.uuidString)&qty=1&group_activity=\(dto.activity.id.uuidString)&group=\(dto.id.uuidString)"
        let response = try await req.page("marketing/group", GroupPage(group: dto, title: product?.title ?? dto.activity.name, joinLink: join, isMember: isMember,
                                                                       emptySeats: Array(0..<max(0, dto.size - dto.members.count))))
        if let distributor = try await Self.leaderDistributor(group, on: req.db) {
            do {
                try await DistributionPageController.arrive(req, distributor: distributor, productID: dto.activity.productId, source: "link", response: response)
            } catch {
                req.logger.warning("group visit not recorded: \(error)")
            }
        }
        return response
    }

    static func leaderDistributor(_ group: GroupBuyGroup, on db: any Database) async throws -> Distributor? {
        if let own = try await Distributor.find(group.leaderMemberID, on: db), own.status == DistributorRecordStatus.active.rawValue { return own }
        guard let binding = try await CustomerBinding.find(group.leaderMemberID, on: db),
              let distributor = try await Distributor.find(binding.distributorID, on: db),
              distributor.status == DistributorRecordStatus.active.rawValue else { return nil }
        return distributor
    }

    @Sendable func groupQR(req: Request) async throws -> Response {
        guard let group = try await GroupBuyGroup.find(try req.uuidParameter("groupID"), on: req.db) else { throw APIError.notFound }
        return try Self.svg(req.application.config.publicBaseURL + "/groups/\(try group.requireID().uuidString.lowercased())")
    }

    @Sendable func groupPoster(req: Request) async throws -> Response {
        guard let group = try await GroupBuyGroup.find(try req.uuidParameter("groupID"), on: req.db),
              let activity = try await GroupBuyActivity.find(group.activityID, on: req.db),
              let product = try await Product.find(activity.productID, on: req.db) else { throw APIError.notFound }
        let leader = try await Member.find(group.leaderMemberID, on: req.db)
        return try await Self.poster(req, product: product, title: "\(GroupBuyActivityDTO.summary(activity, .zhHans)) · \(product.title)",
                                     price: Money(fen: activity.price), name: maskedName(leader?.nickname ?? ""),
                                     link: req.application.config.publicBaseURL + "/groups/\(try group.requireID().uuidString.lowercased())")
    }

    struct BargainPage: Encodable, Sendable {
        let bargain: BargainDTO
        let title: String
        let isStarter: Bool
        let canCut: Bool
        let canPay: Bool
        let payLink: String
    }

    @Sendable func bargainPage(req: Request) async throws -> Response {
        guard let bargain = try await BargainRecord.find(try req.uuidParameter("bargainID"), on: req.db) else { throw APIError.notFound }
        let dto = try await ActivityViews.bargain(bargain, req)
        let product = try await Product.find(dto.productId, on: req.db)
        var isStarter = false
        if case .member(let member) = req.principal { isStarter = member.id == bargain.memberID }
        let open = bargain.status == "open" && req.now < bargain.expiresAt
        return try await req.page("marketing/bargain", BargainPage(
            bargain: dto, title: product?.title ?? dto.name, isStarter: isStarter, canCut: open && !isStarter && bargain.currentPrice > bargain.floorPrice,
            canPay: open && isStarter, payLink: "/checkout?sku=\(dto.skuId.uuidString)&qty=1&bargain=\(dto.id.uuidString)"))
    }

    @Sendable func startBargain(req: Request) async throws -> Response {
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let (memberID, activityID, now) = (try member.requireID(), try req.uuidParameter("activityID"), req.now)
        var target = "/"
        return try await OrderPageController.redirectBack(req, "/") {
            let bargain = try await req.writeTransaction { db in try await BargainService(db: db, now: now).start(activityID: activityID, memberID: memberID) }
            target = "/bargains/\(try bargain.requireID().uuidString.lowercased())"
        }.redirectingIfNeeded(req, to: target)
    }

    @Sendable func cutBargain(req: Request) async throws -> Response {
        let bargainID = try req.uuidParameter("bargainID")
        let path = "/bargains/\(bargainID.uuidString.lowercased())"
        guard let member = ShoppingPageController.member(req) else { return req.redirect(to: "/login") }
        let helperID = try member.requireID()
        return try await OrderPageController.redirectBack(req, path) {
            let bargain = try await GroupBuyAPIController.cut(req, bargainID: bargainID, helperID: helperID)
            let cut = try await BargainCut.query(on: req.db).filter(\.$bargainID == bargain.requireID()).filter(\.$helperMemberID == helperID).first()
            let amount = Money(fen: cut?.amount ?? 0)
            req.flash(.init("你帮忙砍掉了 \(amount.formatted(.zhHans))", "You cut \(amount.formatted(.en))"))
        }
    }

    @Sendable func bargainQR(req: Request) async throws -> Response {
        guard let bargain = try await BargainRecord.find(try req.uuidParameter("bargainID"), on: req.db) else { throw APIError.notFound }
        return try Self.svg(req.application.config.publicBaseURL + "/bargains/\(try bargain.requireID().uuidString.lowercased())")
    }

    @Sendable func bargainPoster(req: Request) async throws -> Response {
        guard let bargain = try await BargainRecord.find(try req.uuidParameter("bargainID"), on: req.db),
              let activity = try await BargainActivity.find(bargain.activityID, on: req.db),
              let product = try await Product.find(activity.productID, on: req.db) else { throw APIError.notFound }
        let starter = try await Member.find(bargain.memberID, on: req.db)
        return try await Self.poster(req, product: product, title: "砍价 · \(product.title)", price: Money(fen: bargain.currentPrice),
                                     name: maskedName(starter?.nickname ?? ""),
                                     link: req.application.config.publicBaseURL + "/bargains/\(try bargain.requireID().uuidString.lowercased())")
    }

    static func svg(_ link: String) throws -> Response {
        let svg = try QRCode.matrix(for: link).svg()
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "image", subType: "svg+xml")
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
        return Response(status: .ok, headers: headers, body: .init(string: svg))
    }

    /// Drawn like the distributors' product posters, with the group's or bargain's link in the QR code.
    static func poster(_ req: Request, product: Product, title: String, price: Money, name: String, link: String) async throws -> Response {
        try await req.takeAnonymousHit(RateLimits.postersPerMember, key: "activity-poster:" + req.clientIP)
        let storage = req.application.imageStorage
        let image = product.mainImage.isEmpty ? nil : try await storage.get(product.mainImage)
        let content = PosterContent(productImage: image.map { Data($0) }, title: title, priceText: price.formatted(.zhHans), distributorName: name,
                                    avatar: nil, link: link)
        let png = try await req.application.threadPool.runIfActive { try PosterRenderer.png(content) }
        var headers = HTTPHeaders()
        headers.contentType = .png
        headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=300")
        return Response(status: .ok, headers: headers, body: .init(data: png))
    }
}

private extension Response {
    /// `redirectBack` went to its fallback; a success elsewhere goes to `target` instead.
    func redirectingIfNeeded(_ req: Request, to target: String) -> Response {
        target == "/" ? self : req.redirect(to: target)
    }
}

/// The product page's group-buy and bargain entries.
enum ActivityBadges {
    static func badges(productID: UUID, on db: any Database, now: Date, locale: MallLocale) async throws -> [PromotionBadge] {
        var badges: [PromotionBadge] = []
        let groups = try await GroupBuyActivity.query(on: db).filter(\.$productID == productID).filter(\.$status == PromotionStatus.active.rawValue)
            .filter(\.$startsAt <= now).filter(\.$endsAt > now).sort(\.$price).limit(5).all()
        for activity in groups {
            let id = try activity.requireID()
            badges.append(PromotionBadge(kind: "group_buy", label: ActivityKind.groupBuy.name(locale), text: GroupBuyActivityDTO.summary(activity, locale),
                                         until: LocalizedText("\(PageDates.chinaMinute(activity.endsAt)) 结束", "Ends \(PageDates.chinaMinute(activity.endsAt)) (China time)")(locale),
                                         link: "/checkout?sku=\(activity.skuID.uuidString)&qty=1&group_activity=\(id.uuidString)",
                                         linkLabel: LocalizedText("发起拼团", "Open a group")(locale)))
        }
        let bargains = try await BargainActivity.query(on: db).filter(\.$productID == productID).filter(\.$status == PromotionStatus.active.rawValue)
            .filter(\.$startsAt <= now).filter(\.$endsAt > now).sort(\.$floorPrice).limit(5).all()
        for activity in bargains {
            let floor = Money(fen: activity.floorPrice).formatted(locale)
            badges.append(PromotionBadge(kind: "bargain", label: ActivityKind.bargain.name(locale),
                                         text: LocalizedText("最低砍至 \(floor)", "Cut down to \(floor)")(locale),
                                         until: LocalizedText("\(PageDates.chinaMinute(activity.endsAt)) 结束", "Ends \(PageDates.chinaMinute(activity.endsAt)) (China time)")(locale),
                                         action: "/bargain-activities/\(try activity.requireID().uuidString.lowercased())/start",
                                         linkLabel: LocalizedText("发起砍价", "Start a bargain")(locale)))
        }
        return badges
    }
}
