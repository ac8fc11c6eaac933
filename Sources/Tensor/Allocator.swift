#if canImport(Glibc)
import Glibc
#endif

/// Process-wide memory tuning for training loops.
public enum Allocator {
    /// Asks glibc's malloc to keep freed memory instead of returning it to the OS.
    ///
    /// A training update allocates and frees the same few large buffers (weight gradients,
    /// transposes) every step. By default glibc serves blocks above 128 KiB with mmap and trims
    /// the heap top, so each update faults those pages in again — measured here as a third of a
    /// 256-256 update. Raising the mmap and trim thresholds (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD,
    /// M_TOP_PAD) makes the buffers reuse warm memory. Safe to call more than once; a no-op
    /// where mallopt is absent.
    public static func retainFreedMemory() {
        _ = configured
    }

    private static let configured: Bool = {
        #if canImport(Glibc)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1, topPad: Int32 = -2  // <malloc.h>
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 256 << 20)
        _ = mallopt(topPad, 64 << 20)
        return true
        #else
        return false
        #endif
    }()
}
