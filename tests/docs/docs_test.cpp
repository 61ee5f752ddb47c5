// Docs that run: every plan, nginx configuration, Prometheus file and command
// line shown in README.md, docs/ and conf/ goes through the real thing — the
// plan parser cutoverctl uses, `nginx -t` with the built module, promtool,
// and the binaries' own --help — so a page can no longer disagree with the
// code. A snippet the harness cannot classify fails too: a new kind of
// snippet gets a check, not a pass.
//
// Abbreviated snippets are completed, never rewritten: a line of "..." is
// dropped; an nginx excerpt is wrapped in the blocks around it, gets the
// slot upstreams and variables it names but the excerpt leaves out, and has
// its host paths moved into a temporary directory; a list of gates is put
// in a minimal plan. docs/design.md's "Planned" section names what is not
// built yet and is skipped.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "agent/cli/plan.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

namespace fs = std::filesystem;

const std::string kSource = CUTOVER_SOURCE_DIR;

struct Snippet {
  std::string file;  // relative to the source tree
  int line = 0;      // of the opening fence
  std::string lang;  // the fence's info string ("" when none)
  std::string text;  // without the fences, the block's indentation removed

  std::string where() const { return file + ":" + std::to_string(line); }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") + 1 - b);
}

// The fenced blocks of a Markdown file, indented ones (inside list items)
// included.
std::vector<Snippet> FencedBlocks(const std::string& relative) {
  std::vector<Snippet> out;
  const auto lines = Lines(ReadFile(kSource + "/" + relative));
  bool planned = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (relative == "docs/design.md" && lines[i].starts_with("## "))
      planned = lines[i].starts_with("## Planned");
    const std::string trimmed = Trim(lines[i]);
    if (!trimmed.starts_with("```")) continue;
    const std::size_t indent = lines[i].find('`');
    Snippet s{relative, static_cast<int>(i + 1), Trim(trimmed.substr(3)), ""};
    for (++i; i < lines.size() && !Trim(lines[i]).starts_with("```"); ++i)
      s.text += (lines[i].size() >= indent ? lines[i].substr(indent) : Trim(lines[i])) + "\n";
    if (!planned) out.push_back(std::move(s));
  }
  return out;
}

std::vector<Snippet> DocSnippets() {
  std::vector<Snippet> out = FencedBlocks("README.md");
  std::vector<std::string> docs;
  for (const auto& entry : fs::directory_iterator(kSource + "/docs"))
    if (entry.path().extension() == ".md")
      docs.push_back("docs/" + entry.path().filename().string());
  std::sort(docs.begin(), docs.end());
  for (const auto& d : docs)
    for (auto& s : FencedBlocks(d)) out.push_back(std::move(s));
  return out;
}

// conf/ files as snippets of their own kind.
std::vector<Snippet> ConfFiles(const std::string& under, const std::string& lang) {
  std::vector<Snippet> out;
  for (const auto& entry : fs::recursive_directory_iterator(kSource + "/" + under))
    if (entry.is_regular_file())
      out.push_back(
          {fs::relative(entry.path(), kSource).string(), 1, lang, ReadFile(entry.path().string())});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return out;
}

std::string WithoutEllipses(const std::string& text) {
  std::string out;
  for (const auto& line : Lines(text)) {
    const std::string t = Trim(line);
    if (t == "..." || t == "…") continue;
    out += line + "\n";
  }
  return out;
}

// ------------------------------------------------------------------ plans

bool IsGateList(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) return false;
  for (const auto& item : node) {
    if (!item.IsMap()) return false;
    bool has_kind = false;
    for (const auto& kv : item) has_kind = has_kind || cli::IsGateKind(kv.first.Scalar());
    if (!has_kind) return false;
  }
  return true;
}

std::string Indented(const std::string& text, const std::string& by) {
  std::string out;
  for (const auto& line : Lines(text)) out += by + line + "\n";
  return out;
}

// A plan around a list of gates or a `gates:` mapping.
const char* kPlanAround = "steps: [{percent: 100, hold: 0s}]\nanalysis: {window: 10s}\n";

// Parses a YAML/JSON snippet as what it is; a failure names the snippet.
// Returns the kind it was taken for ("plan", "gates", "prometheus").
std::string CheckYamlSnippet(const Snippet& s, const std::string& text) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << s.where() << ": not YAML: " << e.what() << "\n" << text;
    return "";
  }
  auto parse = [&](const std::string& plan) {
    try {
      cli::ParsePlan(plan, s.where());
    } catch (const cli::PlanError& e) {
      ADD_FAILURE() << "the plan parser refuses " << s.where() << ": " << e.what() << "\n" << plan;
    }
  };
  if (node.IsMap() && node["steps"]) {
    parse(text);
    return "plan";
  }
  if (node.IsMap() && node.size() == 1 && node["gates"]) {
    parse(kPlanAround + text);
    return "gates";
  }
  if (IsGateList(node)) {
    parse(std::string(kPlanAround) + "gates:\n" + Indented(text, "  "));
    return "gates";
  }
  if (node.IsMap() && (node["scrape_configs"] || node["rule_files"])) return "prometheus";
  if (node.IsMap() && node["groups"]) return "prometheus-rules";
  ADD_FAILURE() << s.where() << ": a YAML snippet the docs test does not know how to check:\n"
                << text;
  return "";
}

TEST(Docs, EveryPlanAndGateParses) {
  std::map<std::string, int> kinds;
  for (const auto& s : DocSnippets()) {
    if (s.lang != "yaml" && s.lang != "json") continue;
    const std::string text = WithoutEllipses(s.text);
    if (s.lang == "json" && text.find("\"steps\"") == std::string::npos) continue;  // output
    ++kinds[CheckYamlSnippet(s, text)];
  }
  for (const auto& s : ConfFiles("conf/plans", "yaml")) ++kinds[CheckYamlSnippet(s, s.text)];
  // The extractor found what the docs hold: the design plan, the runbook's
  // plans and the gate examples.
  EXPECT_GE(kinds["plan"], 6) << "plans found";
  EXPECT_GE(kinds["gates"], 5) << "gate snippets found";
}

// ------------------------------------------------------------------ prometheus

TEST(Docs, PrometheusSnippetsAndRulesPassPromtool) {
  TempDir dir("docs-prom");
  const std::string rules = kSource + "/conf/prometheus/cutover-alerts.yaml";
  auto rules_check = test::Run({"promtool", "check", "rules", rules});
  EXPECT_EQ(rules_check.exit_code, 0) << rules_check.out << rules_check.err;
  int configs = 0;
  for (const auto& s : DocSnippets()) {
    if (s.lang != "yaml") continue;
    YAML::Node node = YAML::Load(s.text);
    if (!node.IsMap() || !node["scrape_configs"]) continue;
    ++configs;
    // The packaged path of the rules file, as it is in this tree.
    std::string text = std::regex_replace(
        s.text, std::regex("/usr/share/cutover/prometheus/cutover-alerts\\.yaml"), rules);
    WriteFile(dir / "prometheus.yml", text);
    auto r = test::Run({"promtool", "check", "config", dir / "prometheus.yml"});
    EXPECT_EQ(r.exit_code, 0) << s.where() << "\n" << text << r.out << r.err;
  }
  EXPECT_GE(configs, 1);
}

// ------------------------------------------------------------------ nginx

// The top-level words of an nginx snippet ("http", "upstream", "location").
std::set<std::string> TopLevelDirectives(const std::string& conf) {
  std::set<std::string> out;
  int depth = 0;
  std::string word;
  bool at_start = true;
  for (char c : conf) {
    if (c == '#') at_start = false;
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      if (at_start && depth == 0) word += c;
    } else {
      if (!word.empty()) out.insert(word);
      word.clear();
      at_start = c == ';' || c == '{' || c == '}' || (at_start && std::isspace(c));
      if (c == '\n') at_start = true;
    }
  }
  return out;
}

class NginxSnippet {
 public:
  explicit NginxSnippet(const Snippet& s) : snippet_(s), dir_("docs-nginx") {}

  // The snippet as a whole nginx.conf that runs here: the module from the
  // build, host paths under the temporary directory, listens on free
  // loopback ports, and the blocks an excerpt leaves out around it.
  std::string Complete(const std::set<std::string>& extra_variables) const {
    std::string conf = WithoutEllipses(snippet_.text);
    const std::string load = "load_module " + ModulePath() + ";";
    conf = std::regex_replace(conf, std::regex(R"(load_module\s+\S*ngx_http_cutover_module\.so;)"),
                              load);
    conf = std::regex_replace(conf, std::regex(R"(include\s+/etc/nginx/modules-enabled/\*\.conf;)"),
                              load);
    conf = std::regex_replace(conf, std::regex(R"(cutover_state_file\s+[^;]+;)"),
                              "cutover_state_file " + (dir_ / "cutover.state") + ";");
    conf = std::regex_replace(conf, std::regex(R"((/var/log/nginx|/run|/var/lib/nginx)/)"),
                              dir_.path() + "/");
    conf = std::regex_replace(conf, std::regex(R"(\blisten\s+[^;]+;)"),
                              "listen 127.0.0.1:" + std::to_string(FreePort()) + ";");

    const auto top = TopLevelDirectives(conf);
    std::string http_extra;
    for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
      http_extra += std::string(kind) + "_temp_path " + (dir_ / kind) + ";\n";
    // Slot upstreams an excerpt names but does not show.
    std::smatch m;
    std::string rest = conf;
    std::set<std::string> slots;
    while (std::regex_search(rest, m, std::regex(R"(\b(?:blue|green)=([A-Za-z0-9_]+))"))) {
      slots.insert(m[1]);
      rest = m.suffix();
    }
    for (const auto& name : slots)
      if (!std::regex_search(conf, std::regex("upstream\\s+" + name + "\\s*\\{")))
        http_extra += "upstream " + name + " { server 127.0.0.1:1; }\n";
    for (const auto& v : extra_variables) http_extra += "map \"\" $" + v + " { default \"\"; }\n";

    if (top.contains("http")) {
      conf = std::regex_replace(conf, std::regex(R"(\bhttp\s*\{)"), "http {\n" + http_extra,
                                std::regex_constants::format_first_only);
    } else if (top.contains("location")) {
      conf = "http {\n" + http_extra + "server {\nlisten 127.0.0.1:" + std::to_string(FreePort()) +
             ";\n" + conf + "}\n}\n";
    } else {
      conf = "http {\n" + http_extra + conf + "}\n";
    }
    // load_module lines first, then events (nginx wants modules loaded before it).
    if (!top.contains("events"))
      conf = std::regex_replace(conf, std::regex(R"((^|\n)http\s*\{)"), "$1events {}\nhttp {",
                                std::regex_constants::format_first_only);
    if (conf.find(load) == std::string::npos) conf = load + "\n" + conf;
    if (!top.contains("pid")) conf = "pid " + (dir_ / "nginx.pid") + ";\n" + conf;
    return conf;
  }

  // nginx -t on the completed snippet; variables the excerpt uses but
  // defines elsewhere (a `map` it leaves out) are added one by one.
  RunResult Test() {
    std::set<std::string> variables;
    for (int attempt = 0;; ++attempt) {
      conf_ = Complete(variables);
      WriteFile(dir_ / "nginx.conf", conf_);
      auto r = test::Run({CUTOVER_NGINX_BINARY, "-t", "-p", dir_.path() + "/", "-e",
                          dir_ / "error.log", "-c", dir_ / "nginx.conf"});
      r.err = r.out + r.err;
      std::smatch m;
      if (r.exit_code != 0 && attempt < 8 &&
          std::regex_search(r.err, m, std::regex(R"re(unknown "([A-Za-z0-9_]+)" variable)re"))) {
        variables.insert(m[1]);
        continue;
      }
      return r;
    }
  }
  const std::string& conf() const { return conf_; }

 private:
  const Snippet& snippet_;
  TempDir dir_;
  std::string conf_;
};

TEST(Docs, EveryNginxSnippetPassesNginxTWithTheModule) {
  std::vector<Snippet> snippets;
  for (const auto& s : DocSnippets())
    if (s.lang == "nginx") snippets.push_back(s);
  ASSERT_GE(snippets.size(), 4u);
  for (const auto& s : snippets) {
    NginxSnippet nginx(s);
    const auto r = nginx.Test();
    EXPECT_EQ(r.exit_code, 0) << s.where() << " fails nginx -t:\n" << r.err << "\n" << nginx.conf();
    EXPECT_NE(r.err.find("test is successful"), std::string::npos) << s.where() << "\n" << r.err;
    EXPECT_EQ(r.err.find("[warn]"), std::string::npos) << s.where() << "\n" << r.err;
  }
}

TEST(Docs, TheNginxCheckCatchesAMistake) {
  // The harness really runs the module: a snippet with a bad parameter fails.
  Snippet bad{"(test)", 1, "nginx",
              "upstream app { cutover blue=app_blue green=app_green failover=maybe; }\n"};
  NginxSnippet nginx(bad);
  const auto r = nginx.Test();
  EXPECT_NE(r.exit_code, 0) << nginx.conf();
  EXPECT_NE(r.err.find("failover="), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ commands

const std::map<std::string, std::string>& Binaries() {
  static const std::map<std::string, std::string> binaries = {
      {"cutoverctl", CUTOVERCTL_BINARY},
      {"cutover-agent", CUTOVER_AGENT_BINARY},
      {"cutover-demo-app", CUTOVER_DEMO_APP},
  };
  return binaries;
}

// Shell-like words: quotes group, a `#` after a blank starts a comment, and
// the separators && || | ; are words of their own.
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
      continue;
    }
    if (c == '#' && !in_word) break;
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    if (c == '|' || c == ';' || c == '&' || c == '(' || c == ')') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      std::string sep(1, c);
      if ((c == '|' || c == '&') && i + 1 < line.size() && line[i + 1] == c) sep += line[++i];
      words.push_back(sep);
      continue;
    }
    word += c;
    in_word = true;
  }
  if (in_word) words.push_back(word);
  return words;
}

bool IsSeparator(const std::string& w) {
  return w == "&&" || w == "||" || w == "|" || w == ";" || w == "&" || w == "(" || w == ")";
}

struct Command {
  std::string where;
  std::string binary;
  std::vector<std::string> args;
  std::string line;
  std::string snippet;  // the whole block: what it shows of the answer
};

// Where prose names a binary ("use cutoverctl without sudo"), the next word
// is neither a verb nor a flag.
bool LooksLikeACommand(const std::string& binary, const std::vector<std::string>& args) {
  static const std::set<std::string> kCtlVerbs = {"status",    "watch",  "set-weight", "rollout",
                                                  "drain",     "down",   "up",         "history",
                                                  "preflight", "sample", "help",       "sync"};
  if (args.empty() || args[0].starts_with("-")) return true;
  return binary == "cutoverctl" && kCtlVerbs.contains(args[0]);
}

// The command lines of a shell block, or the `$ ` lines of a transcript.
std::vector<Command> CommandsIn(const Snippet& s) {
  std::vector<Command> out;
  const bool conf = s.lang == "conf";
  const bool shell = conf || s.lang == "sh" || s.lang == "bash" || s.lang == "shell";
  std::string joined;
  int line_no = s.line - 1;
  for (const auto& raw : Lines(s.text)) {
    ++line_no;
    // A configuration file's commands are in its comments.
    std::string line = conf ? raw.substr(std::min(raw.find_first_not_of("# "), raw.size())) : raw;
    if (!joined.empty()) line = joined + " " + Trim(line);
    if (!line.empty() && line.back() == '\\') {
      joined = line.substr(0, line.size() - 1);
      continue;
    }
    joined.clear();
    std::string t = Trim(line);
    if (t.starts_with("$ ")) {
      t = t.substr(2);
    } else if (!shell) {
      // Outside a shell block only transcript lines and lines that begin
      // with one of the binaries are commands.
      bool starts = false;
      for (const auto& [name, path] : Binaries()) starts = starts || t.starts_with(name + " ");
      if (!starts) continue;
    }
    auto words = ShellWords(t);
    for (std::size_t i = 0; i < words.size(); ++i) {
      // The agent's extra flags in /etc/cutover/cutover-agent.default.
      if (words[i].starts_with("CUTOVER_AGENT_OPTS=")) {
        Command c{s.file + ":" + std::to_string(line_no), "cutover-agent",
                  ShellWords(words[i].substr(words[i].find('=') + 1)), t, s.text};
        out.push_back(std::move(c));
        continue;
      }
      // A binary by name or path (ExecStart=/usr/bin/cutover-agent), in
      // whatever position: after sudo, `docker compose exec agent`, ...
      std::string name = words[i].substr(words[i].find('=') + 1);
      name = name.substr(name.rfind('/') + 1);
      if (!Binaries().contains(name)) continue;
      Command c{s.file + ":" + std::to_string(line_no), name, {}, t, s.text};
      for (std::size_t j = i + 1; j < words.size() && !IsSeparator(words[j]); ++j)
        c.args.push_back(words[j]);
      // In a shell block every use is a command; in comments, diagrams and
      // transcripts' prose, only what reads as one.
      if ((shell && !conf) || LooksLikeACommand(name, c.args)) out.push_back(std::move(c));
    }
  }
  return out;
}

// A synopsis block: a binary's name, then its options in brackets, maybe
// over several lines.
bool IsSynopsis(const Snippet& s) {
  if (!s.lang.empty()) return false;
  const auto lines = Lines(s.text);
  if (lines.empty()) return false;
  for (const auto& [name, path] : Binaries())
    if (Trim(lines[0]).starts_with(name + " ") && s.text.find(" [") != std::string::npos &&
        s.text.find("$ ") == std::string::npos)
      return true;
  return false;
}

class Help {
 public:
  // `binary [verb...] --help`: its exit code and text, asked once.
  const RunResult& Of(const std::string& binary, const std::vector<std::string>& verb) {
    std::string key = binary;
    for (const auto& v : verb) key += " " + v;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    std::vector<std::string> argv = {Binaries().at(binary)};
    argv.insert(argv.end(), verb.begin(), verb.end());
    argv.push_back("--help");
    return cache_[key] = test::Run(argv);
  }

 private:
  std::map<std::string, RunResult> cache_;
};

bool HelpNamesFlag(const std::string& help, const std::string& flag) {
  return std::regex_search(help, std::regex(flag + "([^a-z0-9-]|$)"));
}

// cutoverctl's verbs of two words ("rollout start", "sync status").
bool TakesSubVerb(const std::string& verb) { return verb == "rollout" || verb == "sync"; }

// The flags of some words: "--name" of "--name=value" and "--name".
std::vector<std::string> FlagsOf(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    std::smatch m;
    if (std::regex_search(w, m, std::regex(R"((^|\[)(--[a-z][a-z0-9-]*))"))) out.push_back(m[2]);
  }
  return out;
}

// cutoverctl's verb path in its arguments: global flags (and their
// values) skipped; "rollout" and "sync" take a sub-verb.
std::vector<std::string> CtlVerb(const std::vector<std::string>& args) {
  static const std::set<std::string> kWithValue = {"--agent", "--token-file", "--tls-ca",
                                                   "--tls-server-name", "--timeout"};
  std::vector<std::string> verb;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with("-")) {
      if (kWithValue.contains(args[i])) ++i;
      continue;
    }
    verb.push_back(args[i]);
    if (!TakesSubVerb(verb.front()) || verb.size() == 2) break;
  }
  return verb;
}

void CheckCommand(Help& help, const std::string& where, const std::string& binary,
                  const std::vector<std::string>& verb, const std::vector<std::string>& flags,
                  const std::string& line, const std::string& snippet = "") {
  const RunResult& h = help.Of(binary, verb);
  std::string shown = binary;
  for (const auto& v : verb) shown += " " + v;
  // A transcript that shows this very refusal documents a mistake on purpose.
  if (h.exit_code != 0 && !verb.empty() &&
      snippet.find("unknown command \"" + verb.back() + "\"") != std::string::npos &&
      h.err.find("unknown command \"" + verb.back() + "\"") != std::string::npos)
    return;
  EXPECT_EQ(h.exit_code, 0) << where << ": `" << shown << " --help` fails, for: " << line << "\n"
                            << h.out << h.err;
  for (const auto& f : flags)
    EXPECT_TRUE(HelpNamesFlag(h.out, f))
        << where << ": " << f << " is not in `" << shown << " --help`, for: " << line << "\n"
        << h.out;
}

TEST(Docs, EveryCommandUsesVerbsAndFlagsTheBinariesHave) {
  Help help;
  std::map<std::string, int> checked;
  std::vector<Snippet> snippets = DocSnippets();
  // conf/'s and docker/'s files show commands in their comments.
  for (const char* dir : {"conf/systemd", "conf/prometheus", "conf/plans", "docker"})
    for (auto& s : ConfFiles(dir, "conf")) snippets.push_back(std::move(s));
  for (const auto& s : snippets) {
    if (s.lang != "" && s.lang != "sh" && s.lang != "bash" && s.lang != "shell" && s.lang != "conf")
      continue;
    if (IsSynopsis(s)) {
      // The first line's binary; for cutoverctl, one verb per indented line.
      const auto lines = Lines(s.text);
      const std::string binary = ShellWords(lines[0])[0];
      if (binary != "cutoverctl") {
        std::vector<std::string> words;
        for (const auto& l : lines)
          for (const auto& w : ShellWords(l)) words.push_back(w);
        CheckCommand(help, s.where(), binary, {}, FlagsOf(words), s.text);
        ++checked["synopsis"];
        continue;
      }
      // The first line and its bracketed continuations: the global flags.
      std::vector<std::string> globals = ShellWords(lines[0]);
      std::size_t first_verb = 1;
      for (; first_verb < lines.size() && Trim(lines[first_verb]).starts_with("["); ++first_verb)
        for (const auto& w : ShellWords(lines[first_verb])) globals.push_back(w);
      CheckCommand(help, s.where(), binary, {}, FlagsOf(globals), lines[0]);
      for (std::size_t i = first_verb; i < lines.size(); ++i) {
        auto words = ShellWords(Trim(lines[i]));
        if (words.empty()) continue;
        // Continuation lines (deeper indent, starting with a flag) belong
        // to the verb above. "a|b" are alternatives, for a verb and a sub-verb.
        auto alternatives = [](const std::string& word) {
          std::vector<std::string> out;
          std::stringstream in(word);
          for (std::string v; std::getline(in, v, '|');) out.push_back(v);
          return out;
        };
        std::vector<std::vector<std::string>> paths;
        std::size_t first_arg = 1;
        if (TakesSubVerb(words[0]) && words.size() > 1) {
          for (const auto& v : alternatives(words[1])) paths.push_back({words[0], v});
          first_arg = 2;
        } else {
          for (const auto& v : alternatives(words[0])) paths.push_back({v});
        }
        for (std::size_t j = i + 1; j < lines.size() && Trim(lines[j]).starts_with("["); ++j, ++i)
          for (const auto& w : ShellWords(lines[j])) words.push_back(w);
        const std::vector<std::string> flags =
            FlagsOf(std::vector<std::string>(words.begin() + first_arg, words.end()));
        for (const auto& path : paths) CheckCommand(help, s.where(), binary, path, flags, lines[i]);
        ++checked["synopsis verb"];
      }
      continue;
    }
    for (const auto& c : CommandsIn(s)) {
      std::vector<std::string> verb;
      if (c.binary == "cutoverctl") verb = CtlVerb(c.args);
      CheckCommand(help, c.where, c.binary, verb, FlagsOf(c.args), c.line, c.snippet);
      ++checked[c.binary];
    }
  }
  // The extractor found the commands the docs are full of.
  EXPECT_GE(checked["cutoverctl"], 40);
  EXPECT_GE(checked["cutover-agent"], 2);
  EXPECT_GE(checked["synopsis verb"], 8);
}

TEST(Docs, TheCommandCheckCatchesAnUnknownFlag) {
  Help help;
  Snippet s{"(test)", 1, "sh", "cutoverctl set-weight app 5 --reasn typo\n"};
  const auto commands = CommandsIn(s);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(CtlVerb(commands[0].args), std::vector<std::string>{"set-weight"});
  EXPECT_FALSE(HelpNamesFlag(help.Of("cutoverctl", {"set-weight"}).out, "--reasn"));
  EXPECT_TRUE(HelpNamesFlag(help.Of("cutoverctl", {"set-weight"}).out, "--reason"));
}

}  // namespace
}  // namespace cutover::test
