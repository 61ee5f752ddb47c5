// The `cutover` directive's parameters (ngx_module/ngx_http_cutover_params.hpp),
// as nginx hands them over: arguments split on blanks. The parser never
// crashes and never reads past an argument; what it accepts is a cutover
// nginx can run (two different slots, a weight within 0..100%, names that
// fit the state file) and what it refuses it names.
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "ngx_http_cutover_params.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using cutover::fuzz::Check;
using cutover::module::CutoverParams;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = cutover::fuzz::Text(data, size);
  // Each argument in a buffer of its own, as cf->args holds them, so ASan
  // sees a read past one.
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == ' ' || text[i] == '\n' || text[i] == '\t') {
      if (i > start) args.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  CutoverParams params;
  bool ok = true;
  for (const std::string& arg : args)
    if (!params.Add(arg)) {
      ok = false;
      break;
    }
  if (ok) ok = params.Finish();
  if (!ok) {
    Check(params.error()[0] != '\0', "a refused parameter list says why");
    return 0;
  }
  Check(!params.blue().empty() && !params.green().empty(), "an accepted cutover has both slots");
  std::string blue(params.blue()), green(params.green());
  for (char& c : blue) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : green) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Check(blue != green, "an accepted cutover's slots differ, in any case (nginx's names do not)");
  Check(params.blue().size() < cutover::state::kNameSize &&
            params.green().size() < cutover::state::kNameSize,
        "slot names fit the state file");
  Check(params.weight_bp() <= cutover::state::kWeightScale, "a weight within 0..100%");
  return 0;
}
