#ifndef CFILESYSTEM_H
#define CFILESYSTEM_H

/// Atomically exchanges two paths (renameat2 with RENAME_EXCHANGE): after it, each name holds
/// what the other held, and no moment exists at which either name is missing. Returns 0, or
/// -1 with errno set (e.g. EINVAL where the filesystem cannot exchange).
int sd_exchange_paths(const char *a, const char *b);

#endif
