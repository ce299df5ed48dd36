#pragma once
// Writing a whole output file (a model, a YAML snippet, a plot) so that a failure is reported
// and never leaves a cut file behind.
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage {

// Writes `bytes` to `path`: into a new temporary file next to it, synced and closed with every
// error checked, then renamed over `path`, so a reader (the gateway reloading a model on SIGHUP)
// sees the old file or the new one, never part of one, and a failed write (disk full, a file
// size limit, no such directory) leaves an existing `path` as it was. A symlink is followed and
// its target replaced (a dangling one's created); an existing file keeps its permission bits, and
// one this user may not write (chmod a-w) is an error, as opening it would be. A `path` that exists
// and is not a regular file (/dev/null, a FIFO) is written in place; so is one naming this
// process's own open descriptor (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N), whatever it
// is redirected to, at its current offset after flushing stdio. The error names `path` and the
// system's reason. Not safe against another writer of the same path at the same time.
// A write killed between creating its temporary and renaming it leaves ".NAME.tmp-DIGITS"
// behind: the next successful write of the same path removes such files that are regular,
// this user's and older than 10 minutes (no live write keeps one that long), nothing else.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// Whether `path` could be created or replaced, checked before long work: its directory exists
// and is a directory (a symlink's target's), `path` itself is not a directory, and an
// existing `path` is writable by this user. Ok, or the reason naming `path`.
Status CheckWritablePath(const std::string& path);

}  // namespace triage
