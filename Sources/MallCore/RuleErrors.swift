import Foundation

/// How the app answers a refused rule: the input is wrong (422) or it clashes with the current
/// state of the thing it acts on (409), e.g. shipping an order that was cancelled.
public enum RuleErrorKind: String, Sendable {
    case invalid
    case conflict
}

/// A refusal from a pure rule, ready to show to a person: a stable snake_case `code` for clients
/// and logs, and a message in each locale, so the app maps every rule's errors in one place
/// instead of spelling out each case again.
public protocol LocalizedRuleError: Error, Sendable {
    var code: String { get }
    var kind: RuleErrorKind { get }
    func localizedMessage(_ locale: MallLocale) -> String
}

extension MallLocale {
    /// The text written for this locale.
    func choose(zh: String, en: String) -> String { self == .zhHans ? zh : en }
}
