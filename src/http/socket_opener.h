// The seam through which a server or client gets a fresh TCP socket instead of opening one
// itself: `bulwark up`'s sidecars create their service-facing sockets inside the service's
// network namespace (sandbox::NamespaceThread). A socket keeps the namespace it was made in,
// so binding, listening and connecting it later on any thread happen there.
#pragma once

#include <functional>

#include "absl/status/statusor.h"

namespace bulwark::http {

// Returns a new, unbound TCP socket (an owned descriptor, CLOEXEC) of `family` (AF_INET or
// AF_INET6), or why it could not make one.
using SocketOpener = std::function<absl::StatusOr<int>(int family)>;

}  // namespace bulwark::http
