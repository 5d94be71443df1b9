// TLS 1.3 contexts over OpenSSL through Asio. Credentials come from the crypto module's objects
// (their raw handles are up-referenced by OpenSSL, so the contexts do not borrow them).
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <exception>

#include "asio/ssl/context.hpp"
#include "crypto/internal/openssl_error.h"
#include "fmt/format.h"

namespace bulwark::tls {
namespace {

using ContextPtr = std::shared_ptr<asio::ssl::context>;

// Id for server-side session caching; OpenSSL refuses to resume a session that was verified
// with client certificates unless one is set.
constexpr unsigned char kSessionIdContext[] = "bulwark";

// TLS 1.2 suites of the public listener: ECDHE only (forward secrecy), AEAD only.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

absl::StatusOr<ContextPtr> NewContext(asio::ssl::context::method method) {
  ContextPtr ctx;
  try {
    ctx = std::make_shared<asio::ssl::context>(method);
  } catch (const std::exception& e) {
    return crypto::internal::OpenSslError(fmt::format("cannot create TLS context: {}", e.what()),
                                          absl::StatusCode::kInternal);
  }
  SSL_CTX* raw = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION) != 1) {
    return crypto::internal::OpenSslError("cannot require TLS 1.3", absl::StatusCode::kInternal);
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

absl::Status UseCredentials(SSL_CTX* ctx, const Credentials& credentials) {
  if (credentials.chain.empty()) {
    return absl::InvalidArgumentError("TLS credentials have an empty certificate chain");
  }
  if (SSL_CTX_use_certificate(ctx, credentials.chain[0].raw()) != 1) {
    return crypto::internal::OpenSslError("cannot use the TLS certificate");
  }
  for (std::size_t i = 1; i < credentials.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, credentials.chain[i].raw()) != 1) {
      return crypto::internal::OpenSslError(
          fmt::format("cannot add intermediate certificate {} to the TLS chain", i));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, credentials.key.raw()) != 1) {
    return crypto::internal::OpenSslError("cannot use the TLS private key");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return crypto::internal::OpenSslError("the TLS private key does not match the certificate");
  }
  return absl::OkStatus();
}

absl::Status AddRoots(SSL_CTX* ctx, const std::vector<crypto::Certificate>& roots, bool advertise) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const crypto::Certificate& root : roots) {
    if (X509_STORE_add_cert(store, root.raw()) != 1) {
      return crypto::internal::OpenSslError("cannot add a root certificate to the TLS store");
    }
    // Servers list the acceptable client CAs so that clients pick the right certificate.
    if (advertise && SSL_CTX_add_client_CA(ctx, root.raw()) != 1) {
      return crypto::internal::OpenSslError("cannot advertise a client CA");
    }
  }
  return absl::OkStatus();
}

int VerifyMode(ClientAuth client_auth) {
  switch (client_auth) {
    case ClientAuth::kNone:
      return SSL_VERIFY_NONE;
    case ClientAuth::kOptional:
      return SSL_VERIFY_PEER;
    case ClientAuth::kRequired:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
}

}  // namespace

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeServerContext(
    const Credentials& credentials, const std::vector<crypto::Certificate>& client_roots,
    ClientAuth client_auth) {
  if (client_auth != ClientAuth::kNone && client_roots.empty()) {
    return absl::InvalidArgumentError("client authentication needs at least one client root");
  }
  crypto::internal::ClearOpenSslErrors();
  absl::StatusOr<ContextPtr> ctx = NewContext(asio::ssl::context::tls_server);
  if (!ctx.ok()) {
    return ctx.status();
  }
  SSL_CTX* raw = (*ctx)->native_handle();
  if (absl::Status s = UseCredentials(raw, credentials); !s.ok()) {
    return s;
  }
  if (absl::Status s = AddRoots(raw, client_roots, client_auth != ClientAuth::kNone); !s.ok()) {
    return s;
  }
  SSL_CTX_set_verify(raw, VerifyMode(client_auth), nullptr);
  // No TLS 1.3 session tickets: bulwark's clients never resume (every mTLS connection is verified
  // in full, so a revoked or rotated certificate cannot ride on a resumed session), and each
  // ticket costs the server an encryption and the client a stored session (with the peer's
  // certificate) per connection.
  SSL_CTX_set_num_tickets(raw, 0);
  if (SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return crypto::internal::OpenSslError("cannot set the TLS session id context",
                                          absl::StatusCode::kInternal);
  }
  return ctx;
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakePublicServerContext(
    const Credentials& credentials) {
  crypto::internal::ClearOpenSslErrors();
  absl::StatusOr<ContextPtr> ctx = NewContext(asio::ssl::context::tls_server);
  if (!ctx.ok()) {
    return ctx.status();
  }
  SSL_CTX* raw = (*ctx)->native_handle();
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(raw, "X25519:P-256:P-384") != 1) {
    return crypto::internal::OpenSslError("cannot set the public TLS policy",
                                          absl::StatusCode::kInternal);
  }
  SSL_CTX_set_options(
      raw, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (absl::Status s = UseCredentials(raw, credentials); !s.ok()) {
    return s;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientContext(
    const std::vector<crypto::Certificate>& roots, const Credentials* credentials) {
  if (roots.empty()) {
    return absl::InvalidArgumentError("a TLS client needs at least one root certificate");
  }
  crypto::internal::ClearOpenSslErrors();
  absl::StatusOr<ContextPtr> ctx = NewContext(asio::ssl::context::tls_client);
  if (!ctx.ok()) {
    return ctx.status();
  }
  SSL_CTX* raw = (*ctx)->native_handle();
  if (credentials != nullptr) {
    if (absl::Status s = UseCredentials(raw, *credentials); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = AddRoots(raw, roots, false); !s.ok()) {
    return s;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::optional<crypto::Certificate> PeerCertificate(ssl_st* ssl) {
  if (ssl == nullptr) {
    return std::nullopt;
  }
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) {
    return std::nullopt;
  }
  return crypto::Certificate::FromX509(crypto::X509Ptr(peer));
}

}  // namespace bulwark::tls
