import App
import Foundation
import Logging
import Vapor

var env = try Environment.detect()
let config = try AppConfig.load(workingDirectory: DirectoryConfiguration.detect().workingDirectory)
try LoggingSystem.bootstrap(from: &env) { level in
    { label in
        switch config.logFormat {
        case .json: AppLogging.jsonHandler(label: label, level: level)
        case .text: AppLogging.textHandler(label: label, level: level)
        }
    }
}
let app = try await Application.make(env)
do {
    try await configure(app, config: config)
    app.registerMallCommands()
    try await app.execute()
    try await app.asyncShutdown()
} catch {
    app.logger.report(error: error)
    try? await app.asyncShutdown()
    exit(1)
}
