import Crypto
import Foundation
import MallCore
import Testing
import VaporTesting
@testable import App

/// Two `fission` processes on one SQLite file: the in-process write gate cannot serialise them,
/// only SQLite's own locking and the ledger's checks can.
@Suite(.serialized) struct LedgerProcessTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/fission").path

    struct Run { let status: Int32; let output: String }

    /// Starts `fission` with `arguments` on SQLite (DATABASE_URL removed) and the given variables.
    static func start(_ arguments: [String], environment: [String: String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        env.merge(environment) { _, new in new }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    static func finish(_ started: (Process, Pipe)) async -> Run {
        let handle = started.1.fileHandleForReading
        let data = await Task.detached { handle.readDataToEndOfFile() }.value
        started.0.waitUntilExit()
        return Run(status: started.0.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    @Test func twoProcessesPostingToOneFileKeepEveryBalance() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the fission binary first (swift build)")
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fission-2p-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["FISSION_VAR_DIR": directory, "FISSION_SQLITE_PATH": directory + "/mall.sqlite", "FISSION_LOG_FORMAT": "text"]
        let migrated = await Self.finish(try Self.start(["migrate", "--yes"], environment: environment))
        #expect(migrated.status == 0, "\(migrated.output)")
        // act: keys 0..<300 and 150..<450 at once; the middle half is posted by both
        let a = try Self.start(["ledger-load", "--from", "0", "--count", "300", "--members", "10"], environment: environment)
        let b = try Self.start(["ledger-load", "--from", "150", "--count", "300", "--members", "10"], environment: environment)
        let runs = [await Self.finish(a), await Self.finish(b)]
        // check: each key posted once, every balance the sum of its keys, the chain whole
        for run in runs { #expect(run.status == 0, "\(run.output)") }
        let counts = runs.map { run in
            (Int(run.output.firstMatch(of: /posted=(\d+)/)?.1 ?? "") ?? -1, Int(run.output.firstMatch(of: /replayed=(\d+)/)?.1 ?? "") ?? -1)
        }
        #expect(counts.map(\.0).reduce(0, +) == 450, "\(counts)")
        #expect(counts.map(\.1).reduce(0, +) == 150, "\(counts)")
        let verified = await Self.finish(try Self.start(["verify-ledger"], environment: environment))
        #expect(verified.status == 0 && verified.output.contains("OK:"), "\(verified.output)")
        #expect(verified.output.contains("450 transactions"), "\(verified.output)")

        try await withAppOnFile(directory + "/mall.sqlite") { app in
            let ledger = LedgerService(db: app.db, now: Date(), gate: app.writeGate)
            var expected = [Int64](repeating: 0, count: 10)
            for i in 0..<450 { expected[i % 10] += Int64(100 + i % 7) }
            for m in 0..<10 {
                let key = try LedgerAccountKey(.memberBalance, .member(LedgerLoadCommand.member(m)))
                #expect(try await ledger.balance(of: key) == Money(fen: expected[m]))
            }
            let total = expected.reduce(0, +)
            #expect(try await ledger.balance(of: .platform(.paymentClearing)) == Money(fen: total))
        }
    }

    @Test func processesStartingAtOnceAgreeOnOneKeyOfEachKind() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the fission binary first (swift build)")
        for _ in 0..<3 {
            // setup: an empty var directory
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fission-keys-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = ["FISSION_VAR_DIR": directory, "FISSION_SQLITE_PATH": directory + "/mall.sqlite"]
            // act: four first starts at once
            let started = try (0..<4).map { _ in try Self.start(["routes"], environment: environment) }
            var runs: [Run] = []
            for process in started { runs.append(await Self.finish(process)) }
            // check
            for run in runs { #expect(run.status == 0, "\(run.output)") }
            let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".key") }.sorted()
            #expect(names == ["data.key", "jwt.key"])
            #expect(FileManager.default.contents(atPath: directory + "/data.key")?.count == 32)
            #expect(FileManager.default.contents(atPath: directory + "/jwt.key")?.count == 48)
        }
    }
}

/// An application on an existing SQLite file, for reading what other processes wrote.
func withAppOnFile(_ path: String, _ body: (Application) async throws -> Void) async throws {
    let app = try await Application.make(.testing)
    let config = AppConfig(
        databaseURL: nil, postgresSchema: nil, postgresConnectionsPerEventLoop: 1, sqlitePath: path,
        dataKey: SymmetricKey(size: .bits256), jwtSecret: "test-secret-" + UUID().uuidString + UUID().uuidString,
        bcryptCost: 4, storefrontCacheMilliseconds: 0,
        uploadsDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("fission-uploads-\(UUID().uuidString)").path)
    do {
        try await configure(app, config: config)
        try await body(app)
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
    try await app.asyncShutdown()
}
