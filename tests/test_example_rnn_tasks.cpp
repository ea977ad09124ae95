// tests/test_example_rnn_tasks.cpp: the recurrent-net trainer of thesis
// section 3.1 (examples/rnn_tasks). Its networks directly: every model's
// output shape and trained-parameter count against the formulas, the
// thesis's sizes, the same seed giving the same network on two threads at
// once. Then the real binary, briefly: a model learns the parenthesis task
// at a short length, --compare gives the same table with one job or two,
// the CSV and PNG are written, --study neumann runs its four variants, a
// resumed run continues bit for bit, and bad options are refused.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

#ifdef NOVA_RNN_TASKS_EXAMPLE_PATH

#include "core/autograd.h"
#include "core/ops.h"
#include "examples/rnn_task_net.h"

using namespace nova;
using examples::RnnModel;
using examples::RnnTask;

namespace {

/// The trained numbers of `model` with hidden H on `task`, by hand from the
/// equations (an orthogonal weight counts its skew A's n (n - 1) / 2; GORU's
/// default EUNN U its angles).
int64_t expected_parameters(RnnModel model, RnnTask task, int64_t H) {
  const int64_t I = examples::task_input_size(task), O = examples::task_output_size(task);
  const int64_t skew = H * (H - 1) / 2, readout = H * O + O;
  switch (model) {
    case RnnModel::lstm: return 4 * H * (I + H + 2) + readout;
    case RnnModel::gru: return 3 * H * (I + H + 2) + readout;
    case RnnModel::scornn: return H * I + skew + H + readout;
    case RnnModel::goru: return 3 * H * I + 2 * H * H + nn::EunnLayout::fft(H).num_angles + 3 * H + readout;
    case RnnModel::ncgru_uc: return 3 * H * I + 2 * H * H + skew + 3 * H + readout;
    case RnnModel::ncgru_urc: return 3 * H * I + H * H + 2 * skew + 3 * H + readout;
  }
  return -1;
}

Tensor flat_parameters(const nn::Module& m) {
  std::vector<Tensor> flat;
  for (const Tensor& p : m.parameters()) flat.push_back(ops::reshape(p, {-1}));
  return ops::cat(flat, 0);
}

using Run = test::CommandResult;

Run run(const std::string& args) {
  return test::run_command(std::string(NOVA_RNN_TASKS_EXAMPLE_PATH) + " --threads 1 " + args);
}

/// The table rows ("| label | ...") of an output, keyed by label, with the
/// timing columns (ms/step, Cayley ms/update) cut out.
std::map<std::string, std::string> table_rows(const std::string& out) {
  std::map<std::string, std::string> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) != 0 || line.rfind("| model", 0) == 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(2));
    for (std::string c; std::getline(ss, c, '|');) {
      const size_t a = c.find_first_not_of(' '), z = c.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : c.substr(a, z - a + 1));
    }
    // columns: model hidden params seeds min best last [thesis] ms cayley ortho
    const size_t ms = cells.size() - 3;
    std::string kept;
    for (size_t i = 0; i < cells.size(); ++i)
      if (i != ms && i != ms + 1) kept += cells[i] + "|";
    rows[cells[0]] = kept;
  }
  return rows;
}

}  // namespace

TEST_CASE("rnn task nets: output shapes, trained parameters, the thesis's sizes", "[rnn_tasks]") {
  Generator gen(3);
  for (RnnTask task : {RnnTask::parenthesis, RnnTask::denoise, RnnTask::adding, RnnTask::copying})
    for (const std::string& name : examples::rnn_model_names()) {
      const RnnModel model = examples::parse_rnn_model(name);
      INFO(examples::rnn_task_name(task) << " " << name);
      const int64_t H = 12;
      examples::RnnTaskNet net(model, task, H, model == RnnModel::goru ? 0 : 4, gen);
      CHECK(net.trainable_parameters() == expected_parameters(model, task, H));
      CHECK(net.orthogonal_weights().size() ==
            (model == RnnModel::ncgru_urc ? 2u : examples::has_orthogonal_weights(model) ? 1u : 0u));
      const datasets::SequenceBatch b = examples::task_batch(task, 5, 3, gen, kFloat32, kCPU);
      const Tensor out = net.forward(b.inputs);
      if (task == RnnTask::adding) CHECK(out.shape() == Shape{3, 1});
      else CHECK(out.shape() == Shape{b.inputs.size(0), 3, examples::task_output_size(task)});
      CHECK(std::isfinite(examples::task_loss(task, out, b).item()));
    }
  // GORU with the Cayley U: one orthogonal weight, counted by its skew A
  {
    const int64_t H = 12, I = examples::task_input_size(RnnTask::parenthesis);
    const int64_t O = examples::task_output_size(RnnTask::parenthesis);
    examples::RnnTaskNet cayley(RnnModel::goru, RnnTask::parenthesis, H, 0, gen, kFloat32, nn::GORUOrthogonal::cayley);
    CHECK(cayley.orthogonal_weights().size() == 1u);
    CHECK(cayley.trainable_parameters() == 3 * H * I + 2 * H * H + H * (H - 1) / 2 + 3 * H + H * O + O);
    CHECK(examples::has_orthogonal_weights(RnnModel::goru, nn::GORUOrthogonal::cayley));
    CHECK_FALSE(examples::has_orthogonal_weights(RnnModel::goru));
    examples::RnnTaskNet tunable(RnnModel::goru, RnnTask::parenthesis, H, 0, gen, kFloat32,
                                 nn::GORUOrthogonal::eunn_tunable, 3);
    CHECK(tunable.trainable_parameters() == 3 * H * I + 2 * H * H + (6 + 5 + 6) + 3 * H + H * O + O);
    CHECK_THROWS_WITH(examples::parse_goru_u("givens"), Catch::Contains("unknown GORU U 'givens'"));
  }
  // the sizes of thesis 3.1.4.1 and 3.1.4.2
  CHECK(examples::default_hidden(RnnTask::parenthesis, RnnModel::lstm) == 42);
  CHECK(examples::default_hidden(RnnTask::parenthesis, RnnModel::ncgru_urc) == 56);
  CHECK(examples::default_hidden(RnnTask::denoise, RnnModel::scornn) == 200);
  CHECK(examples::default_hidden(RnnTask::denoise, RnnModel::goru) == 128);
  CHECK(examples::default_negative_ones(RnnTask::parenthesis, RnnModel::scornn) == 20);
  CHECK(examples::default_negative_ones(RnnTask::parenthesis, RnnModel::ncgru_uc) == 40);
  CHECK(examples::default_negative_ones(RnnTask::denoise, RnnModel::ncgru_urc) == 50);
  CHECK(examples::default_batch(RnnTask::parenthesis) == 16);
  CHECK(examples::default_batch(RnnTask::denoise) == 128);
  CHECK(examples::thesis_min_loss(RnnTask::parenthesis, RnnModel::ncgru_urc, 100) == Approx(0.149e-3));
  CHECK(examples::thesis_min_loss(RnnTask::denoise, RnnModel::lstm, 400) == Approx(5.427e-2));
  CHECK(std::isnan(examples::thesis_min_loss(RnnTask::parenthesis, RnnModel::gru, 300)));
  CHECK_THROWS_WITH(examples::parse_rnn_model("rnn"), Catch::Contains("unknown model 'rnn'") &&
                                                          Catch::Contains("ncgru-urc"));
  CHECK_THROWS_WITH(examples::RnnTaskNet(RnnModel::scornn, RnnTask::parenthesis, 8, 9, gen),
                    Catch::Contains("do not fit hidden size 8"));
}

TEST_CASE("rnn task nets: a seed gives the same network while other threads build theirs", "[rnn_tasks][threads]") {
  for (const char* name : {"gru", "ncgru-uc"}) {
    const RnnModel model = examples::parse_rnn_model(name);
    std::vector<Tensor> flat(4);
    std::vector<std::thread> pool;
    for (int i = 0; i < 4; ++i)
      pool.emplace_back([&, i] {
        Generator gen(i % 2 == 0 ? 7 : 8);
        examples::RnnTaskNet net(model, RnnTask::parenthesis, 16, 4, gen);
        flat[size_t(i)] = flat_parameters(net);
      });
    for (auto& t : pool) t.join();
    INFO(name);
    CHECK(test::max_abs_diff(flat[0], flat[2]) == 0);
    CHECK(test::max_abs_diff(flat[1], flat[3]) == 0);
    CHECK(test::max_abs_diff(flat[0], flat[1]) > 0);
  }
}

TEST_CASE("rnn_tasks: a short run learns, --compare's table is the same with one job or two", "[rnn_tasks]") {
  test::TempDir dir;
  const std::string csv = (dir.path / "loss.csv").string();
  const Run one = run("--model gru --T 20 --steps 300 --csv " + csv);
  REQUIRE(one.status == 0);
  INFO(one.output);
  CHECK(one.output.find("| GRU | 50 | 9768 | 1 |") != std::string::npos);
  const std::vector<std::string> lines = test::read_lines(csv);
  REQUIRE(lines.size() == 301);
  CHECK(lines[0] == "model,variant,seed,step,loss,seconds");
  // the first step's loss against the mean of the last 30
  auto loss_of = [](const std::string& line) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
    return std::stod(f.at(4));
  };
  double tail = 0;
  for (size_t i = 271; i <= 300; ++i) tail += loss_of(lines[i]) / 30;
  CHECK(tail < 0.6 * loss_of(lines[1]));

  const std::string png = (dir.path / "curves.png").string();
  const std::string args = "--compare --models lstm,ncgru-urc --seeds 2 --T 10 --steps 12";
  const Run a = run(args + " --jobs 1 --plot " + png), b = run(args + " --jobs 2");
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  const auto rows_a = table_rows(a.output), rows_b = table_rows(b.output);
  CHECK(rows_a.size() == 2);
  CHECK(rows_a == rows_b);
  CHECK(rows_a.count("LSTM") == 1);
  CHECK(rows_a.count("NC-GRU(U_r, U_c)") == 1);
  std::ifstream f(png, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  CHECK(std::string(magic + 1, 3) == "PNG");

  // --replot draws the same PNG from the CSV of the same runs, without training
  const std::string csv2 = (dir.path / "compare.csv").string(), png2 = (dir.path / "again.png").string();
  REQUIRE(run(args + " --jobs 2 --csv " + csv2).status == 0);
  const auto rows = test::read_lines(csv2);
  CHECK(std::count_if(rows.begin(), rows.end(), [](const std::string& l) {
          return l.find("ncgru-urc,\"NC-GRU(U_r, U_c)\",") == 0;
        }) == 2 * 12);
  REQUIRE(run("--replot " + csv2 + " --plot " + png2 + " --T 10 --steps 12").status == 0);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(bytes(png2) == bytes(png));
  {
    std::ofstream bad(csv2, std::ios::app);
    bad << "lstm,LSTM,0,13\n";
  }
  const Run broken = run("--replot " + csv2 + " --plot " + png2);
  CHECK(broken.status == 1);
  CHECK(broken.output.find("line 50: expected 6 fields, got 4") != std::string::npos);
}

TEST_CASE("rnn_tasks: --study neumann, resume bit for bit, bad options", "[rnn_tasks]") {
  const Run study = run("--study neumann --T 10 --steps 6 --hidden 8 --negative-ones 2");
  REQUIRE(study.status == 0);
  const auto rows = table_rows(study.output);
  CHECK(rows.size() == 4);
  for (const char* v : {"Neumann 1", "Neumann 2", "Neumann 3", "exact inverse"}) CHECK(rows.count(v) == 1);

  test::TempDir dir;
  const std::string ck = (dir.path / "ck.safetensors").string();
  const std::string full = (dir.path / "full.csv").string(), second = (dir.path / "second.csv").string();
  const std::string base = "--model ncgru-urc --T 12 --reset-every 7 --hidden 10 --negative-ones 3";
  REQUIRE(run(base + " --steps 20 --csv " + full).status == 0);
  REQUIRE(run(base + " --steps 11 --checkpoint " + ck).status == 0);
  const Run resumed = run(base + " --steps 20 --resume " + ck + " --csv " + second);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.output.find("resumed from") != std::string::npos);
  const auto a = test::read_lines(full), b = test::read_lines(second);
  REQUIRE(a.size() == 21);
  REQUIRE(b.size() == 10);
  for (size_t i = 1; i < b.size(); ++i) {
    // everything but the seconds column
    CHECK(a[11 + i].substr(0, a[11 + i].rfind(',')) == b[i].substr(0, b[i].rfind(',')));
  }
  const Run other = run("--model ncgru-urc --T 12 --steps 20 --hidden 11 --resume " + ck);
  CHECK(other.status == 1);
  CHECK(other.output.find("hidden") != std::string::npos);

  const Run bad_model = run("--model rnn");
  CHECK(bad_model.status == 2);
  CHECK(bad_model.output.find("--model") != std::string::npos);
  const Run both = run("--compare --study neumann --steps 2");
  CHECK(both.status == 1);
  CHECK(both.output.find("not both") != std::string::npos);
  const Run ck_compare = run("--compare --steps 2 --checkpoint " + ck);
  CHECK(ck_compare.status == 1);
  CHECK(ck_compare.output.find("single run") != std::string::npos);
}

TEST_CASE("rnn_tasks: --graph and --profile draw and time one run, and leave its losses as they were", "[rnn_tasks]") {
  test::TempDir dir;
  const std::string dot = (dir.path / "step.dot").string(), json = (dir.path / "p.json").string();
  const std::string csv_with = (dir.path / "with.csv").string(), csv_without = (dir.path / "without.csv").string();
  const std::string base = "--model ncgru-urc --T 12 --steps 5 --hidden 10 --negative-ones 3";
  const Run with = run(base + " --graph " + dot + " --profile " + json + " --csv " + csv_with);
  INFO(with.output);
  REQUIRE(with.status == 0);
  const auto dot_lines = test::read_lines(dot);
  REQUIRE(!dot_lines.empty());
  std::string text;
  for (const auto& l : dot_lines) text += l + "\n";
  CHECK(text.find("ncgru_recurrence") != std::string::npos);
  CHECK(text.find("label=\"loss") != std::string::npos);
  // the profile's table: the fused gate kernels, and the step's four scopes, 5 times each
  CHECK(with.output.find("ncgru_forward_gates") != std::string::npos);
  for (const char* scope : {"forward", "backward", "Adam", "Cayley"})
    CHECK(std::regex_search(with.output, std::regex(std::string("\n") + scope + " +5 ")));
  CHECK(std::filesystem::file_size(json) > 1000);
  REQUIRE(run(base + " --csv " + csv_without).status == 0);
  const auto a = test::read_lines(csv_with), b = test::read_lines(csv_without);
  REQUIRE(a.size() == b.size());
  for (size_t i = 1; i < a.size(); ++i) CHECK(a[i].substr(0, a[i].rfind(',')) == b[i].substr(0, b[i].rfind(',')));
  const Run many = run("--compare --models gru --seeds 1 --T 12 --steps 2 --graph " + dot);
  CHECK(many.status == 1);
  CHECK(many.output.find("--graph and --profile are for a single run") != std::string::npos);
}

#endif  // NOVA_RNN_TASKS_EXAMPLE_PATH

TEST_CASE("rnn_tasks: --train-size and --epochs train on a fixed set, and resume mid-epoch bit for bit", "[rnn_tasks]") {
  test::TempDir dir;
  const std::string ck = (dir.path / "ck.safetensors").string();
  const std::string full = (dir.path / "full.csv").string(), second = (dir.path / "second.csv").string();
  const std::string fresh = (dir.path / "fresh.csv").string();
  // 40 sequences in batches of 16: 2 batches an epoch (8 dropped), 3 epochs = 6 steps
  const std::string base = "--model gru --T 8 --hidden 6 --batch 16 --train-size 40";
  const Run epochs = run(base + " --epochs 3 --csv " + full);
  INFO(epochs.output);
  REQUIRE(epochs.status == 0);
  const auto a = test::read_lines(full);
  REQUIRE(a.size() == 7);  // header + 6 steps
  // a fixed set is not the fresh-batch stream: the first losses differ
  REQUIRE(run("--model gru --T 8 --hidden 6 --batch 16 --steps 6 --csv " + fresh).status == 0);
  const auto f = test::read_lines(fresh);
  CHECK(a[1].substr(0, a[1].rfind(',')) != f[1].substr(0, f[1].rfind(',')));
  // stopped after step 3 (inside epoch 2) and resumed: the same batches and losses
  REQUIRE(run(base + " --steps 3 --checkpoint " + ck).status == 0);
  const Run resumed = run(base + " --epochs 3 --resume " + ck + " --csv " + second);
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  const auto b = test::read_lines(second);
  REQUIRE(b.size() == 4);
  for (size_t i = 1; i < b.size(); ++i) CHECK(a[3 + i].substr(0, a[3 + i].rfind(',')) == b[i].substr(0, b[i].rfind(',')));
  // a checkpoint of another set size is refused
  CHECK(run("--model gru --T 8 --hidden 6 --batch 16 --train-size 48 --steps 6 --resume " + ck).status == 1);

  const Run no_set = run("--model gru --T 8 --epochs 2");
  CHECK(no_set.status == 1);
  CHECK(no_set.output.find("--epochs needs --train-size") != std::string::npos);
  const Run small = run("--model gru --T 8 --batch 16 --train-size 10 --epochs 1");
  CHECK(small.status == 1);
  CHECK(small.output.find("--train-size 10 is smaller than the batch 16") != std::string::npos);
}
