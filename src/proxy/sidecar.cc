// Wires the handlers to http::Servers. The handlers hold the shared context slot and load the
// current ProxyContext per request, so a reload applies to the next request and a connection
// still finishing after Stop() never sees freed state.
#include "proxy/sidecar.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "asio/post.hpp"
#include "core/status.h"
#include "fmt/format.h"
#include "policy/rules_json.h"
#include "spdlog/spdlog.h"

namespace bulwark::proxy {
namespace {

bool IsLoopback(const mesh::HostPort& address) {
  return address.host == "localhost" || address.host == "::1" || address.host.starts_with("127.");
}

absl::StatusOr<mesh::HostPort> Address(const ProxyContext& context,
                                       const std::optional<mesh::HostPort>& address,
                                       std::string_view field, bool loopback_only) {
  std::string path = field.starts_with("calls[")
                         ? fmt::format("services.{}.{}", context.service, field)
                         : fmt::format("services.{}.sidecar.{}", context.service, field);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(fmt::format("{} is not set in {} (bulwark sidecar needs it)",
                                                  path, context.mesh.file_name));
  }
  if (loopback_only && !IsLoopback(*address)) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: {} is a plain HTTP listener and must be on loopback", path, address->ToString()));
  }
  return *address;
}

absl::StatusOr<std::unique_ptr<http::Server>> Listen(
    asio::io_context& io, const mesh::HostPort& address, http::TlsContextProvider tls,
    http::Handler handler, const ProxyContext& context, const Workers& workers = {},
    bool service_facing = false) {
  const mesh::SidecarTimeouts& timeouts = context.self().sidecar.timeouts;
  http::ServerOptions server_options;
  server_options.limits = context.options.limits;
  // Plain listeners face the local service, which may address us as an HTTP proxy.
  server_options.limits.allow_absolute_form = tls == nullptr;
  server_options.handshake_timeout = timeouts.handshake;
  server_options.header_timeout = timeouts.header;
  server_options.idle_timeout = timeouts.idle;
  server_options.workers = workers;
  if (tls == nullptr && service_facing) {
    server_options.open_socket = context.options.service_sockets;
  }
  return http::Server::Create(io, address.ToString(), std::move(tls), std::move(handler),
                              std::move(server_options));
}

template <typename Slot>
http::Handler OutboundHandler(std::shared_ptr<Slot> slot, std::optional<std::string> fixed) {
  return [slot, fixed](http::Request request, const http::ConnectionInfo& info) {
    return HandleOutbound(slot->load(), fixed, std::move(request), info.worker);
  };
}

// The listener addresses of calls[] entries with `listen:`, by service.
std::set<std::pair<std::string, std::string>> CallListens(const mesh::ServiceConfig& service) {
  std::set<std::pair<std::string, std::string>> out;
  for (const mesh::CallConfig& call : service.calls) {
    if (call.listen.has_value()) {
      out.emplace(call.service, call.listen->ToString());
    }
  }
  return out;
}

std::string Text(const std::optional<mesh::HostPort>& address) {
  return address.has_value() ? address->ToString() : "(unset)";
}

// Returns why `next` cannot replace `current` without a restart, or OK.
absl::Status CheckReloadable(const ProxyContext& current, const mesh::MeshConfig& next) {
  const mesh::ServiceConfig* self = next.FindService(current.service);
  if (self == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("service '{}' is no longer in {}", current.service, next.file_name));
  }
  if (next.trust_domain != current.mesh.trust_domain) {
    return absl::FailedPreconditionError("trust_domain changed; restart the sidecar to apply it");
  }
  const mesh::SidecarConfig& was = current.self().sidecar;
  const mesh::SidecarConfig& now = self->sidecar;
  for (auto [field, a, b] : {std::tuple{"inbound", &was.inbound, &now.inbound},
                             std::tuple{"outbound", &was.outbound, &now.outbound},
                             std::tuple{"admin", &was.admin, &now.admin}}) {
    if (*a != *b) {
      return absl::FailedPreconditionError(fmt::format(
          "services.{}.sidecar.{} changed from {} to {}; listener changes need a restart",
          current.service, field, Text(*a), Text(*b)));
    }
  }
  if (CallListens(current.self()) != CallListens(*self)) {
    return absl::FailedPreconditionError(fmt::format(
        "services.{}.calls[].listen changed; listener changes need a restart", current.service));
  }
  if (was.workers != now.workers || !(was.timeouts == now.timeouts)) {
    return absl::FailedPreconditionError(fmt::format(
        "services.{}.sidecar.workers or timeouts changed; restart the sidecar to apply them",
        current.service));
  }
  return absl::OkStatus();
}

}  // namespace

// Binds one listener per calls[] entry with `listen:`; each always leads to its service.
absl::Status Sidecar::AddCallListeners(asio::io_context& io, const Workers& workers,
                                       const std::shared_ptr<ContextSlot>& slot,
                                       const ProxyContext& context, Listeners& listeners) {
  for (const mesh::CallConfig& call : context.self().calls) {
    if (!call.listen.has_value()) {
      continue;
    }
    // Not under sidecar:, but Address() only uses the field name for messages.
    std::string field = fmt::format("calls[{}].listen", call.service);
    BULWARK_ASSIGN_OR_RETURN(mesh::HostPort address, Address(context, call.listen, field, true));
    BULWARK_ASSIGN_OR_RETURN(
        std::unique_ptr<http::Server> fixed,
        Listen(io, address, nullptr, OutboundHandler(slot, call.service), context, workers, true));
    listeners.Add("to " + call.service, std::move(fixed));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sidecar>> Sidecar::Create(asio::io_context& io,
                                                         mesh::MeshConfig mesh, std::string service,
                                                         IdentitySource identity,
                                                         SidecarOptions options, Workers workers) {
  if (mesh.FindService(service) == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("service '{}' is not in {}", service, mesh.file_name));
  }
  BULWARK_ASSIGN_OR_RETURN(policy::ServicePolicy compiled,
                           policy::ServicePolicy::Compile(mesh, service));
  auto context = std::make_shared<ProxyContext>(
      ProxyContext{std::move(mesh), std::move(service), std::move(identity), std::move(options)});
  context->policy = std::make_shared<const policy::ServicePolicy>(std::move(compiled));
  context->client_tls =
      std::make_shared<TlsContextCache>(context->identity.current, TlsContextCache::Side::kClient);
  context->pools.resize(std::max<std::size_t>(1, workers.size()));
  const mesh::SidecarConfig& config = context->self().sidecar;
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort inbound,
                           Address(*context, config.inbound, "inbound", false));
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort outbound,
                           Address(*context, config.outbound, "outbound", true));
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort admin, Address(*context, config.admin, "admin", true));
  auto slot = std::make_shared<ContextSlot>();
  auto tls = std::make_shared<TlsContextCache>(context->identity.current);
  auto listeners = std::make_shared<Listeners>();
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> in,
                           Listen(
                               io, inbound, [tls] { return tls->Get(); },
                               [slot](http::Request request, const http::ConnectionInfo& info) {
                                 return HandleInbound(slot->load(), std::move(request), info);
                               },
                               *context, workers));
  listeners->Add("inbound", std::move(in));
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<http::Server> out,
      Listen(io, outbound, nullptr, OutboundHandler(slot, std::nullopt), *context, workers, true));
  listeners->Add("outbound", std::move(out));
  BULWARK_RETURN_IF_ERROR(AddCallListeners(io, workers, slot, *context, *listeners));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> adm,
                           Listen(
                               io, admin, nullptr,
                               [slot](http::Request request, const http::ConnectionInfo&) {
                                 return HandleAdmin(slot->load(), std::move(request));
                               },
                               *context));
  listeners->Add("admin", std::move(adm));
  context->sample_listeners = [weak = std::weak_ptr<Listeners>(listeners)](ScrapeGauges& gauges) {
    if (std::shared_ptr<Listeners> alive = weak.lock()) {
      alive->Sample(gauges.open_connections, gauges.handshake_failures);
    }
  };
  slot->store(std::move(context));
  return std::unique_ptr<Sidecar>(
      new Sidecar(std::move(slot), std::move(listeners), std::move(workers)));
}

Sidecar::~Sidecar() { Stop(); }

void Sidecar::Start() { listeners_->Start(); }

void Sidecar::Stop() {
  listeners_->Stop();
  // Pooled sockets belong to the io_context; handlers finishing later close theirs at once.
  for (const UpstreamPools& pools : slot_->load()->pools) {
    pools.inbound->Close();
    pools.outbound->Close();
  }
}

void Sidecar::Drain() { listeners_->Drain(); }

std::size_t Sidecar::OpenConnections() const { return listeners_->OpenConnections(); }

void Sidecar::CloseRevokedConnections() {
  ProxyContextPtr context = slot_->load();
  listeners_->first().CloseConnectionsIf([context](const http::ConnectionInfo& info) {
    return info.peer_certificate.has_value() &&
           context->identity.is_revoked(info.peer_certificate->SerialHex());
  });
}

void Sidecar::PrunePools() {
  ProxyContextPtr context = slot_->load();
  for (std::size_t i = 0; i < context->pools.size(); ++i) {
    auto prune = [pools = context->pools[i]] {
      pools.inbound->Prune();
      pools.outbound->Prune();
    };
    // Each worker's idle sockets are closed on the worker's own thread.
    if (i < workers_.size()) {
      asio::post(*workers_[i], std::move(prune));
    } else {
      prune();
    }
  }
}

absl::Status Sidecar::Reload(mesh::MeshConfig mesh) {
  std::lock_guard<std::mutex> lock(update_mu_);
  ProxyContextPtr current = slot_->load();
  BULWARK_RETURN_IF_ERROR(CheckReloadable(*current, mesh));
  auto next = std::make_shared<ProxyContext>(*current);
  if (current->policy_version == 0) {
    BULWARK_ASSIGN_OR_RETURN(policy::ServicePolicy compiled,
                             policy::ServicePolicy::Compile(mesh, current->service));
    next->policy = std::make_shared<const policy::ServicePolicy>(std::move(compiled));
  }
  next->mesh = std::move(mesh);
  slot_->store(std::move(next));
  return absl::OkStatus();
}

absl::Status Sidecar::ApplyPolicy(std::int64_t version, std::vector<mesh::AllowRule> rules) {
  std::lock_guard<std::mutex> lock(update_mu_);
  ProxyContextPtr current = slot_->load();
  BULWARK_ASSIGN_OR_RETURN(policy::ServicePolicy compiled,
                           policy::CompileRules(current->mesh, current->service, std::move(rules)));
  auto next = std::make_shared<ProxyContext>(*current);
  next->policy = std::make_shared<const policy::ServicePolicy>(std::move(compiled));
  next->policy_version = version;
  slot_->store(std::move(next));
  return absl::OkStatus();
}

std::vector<std::string> Sidecar::Describe() const { return listeners_->Describe(); }

}  // namespace bulwark::proxy
