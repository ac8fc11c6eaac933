import Foundation

/// NumPy's `.npz` format (`numpy.savez`): a zip archive, entries stored uncompressed, one
/// `.npy` file per named array. Used for logs other tools read (SB3's evaluations.npz).
public enum NumPyArchive {
    /// An array to store: 64-bit integers or floats, row-major, with its shape.
    public enum Array: Sendable {
        case int64([Int], shape: [Int])
        case float64([Double], shape: [Int])
    }

    /// The bytes of an `.npz` holding `arrays` under their names (without `.npy`).
    public static func encode(_ arrays: [(name: String, array: Array)]) -> Data {
        var archive = Data(), directory = Data()
        for (name, array) in arrays {
            let file = Data((name + ".npy").utf8)
            let body = npy(array)
            let crc = crc32(body)
            let offset = archive.count
            archive.append(le32(0x0403_4b50))
            archive.append(le16(20)); archive.append(le16(0)); archive.append(le16(0))   // version, flags, stored
            archive.append(le16(0)); archive.append(le16(0x21))                          // 1980-01-01 00:00
            archive.append(le32(crc)); archive.append(le32(UInt32(body.count))); archive.append(le32(UInt32(body.count)))
            archive.append(le16(UInt16(file.count))); archive.append(le16(0))
            archive.append(file)
            archive.append(body)
            directory.append(le32(0x0201_4b50))
            directory.append(le16(20)); directory.append(le16(20)); directory.append(le16(0)); directory.append(le16(0))
            directory.append(le16(0)); directory.append(le16(0x21))
            directory.append(le32(crc)); directory.append(le32(UInt32(body.count))); directory.append(le32(UInt32(body.count)))
            directory.append(le16(UInt16(file.count))); directory.append(le16(0)); directory.append(le16(0))
            directory.append(le16(0)); directory.append(le16(0)); directory.append(le32(0))
            directory.append(le32(UInt32(offset)))
            directory.append(file)
        }
        let directoryOffset = archive.count
        archive.append(directory)
        archive.append(le32(0x0605_4b50)); archive.append(le16(0)); archive.append(le16(0))
        archive.append(le16(UInt16(arrays.count))); archive.append(le16(UInt16(arrays.count)))
        archive.append(le32(UInt32(directory.count))); archive.append(le32(UInt32(directoryOffset))); archive.append(le16(0))
        return archive
    }

    /// One `.npy` file of 8-byte little-endian values.
    static func npy(_ array: Array) -> Data {
        switch array {
        case .int64(let values, let shape):
            var data = NumPyFile.header(descr: "<i8", shape: shape)
            for v in values { data.append(le64(UInt64(bitPattern: Int64(v)))) }
            return data
        case .float64(let values, let shape):
            var data = NumPyFile.header(descr: "<f8", shape: shape)
            for v in values { data.append(le64(v.bitPattern)) }
            return data
        }
    }

    static func le16(_ v: UInt16) -> Data { Data([UInt8(v & 0xFF), UInt8(v >> 8)]) }
    static func le32(_ v: UInt32) -> Data { Data((0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
    static func le64(_ v: UInt64) -> Data { Data((0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }

    /// CRC-32 (IEEE 802.3), as zip requires.
    static func crc32(_ data: Data) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { bytes in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
