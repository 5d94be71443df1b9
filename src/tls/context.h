// TLS contexts for bulwark's servers and clients (TLS 1.3 only, P-256/Ed25519 credentials), and
// access to the verified peer certificate after a handshake. A context is immutable once made
// and may be shared by connections on any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/key.h"
#include "crypto/x509.h"

namespace asio::ssl {
class context;
}
struct ssl_st;

namespace bulwark::tls {

// A certificate chain (leaf first, then intermediates) and its private key.
struct Credentials {
  std::vector<crypto::Certificate> chain;
  crypto::PrivateKey key;
};

enum class ClientAuth {
  kNone,      // no client certificate is requested
  kOptional,  // requested and, when sent, verified against the roots
  kRequired,  // the handshake fails without a valid client certificate
};

// Makes a TLS 1.3 server context presenting `credentials`; client certificates are verified
// against `client_roots` as `client_auth` says. Peer chains may carry intermediates.
absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeServerContext(
    const Credentials& credentials, const std::vector<crypto::Certificate>& client_roots,
    ClientAuth client_auth);

// Makes the context of a public HTTPS listener (the gateway's) presenting `credentials`: TLS 1.3,
// and TLS 1.2 with ECDHE key exchange and AEAD ciphers only (AES-GCM, ChaCha20-Poly1305), the
// server's cipher preference, groups X25519, P-256 and P-384, no renegotiation, no compression,
// no client certificate requested.
absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakePublicServerContext(
    const Credentials& credentials);

// Makes a TLS 1.3 client context that verifies servers against `roots` and, when `credentials`
// is non-null, presents them as the client certificate.
absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientContext(
    const std::vector<crypto::Certificate>& roots, const Credentials* credentials);

// Returns the peer's leaf certificate of an established connection, if it sent one (the
// handshake has already verified it against the context's roots).
std::optional<crypto::Certificate> PeerCertificate(ssl_st* ssl);

}  // namespace bulwark::tls
