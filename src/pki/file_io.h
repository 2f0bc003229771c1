#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "core/result.h"

namespace certplan::pki {

// Writes `text` to `path` through a temporary file (PATH.tmp) and rename(2), with `mode`, so a
// reader never sees half a file. kInternal naming the path when it cannot be written.
Status ReplaceFile(const std::string& path, const std::string& text, mode_t mode);

// The whole file; nullopt when it cannot be read.
std::optional<std::string> ReadFileText(const std::string& path);

}  // namespace certplan::pki
