// The slot on the response: the cutover_header directive, the header
// filter that sets it, and the $cutover_slot, $cutover_weight and
// $cutover_epoch variables.

#include "ngx_http_cutover_module.h"

#pragma GCC visibility push(hidden)
#include "cutover/percent.hpp"
#pragma GCC visibility pop

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_header_filter(ngx_http_request_t* r);
static ngx_int_t ngx_http_cutover_variable(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                                           uintptr_t data);

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;

// ---------------------------------------------------------------------------
// cutover_header NAME [VALUE] | off;

static char* HeaderDirective(ngx_conf_t* cf, HeaderConf* hc) {
  if (hc->enabled != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (cf->args->nelts == 2 && args[1].len == 3 && ngx_strncmp(args[1].data, "off", 3) == 0) {
    hc->enabled = 0;
    return NGX_CONF_OK;
  }
  ngx_str_t& name = args[1];
  if (name.len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid header name \"%V\"", &name);
    return ConfError();
  }
  for (std::size_t i = 0; i < name.len; ++i) {
    const u_char c = name.data[i];
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    if (!token) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid header name \"%V\"", &name);
      return ConfError();
    }
  }
  hc->enabled = 1;
  hc->name = name;
  if (cf->args->nelts == 3 && !CompileValue(cf, &args[2], &hc->value)) return ConfError();
  return NGX_CONF_OK;
}

char* ngx_http_cutover_header(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  return Guarded(cf->log, ConfError(),
                 [&] { return HeaderDirective(cf, static_cast<HeaderConf*>(conf)); });
}

// ---------------------------------------------------------------------------
// Header filter: X-Backend-Server (or cutover_header's name) on every
// response that went through a cutover upstream, replacing any header of
// that name the upstream sent (or add_header set: this filter runs after
// the headers filter), so a backend cannot claim another slot.

ngx_int_t ngx_http_cutover_header_filter_init(ngx_conf_t* cf) {
  ngx_http_next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = ngx_http_cutover_header_filter;
  return NGX_OK;
}

static ngx_int_t HeaderFilter(ngx_http_request_t* r) {
  RequestState* st = StateOf(r);
  if (st == nullptr || st->conf == nullptr) return ngx_http_next_header_filter(r);
  auto* hc = static_cast<HeaderConf*>(ngx_http_get_module_loc_conf(r, ngx_http_cutover_module));
  if (!hc->enabled) return ngx_http_next_header_filter(r);

  ngx_list_part_t* part = &r->headers_out.headers.part;
  auto* h = static_cast<ngx_table_elt_t*>(part->elts);
  for (ngx_uint_t i = 0;; ++i) {
    if (i >= part->nelts) {
      if (part->next == nullptr) break;
      part = part->next;
      h = static_cast<ngx_table_elt_t*>(part->elts);
      i = 0;
    }
    if (h[i].hash != 0 && h[i].key.len == hc->name.len &&
        ngx_strncasecmp(h[i].key.data, hc->name.data, hc->name.len) == 0)
      h[i].hash = 0;  // nginx's way of deleting an output header
  }

  ngx_str_t value;
  if (hc->value == nullptr) {
    value.data = reinterpret_cast<u_char*>(const_cast<char*>(cs::SlotName(st->slot)));
    value.len = ngx_strlen(value.data);
  } else if (ngx_http_complex_value(r, hc->value, &value) != NGX_OK) {
    return NGX_ERROR;
  }
  // As add_header: an empty value sends no header (the upstream's, if any,
  // is still removed above).
  if (value.len == 0) return ngx_http_next_header_filter(r);
  auto* out = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (out == nullptr) return NGX_ERROR;
  out->hash = hc->hash;
  out->key = hc->name;
  out->lowcase_key = hc->lowcase_name;
  out->value = value;
  return ngx_http_next_header_filter(r);
}

static ngx_int_t ngx_http_cutover_header_filter(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return HeaderFilter(r); });
}

// ---------------------------------------------------------------------------
// Variables: $cutover_slot, $cutover_weight (green's share, percent),
// $cutover_epoch, as decided for this request.

enum class Variable : uintptr_t { kSlot, kWeight, kEpoch };

static ngx_http_variable_t ngx_http_cutover_variables[] = {
    {ngx_string("cutover_slot"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kSlot), NGX_HTTP_VAR_NOCACHEABLE, 0},
    {ngx_string("cutover_weight"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kWeight), NGX_HTTP_VAR_NOCACHEABLE, 0},
    {ngx_string("cutover_epoch"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kEpoch), NGX_HTTP_VAR_NOCACHEABLE, 0},
};

ngx_int_t ngx_http_cutover_add_variables(ngx_conf_t* cf) {
  return Guarded(cf->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
    for (auto& v : ngx_http_cutover_variables) {
      ngx_http_variable_t* var = ngx_http_add_variable(cf, &v.name, v.flags);
      if (var == nullptr) return NGX_ERROR;
      var->get_handler = v.get_handler;
      var->data = v.data;
    }
    return NGX_OK;
  });
}

static ngx_int_t VariableValue(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                               uintptr_t data) {
  RequestState* st = StateOf(r);
  if (st == nullptr) {
    v->not_found = 1;
    return NGX_OK;
  }
  u_char* p;
  switch (static_cast<Variable>(data)) {
    case Variable::kSlot:
      v->data = reinterpret_cast<u_char*>(const_cast<char*>(cs::SlotName(st->slot)));
      v->len = ngx_strlen(v->data);
      break;
    case Variable::kWeight:
      p = static_cast<u_char*>(ngx_pnalloc(r->pool, cutover::kPercentTextMax));
      if (p == nullptr) return NGX_ERROR;
      v->data = p;
      v->len = cutover::FormatBp(st->weight_bp, reinterpret_cast<char*>(p),
                                 cutover::PercentStyle::kShortest);
      break;
    case Variable::kEpoch:
      p = static_cast<u_char*>(ngx_pnalloc(r->pool, NGX_INT64_LEN));
      if (p == nullptr) return NGX_ERROR;
      v->data = p;
      v->len = ngx_sprintf(p, "%uL", static_cast<uint64_t>(st->epoch)) - p;
      break;
  }
  v->valid = 1;
  v->no_cacheable = 0;
  v->not_found = 0;
  return NGX_OK;
}

static ngx_int_t ngx_http_cutover_variable(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                                           uintptr_t data) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return VariableValue(r, v, data); });
}
