// Field readers shared by the section parsers: listen addresses, HTTP methods, service names.
#include <algorithm>

#include "core/status.h"
#include "fmt/format.h"
#include "mesh/internal/parse.h"

namespace bulwark::mesh::internal {

absl::StatusOr<HostPort> ReadListen(const Field& field, ParseState& state) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, field.String());
  auto address = ParseHostPort(text);
  if (!address.ok()) {
    return field.Error(std::string(address.status().message()));
  }
  state.addresses.push_back({*address, false, field.path(), field.mark()});
  return *address;
}

absl::StatusOr<std::string> ReadHttpsUrl(const Field& field) {
  // Not BULWARK_ASSIGN_OR_RETURN: GCC 12 -O2 warns maybe-uninitialized on the moved string.
  absl::StatusOr<std::string> url = field.String();
  if (url.ok() && (!url->starts_with("https://") || url->size() == 8)) {
    return field.Error(fmt::format("'{}' must be an https:// URL", *url));
  }
  return url;
}

absl::StatusOr<std::vector<std::string>> ReadMethods(const Field& field) {
  static const std::vector<std::string> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                    "PATCH", "DELETE", "OPTIONS"};
  BULWARK_ASSIGN_OR_RETURN(std::vector<Field> elements, field.Elements());
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> methods, field.StringList());
  for (std::size_t i = 0; i < methods.size(); ++i) {
    if (std::find(kMethods.begin(), kMethods.end(), methods[i]) == kMethods.end()) {
      return elements[i].Error(
          fmt::format("unknown HTTP method '{}'{}", methods[i], DidYouMean(methods[i], kMethods)));
    }
  }
  return methods;
}

absl::StatusOr<std::string> ReadServiceRef(const Field& field, const ParseState& state,
                                           bool allow_gateway) {
  BULWARK_ASSIGN_OR_RETURN(std::string name, field.String());
  if (allow_gateway && name == "gateway") {
    return name;
  }
  const auto& names = state.service_names;
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    return name;
  }
  std::vector<std::string> candidates = names;
  if (allow_gateway) {
    candidates.push_back("gateway");
  }
  return field.Error(fmt::format("unknown service '{}'{}", name, DidYouMean(name, candidates)));
}

absl::Status CheckServiceName(const Field& key) {
  const std::string& name = key.node().Scalar();
  if (name == "gateway") {
    return key.Error("'gateway' is reserved for the gateway (as in allow.from: gateway)");
  }
  const bool ok_ends = std::isalnum(static_cast<unsigned char>(name.front())) &&
                       std::isalnum(static_cast<unsigned char>(name.back()));
  const bool ok_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (name.size() > 63 || !ok_ends || !ok_chars) {
    return key.Error(fmt::format(
        "service name '{}' must be 1-63 lowercase letters, digits and '-', starting and ending "
        "with a letter or digit",
        name));
  }
  return absl::OkStatus();
}

}  // namespace bulwark::mesh::internal
