import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Vapor

/// Keeps the member row and last sign-out that a signed-in request read, for about a second. Under
/// a flash sale every shopper's request pays for that read; with the row kept, a burst of one
/// shopper's requests costs one. A member row does not change after registration, so the only
/// thing a kept entry can miss is a sign-out everywhere: on the instance that records it the
/// entries are dropped once it commits, and another instance honours the old token for at most
/// the time-to-live. Each request gets a fresh `Member` decoded from the kept row.
final class SignedInMemberCache: Sendable {
    struct Entry: Sendable {
        let row: any SQLRow
        let signedOutSeconds: Int64?
        let expires: NIODeadline
    }

    let timeToLive: TimeAmount
    let maxEntries: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var entries: [UUID: Entry] = [:]
        /// Moves on every sign-out (which also empties `entries`): a read that began before a
        /// sign-out committed is not kept.
        var generation: UInt64 = 0
    }

    init(timeToLive: TimeAmount, maxEntries: Int = 20_000) {
        self.timeToLive = timeToLive
        self.maxEntries = maxEntries
    }

    var isOn: Bool { timeToLive > .zero }
    var count: Int { state.withLockedValue(\.entries.count) }

    /// The generation a read starts in; pass it to `store`.
    var generation: UInt64 { state.withLockedValue(\.generation) }

    func lookup(_ id: UUID) -> Entry? {
        guard isOn else { return nil }
        let now = NIODeadline.now()
        return state.withLockedValue { state in
            guard let entry = state.entries[id] else { return nil }
            if entry.expires > now { return entry }
            state.entries[id] = nil
            return nil
        }
    }

    func store(_ id: UUID, row: any SQLRow, signedOutSeconds: Int64?, readIn generation: UInt64) {
        guard isOn else { return }
        let now = NIODeadline.now()
        state.withLockedValue { state in
            guard generation == state.generation else { return }
            if state.entries.count >= maxEntries {
                state.entries = state.entries.filter { $0.value.expires > now }
                if state.entries.count >= maxEntries { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[id] = Entry(row: row, signedOutSeconds: signedOutSeconds, expires: now + timeToLive)
        }
    }

    /// After a sign-out everywhere has committed: nothing read before it is used again.
    func signedOut() {
        state.withLockedValue { state in
            state.generation &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}

extension Application {
    private struct SignedInMemberCacheKey: StorageKey { typealias Value = SignedInMemberCache }

    var signedInMembers: SignedInMemberCache {
        get { storage[SignedInMemberCacheKey.self] ?? SignedInMemberCache(timeToLive: .zero) }
        set { storage[SignedInMemberCacheKey.self] = newValue }
    }
}
