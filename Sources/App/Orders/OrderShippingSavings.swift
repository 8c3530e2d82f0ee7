import Fluent
import Foundation
import MallCore
import SQLKit

/// What each source took off an order's shipping (a shipping coupon, a level's free shipping),
/// whoever pays it: the shipping has no order line, so these rows are where an activity's results
/// find the shipping it saved.
enum OrderShippingSavings {
    static let schema = "order_shipping_savings"

    static func record(orderID: UUID, _ savings: [PricedAllocation], on sql: any SQLDatabase) async throws {
        let rows: [any SQLExpression] = savings.filter { $0.amount.fen > 0 }.map { saving in
            let payerMerchant: UUID? = if case .merchant(let id) = saving.source.payer { id } else { nil }
            return SQLGroupExpression([SQLBind(UUID()), SQLBind(orderID), SQLBind(saving.source.kind.rawValue), SQLBind(saving.source.id),
                                       SQLBind(payerMerchant == nil ? "platform" : "merchant"), SQLBind(payerMerchant), SQLBind(saving.amount.fen)])
        }
        guard !rows.isEmpty else { return }
        try await sql.raw("""
            INSERT INTO order_shipping_savings (id, order_id, source_kind, source_id, payer, payer_merchant_id, amount) VALUES \(SQLList(rows))
            """).run()
    }
}

struct CreateOrderShippingSavings: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(OrderShippingSavings.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("source_kind", .string, .required)
            .field("source_id", .string, .required)
            .field("payer", .string, .required)
            .field("payer_merchant_id", .uuid)
            .field("amount", .int64, .required)
            .create()
        try await createIndex("order_shipping_savings_order", on: OrderShippingSavings.schema, columns: ["order_id"], db: db)
        try await createIndex("order_shipping_savings_source", on: OrderShippingSavings.schema, columns: ["source_kind", "source_id"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(OrderShippingSavings.schema).delete()
    }
}
