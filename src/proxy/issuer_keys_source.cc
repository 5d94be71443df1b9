#include "proxy/issuer_keys_source.h"

#include <filesystem>

#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/client.h"
#include "tls/context.h"
#include "tokens/jwks_refresh.h"

namespace bulwark::proxy {
namespace {

std::string Resolve(const std::string& base_dir, std::string_view path) {
  std::filesystem::path p(path);
  return p.is_relative() ? (std::filesystem::path(base_dir) / p).string() : p.string();
}

absl::StatusOr<std::vector<crypto::Certificate>> ReadRoots(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(std::string pem, core::ReadFile(path, 4 << 20));
  absl::StatusOr<std::vector<crypto::Certificate>> roots = crypto::Certificate::ChainFromPem(pem);
  if (!roots.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: no PEM certificates ({})", path, roots.status().message()));
  }
  return roots;
}

absl::StatusOr<crypto::Jwks> ReadJwksFile(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path, tokens::kMaxIssuerDocumentBytes));
  absl::StatusOr<crypto::Jwks> jwks = tokens::ParseIssuerJwks(text);
  if (!jwks.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", path, jwks.status().message()));
  }
  return jwks;
}

// GETs `url`; the answer must be 200.
absl::StatusOr<http::Response> Fetch(const std::string& url, const http::ClientOptions& options) {
  http::Request request;
  request.method = "GET";
  request.headers.Set("Accept", "application/json");
  BULWARK_ASSIGN_OR_RETURN(http::Response response, http::Send(url, std::move(request), options));
  if (response.status != 200) {
    return absl::UnavailableError(fmt::format("{} answered {}", url, response.status));
  }
  return response;
}

tokens::IssuerKeySource FixedKeys(std::shared_ptr<const tokens::IssuerKeys> keys) {
  return {[keys = std::move(keys)] { return keys; }, nullptr};
}

}  // namespace

absl::StatusOr<KeysFetcher> HttpsIssuerKeysFetcher(const mesh::IssuerConfig& config,
                                                   const std::vector<crypto::Certificate>& roots,
                                                   std::chrono::milliseconds timeout) {
  bool jwks_url = config.jwks.has_value() && config.jwks->starts_with("https://");
  if (config.IsSelf() || (!jwks_url && !config.discovery.has_value())) {
    return absl::InvalidArgumentError(fmt::format(
        "issuer '{}' has no https:// jwks or discovery URL to fetch from", config.name));
  }
  http::ClientOptions options;
  options.timeout = timeout;
  options.limits.max_body_bytes = tokens::kMaxIssuerDocumentBytes;
  // One context (the parsed roots) for every fetch of this issuer.
  BULWARK_ASSIGN_OR_RETURN(options.tls_context, tls::MakeClientContext(roots, nullptr));
  return [options, issuer = config.issuer, discovery = config.discovery,
          jwks = jwks_url ? *config.jwks : std::string()]() -> absl::StatusOr<FetchedKeys> {
    std::string jwks_uri = jwks;
    if (discovery.has_value()) {
      BULWARK_ASSIGN_OR_RETURN(http::Response doc, Fetch(*discovery, options));
      absl::StatusOr<std::string> uri = tokens::ParseDiscoveryJwksUri(doc.body, issuer);
      if (!uri.ok()) {
        return absl::DataLossError(fmt::format("{}: {}", *discovery, uri.status().message()));
      }
      jwks_uri = *std::move(uri);
    }
    BULWARK_ASSIGN_OR_RETURN(http::Response answer, Fetch(jwks_uri, options));
    absl::StatusOr<crypto::Jwks> keys = tokens::ParseIssuerJwks(answer.body);
    if (!keys.ok()) {
      return absl::DataLossError(fmt::format("{}: {}", jwks_uri, keys.status().message()));
    }
    return FetchedKeys{tokens::IssuerKeys{issuer, *std::move(keys)},
                       tokens::JwksLifetime(answer.headers.Get("Cache-Control"))};
  };
}

absl::StatusOr<std::unique_ptr<IssuerKeySources>> IssuerKeySources::Start(
    const std::vector<mesh::IssuerConfig>& issuers, std::string_view trust_domain,
    const std::string& base_dir, tokens::IssuerKeySource self, IssuerFetchOptions options) {
  std::unique_ptr<IssuerKeySources> out(new IssuerKeySources());
  for (const mesh::IssuerConfig& config : issuers) {
    auto fail = [&config](const absl::Status& status) {
      return absl::InvalidArgumentError(
          fmt::format("gateway.issuers[{}]: {}", config.name, status.message()));
    };
    tokens::IssuerKeySource keys = self;
    if (!config.IsSelf() && config.jwks.has_value() && config.jwks->starts_with("file:")) {
      absl::StatusOr<crypto::Jwks> jwks = ReadJwksFile(Resolve(base_dir, config.jwks->substr(5)));
      if (!jwks.ok()) {
        return fail(jwks.status());
      }
      keys = FixedKeys(std::make_shared<const tokens::IssuerKeys>(
          tokens::IssuerKeys{config.issuer, *std::move(jwks)}));
    } else if (!config.IsSelf()) {
      absl::StatusOr<std::vector<crypto::Certificate>> roots =
          ReadRoots(config.ca ? Resolve(base_dir, *config.ca) : options.system_roots);
      absl::StatusOr<KeysFetcher> fetcher =
          roots.ok() ? HttpsIssuerKeysFetcher(config, *roots, options.timeout)
                     : absl::StatusOr<KeysFetcher>(roots.status());
      if (!fetcher.ok()) {
        return fail(fetcher.status());
      }
      std::unique_ptr<JwksSource> source = JwksSource::Start(
          fmt::format("the keys of issuer '{}'", config.name), *std::move(fetcher), options.source);
      keys = source->AsKeySource();
      out->sources_.emplace_back(config.name, std::move(source));
    }
    out->issuers_.push_back(tokens::TrustedIssuerFromConfig(config, trust_domain, std::move(keys)));
  }
  return out;
}

const JwksSource* IssuerKeySources::Source(std::string_view name) const {
  for (const auto& [source_name, source] : sources_) {
    if (source_name == name) {
      return source.get();
    }
  }
  return nullptr;
}

}  // namespace bulwark::proxy
