import Fluent
import MallCore
import Vapor

/// The merchant console's product form: fields, specs that generate the SKU table, per-SKU
/// prices and stock, redemption stores, and the product's images. Works without JavaScript:
/// "生成 SKU" posts the form back and the server lays out one row per spec combination.
struct ProductEditorPageController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let products = routes.grouped("merchant", "products")
        products.get("new", use: newForm)
        // A product with many SKUs makes a long form.
        products.on(.POST, "new", body: .collect(maxSize: "1mb"), use: submitNew)
        products.get(":productID", "edit", use: editForm)
        products.on(.POST, ":productID", "edit", body: .collect(maxSize: "1mb"), use: submitEdit)
        products.on(.POST, ":productID", "images", body: .collect(maxSize: ImageAPIController.maxRequest), use: uploadImage)
        products.post(":productID", "images", "remove", use: removeImage)
        products.post(":productID", "images", "main", use: makeMainImage)
        products.post(":productID", "shelf", use: toggleShelf)
        products.get("export.csv", use: exportCSV)
        products.on(.POST, "import", body: .collect(maxSize: "10mb"), use: importCSV)
    }

    // MARK: CSV

    @Sendable func exportCSV(req: Request) async throws -> Response {
        try await CatalogCSV.download(merchantID: try req.merchantScope().merchantID, on: req.db)
    }

    struct ImportResult: Encodable, Sendable {
        struct Problem: Encodable, Sendable { let field: String; let message: String }
        let created: Int
        let problems: [Problem]
        let failed: Bool
    }

    /// All rows or none, as through the API; a refusal lists every bad row.
    @Sendable func importCSV(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        struct Upload: Decodable { let file: File? }
        let bytes = (try? req.content.decode(Upload.self))?.file.map { Array($0.data.readableBytesView) } ?? []
        do {
            let created = try await CatalogCSV.importAll(bytes, merchantID: scope.merchantID, on: req.db, gate: req.application.writeGate, now: req.now)
            return try await req.page("console/import-result", ImportResult(created: created, problems: [], failed: false))
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            let problems = apiError.details.map { ImportResult.Problem(field: $0.field, message: $0.message(req.locale)) }
            return try await req.page("console/import-result", ImportResult(created: 0, problems: problems, failed: true),
                                      status: apiError.status, error: apiError)
        }
    }

    struct Editor: Encodable, Sendable {
        struct Option: Encodable, Sendable { let value: String; let label: String; let selected: Bool }
        struct SpecField: Encodable, Sendable { let number: Int; let name: String; let values: String }
        struct SkuRow: Encodable, Sendable {
            let index: Int
            let key: String
            let label: String
            var code: String
            var price: String
            var memberPrice: String
            var marketPrice: String
            var stock: String
            var threshold: String
            var weight: String
            var image: String
            var imageURL: String
            var error: String
        }
        struct Picture: Encodable, Sendable { let key: String; let url: String; let isMain: Bool }
        var productID: String
        var isNew: Bool
        var title: String
        var subtitle: String
        var description: String
        var categories: [Option]
        var kindIsService: Bool
        var validityDays: String
        var tags: String
        var onShelf: Bool
        var sortWeight: String
        var specs: [SpecField]
        var skus: [SkuRow]
        var hasSkus: Bool
        var stores: [Option]
        var hasStores: Bool
        var mainImage: String
        var gallery: [String]
        var pictures: [Picture]
        var hasPictures: Bool
        var imageSlots: [Option]
    }

    /// The posted form; SKU fields arrive as parallel arrays in row order.
    struct Form: Decodable {
        var action: String?
        var title: String?
        var subtitle: String?
        var description: String?
        var categoryId: String?
        var kind: String?
        var validityDays: String?
        var tags: String?
        var onShelf: String?
        var sortWeight: String?
        var spec1Name: String?, spec1Values: String?
        var spec2Name: String?, spec2Values: String?
        var spec3Name: String?, spec3Values: String?
        var redeemStoreIds: [String]?
        var mainImage: String?
        var gallery: [String]?
        var skuKey: [String]?
        var skuCode: [String]?
        var skuPrice: [String]?
        var skuMemberPrice: [String]?
        var skuMarketPrice: [String]?
        var skuStock: [String]?
        var skuThreshold: [String]?
        var skuWeight: [String]?
        var skuImage: [String]?

        var specFields: [(name: String, values: String)] {
            [(spec1Name, spec1Values), (spec2Name, spec2Values), (spec3Name, spec3Values)].map { ($0.0 ?? "", $0.1 ?? "") }
        }

        /// Reads the URL-encoded body in one pass. The generic form decoder takes time in the
        /// square of a repeated field's count, and the SKU table repeats ten fields per row.
        init(fields: FormFields) throws {
            action = fields.first("action")
            title = fields.first("title")
            subtitle = fields.first("subtitle")
            description = fields.first("description")
            categoryId = fields.first("categoryId")
            kind = fields.first("kind")
            validityDays = fields.first("validityDays")
            tags = fields.first("tags")
            onShelf = fields.first("onShelf")
            sortWeight = fields.first("sortWeight")
            spec1Name = fields.first("spec1Name"); spec1Values = fields.first("spec1Values")
            spec2Name = fields.first("spec2Name"); spec2Values = fields.first("spec2Values")
            spec3Name = fields.first("spec3Name"); spec3Values = fields.first("spec3Values")
            redeemStoreIds = fields.all("redeemStoreIds")
            mainImage = fields.first("mainImage")
            gallery = fields.all("gallery")
            skuKey = fields.all("skuKey")
            skuCode = fields.all("skuCode")
            skuPrice = fields.all("skuPrice")
            skuMemberPrice = fields.all("skuMemberPrice")
            skuMarketPrice = fields.all("skuMarketPrice")
            skuStock = fields.all("skuStock")
            skuThreshold = fields.all("skuThreshold")
            skuWeight = fields.all("skuWeight")
            skuImage = fields.all("skuImage")
            if (skuKey?.count ?? 0) > ProductEditorLimits.maxSkuRows {
                throw CatalogError.invalid([.init("skus", .init("SKU 最多 \(ProductEditorLimits.maxSkuRows) 行", "At most \(ProductEditorLimits.maxSkuRows) SKU rows"))])
            }
        }
    }

    // MARK: pages

    @Sendable func newForm(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        var editor = try await Self.blank(req, scope: scope)
        editor.skus = [Self.emptyRow(index: 0, key: "", label: "")]
        editor.hasSkus = true
        return try await req.page("console/product-editor", editor)
    }

    @Sendable func editForm(req: Request) async throws -> Response {
        let product = try await Self.ownProduct(req)
        return try await req.page("console/product-editor", try await Self.editor(for: product, req, scope: try req.merchantScope(.manageShop)))
    }

    @Sendable func submitNew(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        return try await submit(req, scope: scope, product: nil)
    }

    @Sendable func submitEdit(req: Request) async throws -> Response {
        let product = try await Self.ownProduct(req)
        return try await submit(req, scope: try req.merchantScope(.manageShop), product: product)
    }

    private func submit(_ req: Request, scope: MerchantScope, product: Product?) async throws -> Response {
        let form = try Form(fields: req.formFields)
        var editor = try await Self.blank(req, scope: scope)
        Self.fill(&editor, from: form)
        if let product {
            editor.productID = try product.requireID().uuidString
            editor.isNew = false
            Self.fillPictures(&editor, req: req, skus: try await product.$skus.get(on: req.db))
        }
        let t = PageStrings.dictionary(req.locale)
        // Lay the SKU table out again for the specs as typed, keeping what rows already said.
        if form.action == "generate" {
            do {
                let matrix = try SpecMatrix(Self.specs(from: form))
                editor.skus = Self.rows(for: matrix, keeping: editor.skus, separator: " / ")
                editor.hasSkus = true
                return try await req.page("console/product-editor", editor)
            } catch let problem as SpecMatrix.Problem {
                return try await req.page("console/product-editor", editor, status: .unprocessableEntity,
                                          error: CatalogError.invalid([problem.fieldIssue]).apiError)
            }
        }
        do {
            let input = try Self.input(from: form, editor: editor)
            let now = req.now
            let saved = try await req.writeTransaction { db -> Product in
                let service = CatalogService(db: db, now: now)
                if let product {
                    try await service.updateProduct(product, input)
                    return product
                }
                return try await service.createProduct(input, merchantID: scope.merchantID)
            }
            req.flash(.init("已保存：\(saved.title)", "Saved: \(saved.title)"))
            return req.redirect(to: "/merchant/products/\(try saved.requireID().uuidString)/edit")
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            // Each message goes to the row its field names ("skus[12].priceFen" → row 12), in one pass.
            var messages: [Int: [String]] = [:]
            for detail in apiError.details {
                if let row = FormFields.rowIndex(detail.field, prefix: "skus") { messages[row, default: []].append(detail.message(req.locale)) }
            }
            for index in editor.skus.indices {
                editor.skus[index].error = (messages[index] ?? []).joined(separator: "；")
            }
            return try await req.page("console/product-editor", editor, status: apiError.status, error: apiError)
        }
    }

    // MARK: images

    @Sendable func uploadImage(req: Request) async throws -> Response {
        let scope = try req.merchantScope(.manageShop)
        let product = try await Self.ownProduct(req)
        let productID = try product.requireID()
        struct Upload: Decodable { let file: File?; let slot: String? }
        let upload = (try? req.content.decode(Upload.self)) ?? Upload(file: nil, slot: nil)
        let storage = req.application.imageStorage
        let now = req.now
        do {
            guard let file = upload.file, file.data.readableBytes > 0 else { throw ImageError.rejected(.empty, field: "file") }
            let bytes = Array(file.data.readableBytesView)
            try await req.writeTransaction { db in
                let image = try await ImageService.store(bytes, purpose: .product, merchantID: scope.merchantID, storage: storage, on: db, at: now)
                let slot = upload.slot ?? "gallery"
                if slot.hasPrefix("sku:"), let skuID = UUID(uuidString: String(slot.dropFirst(4))) {
                    guard let sku = try await Sku.query(on: db).filter(\.$id == skuID).filter(\.$product.$id == productID).first() else { throw APIError.notFound }
                    sku.image = image.storageKey
                    try await sku.save(on: db)
                } else {
                    var gallery = product.galleryKeys
                    if gallery.count >= 9 {
                        throw CatalogError.invalid([.init("gallery", .init("图集最多 9 张图片", "The gallery holds at most 9 images"))])
                    }
                    gallery.append(image.storageKey)
                    product.gallery = gallery.joined(separator: ",")
                    if slot == "main" || product.mainImage.isEmpty { product.mainImage = image.storageKey }
                }
                product.updatedAt = now
                try await product.save(on: db)
            }
            req.flash(.init("图片已上传", "Image uploaded"))
        } catch {
            let apiError = ErrorMapping.apiError(for: error)
            guard apiError.status.code < 500 else { throw error }
            req.flash(apiError.message)
        }
        return req.redirect(to: "/merchant/products/\(productID.uuidString)/edit#images")
    }

    @Sendable func removeImage(req: Request) async throws -> Response {
        try await changePictures(req) { product, key in
            let gallery = product.galleryKeys.filter { $0 != key }
            product.gallery = gallery.joined(separator: ",")
            if product.mainImage == key { product.mainImage = gallery.first ?? "" }
            // The file stays: past orders' snapshots may still show it.
        }
    }

    @Sendable func makeMainImage(req: Request) async throws -> Response {
        try await changePictures(req) { product, key in
            if product.galleryKeys.contains(key) { product.mainImage = key }
        }
    }

    /// Applies a change to the product's pictures named by the posted `key`, then shows them again.
    private func changePictures(_ req: Request, _ change: (Product, String) -> Void) async throws -> Response {
        let product = try await Self.ownProduct(req)
        struct Form: Decodable { let key: String? }
        change(product, try req.content.decode(Form.self).key ?? "")
        product.updatedAt = req.now
        try await product.save(on: req.db)
        return req.redirect(to: "/merchant/products/\(try product.requireID().uuidString)/edit#images")
    }

    /// The product in the path, if it is the signed-in merchant's; anyone else's is simply not found.
    static func ownProduct(_ req: Request) async throws -> Product {
        let scope = try req.merchantScope(.manageShop)
        return try await scope.find(Product.self, id: try req.uuidParameter("productID"), on: req.db)
    }

    @Sendable func toggleShelf(req: Request) async throws -> Response {
        let product = try await Self.ownProduct(req)
        try await CatalogService(db: req.db, now: req.now).setShelf(product, onShelf: !product.onShelf)
        req.flash(product.onShelf ? .init("已上架：\(product.title)", "On the shelf: \(product.title)") : .init("已下架：\(product.title)", "Off the shelf: \(product.title)"))
        return req.redirect(to: "/merchant")
    }

    // MARK: building the page

    static func blank(_ req: Request, scope: MerchantScope) async throws -> Editor {
        let t = PageStrings.dictionary(req.locale)
        let categories = try await Category.query(on: req.db).sort(\.$sortOrder).sort(\.$name).all()
        let parents = Dictionary(uniqueKeysWithValues: categories.compactMap { c in c.id.map { ($0, c) } })
        func path(_ category: Category) -> String {
            var names = [category.name]
            var current = category.$parent.id.flatMap { parents[$0] }
            while let parent = current, names.count < 10 {
                names.insert(parent.name, at: 0)
                current = parent.$parent.id.flatMap { parents[$0] }
            }
            return names.joined(separator: " › ")
        }
        let stores = try await scope.query(Store.self, on: req.db).sort(\.$name).all()
        return Editor(
            productID: "", isNew: true, title: "", subtitle: "", description: "",
            categories: categories.map { .init(value: $0.id?.uuidString ?? "", label: path($0), selected: false) }.sorted { $0.label < $1.label },
            kindIsService: false, validityDays: "", tags: "", onShelf: false, sortWeight: "0",
            specs: (1...SpecMatrix.maxSpecs).map { .init(number: $0, name: "", values: "") },
            skus: [], hasSkus: false,
            stores: stores.map { .init(value: $0.id?.uuidString ?? "", label: $0.name, selected: false) }, hasStores: !stores.isEmpty,
            mainImage: "", gallery: [], pictures: [], hasPictures: false,
            imageSlots: productSlots(t))
    }

    static func editor(for product: Product, _ req: Request, scope: MerchantScope) async throws -> Editor {
        var editor = try await blank(req, scope: scope)
        let productID = try product.requireID()
        let skus = try await product.$skus.get(on: req.db).sorted { $0.position < $1.position }
        let redeem = Set(try await ProductRedeemStore.query(on: req.db).filter(\.$product.$id == productID).all().map { $0.$store.id.uuidString })
        let t = PageStrings.dictionary(req.locale)
        editor.productID = productID.uuidString
        editor.isNew = false
        editor.title = product.title
        editor.subtitle = product.subtitle
        editor.description = product.description
        editor.categories = editor.categories.map { .init(value: $0.value, label: $0.label, selected: $0.value == product.$category.id.uuidString) }
        editor.kindIsService = product.kind == Product.Kind.service.rawValue
        editor.validityDays = product.validityDays.map(String.init) ?? ""
        editor.tags = product.tagList.joined(separator: ", ")
        editor.onShelf = product.onShelf
        editor.sortWeight = String(product.sortWeight)
        for (index, spec) in product.specs.enumerated() where index < editor.specs.count {
            editor.specs[index] = .init(number: index + 1, name: spec.name, values: spec.values.joined(separator: ", "))
        }
        editor.skus = skus.enumerated().map { index, sku in
            let label = product.specs.compactMap { sku.specValues[$0.name] }.joined(separator: " / ")
            return Editor.SkuRow(index: index, key: sku.specKey, label: label, code: sku.code, price: Money(fen: sku.price).decimalString,
                                 memberPrice: sku.memberPrice.map { Money(fen: $0).decimalString } ?? "",
                                 marketPrice: sku.marketPrice.map { Money(fen: $0).decimalString } ?? "",
                                 stock: String(sku.stock), threshold: String(sku.lowStockThreshold), weight: String(sku.weightGrams),
                                 image: sku.image, imageURL: sku.image.isEmpty ? "" : req.application.imageStorage.url(for: sku.image), error: "")
        }
        editor.hasSkus = !skus.isEmpty
        editor.stores = editor.stores.map { .init(value: $0.value, label: $0.label, selected: redeem.contains($0.value)) }
        editor.mainImage = product.mainImage
        editor.gallery = product.galleryKeys
        fillPictures(&editor, req: req, skus: skus)
        return editor
    }

    /// Where an upload can go besides a SKU: the gallery (the default) or straight to the main image.
    static func productSlots(_ t: [String: String]) -> [Editor.Option] {
        [.init(value: "gallery", label: t["image_slot_gallery"] ?? "gallery", selected: true),
         .init(value: "main", label: t["image_slot_main"] ?? "main", selected: false)]
    }

    static func fillPictures(_ editor: inout Editor, req: Request, skus: [Sku]) {
        let storage = req.application.imageStorage
        let t = PageStrings.dictionary(req.locale)
        editor.pictures = editor.gallery.map { .init(key: $0, url: storage.url(for: $0), isMain: $0 == editor.mainImage) }
        editor.hasPictures = !editor.pictures.isEmpty
        editor.imageSlots = productSlots(t) + skus.sorted { $0.position < $1.position }.compactMap { sku in
            sku.id.map { .init(value: "sku:\($0.uuidString)", label: "\(t["image_slot_sku"] ?? "SKU") \(sku.code)", selected: false) }
        }
    }

    /// Echoes the posted form into the editor so a refused save shows what was typed.
    static func fill(_ editor: inout Editor, from form: Form) {
        editor.title = form.title ?? ""
        editor.subtitle = form.subtitle ?? ""
        editor.description = form.description ?? ""
        editor.categories = editor.categories.map { .init(value: $0.value, label: $0.label, selected: $0.value == form.categoryId) }
        editor.kindIsService = form.kind == Product.Kind.service.rawValue
        editor.validityDays = form.validityDays ?? ""
        editor.tags = form.tags ?? ""
        editor.onShelf = form.onShelf != nil
        editor.sortWeight = form.sortWeight ?? "0"
        editor.specs = form.specFields.enumerated().map { .init(number: $0.offset + 1, name: $0.element.name, values: $0.element.values) }
        let chosen = Set(form.redeemStoreIds ?? [])
        editor.stores = editor.stores.map { .init(value: $0.value, label: $0.label, selected: chosen.contains($0.value)) }
        editor.mainImage = ImageKey.isValid(form.mainImage ?? "") ? form.mainImage ?? "" : ""
        editor.gallery = (form.gallery ?? []).filter(ImageKey.isValid)
        let keys = form.skuKey ?? []
        func at(_ values: [String]?, _ index: Int) -> String { values.flatMap { index < $0.count ? $0[index] : nil } ?? "" }
        editor.skus = keys.indices.map { index in
            let key = keys[index]
            let label = key.split(separator: ";").compactMap { $0.split(separator: ":", maxSplits: 1).last.map(String.init) }.joined(separator: " / ")
            let image = at(form.skuImage, index)
            return Editor.SkuRow(index: index, key: key, label: label, code: at(form.skuCode, index), price: at(form.skuPrice, index),
                                 memberPrice: at(form.skuMemberPrice, index), marketPrice: at(form.skuMarketPrice, index),
                                 stock: at(form.skuStock, index), threshold: at(form.skuThreshold, index), weight: at(form.skuWeight, index),
                                 image: ImageKey.isValid(image) ? image : "", imageURL: "", error: "")
        }
        editor.hasSkus = !editor.skus.isEmpty
    }

    static func emptyRow(index: Int, key: String, label: String) -> Editor.SkuRow {
        Editor.SkuRow(index: index, key: key, label: label, code: "", price: "", memberPrice: "", marketPrice: "", stock: "0",
                      threshold: "0", weight: "0", image: "", imageURL: "", error: "")
    }

    /// One row per combination; a combination that already had a row keeps its values.
    static func rows(for matrix: SpecMatrix, keeping old: [Editor.SkuRow], separator: String) -> [Editor.SkuRow] {
        let previous = Dictionary(old.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let template = old.first
        return matrix.combinations.enumerated().map { index, combination in
            let key = (try? matrix.key(for: combination)) ?? ""
            let label = matrix.specs.compactMap { combination[$0.name] }.joined(separator: separator)
            if var row = previous[key] {
                row = Editor.SkuRow(index: index, key: key, label: label, code: row.code, price: row.price, memberPrice: row.memberPrice,
                                    marketPrice: row.marketPrice, stock: row.stock, threshold: row.threshold, weight: row.weight,
                                    image: row.image, imageURL: row.imageURL, error: "")
                return row
            }
            // New rows start from the first row's price so a merchant types less.
            var row = emptyRow(index: index, key: key, label: label)
            row.price = template?.price ?? ""
            row.marketPrice = template?.marketPrice ?? ""
            row.threshold = template?.threshold ?? "0"
            row.weight = template?.weight ?? "0"
            return row
        }
    }

    /// Spec values may be separated by commas (half- or full-width), 、 or semicolons.
    static func specs(from form: Form) -> [SpecMatrix.Spec] {
        form.specFields.compactMap { field in
            let name = field.name.trimmingCharacters(in: .whitespaces)
            let values = field.values.split(whereSeparator: { ",，、;；".contains($0) })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return name.isEmpty && values.isEmpty ? nil : SpecMatrix.Spec(name: name, values: values)
        }
    }

    /// Turns the form into the same input the API takes; unreadable numbers are reported per field.
    static func input(from form: Form, editor: Editor) throws -> ProductInput {
        var issues: [APIError.FieldIssue] = []
        func money(_ text: String, _ field: String, required: Bool) -> Int64? {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                if required { issues.append(.init(field, .init("请填写价格", "Enter a price"))) }
                return nil
            }
            do { return try Money.parse(trimmed).fen } catch {
                issues.append(.init(field, .init("价格格式不正确：\(trimmed)（例如 99.90）", "Not a price: \(trimmed) (e.g. 99.90)")))
                return nil
            }
        }
        func integer(_ text: String, _ field: String, _ label: LocalizedText) -> Int64? {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return nil }
            guard let value = Int64(trimmed) else {
                issues.append(.init(field, .init("\(label.zh)需为整数：\(trimmed)", "\(label.en) must be a whole number: \(trimmed)")))
                return nil
            }
            return value
        }
        guard let categoryID = UUID(uuidString: form.categoryId ?? "") else {
            throw CatalogError.invalid([.init("categoryId", .init("请选择分类", "Choose a category"))])
        }
        let specs = specs(from: form)
        var skus: [SkuInput] = []
        for row in editor.skus {
            let field = "skus[\(row.index)]"
            let price = money(row.price, "\(field).priceFen", required: true)
            let member = money(row.memberPrice, "\(field).memberPriceFen", required: false)
            let market = money(row.marketPrice, "\(field).marketPriceFen", required: false)
            let stock = integer(row.stock, "\(field).stock", .init("库存", "Stock")) ?? 0
            let threshold = integer(row.threshold, "\(field).lowStockThreshold", .init("预警库存", "Low-stock threshold"))
            let weight = integer(row.weight, "\(field).weightGrams", .init("重量", "Weight")).map { Int(clamping: $0) }
            let combination = Sku.parseSpecKey(row.key)
            skus.append(SkuInput(specs: combination.isEmpty ? nil : combination, code: row.code, priceFen: price ?? 0, memberPriceFen: member,
                                 marketPriceFen: market, weightGrams: weight, stock: stock, lowStockThreshold: threshold,
                                 image: row.image.isEmpty ? nil : row.image))
        }
        let validity = integer(form.validityDays ?? "", "validityDays", .init("有效期", "Validity")).map { Int(clamping: $0) }
        let sortWeight = integer(form.sortWeight ?? "", "sortWeight", .init("排序权重", "Sort weight"))
        guard issues.isEmpty else { throw CatalogError.invalid(issues) }
        var input = ProductInput(
            title: form.title ?? "", subtitle: form.subtitle, description: form.description, categoryId: categoryID, brandId: nil,
            kind: form.kind ?? Product.Kind.physical.rawValue, validityDays: validity,
            tags: (form.tags ?? "").split(whereSeparator: { ",，、".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) },
            specs: specs, skus: skus, onShelf: form.onShelf != nil, sortWeight: sortWeight)
        input.mainImage = editor.mainImage
        input.gallery = editor.gallery
        input.redeemStoreIds = (form.redeemStoreIds ?? []).compactMap(UUID.init(uuidString:))
        return input
    }
}

extension Sku {
    /// "颜色:红;尺码:M" → ["颜色": "红", "尺码": "M"].
    static func parseSpecKey(_ key: String) -> [String: String] {
        Dictionary(key.split(separator: ";").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: ":", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { first, _ in first })
    }
}
