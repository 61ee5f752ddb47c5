#include "agent/cli/libcurl.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace cutover::cli {

namespace {

// The SONAME the libcurl4 package (the `cutover` package's dependency) ships.
constexpr const char* kSoname = "libcurl.so.4";

template <typename Function>
void Resolve(void* library, const char* name, Function* into) {
  void* symbol = ::dlsym(library, name);
  if (symbol == nullptr)
    throw std::runtime_error(std::string(kSoname) + " has no " + name + " (libcurl too old?)");
  *into = reinterpret_cast<Function>(symbol);
}

Libcurl Load() {
  void* library = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr)
    throw std::runtime_error(std::string("cannot load ") + kSoname + " for sample (" + ::dlerror() +
                             "): install libcurl4");
  Libcurl c{};
  Resolve(library, "curl_global_init", &c.global_init);
  Resolve(library, "curl_easy_init", &c.easy_init);
  Resolve(library, "curl_easy_setopt", &c.easy_setopt);
  Resolve(library, "curl_easy_getinfo", &c.easy_getinfo);
  Resolve(library, "curl_easy_strerror", &c.easy_strerror);
  Resolve(library, "curl_easy_cleanup", &c.easy_cleanup);
  Resolve(library, "curl_multi_init", &c.multi_init);
  Resolve(library, "curl_multi_setopt", &c.multi_setopt);
  Resolve(library, "curl_multi_add_handle", &c.multi_add_handle);
  Resolve(library, "curl_multi_remove_handle", &c.multi_remove_handle);
  Resolve(library, "curl_multi_perform", &c.multi_perform);
  Resolve(library, "curl_multi_poll", &c.multi_poll);
  Resolve(library, "curl_multi_info_read", &c.multi_info_read);
  Resolve(library, "curl_multi_cleanup", &c.multi_cleanup);
  Resolve(library, "curl_slist_append", &c.slist_append);
  Resolve(library, "curl_slist_free_all", &c.slist_free_all);
  // Never unloaded: handles may outlive any scope here, and the process ends soon.
  const CURLcode code = c.global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw std::runtime_error(std::string("libcurl: ") + c.easy_strerror(code));
  return c;
}

}  // namespace

const Libcurl& Libcurl::Get() {
  static const Libcurl loaded = Load();
  return loaded;
}

}  // namespace cutover::cli
