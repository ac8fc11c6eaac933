// swift-tools-version:6.0
import PackageDescription

// Module graph (one direction): CPython -> PythonBridge -> Environments;
// Tensor -> NN -> Checkpoint; the `distill` CLI on top.
// CPython only carries headers (pkg-config `python3`, no -lpython) so a library built from it can
// later be loaded into a running Python as an extension module; executables and tests also
// depend on CPythonEmbed, which links libpython (pkg-config `python3-embed`).
let package = Package(
    name: "swift-distill",
    products: [
        .executable(name: "distill", targets: ["distill"]),
        .library(name: "PythonBridge", targets: ["PythonBridge"]),
        .library(name: "Environments", targets: ["Environments"]),
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
        .target(name: "Environments", dependencies: ["PythonBridge"]),
        .executableTarget(name: "distill", dependencies: [
            "Environments", "PythonBridge", "CPythonEmbed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PythonBridgeTests", dependencies: ["PythonBridge", "CPythonEmbed"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "PythonBridge", "CPythonEmbed"],
                    exclude: ["Fixtures"]),
    ]
)
