# Every library cutover builds with, found once, here, under one name each:
#   protobuf::libprotobuf  gRPC::grpc++ gRPC::grpc++_reflection gRPC::grpc_cpp_plugin
#   prometheus-cpp::pull   yaml-cpp   nlohmann_json::nlohmann_json   Threads::Threads
#   PkgConfig::LIBPQ  PkgConfig::SQLITE3  PkgConfig::CURL  PkgConfig::HTTPLIB  PkgConfig::RE2
#   GTest::gtest GTest::gtest_main (with CUTOVER_BUILD_TESTS)
#   cutover::grpc  cutover::yaml   (shared, or static for a CUTOVER_STATIC_CXX executable)
# scripts/install-deps.sh installs the Debian packages that provide them.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
if(CUTOVER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# gRPC, protobuf and yaml-cpp, shared for every target but an executable
# that sets the target property CUTOVER_STATIC_CXX (cutoverctl): that one
# gets their static archives (Debian ships them, built PIC), so starting it
# does not make the dynamic loader bind some sixty shared libraries, the bulk
# of a short command's cost (docs/benchmarks.md). libc, libstdc++, OpenSSL,
# zlib and the other system libraries stay shared (Debian wants zlib shared).
pkg_check_modules(CUTOVER_CXX_STACK REQUIRED grpc++ protobuf yaml-cpp)
set(static_cxx_libs)
set(shared_system_libs)
foreach(lib IN LISTS CUTOVER_CXX_STACK_STATIC_LIBRARIES)
  if(lib MATCHES "^(ssl|crypto|z|dl|pthread|m|rt|atomic|c)$")
    list(APPEND shared_system_libs ${lib})
  else()
    list(APPEND static_cxx_libs -l${lib})
  endif()
endforeach()
list(REMOVE_DUPLICATES shared_system_libs)
add_library(cutover_static_cxx_stack INTERFACE)
# One group, so the archives' order does not matter to the linker.
target_link_libraries(cutover_static_cxx_stack INTERFACE
  -Wl,-Bstatic -Wl,--start-group ${static_cxx_libs} -Wl,--end-group -Wl,-Bdynamic
  ${shared_system_libs} Threads::Threads)
set(static_cxx "$<BOOL:$<TARGET_PROPERTY:CUTOVER_STATIC_CXX>>")
add_library(cutover_grpc INTERFACE)
target_link_libraries(cutover_grpc INTERFACE
  "$<$<NOT:${static_cxx}>:protobuf::libprotobuf>" "$<$<NOT:${static_cxx}>:gRPC::grpc++>"
  "$<${static_cxx}:cutover_static_cxx_stack>")
# Headers and definitions alike either way.
target_include_directories(cutover_grpc INTERFACE
  $<TARGET_PROPERTY:protobuf::libprotobuf,INTERFACE_INCLUDE_DIRECTORIES>
  $<TARGET_PROPERTY:gRPC::grpc++,INTERFACE_INCLUDE_DIRECTORIES>)
add_library(cutover::grpc ALIAS cutover_grpc)
add_library(cutover_yaml INTERFACE)
target_link_libraries(cutover_yaml INTERFACE
  "$<$<NOT:${static_cxx}>:yaml-cpp>" "$<${static_cxx}:cutover_static_cxx_stack>")
add_library(cutover::yaml ALIAS cutover_yaml)
