// Wires the handlers to http::Servers. The handlers hold the shared ProxyContext by value, so
// a connection still finishing after Stop() never sees freed state.
#include "proxy/sidecar.h"

#include "core/status.h"
#include "fmt/format.h"
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

absl::StatusOr<std::unique_ptr<http::Server>> Listen(asio::io_context& io,
                                                     const mesh::HostPort& address,
                                                     http::TlsContextProvider tls,
                                                     http::Handler handler,
                                                     const SidecarOptions& options) {
  http::ServerOptions server_options;
  server_options.limits = options.limits;
  // Plain listeners face the local service, which may address us as an HTTP proxy.
  server_options.limits.allow_absolute_form = tls == nullptr;
  return http::Server::Create(io, address.ToString(), std::move(tls), std::move(handler),
                              std::move(server_options));
}

http::Handler OutboundHandler(ProxyContextPtr context, std::optional<std::string> fixed) {
  return [context, fixed](http::Request request, const http::ConnectionInfo&) {
    return HandleOutbound(context, fixed, std::move(request));
  };
}

}  // namespace

// Binds one listener per calls[] entry with `listen:`; each always leads to its service.
absl::Status Sidecar::AddCallListeners(asio::io_context& io, const ProxyContextPtr& context,
                                       const SidecarOptions& options,
                                       std::vector<Listener>& listeners) {
  for (const mesh::CallConfig& call : context->self().calls) {
    if (!call.listen.has_value()) {
      continue;
    }
    // Not under sidecar:, but Address() only uses the field name for messages.
    std::string field = fmt::format("calls[{}].listen", call.service);
    BULWARK_ASSIGN_OR_RETURN(mesh::HostPort address, Address(*context, call.listen, field, true));
    BULWARK_ASSIGN_OR_RETURN(
        std::unique_ptr<http::Server> fixed,
        Listen(io, address, nullptr, OutboundHandler(context, call.service), options));
    listeners.push_back({"to " + call.service, std::move(fixed)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sidecar>> Sidecar::Create(asio::io_context& io,
                                                         mesh::MeshConfig mesh, std::string service,
                                                         IdentitySource identity,
                                                         SidecarOptions options) {
  if (mesh.FindService(service) == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("service '{}' is not in {}", service, mesh.file_name));
  }
  auto context = std::make_shared<const ProxyContext>(
      ProxyContext{std::move(mesh), std::move(service), std::move(identity), options});
  const mesh::SidecarConfig& config = context->self().sidecar;
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort inbound,
                           Address(*context, config.inbound, "inbound", false));
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort outbound,
                           Address(*context, config.outbound, "outbound", true));
  BULWARK_ASSIGN_OR_RETURN(mesh::HostPort admin, Address(*context, config.admin, "admin", true));
  auto tls = std::make_shared<TlsContextCache>(context->identity.current);
  std::vector<Listener> listeners;
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> in,
                           Listen(
                               io, inbound, [tls] { return tls->Get(); },
                               [context](http::Request request, const http::ConnectionInfo& info) {
                                 return HandleInbound(context, std::move(request), info);
                               },
                               options));
  listeners.push_back({"inbound", std::move(in)});
  BULWARK_ASSIGN_OR_RETURN(
      std::unique_ptr<http::Server> out,
      Listen(io, outbound, nullptr, OutboundHandler(context, std::nullopt), options));
  listeners.push_back({"outbound", std::move(out)});
  BULWARK_RETURN_IF_ERROR(AddCallListeners(io, context, options, listeners));
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<http::Server> adm,
                           Listen(
                               io, admin, nullptr,
                               [context](http::Request request, const http::ConnectionInfo&) {
                                 return HandleAdmin(context, std::move(request));
                               },
                               options));
  listeners.push_back({"admin", std::move(adm)});
  return std::unique_ptr<Sidecar>(new Sidecar(std::move(tls), std::move(listeners)));
}

Sidecar::~Sidecar() { Stop(); }

void Sidecar::Start() {
  for (Listener& listener : listeners_) {
    listener.server->Start();
  }
}

void Sidecar::Stop() {
  for (Listener& listener : listeners_) {
    listener.server->Stop();
  }
}

std::vector<std::string> Sidecar::Describe() const {
  std::vector<std::string> out;
  for (const Listener& listener : listeners_) {
    asio::ip::tcp::endpoint ep = listener.server->local_endpoint();
    out.push_back(fmt::format("{}={}:{}", listener.name, ep.address().to_string(), ep.port()));
  }
  return out;
}

}  // namespace bulwark::proxy
