import MallCore
import Vapor

enum CatalogError: Error, APIErrorConvertible {
    case invalid([APIError.FieldIssue])
    case categoryNotFound
    case categoryCycle
    case categoryInUse
    case brandNotFound
    case brandExists
    case duplicateSkuCode(field: String, code: String)
    case invalidCursor

    var apiError: APIError {
        switch self {
        case .invalid(let issues):
            return .validation(issues)
        case .categoryNotFound:
            return .validation([.init("categoryId", .init("分类不存在", "No such category"))])
        case .categoryCycle:
            return .validation([.init("parentId", .init("不能把分类移到它自己或它的子分类下面", "A category cannot move under itself or one of its sub-categories"))])
        case .categoryInUse:
            return APIError(.conflict, "catalog.category_in_use", .init("分类下还有商品或子分类", "The category still has products or sub-categories"))
        case .brandNotFound:
            return .validation([.init("brandId", .init("品牌不存在", "No such brand"))])
        case .brandExists:
            return APIError(.conflict, "catalog.brand_exists", .init("品牌已存在", "This brand already exists"), details: [.init("name", .init("品牌已存在", "Already exists"))])
        case let .duplicateSkuCode(field, code):
            return APIError(.conflict, "catalog.duplicate_sku_code", .init("SKU 编码 \(code) 已被本店其他商品使用", "SKU code \(code) is already used by another of your products"),
                            details: [.init(field, .init("编码重复：\(code)", "Duplicate code: \(code)"))])
        case .invalidCursor:
            return .validation([.init("cursor", .init("分页游标无效", "Invalid page cursor"))])
        }
    }
}

extension SpecMatrix.Problem {
    var fieldIssue: APIError.FieldIssue {
        switch self {
        case .tooManySpecs:
            .init("specs", .init("规格最多 \(SpecMatrix.maxSpecs) 种", "At most \(SpecMatrix.maxSpecs) specs"))
        case .emptySpecName:
            .init("specs", .init("规格名称不能为空", "A spec needs a name"))
        case .duplicateSpecName(let name):
            .init("specs", .init("规格名称重复：\(name)", "Duplicate spec name: \(name)"))
        case .noValues(let spec):
            .init("specs", .init("规格「\(spec)」没有可选值", "Spec \(spec) has no values"))
        case .emptyValue(let spec):
            .init("specs", .init("规格「\(spec)」有空的值", "Spec \(spec) has an empty value"))
        case let .duplicateValue(spec, value):
            .init("specs", .init("规格「\(spec)」的值重复：\(value)", "Spec \(spec) repeats the value \(value)"))
        case .tooManyValues(let spec):
            .init("specs", .init("规格「\(spec)」的值过多", "Spec \(spec) has too many values"))
        case .tooManyCombinations(let count):
            .init("specs", .init("规格组合过多（\(count)），最多 \(SpecMatrix.maxCombinations) 个", "Too many combinations (\(count)); at most \(SpecMatrix.maxCombinations)"))
        case .unknownCombination(let key):
            .init("skus", .init("没有这个规格组合：\(key)", "No such spec combination: \(key)"))
        case .missingCombination(let key):
            .init("skus", .init("缺少规格组合的 SKU：\(key)", "No SKU for the combination \(key)"))
        case .duplicateCombination(let key):
            .init("skus", .init("规格组合重复：\(key)", "Duplicate SKU for \(key)"))
        case .reservedCharacter(let text):
            .init("specs", .init("规格名称和值不能包含「:」或「;」：\(text)", "Spec names and values cannot contain ':' or ';': \(text)"))
        }
    }
}
