import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// The distributor's links (`/s/<code>`) and the distributor centre (分销中心) pages.
struct DistributionPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("s", ":code", use: shopLink)
        routes.get("s", ":code", "p", ":productID", use: productLink)
        routes.get("s", ":code", "qr.svg", use: shopQR)
        routes.get("d", ":code", use: homepage)
        routes.get("s", ":code", "p", ":productID", "qr.svg", use: productQR)
        routes.get("distribution", use: centre)
        routes.get("distribution", "posters", ":productID", use: posterPage)
        routes.on(.POST, "distribution", "apply", body: .collect(maxSize: ImageAPIController.maxRequest), use: apply)
        routes.on(.POST, "distribution", "avatar", body: .collect(maxSize: ImageAPIController.maxRequest), use: uploadAvatar)
        routes.post("distribution", "withdraw", use: withdraw)
    }

    static let shareCookie = "fm_share"
    static let visitorCookie = "fm_vid"

    // MARK: - Links

    @Sendable func shopLink(req: Request) async throws -> Response {
        try await follow(req, productID: nil)
    }

    @Sendable func productLink(req: Request) async throws -> Response {
        try await follow(req, productID: try req.uuidParameter("productID"))
    }

    /// Counts the visit, remembers the link in a cookie for registration and the first order,
    /// binds a signed-in member at once (trigger "visit"), and shows the product or the
    /// distributor's homepage.
    private func follow(_ req: Request, productID: UUID?) async throws -> Response {
        let code = req.parameters.get("code") ?? ""
        let target = productID.map { "/products/\($0.uuidString.lowercased())" } ?? "/d/\(code)"
        guard let distributor = try await DistributionAPIController.distributor(code: code, on: req.db),
              distributor.status == DistributorRecordStatus.active.rawValue else {
            // An unknown or inactive link still shows the mall; it just binds no one.
            return req.redirect(to: productID == nil ? "/" : target)
        }
        if let productID, try await Product.find(productID, on: req.db) == nil { return req.redirect(to: "/") }
        let source = (try? req.query.get(String.self, at: "src")) ?? "link"
        let response = req.redirect(to: target)
        try await Self.arrive(req, distributor: distributor, productID: productID, source: source, response: response)
        return response
    }

    /// One arrival through a distributor's link, QR code or store: the visit, the binding of a
    /// signed-in member, and the cookies that bind a visitor who registers or signs in later.
    static func arrive(_ req: Request, distributor: Distributor, productID: UUID?, source: String, response: Response) async throws {
        let distributorID = try distributor.requireID()
        var visitor = req.cookies[visitorCookie]?.string ?? ""
        let newVisitor = visitor.count != 36 || UUID(uuidString: visitor) == nil
        if newVisitor { visitor = UUID().uuidString.lowercased() }
        var signedIn: UUID?
        if case .member(let member) = req.principal { signedIn = member.id }
        let memberID = signedIn
        let now = req.now
        // A client that keeps no cookie counts once per address and day, so a script cannot fill the table.
        let visitorKey = memberID.map { "m:\($0.uuidString.lowercased())" } ?? (newVisitor ? "ip:\(req.clientIP)" : "v:\(visitor)")
        try await req.writeTransaction { db in
            try await DistributionVisits.record(distributorID: distributorID, visitorKey: visitorKey, productID: productID, source: source, on: db, now: now)
            if let memberID {
                try await BindingService(db: db, now: now).arrive(memberID: memberID, distributorID: distributorID, trigger: .visit)
            }
        }
        let secure = req.application.config.publicBaseURL.hasPrefix("https://")
        response.cookies[shareCookie] = HTTPCookies.Value(string: distributor.code, maxAge: 30 * 86_400, path: "/", isSecure: secure,
                                                           isHTTPOnly: true, sameSite: .lax)
        if newVisitor {
            response.cookies[visitorCookie] = HTTPCookies.Value(string: visitor, maxAge: 365 * 86_400, path: "/", isSecure: secure,
                                                                 isHTTPOnly: true, sameSite: .lax)
        }
    }

    static let storeCookie = "fm_store"

    /// A store's QR code opens the store's page: the buyer arrives through the store's staff
    /// distributor, and a recruiting store counts as scanned for the store_qr admission mode.
    static func storeVisit(_ req: Request, store: Store, response: Response) async {
        do {
            if let staffID = store.staffDistributorID, let staff = try await Distributor.find(staffID, on: req.db),
               staff.status == DistributorRecordStatus.active.rawValue {
                try await arrive(req, distributor: staff, productID: nil, source: "store", response: response)
            }
            guard store.recruitsDistributors == true, let storeID = store.id else { return }
            if case .member(let member) = req.principal, let memberID = member.id {
                try await recordScan(req, memberID: memberID, storeID: storeID)
            } else {
                let secure = req.application.config.publicBaseURL.hasPrefix("https://")
                response.cookies[storeCookie] = HTTPCookies.Value(string: storeID.uuidString.lowercased(), maxAge: 30 * 86_400, path: "/",
                                                                   isSecure: secure, isHTTPOnly: true, sameSite: .lax)
            }
        } catch {
            // The store page shows even when the binding cannot be written now.
            req.logger.warning("store visit not recorded: \(error)")
        }
    }

    static func recordScan(_ req: Request, memberID: UUID, storeID: UUID) async throws {
        let now = req.now
        try await req.writeTransaction { db in
            try await sqlDatabase(db).raw("""
                INSERT INTO distribution_store_scans (id, member_id, store_id, scanned_at) VALUES (\(bind: UUID()), \(bind: memberID), \(bind: storeID), \(bind: now))
                ON CONFLICT (member_id, store_id) DO NOTHING
                """).run()
        }
    }

    // MARK: - The distributor's homepage

    struct HomepagePage: Encodable, Sendable {
        struct Item: Encodable, Sendable {
            let link: String
            let title: String
            let price: String
            let image: String
            let soldOut: Bool
        }
        let code: String
        let name: String
        let initial: String
        let avatar: String
        let honourTitle: String
        let products: [Item]
        let isEmpty: Bool
        let isMine: Bool
        let shopLink: String
    }

    /// 「<name> 的推荐」: the mall's best sellers, each opened through the distributor's link so
    /// a visitor who arrives here directly still binds.
    @Sendable func homepage(req: Request) async throws -> Response {
        let code = String((req.parameters.get("code") ?? "").prefix(16))
        guard let distributor = try await DistributionAPIController.distributor(code: code, on: req.db),
              distributor.status == DistributorRecordStatus.active.rawValue else { return req.redirect(to: "/") }
        var params = ProductListQuery()
        params.limit = 24
        params.sort = ProductSort.sales.rawValue
        let storage = req.application.imageStorage
        let page = try await ProductQueries.list(params, on: req.db, locale: req.locale, storage: storage)
        var honour = ""
        if let gradeID = distributor.gradeID, let record = try await DistributorGradeRecord.find(gradeID, on: req.db),
           let grade = try? JSONDecoder().decode(DistributorGrade.self, from: Data(record.definitionJSON.utf8)) {
            honour = grade.honourTitle
        }
        var isMine = false
        if case .member(let member) = req.principal { isMine = member.id == distributor.id }
        let items = page.items.map {
            HomepagePage.Item(link: "/s/\(distributor.code)/p/\($0.id.uuidString.lowercased())", title: $0.title, price: $0.price.display,
                              image: $0.mainImage?.url ?? "", soldOut: !$0.inStock)
        }
        return try await req.page("member/distributor-home", HomepagePage(
            code: distributor.code, name: distributor.displayName, initial: String(distributor.displayName.prefix(1)),
            avatar: distributor.avatar.map { storage.url(for: $0) } ?? "", honourTitle: honour, products: items, isEmpty: items.isEmpty,
            isMine: isMine, shopLink: Self.link(req, code: distributor.code, productID: nil)))
    }

    @Sendable func shopQR(req: Request) async throws -> Response {
        try await qr(req, productID: nil)
    }

    @Sendable func productQR(req: Request) async throws -> Response {
        try await qr(req, productID: try req.uuidParameter("productID"))
    }

    private func qr(_ req: Request, productID: UUID?) async throws -> Response {
        guard let distributor = try await DistributionAPIController.distributor(code: req.parameters.get("code") ?? "", on: req.db) else {
            throw APIError.notFound
        }
        let svg = try QRCode.matrix(for: Self.link(req, code: distributor.code, productID: productID, source: "qr")).svg()
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "image", subType: "svg+xml")
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
        return Response(status: .ok, headers: headers, body: .init(string: svg))
    }

    static func link(_ req: Request, code: String, productID: UUID?, source: String = "link") -> String {
        let path = productID.map { "/s/\(code)/p/\($0.uuidString.lowercased())" } ?? "/s/\(code)"
        return req.application.config.publicBaseURL + path + (source == "link" ? "" : "?src=\(source)")
    }

    /// After a page sign-in or registration: the link the visitor came through binds now, as a
    /// registration for a new account and as a visit for a returning member.
    static func afterSignIn(_ req: Request, memberID: UUID, registered: Bool) async {
        if let raw = req.cookies[storeCookie]?.string, let store = UUID(uuidString: raw) {
            do {
                if let recruiting = try await Store.find(store, on: req.db), recruiting.recruitsDistributors == true {
                    try await recordScan(req, memberID: memberID, storeID: store)
                }
            } catch {
                req.logger.warning("store scan after sign-in not recorded: \(error)")
            }
        }
        guard let code = req.cookies[shareCookie]?.string else { return }
        let now = req.now
        do {
            guard let distributor = try await DistributionAPIController.distributor(code: code, on: req.db), let distributorID = distributor.id else { return }
            _ = try await req.writeTransaction { db in
                try await BindingService(db: db, now: now).arrive(memberID: memberID, distributorID: distributorID,
                                                                  trigger: registered ? .registration : .visit)
            }
        } catch {
            // Signing in must not fail because of a binding; the next order's trigger can still bind.
            req.logger.warning("binding after sign-in failed: \(error)")
        }
    }

    // MARK: - Sharing from the product page

    struct ShareBlock: Encodable, Sendable {
        let earn: String
        let link: String
        let qr: String
        let poster: String
    }

    /// 分享赚 on the product page, from the same engine as the preview.
    static func shareBlock(_ req: Request, productID: UUID) async throws -> ShareBlock? {
        guard case .member(let member) = req.principal, let memberID = member.id,
              let distributor = try await Distributor.find(memberID, on: req.db), distributor.status == DistributorRecordStatus.active.rawValue else { return nil }
        let earn = try await DistributionAPIController.shareEarning(productID: productID, distributorID: memberID, on: req.db, now: req.now)
        let id = productID.uuidString.lowercased()
        return ShareBlock(earn: earn.formatted(req.locale), link: link(req, code: distributor.code, productID: productID),
                          qr: "/s/\(distributor.code)/p/\(id)/qr.svg", poster: "/distribution/posters/\(id)")
    }

    // MARK: - Posters

    @Sendable func posterPage(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal, let memberID = member.id else { return req.redirect(to: "/login") }
        return try await Self.poster(req, memberID: memberID, productID: try req.uuidParameter("productID"))
    }

    /// 商品海报: the product, its price, the distributor and a QR code of its link, as a PNG to save.
    static func poster(_ req: Request, memberID: UUID, productID: UUID) async throws -> Response {
        guard let distributor = try await Distributor.find(memberID, on: req.db), distributor.status == DistributorRecordStatus.active.rawValue else {
            throw APIError(.forbidden, "distributor.not_active", .init("成为分销员后才能生成海报", "Become a distributor to make posters"))
        }
        guard let product = try await Product.find(productID, on: req.db), product.onShelf,
              let sku = try await Sku.query(on: req.db).filter(\.$product.$id == productID).sort(\.$price).first() else { throw APIError.notFound }
        try await req.takeAnonymousHit(RateLimits.postersPerMember, key: memberID.uuidString.lowercased())
        let storage = req.application.imageStorage
        let image = product.mainImage.isEmpty ? nil : try await storage.get(product.mainImage)
        var avatar: [UInt8]?
        if let key = distributor.avatar { avatar = try await storage.get(key) }
        let content = PosterContent(productImage: image.map { Data($0) }, title: product.title,
                                    priceText: Money(fen: sku.price).formatted(.zhHans), distributorName: distributor.displayName,
                                    avatar: avatar.map { Data($0) },
                                    link: link(req, code: distributor.code, productID: productID, source: "poster"))
        let png = try await req.application.threadPool.runIfActive { try PosterRenderer.png(content) }
        var headers = HTTPHeaders()
        headers.contentType = .png
        headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=300")
        headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"poster-\(productID.uuidString.lowercased()).png\"")
        return Response(status: .ok, headers: headers, body: .init(data: png))
    }

    // MARK: - The distributor centre

    struct CentrePage: Encodable, Sendable {
        struct Row: Encodable, Sendable {
            let orderNo: String
            let product: String
            let buyer: String
            let level: Int
            let amount: String
            let state: String
            let stateName: String
        }
        struct WithdrawalRow: Encodable, Sendable {
            let no: String
            let amount: String
            let fee: String
            let net: String
            let channel: String
            let state: String
            let stateName: String
            let reason: String
        }
        struct Channel: Encodable, Sendable {
            let key: String
            let name: String
            let arrival: String
        }
        let isDistributor: Bool
        let status: String
        let statusName: String
        let reviewNote: String
        let code: String
        let avatar: String
        let shopLink: String
        let shopQR: String
        let boundTo: String
        let agreementVersion: String
        let agreementText: String
        let admissionMode: String
        let formFields: [String]
        let pending: String
        let frozen: String
        let available: String
        let debt: String
        let hasDebt: Bool
        let withdrawing: String
        let withdrawn: String
        let commissions: [Row]
        let withdrawals: [WithdrawalRow]
        let channels: [Channel]
        let feeText: String
        let idempotencyKey: String
        let teamLevel1: Int
        let teamLevel2: Int
        let visitsToday: Int
        let visitsTotal: Int
        let orders: Int
        let monthSales: String
        let commissionToday: String
        let commissionMonth: String
        let commissionTotal: String
        let ranking: [Ranked]
        struct Ranked: Encodable, Sendable {
            let place: Int
            let name: String
            let sales: String
            let isMe: Bool
        }
    }

    /// This month's top distributors by their own sales (level 1), names masked.
    static func ranking(_ req: Request, memberID: UUID) async throws -> [CentrePage.Ranked] {
        try await DistributionAPIController.rankingEntries(req, memberID: memberID).map {
            CentrePage.Ranked(place: $0.place, name: $0.name, sales: $0.sales.display, isMe: $0.isMe)
        }
    }

    @Sendable func centre(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal, let memberID = member.id else { return req.redirect(to: "/login") }
        return try await req.page("member/distribution", try await Self.centrePage(req, memberID: memberID))
    }

    static func centrePage(_ req: Request, memberID: UUID) async throws -> CentrePage {
        let locale = req.locale
        let config = try await DistributionConfig.load(on: req.db)
        let mine = try await DistributionAPIController.myDistribution(req, memberID: memberID)
        let distributor = try await Distributor.find(memberID, on: req.db)
        var rows: [CentrePage.Row] = []
        var withdrawals: [CentrePage.WithdrawalRow] = []
        var team = (0, 0)
        var visits = (0, 0)
        var orders = 0
        var monthSales = Money.zero
        var earned = DistributionAPIController.EarnedDTO(today: .init(.zero, locale), month: .init(.zero, locale), total: .init(.zero, locale))
        var ranking: [CentrePage.Ranked] = []
        if distributor != nil {
            let today = CommissionSettlement.period("daily", of: req.now).label
            visits = (try await DistributionVisit.query(on: req.db).filter(\.$distributorID == memberID).filter(\.$day == today).count(),
                      try await DistributionVisit.query(on: req.db).filter(\.$distributorID == memberID).count())
            let counted = try await sqlDatabase(req.db).raw("""
                SELECT CAST(COUNT(DISTINCT order_id) AS BIGINT) AS n FROM commissions WHERE beneficiary_id = \(bind: memberID) AND level = 1 AND state <> 'voided'
                """).first()
            orders = Int(try counted?.decode(column: "n", as: Int64.self) ?? 0)
            monthSales = try await CommissionService(db: req.db, now: req.now).periodSales(memberID)
            earned = try await DistributionAPIController.earned(memberID, on: req.db, now: req.now, locale: locale)
            ranking = try await Self.ranking(req, memberID: memberID)
            let commissions = try await Commission.query(on: req.db).filter(\.$beneficiaryID == memberID).sort(\.$createdAt, .descending).limit(30).all()
            rows = try await DistributionAPIController.dtos(commissions, req: req).map {
                CentrePage.Row(orderNo: $0.orderNo, product: $0.productTitle, buyer: $0.buyer, level: $0.level, amount: $0.amount.display, state: $0.state,
                               stateName: $0.stateName)
            }
            withdrawals = try await Withdrawal.query(on: req.db).filter(\.$distributorID == memberID).sort(\.$createdAt, .descending).limit(20).all().map {
                let dto = WithdrawalDTO($0, locale)
                return CentrePage.WithdrawalRow(no: dto.withdrawalNo, amount: dto.amount.display, fee: dto.fee.display, net: dto.net.display,
                                                channel: dto.channelName, state: dto.state, stateName: dto.stateName, reason: dto.reason)
            }
            let level1 = try await Distributor.query(on: req.db).filter(\.$parentID == memberID).all()
            let level2 = level1.isEmpty ? 0 : try await Distributor.query(on: req.db).filter(\.$parentID ~~ level1.compactMap(\.id)).count()
            team = (level1.count, level2)
        }
        let settings = try? config.withdrawalSettings()
        let balances = mine.balances
        let feeText = locale == .zhHans
            ? "手续费 \(PageFormat.percent(BasisPoints(config.withdrawal.feeRateBp)))，最低 \(Money(fen: config.withdrawal.minimumFeeFen).formatted(locale))；单次 \(Money(fen: config.withdrawal.minimumFen).formatted(locale)) 起"
            : "Fee \(PageFormat.percent(BasisPoints(config.withdrawal.feeRateBp))), at least \(Money(fen: config.withdrawal.minimumFeeFen).formatted(locale)); from \(Money(fen: config.withdrawal.minimumFen).formatted(locale)) a time"
        return CentrePage(
            isDistributor: distributor != nil, status: distributor?.status ?? "", statusName: mine.distributor?.statusName ?? "",
            reviewNote: distributor?.reviewNote ?? "", code: distributor?.code ?? "",
            avatar: distributor?.avatar.map { req.application.imageStorage.url(for: $0) } ?? "",
            shopLink: distributor.map { link(req, code: $0.code, productID: nil) } ?? "", shopQR: mine.links?.shopQrCode ?? "",
            boundTo: mine.boundTo ?? "", agreementVersion: config.admission.agreementVersion, agreementText: config.admission.agreementText,
            admissionMode: config.admission.mode, formFields: config.admission.formFields,
            pending: balances?.pending.display ?? "", frozen: balances?.frozen.display ?? "", available: balances?.available.display ?? "",
            debt: balances?.debt.display ?? "", hasDebt: (balances?.debt.fen ?? 0) > 0,
            withdrawing: balances?.withdrawing.display ?? "", withdrawn: balances?.withdrawn.display ?? "",
            commissions: rows, withdrawals: withdrawals,
            channels: (settings?.channels ?? []).map { CentrePage.Channel(key: $0.rawValue, name: $0.name(locale), arrival: $0.expectedArrival(locale)) },
            feeText: feeText, idempotencyKey: UUID().uuidString.lowercased(), teamLevel1: team.0, teamLevel2: team.1,
            visitsToday: visits.0, visitsTotal: visits.1, orders: orders, monthSales: monthSales.formatted(locale),
            commissionToday: earned.today.display, commissionMonth: earned.month.display, commissionTotal: earned.total.display, ranking: ranking)
    }

    @Sendable func apply(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal, let memberID = member.id else { return req.redirect(to: "/login") }
        struct Form: Decodable {
            let kind: String?
            let realName: String?
            let idNumber: String?
            let enterpriseName: String?
            let licenceNumber: String?
            let answers: [String]?
            let agreementVersion: String?
            let agree: String?
            let document: File?
        }
        let form = try req.content.decode(Form.self)
        let config = try await DistributionConfig.load(on: req.db)
        var answers: [String: String] = [:]
        for (index, field) in config.admission.formFields.enumerated() where index < (form.answers ?? []).count {
            answers[field] = form.answers?[index]
        }
        let (now, cipher) = (req.now, req.application.personalData)
        do {
            var documents: [String] = []
            if let document = form.document, document.data.readableBytes > 0 {
                try await req.takeAnonymousHit(RateLimits.memberImagesPerMember, key: memberID.uuidString)
                let image = try await ImageService.store(Array(document.data.readableBytesView), purpose: .member, merchantID: nil, memberID: memberID,
                                                         storage: req.application.imageStorage, on: req.db, at: now)
                documents.append(image.storageKey)
            }
            let input = DistributorApplication(kind: form.kind ?? "individual", realName: form.realName ?? "", idNumber: form.idNumber ?? "",
                                               enterpriseName: form.enterpriseName, licenceNumber: form.licenceNumber, answers: answers, documents: documents,
                                               agreementVersion: form.agreementVersion ?? "", agree: form.agree == "on")
            let distributor = try await req.writeTransaction { db in
                try await DistributorService(db: db, now: now).apply(member: member, input: input, cipher: cipher)
            }
            req.flash(distributor.status == DistributorRecordStatus.active.rawValue
                      ? .init("您已成为分销员，快去分享吧", "You are now a distributor — start sharing")
                      : .init("申请已提交，请等待审核", "Your application has been sent for review"))
            return req.redirect(to: "/distribution")
        } catch {
            return try await req.pageAfterFailure(error, "member/distribution", try await Self.centrePage(req, memberID: memberID))
        }
    }

    /// The avatar on the homepage and posters: a member's own upload.
    @Sendable func uploadAvatar(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal, let memberID = member.id else { return req.redirect(to: "/login") }
        struct Form: Decodable { let avatar: File? }
        let form = (try? req.content.decode(Form.self)) ?? Form(avatar: nil)
        let now = req.now
        do {
            guard let file = form.avatar, file.data.readableBytes > 0 else {
                throw APIError.validation([.init("avatar", .init("请选择一张 PNG 或 JPEG 图片", "Choose a PNG or JPEG picture"))])
            }
            guard let distributor = try await Distributor.find(memberID, on: req.db), distributor.status == DistributorRecordStatus.active.rawValue else {
                throw APIError(.forbidden, "distributor.not_active", .init("成为分销员后才能设置头像", "Become a distributor to set an avatar"))
            }
            try await req.takeAnonymousHit(RateLimits.memberImagesPerMember, key: memberID.uuidString)
            let image = try await ImageService.store(Array(file.data.readableBytesView), purpose: .member, merchantID: nil, memberID: memberID,
                                                     storage: req.application.imageStorage, on: req.db, at: now)
            try await DistributorService.setAvatar(image, distributorID: memberID, on: req.application, now: now)
            req.flash(.init("头像已更新", "Avatar updated"))
            return req.redirect(to: "/distribution")
        } catch {
            return try await req.pageAfterFailure(error, "member/distribution", try await Self.centrePage(req, memberID: memberID))
        }
    }

    @Sendable func withdraw(req: Request) async throws -> Response {
        guard case .member(let member) = req.principal, let memberID = member.id else { return req.redirect(to: "/login") }
        struct Form: Decodable {
            let amount: String?
            let channel: String?
            let accountName: String?
            let accountNumber: String?
            let bankName: String?
            let key: String?
        }
        let form = try req.content.decode(Form.self)
        do {
            guard let amount = try? Money.parse(form.amount ?? "") else {
                throw APIError.validation([.init("amount", .init("请输入正确的金额，如 12.50", "Enter an amount such as 12.50"))])
            }
            let key = String((form.key ?? UUID().uuidString).prefix(64))
            let input = WithdrawalInput(amountFen: amount.fen, channel: form.channel ?? "balance", accountName: form.accountName,
                                        accountNumber: form.accountNumber, bankName: form.bankName)
            let withdrawal = try await DistributionAPIController.requestWithdrawal(req, memberID: memberID, input: input, key: key)
            let dto = WithdrawalDTO(withdrawal, req.locale)
            req.flash(.init("提现申请已提交：\(dto.amount.display)，手续费 \(dto.fee.display)，\(dto.stateName)",
                            "Withdrawal of \(dto.amount.display) sent, fee \(dto.fee.display): \(dto.stateName)"))
            return req.redirect(to: "/distribution")
        } catch {
            return try await req.pageAfterFailure(error, "member/distribution", try await Self.centrePage(req, memberID: memberID))
        }
    }
}
