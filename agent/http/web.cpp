#include "agent/http/web.hpp"

namespace cutover::agent::http {

namespace {

// kPage, kPageScriptHash, kPageStyleHash (agent/http/web/embed.cmake).
#include "web_page.inc"

HttpResponse Page(HttpRequest&) {
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(WebPage());
  r.headers = {
      {"Content-Security-Policy", WebPageContentSecurityPolicy()},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      // The page is part of the binary: a cached copy of another agent's
      // version would call routes this one may not have.
      {"Cache-Control", "no-store"},
  };
  return r;
}

}  // namespace

std::string_view WebPage() { return {kPage, sizeof(kPage) - 1}; }

const std::string& WebPageContentSecurityPolicy() {
  // Nothing but the page's own script and style, and requests to the agent
  // (fetch and EventSource): no other origin, no plugin, no frame around it.
  static const std::string policy = std::string("default-src 'none'; script-src ") +
                                    kPageScriptHash + "; style-src " + kPageStyleHash +
                                    "; connect-src 'self'; img-src 'self'; base-uri 'none'; "
                                    "form-action 'none'; frame-ancestors 'none'";
  return policy;
}

void AddWebRoutes(Router& router) {
  router.Add("GET", "/", Page);
  router.Add("GET", "/ui", Page);
}

}  // namespace cutover::agent::http
