import Fluent
import Foundation
import MallCore
import Vapor

/// Bulk import and export of a merchant's products as CSV: one row per SKU, rows of one product
/// together under the same 商品编号. An import checks every row first and then either creates
/// every product in one transaction or creates nothing and lists every bad row.
enum CatalogCSV {
    enum Column: String, CaseIterable {
        case ref = "商品编号", title = "商品名称", subtitle = "副标题", category = "分类", kind = "类型", validityDays = "有效期天数"
        case tags = "标签", onShelf = "上架", sortWeight = "排序权重", specs = "规格", code = "SKU编码", price = "售价"
        case memberPrice = "会员价", marketPrice = "划线价", weight = "重量克", stock = "库存", lowStock = "预警库存", description = "商品描述"

        /// The English header accepted in place of the Chinese one.
        var alias: String {
            switch self {
            case .ref: "product_ref"
            case .title: "title"
            case .subtitle: "subtitle"
            case .category: "category"
            case .kind: "kind"
            case .validityDays: "validity_days"
            case .tags: "tags"
            case .onShelf: "on_shelf"
            case .sortWeight: "sort_weight"
            case .specs: "specs"
            case .code: "sku_code"
            case .price: "price"
            case .memberPrice: "member_price"
            case .marketPrice: "market_price"
            case .weight: "weight_grams"
            case .stock: "stock"
            case .lowStock: "low_stock_threshold"
            case .description: "description"
            }
        }

        static let required: [Column] = [.ref, .title, .category, .code, .price, .stock]
    }

    static let maxRows = 20_000

    // MARK: export

    /// Products read per page of the export; each page is one products query and one SKU query.
    static let exportPageSize = 500

    /// The merchant's catalog as a download named products.csv, written a page of products at a
    /// time: memory stays flat and the time grows with the catalog, not its square.
    static func download(merchantID: UUID, on db: any Database) async throws -> Response {
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        headers.contentDisposition = .init(.attachment, filename: "products.csv")
        let body = Response.Body(asyncStream: { writer in
            do {
                try await writer.write(.buffer(ByteBuffer(string: CSV.byteOrderMark + CSV.line(Column.allCases.map(\.rawValue)))))
                try await forEachPage(merchantID: merchantID, on: db) { lines in
                    try await writer.write(.buffer(ByteBuffer(string: lines)))
                }
                try await writer.write(.end)
            } catch {
                try? await writer.write(.error(error))
            }
        })
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The whole file as one string (for tests and small catalogs); `products` stops after that many.
    static func export(merchantID: UUID, on db: any Database, products: Int? = nil) async throws -> String {
        var text = CSV.byteOrderMark + CSV.line(Column.allCases.map(\.rawValue))
        try await forEachPage(merchantID: merchantID, on: db, upTo: products) { text += $0 }
        return text
    }

    private static func forEachPage(merchantID: UUID, on db: any Database, upTo maxProducts: Int? = nil,
                                    _ emit: (String) async throws -> Void) async throws {
        var written = 0
        let paths = try await categoryPaths(on: db)
        var after: (listedAt: Int64, id: UUID)?
        while true {
            var query = Product.query(on: db).filter(\.$merchant.$id == merchantID)
            if let cursor = after {
                query = query.group(.or) { or in
                    or.filter(\.$listedAt > cursor.listedAt)
                    or.group(.and) { and in and.filter(\.$listedAt == cursor.listedAt).filter(\.$id > cursor.id) }
                }
            }
            let pageSize = min(exportPageSize, (maxProducts ?? .max) - written)
            guard pageSize > 0 else { return }
            let products = try await query.sort(\.$listedAt).sort(\.$id).limit(pageSize).all()
            written += products.count
            guard let last = products.last else { return }
            let ids = try products.map { try $0.requireID() }
            var skusByProduct: [UUID: [Sku]] = [:]
            for sku in try await Sku.query(on: db).filter(\.$product.$id ~~ ids).sort(\.$position).all() {
                skusByProduct[sku.$product.id, default: []].append(sku)
            }
            var lines = ""
            for product in products {
                for sku in skusByProduct[try product.requireID()] ?? [] {
                    lines += CSV.line(row(product, sku, paths: paths))
                }
            }
            try await emit(lines)
            after = (last.listedAt, try last.requireID())
            if products.count < pageSize { return }
        }
    }

    private static func row(_ product: Product, _ sku: Sku, paths: [UUID: String]) -> [String] {
        let values = sku.specValues
        return Column.allCases.map { column -> String in
            switch column {
            case .ref: product.id?.uuidString ?? ""
            case .title: product.title
            case .subtitle: product.subtitle
            case .category: paths[product.$category.id] ?? ""
            case .kind: product.kind == Product.Kind.service.rawValue ? "服务" : "实物"
            case .validityDays: product.validityDays.map(String.init) ?? ""
            case .tags: product.tagList.joined(separator: "|")
            case .onShelf: product.onShelf ? "是" : "否"
            case .sortWeight: String(product.sortWeight)
            case .specs: product.specs.map(\.name).map { "\($0)=\(values[$0] ?? "")" }.joined(separator: ";")
            case .code: sku.code
            case .price: Money(fen: sku.price).decimalString
            case .memberPrice: sku.memberPrice.map { Money(fen: $0).decimalString } ?? ""
            case .marketPrice: sku.marketPrice.map { Money(fen: $0).decimalString } ?? ""
            case .weight: String(sku.weightGrams)
            case .stock: String(sku.stock)
            case .lowStock: String(sku.lowStockThreshold)
            case .description: product.description
            }
        }
    }

    // MARK: import

    /// Checks every row, then creates every product in one transaction, or none; returns how many.
    /// The file is checked before the write lock is taken, so readers and other writers only
    /// wait for the inserts themselves.
    static func importAll(_ bytes: [UInt8], merchantID: UUID, on db: any Database, gate: WriteGate, now: Date) async throws -> Int {
        let inputs = try await plan(bytes, merchantID: merchantID, on: db)
        return try await gate.transaction(on: db) { db in
            let service = CatalogService(db: db, now: now)
            for input in inputs { _ = try await service.createProduct(input, merchantID: merchantID) }
            return inputs.count
        }
    }

    struct RowIssue: Error {
        let line: Int
        let text: LocalizedText
    }

    /// Parses and checks the file; returns the products to create or throws every problem found.
    static func plan(_ bytes: [UInt8], merchantID: UUID, on db: any Database) async throws -> [ProductInput] {
        let text: String
        do { text = try CSV.decode(bytes) } catch {
            throw CatalogError.invalid([.init("file", .init("文件不是 UTF-8 编码，请在 Excel 中另存为「CSV UTF-8」", "The file is not UTF-8; save it from Excel as \"CSV UTF-8\""))])
        }
        let rows: [(line: Int, fields: [String])]
        do { rows = try CSV.parse(text) } catch {
            throw CatalogError.invalid([.init("file", .init("文件格式不正确：引号没有闭合", "The file is malformed: a quote is not closed"))])
        }
        guard let header = rows.first else {
            throw CatalogError.invalid([.init("file", .init("文件是空的", "The file is empty"))])
        }
        guard rows.count - 1 <= maxRows else {
            throw CatalogError.invalid([.init("file", .init("一次最多导入 \(maxRows) 行", "At most \(maxRows) rows per import"))])
        }
        var position: [Column: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if let column = Column.allCases.first(where: { $0.rawValue == trimmed || $0.alias == trimmed.lowercased() }) { position[column] = index }
        }
        let missing = Column.required.filter { position[$0] == nil }
        guard missing.isEmpty else {
            let names = missing.map(\.rawValue).joined(separator: "、")
            throw CatalogError.invalid([.init("header", .init("缺少列：\(names)", "Missing columns: \(missing.map(\.alias).joined(separator: ", "))"))])
        }

        let categories = try await categoryPaths(on: db)
        let categoryByPath = Dictionary(categories.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        var issues: [RowIssue] = []
        var groups: [(ref: String, lines: [Int], rows: [[String]])] = []
        var seenRefs = Set<String>()
        for row in rows.dropFirst() {
            func value(_ column: Column) -> String {
                guard let index = position[column], index < row.fields.count else { return "" }
                return CSV.unquoteFormula(row.fields[index].trimmingCharacters(in: .whitespaces))
            }
            let ref = value(.ref)
            if ref.isEmpty {
                issues.append(.init(line: row.line, text: .init("商品编号不能为空", "The product reference is empty")))
                continue
            }
            if groups.last?.ref == ref {
                groups[groups.count - 1].lines.append(row.line)
                groups[groups.count - 1].rows.append(Column.allCases.map(value))
            } else if seenRefs.contains(ref) {
                issues.append(.init(line: row.line, text: .init("商品编号 \(ref) 的行需要连在一起", "Rows of product \(ref) must be next to each other")))
            } else {
                seenRefs.insert(ref)
                groups.append((ref, [row.line], [Column.allCases.map(value)]))
            }
        }

        var inputs: [ProductInput] = []
        var codesInFile: [String: Int] = [:]
        let service = CatalogService(db: db, now: Date())
        for group in groups {
            func cell(_ row: [String], _ column: Column) -> String { row[Column.allCases.firstIndex(of: column) ?? 0] }
            let first = group.rows[0]
            let firstLine = group.lines[0]
            var groupIssues: [RowIssue] = []
            let categoryPath = cell(first, .category)
            let categoryID = categoryByPath[categoryPath]
            if categoryID == nil { groupIssues.append(.init(line: firstLine, text: .init("分类不存在：\(categoryPath)", "No such category: \(categoryPath)"))) }
            let kindText = cell(first, .kind)
            let kind = ["", "实物", "physical"].contains(kindText) ? "physical" : (["服务", "service"].contains(kindText) ? "service" : kindText)
            let onShelfText = cell(first, .onShelf).lowercased()
            let onShelf: Bool? = ["", "否", "no", "0", "false"].contains(onShelfText) ? false : (["是", "yes", "1", "true"].contains(onShelfText) ? true : nil)
            if onShelf == nil { groupIssues.append(.init(line: firstLine, text: .init("上架只能填「是」或「否」", "on_shelf must be yes or no"))) }
            let validityDays = Int(cell(first, .validityDays))
            if !cell(first, .validityDays).isEmpty, validityDays == nil {
                groupIssues.append(.init(line: firstLine, text: .init("有效期天数必须是整数", "validity_days must be a whole number")))
            }
            let sortWeight = cell(first, .sortWeight).isEmpty ? 0 : Int64(cell(first, .sortWeight))
            if sortWeight == nil { groupIssues.append(.init(line: firstLine, text: .init("排序权重必须是整数", "sort_weight must be a whole number"))) }

            var specNames: [String] = []
            var specValues: [String: [String]] = [:]
            var skus: [SkuInput] = []
            for (row, line) in zip(group.rows, group.lines) {
                var combination: [String: String] = [:]
                for pair in cell(row, .specs).split(separator: ";") where !pair.trimmingCharacters(in: .whitespaces).isEmpty {
                    let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                        groupIssues.append(.init(line: line, text: .init("规格需写成「颜色=红;尺码=M」", "Write specs like 颜色=红;尺码=M")))
                        continue
                    }
                    if !specNames.contains(parts[0]) { specNames.append(parts[0]) }
                    if !(specValues[parts[0]] ?? []).contains(parts[1]) { specValues[parts[0], default: []].append(parts[1]) }
                    combination[parts[0]] = parts[1]
                }
                func money(_ column: Column, required: Bool) -> Int64? {
                    let text = cell(row, column)
                    if text.isEmpty {
                        if required { groupIssues.append(.init(line: line, text: .init("\(column.rawValue)不能为空", "\(column.alias) is empty"))) }
                        return nil
                    }
                    do { return try Money.parse(text).fen } catch {
                        groupIssues.append(.init(line: line, text: .init("\(column.rawValue)格式不正确：\(text)（例如 99.90）", "\(column.alias) is not an amount: \(text) (e.g. 99.90)")))
                        return nil
                    }
                }
                func whole(_ column: Column, required: Bool) -> Int64? {
                    let text = cell(row, column)
                    if text.isEmpty {
                        if required { groupIssues.append(.init(line: line, text: .init("\(column.rawValue)不能为空", "\(column.alias) is empty"))) }
                        return nil
                    }
                    guard let number = Int64(text) else {
                        groupIssues.append(.init(line: line, text: .init("\(column.rawValue)必须是整数：\(text)", "\(column.alias) must be a whole number: \(text)")))
                        return nil
                    }
                    if number < 0 { groupIssues.append(.init(line: line, text: .init("\(column.rawValue)不能为负数：\(text)", "\(column.alias) cannot be negative: \(text)"))) }
                    return number
                }
                let code = cell(row, .code)
                if let earlier = codesInFile[code] {
                    groupIssues.append(.init(line: line, text: .init("SKU编码 \(code) 与第 \(earlier) 行重复", "SKU code \(code) repeats line \(earlier)")))
                } else if !code.isEmpty {
                    codesInFile[code] = line
                }
                let price = money(.price, required: true)
                let stock = whole(.stock, required: true)
                let weight = whole(.weight, required: false)
                skus.append(SkuInput(specs: combination.isEmpty ? nil : combination, code: code, priceFen: price ?? 1,
                                     memberPriceFen: money(.memberPrice, required: false), marketPriceFen: money(.marketPrice, required: false),
                                     weightGrams: weight.map { Int(clamping: $0) }, stock: max(stock ?? 0, 0),
                                     lowStockThreshold: whole(.lowStock, required: false)))
            }
            if !groupIssues.isEmpty || categoryID == nil {
                issues += groupIssues
                continue
            }
            let input = ProductInput(
                title: cell(first, .title), subtitle: cell(first, .subtitle), description: cell(first, .description),
                categoryId: categoryID ?? UUID(), brandId: nil, kind: kind, validityDays: validityDays,
                tags: cell(first, .tags).split(separator: "|").map(String.init),
                specs: specNames.map { SpecMatrix.Spec(name: $0, values: specValues[$0] ?? []) }, skus: skus,
                onShelf: onShelf, sortWeight: sortWeight)
            do {
                _ = try await service.validate(input, excludingProduct: nil, merchantID: merchantID)
                inputs.append(input)
            } catch let error as CatalogError {
                for detail in error.apiError.details {
                    issues.append(.init(line: Self.line(for: detail.field, in: group.lines), text: detail.message))
                }
            }
        }
        guard issues.isEmpty else {
            var seen = Set<String>()
            let unique = issues.filter { seen.insert("\($0.line)|\($0.text.zh)").inserted }
            let sorted = unique.sorted { $0.line < $1.line }.prefix(200)
            throw CatalogError.invalid(sorted.map { .init("line \($0.line)", .init("第 \($0.line) 行：\($0.text.zh)", "Line \($0.line): \($0.text.en)")) })
        }
        return inputs
    }

    /// The line of `skus[i]…` fields, else the product's first line.
    private static func line(for field: String, in lines: [Int]) -> Int {
        if field.hasPrefix("skus["), let end = field.firstIndex(of: "]"), let index = Int(field[field.index(field.startIndex, offsetBy: 5)..<end]), index < lines.count {
            return lines[index]
        }
        return lines[0]
    }

    /// "母婴/奶粉" for every category.
    static func categoryPaths(on db: any Database) async throws -> [UUID: String] {
        let all = try await Category.query(on: db).all()
        let byID = Dictionary(uniqueKeysWithValues: all.compactMap { c in c.id.map { ($0, c) } })
        var paths: [UUID: String] = [:]
        for category in all {
            guard let id = category.id else { continue }
            var names = [category.name]
            var parent = category.$parent.id
            var guardSteps = 0
            while let parentID = parent, let node = byID[parentID], guardSteps < all.count {
                names.insert(node.name, at: 0)
                parent = node.$parent.id
                guardSteps += 1
            }
            paths[id] = names.joined(separator: "/")
        }
        return paths
    }
}
