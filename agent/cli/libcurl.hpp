// libcurl, loaded when `sample` first needs it instead of at every start of
// cutoverctl: its thirty-odd shared libraries (TLS, Kerberos, LDAP, SSH...)
// cost every other command milliseconds of dynamic linking for nothing
// (docs/benchmarks.md, "What a cutoverctl command costs"). Each function is
// typed from <curl/curl.h> itself, so a call through it is checked as a
// direct call would be.
#pragma once

#include <curl/curl.h>

namespace cutover::cli {

struct Libcurl {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_perform) multi_perform;
  decltype(&::curl_multi_poll) multi_poll;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;

  // libcurl.so.4 loaded and curl_global_init done, once (the first call
  // must come before any other thread uses libcurl). Throws
  // std::runtime_error naming what is missing.
  static const Libcurl& Get();
};

}  // namespace cutover::cli
