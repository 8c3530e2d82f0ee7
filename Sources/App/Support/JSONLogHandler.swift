import Foundation
import Logging

/// One JSON object per line, for log collectors; chosen with FISSION_LOG_FORMAT=json.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "time": ISO8601DateFormatter().string(from: Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged { object[key] = value.description }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
           var line = String(data: data, encoding: .utf8) {
            line += "\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}

public enum AppLogging {
    public static func jsonHandler(label: String, level: Logger.Level) -> any LogHandler {
        var handler = JSONLogHandler(label: label)
        handler.logLevel = level
        return handler
    }
}

extension AppLogging {
    public static func textHandler(label: String, level: Logger.Level) -> any LogHandler {
        var handler = StreamLogHandler.standardOutput(label: label)
        handler.logLevel = level
        return handler
    }
}
