# Sanitized builds, for the whole tree (project code only; the system's
# libraries are not instrumented):
#   -DCUTOVER_SANITIZE=ON  ASan and UBSan (scripts/sanitize.sh: the whole
#                          suite, nginx preloading the runtimes for the module)
#   -DCUTOVER_FUZZ=ON      the same plus libFuzzer's coverage, with clang, and
#                          the fuzz targets of tests/fuzz (scripts/fuzz.sh)
# Any undefined behaviour aborts (no recovery), so a test or a fuzz run fails
# on the first report instead of printing it and going on.
option(CUTOVER_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(CUTOVER_FUZZ "Build the libFuzzer targets (clang only; implies CUTOVER_SANITIZE)" OFF)

if(CUTOVER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CUTOVER_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  set(CUTOVER_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(CUTOVER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
