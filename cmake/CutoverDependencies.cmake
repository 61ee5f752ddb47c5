# Every library cutover builds with, found once, here, under one name each:
#   protobuf::libprotobuf  gRPC::grpc++ gRPC::grpc++_reflection gRPC::grpc_cpp_plugin
#   prometheus-cpp::pull   yaml-cpp   nlohmann_json::nlohmann_json   Threads::Threads
#   PkgConfig::LIBPQ  PkgConfig::SQLITE3  PkgConfig::CURL  PkgConfig::HTTPLIB  PkgConfig::RE2
#   GTest::gtest GTest::gtest_main (with CUTOVER_BUILD_TESTS)
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
