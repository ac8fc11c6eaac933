import Tensor
import Testing

/// Byte storage of observations (uint8 frames over 255) and its decoding into the convolutions'
/// layout, against plain Swift.
@Suite struct ByteFrameTests {
    func encode(_ values: [Float], scale: Float) -> [UInt8] {
        var bytes = [UInt8](repeating: 7, count: values.count)
        values.withUnsafeBufferPointer { v in
            bytes.withUnsafeMutableBufferPointer { Kernels.encodeBytes(v.baseAddress!, $0.baseAddress!, count: v.count, scale: scale) }
        }
        return bytes
    }

    @Test func bytesRoundToNearestEvenAndClamp() {
        // Ties go to the even byte; out of range and NaN are clamped (NaN to 0).
        #expect(encode([0.5, 1.5, 2.5, 254.5, 0.49, 0.51], scale: 1) == [0, 2, 2, 254, 0, 1])
        #expect(encode([-3, -0.0, 255.4, 256, 1e9, .infinity, -.infinity, .nan], scale: 1) == [0, 0, 255, 255, 255, 255, 0, 0])
        // Every byte over 255 comes back as itself, and within rounding of it, as Swift rounds.
        let scale: Float = 1 / 255
        let exact = (0...255).map { Float($0) * scale }
        #expect(encode(exact, scale: scale) == (0...255).map { UInt8($0) })
        let near = (0..<4096).map { i in Float(i % 256) * scale + Float(i / 256 - 8) * 0.01 * scale }
        #expect(encode(near, scale: scale) == near.map { UInt8(clamping: Int(($0 / scale).rounded(.toNearestOrEven))) })
    }

    @Test(arguments: [1, 2, 3, 4, 6])
    func decodedBytesComeChannelsLast(channels: Int) {
        let plane = 37, scale: Float = 1 / 255
        let planes = (0..<(channels * plane)).map { UInt8(($0 * 31 + 5) % 256) }
        var out = [Float](repeating: -1, count: planes.count)
        planes.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer {
                Kernels.decodeBytesChannelsLast(p.baseAddress!, $0.baseAddress!, channels: channels, plane: plane, scale: scale)
            }
        }
        for c in 0..<channels {
            for p in 0..<plane { #expect(out[p * channels + c] == Float(planes[c * plane + p]) * scale) }
        }
    }
}
