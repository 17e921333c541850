// `ffcuda study --report DIR`: the study's Tables 1-4 beside the published ones (Markdown and CSV),
// the settings that differ from the published setup, the study's main finding checked, and the
// time of every cell (timing.csv, kept apart so that equal studies give equal results.csv).
#include "study_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ff/error.hpp"
#include "ff/run_log.hpp"
#include "ff/study.hpp"
#include "study_files.hpp"
#include "study_folders.hpp"
#include "study_lock.hpp"

namespace ff {
namespace study {
namespace {

using nlohmann::json;

// The published tables' columns, in their order.
const std::vector<std::pair<std::string, std::string>> kColumns = {
    {"mnist", "MNIST"}, {"fashion-mnist", "F-MNIST"}, {"svhn", "SVHN"}, {"cifar10", "CIFAR-10"}};
const std::vector<std::string> kPretextTasks = {"rotation", "flip-hv", "flip-h", "jigsaw"};

// NOLINTBEGIN(bugprone-suspicious-missing-comma): Table 2's title is split over two lines.
const char* const kTableTitles[] = {
    "", "Table 1: accuracy on the pretext task itself (FF: slow method; BP: its head)",
    "Table 2: transfer, linear probe on the class labels (supervised FF: its fast and slow "
    "classification)",
    "Table 3: backprop with different losses",
    "Table 4: FF slow accuracy on the task, each layer scored alone"};
// NOLINTEND(bugprone-suspicious-missing-comma)

// Config keys that change how fast a run is, not what it computes (or where it reads).
const std::set<std::string> kEngineKeys = {"dataset",   "task",       "algo",         "data_dir",
                                           "device",    "eval_every", "eval_batch",   "graphs",
                                           "pass_mode", "overlap",    "reuse_layer1", "seed"};

std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

std::string format_difference(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.2f", value);
  return text;
}

// One report cell: our figures over seeds, or why there are none.
struct Figure {
  Summary ours;
  std::string status;  // "" when there are figures
};

Figure figure_for(const std::vector<CellState>& cells, const ReportRow& row,
                  const std::string& dataset, const std::string& sweep) {
  Figure figure;
  std::vector<double> values;
  std::string missing;
  bool any = false;
  for (const CellState& cell : cells) {
    const json& m = cell.meta;
    if (m.at("dataset") != dataset || m.at("task") != row.task || m.at("algo") != row.algo ||
        m.at("sweep") != sweep) {
      continue;
    }
    any = true;
    if (cell.status != "finished") {
      if (missing.empty()) missing = cell.status;
      continue;
    }
    const auto found = cell.result.find(row.metric);
    if (found == cell.result.end()) continue;
    if (row.layer < 0) {
      values.push_back(found->get<double>() * 100.0);
    } else if (found->is_array() && row.layer < static_cast<int>(found->size())) {
      values.push_back(found->at(row.layer).get<double>() * 100.0);
    }
  }
  figure.ours = summarise(values);
  if (!any) figure.status = "not run";
  else if (values.empty()) figure.status = missing.empty() ? "no figure" : missing;
  return figure;
}

const Published* published_for(const PublishedTable& published, const ReportRow& row,
                               const std::string& dataset) {
  const auto found = published.find({row.table, row.block, row.row, dataset});
  return found == published.end() ? nullptr : &found->second;
}

std::string markdown_cell(const Figure& figure, const Published* published) {
  std::string ours = figure.status;
  if (figure.status.empty()) {
    ours = format_value(figure.ours.mean);
    if (figure.ours.count > 1) ours += " ± " + format_value(figure.ours.sd);
  }
  if (published == nullptr) return ours + " / —";
  std::string text = ours + " / " + format_value(published->value);
  if (figure.status.empty()) text += " / " + format_difference(figure.ours.mean - published->value);
  if (!published->note.empty()) text += " (*)";
  return text;
}

std::vector<std::string> sweep_values(const json& study) {
  const json& sweep = study.at("settings").at("grid").at("sweep");
  std::vector<std::string> values = sweep.at("values").get<std::vector<std::string>>();
  if (values.empty()) values.push_back("");
  return values;
}

std::string settings_section(const json& study) {
  const json& config = study.at("settings").at("config");
  const json& paper = study.at("presets").at("paper");
  std::string text = "## Settings that differ from the published setup\n\n";
  text += "Preset `" + study.at("settings").at("preset").get<std::string>() + "`.\n";
  bool any = false;
  for (const auto& [key, value] : config.items()) {
    if (kEngineKeys.count(key) || !paper.contains(key) || paper.at(key) == value) continue;
    text += "- " + key + ": " + value.dump() + " (published: " + paper.at(key).dump() + ")\n";
    any = true;
  }
  if (!any) text += "- none: every setting is the published one\n";
  const json& sweep = study.at("settings").at("grid").at("sweep");
  if (!sweep.at("values").empty()) {
    text += "- swept: " + sweep.at("option").get<std::string>() + " = " +
            sweep.at("values").dump() + " (one set of tables per value)\n";
  }
  text += "- lr " + config.at("lr").dump() +
          ": the published learning rate is lost from our copy of the text; this value is an "
          "assumption (test it with `--sweep lr=1e-3,1e-4`)\n";
  text +=
      "- figures: test accuracy in %; each report cell is ours / published / difference, "
      "ours as mean ± standard deviation where there are several seeds; (*) marks a "
      "published figure with a note (results.csv has it)\n\n";
  return text;
}

// The study's main finding: FF's transfer below bp-ce's on every pretext task.
std::string finding_section(const std::vector<CellState>& cells, const json& study,
                            const std::string& sweep) {
  std::string text = "## Finding: FF transfer below bp-ce transfer on every pretext task?\n\n";
  for (const std::string dataset : study.at("settings").at("grid").at("datasets")) {
    std::string detail;
    int compared = 0, below = 0;
    for (const std::string& task : kPretextTasks) {
      const Figure ff = figure_for(cells, {2, task, "FF", task, "ff", "probe_acc"}, dataset, sweep);
      const Figure bp =
          figure_for(cells, {2, task, "BP", task, "bp-ce", "probe_acc"}, dataset, sweep);
      if (!ff.status.empty() || !bp.status.empty()) continue;
      ++compared;
      const bool lower = ff.ours.mean < bp.ours.mean;
      below += lower;
      detail += (detail.empty() ? "" : "; ") + task + " " + format_value(ff.ours.mean) +
                (lower ? " < " : " >= ") + format_value(bp.ours.mean);
    }
    text += "- " + dataset + ": ";
    if (compared == 0) {
      text += "no pretext task has both figures yet\n";
    } else if (below == compared && compared == static_cast<int>(kPretextTasks.size())) {
      text += "yes, on all " + std::to_string(compared) + " (" + detail + ")\n";
    } else if (below == compared) {
      text +=
          "so far, on the " + std::to_string(compared) + " with both figures (" + detail + ")\n";
    } else {
      text += "no: FF >= bp-ce on " + std::to_string(compared - below) + " of " +
              std::to_string(compared) + " (" + detail + ")\n";
    }
  }
  return text + "\n";
}

std::string table_section(int table, const std::vector<CellState>& cells,
                          const PublishedTable& published, const std::string& sweep) {
  std::string text = std::string("### ") + kTableTitles[table] + "\n\n| block | row |";
  for (const auto& column : kColumns) text.append(" ").append(column.second).append(" |");
  text += "\n|---|---|";
  for (size_t i = 0; i < kColumns.size(); ++i) text += "---|";
  text += "\n";
  for (const ReportRow& row : report_rows()) {
    if (row.table != table) continue;
    text += "| " + row.block + " | " + row.row + " |";
    for (const auto& column : kColumns) {
      const Figure figure = figure_for(cells, row, column.first, sweep);
      text.append(" ").append(markdown_cell(figure, published_for(published, row, column.first)));
      text.append(" |");
    }
    text += "\n";
  }
  return text + "\n";
}

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180), as a sweep over
// layer lists does.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string results_csv(const std::vector<CellState>& cells, const json& study,
                        const PublishedTable& published) {
  std::string text =
      "sweep,table,block,row,dataset,ours_mean,ours_sd,seeds,published,difference,status\n";
  for (const std::string& sweep : sweep_values(study)) {
    for (const ReportRow& row : report_rows()) {
      for (const auto& column : kColumns) {
        const Figure figure = figure_for(cells, row, column.first, sweep);
        const Published* reference = published_for(published, row, column.first);
        const bool ours = figure.status.empty();
        text += csv_field(sweep) + "," + std::to_string(row.table) + "," + csv_field(row.block) +
                "," + csv_field(row.row) + "," + column.first + "," +
                (ours ? format_value(figure.ours.mean) : "") + "," +
                (ours && figure.ours.count > 1 ? format_value(figure.ours.sd) : "") + "," +
                std::to_string(figure.ours.count) + "," +
                (reference ? format_value(reference->value) : "") + "," +
                (ours && reference ? format_difference(figure.ours.mean - reference->value) : "") +
                "," + (ours ? "ok" : figure.status) + "\n";
      }
    }
  }
  return text;
}

std::string number_or_empty(const json& result, const char* key) {
  const auto found = result.find(key);
  if (found == result.end() || !found->is_number()) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", found->get<double>());
  return text;
}

// Where each cell ran too (the machine: a study's shards may run on several).
std::string timing_csv(const std::vector<CellState>& cells) {
  std::string text = "cell,status,train_seconds,elapsed_s,device,host\n";
  for (const CellState& cell : cells) {
    const bool ran = cell.result.is_object();
    const json environment =
        ran ? cell.result.value("environment", json::object()) : json::object();
    text += cell.meta.at("name").get<std::string>() + "," + cell.status + "," +
            number_or_empty(cell.result, "train_seconds") + "," +
            number_or_empty(cell.result, "elapsed_s") + "," +
            csv_field(ran ? cell.result.value("device", "") : "") + "," +
            csv_field(environment.is_object() ? environment.value("host", "") : "") + "\n";
  }
  return text;
}

std::string accuracy_or_dash(const json& result, const char* key) {
  const auto found = result.is_object() ? result.find(key) : result.end();
  return result.is_object() && found != result.end() ? format_value(found->get<double>() * 100)
                                                     : "—";
}

std::string cells_section(const std::vector<CellState>& cells) {
  std::string text =
      "## Cells\n\n| cell | status | task | transfer (probe) | fast | train time |\n"
      "|---|---|---|---|---|---|\n";
  std::map<std::string, std::vector<std::string>> problems;  // error -> its cells
  for (const CellState& cell : cells) {
    const std::string status = cell.status;
    if (!cell.error.empty())
      problems[cell.status + ": " + cell.error].push_back(cell.meta.at("name"));
    const std::string seconds = number_or_empty(cell.result, "train_seconds");
    text += "| " + cell.meta.at("name").get<std::string>() + " | " + status + " | " +
            accuracy_or_dash(cell.result, "task_acc") + " | " +
            accuracy_or_dash(cell.result, "probe_acc") + " | " +
            accuracy_or_dash(cell.result, "fast_acc") + " | " +
            (seconds.empty() ? "—" : seconds + " s") + " |\n";
  }
  if (!problems.empty()) text += "\n### Cells without results\n\n";
  for (const auto& [problem, names] : problems) {
    text += "- " + problem + " (" + std::to_string(names.size()) + " cells: ";
    for (size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
    text += ")\n";
  }
  return text;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), "cannot read --published " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

const std::vector<ReportRow>& report_rows() {
  static const std::vector<ReportRow> rows = [] {
    std::vector<ReportRow> r;
    for (const std::string& task : kPretextTasks) {
      r.push_back({1, task, "FF", task, "ff", "task_acc"});
      r.push_back({1, task, "BP", task, "bp-ce", "task_acc"});
    }
    r.push_back({2, "supervised", "FF fast", "supervised", "ff", "fast_acc"});
    r.push_back({2, "supervised", "FF slow", "supervised", "ff", "slow_acc"});
    r.push_back({2, "supervised", "BP", "supervised", "bp-ce", "probe_acc"});
    for (const std::string& task : kPretextTasks) {
      r.push_back({2, task, "FF", task, "ff", "probe_acc"});
      r.push_back({2, task, "BP", task, "bp-ce", "probe_acc"});
    }
    r.push_back({2, "unsupervised", "FF", "unsupervised", "ff", "probe_acc"});
    const std::pair<const char*, std::pair<const char*, const char*>> blocks[] = {
        {"supervised classification", {"supervised", "task_acc"}},
        {"rotation task", {"rotation", "task_acc"}},
        {"rotation transfer", {"rotation", "probe_acc"}}};
    for (const auto& [block, source] : blocks) {
      for (const char* algo : {"bp-ce", "bp-goodness-last", "bp-goodness-all"}) {
        r.push_back({3, block, algo, source.first, algo, source.second});
      }
    }
    for (const char* task : {"supervised", "rotation", "flip-hv", "flip-h", "jigsaw"}) {
      for (int layer = 0; layer < 4; ++layer) {
        r.push_back(
            {4, task, "layer " + std::to_string(layer + 1), task, "ff", "per_layer_acc", layer});
      }
    }
    return r;
  }();
  return rows;
}

PublishedTable parse_published_csv(std::string_view text, const std::string& source) {
  PublishedTable table;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (header) {  // table,block,row,dataset,published,note
      header = false;
      continue;
    }
    std::vector<std::string> fields;
    size_t start = 0;
    while (fields.size() < 5) {
      const size_t comma = line.find(',', start);
      if (comma == std::string::npos) break;
      fields.push_back(line.substr(start, comma - start));
      start = comma + 1;
    }
    fields.push_back(line.substr(start));  // the note may hold anything
    const std::string where = source + " line " + std::to_string(number);
    require(fields.size() == 6, where + ": expected table,block,row,dataset,published,note");
    char* end = nullptr;
    const long table_number = std::strtol(fields[0].c_str(), &end, 10);
    require(*end == '\0' && table_number >= 1 && table_number <= 4, where + ": table must be 1..4");
    const double value = std::strtod(fields[4].c_str(), &end);
    require(!fields[4].empty() && *end == '\0' && std::isfinite(value),
            where + ": published must be a number");
    table[{static_cast<int>(table_number), fields[1], fields[2], fields[3]}] = {value, fields[5]};
  }
  return table;
}

Summary summarise(const std::vector<double>& values) {
  Summary s;
  s.count = static_cast<int>(values.size());
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= s.count;
  if (s.count > 1) {
    double squares = 0.0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(squares / (s.count - 1));
  }
  return s;
}

}  // namespace study

void write_study_report(const std::string& dir, const std::string& published_csv) {
  write_study_report(std::vector<std::string>{dir}, dir, published_csv);
}

void write_study_report(const std::vector<std::string>& dirs, const std::string& out_dir,
                        const std::string& published_csv) {
  using study::CellState;
  // Everything is read and checked before anything is written.
  const nlohmann::json study_json = study::read_study_of(dirs);
  const std::string out = out_dir.empty() ? dirs.front() : out_dir;
  std::error_code error;
  if (std::find(dirs.begin(), dirs.end(), out) == dirs.end() &&
      std::filesystem::exists(out + "/study.json", error)) {
    study::read_study_of({dirs.front(), out});  // a report beside another study's is refused
  }
  const study::PublishedTable published =
      published_csv.empty()
          ? study::parse_published_csv(study::builtin_published_csv(), "share/study-published.csv")
          : study::parse_published_csv(study::read_text_file(published_csv), published_csv);
  std::filesystem::create_directories(out);
  // One writer at a time (shards sharing the folder may end together), and the cells read under
  // the lock, so that the last report written is the newest.
  const study::FileLock lock = study::FileLock::take(study::report_lock_path(out));
  std::vector<std::string> notes;
  const std::vector<CellState> cells = study::read_cells(dirs, study_json, notes);
  std::map<std::string, int> counts;
  for (const CellState& cell : cells) ++counts[cell.status];

  std::string title;
  for (const std::string& dir : dirs) title += (title.empty() ? "" : " + ") + dir;
  std::string md = "# Study report: " + title + "\n\n";
  md += "- engine: " + study_json.value("ffcuda", std::string("?")) +
        "; device: " + study_json.value("device", std::string("?")) + "; started " +
        study_json.value("created", std::string("?")) + "\n";
  md += "- cells: " + std::to_string(cells.size()) + " (finished " +
        std::to_string(counts["finished"]) + ", no data " + std::to_string(counts["no data"]) +
        ", failed " + std::to_string(counts["failed"]) + ", pending " +
        std::to_string(counts["pending"]) + ")\n";
  if (dirs.size() > 1) {
    md += "- merged from " + std::to_string(dirs.size()) + " folders of one study: " + title +
          " (a cell finished in several: the first folder's figures)\n";
  }
  for (const std::string& note : notes) md += "- " + note + "\n";
  md += "\n" + study::settings_section(study_json);
  if (study_json.at("settings").at("config").value("track_linear", false)) {
    md +=
        "## Curves\n\nEvery cell trained a linear classifier alongside pretraining; its test "
        "accuracy per epoch (FF beside bp-ce), the pretext accuracy and the losses are drawn "
        "by\n\n```sh\ntools/plot_curves.py --study " +
        out + " --out " + out + "/curves.png\n```\n\n";
  }
  for (const std::string& sweep : study::sweep_values(study_json)) {
    if (!sweep.empty()) {
      md += "## " + study_json["settings"]["grid"]["sweep"]["option"].get<std::string>() + " = " +
            sweep + "\n\n";
    }
    md += study::finding_section(cells, study_json, sweep);
    for (int table = 1; table <= 4; ++table) {
      md += study::table_section(table, cells, published, sweep);
    }
  }
  md += study::cells_section(cells);
  write_file_atomically(out + "/report.md", md);
  write_file_atomically(out + "/results.csv", study::results_csv(cells, study_json, published));
  write_file_atomically(out + "/timing.csv", study::timing_csv(cells));
  std::printf("report: %s/report.md (tables), results.csv, timing.csv\n", out.c_str());
}

}  // namespace ff
