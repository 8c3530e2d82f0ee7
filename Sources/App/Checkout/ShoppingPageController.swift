import Fluent
import Foundation
import MallCore
import Vapor

/// The buyer's cart, addresses and checkout pages. Every form posts back here and redirects, so
/// the pages work without JavaScript; each change goes through the same services as the API.
struct ShoppingPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("cart", use: cart)
        routes.post("cart", "add", use: add)
        routes.post("cart", "items", ":itemID", use: changeItem)
        routes.get("checkout", use: checkout)
        routes.post("checkout", use: place)
        routes.get("member", "addresses", use: addresses)
        routes.post("member", "addresses", use: addAddress)
    }

    static func member(_ req: Request) -> Member? {
        if case .member(let member) = req.principal { return member }
        return nil
    }

    // MARK: cart

    struct CartPage: Encodable, Sendable {
        let cart: CartDTO
        let isEmpty: Bool
        let canCheckout: Bool
    }

    @Sendable func cart(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let cart = try await CartService.view(memberID: member.requireID(), on: req.db, locale: req.locale, storage: req.application.imageStorage)
        return try await req.page("shopping/cart", CartPage(cart: cart, isEmpty: cart.itemCount == 0, canCheckout: cart.selectedQuantity > 0))
    }

    /// From the product page: 加入购物车 adds and stays; 立即购买 goes straight to checkout.
    @Sendable func add(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let form = req.formFields
        let productPath = form.first("product").flatMap(UUID.init(uuidString:)).map { "/products/\($0.uuidString)" } ?? "/"
        guard let skuID = form.first("sku").flatMap(UUID.init(uuidString:)) else {
            req.flash(PageStrings.shopping["choose_spec_first"] ?? .init("请先选择规格", "Choose the options first"))
            return req.redirect(to: productPath)
        }
        let quantity = Int64(form.first("quantity") ?? "1") ?? 0
        if form.first("action") == "buy" {
            _ = try CartService.validQuantity(quantity)
            return req.redirect(to: "/checkout?sku=\(skuID.uuidString)&qty=\(quantity)")
        }
        let (memberID, now) = (try member.requireID(), req.now)
        do {
            _ = try await req.writeTransaction { db in try await CartService(db: db, now: now).add(.init(skuId: skuID, quantity: quantity), memberID: memberID) }
            req.flash(PageStrings.shopping["added_to_cart"] ?? .init("已加入购物车", "Added to the cart"))
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.session.data["flash"] = apiError.message(req.locale)
        }
        return req.redirect(to: productPath)
    }

    @Sendable func changeItem(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let itemID = try req.uuidParameter("itemID")
        let form = req.formFields
        let (memberID, now) = (try member.requireID(), req.now)
        do {
            try await req.writeTransaction { db in
                let service = CartService(db: db, now: now)
                switch form.first("action") {
                case "remove":
                    _ = try await CartService.owned(itemID, memberID: memberID, on: db)
                    try await service.remove([itemID], memberID: memberID)
                case "select":
                    try await service.change(itemID, .init(quantity: nil, selected: form.first("selected") == "1"), memberID: memberID)
                default:
                    try await service.change(itemID, .init(quantity: Int64(form.first("quantity") ?? "") ?? 0, selected: nil), memberID: memberID)
                }
            }
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.session.data["flash"] = apiError.message(req.locale)
        }
        return req.redirect(to: "/cart")
    }

    // MARK: checkout

    struct CheckoutPage: Encodable, Sendable {
        struct AddressOption: Encodable, Sendable { let id: String; let text: String; let selected: Bool }
        struct StoreOption: Encodable, Sendable { let id: String; let name: String; let selected: Bool }
        struct Group: Encodable, Sendable {
            let merchantId: String
            let merchantName: String
            let fulfilment: String
            let canPickup: Bool
            let stores: [StoreOption]
            let lines: [CheckoutPreviewDTO.Line]
            let gifts: [CheckoutPreviewDTO.Gift]
            let goodsAmount: String
            let shippingFee: String
            /// 「会员包邮」 when the member's level waived this order's shipping.
            let shippingNote: String
            let payable: String
        }
        let addresses: [AddressOption]
        let needsAddress: Bool
        let hasAddresses: Bool
        let groups: [Group]
        let goodsAmount: String
        let shippingFee: String
        let discountAmount: String
        let total: String
        let sku: String
        let qty: String
        /// The flash sale item bought, or empty.
        let flash: String
        /// The points-mall goods item redeemed, or empty; and 「积分兑换 1000 积分 + ¥9.90」.
        var mall = ""
        var mallLabel = ""
        let note: String
        /// One per rendering: a double-tapped 提交订单 places one order.
        let idempotencyKey: String
        /// Each saving in stacking order: 「优惠券 -¥20.00」.
        let savings: [Saving]
        let coupons: [CouponOption]
        let couponsSuggested: Bool
        let pointsBalance: Int64
        let pointsUsable: Int64
        let pointsUsed: Int64
        /// The group-buy activity and group, or the bargain, the form carries on.
        var groupActivity = ""
        var group = ""
        var bargain = ""
    }

    struct Saving: Encodable, Sendable { let label: String; let amount: String }

    /// A saving as the checkout and the order page name it: 「满减 双11满减 满199减20」, 「限时折扣 夏日限时价」,
    /// 「优惠券 满199减20」, 「积分抵扣 2000 积分」.
    static func savingName(_ kind: DiscountKind, _ label: String, pointsUsed: Int64, _ locale: MallLocale) -> String {
        switch kind {
        case .coupon: (PageStrings.all["cp_checkout_coupons"].map { $0(locale) } ?? "") + " " + label
        case .fullReduction, .limitedTime, .groupBuy, .bargain, .flashSale, .pointsMall:
            (ActivityKind(rawValue: kind.rawValue)?.name(locale)).map { $0 + " " + label } ?? label
        case .points: LocalizedText("积分抵扣 \(pointsUsed) 积分", "\(pointsUsed) points")(locale)
        default: label
        }
    }
    struct CouponOption: Encodable, Sendable { let id: String; let name: String; let summary: String; let chosen: Bool; let reason: String }

    /// The checkout's input from the query (GET) or the form (POST): a buy-now SKU or the cart,
    /// the chosen address, and per shop a delivery method and store.
    static func input(_ values: (String) -> String?, all: (String) -> [String]) -> CheckoutInput {
        var items: [CheckoutInput.Item]?
        if let sku = values("sku").flatMap(UUID.init(uuidString:)) {
            items = [.init(skuId: sku, quantity: Int64(values("qty") ?? "1") ?? 1)]
        }
        var deliveries: [CheckoutInput.Delivery] = []
        for merchant in all("merchant").prefix(50) {
            guard let merchantID = UUID(uuidString: merchant) else { continue }
            let method = values("method_\(merchant)") ?? "express"
            deliveries.append(.init(merchantId: merchantID, method: method, storeId: values("store_\(merchant)").flatMap(UUID.init(uuidString:))))
        }
        // The coupon selector: ticked boxes on the form, a comma list in the query; neither is the best suggestion.
        var couponIds: [UUID]?
        if values("coupons_set") == "1" {
            couponIds = all("coupon").prefix(CouponService.maxPerCheckout).compactMap(UUID.init(uuidString:))
        } else if let list = values("coupons") {
            couponIds = list.split(separator: ",").prefix(CouponService.maxPerCheckout).compactMap { UUID(uuidString: String($0)) }
        }
        var input = CheckoutInput(items: items, addressId: values("address").flatMap(UUID.init(uuidString:)), deliveries: deliveries, note: values("note"))
        input.couponIds = couponIds
        // Points: a whole number typed on the form; anything else spends none (the API refuses it instead).
        input.points = values("points").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.map { min(max($0, 0), MembersConfig.maxPoints) }
        // 开团 / 参团 from a product or group page, 砍价 payment from a bargain page.
        if let activity = values("group_activity").flatMap(UUID.init(uuidString:)) {
            input.groupBuy = .init(activityId: activity, groupId: values("group").flatMap(UUID.init(uuidString:)))
        }
        input.bargainId = values("bargain").flatMap(UUID.init(uuidString:))
        input.flashSaleItemId = values("flash").flatMap(UUID.init(uuidString:))
        input.pointsMallItemId = values("mall").flatMap(UUID.init(uuidString:))
        return input
    }

    @Sendable func checkout(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        let query = (try? req.query.decode([String: String].self)) ?? [:]
        var input = Self.input({ query[$0] }, all: { name in query[name].map { [$0] } ?? [] })
        let addresses = try await AddressService.list(memberID: memberID, on: req.db)
        if input.addressId == nil, let first = addresses.first?.id {
            let (coupons, points, groupBuy, bargain, flash) = (input.couponIds, input.points, input.groupBuy, input.bargainId, input.flashSaleItemId)
            let mall = input.pointsMallItemId
            input = CheckoutInput(items: input.items, addressId: first, deliveries: input.deliveries, note: input.note)
            input.couponIds = coupons
            input.points = points
            input.groupBuy = groupBuy
            input.bargainId = bargain
            input.flashSaleItemId = flash
            input.pointsMallItemId = mall
        }
        do {
            let plan = try await CheckoutPlanner(db: req.db, memberID: memberID, now: req.now, locale: req.locale).plan(input)
            return try await req.page("shopping/checkout", try await Self.checkoutPage(plan, input: input, addresses: addresses, req: req))
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.session.data["flash"] = apiError.message(req.locale)
            // Not started, ended, sold out, over the limit: back to the flash sale page.
            if input.flashSaleItemId != nil, apiError.status == .conflict { return req.redirect(to: "/flash-sales") }
            // No address yet: add one and come back; any other refusal (too few points, paused, sold out …): back to the points mall.
            if let mall = input.pointsMallItemId {
                if apiError.code == "checkout.address_required" { return req.redirect(to: "/member/addresses?next=/checkout?mall=\(mall.uuidString)") }
                return req.redirect(to: "/points-mall")
            }
            return req.redirect(to: input.items == nil && input.flashSaleItemId == nil ? "/cart" : "/member/addresses")
        }
    }

    static func checkoutPage(_ plan: CheckoutPlan, input: CheckoutInput, addresses: [Address], req: Request) async throws -> CheckoutPage {
        let preview = CheckoutPreviewDTO(plan, req.locale, storage: req.application.imageStorage)
        var groups: [CheckoutPage.Group] = []
        for (group, shown) in zip(plan.groups, preview.orders) {
            let merchantID = group.merchant.id ?? UUID()
            let stores = group.fulfilment == .virtual ? [] : try await Store.query(on: req.db).filter(\.$merchant.$id == merchantID).filter(\.$active == true).sort(\.$name).all()
            groups.append(.init(merchantId: merchantID.uuidString, merchantName: group.merchant.name, fulfilment: group.fulfilment.rawValue,
                                canPickup: !stores.isEmpty,
                                stores: stores.compactMap { store in store.id.map { .init(id: $0.uuidString, name: store.name, selected: $0 == group.store?.id) } },
                                lines: shown.lines, gifts: shown.gifts, goodsAmount: shown.goodsAmount.display, shippingFee: shown.shippingFee.display,
                                shippingNote: group.fulfilment == .express && plan.pricing.shippingWaived[merchantID] != nil
                                    ? plan.pricing.member?.shippingLabel(req.locale) ?? "" : "",
                                payable: shown.payable.display))
        }
        let cipher = req.personalData
        var page = CheckoutPage(
            addresses: addresses.compactMap { address in
                guard let id = address.id else { return nil }
                let phone = (try? cipher.open(address.phoneCipher)).flatMap(PhoneNumber.init)?.masked ?? ""
                let province = ChinaRegions.province(address.provinceCode)?.name(req.locale) ?? ""
                return .init(id: id.uuidString, text: "\(address.receiverName) \(phone) \(province)\(address.city)\(address.district)\(address.detail)",
                             selected: id == input.addressId)
            },
            needsAddress: plan.groups.contains { $0.fulfilment == .express }, hasAddresses: !addresses.isEmpty, groups: groups,
            goodsAmount: preview.goodsAmount.display, shippingFee: preview.shippingFee.display, discountAmount: preview.discountAmount.display,
            total: preview.total.display, sku: input.items?.first?.skuId.uuidString ?? "", qty: input.items.map { String($0.first?.quantity ?? 1) } ?? "",
            flash: input.flashSaleItemId?.uuidString ?? "",
            note: input.note ?? "", idempotencyKey: Tokens.random(),
            savings: plan.pricing.steps.map { step in
                Saving(label: Self.savingName(step.source.kind, step.label, pointsUsed: plan.points.used, req.locale),
                       amount: "-" + step.amount.formatted(req.locale))
            },
            coupons: plan.coupons.offered.map { .init(id: $0.id.uuidString, name: $0.name, summary: $0.summary, chosen: $0.chosen, reason: $0.reason ?? "") },
            couponsSuggested: plan.coupons.suggested && !plan.coupons.chosen.isEmpty,
            pointsBalance: plan.points.balance, pointsUsable: plan.points.usable, pointsUsed: plan.points.used,
            groupActivity: input.groupBuy?.activityId.uuidString ?? "", group: input.groupBuy?.groupId?.uuidString ?? "",
            bargain: input.bargainId?.uuidString ?? "")
        if let mall = preview.pointsMall {
            page.mall = mall.itemId.uuidString
            page.mallLabel = mall.label
        }
        return page
    }

    @Sendable func place(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let memberID = try member.requireID()
        let form = req.formFields
        let input = Self.input({ form.first($0) }, all: { form.all($0) ?? [] })
        // 重新计算 shows the checkout again with the new choices.
        if form.first("action") == "recalculate" {
            var query = ["address=\(input.addressId?.uuidString ?? "")"]
            if let item = input.items?.first { query += ["sku=\(item.skuId.uuidString)", "qty=\(item.quantity)"] }
            if let flash = input.flashSaleItemId { query.append("flash=\(flash.uuidString)") }
            if let mall = input.pointsMallItemId { query.append("mall=\(mall.uuidString)") }
            if let coupons = input.couponIds { query.append("coupons=" + coupons.map(\.uuidString).joined(separator: ",")) }
            if let points = input.points, points > 0 { query.append("points=\(points)") }
            if let groupBuy = input.groupBuy {
                query.append("group_activity=\(groupBuy.activityId.uuidString)")
                if let group = groupBuy.groupId { query.append("group=\(group.uuidString)") }
            }
            if let bargain = input.bargainId { query.append("bargain=\(bargain.uuidString)") }
            for delivery in input.deliveries ?? [] {
                query += ["merchant=\(delivery.merchantId.uuidString)", "method_\(delivery.merchantId.uuidString)=\(delivery.method)"]
                if let store = delivery.storeId { query.append("store_\(delivery.merchantId.uuidString)=\(store.uuidString)") }
            }
            return req.redirect(to: "/checkout?" + query.joined(separator: "&"))
        }
        let key = String((form.first("idempotency_key") ?? Tokens.random()).prefix(64))
        do {
            if let item = input.flashSaleItemId {
                // 秒杀 goes through the queue: the unit is decided now, the order follows on the ticket's page.
                guard let address = input.addressId else { throw CheckoutRefusal.addressRequired }
                let ticket = try await req.application.flashSaleQueue.reserve(.checked(
                    itemID: item, memberID: memberID, addressID: address, quantity: input.items?.first?.quantity, note: input.note,
                    points: input.points, couponIDs: input.couponIds, key: key))
                return req.redirect(to: "/flash-sales/tickets/\(try ticket.requireID().uuidString)")
            }
            let paymentID = try await CheckoutPlacement.place(input, memberID: memberID, key: key, req: req).paymentID
            return req.redirect(to: "/pay/\(paymentID.uuidString)")
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.session.data["flash"] = apiError.message(req.locale)
            if input.flashSaleItemId != nil { return req.redirect(to: "/flash-sales") }
            if input.pointsMallItemId != nil { return req.redirect(to: "/points-mall") }
            return req.redirect(to: input.items == nil ? "/cart" : "/checkout?sku=\(input.items?.first?.skuId.uuidString ?? "")&qty=\(input.items?.first?.quantity ?? 1)")
        }
    }

    // MARK: addresses

    struct AddressesPage: Encodable, Sendable {
        struct Row: Encodable, Sendable { let text: String; let isDefault: Bool }
        struct Province: Encodable, Sendable { let code: String; let name: String }
        let addresses: [Row]
        let provinces: [Province]
        let next: String
    }

    @Sendable func addresses(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let list = try await AddressService.list(memberID: member.requireID(), on: req.db)
        return try await req.page("shopping/addresses", Self.addressesPage(list, req: req))
    }

    static func addressesPage(_ list: [Address], req: Request) -> AddressesPage {
        let next = (try? req.query.get(String.self, at: "next")).flatMap { $0.hasPrefix("/checkout") ? $0 : nil } ?? ""
        return AddressesPage(
            addresses: list.map { address in
                let phone = (try? req.personalData.open(address.phoneCipher)).flatMap(PhoneNumber.init)?.masked ?? ""
                let province = ChinaRegions.province(address.provinceCode)?.name(req.locale) ?? ""
                return .init(text: "\(address.receiverName) \(phone) \(province)\(address.city)\(address.district)\(address.detail)", isDefault: address.isDefault)
            },
            provinces: ChinaRegions.provinces.map { .init(code: $0.code, name: $0.name(req.locale)) }, next: next)
    }

    @Sendable func addAddress(req: Request) async throws -> Response {
        guard let member = Self.member(req) else { return req.redirect(to: "/login") }
        let form = req.formFields
        let input = AddressInput(receiverName: form.first("receiverName"), phone: form.first("phone"), provinceCode: form.first("provinceCode"),
                                 city: form.first("city"), district: form.first("district"), detail: form.first("detail"),
                                 isDefault: form.first("isDefault") == "1")
        let (memberID, cipher, now) = (try member.requireID(), req.personalData, req.now)
        do {
            _ = try await req.writeTransaction { db in try await AddressService(db: db, cipher: cipher, now: now).create(input, memberID: memberID) }
        } catch {
            let list = try await AddressService.list(memberID: memberID, on: req.db)
            return try await req.pageAfterFailure(error, "shopping/addresses", Self.addressesPage(list, req: req))
        }
        let next = form.first("next").flatMap { $0.hasPrefix("/checkout") ? $0 : nil }
        return req.redirect(to: next ?? "/member/addresses")
    }
}
