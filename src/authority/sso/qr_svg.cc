#include "authority/sso/qr_svg.h"

#include <qrencode.h>

#include <memory>

#include "fmt/format.h"

namespace bulwark::authority {
namespace {

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

constexpr int kQuietZone = 4;

}  // namespace

absl::StatusOr<std::string> QrSvg(std::string_view text, std::string_view label_html) {
  std::string terminated(text);  // libqrencode reads a NUL-terminated string
  std::unique_ptr<QRcode, QrFree> code(
      QRcode_encodeString8bit(terminated.c_str(), 0, QR_ECLEVEL_M));
  if (code == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("the text ({} bytes) does not fit in a QR code", text.size()));
  }
  int size = code->width + 2 * kQuietZone;
  std::string path;
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      // Bit 0 of each module byte is "dark".
      if ((code->data[y * code->width + x] & 1) != 0) {
        path += fmt::format("M{},{}h1v1h-1z", x + kQuietZone, y + kQuietZone);
      }
    }
  }
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" role=\"img\" "
      "aria-label=\"{1}\" shape-rendering=\"crispEdges\"><rect width=\"{0}\" height=\"{0}\" "
      "fill=\"#fff\"/><path fill=\"#000\" d=\"{2}\"/></svg>",
      size, label_html, path);
}

}  // namespace bulwark::authority
