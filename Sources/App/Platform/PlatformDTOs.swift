import Foundation
import MallCore
import Vapor

struct AuditLogDTO: Content {
    let id: UUID
    let actor: String
    let action: String
    let target: String
    let detail: String
    let ip: String
    let createdAt: Date

    init(_ entry: AuditLogEntry) throws {
        id = try entry.requireID()
        actor = entry.actorName
        action = entry.action
        target = entry.target
        detail = entry.detail
        ip = entry.ip
        createdAt = entry.createdAt
    }
}

struct HealthResponse: Content {
    let status: String
    let database: String
}
