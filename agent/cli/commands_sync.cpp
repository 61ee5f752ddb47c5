// The sync verbs: start, status and stop of a cutover's two-way database sync.
#include <ostream>
#include <sstream>

#include "agent/cli/command.hpp"
#include "agent/cli/errors.hpp"
#include "agent/cli/render.hpp"

namespace cutover::cli {

namespace v1 = cutover::v1;

namespace {

v1::SyncConflictPolicy ParsePolicy(const std::string& text) {
  if (text == "pause") return v1::SYNC_CONFLICT_POLICY_PAUSE;
  if (text == "blue_wins") return v1::SYNC_CONFLICT_POLICY_BLUE_WINS;
  if (text == "green_wins") return v1::SYNC_CONFLICT_POLICY_GREEN_WINS;
  throw UsageError("--on-conflict: \"" + text + "\" is not pause, blue_wins or green_wins");
}

void PrintSync(Context& ctx, const v1::Sync& sync) {
  // --json: the Sync itself, so state, blue_to_green, green_to_blue and
  // conflicts are top-level keys.
  if (ctx.json)
    *ctx.out << ProtoToJson(sync) << "\n";
  else
    *ctx.out << RenderSync(sync);
}

}  // namespace

int RunSyncStart(Context& ctx) {
  v1::StartSyncRequest request;
  request.set_cutover(ctx.Arg(0));
  request.set_reason(ctx.args.Get("reason").value_or(""));
  v1::SyncSpec* spec = request.mutable_spec();
  spec->set_blue(ctx.args.Get("blue").value_or(""));
  spec->set_green(ctx.args.Get("green").value_or(""));
  if (const auto tables = ctx.args.Get("tables")) {
    if (*tables == "all") {
      spec->set_all_tables(true);
    } else {
      std::stringstream list(*tables);
      for (std::string table; std::getline(list, table, ',');) {
        if (table.empty()) throw UsageError("--tables: an empty name in \"" + *tables + "\"");
        spec->add_tables(table);
      }
    }
  }
  if (const auto policy = ctx.args.Get("on-conflict")) spec->set_on_conflict(ParsePolicy(*policy));
  PrintSync(ctx, ctx.Agent().StartSync(request).sync());
  return kExitOk;
}

int RunSyncStatus(Context& ctx) {
  PrintSync(ctx, ctx.Agent().GetSync(ctx.Arg(0)).sync());
  return kExitOk;
}

int RunSyncStop(Context& ctx) {
  v1::StopSyncRequest request;
  request.set_cutover(ctx.Arg(0));
  request.set_keep(ctx.args.Has("keep"));
  request.set_reason(ctx.args.Get("reason").value_or(""));
  PrintSync(ctx, ctx.Agent().StopSync(request).sync());
  return kExitOk;
}

}  // namespace cutover::cli
