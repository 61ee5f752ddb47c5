extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

extern "C" {
ngx_module_t ngx_http_cutover_module = {NGX_MODULE_V1, nullptr, nullptr, NGX_HTTP_MODULE, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, NGX_MODULE_V1_PADDING};
}
