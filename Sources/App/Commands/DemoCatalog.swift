import Fluent
import Foundation
import MallCore
import Vapor

/// The demo catalog: eight category trees and forty products across both shops.
enum DemoCatalog {
    struct Item {
        let title: String
        let subtitle: String
        let category: String
        let selfOperated: Bool
        let priceFen: Int64
        let specs: [SpecMatrix.Spec]
        let tags: [String]
        var serviceDays: Int? = nil
    }

    static let categories: [(root: String, icon: String, children: [String])] = [
        ("母婴", "🍼", ["奶粉", "纸尿裤", "童装"]),
        ("美妆", "💄", ["面膜", "口红", "护肤"]),
        ("生鲜", "🥬", ["水果", "蔬菜"]),
        ("食品", "🍪", ["零食", "茶饮"]),
        ("服饰", "👗", ["女装", "男装"]),
        ("家居", "🏠", ["厨具", "收纳"]),
        ("数码", "📱", ["耳机", "充电"]),
        ("课程与服务", "🎓", ["早教", "健身"]),
    ]

    static let sizes = SpecMatrix.Spec(name: "尺码", values: ["59", "66", "73"])
    static let colours = SpecMatrix.Spec(name: "颜色", values: ["粉色", "蓝色"])

    static let items: [Item] = [
        Item(title: "飞鹤星飞帆婴儿奶粉3段 700g", subtitle: "1-3岁宝宝 国产好奶粉", category: "奶粉", selfOperated: false, priceFen: 25_800, specs: [.init(name: "规格", values: ["单罐", "两罐装"])], tags: ["热卖"]),
        Item(title: "佳贝艾特羊奶粉1段 800g", subtitle: "荷兰原装进口", category: "奶粉", selfOperated: false, priceFen: 32_800, specs: [], tags: ["进口"]),
        Item(title: "a2 至初有机奶粉2段", subtitle: "A2蛋白 有机认证", category: "奶粉", selfOperated: false, priceFen: 29_900, specs: [], tags: ["有机"]),
        Item(title: "帮宝适一级帮纸尿裤 L码 52片", subtitle: "日夜干爽", category: "纸尿裤", selfOperated: false, priceFen: 13_900, specs: [.init(name: "尺码", values: ["M", "L", "XL"])], tags: []),
        Item(title: "花王妙而舒拉拉裤 XL 38片", subtitle: "日本进口", category: "纸尿裤", selfOperated: false, priceFen: 11_900, specs: [], tags: ["进口"]),
        Item(title: "纯棉婴儿连体衣 A类面料", subtitle: "新生儿四季款", category: "童装", selfOperated: false, priceFen: 5_990, specs: [colours, sizes], tags: ["新品", "纯棉"]),
        Item(title: "宝宝防踢睡袋 恒温款", subtitle: "春秋适用", category: "童装", selfOperated: false, priceFen: 12_900, specs: [colours], tags: []),
        Item(title: "儿童摇粒绒外套", subtitle: "轻薄保暖", category: "童装", selfOperated: false, priceFen: 8_900, specs: [colours, .init(name: "尺码", values: ["90", "100", "110"])], tags: []),
        Item(title: "玻尿酸补水面膜 10片", subtitle: "深层补水 温和不刺激", category: "面膜", selfOperated: true, priceFen: 9_900, specs: [], tags: ["补水"]),
        Item(title: "清洁泥膜 100g", subtitle: "收缩毛孔", category: "面膜", selfOperated: true, priceFen: 6_800, specs: [], tags: []),
        Item(title: "丝绒哑光口红", subtitle: "显白不拔干", category: "口红", selfOperated: true, priceFen: 15_900, specs: [.init(name: "色号", values: ["#01 正红", "#02 豆沙", "#03 枫叶"])], tags: ["新品"]),
        Item(title: "润唇膏 无色滋润", subtitle: "秋冬必备", category: "口红", selfOperated: true, priceFen: 3_900, specs: [], tags: []),
        Item(title: "烟酰胺精华液 30ml", subtitle: "提亮肤色", category: "护肤", selfOperated: true, priceFen: 19_900, specs: [], tags: ["热卖"]),
        Item(title: "温和氨基酸洗面奶", subtitle: "敏感肌可用", category: "护肤", selfOperated: true, priceFen: 5_900, specs: [], tags: []),
        Item(title: "赣南脐橙 5斤装", subtitle: "产地直发 现摘现发", category: "水果", selfOperated: true, priceFen: 3_990, specs: [.init(name: "规格", values: ["5斤", "10斤"])], tags: ["产地直发"]),
        Item(title: "烟台红富士苹果", subtitle: "脆甜多汁", category: "水果", selfOperated: true, priceFen: 4_990, specs: [], tags: []),
        Item(title: "海南贵妃芒 3斤", subtitle: "香甜软糯", category: "水果", selfOperated: true, priceFen: 3_590, specs: [], tags: []),
        Item(title: "有机小番茄 500g", subtitle: "农场直供", category: "蔬菜", selfOperated: true, priceFen: 1_990, specs: [], tags: ["有机"]),
        Item(title: "云南高山娃娃菜", subtitle: "当季新鲜", category: "蔬菜", selfOperated: true, priceFen: 1_290, specs: [], tags: []),
        Item(title: "每日坚果 30袋", subtitle: "混合果仁", category: "零食", selfOperated: true, priceFen: 8_900, specs: [], tags: ["热卖"]),
        Item(title: "手工牛轧糖 500g", subtitle: "奶香浓郁", category: "零食", selfOperated: true, priceFen: 3_900, specs: [.init(name: "口味", values: ["原味", "抹茶", "蔓越莓"])], tags: []),
        Item(title: "婴儿米饼 无添加", subtitle: "宝宝辅食零食", category: "零食", selfOperated: false, priceFen: 2_900, specs: [], tags: []),
        Item(title: "西湖龙井 明前特级 250g", subtitle: "今年新茶", category: "茶饮", selfOperated: true, priceFen: 39_800, specs: [], tags: ["新品"]),
        Item(title: "云南古树普洱茶饼", subtitle: "357g 生茶", category: "茶饮", selfOperated: true, priceFen: 26_800, specs: [], tags: []),
        Item(title: "法式碎花连衣裙", subtitle: "春夏新款", category: "女装", selfOperated: true, priceFen: 19_900, specs: [.init(name: "颜色", values: ["白色", "黄色"]), .init(name: "尺码", values: ["S", "M", "L"])], tags: ["新品"]),
        Item(title: "羊毛针织开衫", subtitle: "软糯亲肤", category: "女装", selfOperated: true, priceFen: 29_900, specs: [.init(name: "尺码", values: ["S", "M", "L"])], tags: []),
        Item(title: "男士纯棉圆领T恤", subtitle: "三件装", category: "男装", selfOperated: true, priceFen: 9_900, specs: [.init(name: "尺码", values: ["M", "L", "XL", "XXL"])], tags: []),
        Item(title: "男士休闲工装裤", subtitle: "宽松直筒", category: "男装", selfOperated: true, priceFen: 15_900, specs: [], tags: []),
        Item(title: "不粘锅炒锅 32cm", subtitle: "少油烟 电磁炉通用", category: "厨具", selfOperated: true, priceFen: 16_900, specs: [], tags: []),
        Item(title: "宝宝辅食锅 多功能", subtitle: "煎煮一体", category: "厨具", selfOperated: false, priceFen: 12_800, specs: [], tags: []),
        Item(title: "可叠加收纳箱 3个装", subtitle: "大容量", category: "收纳", selfOperated: true, priceFen: 7_900, specs: [.init(name: "颜色", values: ["白色", "灰色"])], tags: []),
        Item(title: "真空压缩袋 8件套", subtitle: "衣物被子收纳", category: "收纳", selfOperated: true, priceFen: 4_500, specs: [], tags: []),
        Item(title: "降噪蓝牙耳机", subtitle: "主动降噪 长续航", category: "耳机", selfOperated: true, priceFen: 49_900, specs: [.init(name: "颜色", values: ["黑色", "白色"])], tags: ["热卖"]),
        Item(title: "运动挂耳式耳机", subtitle: "防汗防水", category: "耳机", selfOperated: true, priceFen: 19_900, specs: [], tags: []),
        Item(title: "氮化镓快充充电器 65W", subtitle: "三口快充", category: "充电", selfOperated: true, priceFen: 12_900, specs: [], tags: []),
        Item(title: "磁吸无线充电宝 10000mAh", subtitle: "轻薄便携", category: "充电", selfOperated: true, priceFen: 15_900, specs: [], tags: []),
        Item(title: "亲子早教体验课 4节", subtitle: "0-3岁感统训练", category: "早教", selfOperated: false, priceFen: 39_900, specs: [], tags: ["到店"], serviceDays: 90),
        Item(title: "宝宝游泳 10次卡", subtitle: "恒温泳池 一对一", category: "早教", selfOperated: false, priceFen: 88_800, specs: [], tags: ["到店"], serviceDays: 180),
        Item(title: "私教课 12节", subtitle: "一对一定制训练", category: "健身", selfOperated: true, priceFen: 360_000, specs: [.init(name: "教练", values: ["高级教练", "金牌教练"])], tags: ["到店"], serviceDays: 365),
        Item(title: "瑜伽月卡", subtitle: "不限次数", category: "健身", selfOperated: true, priceFen: 39_900, specs: [], tags: ["到店"], serviceDays: 30),
    ]

    static let stores: [(name: String, kind: Store.Kind, address: String, lat: Double, lng: Double, selfOperated: Bool)] = [
        ("暖暖母婴 静安店", .direct, "上海市静安区南京西路1601号", 31.2243, 121.4466, false),
        ("暖暖母婴 徐汇加盟店", .franchise, "上海市徐汇区漕溪北路88号", 31.1932, 121.4368, false),
        ("裂变商城 人民广场体验店", .direct, "上海市黄浦区人民大道120号", 31.2304, 121.4737, true),
    ]

    static func seed(on db: any Database, now: Date, onboardedMerchant: UUID, storage: any ImageStorage) async throws {
        try await seedProducts(on: db, now: now, onboardedMerchant: onboardedMerchant, storage: storage)
        for entry in stores {
            let merchantID = entry.selfOperated ? Merchant.selfOperatedID : onboardedMerchant
            let store = Store()
            store.$merchant.id = merchantID
            StoreService.apply(StoreInput(name: entry.name, kind: entry.kind.rawValue, address: entry.address, latitude: entry.lat, longitude: entry.lng,
                                          hours: "10:00-21:00", phone: "021-6288 0000", active: true), kind: entry.kind, to: store)
            try await store.create(on: db)
            // Its merchant's service products can be redeemed here.
            let services = try await Product.query(on: db).filter(\.$merchant.$id == merchantID)
                .filter(\.$kind == Product.Kind.service.rawValue).all()
            for service in services { try await ProductRedeemStore(productID: try service.requireID(), storeID: try store.requireID()).create(on: db) }
            // The store holds some of its merchant's SKUs.
            let skus = try await Sku.query(on: db).join(Product.self, on: \Sku.$product.$id == \Product.$id)
                .filter(Product.self, \.$merchant.$id == merchantID).sort(\.$code).limit(6).all()
            for (index, sku) in skus.enumerated() {
                let row = StoreStock()
                row.$store.id = try store.requireID()
                row.$sku.id = try sku.requireID()
                row.stock = Int64(index * 4)
                row.lowStockThreshold = 3
                try await row.create(on: db)
            }
        }
    }

    /// A picture drawn for the demo, stored like an upload of the merchant's.
    static func drawnImage(hue: Double, motif: DrawnPicture.Motif, merchantID: UUID, storage: any ImageStorage, on db: any Database, now: Date) async throws -> String {
        let size = 360
        let png = PNG.encodeRGB(width: size, height: size, pixels: DrawnPicture.pixels(size: size, hue: hue, motif: motif), deflate: Zlib.compress)
        return try await ImageService.store(png, purpose: .drawn, merchantID: merchantID, storage: storage, on: db, at: now).storageKey
    }

    static func seedProducts(on db: any Database, now: Date, onboardedMerchant: UUID, storage: any ImageStorage) async throws {
        var categoryIDs: [String: UUID] = [:]
        for (order, root) in categories.enumerated() {
            let service = CatalogService(db: db, now: now)
            let parent = try await service.createCategory(CategoryInput(name: root.root, parentId: nil, icon: root.icon, sortOrder: order, makeRoot: nil))
            let parentID = try parent.requireID()
            categoryIDs[root.root] = parentID
            for (childOrder, child) in root.children.enumerated() {
                let created = try await service.createCategory(CategoryInput(name: child, parentId: parentID, icon: "", sortOrder: childOrder, makeRoot: nil))
                categoryIDs[child] = try created.requireID()
            }
        }
        for (index, item) in items.enumerated() {
            guard let category = categoryIDs[item.category] else { continue }
            let matrix = try SpecMatrix(item.specs)
            let skus = matrix.combinations.enumerated().map { position, combination in
                // Later values of the last spec cost a little more, so prices differ by SKU.
                let step = item.specs.last.flatMap { spec in combination[spec.name].flatMap { spec.values.firstIndex(of: $0) } } ?? 0
                return SkuInput(specs: combination.isEmpty ? nil : combination, code: String(format: "FM%03d-%02d", index + 1, position + 1),
                                priceFen: item.priceFen + Int64(step) * 1_000, memberPriceFen: nil,
                                marketPriceFen: item.priceFen * 13 / 10, weightGrams: item.serviceDays == nil ? 500 : 0,
                                stock: Int64((index * 37 + position * 11) % 90 + (index % 9 == 0 ? 0 : 5)), lowStockThreshold: 5)
            }
            let merchantID = item.selfOperated ? Merchant.selfOperatedID : onboardedMerchant
            // Golden-ratio hues keep neighbouring products' pictures apart.
            let hue = (Double(index) * 0.618_034).truncatingRemainder(dividingBy: 1)
            let motifs = DrawnPicture.Motif.allCases
            let main = try await drawnImage(hue: hue, motif: motifs[index % motifs.count], merchantID: merchantID, storage: storage, on: db, now: now)
            let second = try await drawnImage(hue: hue + 0.1, motif: motifs[(index + 1) % motifs.count], merchantID: merchantID, storage: storage, on: db, now: now)
            var input = ProductInput(title: item.title, subtitle: item.subtitle, description: item.subtitle + "。" + item.title + "，正品保障，七天无理由退换。",
                                     categoryId: category, brandId: nil, kind: item.serviceDays == nil ? "physical" : "service",
                                     validityDays: item.serviceDays, tags: item.tags, specs: item.specs, skus: skus, onShelf: true,
                                     sortWeight: Int64(items.count - index))
            input.mainImage = main
            input.gallery = [main, second]
            let product = try await CatalogService(db: db, now: now.addingTimeInterval(Double(index)))
                .createProduct(input, merchantID: merchantID)
            product.salesCount = Int64((index * 53) % 400)
            try await product.save(on: db)
        }
    }
}
