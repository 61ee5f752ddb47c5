#include "service.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace demo {

using nlohmann::json;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

json ToJson(const Order& o) {
  return {{"id", o.id},
          {"customer_id", o.customer_id},
          {"item", o.item},
          {"quantity", o.quantity},
          {"created_at", o.created_at}};
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, {{"error", message}});
}

// A query parameter as a bounded integer; nullopt when absent.
std::optional<std::int64_t> IntParam(const httplib::Request& req, const char* name,
                                     std::int64_t min, std::int64_t max) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string text = req.get_param_value(name);
  std::size_t used = 0;
  const std::int64_t value = std::stoll(text, &used);
  if (used != text.size() || value < min || value > max)
    throw std::invalid_argument(std::string(name) + " must be an integer in " +
                                std::to_string(min) + ".." + std::to_string(max));
  return value;
}

}  // namespace

bool FaultInjector::NextFails() {
  const double rate = rate_;
  if (rate <= 0.0) return false;
  const std::uint64_t n = seen_.fetch_add(1);
  return std::floor(static_cast<double>(n + 1) * rate) > std::floor(static_cast<double>(n) * rate);
}

OrderService::OrderService(std::unique_ptr<OrderStore> store, ServiceOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      faults_(options_.fail_rate),
      server_(std::make_unique<httplib::Server>()) {
  // nginx may hold many connections open; the default pool of 8 threads
  // would queue requests behind idle keep-alive connections.
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  // Headers and body go out in separate writes: without this, Nagle and
  // delayed ACKs add 40 ms to every answer on a kept-alive connection.
  server_->set_tcp_nodelay(true);
  // nginx keeps upstream connections for up to 60 s and reuses them for as
  // many requests as it likes: closing after httplib's default 5 requests or
  // 5 s makes nginx reconnect all the time (and race the close).
  server_->set_keep_alive_max_count(100000);
  server_->set_keep_alive_timeout(75);
  server_->set_socket_options([this](int sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_socket_ = sock;
  });
  Route();
}

OrderService::~OrderService() = default;

bool OrderService::Listen(const std::string& host, int port) {
  if (!server_->bind_to_port(host, port)) return false;
  // Debian's httplib is built to listen with a backlog of 5: a burst of new
  // connections from nginx overflows it and the dropped SYNs wait out a 1 s
  // retransmit, a P99 of a second. Listening again only raises the backlog.
  ::listen(listen_socket_, SOMAXCONN);
  return server_->listen_after_bind();
}

void OrderService::Stop() { server_->stop(); }

void OrderService::Route() {
  auto& s = *server_;

  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::invalid_argument& e) {
          ReplyError(res, 400, e.what());
        } catch (const std::out_of_range& e) {
          ReplyError(res, 400, e.what());
        } catch (const json::exception& e) {
          ReplyError(res, 400, std::string("bad JSON: ") + e.what());
        } catch (const StoreError& e) {
          ReplyError(res, 503, e.what());
        } catch (const std::exception& e) {
          ReplyError(res, 500, e.what());
        }
      });

  // The injected fault hits the API, not /health nor /admin: the process
  // stays alive and observable while it answers 500s, as a real bug would.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.starts_with("/orders") && faults_.NextFails()) {
      ReplyError(res, 500, "injected fault (fail-rate " + std::to_string(faults_.rate()) + ")");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200,
          {{"status", "ok"},
           {"slot", options_.slot},
           {"version", options_.version},
           {"database", std::string(store_->engine())},
           {"fail_rate", faults_.rate()}});
  });

  s.Get("/orders", [this](const httplib::Request& req, httplib::Response& res) {
    const auto after = IntParam(req, "after", 0, INT64_MAX).value_or(0);
    const auto limit = IntParam(req, "limit", 1, kMaxPageSize).value_or(kDefaultPageSize);
    json orders = json::array();
    for (const auto& o : store_->ListOrders(after, static_cast<int>(limit)))
      orders.push_back(ToJson(o));
    Reply(res, 200, {{"orders", orders}});
  });

  s.Get(R"(/orders/(\d{1,18}))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto order = store_->GetOrder(std::stoll(req.matches[1].str()));
    if (!order) return ReplyError(res, 404, "no such order");
    Reply(res, 200, ToJson(*order));
  });

  s.Post("/orders", [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body);
    NewOrder order;
    order.customer_id = body.at("customer_id").get<std::int64_t>();
    order.item = body.at("item").get<std::string>();
    // Read wide and range-checked: get<int> would silently wrap 2^32 + 1 to 1.
    const auto quantity = body.at("quantity").get<std::int64_t>();
    if (order.item.empty() || order.item.size() > 200)
      return ReplyError(res, 400, "item must be 1 to 200 characters");
    if (quantity < 1 || quantity > 1000) return ReplyError(res, 400, "quantity must be in 1..1000");
    order.quantity = static_cast<int>(quantity);
    const auto added = store_->AddOrder(order);
    if (!added) return ReplyError(res, 422, "no such customer");
    res.set_header("Location", "/orders/" + std::to_string(added->id));
    Reply(res, 201, ToJson(*added));
  });

  // A customer's details: one row per customer, written on whichever slot
  // serves the customer (with a key= split on the customer, always the same one).
  s.Put(R"(/customers/(\d{1,18}))", [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body);
    const std::string name = body.at("name").get<std::string>();
    if (name.empty() || name.size() > 200)
      return ReplyError(res, 400, "name must be 1 to 200 characters");
    const auto customer = store_->RenameCustomer(std::stoll(req.matches[1].str()), name);
    if (!customer) return ReplyError(res, 404, "no such customer");
    Reply(res, 200, {{"id", customer->id}, {"name", customer->name}, {"email", customer->email}});
  });

  // Demo-only: not to be exposed through nginx (conf/nginx.conf denies it).
  s.Get("/admin/fail-rate", [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"fail_rate", faults_.rate()}});
  });
  s.Post("/admin/fail-rate", [this](const httplib::Request& req, httplib::Response& res) {
    const double rate = json::parse(req.body).at("fail_rate").get<double>();
    if (!(rate >= 0.0 && rate <= 1.0)) return ReplyError(res, 400, "fail_rate must be in 0..1");
    faults_.set_rate(rate);
    Reply(res, 200, {{"fail_rate", rate}});
  });
}

}  // namespace demo
