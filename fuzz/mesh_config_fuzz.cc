// Fuzzes the mesh.yaml parser: any input must give a MeshConfig or an error, never a crash,
// a hang or an escaping exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mesh/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<bulwark::mesh::MeshConfig> config =
      bulwark::mesh::ParseMeshConfig(text, "mesh.yaml");
  if (config.ok()) {
    // A valid config keeps its invariants: every route names a declared service.
    if (config->gateway) {
      for (const auto& route : config->gateway->routes) {
        if (config->FindService(route.service) == nullptr) {
          __builtin_trap();
        }
      }
    }
  }
  return 0;
}
