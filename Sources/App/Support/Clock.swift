import Foundation
import NIOConcurrencyHelpers
import Vapor

/// The app's only source of "now", so that tests can move time forward.
public protocol MallClock: Sendable {
    func now() -> Date
}

public struct SystemClock: MallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until a test advances it.
public final class ManualClock: MallClock {
    private let current: NIOLockedValueBox<Date>
    public init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) { current = .init(start) }
    public func now() -> Date { current.withLockedValue { $0 } }
    public func advance(seconds: TimeInterval) { current.withLockedValue { $0 += seconds } }
}

extension Application {
    private struct ClockKey: StorageKey { typealias Value = any MallClock }

    public var clock: any MallClock {
        get { storage[ClockKey.self] ?? SystemClock() }
        set { storage[ClockKey.self] = newValue }
    }
}

extension Request {
    var now: Date { application.clock.now() }
}
