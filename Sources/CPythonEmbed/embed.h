// Linking this module adds libpython (pkg-config `python3-embed`) to an executable.
// It declares nothing: the C API itself comes from the CPython module.
