// Fuzzes the strict JSON request-body parser of the authority's API with the field lists of its
// real endpoints. It must never crash, and whatever it accepts must respect the field specs.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "authority/api/json_body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using bulwark::authority::api::FieldSpec;
  static const std::vector<FieldSpec> kIssue = {
      {"join_token", true, 128}, {"csr", true, 8192}, {"spiffe_id", false, 2048}};
  static const std::vector<FieldSpec> kRevoke = {{"serial", false, 64}, {"spiffe_id", false, 2048}};
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto* specs : {&kIssue, &kRevoke}) {
    auto fields = bulwark::authority::api::ParseStringFields(body, *specs);
    if (!fields.ok()) {
      continue;
    }
    for (const auto& [name, value] : *fields) {
      bool known = false;
      for (const FieldSpec& spec : *specs) {
        if (spec.name == name) {
          known = true;
          if (value.size() > spec.max_bytes) {
            std::abort();
          }
        }
      }
      if (!known) {
        std::abort();
      }
    }
  }
  return 0;
}
