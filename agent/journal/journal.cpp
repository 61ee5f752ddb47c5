#include "agent/journal/journal.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "agent/core/dsn.hpp"
#include "agent/journal/file_journal.hpp"
#include "agent/journal/pg_journal.hpp"

namespace cutover::agent {

std::vector<v1::Event> Journal::History(const std::string& cutover, std::size_t limit) {
  std::vector<v1::Event> all = ReadAll();
  std::vector<v1::Event> out;
  for (auto it = all.rbegin(); it != all.rend() && out.size() < limit; ++it)
    if (cutover.empty() || it->cutover() == cutover) out.push_back(std::move(*it));
  return out;
}

std::string EventToJson(const v1::Event& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(event, &json, options);
  if (!status.ok()) throw JournalError("cannot encode an event: " + status.ToString());
  return json;
}

bool EventFromJson(const std::string& json, v1::Event* event) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a newer agent's journal stays readable
  return google::protobuf::util::JsonStringToMessage(json, event, options).ok();
}

std::unique_ptr<Journal> OpenJournal(const std::string& where) {
  if (IsPostgresUri(where)) return std::make_unique<PgJournal>(where);
  return std::make_unique<FileJournal>(where);
}

}  // namespace cutover::agent
