#include "crypto/internal/handles.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace bulwark::crypto::internal {

BioPtr MemoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO& bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(&bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

namespace {

// Returns the curve name of an EC key ("" when unknown).
std::string EcGroupName(const EVP_PKEY& key) {
  char name[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(&key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                     &length) != 1) {
    ERR_clear_error();
    return "";
  }
  return std::string(name, length);
}

}  // namespace

absl::StatusOr<KeyType> SupportedKeyType(const EVP_PKEY& key) {
  constexpr std::string_view kAdvice = "use ECDSA P-256 or Ed25519";
  if (EVP_PKEY_is_a(&key, "ED25519")) {
    return KeyType::kEd25519;
  }
  if (EVP_PKEY_is_a(&key, "EC")) {
    std::string group = EcGroupName(key);
    if (group == SN_X9_62_prime256v1) {
      return KeyType::kP256;
    }
    return absl::InvalidArgumentError(fmt::format("EC keys on curve {} are not accepted; {}",
                                                  group.empty() ? "(explicit or unknown)" : group,
                                                  kAdvice));
  }
  const char* name = EVP_PKEY_get0_type_name(&key);
  return absl::InvalidArgumentError(fmt::format("{} {}-bit keys are not accepted; {}",
                                                name != nullptr ? name : "unknown-algorithm",
                                                EVP_PKEY_get_bits(&key), kAdvice));
}

namespace {

absl::Status PushName(GENERAL_NAMES& names, int type, Asn1StringPtr value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!name) {
    return absl::ResourceExhaustedError("cannot allocate GENERAL_NAME");
  }
  GENERAL_NAME_set0_value(name.get(), type, value.release());
  if (sk_GENERAL_NAME_push(&names, name.get()) <= 0) {
    return absl::ResourceExhaustedError("cannot grow GENERAL_NAMES");
  }
  name.release();  // now owned by `names`
  return absl::OkStatus();
}

absl::Status PushIa5Name(GENERAL_NAMES& names, int type, std::string_view kind,
                         const std::string& value) {
  bool printable = !value.empty();
  for (char c : value) {
    printable = printable && c > 0x20 && c < 0x7f;
  }
  if (!printable) {
    return absl::InvalidArgumentError(fmt::format(
        "subjectAltName {} '{}' must be non-empty printable ASCII without spaces", kind, value));
  }
  Asn1StringPtr ia5(ASN1_IA5STRING_new());
  if (!ia5 || ASN1_STRING_set(ia5.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return absl::ResourceExhaustedError("cannot allocate IA5String");
  }
  return PushName(names, type, std::move(ia5));
}

}  // namespace

absl::StatusOr<GeneralNamesPtr> BuildGeneralNames(const std::vector<std::string>& uris,
                                                  const std::vector<std::string>& dns_names,
                                                  const std::vector<std::string>& ips) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return absl::ResourceExhaustedError("cannot allocate GENERAL_NAMES");
  }
  for (const std::string& uri : uris) {
    if (absl::Status s = PushIa5Name(*names, GEN_URI, "URI", uri); !s.ok()) {
      return s;
    }
  }
  for (const std::string& dns : dns_names) {
    if (absl::Status s = PushIa5Name(*names, GEN_DNS, "DNS name", dns); !s.ok()) {
      return s;
    }
  }
  for (const std::string& ip : ips) {
    Asn1StringPtr octets(a2i_IPADDRESS(ip.c_str()));
    if (!octets) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          fmt::format("subjectAltName IP '{}' is not an IPv4 or IPv6 address", ip));
    }
    if (absl::Status s = PushName(*names, GEN_IPADD, std::move(octets)); !s.ok()) {
      return s;
    }
  }
  return names;
}

std::vector<std::string> GeneralNameStrings(const GENERAL_NAMES& names, int gen_type) {
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(&names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(&names, i);
    if (name->type == gen_type && (gen_type == GEN_URI || gen_type == GEN_DNS)) {
      const ASN1_STRING* value = name->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
    }
  }
  return out;
}

}  // namespace bulwark::crypto::internal
