// The gateway's browser sessions under `bulwark up` (docs/up.md#browser-sessions): when the mesh
// has `gateway.session`, `up` registers the gateway as a confidential OpenID Connect client of its
// own authority and keeps the client's secret and the cookie key in the state directory, where
// the gateway's uid can read them. Runs against the authority's store before the authority
// process starts; call from one thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "authority/data_dir.h"
#include "mesh/config.h"
#include "up/plan.h"

namespace bulwark::up {

struct PreparedSession {
  std::string client_id;
  std::string redirect_uri;   // <public_url>/_bulwark/callback
  std::string secret_source;  // the file the secret came from: the user's, or up's own
  bool registered = false;    // this run registered (or re-registered) the client
  bool key_created = false;   // this run made a new cookie key (earlier sessions end)
};

// Prepares layout.gateway_client_secret() and layout.gateway_session_key() (both 0600) for
// `mesh.gateway->session` (which must be set); `mesh_path` locates the relative paths it names.
// The secret: the user's client_secret_file when that file exists (the client must then be
// registered at `authority` with that secret: up does not touch it), else up's own, registering
// the client (redirect URI, post-logout URI <public_url>/, the session's scopes) when it is
// missing or no longer matches; a rerun reuses it. The key: the user's key_file when set and
// present (32 bytes raw or base64url), else up's own random 32 bytes, reused. Errors: the user's
// secret does not belong to a registered client, a key file of the wrong size, I/O.
absl::StatusOr<PreparedSession> PrepareGatewaySession(const mesh::MeshConfig& mesh,
                                                      const StateLayout& layout,
                                                      authority::OpenAuthority& authority,
                                                      const std::string& mesh_path);

}  // namespace bulwark::up
