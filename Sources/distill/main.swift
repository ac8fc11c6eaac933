import DistillCommandLine
import Foundation

// The `distill` executable: the command tree of DistillCommandLine, with libpython linked in so
// it can embed CPython. The Python package's `distill` console script runs the same tree inside
// its extension module instead.
exit(DistillCLI.main(arguments: Array(CommandLine.arguments.dropFirst())))
