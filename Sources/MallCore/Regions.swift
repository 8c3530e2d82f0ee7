import Foundation

/// The provincial-level divisions a delivery address names, by their GB/T 2260 codes. Shipping
/// templates price and exclude regions by these codes, so an address must carry one of them;
/// city and district stay free text.
public enum ChinaRegions {
    public struct Province: Hashable, Sendable {
        public let code: String
        public let zh: String
        public let en: String

        public func name(_ locale: MallLocale) -> String { locale == .zhHans ? zh : en }
    }

    public static let provinces: [Province] = [
        .init(code: "11", zh: "北京市", en: "Beijing"), .init(code: "12", zh: "天津市", en: "Tianjin"),
        .init(code: "13", zh: "河北省", en: "Hebei"), .init(code: "14", zh: "山西省", en: "Shanxi"),
        .init(code: "15", zh: "内蒙古自治区", en: "Inner Mongolia"), .init(code: "21", zh: "辽宁省", en: "Liaoning"),
        .init(code: "22", zh: "吉林省", en: "Jilin"), .init(code: "23", zh: "黑龙江省", en: "Heilongjiang"),
        .init(code: "31", zh: "上海市", en: "Shanghai"), .init(code: "32", zh: "江苏省", en: "Jiangsu"),
        .init(code: "33", zh: "浙江省", en: "Zhejiang"), .init(code: "34", zh: "安徽省", en: "Anhui"),
        .init(code: "35", zh: "福建省", en: "Fujian"), .init(code: "36", zh: "江西省", en: "Jiangxi"),
        .init(code: "37", zh: "山东省", en: "Shandong"), .init(code: "41", zh: "河南省", en: "Henan"),
        .init(code: "42", zh: "湖北省", en: "Hubei"), .init(code: "43", zh: "湖南省", en: "Hunan"),
        .init(code: "44", zh: "广东省", en: "Guangdong"), .init(code: "45", zh: "广西壮族自治区", en: "Guangxi"),
        .init(code: "46", zh: "海南省", en: "Hainan"), .init(code: "50", zh: "重庆市", en: "Chongqing"),
        .init(code: "51", zh: "四川省", en: "Sichuan"), .init(code: "52", zh: "贵州省", en: "Guizhou"),
        .init(code: "53", zh: "云南省", en: "Yunnan"), .init(code: "54", zh: "西藏自治区", en: "Xizang"),
        .init(code: "61", zh: "陕西省", en: "Shaanxi"), .init(code: "62", zh: "甘肃省", en: "Gansu"),
        .init(code: "63", zh: "青海省", en: "Qinghai"), .init(code: "64", zh: "宁夏回族自治区", en: "Ningxia"),
        .init(code: "65", zh: "新疆维吾尔自治区", en: "Xinjiang"), .init(code: "71", zh: "台湾省", en: "Taiwan"),
        .init(code: "81", zh: "香港特别行政区", en: "Hong Kong"), .init(code: "82", zh: "澳门特别行政区", en: "Macao"),
    ]

    private static let byCode: [String: Province] = Dictionary(uniqueKeysWithValues: provinces.map { ($0.code, $0) })

    public static func province(_ code: String) -> Province? { byCode[code] }
}
