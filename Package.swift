// swift-tools-version:6.0
import PackageDescription

// Module graph (one direction): CPython -> PythonBridge -> GymEnvironments -> Environments
// (the Environments contract itself knows nothing of Python); Tensor -> NN -> Checkpoint;
// DQN and Distill on Environments, NN and Checkpoint; the `distill` CLI and the extension on top.
// CPython only carries headers (pkg-config `python3`, no -lpython) so a library built from it can
// later be loaded into a running Python as an extension module; executables and tests also
// depend on CPythonEmbed, which links libpython (pkg-config `python3-embed`).
// One binary runs on any CPU of its architecture: the kernels in CKernels are compiled for each
// instruction set (portable, AVX2+FMA, AVX-512) and chosen at run time, so no module is built
// with a -target-cpu. -ffp-contract=off: only the kernels' explicit fmas fuse, so every
// instruction set gives the same bits.

let package = Package(
    name: "swift-distill",
    products: [
        .executable(name: "distill", targets: ["distill"]),
        .library(name: "PythonBridge", targets: ["PythonBridge"]),
        .library(name: "Settings", targets: ["Settings"]),
        .library(name: "Runs", targets: ["Runs"]),
        .library(name: "Environments", targets: ["Environments"]),
        .library(name: "GymEnvironments", targets: ["GymEnvironments"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
        .library(name: "DQN", targets: ["DQN"]),
        .library(name: "Distill", targets: ["Distill"]),
        .library(name: "Robustness", targets: ["Robustness"]),
        .library(name: "CodeExport", targets: ["CodeExport"]),
        .library(name: "Quantization", targets: ["Quantization"]),
        // The CPython extension module behind python/swiftdistill (not linked to libpython).
        .library(name: "SwiftDistillPython", type: .dynamic, targets: ["PythonModule"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CPython", pkgConfig: "python3",
                       providers: [.apt(["python3-dev"])]),
        .systemLibrary(name: "CPythonEmbed", pkgConfig: "python3-embed",
                       providers: [.apt(["python3-dev"])]),
        .target(name: "PythonBridge", dependencies: ["CPython"]),
        .target(name: "Settings"),
        .target(name: "Environments"),
        .target(name: "GymEnvironments", dependencies: ["Environments", "PythonBridge"]),
        .target(name: "CKernels", exclude: ["kernels_body.h"],
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]),
        .target(name: "Tensor", dependencies: ["CKernels"]),
        .target(name: "NN", dependencies: ["Tensor"]),
        // renameat2(RENAME_EXCHANGE) for whole-directory saves: the one call Swift cannot make (variadic syscall).
        .target(name: "CFileSystem"),
        // A note on stderr when the `distill` process crashes (an environment's native code, say).
        .target(name: "CCrashNote"),
        // int8 networks: the quantiser and the integer arithmetic every reader follows.
        .target(name: "Quantization", dependencies: ["NN", "Tensor"]),
        .target(name: "Checkpoint", dependencies: ["Tensor", "NN", "Quantization", "CFileSystem"]),
        .target(name: "CodeExport", dependencies: ["NN", "Tensor", "Checkpoint", "Quantization"]),
        .target(name: "Runs", dependencies: ["Settings", "Environments", "NN", "Tensor", "Checkpoint"]),
        .target(name: "DQN", dependencies: ["Runs", "Settings", "Environments", "NN", "Tensor", "Checkpoint"]),
        .target(name: "Distill", dependencies: ["Robustness", "Runs", "Settings", "DQN", "Environments", "NN", "Tensor", "Checkpoint", "Quantization"]),
        .target(name: "Robustness", dependencies: ["Runs", "Environments", "NN", "Tensor"]),
        .target(name: "PythonModule", dependencies: ["DistillCommandLine", "Robustness", "CodeExport", "Quantization", "Runs", "Settings", "PythonBridge", "Environments", "GymEnvironments", "DQN", "Distill", "Checkpoint", "NN", "Tensor"]),
        // The command tree, run by the executable and, inside the extension, by the package's console script.
        .target(name: "DistillCommandLine", dependencies: [
            "Runs", "Settings", "Environments", "GymEnvironments", "PythonBridge", "Tensor", "NN", "Checkpoint", "DQN", "Distill",
            "CCrashNote", "CodeExport", "Quantization", "Robustness", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The executable: the command tree with libpython linked in to embed CPython.
        .executableTarget(name: "distill", dependencies: ["DistillCommandLine", "CPythonEmbed"]),
        // Test support: counts the heap allocations of a call (interposes malloc in the test binary only).
        .target(name: "CAllocationCounter", path: "Tests/Support/CAllocationCounter"),
        .testTarget(name: "PythonBridgeTests", dependencies: ["PythonBridge", "CPythonEmbed"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
        .testTarget(name: "RunsTests", dependencies: ["Runs", "Environments", "NN", "Tensor", "Checkpoint", "Settings"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments"]),
        .testTarget(name: "GymEnvironmentsTests", dependencies: ["GymEnvironments", "Environments", "PythonBridge", "CPythonEmbed"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor", "PythonBridge", "CPythonEmbed"]),
        .testTarget(name: "DQNTests", dependencies: ["Runs", "DQN", "Environments", "NN", "Tensor", "Checkpoint", "CAllocationCounter"]),
        .testTarget(name: "DistillTests", dependencies: ["Runs", "Distill", "DQN", "Environments", "NN", "Tensor"]),
        .testTarget(name: "RobustnessTests", dependencies: ["Robustness", "Runs", "Environments", "NN"]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization", "Checkpoint", "NN", "Tensor"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "NN", "Tensor", "PythonBridge", "CPythonEmbed"]),
    ]
)
