import Foundation
import MallCore
import Vapor

struct MerchantDTO: Content {
    let id: UUID
    let name: String
    let kind: String
    let status: String
    let serviceRateBp: Int

    init(_ merchant: Merchant) throws {
        id = try merchant.requireID()
        name = merchant.name
        kind = merchant.kind
        status = merchant.status
        serviceRateBp = merchant.serviceRateBP
    }
}
