// Config time: the `cutover` directive and the upstream's init_upstream,
// which resolves blue= and green= once every upstream block is parsed.

#include "ngx_http_cutover_module.h"

#pragma GCC visibility push(hidden)
#include "ngx_http_cutover_params.hpp"
#pragma GCC visibility pop

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_init_upstream(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us);

static char* CutoverDirective(ngx_conf_t* cf, CutoverUpstream* cu) {
  auto* uscf = static_cast<ngx_http_upstream_srv_conf_t*>(
      ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module));
  if (cu->enabled) return const_cast<char*>("is duplicate");
  if (uscf->servers != nullptr && uscf->servers->nelts > 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"cutover\" upstream \"%V\" cannot have \"server\" directives: its servers "
                       "are those of its blue= and green= upstreams",
                       &uscf->host);
    return ConfError();
  }
  if (uscf->peer.init_upstream != nullptr)
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "load balancing method redefined");

  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  CutoverParams params;
  for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
    if (!params.Add(View(args[i]))) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", params.error());
      return ConfError();
    }
  }
  if (!params.Finish()) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", params.error());
    return ConfError();
  }
  auto str = [](std::string_view v) {
    return ngx_str_t{v.size(), reinterpret_cast<u_char*>(const_cast<char*>(v.data()))};
  };
  cu->slot[0].name = str(params.blue());
  cu->slot[1].name = str(params.green());
  cu->initial_weight_bp = params.weight_bp();
  cu->failover = params.failover() ? 1 : 0;
  if (params.has_key()) {
    ngx_str_t source = str(params.key());
    if (!CompileValue(cf, &source, &cu->key)) return ConfError();
  }
  if (params.has_force()) {
    ngx_str_t source = str(params.force());
    if (!CompileValue(cf, &source, &cu->force)) return ConfError();
  }
  if (uscf->host.len >= cs::kNameSize) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "upstream name \"%V\" is too long for the state file (at most %uz bytes)",
                       &uscf->host, cs::kNameSize - 1);
    return ConfError();
  }
  cu->enabled = 1;
  cu->name = uscf->host;
  cu->uscf = uscf;
  cu->file_name = cf->conf_file->file.name.data;
  cu->line = cf->conf_file->line;

  // The upstream block insists on servers; this placeholder satisfies it
  // and is never resolved, since this balancer never runs round robin.
  auto* placeholder = static_cast<ngx_http_upstream_server_t*>(ngx_array_push(uscf->servers));
  if (placeholder == nullptr) return ConfError();
  ngx_memzero(placeholder, sizeof(*placeholder));
  ngx_str_set(&placeholder->name, "cutover");

  uscf->peer.init_upstream = ngx_http_cutover_init_upstream;
  uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

  auto* mcf =
      static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_cutover_module));
  auto** slot = static_cast<CutoverUpstream**>(ngx_array_push(&mcf->upstreams));
  if (slot == nullptr) return ConfError();
  *slot = cu;
  return NGX_CONF_OK;
}

char* ngx_http_cutover(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  return Guarded(cf->log, ConfError(),
                 [&] { return CutoverDirective(cf, static_cast<CutoverUpstream*>(conf)); });
}

static ngx_http_upstream_srv_conf_t* FindUpstream(ngx_conf_t* cf, const ngx_str_t& name) {
  auto* umcf = static_cast<ngx_http_upstream_main_conf_t*>(
      ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module));
  auto** uscfp = static_cast<ngx_http_upstream_srv_conf_t**>(umcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < umcf->upstreams.nelts; ++i) {
    if ((uscfp[i]->flags & NGX_HTTP_UPSTREAM_CREATE) && uscfp[i]->host.len == name.len &&
        ngx_strncasecmp(uscfp[i]->host.data, name.data, name.len) == 0)
      return uscfp[i];
  }
  return nullptr;
}

// Resolves blue= and green= to their upstream blocks and lists their
// addresses. Runs from the upstream module's init_main_conf, once every
// block has been parsed, whatever their order in the file.
static ngx_int_t InitUpstream(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us) {
  auto* cu =
      static_cast<CutoverUpstream*>(ngx_http_conf_upstream_srv_conf(us, ngx_http_cutover_module));
  if (us->servers->nelts != 1) {
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"cutover\" upstream \"%V\" cannot have \"server\" directives in %s:%ui",
                  &us->host, cu->file_name, cu->line);
    return NGX_ERROR;
  }
#if (NGX_HTTP_UPSTREAM_ZONE)
  if (us->shm_zone != nullptr) {
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"zone\" belongs in the slot upstreams, not in \"cutover\" upstream \"%V\" in "
                  "%s:%ui",
                  &us->host, cu->file_name, cu->line);
    return NGX_ERROR;
  }
#endif
  for (std::size_t s = 0; s < kSlots; ++s) {
    SlotUpstream& su = cu->slot[s];
    su.uscf = FindUpstream(cf, su.name);
    if (su.uscf == nullptr) {
      ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "unknown upstream \"%V\" in %s:%ui", &su.name,
                    cu->file_name, cu->line);
      return NGX_ERROR;
    }
    if (su.uscf == us || su.uscf->peer.init_upstream == ngx_http_cutover_init_upstream) {
      ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                    "upstream \"%V\" is itself a cutover and cannot be a slot in %s:%ui", &su.name,
                    cu->file_name, cu->line);
      return NGX_ERROR;
    }
    auto* servers = static_cast<ngx_http_upstream_server_t*>(su.uscf->servers->elts);
    ngx_uint_t n = 0;
    for (ngx_uint_t i = 0; i < su.uscf->servers->nelts; ++i) n += servers[i].naddrs;
    su.npeers = n;
    su.peer_names = static_cast<ngx_str_t*>(ngx_pcalloc(cf->pool, (n ? n : 1) * sizeof(ngx_str_t)));
    su.peer_index = static_cast<ngx_int_t*>(ngx_pcalloc(cf->pool, (n ? n : 1) * sizeof(ngx_int_t)));
    su.peer_down = static_cast<bool*>(ngx_pcalloc(cf->pool, (n ? n : 1) * sizeof(bool)));
    if (su.peer_names == nullptr || su.peer_index == nullptr || su.peer_down == nullptr)
      return NGX_ERROR;
    ngx_uint_t k = 0;
    for (ngx_uint_t i = 0; i < su.uscf->servers->nelts; ++i)
      for (ngx_uint_t j = 0; j < servers[i].naddrs; ++j) {
        su.peer_names[k] = servers[i].addrs[j].name;
        su.peer_index[k] = -1;
        su.peer_down[k] = servers[i].down != 0;
        ++k;
      }
  }
  us->peer.init = ngx_http_cutover_init_peer;
  return NGX_OK;
}

static ngx_int_t ngx_http_cutover_init_upstream(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us) {
  return Guarded(cf->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return InitUpstream(cf, us); });
}
