#include "ccrashnote.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char *crash_note;
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
#define CRASH_SIGNAL_COUNT (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction previous[CRASH_SIGNAL_COUNT];

/* Async-signal-safe: write(2) and sigaction(2) only. Restoring the previous action and
   returning re-executes the faulting instruction, which then reaches that action; a signal
   sent rather than caused (kill -SEGV) is raised again. */
static void note_and_pass_on(int sig, siginfo_t *info, void *context) {
    (void)context;
    if (crash_note != NULL) {
        ssize_t ignored = write(STDERR_FILENO, crash_note, strlen(crash_note));
        (void)ignored;
    }
    for (unsigned i = 0; i < CRASH_SIGNAL_COUNT; i++) {
        if (crash_signals[i] == sig) sigaction(sig, &previous[i], NULL);
    }
    if (info == NULL || info->si_code <= 0) raise(sig);
}

void sd_install_crash_note(const char *note) {
    crash_note = note;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = note_and_pass_on;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (unsigned i = 0; i < CRASH_SIGNAL_COUNT; i++) sigaction(crash_signals[i], &action, &previous[i]);
}
