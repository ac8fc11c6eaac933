// The few pieces of CPython's C API that Swift cannot import directly: macros, variadic
// functions and C globals (which Swift 6 rejects as not concurrency-safe). No logic lives here.
#ifndef SWIFT_DISTILL_CPYTHON_SHIM_H
#define SWIFT_DISTILL_CPYTHON_SHIM_H

/* System headers first, without Python's feature macros (_XOPEN_SOURCE, ...): otherwise structs
   such as fd_set are declared differently here than in Glibc/Dispatch and the modules clash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <time.h>
#include <wchar.h>
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <assert.h>
#include <stdint.h>
#include <stdarg.h>
#include <ctype.h>

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline void cpy_incref(PyObject *o) { Py_INCREF(o); }
static inline void cpy_decref(PyObject *o) { Py_DECREF(o); }
static inline void cpy_xdecref(PyObject *o) { Py_XDECREF(o); }

static inline PyObject *cpy_none(void) { return Py_None; }
static inline PyObject *cpy_true(void) { return Py_True; }
static inline PyObject *cpy_false(void) { return Py_False; }

static inline int cpy_is_none(PyObject *o) { return o == Py_None; }
static inline int cpy_is_bool(PyObject *o) { return PyBool_Check(o); }
static inline int cpy_is_long(PyObject *o) { return PyLong_Check(o); }
static inline int cpy_is_float(PyObject *o) { return PyFloat_Check(o); }
static inline int cpy_is_unicode(PyObject *o) { return PyUnicode_Check(o); }
static inline int cpy_is_tuple(PyObject *o) { return PyTuple_Check(o); }
static inline int cpy_is_list(PyObject *o) { return PyList_Check(o); }
static inline int cpy_is_dict(PyObject *o) { return PyDict_Check(o); }
static inline int cpy_is_type(PyObject *o) { return PyType_Check(o); }

/// Borrowed references, no bounds check: callers check the size first.
static inline PyObject *cpy_tuple_item(PyObject *t, Py_ssize_t i) { return PyTuple_GET_ITEM(t, i); }
static inline Py_ssize_t cpy_tuple_size(PyObject *t) { return PyTuple_GET_SIZE(t); }
static inline PyObject *cpy_list_item(PyObject *l, Py_ssize_t i) { return PyList_GET_ITEM(l, i); }
static inline Py_ssize_t cpy_list_size(PyObject *l) { return PyList_GET_SIZE(l); }
/// Steals `item`.
static inline void cpy_tuple_set(PyObject *t, Py_ssize_t i, PyObject *item) { PyTuple_SET_ITEM(t, i, item); }
static inline void cpy_list_set(PyObject *l, Py_ssize_t i, PyObject *item) { PyList_SET_ITEM(l, i, item); }

static inline PyObject *cpy_exc_type_error(void) { return PyExc_TypeError; }
static inline PyObject *cpy_exc_value_error(void) { return PyExc_ValueError; }
static inline PyObject *cpy_exc_runtime_error(void) { return PyExc_RuntimeError; }
static inline PyObject *cpy_exc_keyboard_interrupt(void) { return PyExc_KeyboardInterrupt; }
static inline PyObject *cpy_exc_file_not_found(void) { return PyExc_FileNotFoundError; }
static inline PyObject *cpy_exc_file_exists(void) { return PyExc_FileExistsError; }
static inline PyObject *cpy_exc_import_error(void) { return PyExc_ImportError; }

static inline PyObject *cpy_type_of(PyObject *o) { return (PyObject *)Py_TYPE(o); }

/// Starts the interpreter once. `executable` (may be NULL) is the python that sys.executable should
/// name: pointing it at a venv's python makes site.py activate that venv. Returns 0 on success;
/// otherwise writes CPython's message into `err`.
static inline int cpy_initialize(const char *executable, char *err, size_t errlen) {
    if (Py_IsInitialized()) return 0;
    PyStatus status;
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;  /* the host program owns SIGINT */
    config.parse_argv = 0;
    if (executable != NULL) {
        status = PyConfig_SetBytesString(&config, &config.executable, executable);
        if (PyStatus_Exception(status)) goto fail;
    }
    status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status)) goto fail;
    PyConfig_Clear(&config);
    return 0;
fail:
    snprintf(err, errlen, "%s%s%s", status.func ? status.func : "", status.func ? ": " : "",
             status.err_msg ? status.err_msg : "unknown error");
    PyConfig_Clear(&config);
    return -1;
}

#endif
