// cutover-demo-app: the orders service of the demo, and the commands around
// it (seed, migrate, load). See docs/deployment.md, "What the demo shows".
#include <signal.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "load.hpp"
#include "migrate.hpp"
#include "service.hpp"
#include "sqlite_store.hpp"
#include "store.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  cutover-demo-app [serve] --listen HOST:PORT --db DSN [--slot blue|green]
                   [--version V] [--fail-rate F]
  cutover-demo-app seed --db DSN [--orders N] [--customers N]     (tops up to N)
  cutover-demo-app migrate --from sqlite:PATH --to postgresql://... [--blue-ids-from N]
  cutover-demo-app load --url http://HOST:PORT [--rate R] [--write-share F]
                   [--workers N] [--duration SECONDS] [--events FILE] [--report FILE]
DSN: sqlite:PATH or postgresql://USER@HOST:PORT/DB
)";

struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// --name value pairs; every flag takes a value.
class Flags {
 public:
  Flags(int argc, char** argv, int first, std::initializer_list<const char*> known) {
    for (int i = first; i < argc; ++i) {
      std::string name = argv[i];
      if (!name.starts_with("--")) throw UsageError("unexpected argument \"" + name + "\"");
      name = name.substr(2);
      if (std::find_if(known.begin(), known.end(), [&](const char* k) { return name == k; }) ==
          known.end())
        throw UsageError("unknown flag --" + name);
      if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
      values_[name] = argv[++i];
    }
  }
  std::string Required(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError("--" + name + " is required");
    return it->second;
  }
  std::string Get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  double Number(const std::string& name, double fallback, double min, double max) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || !(value >= min && value <= max))
      throw UsageError("--" + name + " must be a number in " + std::to_string(min) + ".." +
                       std::to_string(max));
    return value;
  }

 private:
  std::map<std::string, std::string> values_;
};

// SIGINT and SIGTERM are blocked in every thread and taken by one waiter, so
// a stop is a normal return through destructors rather than a handler.
void OnStopSignal(std::function<void()> stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, stop = std::move(stop)] {
    int sig = 0;
    sigwait(&set, &sig);
    stop();
  }).detach();
}

int Serve(const Flags& flags) {
  const std::string listen = flags.Required("listen");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw UsageError("--listen must be HOST:PORT");
  const std::string host = listen.substr(0, colon);
  const int port = std::stoi(listen.substr(colon + 1));

  demo::ServiceOptions options;
  options.slot = flags.Get("slot", "blue");
  if (options.slot != "blue" && options.slot != "green")
    throw UsageError("--slot must be blue or green");
  options.version = flags.Get("version", options.version);
  options.fail_rate = flags.Number("fail-rate", 0.0, 0.0, 1.0);

  auto store = demo::OpenStore(flags.Required("db"));
  store->CreateSchema();
  const std::string engine(store->engine());
  demo::OrderService service(std::move(store), options);
  OnStopSignal([&service] { service.Stop(); });
  std::cerr << "cutover-demo-app: " << options.slot << " " << options.version << " on " << engine
            << ", listening on " << listen << std::endl;
  if (!service.Listen(host, port)) {
    std::cerr << "cutover-demo-app: cannot listen on " << listen << std::endl;
    return 1;
  }
  return 0;
}

int Seed(const Flags& flags) {
  const auto orders = static_cast<std::int64_t>(flags.Number("orders", 100, 0, 10'000'000));
  const auto customers = static_cast<std::int64_t>(flags.Number("customers", 10, 1, 100'000));
  const std::string dsn = flags.Required("db");
  auto store = demo::OpenStore(dsn);
  store->CreateSchema();
  auto fill = [&] {
    for (std::int64_t c = store->CountRows("customers") + 1; c <= customers; ++c)
      store->AddCustomer("Customer " + std::to_string(c),
                         "customer" + std::to_string(c) + "@example.com");
    // Tops up to `orders` (so seeding again, as a container start does, adds
    // nothing), spread over the last `orders` minutes, oldest first.
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    static constexpr const char* kItems[] = {"widget", "gadget", "sprocket", "gizmo", "doohickey"};
    for (std::int64_t i = store->CountRows("orders"); i < orders; ++i) {
      demo::NewOrder order{1 + i % customers, kItems[i % 5], static_cast<int>(1 + i % 4),
                           demo::UtcTime(now - (orders - i) * 60)};
      if (!store->AddOrder(order)) throw demo::StoreError("seed: customer vanished");
    }
  };
  if (auto* sqlite = dynamic_cast<demo::SqliteStore*>(store.get()))
    sqlite->InTransaction(fill);  // one transaction: thousands of rows in milliseconds
  else
    fill();
  std::cout << "seed: " << store->CountRows("customers") << " customers, "
            << store->CountRows("orders") << " orders in " << store->engine() << "\n";
  return 0;
}

int Load(const Flags& flags) {
  demo::LoadOptions options;
  options.url = flags.Required("url");
  options.rate = flags.Number("rate", options.rate, 1, 100'000);
  options.write_share = flags.Number("write-share", options.write_share, 0, 1);
  options.workers = static_cast<int>(flags.Number("workers", options.workers, 1, 256));
  options.duration_seconds = flags.Number("duration", 0, 0, 86'400);
  options.events_path = flags.Get("events", "");
  options.report_path = flags.Get("report", "");
  static std::atomic<bool> stop{false};
  OnStopSignal([] { stop = true; });
  return demo::RunLoad(options, stop);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (command == "seed") return Seed(Flags(argc, argv, 2, {"db", "orders", "customers"}));
    if (command == "migrate") {
      Flags flags(argc, argv, 2, {"from", "to", "blue-ids-from"});
      demo::Migrate(flags.Required("from"), flags.Required("to"), std::cout,
                    static_cast<std::int64_t>(flags.Number("blue-ids-from", 0, 0, 1e15)));
      return 0;
    }
    if (command == "load")
      return Load(Flags(argc, argv, 2,
                        {"url", "rate", "write-share", "workers", "duration", "events", "report"}));
    const int first = command == "serve" ? 2 : 1;
    if (command != "serve" && !command.starts_with("--"))
      throw UsageError(command.empty() ? "no command" : "unknown command \"" + command + "\"");
    return Serve(Flags(argc, argv, first, {"listen", "db", "slot", "version", "fail-rate"}));
  } catch (const UsageError& e) {
    std::cerr << "cutover-demo-app: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cutover-demo-app: " << e.what() << "\n";
    return 1;
  }
}
