#include "agent/journal/journal.hpp"

#include <google/protobuf/util/json_util.h>

#include "agent/core/dsn.hpp"
#include "agent/journal/file_journal.hpp"
#include "agent/journal/pg_journal.hpp"

namespace cutover::agent {

std::uint64_t Journal::Number(v1::Event& event) {
  const std::uint64_t sequence = last_sequence_.fetch_add(1) + 1;
  if (sequence > kMaxSequence)
    throw JournalError("journal " + Describe() + ": sequence numbers exhausted");
  event.set_sequence(sequence);
  return sequence;
}

void Journal::Append(v1::Event& event) {
  Number(event);
  Write({event});
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
