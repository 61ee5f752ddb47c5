// ngx_http_cutover_module: a blue/green upstream balancer whose split
// changes at runtime through a shared state file.
//
//   upstream app { cutover blue=app_blue green=app_green weight=5; }
//
// The balancer picks a slot (force= > key= > smooth interleave), hands the
// request to that slot's own upstream balancer (round robin, least_conn,
// hash, keepalive... whatever the slot's block uses), fails over to the
// other slot when an attempt fails, tags the response with the slot, and
// counts what happened in the state file (include/cutover/state_layout.hpp).
//
// Shape follows nginx's own balancers (ngx_http_upstream_random_module.c)
// and multi-file modules (njs, nginx-otel): this file holds the module
// tables, as the table of contents, and the configuration objects; each
// other file does one job (see ngx_http_cutover_module.h). Config-time work
// happens in init_upstream and init_module; the request path takes no lock
// and allocates nothing on the heap: its balancer state comes from a
// per-worker free list, counters are relaxed atomic adds to the worker's own
// shard, and the weight is one acquire load of the control word.

#include "ngx_http_cutover_module.h"

#include <sys/stat.h>
#include <time.h>

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_postconfiguration(ngx_conf_t* cf);
static void* ngx_http_cutover_create_main_conf(ngx_conf_t* cf);
static char* ngx_http_cutover_init_main_conf(ngx_conf_t* cf, void* conf);
static void* ngx_http_cutover_create_srv_conf(ngx_conf_t* cf);
static void* ngx_http_cutover_create_loc_conf(ngx_conf_t* cf);
static char* ngx_http_cutover_merge_loc_conf(ngx_conf_t* cf, void* parent, void* child);

// ---------------------------------------------------------------------------
// Directives

static ngx_command_t ngx_http_cutover_commands[] = {
    // cutover_state_file PATH;                        ngx_http_cutover_state.cpp
    {ngx_string("cutover_state_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_http_cutover_state_file, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},

    // cutover blue=U green=U [weight=] [key=] [force=] [failover=];
    //                                                 ngx_http_cutover_upstream.cpp
    {ngx_string("cutover"), NGX_HTTP_UPS_CONF | NGX_CONF_1MORE, ngx_http_cutover,
     NGX_HTTP_SRV_CONF_OFFSET, 0, nullptr},

    // cutover_header NAME [VALUE] | off;              ngx_http_cutover_filter.cpp
    {ngx_string("cutover_header"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE12,
     ngx_http_cutover_header, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},

    // cutover_status;                                 ngx_http_cutover_status.cpp
    {ngx_string("cutover_status"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_cutover_status,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},

    ngx_null_command};

// ---------------------------------------------------------------------------
// The HTTP module context

static ngx_http_module_t ngx_http_cutover_module_ctx = {
    ngx_http_cutover_add_variables,      // preconfiguration: $cutover_slot, _weight, _epoch
    ngx_http_cutover_postconfiguration,  // postconfiguration: header filter, log handler

    ngx_http_cutover_create_main_conf,  // create main configuration: MainConf
    ngx_http_cutover_init_main_conf,    // init main configuration: the state file's path

    ngx_http_cutover_create_srv_conf,  // create server configuration: CutoverUpstream
    nullptr,                           // merge server configuration (upstream blocks only)

    ngx_http_cutover_create_loc_conf,  // create location configuration: HeaderConf
    ngx_http_cutover_merge_loc_conf    // merge location configuration
};

// ---------------------------------------------------------------------------
// The module

extern "C" {
ngx_module_t ngx_http_cutover_module = {
    NGX_MODULE_V1,
    &ngx_http_cutover_module_ctx,   // module context
    ngx_http_cutover_commands,      // module directives
    NGX_HTTP_MODULE,                // module type
    nullptr,                        // init master
    ngx_http_cutover_init_module,   // init module: map the state file, bind records
    ngx_http_cutover_init_process,  // init process: the SIGBUS guard over the state file
    nullptr,                        // init thread
    nullptr,                        // exit thread
    ngx_http_cutover_exit_process,  // exit process: the guard removed
    nullptr,                        // exit master
    NGX_MODULE_V1_PADDING};
}

// ---------------------------------------------------------------------------
// Shared helpers

namespace cutover::module {

std::uint64_t MonotonicUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

std::uint64_t UnixMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

bool CompileValue(ngx_conf_t* cf, ngx_str_t* source, ngx_http_complex_value_t** out) {
  *out = static_cast<ngx_http_complex_value_t*>(
      ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t)));
  if (*out == nullptr) return false;
  ngx_http_compile_complex_value_t ccv;
  ngx_memzero(&ccv, sizeof(ccv));
  ccv.cf = cf;
  ccv.value = source;
  ccv.complex_value = *out;
  return ngx_http_compile_complex_value(&ccv) == NGX_OK;
}

}  // namespace cutover::module

// ---------------------------------------------------------------------------
// Configuration objects

// A cutover upstream's peer.init is the cutover's own. Whatever wrapped it
// since init_upstream is taken off: the keepalive module does so for every
// explicit upstream from nginx 1.29.7 on (and for a `keepalive` written in
// the cutover block before), and keepalive belongs in the slot upstreams,
// which hold the connections; wrapped twice, a connection would be cached by
// the cutover's cache, outside its slot's. Runs after every module's
// init_main_conf, the keepalive module's included.
static void KeepPeerInitOurs(ngx_conf_t* cf) {
  auto* mcf =
      static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_cutover_module));
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) {
    ngx_http_upstream_srv_conf_t* us = ups[i]->uscf;
    if (us == nullptr || us->peer.init == ngx_http_cutover_init_peer) continue;
#if (nginx_version < 1029007)
    ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                  "\"keepalive\" has no effect in \"cutover\" upstream \"%V\" in %s:%ui: it "
                  "belongs in the upstreams of blue= and green=",
                  &ups[i]->name, ups[i]->file_name, ups[i]->line);
#endif
    us->peer.init = ngx_http_cutover_init_peer;
  }
}

static ngx_int_t ngx_http_cutover_postconfiguration(ngx_conf_t* cf) {
  return Guarded(cf->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
    KeepPeerInitOurs(cf);
    if (ngx_http_cutover_log_init(cf) != NGX_OK) return NGX_ERROR;
    return ngx_http_cutover_header_filter_init(cf);
  });
}

static void* ngx_http_cutover_create_main_conf(ngx_conf_t* cf) {
  return Guarded(cf->log, static_cast<void*>(nullptr), [&]() -> void* {
    auto* mcf = static_cast<MainConf*>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
    if (mcf == nullptr) return nullptr;
    if (ngx_array_init(&mcf->upstreams, cf->pool, 4, sizeof(CutoverUpstream*)) != NGX_OK)
      return nullptr;
    return mcf;
  });
}

// Without cutover_state_file, the state file lives beside nginx's own state:
// in the directory of its compiled-in client body temp path when that is
// absolute (Debian's nginx: /var/lib/nginx, where the packaged agent looks),
// else in logs/ under the prefix (nginx built from source).
static bool DefaultStateFile(ngx_conf_t* cf, ngx_str_t* out) {
  const std::string_view temp = NGX_HTTP_CLIENT_TEMP_PATH;
  const std::string_view name = "cutover.state";
  const std::size_t slash = temp.rfind('/');
  const bool beside = !temp.empty() && temp[0] == '/' && slash != 0 &&
                      slash != std::string_view::npos && slash + 1 < temp.size();
  // "/var/lib/nginx/body" -> "/var/lib/nginx/cutover.state"
  const std::string_view dir = beside ? temp.substr(0, slash + 1) : "logs/";
  out->len = dir.size() + name.size();
  out->data = static_cast<u_char*>(ngx_pnalloc(cf->pool, out->len));
  if (out->data == nullptr) return false;
  ngx_memcpy(ngx_cpymem(out->data, dir.data(), dir.size()), name.data(), name.size());
  return ngx_conf_full_name(cf->cycle, out, 0) == NGX_OK;
}

// `nginx -t` says what a start would only [alert] about: a state file whose
// directory is missing is replaced by memory no agent can see. Said only
// when some upstream is a cutover.
static void WarnOfMissingStateDirectory(ngx_conf_t* cf, const MainConf* mcf) {
  if (mcf->upstreams.nelts == 0) return;
  const std::string_view path(reinterpret_cast<const char*>(mcf->state_file.data),
                              mcf->state_file.len);
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return;
  char dir[NGX_MAX_PATH];
  ngx_memcpy(dir, path.data(), slash);
  dir[slash] = '\0';
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return;
  ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                     "the directory of the cutover state file \"%V\" does not exist: create it "
                     "(or set cutover_state_file), or nginx runs on a state no agent can see",
                     &mcf->state_file);
}

static char* ngx_http_cutover_init_main_conf(ngx_conf_t* cf, void* conf) {
  return Guarded(cf->log, ConfError(), [&]() -> char* {
    auto* mcf = static_cast<MainConf*>(conf);
    if (mcf->state_file.data == nullptr) {
      if (!DefaultStateFile(cf, &mcf->state_file)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cutover\" needs \"cutover_state_file\": no default path can be made");
        return ConfError();
      }
    }
    // NUL-terminated copy for the system calls.
    auto* path = static_cast<u_char*>(ngx_pnalloc(cf->pool, mcf->state_file.len + 1));
    if (path == nullptr) return ConfError();
    *ngx_cpymem(path, mcf->state_file.data, mcf->state_file.len) = '\0';
    mcf->state_file.data = path;
    if (mcf->state_file.len > NGX_MAX_PATH - 64) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "state file path \"%V\" is too long",
                         &mcf->state_file);
      return ConfError();
    }
    WarnOfMissingStateDirectory(cf, mcf);
    return NGX_CONF_OK;
  });
}

static void* ngx_http_cutover_create_srv_conf(ngx_conf_t* cf) {
  return Guarded(cf->log, static_cast<void*>(nullptr), [&]() -> void* {
    auto* cu = static_cast<CutoverUpstream*>(ngx_pcalloc(cf->pool, sizeof(CutoverUpstream)));
    if (cu == nullptr) return nullptr;
    cu->failover = NGX_CONF_UNSET;
    return cu;
  });
}

static void* ngx_http_cutover_create_loc_conf(ngx_conf_t* cf) {
  return Guarded(cf->log, static_cast<void*>(nullptr), [&]() -> void* {
    auto* hc = static_cast<HeaderConf*>(ngx_pcalloc(cf->pool, sizeof(HeaderConf)));
    if (hc == nullptr) return nullptr;
    hc->enabled = NGX_CONF_UNSET;
    return hc;
  });
}

static char* ngx_http_cutover_merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) {
  return Guarded(cf->log, ConfError(), [&]() -> char* {
    auto* prev = static_cast<HeaderConf*>(parent);
    auto* conf = static_cast<HeaderConf*>(child);
    if (conf->enabled == NGX_CONF_UNSET) {
      if (prev->enabled == NGX_CONF_UNSET) {
        conf->enabled = 1;
        ngx_str_set(&conf->name, "X-Backend-Server");
        conf->value = nullptr;
      } else {
        conf->enabled = prev->enabled;
        conf->name = prev->name;
        conf->value = prev->value;
      }
    }
    if (conf->enabled) {
      conf->lowcase_name = static_cast<u_char*>(ngx_pnalloc(cf->pool, conf->name.len));
      if (conf->lowcase_name == nullptr) return ConfError();
      conf->hash = ngx_hash_strlow(conf->lowcase_name, conf->name.data, conf->name.len);
    }
    return NGX_CONF_OK;
  });
}
