// The web view: one page (agent/http/web/index.html, embedded in the binary
// at build time) that shows every cutover live and acts on its rollout,
// through the JSON routes alone (api_routes.hpp), with the same token rules.
// Served at GET / and GET /ui with a Content-Security-Policy that lets only
// the page's own inline script and style run and connect only to the agent.
#pragma once

#include <string>
#include <string_view>

#include "agent/http/router.hpp"

namespace cutover::agent::http {

// The page, as embedded.
std::string_view WebPage();
// The Content-Security-Policy it is served with.
const std::string& WebPageContentSecurityPolicy();

// GET / and GET /ui: the page.
void AddWebRoutes(Router& router);

}  // namespace cutover::agent::http
