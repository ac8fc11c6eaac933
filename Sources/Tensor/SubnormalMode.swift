import CKernels

/// Flush-to-zero and denormals-are-zero around numeric work. Adam's second moments decay into
/// the subnormal range, where many x86 cores take a large penalty per operation (measured on an
/// AVX-512 Xeon: 45 s → 26 s for CartPole 50k); with FTZ/DAZ such values become 0, as XLA and
/// PyTorch-on-GPU treat them. The previous mode is restored afterwards, so a host process (a
/// Python interpreter, a Jupyter kernel) keeps its own floating-point state.
public enum SubnormalMode {
    /// Runs `body` with subnormals flushed to zero on this thread, then restores the mode.
    @inline(__always)
    public static func flushingToZero<R>(_ body: () throws -> R) rethrows -> R {
        let previous = sd_flush_subnormals()
        defer { sd_restore_fp_mode(previous) }
        return try body()
    }

    /// This thread's floating-point control word (for tests that check it is restored).
    public static var currentMode: UInt { UInt(sd_fp_mode()) }
}
