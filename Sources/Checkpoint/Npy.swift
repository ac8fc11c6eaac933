import Foundation
import Tensor

/// Why an `.npy` file or a model directory could not be read or written. Each text says what to do.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case badMagic(String)
    case unsupportedVersion(String, major: UInt8, minor: UInt8)
    case badHeader(String, detail: String)
    case unsupportedDType(String, descr: String)
    case fortranOrder(String)
    case truncated(String, expected: Int, found: Int)
    case shapeMismatch(String, expected: [Int], found: [Int])
    case badManifest(String, detail: String)
    case checksumMismatch(String)
    case writeFailed(String, detail: String)
    case notARegularFile(String)
    case tooLarge(String, bytes: Int, limit: Int)
    /// A multi-task model: one task's directory must be named.
    case multiTask(String, tasks: [String])
    /// A tensor holding NaN or infinity: its file and tensor name.
    case nonFinite(String, tensor: String)
    /// A quantised model where only a float one can be used (training, distilling, float exports).
    case quantized(String, scheme: String)
    /// A continuous-action model (its head) where only discrete ones can be used so far.

    public var description: String {
        switch self {
        case .missingFile(let p):
            return "\(p) does not exist; check the path (a model directory holds model.json and one .npy per tensor)."
        case .badMagic(let p):
            return "\(p) is not a NumPy .npy file (it does not start with \\x93NUMPY); save arrays with numpy.save."
        case .unsupportedVersion(let p, let major, let minor):
            return "\(p) uses .npy format version \(major).\(minor); only 1.0, 2.0 and 3.0 are supported."
        case .badHeader(let p, let detail):
            return "\(p) has a malformed .npy header (\(detail)); re-save it with numpy.save."
        case .unsupportedDType(let p, let descr):
            return "\(p) holds dtype '\(descr)'; only little-endian float32 ('<f4') and float64 ('<f8') are supported, so convert with arr.astype('float32')."
        case .fortranOrder(let p):
            return "\(p) is stored in Fortran order; save numpy.ascontiguousarray(arr) instead."
        case .truncated(let p, let expected, let found):
            return "\(p) is truncated: its header promises \(expected) data bytes but only \(found) follow; the file is damaged, re-save it."
        case .shapeMismatch(let p, let expected, let found):
            return "\(p) has shape \(found) but the manifest says \(expected); the model directory is inconsistent, re-export it."
        case .badManifest(let p, let detail):
            return "\(p) is not a valid model manifest (\(detail)); re-export the model."
        case .checksumMismatch(let p):
            return "\(p) does not match the checksum in model.json: the file was changed or a save was interrupted; use the run's last/ checkpoint or re-export the model."
        case .notARegularFile(let p):
            return "\(p) is not a regular file (it is a link, device, pipe or directory); give a plain file (a model directory holds only plain files)."
        case .multiTask(let p, let tasks):
            return "\(p) holds a multi-task student (tasks \(tasks.joined(separator: ", "))); name one task's model, e.g. \(p)/tasks/\(tasks.first ?? "NAME") (in Python: sd.load(path, task=\"\(tasks.first ?? "NAME")\"))."
        case .quantized(let p, let scheme):
            return "\(p) holds an \(scheme) model, which runs (eval, export --format c, the NumPy loader) but does not train, teach or convert to float formats; use the float model it was quantised from."
        case .nonFinite(let p, let tensor):
            return "\(p) holds NaN or infinite values (tensor \(tensor)); a model with them cannot act, so retrain it or take the run's last finite checkpoint."
        case .tooLarge(let p, let bytes, let limit):
            return "\(p) has \(bytes) bytes, more than its manifest entry can need (\(limit)); the model directory is damaged or not a model, re-export it."
        case .writeFailed(let p, let detail):
            let reason = detail.hasSuffix(".") ? String(detail.dropLast()) : detail
            return "Could not write \(p): \(reason)."
        }
    }
}

/// NumPy's `.npy` format, to the byte: magic, version, a Python-literal header padded with
/// spaces so the data starts at a multiple of 64 bytes, then raw little-endian data.
public enum NumPyFile {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// The bytes of a version-1.0 `.npy` file holding `tensor` as `<f4`.
    public static func encode(_ tensor: Tensor) -> Data {
        var data = header(descr: "<f4", shape: tensor.shape)
        tensor.scalars.withUnsafeBytes { data.append(contentsOf: $0) }  // little-endian hosts only
        return data
    }

    /// Magic, version 1.0 and the padded header dict, as numpy.save writes them.
    static func header(descr: String, shape: [Int]) -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // As numpy.save (≥ 1.23): spare room so the first axis can grow in place, then spaces
        // and a newline so the data starts at a multiple of 64 bytes.
        if let first = shape.first { header += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: 64 - unpadded % 64) + "\n"
        var data = Data(magic)
        data.append(contentsOf: [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    /// The bytes of a version-1.0 `.npy` file holding integers as `|i1` (`bits` 8) or `<i4` (32);
    /// each value must fit.
    public static func encode(integers: [Int32], shape: [Int], bits: Int) -> Data {
        precondition(bits == 8 || bits == 32, "int8 or int32")
        var data = header(descr: bits == 8 ? "|i1" : "<i4", shape: shape)
        if bits == 8 {
            data.append(contentsOf: integers.map { UInt8(bitPattern: Int8($0)) })
        } else {
            for v in integers { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// The bytes of a version-1.0 `.npy` file holding `values` as unsigned bytes (`|u1`): uint8
    /// images and bool grids as a replay buffer keeps them.
    public static func encode(bytes values: [UInt8], shape: [Int]) -> Data {
        var data = header(descr: "|u1", shape: shape)
        data.append(contentsOf: values)
        return data
    }

    /// The bytes of a version-1.0 `.npy` file holding `values` as `<f8` (sums that must come back
    /// to the bit, as prioritized replay's priorities).
    public static func encode(doubles values: [Double], shape: [Int]) -> Data {
        var data = header(descr: "<f8", shape: shape)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// Reads an `.npy` file of unsigned bytes (`|u1`, or NumPy's bool `|b1`).
    public static func decodeBytes(_ data: Data, path: String = "<memory>") throws -> (shape: [Int], values: [UInt8]) {
        // One copy: a replay buffer's frames run to gigabytes.
        let (fields, dataStart, count) = try headerLayout(data, path: path)
        guard ["|u1", "<u1", "u1", "|b1"].contains(fields.descr) else {
            throw CheckpointError.badHeader(path, detail: "it holds dtype '\(fields.descr)' where unsigned bytes ('|u1') belong")
        }
        guard data.count - dataStart >= count else { throw CheckpointError.truncated(path, expected: count, found: data.count - dataStart) }
        let start = data.startIndex + dataStart
        return (fields.shape, [UInt8](data[start..<(start + count)]))
    }

    /// Reads an `.npy` file of `<f8` values, to the bit.
    public static func decodeDoubles(_ data: Data, path: String = "<memory>") throws -> (shape: [Int], values: [Double]) {
        let (fields, bytes, dataStart, count) = try layout(data, path: path)
        guard ["<f8", "=f8"].contains(fields.descr) else {
            throw CheckpointError.badHeader(path, detail: "it holds dtype '\(fields.descr)' where float64 ('<f8') belongs")
        }
        guard bytes.count - dataStart >= 8 * count else { throw CheckpointError.truncated(path, expected: 8 * count, found: bytes.count - dataStart) }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            var bits: UInt64 = 0
            for k in (0..<8).reversed() { bits = bits << 8 | UInt64(bytes[dataStart + 8 * i + k]) }
            values[i] = Double(bitPattern: bits)
        }
        return (fields.shape, values)
    }

    /// Reads an `.npy` file of integers (`|i1`, `<i1`, `<i4`): the shape, the values, and the width (8 or 32).
    public static func decodeIntegers(_ data: Data, path: String = "<memory>") throws -> (shape: [Int], values: [Int32], bits: Int) {
        let (fields, bytes, dataStart, count) = try layout(data, path: path)
        let bits: Int
        switch fields.descr {
        case "|i1", "<i1", "i1": bits = 8
        case "<i4", "=i4": bits = 32
        default: throw CheckpointError.unsupportedDType(path, descr: fields.descr)
        }
        let available = bytes.count - dataStart
        guard available >= count * bits / 8 else { throw CheckpointError.truncated(path, expected: count * bits / 8, found: available) }
        var values = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            if bits == 8 {
                values[i] = Int32(Int8(bitPattern: bytes[dataStart + i]))
            } else {
                let at = dataStart + 4 * i
                values[i] = Int32(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
            }
        }
        return (fields.shape, values, bits)
    }

    /// Reads an `.npy` file's bytes (versions 1.0–3.0, `<f4` or `<f8`) into a Float32 tensor.
    public static func decode(_ data: Data, path: String = "<memory>") throws -> Tensor {
        let (fields, bytes, dataStart, count) = try layout(data, path: path)
        let itemSize: Int
        switch fields.descr {
        case "<f4", "=f4": itemSize = 4
        case "<f8", "=f8": itemSize = 8
        default: throw CheckpointError.unsupportedDType(path, descr: fields.descr)
        }
        let available = bytes.count - dataStart
        guard available >= count * itemSize else {
            throw CheckpointError.truncated(path, expected: count * itemSize, found: available)
        }
        return Tensor(shape: fields.shape, scalars: littleEndianFloats(bytes, offset: dataStart, count: count, itemSize: itemSize))
    }

    /// The header of an `.npy` file's bytes, checked: its fields, the bytes, where the data starts and how many values it holds.
    static func layout(_ data: Data, path: String) throws -> (Header, [UInt8], Int, Int) {
        let (fields, dataStart, count) = try headerLayout(data, path: path)
        return (fields, [UInt8](data), dataStart, count)
    }

    /// The header of an `.npy` file's bytes, checked, without copying its data (only the header's
    /// bytes are read): its fields, where the data starts and how many values it holds.
    static func headerLayout(_ data: Data, path: String) throws -> (Header, Int, Int) {
        // The fixed part first, then as many bytes as it says the header has.
        var bytes = [UInt8](data.prefix(12))
        let total = data.count
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw CheckpointError.badMagic(path) }
        let (major, minor) = (bytes[6], bytes[7])
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw CheckpointError.truncated(path, expected: 12, found: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw CheckpointError.unsupportedVersion(path, major: major, minor: minor)
        }
        guard minor == 0 else { throw CheckpointError.unsupportedVersion(path, major: major, minor: minor) }
        guard headerStart + headerLength <= total else {
            throw CheckpointError.badHeader(path, detail: "the header is cut short")
        }
        bytes = [UInt8](data.prefix(headerStart + headerLength))
        let encoding: String.Encoding = major == 3 ? .utf8 : .isoLatin1
        guard let header = String(data: Data(bytes[headerStart..<(headerStart + headerLength)]), encoding: encoding) else {
            throw CheckpointError.badHeader(path, detail: "unreadable text")
        }
        let fields = try parseHeader(header, path: path)
        if fields.fortranOrder && fields.shape.count > 1 { throw CheckpointError.fortranOrder(path) }
        var count = 1
        for dimension in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= total else {
                throw CheckpointError.badHeader(path, detail: "its shape \(fields.shape) holds more values than the file has bytes")
            }
            count = product
        }
        return (fields, headerStart + headerLength, count)
    }

    /// Float32 values from little-endian `<f4` (or `<f8`, narrowed) bytes, assembled byte by byte
    /// so the result does not depend on the host's byte order and needs no pointer code.
    static func littleEndianFloats(_ bytes: [UInt8], offset: Int, count: Int, itemSize: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let at = offset + i * itemSize
            var bits: UInt64 = 0
            for k in (0..<itemSize).reversed() { bits = bits << 8 | UInt64(bytes[at + k]) }
            out[i] = itemSize == 4 ? Float(bitPattern: UInt32(truncatingIfNeeded: bits)) : Float(Double(bitPattern: bits))
        }
        return out
    }

    /// Reads an `.npy` file.
    public static func read(_ url: URL) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        try ModelDirectory.checkRegularFile(url.resolvingSymlinksInPath(), atMost: Int.max)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.badHeader(url.path, detail: "unreadable: \(error.localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// Writes an `.npy` file atomically (temporary file, then rename).
    public static func write(_ tensor: Tensor, to url: URL) throws {
        do { try encode(tensor).write(to: url, options: .atomic) } catch {
            throw CheckpointError.writeFailed(url.path, detail: FileProblem.sentence(error))
        }
    }

    struct Header { var descr: String; var fortranOrder: Bool; var shape: [Int] }

    /// Parses the header's Python dict literal: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    static func parseHeader(_ text: String, path: String) throws -> Header {
        func fail(_ d: String) -> CheckpointError { .badHeader(path, detail: d) }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("{"), t.hasSuffix("}") else { throw fail("not a dict literal") }
        func value(of key: String) throws -> Substring {
            guard let k = t.range(of: "'\(key)'") ?? t.range(of: "\"\(key)\""),
                  let colon = t[k.upperBound...].firstIndex(of: ":") else { throw fail("no '\(key)' key") }
            return t[t.index(after: colon)...].drop { $0 == " " }
        }
        let descrRest = try value(of: "descr")
        guard let q = descrRest.first, q == "'" || q == "\"",
              let end = descrRest.dropFirst().firstIndex(of: q) else { throw fail("descr is not a string") }
        let descr = String(descrRest[descrRest.index(after: descrRest.startIndex)..<end])
        let fortranRest = try value(of: "fortran_order")
        let fortran: Bool
        if fortranRest.hasPrefix("True") { fortran = true } else if fortranRest.hasPrefix("False") { fortran = false } else {
            throw fail("fortran_order is not True or False")
        }
        let shapeRest = try value(of: "shape")
        guard shapeRest.first == "(", let close = shapeRest.firstIndex(of: ")") else { throw fail("shape is not a tuple") }
        let inner = shapeRest[shapeRest.index(after: shapeRest.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let s = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
            if s.isEmpty { continue }
            guard let n = Int(s), n >= 0 else { throw fail("shape entry '\(s)' is not a size") }
            shape.append(n)
        }
        return Header(descr: descr, fortranOrder: fortran, shape: shape)
    }
}
