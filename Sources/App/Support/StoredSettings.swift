import Fluent
import Foundation
import Vapor

/// An operator's settings kept as one JSON document in `member_settings`, under its own name.
/// Loading a missing or unreadable document gives the defaults; saving validates first.
protocol StoredSettings: Codable, Sendable {
    /// The row's `name` in `member_settings`.
    static var recordName: String { get }
    /// The defaults.
    init()
    /// Throws a 422 naming every wrong field.
    func validate() throws
}

extension StoredSettings {
    static func load(on db: any Database) async throws -> Self {
        guard let record = try await MemberSettingsRecord.query(on: db).filter(\.$name == recordName).first() else { return Self() }
        return (try? JSONDecoder().decode(Self.self, from: Data(record.configJSON.utf8))) ?? Self()
    }

    func save(on db: any Database, now: Date) async throws {
        try validate()
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        if let record = try await MemberSettingsRecord.query(on: db).filter(\.$name == Self.recordName).first() {
            record.configJSON = json
            record.updatedAt = now
            try await record.save(on: db)
        } else {
            let record = MemberSettingsRecord()
            record.name = Self.recordName
            record.configJSON = json
            record.updatedAt = now
            try await record.create(on: db)
        }
    }
}
