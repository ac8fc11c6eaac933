import ArgumentParser
import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#endif

/// `distill bench gemm`: the matrix products of a DQN update on the shapes it uses, for every
/// instruction set of the kernels this CPU runs, against OpenBLAS's `cblas_sgemm` on one thread
/// in the same run (when libopenblas is installed; `SETUP_BENCH_TOOLS=1 scripts/setup.sh` installs it).
struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Matrix products on DQN's shapes: each instruction set of the kernels vs OpenBLAS (1 thread).")

    @Option(help: "Batch sizes (rows), comma-separated.")
    var batches = "32,64,128,256"
    @Option(help: "Layer widths (square weights), comma-separated.")
    var widths = "64,256,512"
    @Option(help: "Layers as ROWSxINxOUT instead of square widths, comma-separated: a convolution's im2col product, e.g. Nature DQN at batch 32: 12800x256x32,2592x512x64,1568x576x64.")
    var shapes: String?
    @Flag(help: "Skip the search for zero columns, as the convolutions' products do.")
    var dense = false
    @Option(help: "Seconds to spend measuring each figure.")
    var seconds = 0.5
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let batchSizes = try Self.sizes(batches, flag: "--batches"), layerWidths = try Self.sizes(widths, flag: "--widths")
        let blas = OpenBLAS.load()
        let sets = Kernels.availableInstructionSets.filter { name in Kernels.with(instructionSet: name) { true } != nil }
        var rows: [[String: Any]] = []
        // Layers (rows, inputs, outputs): square widths at each batch, or the shapes given.
        let layers = try shapes.map(Self.layers) ?? layerWidths.flatMap { width in batchSizes.map { (rows: $0, inputs: width, outputs: width) } }
        for layer in layers {
            let (batch, width) = (layer.rows, layer.inputs)
            // The three products of a layer's update: forward X·W, weight gradient Xᵀ·dY, input gradient dY·Wᵀ.
            for product in ["X·W", "Xᵀ·dY", "dY·Wᵀ"] {
                let (m, k, n) = product == "Xᵀ·dY" ? (layer.inputs, layer.rows, layer.outputs)
                    : product == "dY·Wᵀ" ? (layer.rows, layer.outputs, layer.inputs) : (layer.rows, layer.inputs, layer.outputs)
                let a = [Float]((0..<(m * k)).map { Float(($0 * 7) % 13) * 0.01 })
                let b = [Float]((0..<(k * n)).map { Float(($0 * 5) % 11) * 0.01 })
                var c = [Float](repeating: 0, count: m * n)
                let flops = 2.0 * Double(m * k * n)
                var row: [String: Any] = ["product": product, "batch": batch, "width": width, "outputs": layer.outputs]
                for name in sets {
                    let t = Kernels.with(instructionSet: name) {
                        medianSecondsPerCall(seconds: seconds) {
                            Self.swiftProduct(product, a, b, &c, m: m, k: k, n: n, dense: dense)
                        }
                    }!
                    row[name] = flops / t / 1e9
                }
                if let blas {
                    let t = medianSecondsPerCall(seconds: seconds) { blas.product(product, a, b, &c, m: m, k: k, n: n) }
                    row["openblas"] = flops / t / 1e9
                }
                rows.append(row)
            }
        }
        let columns = sets + (blas == nil ? [] : ["openblas"])
        if json {
            let out = rows.map { $0.merging(["cpu": BenchNN.cpuName, "unit": "GFLOP/s"]) { a, _ in a } }
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("CPU: \(BenchNN.cpuName); kernels in use: \(Kernels.instructionSet); GFLOP/s, median of 7; swift-distill on \(Kernels.threads) thread\(Kernels.threads == 1 ? "" : "s") (SWIFT_DISTILL_THREADS), OpenBLAS on 1")
        if blas == nil { print("OpenBLAS: libopenblas.so.0 not found; comparison skipped (`SETUP_BENCH_TOOLS=1 scripts/setup.sh` installs it)") }
        let best = Kernels.bestInstructionSet
        print("product  rows  in    out   " + columns.map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined()
              + (blas == nil ? "" : "\(best)/openblas"))
        for r in rows {
            var line = (r["product"] as! String).padding(toLength: 8, withPad: " ", startingAt: 0)
            line += String(format: " %5ld %5ld %5ld ", r["batch"] as! Int, r["width"] as! Int, r["outputs"] as! Int)
            for name in columns { line += String(format: "%-10.1f", r[name] as! Double) }
            if let o = r["openblas"] as? Double { line += String(format: "%.2fx", (r[best] as! Double) / o) }
            print(line)
        }
        if blas != nil {
            let ratios = rows.map { ($0[best] as! Double) / ($0["openblas"] as! Double) }.sorted()
            print(String(format: "%@ / OpenBLAS: median %.2fx, range %.2fx–%.2fx over %ld products",
                         best, ratios[ratios.count / 2], ratios.first!, ratios.last!, ratios.count))
        }
    }

    /// `ROWSxINxOUT,…` read.
    static func layers(_ text: String) throws -> [(rows: Int, inputs: Int, outputs: Int)] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--shapes takes layers as ROWSxINxOUT separated by commas, e.g. 12800x256x32; got '\(item)'.")
            }
            return (parts[0], parts[1], parts[2])
        }
    }

    static func sizes(_ text: String, flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("\(flag) takes positive sizes separated by commas, e.g. 32,64.")
        }
        return values.map { $0! }
    }

    /// The product as the training code calls it (Xᵀ·dY reads X in place; dY·Wᵀ reads W in place).
    static func swiftProduct(_ product: String, _ a: [Float], _ b: [Float], _ c: inout [Float], m: Int, k: Int, n: Int, dense: Bool = false) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    switch product {
                    case "Xᵀ·dY": Kernels.matmul(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n, transposedA: true, compact: !dense)
                    case "dY·Wᵀ": Kernels.matmulTransposedB(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n)
                    default: Kernels.matmul(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: m, k: k, n: n, compact: !dense)
                    }
                }
            }
        }
    }
}

/// OpenBLAS's `cblas_sgemm`, opened at run time so the product does not depend on it.
struct OpenBLAS {
    typealias SGemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>, Int32,
                                      UnsafePointer<Float>, Int32, Float, UnsafeMutablePointer<Float>, Int32) -> Void
    let sgemm: SGemm

    static let paths = ["libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
                        "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
                        "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0"]

    /// OpenBLAS set to one thread, or nil when it is not installed.
    static func load() -> OpenBLAS? {
        #if canImport(Glibc)
        for path in paths {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL),
                  let gemm = dlsym(handle, "cblas_sgemm"), let threads = dlsym(handle, "openblas_set_num_threads") else { continue }
            unsafeBitCast(threads, to: (@convention(c) (Int32) -> Void).self)(1)
            return OpenBLAS(sgemm: unsafeBitCast(gemm, to: SGemm.self))
        }
        #endif
        return nil
    }

    /// The same product as `BenchGemm.swiftProduct`, through cblas_sgemm (row-major).
    func product(_ product: String, _ a: [Float], _ b: [Float], _ c: inout [Float], m: Int, k: Int, n: Int) {
        let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112
        let (ta, tb) = product == "Xᵀ·dY" ? (trans, noTrans) : product == "dY·Wᵀ" ? (noTrans, trans) : (noTrans, noTrans)
        let lda = ta == trans ? m : k, ldb = tb == trans ? k : n
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    sgemm(rowMajor, ta, tb, Int32(m), Int32(n), Int32(k), 1, pa.baseAddress!, Int32(lda), pb.baseAddress!,
                          Int32(ldb), 0, pc.baseAddress!, Int32(n))
                }
            }
        }
    }
}
