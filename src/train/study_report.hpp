// The study report: which figure of which cell fills which row of the published tables, the
// published figures themselves (a CSV), and the numbers each report cell shows.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ff::study {

// A row of a published table and where our figure for it comes from.
struct ReportRow {
  int table;          // 1..4
  std::string block;  // "rotation", "supervised classification", ...
  std::string row;    // "FF", "BP", "FF fast", "bp-goodness-last", "layer 2", ...
  std::string task, algo;
  std::string metric;  // a key of result.json: task_acc, probe_acc, fast_acc, slow_acc, ...
  int layer = -1;      // an index into per_layer_acc when metric is that list
};
const std::vector<ReportRow>& report_rows();

// The published figures: (table, block, row, dataset) -> value in %, with a note ("doubtful: ...").
struct Published {
  double value = 0.0;
  std::string note;
};
using PublishedKey = std::tuple<int, std::string, std::string, std::string>;
using PublishedTable = std::map<PublishedKey, Published>;

// share/study-published.csv as built in.
std::string_view builtin_published_csv();
// Reads a CSV of that layout (# comments, a header, then table,block,row,dataset,published,note).
// Throws ff::Error naming `source` and the line for a malformed one.
PublishedTable parse_published_csv(std::string_view text, const std::string& source);

// Mean and sample standard deviation of one report cell over seeds.
struct Summary {
  double mean = 0.0, sd = 0.0;
  int count = 0;
};
Summary summarise(const std::vector<double>& values);

}  // namespace ff::study
