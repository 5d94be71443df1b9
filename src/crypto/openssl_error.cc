#include "crypto/internal/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "fmt/format.h"

namespace bulwark::crypto::internal {

absl::Status OpenSslError(std::string_view what, absl::StatusCode code) {
  std::string message(what);
  const char* separator = " (openssl: ";
  bool any = false;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    message += fmt::format("{}{}", separator, buf);
    separator = "; ";
    any = true;
  }
  if (any) {
    message += ")";
  }
  return absl::Status(code, message);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace bulwark::crypto::internal
