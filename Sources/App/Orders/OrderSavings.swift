import Fluent
import Foundation
import MallCore
import SQLKit

/// Each saving of an order as its checkout showed it, in stacking order: the source, the label the
/// checkout gave it (the activity's or coupon's name or rule at that moment, which a later edit
/// does not rewrite; for points, the points spent) and what it took off this order's goods and
/// shipping. The order page lists them under 优惠.
enum OrderSavings {
    static let schema = "order_savings"

    struct Row: Sendable {
        let kind: String
        let label: String
        let amount: Int64
    }

    /// `allocations` are this order's lines' shares by discount id; `shipping` what was taken off its shipping.
    static func record(orderID: UUID, steps: [PricingStep], allocations: [(discountID: String, amount: Int64)], shipping: [PricedAllocation],
                       pointsUsed: Int64, on sql: any SQLDatabase) async throws {
        var amounts: [String: Int64] = [:]
        for allocation in allocations { amounts[allocation.discountID, default: 0] += allocation.amount }
        for saving in shipping { amounts[saving.source.discountID, default: 0] += saving.amount.fen }
        var rows: [any SQLExpression] = []
        var listed = Set<String>()
        for step in steps where listed.insert(step.source.discountID).inserted {
            guard let amount = amounts[step.source.discountID], amount > 0 else { continue }
            let label = step.source.kind == .points ? String(pointsUsed) : String(step.label.prefix(200))
            rows.append(SQLGroupExpression([SQLBind(UUID()), SQLBind(orderID), SQLBind(rows.count), SQLBind(step.source.kind.rawValue),
                                            SQLBind(step.source.id), SQLBind(label), SQLBind(amount)]))
        }
        guard !rows.isEmpty else { return }
        try await sql.raw("""
            INSERT INTO order_savings (id, order_id, position, source_kind, source_id, label, amount) VALUES \(SQLList(rows))
            """).run()
    }

    static func rows(orderID: UUID, on sql: any SQLDatabase) async throws -> [Row] {
        try await sql.raw("SELECT source_kind, label, amount FROM order_savings WHERE order_id = \(bind: orderID) ORDER BY position").all().map { row in
            Row(kind: try row.decode(column: "source_kind", as: String.self), label: try row.decode(column: "label", as: String.self),
                amount: try row.decode(column: "amount", as: Int64.self))
        }
    }
}

struct CreateOrderSavings: AsyncMigration {
    func prepare(on db: any Database) async throws {
        try await db.schema(OrderSavings.schema)
            .id()
            .field("order_id", .uuid, .required, .references(Order.schema, .id))
            .field("position", .int, .required)
            .field("source_kind", .string, .required)
            .field("source_id", .string, .required)
            .field("label", .string, .required)
            .field("amount", .int64, .required)
            .create()
        try await createIndex("order_savings_order", on: OrderSavings.schema, columns: ["order_id", "position"], db: db)
    }

    func revert(on db: any Database) async throws {
        try await db.schema(OrderSavings.schema).delete()
    }
}
