// Fuzzes the strict application/x-www-form-urlencoded parser of the authority's OAuth endpoints
// with the parameter lists of the token and introspection endpoints. It must never crash, and
// whatever it accepts must respect the specs: known names only, values within their limits,
// never empty, never carrying a control character.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "authority/api/form_body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using bulwark::authority::api::FieldSpec;
  static const std::vector<FieldSpec> kToken = {{"grant_type", true, 128},
                                                {"client_id", false, 2048},
                                                {"scope", false, 1024},
                                                {"audience", false, 2048},
                                                {"resource", false, 2048},
                                                {"subject_token", false, 16384},
                                                {"subject_token_type", false, 128},
                                                {"requested_token_type", false, 128},
                                                {"request_context", false, 1024}};
  static const std::vector<FieldSpec> kIntrospect = {{"token", true, 16384},
                                                     {"token_type_hint", false, 64}};
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto* specs : {&kToken, &kIntrospect}) {
    auto fields = bulwark::authority::api::ParseFormFields(body, *specs);
    if (!fields.ok()) {
      continue;
    }
    for (const auto& [name, value] : *fields) {
      const FieldSpec* spec = nullptr;
      for (const FieldSpec& candidate : *specs) {
        if (candidate.name == name) {
          spec = &candidate;
        }
      }
      if (spec == nullptr || value.empty() || value.size() > spec->max_bytes) {
        std::abort();
      }
      for (char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          std::abort();
        }
      }
    }
    for (const FieldSpec& spec : *specs) {
      if (spec.required && !fields->contains(spec.name)) {
        std::abort();
      }
    }
  }
  return 0;
}
