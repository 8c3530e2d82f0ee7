import Vapor

/// Serves `Resources/openapi.json`, the contract of every `/api/v1` route. A test fails when a
/// registered route is missing from it.
enum OpenAPIDocument {
    @Sendable static func serve(req: Request) async throws -> Response {
        let path = req.application.directory.resourcesDirectory + "openapi.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw APIError.notFound }
        var headers = HTTPHeaders()
        headers.contentType = .json
        return Response(status: .ok, headers: headers, body: .init(data: data))
    }
}
