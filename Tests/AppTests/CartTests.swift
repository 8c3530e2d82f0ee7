import Fluent
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

@Suite struct AddressTests {
    static func addressJSON(_ name: String = "张三", phone: String = "13800138000", province: String = "31", isDefault: Bool? = nil) -> String {
        let flag = isDefault.map { #","isDefault":\#($0)"# } ?? ""
        return #"{"receiverName":"\#(name)","phone":"\#(phone)","provinceCode":"\#(province)","city":"上海市","district":"静安区","detail":"南京西路 1 号 1201 室"\#(flag)}"#
    }

    @Test func aMemberKeepsAddressesWithOneDefaultAndAMaskedPhone() async throws {
        try await withMallApp { t in
            // setup
            let buyer = try await t.registerMember("13700000001")
            let other = try await t.registerMember("13700000002")

            // act
            let home = try await t.postJSON("/api/v1/me/addresses", Self.addressJSON("张三"), token: buyer)
            let office = try await t.postJSON("/api/v1/me/addresses", Self.addressJSON("李四", phone: "139-0013-9000", province: "44", isDefault: true), token: buyer)

            // check
            #expect(home.status == .created, "\(home.body.string)")
            let first = try home.content.decode(AddressDTO.self)
            let second = try office.content.decode(AddressDTO.self)
            #expect(first.isDefault)
            #expect(first.phone == "138****8000")
            #expect(second.phone == "139****9000")
            #expect(second.province == "广东省")
            var list = try await t.get("/api/v1/me/addresses", token: buyer).content.decode([AddressDTO].self)
            #expect(list.map(\.receiverName) == ["李四", "张三"])
            #expect(list.map(\.isDefault) == [true, false])
            #expect(try await t.get("/api/v1/me/addresses", token: other).content.decode([AddressDTO].self).isEmpty)
            #expect(!(try await Address.query(on: t.app.db).all().contains { $0.phoneCipher.contains("13800138000") }))

            // Another member can neither change nor delete them; deleting the default passes it on.
            #expect(try await t.send(.PUT, "/api/v1/me/addresses/\(first.id)", Self.addressJSON("王五"), token: other).status == .notFound)
            #expect(try await t.send(.DELETE, "/api/v1/me/addresses/\(second.id)", token: other).status == .notFound)
            #expect(try await t.send(.DELETE, "/api/v1/me/addresses/\(second.id)", token: buyer).status == .noContent)
            list = try await t.get("/api/v1/me/addresses", token: buyer).content.decode([AddressDTO].self)
            #expect(list.map(\.receiverName) == ["张三"])
            #expect(list.map(\.isDefault) == [true])
        }
    }

    @Test func badAddressesAreRefusedFieldByFieldAndTheTwentyFirstIsRefused() async throws {
        try await withMallApp { t in
            let buyer = try await t.registerMember("13700000003")
            let bad = try await t.postJSON("/api/v1/me/addresses",
                                           #"{"receiverName":" ","phone":"12345","provinceCode":"99","city":"","district":"\#(String(repeating: "区", count: 21))","detail":""}"#, token: buyer)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.error?.details.map(\.field) == ["receiverName", "phone", "provinceCode", "city", "district", "detail"])
            #expect(try await Address.query(on: t.app.db).count() == 0)

            for index in 0..<AddressService.maxPerMember {
                #expect(try await t.postJSON("/api/v1/me/addresses", Self.addressJSON("收货人\(index)"), token: buyer).status == .created)
            }
            let tooMany = try await t.postJSON("/api/v1/me/addresses", Self.addressJSON("多一个"), token: buyer)
            #expect(tooMany.status == .conflict)
            #expect(tooMany.body.string.contains("最多保存 20 个地址"))
            #expect(try await Address.query(on: t.app.db).count() == AddressService.maxPerMember)
        }
    }
}

@Suite struct CartTests {
    @Test func theCartMergesLinesAndShowsPriceChangesAndWhatCannotBeBought() async throws {
        try await withMallApp { t in
            // setup: two shops' products, a buyer
            let f = try await CatalogFixture.make(t)
            let milk = try await f.createProduct(f.productJSON("甲店奶粉", category: f.milk, prices: [9_900, 12_900], stock: 5))
            let cream = try await f.createProduct(f.productJSON("乙店面霜", category: f.beauty, prices: [5_000], stock: 3), token: f.shopBToken)
            let buyer = try await t.registerMember("13700000004")

            // act: add twice to one line, once from another shop
            #expect(try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(milk.skus[0].id)","quantity":2}"#, token: buyer).status == .created)
            #expect(try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(milk.skus[0].id)","quantity":1}"#, token: buyer).status == .created)
            t.clock.advance(seconds: 1)
            let added = try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(cream.skus[0].id)"}"#, token: buyer)
            var cart = try added.content.decode(CartDTO.self)

            // check
            #expect(cart.groups.map(\.merchantName) == ["甲店", "乙店"])
            #expect(cart.groups[0].items.map(\.quantity) == [3])
            #expect(cart.selectedQuantity == 4)
            #expect(cart.selectedTotal.fen == 3 * 9_900 + 5_000)

            // More than the stock is refused with what is left, and the line keeps its quantity.
            let tooMany = try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(milk.skus[0].id)","quantity":3}"#, token: buyer)
            #expect(tooMany.status == .conflict)
            #expect(tooMany.error?.code == "checkout.insufficient_stock")
            #expect(tooMany.body.string.contains("仅剩 5 件"))
            let milkLine = cart.groups[0].items[0]
            let zero = try await t.send(.PATCH, "/api/v1/me/cart/items/\(milkLine.id)", #"{"quantity":0}"#, token: buyer)
            #expect(zero.status == .unprocessableEntity)
            #expect(zero.error?.details.map(\.field) == ["quantity"])

            // The shop lowers the price; the other shop takes its product off the shelf.
            try await Sku.query(on: t.app.db).filter(\.$id == milk.skus[0].id).set(\.$price, to: 8_900).update()
            #expect(try await t.postJSON("/api/v1/merchant/products/\(cream.id)/shelf", #"{"onShelf":false}"#, token: f.shopBToken).status == .ok)
            cart = try await t.get("/api/v1/me/cart", token: buyer).content.decode(CartDTO.self)
            #expect(cart.groups[0].items[0].priceChange == "down")
            #expect(cart.groups[0].items[0].price.fen == 8_900)
            #expect(cart.groups[0].items[0].priceWhenAdded.fen == 9_900)
            #expect(cart.groups[1].items[0].problem == .unavailable)
            #expect(cart.selectedQuantity == 3)
            #expect(cart.selectedTotal.fen == 3 * 8_900)

            // Unselect everything, then remove a line; a stranger cannot touch the lines.
            let stranger = try await t.registerMember("13700000005")
            #expect(try await t.send(.PATCH, "/api/v1/me/cart/items/\(milkLine.id)", #"{"quantity":1}"#, token: stranger).status == .notFound)
            #expect(try await t.send(.DELETE, "/api/v1/me/cart/items/\(milkLine.id)", token: stranger).status == .notFound)
            cart = try await t.postJSON("/api/v1/me/cart/selection", #"{"selected":false}"#, token: buyer).content.decode(CartDTO.self)
            #expect(cart.selectedTotal.fen == 0)
            cart = try await t.send(.DELETE, "/api/v1/me/cart/items/\(milkLine.id)", token: buyer).content.decode(CartDTO.self)
            #expect(cart.itemCount == 1)
            #expect(try await CartItem.query(on: t.app.db).filter(\.$memberID == (try await t.memberID(phone: "13700000004"))).count() == 1)
        }
    }

    @Test func anOffShelfSkuCannotBeAdded() async throws {
        try await withMallApp { t in
            let f = try await CatalogFixture.make(t)
            let product = try await f.createProduct(f.productJSON("下架奶粉", category: f.milk, onShelf: false))
            let buyer = try await t.registerMember("13700000006")
            let response = try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(product.skus[0].id)"}"#, token: buyer)
            #expect(response.status == .conflict)
            #expect(response.error?.code == "checkout.sku_unavailable")
            let unknown = try await t.postJSON("/api/v1/me/cart/items", #"{"skuId":"\#(UUID())"}"#, token: buyer)
            #expect(unknown.status == .conflict)
            #expect(try await CartItem.query(on: t.app.db).count() == 0)
        }
    }
}
