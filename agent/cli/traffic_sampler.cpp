#include "agent/cli/traffic_sampler.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

#include "agent/cli/libcurl.hpp"
#include "agent/cli/split_stats.hpp"

namespace cutover::cli {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// One in-flight request slot: an easy handle re-used for request after request.
struct Transfer {
  CURL* easy = nullptr;
  std::string header_lower;         // the header counted, lower-cased
  std::vector<std::string> values;  // its values in the current response

  static size_t OnHeader(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      t->values.clear();  // a new response (after 1xx): only the final one counts
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      if (Lower(std::string(line.substr(0, colon))) == t->header_lower)
        t->values.push_back(Trim(line.substr(colon + 1)));
    }
    return size * count;
  }

  static size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }
};

struct MultiDeleter {
  void operator()(CURLM* m) const { Libcurl::Get().multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { Libcurl::Get().slist_free_all(l); }
};

}  // namespace

SampleResult SampleTraffic(const SampleOptions& options) {
  SampleResult result;
  if (options.requests == 0) return result;
  // Loaded here, not at start: every other command would pay for it.
  const Libcurl& curl = Libcurl::Get();
  std::unique_ptr<CURLM, MultiDeleter> multi(curl.multi_init());
  if (!multi) throw std::runtime_error("libcurl: cannot create a multi handle");
  const long width = static_cast<long>(std::max(1u, options.concurrency));
  curl.multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, width);

  curl_slist* raw_headers = nullptr;
  for (const auto& h : options.request_headers)
    raw_headers = curl.slist_append(raw_headers, h.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  const auto transfers_wanted =
      static_cast<std::size_t>(std::min<std::uint64_t>(width, options.requests));
  std::vector<Transfer> transfers(transfers_wanted);
  for (auto& t : transfers) {
    t.easy = curl.easy_init();
    if (t.easy == nullptr) throw std::runtime_error("libcurl: cannot create an easy handle");
    t.header_lower = Lower(options.header);
    curl.easy_setopt(t.easy, CURLOPT_URL, options.url.c_str());
    curl.easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl.easy_setopt(t.easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl.easy_setopt(t.easy, CURLOPT_HEADERDATA, &t);
    curl.easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, &Transfer::Discard);
    curl.easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl.easy_setopt(t.easy, CURLOPT_USERAGENT, "cutoverctl-sample");
    if (headers) curl.easy_setopt(t.easy, CURLOPT_HTTPHEADER, headers.get());
  }

  const auto started_at = std::chrono::steady_clock::now();
  std::uint64_t finished = 0;
  for (auto& t : transfers) {
    curl.multi_add_handle(multi.get(), t.easy);
    ++result.sent;
  }
  while (finished < options.requests) {
    int running = 0;
    if (curl.multi_perform(multi.get(), &running) != CURLM_OK)
      throw std::runtime_error("libcurl: the multi handle failed");
    int queued = 0;
    while (CURLMsg* msg = curl.multi_info_read(multi.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      const CURLcode code = msg->data.result;
      if (code == CURLE_OK) {
        long status = 0;
        curl.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        ++result.statuses[status];
        const std::string value = t->values.empty()       ? kMissing
                                  : t->values.size() == 1 ? t->values.front()
                                                          : kRepeated;
        ++result.header_values[value];
      } else {
        ++result.errors[curl.easy_strerror(code)];
      }
      long opened = 0;
      curl.easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &opened);
      result.connections += static_cast<std::uint64_t>(opened);
      ++finished;
      curl.multi_remove_handle(multi.get(), t->easy);
      t->values.clear();
      if (result.sent < options.requests) {
        curl.multi_add_handle(multi.get(), t->easy);
        ++result.sent;
      }
    }
    if (finished < options.requests) curl.multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
  }
  result.elapsed = std::chrono::steady_clock::now() - started_at;
  for (auto& t : transfers) curl.easy_cleanup(t.easy);
  return result;
}

}  // namespace cutover::cli
