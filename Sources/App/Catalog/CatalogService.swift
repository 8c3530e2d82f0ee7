import Fluent
import Foundation
import MallCore
import SQLKit
import Vapor

/// Categories, brands and a merchant's products: validated, then saved in one transaction.
struct CatalogService {
    let db: any Database
    let now: Date

    static let maxPriceFen: Int64 = 10_000_000_000 // ¥100,000,000.00
    static let maxStock: Int64 = 100_000_000

    // MARK: categories

    func createCategory(_ input: CategoryInput) async throws -> Category {
        let name = try Self.validName(input.name, field: "name")
        if let parentID = input.parentId, try await Category.find(parentID, on: db) == nil {
            throw CatalogError.invalid([.init("parentId", .init("上级分类不存在", "No such parent category"))])
        }
        let category = Category()
        category.name = name
        category.$parent.id = input.parentId
        category.icon = String((input.icon ?? "").prefix(200))
        category.sortOrder = input.sortOrder ?? 0
        try await category.create(on: db)
        return category
    }

    func updateCategory(_ id: UUID, _ input: CategoryInput) async throws -> Category {
        guard let category = try await Category.find(id, on: db) else { throw APIError.notFound }
        if input.name != nil { category.name = try Self.validName(input.name, field: "name") }
        if let icon = input.icon { category.icon = String(icon.prefix(200)) }
        if let order = input.sortOrder { category.sortOrder = order }
        if input.makeRoot == true {
            category.$parent.id = nil
        } else if let newParent = input.parentId {
            let all = try await Category.query(on: db).all()
            guard all.contains(where: { $0.id == newParent }) else {
                throw CatalogError.invalid([.init("parentId", .init("上级分类不存在", "No such parent category"))])
            }
            let parents = Category.parents(all)
            if CategoryTree.wouldCreateCycle(moving: id, under: newParent, parents: parents) { throw CatalogError.categoryCycle }
            category.$parent.id = newParent
        }
        try await category.save(on: db)
        return category
    }

    func deleteCategory(_ id: UUID) async throws {
        guard let category = try await Category.find(id, on: db) else { throw APIError.notFound }
        let children = try await Category.query(on: db).filter(\.$parent.$id == id).count()
        let products = try await Product.query(on: db).filter(\.$category.$id == id).count()
        guard children == 0, products == 0 else { throw CatalogError.categoryInUse }
        try await category.delete(on: db)
    }

    func createBrand(_ input: BrandInput) async throws -> Brand {
        let name = try Self.validName(input.name, field: "name")
        let brand = Brand()
        brand.name = name
        do {
            try await brand.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw CatalogError.brandExists
        }
        return brand
    }

    // MARK: products

    /// Creates a product for the merchant; `db` must be a transaction.
    func createProduct(_ input: ProductInput, merchantID: UUID) async throws -> Product {
        let product = Product()
        product.$merchant.id = merchantID
        product.salesCount = 0
        product.listedAt = CheckedNumber.int64(now.timeIntervalSince1970 * 1000, rounding: .down) ?? 0
        try await save(input, into: product, isNew: true)
        return product
    }

    /// Replaces a product's fields and SKUs; SKUs keep their ids where the spec combination stays.
    func updateProduct(_ product: Product, _ input: ProductInput) async throws {
        try await save(input, into: product, isNew: false)
    }

    private func save(_ input: ProductInput, into product: Product, isNew: Bool) async throws {
        let valid = try await validate(input, excludingProduct: isNew ? nil : product.id, merchantID: product.$merchant.id)
        product.$category.id = input.categoryId
        product.$brand.id = input.brandId
        product.title = valid.title
        product.subtitle = valid.subtitle
        product.description = String((input.description ?? "").prefix(20_000))
        product.kind = valid.kind.rawValue
        product.validityDays = valid.kind == .service ? input.validityDays : nil
        product.onShelf = input.onShelf ?? false
        product.sortWeight = input.sortWeight ?? 0
        product.specsJSON = String(decoding: try JSONEncoder().encode(valid.matrix.specs), as: UTF8.self)
        product.tags = valid.tags.joined(separator: ",")
        product.minPrice = input.skus.map(\.priceFen).min() ?? 0
        product.totalStock = input.skus.reduce(0) { $0 + $1.stock }
        // The gallery always holds the main image, and a product with pictures always has a main one.
        var gallery = valid.gallery
        if !valid.mainImage.isEmpty, !gallery.contains(valid.mainImage) { gallery.insert(valid.mainImage, at: 0) }
        product.mainImage = valid.mainImage.isEmpty ? gallery.first ?? "" : valid.mainImage
        product.gallery = gallery.joined(separator: ",")
        product.updatedAt = now
        try await product.save(on: db)
        let productID = try product.requireID()

        let existing = isNew ? [] : try await Sku.query(on: db).filter(\.$product.$id == productID).all()
        let codes = input.skus.map { $0.code.trimmingCharacters(in: .whitespaces) }
        let wantedCode = Dictionary(uniqueKeysWithValues: zip(valid.keys, codes))
        var byKey: [String: Sku] = [:]
        for sku in existing {
            if let code = wantedCode[sku.specKey] {
                // Park a changing code first, so that codes may swap between combinations.
                if sku.code != code {
                    sku.code = "~" + UUID().uuidString
                    try await sku.save(on: db)
                }
                byKey[sku.specKey] = sku
            } else {
                try await sku.delete(on: db)
            }
        }
        let oldStock = Dictionary(uniqueKeysWithValues: existing.map { ($0.specKey, $0.stock) })
        for (position, (skuInput, key)) in zip(input.skus, valid.keys).enumerated() {
            let sku = byKey[key] ?? Sku()
            sku.$product.id = productID
            sku.merchantID = product.$merchant.id
            sku.specKey = key
            sku.code = codes[position]
            sku.price = skuInput.priceFen
            sku.memberPrice = skuInput.memberPriceFen
            sku.marketPrice = skuInput.marketPriceFen
            sku.weightGrams = skuInput.weightGrams ?? 0
            sku.stock = skuInput.stock
            sku.lowStockThreshold = skuInput.lowStockThreshold ?? 0
            sku.position = position
            sku.image = skuInput.image ?? ""
            do {
                try await sku.save(on: db)
            } catch let error as any DatabaseError where error.isConstraintFailure {
                throw CatalogError.duplicateSkuCode(field: "skus[\(position)].code", code: sku.code)
            }
            if LowStockAlerts.crosses(old: oldStock[key], new: sku.stock, threshold: sku.lowStockThreshold), sku.lowStockThreshold > 0 {
                try await LowStockAlerts.notify(merchantID: product.$merchant.id, skuCode: sku.code, productTitle: product.title, store: nil,
                                                stock: sku.stock, threshold: sku.lowStockThreshold, on: db, at: now)
            }
        }
        try await reindex(product, codes: codes)
        try await ProductRedeemStore.query(on: db).filter(\.$product.$id == productID).delete()
        for storeID in valid.redeemStoreIDs { try await ProductRedeemStore(productID: productID, storeID: storeID).create(on: db) }
    }

    func setShelf(_ product: Product, onShelf: Bool) async throws {
        product.onShelf = onShelf
        product.updatedAt = now
        try await product.save(on: db)
    }

    /// Rewrites the product's search terms from its title, subtitle, tags and SKU codes.
    private func reindex(_ product: Product, codes: [String]) async throws {
        let productID = try product.requireID()
        try await ProductSearchTerm.query(on: db).filter(\.$product.$id == productID).delete()
        var terms = SearchTerms.index(product.title)
        terms.formUnion(SearchTerms.index(product.subtitle))
        for tag in product.tagList { terms.formUnion(SearchTerms.index(tag)) }
        for code in codes { terms.formUnion(SearchTerms.index(code)) }
        guard !terms.isEmpty else { return }
        let insert = try sqlDatabase(db).insert(into: ProductSearchTerm.schema).columns("id", "term", "product_id")
        for term in terms.sorted() { insert.values(SQLBind(UUID()), SQLBind(term), SQLBind(productID)) }
        try await insert.run()
    }

    struct ValidProduct {
        let title: String
        let subtitle: String
        let kind: Product.Kind
        let tags: [String]
        let matrix: SpecMatrix
        /// The spec key of each input SKU, in input order.
        let keys: [String]
        let mainImage: String
        let gallery: [String]
        let redeemStoreIDs: [UUID]
    }

    /// Checks everything before anything is written and reports every bad field at once.
    /// Image keys, redemption stores and SKU codes are checked against the merchant's own.
    func validate(_ input: ProductInput, excludingProduct: UUID?, merchantID: UUID) async throws -> ValidProduct {
        var issues: [APIError.FieldIssue] = []
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.isFilled(input.title, max: 100) { issues.append(.init("title", .init("商品名称需为 1-100 个字", "The title needs 1–100 characters"))) }
        let subtitle = (input.subtitle ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if !TextLength.fits(input.subtitle ?? "", max: 200) { issues.append(.init("subtitle", .init("副标题最多 200 个字", "The subtitle has at most 200 characters"))) }
        let kind = Product.Kind(rawValue: input.kind ?? "physical")
        if kind == nil { issues.append(.init("kind", .init("商品类型只能是 physical（实物）或 service（服务）", "kind must be physical or service"))) }
        if kind == .service, !(1...3650).contains(input.validityDays ?? 0) {
            issues.append(.init("validityDays", .init("服务类商品需填写 1-3650 天的有效期", "Service products need a validity of 1–3650 days")))
        }
        // Counted as sent; blank tags are dropped after the check.
        let rawTags = input.tags ?? []
        let tags = rawTags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if rawTags.count > 10 || rawTags.contains(where: { !TextLength.fits($0, max: 20) || $0.contains(",") }) {
            issues.append(.init("tags", .init("标签最多 10 个，每个不超过 20 字且不含逗号", "At most 10 tags of up to 20 characters, without commas")))
        }
        if (input.sortWeight ?? 0) < 0 || (input.sortWeight ?? 0) > 1_000_000 {
            issues.append(.init("sortWeight", .init("排序权重需在 0-1000000 之间", "sortWeight must be between 0 and 1,000,000")))
        }

        var matrix = try? SpecMatrix([])
        do {
            matrix = try SpecMatrix(input.specs ?? [])
        } catch {
            issues.append(error.fieldIssue)
        }
        var keys: [String] = []
        if input.skus.isEmpty { issues.append(.init("skus", .init("至少需要一个 SKU", "At least one SKU is needed"))) }
        var seenCodes: [String: Int] = [:]
        for (index, sku) in input.skus.enumerated() {
            let field = "skus[\(index)]"
            let code = sku.code.trimmingCharacters(in: .whitespaces)
            if code.isEmpty || code.count > 64 || !code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
                issues.append(.init("\(field).code", .init("SKU 编码需为 1-64 位字母、数字、-、_ 或 .", "The SKU code needs 1–64 letters, digits, -, _ or .")))
            } else if let first = seenCodes[code] {
                issues.append(.init("\(field).code", .init("与第 \(first + 1) 个 SKU 编码重复：\(code)", "Same code as SKU \(first + 1): \(code)")))
            } else {
                seenCodes[code] = index
            }
            if !(1...Self.maxPriceFen).contains(sku.priceFen) {
                issues.append(.init("\(field).priceFen", .init("价格需大于 0 且不超过 1 亿元", "The price must be above zero and at most ¥100,000,000")))
            }
            if let member = sku.memberPriceFen, !(1...max(sku.priceFen, 1)).contains(member) {
                issues.append(.init("\(field).memberPriceFen", .init("会员价需大于 0 且不高于售价", "The member price must be above zero and not above the price")))
            }
            if let market = sku.marketPriceFen, !(0...Self.maxPriceFen).contains(market) {
                issues.append(.init("\(field).marketPriceFen", .init("划线价无效", "Invalid market price")))
            }
            if !(0...Self.maxStock).contains(sku.stock) {
                issues.append(.init("\(field).stock", .init("库存不能为负数", "Stock cannot be negative")))
            }
            if let threshold = sku.lowStockThreshold, !(0...Self.maxStock).contains(threshold) {
                issues.append(.init("\(field).lowStockThreshold", .init("预警库存不能为负数", "The low-stock threshold cannot be negative")))
            }
            if let weight = sku.weightGrams, !(0...1_000_000).contains(weight) {
                issues.append(.init("\(field).weightGrams", .init("重量需在 0-1000000 克之间", "Weight must be 0–1,000,000 g")))
            }
            if let matrix {
                do { keys.append(try matrix.key(for: sku.specs ?? [:])) } catch { issues.append(.init(field, error.fieldIssue.message)) }
            }
        }
        if let matrix, !input.skus.isEmpty, keys.count == input.skus.count {
            do { try matrix.checkCoverage(input.skus.map { $0.specs ?? [:] }) } catch { issues.append(error.fieldIssue) }
        }
        if try await Category.find(input.categoryId, on: db) == nil {
            issues.append(CatalogError.categoryNotFound.apiError.details[0])
        }
        if let brandID = input.brandId, try await Brand.find(brandID, on: db) == nil {
            issues.append(CatalogError.brandNotFound.apiError.details[0])
        }
        let mainImage = (input.mainImage ?? "").trimmingCharacters(in: .whitespaces)
        let gallery = (input.gallery ?? []).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .reduce(into: [String]()) { list, key in if !list.contains(key) { list.append(key) } }
        if Set(gallery + [mainImage].filter { !$0.isEmpty }).count > 9 { issues.append(.init("gallery", .init("图集最多 9 张图片", "The gallery holds at most 9 images"))) }
        var imageKeys: [(field: String, key: String)] = mainImage.isEmpty ? [] : [("mainImage", mainImage)]
        imageKeys += gallery.enumerated().map { ("gallery[\($0.offset)]", $0.element) }
        for (index, sku) in input.skus.enumerated() where !(sku.image ?? "").isEmpty { imageKeys.append(("skus[\(index)].image", sku.image ?? "")) }
        issues += try await ImageService.requireOwned(imageKeys, merchantID: merchantID, on: db)
        let redeemStoreIDs = Array(Set(input.redeemStoreIds ?? [])).sorted { $0.uuidString < $1.uuidString }
        if !redeemStoreIDs.isEmpty {
            if kind != .service {
                issues.append(.init("redeemStoreIds", .init("只有服务类商品可以设置核销门店", "Only service products have redemption stores")))
            } else {
                let own = try await Store.query(on: db).filter(\.$id ~~ redeemStoreIDs).filter(\.$merchant.$id == merchantID).count()
                if own != redeemStoreIDs.count {
                    issues.append(.init("redeemStoreIds", .init("核销门店需是本店铺的门店", "Redemption stores must be your own stores")))
                }
            }
        }
        guard issues.isEmpty, let matrix, let kind else { throw CatalogError.invalid(issues) }

        // Codes taken by another product of the same merchant; other shops may use the same codes.
        let codes = Array(seenCodes.keys)
        var taken = Sku.query(on: db).filter(\.$merchantID == merchantID).filter(\.$code ~~ codes)
        if let excludingProduct { taken = taken.filter(\.$product.$id != excludingProduct) }
        if let clash = try await taken.first() {
            let index = seenCodes[clash.code] ?? 0
            throw CatalogError.duplicateSkuCode(field: "skus[\(index)].code", code: clash.code)
        }
        return ValidProduct(title: title, subtitle: subtitle, kind: kind, tags: tags, matrix: matrix, keys: keys,
                            mainImage: mainImage, gallery: gallery, redeemStoreIDs: redeemStoreIDs)
    }

    static func validName(_ raw: String?, field: String) throws -> String {
        let name = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard TextLength.isFilled(raw ?? "", max: 50) else {
            throw CatalogError.invalid([.init(field, .init("名称需为 1-50 个字", "The name needs 1–50 characters"))])
        }
        return name
    }
}
