// Turns the OpenSSL error queue into an absl::Status. Private to crypto/ and tls/.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace bulwark::crypto::internal {

// Returns an error whose message is `what` followed by every entry of this thread's OpenSSL
// error queue; the queue is left empty. `code` picks the status code (InvalidArgument for bad
// input, Internal for library failures).
absl::Status OpenSslError(std::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInvalidArgument);
// Empties this thread's OpenSSL error queue.
void ClearOpenSslErrors();

}  // namespace bulwark::crypto::internal
