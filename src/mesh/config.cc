#include "mesh/config.h"

#include <algorithm>
#include <exception>

#include "core/files.h"
#include "core/status.h"
#include "fmt/format.h"
#include "identity/spiffe_id.h"
#include "mesh/internal/parse.h"
#include "mesh/internal/yaml_reader.h"

namespace bulwark::mesh {
namespace {

using internal::AddressUse;
using internal::Field;
using internal::MapReader;
using internal::ParseContext;
using internal::ParseState;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

// Checks a trust domain name per the SPIFFE ID specification.
absl::Status CheckTrustDomain(const Field& field, const std::string& name) {
  if (name.starts_with("spiffe://")) {
    return field.Error(
        fmt::format("write the trust domain without 'spiffe://' (as in '{}')", name.substr(9)));
  }
  if (!identity::ValidateTrustDomain(name).ok()) {
    return field.Error(fmt::format(
        "trust domain '{}' must be at most 255 lowercase letters, digits, '.', '-' and '_'", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<AuthorityConfig> ParseAuthority(const Field& field, ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(MapReader map,
                           MapReader::Create(field, {"listen", "data_dir", "svid_ttl", "issuer"}));
  AuthorityConfig authority;
  if (std::optional<Field> listen = map.Get("listen")) {
    BULWARK_ASSIGN_OR_RETURN(authority.listen, internal::ReadListen(*listen, state));
  } else {
    state.addresses.push_back({authority.listen, false, "authority.listen", field.mark()});
  }
  if (std::optional<Field> data_dir = map.Get("data_dir")) {
    BULWARK_ASSIGN_OR_RETURN(authority.data_dir, data_dir->String());
  }
  if (std::optional<Field> ttl = map.Get("svid_ttl")) {
    BULWARK_ASSIGN_OR_RETURN(authority.svid_ttl, ttl->Duration());
    if (authority.svid_ttl < core::Seconds(60) ||
        authority.svid_ttl > std::chrono::hours(24 * 30)) {
      return ttl->Error("must be between 1m and 30d (SVIDs are short-lived and renewed)");
    }
  }
  if (std::optional<Field> issuer = map.Get("issuer")) {
    BULWARK_ASSIGN_OR_RETURN(authority.issuer, internal::ReadHttpsUrl(*issuer));
    if (authority.issuer->find_first_of("?#") != std::string::npos ||
        authority.issuer->ends_with("/")) {
      // RFC 8414 §2: no query or fragment; a trailing slash would double in endpoint URLs.
      return issuer->Error(fmt::format(
          "'{}' must have no query, fragment or trailing '/' (RFC 8414 §2)", *authority.issuer));
    }
  }
  return authority;
}

bool IsLoopbackOrWildcard(const HostPort& a) {
  return a.IsWildcard() || a.host == "127.0.0.1" || a.host == "localhost";
}

// Returns whether two uses cannot bind at the same time.
bool Clash(const AddressUse& a, const AddressUse& b) {
  if (a.address.port == 0 || a.address.port != b.address.port) {
    return false;
  }
  if (a.is_service_port || b.is_service_port) {
    // Services without a sandbox listen on the host's loopback interface.
    const AddressUse& other = a.is_service_port ? b : a;
    return other.is_service_port || IsLoopbackOrWildcard(other.address);
  }
  auto normalized = [](const HostPort& h) { return h.host == "localhost" ? "127.0.0.1" : h.host; };
  return a.address.IsWildcard() || b.address.IsWildcard() ||
         normalized(a.address) == normalized(b.address);
}

absl::Status CheckClashes(const ParseContext& context, const ParseState& state) {
  const auto& uses = state.addresses;
  for (std::size_t i = 0; i < uses.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (!Clash(uses[i], uses[j])) {
        continue;
      }
      const std::string what = uses[i].is_service_port
                                   ? fmt::format("port {}", uses[i].address.port)
                                   : fmt::format("address {}", uses[i].address.ToString());
      return context.Error(uses[i].mark, uses[i].path,
                           fmt::format("{} is already used by {}", what, uses[j].path));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MeshConfig> ParseRoot(const Field& root, ParseContext& context) {
  BULWARK_ASSIGN_OR_RETURN(
      MapReader map, MapReader::Create(root, {"trust_domain", "authority", "gateway", "services"}));
  MeshConfig config;
  ParseState state;
  // Service names first: routes, calls and allow rules may name services declared later.
  std::vector<std::pair<Field, Field>> services;
  if (std::optional<Field> field = map.Get("services")) {
    BULWARK_ASSIGN_OR_RETURN(services, field->Entries());
    for (const auto& [key, value] : services) {
      state.service_names.push_back(key.node().Scalar());
    }
  }
  BULWARK_ASSIGN_OR_RETURN(Field trust_domain, map.Require("trust_domain"));
  BULWARK_ASSIGN_OR_RETURN(config.trust_domain, trust_domain.String());
  BULWARK_RETURN_IF_ERROR(CheckTrustDomain(trust_domain, config.trust_domain));
  if (std::optional<Field> authority = map.Get("authority")) {
    BULWARK_ASSIGN_OR_RETURN(config.authority, ParseAuthority(*authority, state));
  } else {
    state.addresses.push_back({config.authority.listen, false, "authority.listen", root.mark()});
  }
  if (std::optional<Field> gateway = map.Get("gateway")) {
    BULWARK_ASSIGN_OR_RETURN(config.gateway, internal::ParseGateway(*gateway, state));
  }
  for (const auto& [key, value] : services) {
    BULWARK_ASSIGN_OR_RETURN(ServiceConfig service, internal::ParseService(key, value, state));
    config.services.push_back(std::move(service));
  }
  BULWARK_RETURN_IF_ERROR(CheckClashes(context, state));
  return config;
}

}  // namespace

absl::StatusOr<MeshConfig> ParseMeshConfig(std::string_view yaml_text, std::string_view file_name) {
  ParseContext context{std::string(file_name)};
  if (yaml_text.size() > kMaxConfigBytes) {
    return context.Error(YAML::Mark::null_mark(), "", "the file is larger than 1 MiB");
  }
  try {
    BULWARK_ASSIGN_OR_RETURN(YAML::Node root,
                             internal::LoadSingleDocument(std::string(yaml_text), context));
    if (root.IsNull()) {
      return context.Error(YAML::Mark::null_mark(), "",
                           "the file is empty; it needs at least trust_domain");
    }
    BULWARK_ASSIGN_OR_RETURN(MeshConfig config,
                             ParseRoot(Field(context, root, root.Mark(), ""), context));
    config.file_name = std::string(file_name);
    return config;
  } catch (const YAML::Exception& e) {
    return context.Error(e.mark, "invalid YAML", e.msg);
  } catch (const std::exception& e) {
    // Only allocation failures are expected here; never let them escape the module.
    return context.Error(YAML::Mark::null_mark(), "", e.what());
  }
}

absl::StatusOr<MeshConfig> LoadMeshConfig(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path, kMaxConfigBytes));
  return ParseMeshConfig(text, path);
}

const ServiceConfig* MeshConfig::FindService(std::string_view name) const {
  for (const ServiceConfig& service : services) {
    if (service.name == name) {
      return &service;
    }
  }
  return nullptr;
}

std::string GatewayConfig::PublicUrl() const {
  if (!public_url.empty()) {
    return public_url;
  }
  return fmt::format("https://{}", listen.ToString());
}

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kSession:
      return "session";
    case AuthMethod::kBearer:
      return "bearer";
    case AuthMethod::kApiKey:
      return "api_key";
  }
  return "?";
}

}  // namespace bulwark::mesh
