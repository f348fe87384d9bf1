import Foundation
import Hummingbird

/// The fields a JSON request body may have: anything else is refused by name, so a typo
/// (`"milestone": [...]`) is an error instead of a contract without milestones.
indirect enum BodyShape: Sendable {
    /// An object with these keys.
    case object([String: BodyShape])
    /// An array of one shape.
    case array(BodyShape)
    /// A string, number, boolean or null: its type is checked by decoding.
    case value
}

/// Reads a request body as JSON of a known shape: an unknown field, a missing one or a wrong type is a 400
/// naming the field (`{"error": {"code", "message", "field"}}`), never a Swift decoding message.
enum StrictBody {
    static let maximumBytes = 1 << 20

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, shape: BodyShape, what: String, maximumBytes: Int = maximumBytes) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: maximumBytes) } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the body may be at most \(maximumBytes) bytes")
        }
        let data = Data(buffer: buffer)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw APIError(.badRequest, "bad_json", "the body is not JSON; send \(what)")
        }
        try check(json, against: shape, path: "")
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            let field = path(context.codingPath + [key])
            throw APIError(.badRequest, "missing_field", "\(field) is required", field: field)
        } catch let DecodingError.valueNotFound(_, context) {
            let field = path(context.codingPath)
            throw APIError(.badRequest, "missing_field", "\(field) must not be null", field: field)
        } catch let DecodingError.typeMismatch(expected, context) {
            let field = path(context.codingPath)
            throw APIError(.badRequest, "wrong_type", "\(field) must be \(describe(expected))", field: field)
        } catch let DecodingError.dataCorrupted(context) {
            let field = path(context.codingPath)
            throw APIError(.badRequest, "bad_value", "\(field): \(context.debugDescription)", field: field.isEmpty ? nil : field)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "bad_request", "the body could not be read; send \(what)")
        }
    }

    /// Refuses keys the shape does not have, naming the first one (with the closest allowed key).
    static func check(_ json: Any, against shape: BodyShape, path prefix: String) throws {
        switch shape {
        case .value:
            return
        case .array(let element):
            guard let items = json as? [Any] else { return }  // the decoder names the wrong type
            for (index, item) in items.enumerated() { try check(item, against: element, path: "\(prefix)[\(index)]") }
        case .object(let fields):
            guard let object = json as? [String: Any] else {
                if prefix.isEmpty { throw APIError(.badRequest, "bad_json", "the body must be a JSON object") }
                return
            }
            for key in object.keys.sorted() {
                let field = prefix.isEmpty ? key : "\(prefix).\(key)"
                guard let inner = fields[key] else {
                    let allowed = fields.keys.sorted()
                    let nearest = allowed.min { ServerSettings.editDistance(key, $0) < ServerSettings.editDistance(key, $1) }
                    let hint = nearest.map { " (did you mean `\($0)`?)" } ?? ""
                    throw APIError(.badRequest, "unknown_field", "unknown field `\(field)`\(hint); allowed here: \(allowed.joined(separator: ", "))",
                        field: field)
                }
                if let value = object[key], !(value is NSNull) { try check(value, against: inner, path: field) }
            }
        }
    }

    /// `milestones[0].amount` from a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: type == [String: Any].self ? "an object" : "of another type"
        }
    }
}
