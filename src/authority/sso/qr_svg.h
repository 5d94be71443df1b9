// QR codes as inline SVG (the TOTP enrolment page), through libqrencode. Pure function;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bulwark::authority {

// Returns an <svg> element (role="img", labelled `label`, which the caller escapes) drawing the
// QR code of `text` (error correction level M, 4-module quiet zone). InvalidArgument when `text`
// does not fit in a QR code.
absl::StatusOr<std::string> QrSvg(std::string_view text, std::string_view label_html);

}  // namespace bulwark::authority
