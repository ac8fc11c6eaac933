#ifndef CCRASHNOTE_H
#define CCRASHNOTE_H

/// For the `distill` command only (never inside a user's Python): on SIGSEGV, SIGBUS, SIGILL or
/// SIGFPE, writes `note` to stderr, then lets the handler that was there before (Swift's
/// backtracer, or the default action) take the signal as if this one had not been installed.
/// `note` must stay valid for the life of the process.
void sd_install_crash_note(const char *note);

#endif
