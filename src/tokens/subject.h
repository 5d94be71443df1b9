// Who a request at the gateway was admitted for: the principal a transaction token names. The
// gateway's authenticators (bearer JWT, API key, session) produce it; the transaction-token
// minters (the authority's token exchange, the gateway's delegated key) write it into `sub` and
// `sub_iss`, so that a user of one issuer can never pass for a same-named user of another.
#pragma once

#include <string>
#include <vector>

namespace bulwark::tokens {

struct Subject {
  // sub_iss: the mesh.yaml name of the issuer that vouched for the subject (gateway.issuers[].name,
  // e.g. "local"), or "api_key" for an API key's client.
  std::string issuer;
  // sub: the subject as that issuer names it.
  std::string subject;
  // The scopes granted; may be empty.
  std::vector<std::string> scope;
};

}  // namespace bulwark::tokens
