import CodeExport
import Foundation
import Tensor

/// Times a model's exported C when a C compiler is on the PATH: the model is exported into a
/// temporary directory, compiled with `cc -O2` (and `-mfma` where the CPU has fused
/// multiply-add), and `NAME_act` is timed over the held-out states (the median of 5 rounds,
/// nanoseconds per action). Nil when there is no compiler or anything fails: the figure is extra.
enum CTiming {
    static let driver = """
        #define _POSIX_C_SOURCE 199309L
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include "model.h"
        int main(int argc, char **argv) {
            FILE *in = fopen(argv[1], "rb");
            long n, i, sink = 0;
            int r;
            float *states;
            if (in == NULL) return 2;
            fseek(in, 0, SEEK_END);
            n = ftell(in) / (long)(sizeof(float) * MODEL_OBSERVATION_SIZE);
            fseek(in, 0, SEEK_SET);
            states = malloc(sizeof(float) * MODEL_OBSERVATION_SIZE * (size_t)(n > 0 ? n : 1));
            if (states == NULL || fread(states, sizeof(float) * MODEL_OBSERVATION_SIZE, (size_t)n, in) != (size_t)n) return 2;
            for (r = 0; r < 5; r++) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                for (i = 0; i < n; i++) sink += model_act(states + i * MODEL_OBSERVATION_SIZE);
                clock_gettime(CLOCK_MONOTONIC, &b);
                printf("%.3f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)(n > 0 ? n : 1));
            }
            return sink == -1 ? 1 : 0;
        }
        """

    static func nanosecondsPerAction(model: URL, states: Tensor) -> Double? {
        guard let cc = compiler() else { return nil }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("distill-ctime-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let code = work.appendingPathComponent("c")
            try CodeExport.export(model: model, language: .c, output: code, name: "model", force: false)
            try Data(driver.utf8).write(to: work.appendingPathComponent("driver.c"))
            let statesFile = work.appendingPathComponent("states.f32")
            try states.scalars.withUnsafeBytes { try Data($0).write(to: statesFile) }
            let exe = work.appendingPathComponent("time").path
            let hasFMA = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" fma ") ?? false
            let flags = ["-std=c99", "-O2"] + (hasFMA ? ["-mfma"] : [])
            guard run(cc, flags + ["-I", code.path, code.appendingPathComponent("model.c").path,
                                   work.appendingPathComponent("driver.c").path, "-o", exe, "-lm"]) != nil,
                  let output = run(exe, [statesFile.path]) else { return nil }
            let rounds = output.split(separator: "\n").compactMap { Double($0) }.sorted()
            return rounds.isEmpty ? nil : rounds[rounds.count / 2]
        } catch {
            return nil
        }
    }

    /// `cc` (or `gcc`, `clang`) on the PATH.
    static func compiler() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["cc", "gcc", "clang"] {
            for dir in path.split(separator: ":") {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// Runs a program and returns its standard output, or nil when it fails.
    static func run(_ program: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
