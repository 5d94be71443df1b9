// The state directory of `bulwark up` (docs/up.md#state-directory): created on the first run
// with the authority initialised in it; on every run the trust bundle copied out of the
// authority's 0700 directory, the gateway's TLS certificate issued by the authority's CA (when
// gateway.tls is unset), the gateway's OpenID Connect client and cookie key prepared (when
// gateway.session is set: up/gateway_session.h), the resolved mesh.yaml written, and the
// authority's files handed to the authority's uid. Call from one thread before the Supervisor
// starts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "mesh/config.h"
#include "up/gateway_session.h"
#include "up/plan.h"

namespace bulwark::up {

struct PreparedState {
  bool initialised = false;                // the authority was created by this run
  std::string root_serial;                 // of its root CA
  std::optional<PreparedSession> session;  // gateway.session is set
};

// Prepares `plan.layout` for `mesh` (whose text is `mesh_text`, read from `mesh_path`).
// Errors: a directory or file cannot be created, the authority cannot be initialised or opened,
// the certificate cannot be issued.
absl::StatusOr<PreparedState> PrepareState(const mesh::MeshConfig& mesh, const Plan& plan,
                                           std::string_view mesh_text,
                                           const std::string& mesh_path);

}  // namespace bulwark::up
