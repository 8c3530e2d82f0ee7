import Foundation

/// A refusal from the distribution rules: a stable code for APIs and logs, and a message for people.
///
/// The app maps every such error to a 4xx with `code` and `localizedMessage(_:)`, so each error
/// type of the distribution area conforms and none needs its own mapping table.
public protocol DistributionFailure: Error {
    /// snake_case and stable across releases: clients, logs and tests key on it.
    var code: String { get }
    /// True when the refusal comes from the compliance limits (合规), not from a slip in the input:
    /// more than three levels, an entry fee, a reward for headcount, rates above the cap.
    var isCompliance: Bool { get }
    /// What to tell the user, Simplified Chinese first, English second.
    func localizedMessage(_ locale: MallLocale) -> String
}

extension DistributionFailure {
    public var isCompliance: Bool { false }
}

/// Picks the text for a locale; compliance refusals carry the same lead in both languages so a
/// reader sees at once that no setting can lift them.
enum DistributionText {
    static func pick(_ locale: MallLocale, _ zh: String, _ en: String) -> String {
        locale == .zhHans ? zh : en
    }

    static func compliance(_ locale: MallLocale, _ zh: String, _ en: String) -> String {
        locale == .zhHans ? "合规限制：\(zh)" : "Compliance limit: \(en)"
    }

    static func percent(_ rate: BasisPoints) -> String {
        let magnitude = rate.value.magnitude
        let whole = magnitude / 100
        let hundredths = magnitude % 100
        let sign = rate.value < 0 ? "-" : ""
        if hundredths == 0 { return "\(sign)\(whole)%" }
        if hundredths % 10 == 0 { return "\(sign)\(whole).\(hundredths / 10)%" }
        return "\(sign)\(whole).\(hundredths < 10 ? "0" : "")\(hundredths)%"
    }
}
