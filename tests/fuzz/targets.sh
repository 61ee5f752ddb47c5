# The fuzz targets, one name each (tests/fuzz/NAME_fuzzer.cpp, corpus in
# tests/fuzz/corpus/NAME/): read by scripts/fuzz.sh and tests/fuzz/CMakeLists.txt.
FUZZ_TARGETS=(state_file units timestamp dsn plan journal params)
