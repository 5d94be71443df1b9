// Header hygiene and request routing for the sidecar: hop-by-hop headers (RFC 9110 §7.6.1),
// bulwark's identity header, and which service an outbound request is for. Pure functions on
// message values; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "http/message.h"

namespace bulwark::proxy {

// Carries the caller's verified SPIFFE ID to the local service; never trusted from a client.
inline constexpr std::string_view kPeerIdHeader = "X-Bulwark-Peer-Id";

// Removes the hop-by-hop headers: Connection and every header it names, Keep-Alive, Proxy-*,
// TE, Trailer, Transfer-Encoding and Upgrade.
void RemoveHopByHop(http::Headers& headers);

// Removes headers whose names become `kPeerIdHeader` or `Txn-Token` when '_' is read as '-'
// (X_Bulwark_Peer_Id, Txn_Token): CGI-style servers map both spellings to one variable, so a
// client could smuggle an identity or an unverified token past the sidecar.
void RemoveUnderscoreSpellings(http::Headers& headers);

// Returns the service an outbound request is for and rewrites `request.target` to origin-form:
// from an absolute-form target ("http://name/path", as sent to an HTTP proxy), else from the
// Host header ("name" or "name:port"). Names are lowercased. Errors: InvalidArgument when
// neither names a host, or the absolute form is not a valid http:// URL.
absl::StatusOr<std::string> TargetService(http::Request& request);

}  // namespace bulwark::proxy
