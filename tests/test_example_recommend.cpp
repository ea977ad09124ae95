// tests/test_example_recommend.cpp: the sequential-recommendation trainer of
// thesis section 4.1.4.1 (examples/recommend), run as a real binary on small
// synthetic data: the table and CSV are written and the loss falls; a
// resumed run continues bit for bit; --compare trains both models; a
// MovieLens-1M file in the real format (written here) goes through Caser's
// preprocessing and gets Table 4.1's columns; --profile and --graph work
// and leave the run unchanged; bad options are refused.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

#ifdef NOVA_RECOMMEND_EXAMPLE_PATH

using namespace nova;

namespace {

using Run = test::CommandResult;

const std::string kSmall = " --users 100 --items 60 --batch 128 --eval-every 1 ";

Run run(const std::string& args) {
  return test::run_command(std::string(NOVA_RECOMMEND_EXAMPLE_PATH) + " --threads 1" + args);
}

/// The comma-separated fields of a CSV line.
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) out.push_back(cell);
  return out;
}

}  // namespace

TEST_CASE("recommend trains SCosRec on synthetic data, writes its table and CSV, and the loss falls",
          "[recommend]") {
  test::TempDir dir;
  const std::string csv = (dir.path / "run.csv").string();
  const Run r = run(kSmall + "--epochs 3 --csv " + csv);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("popularity baseline: MAP") != std::string::npos);
  CHECK(r.output.find("SCosRec (nova)") != std::string::npos);
  CHECK(r.output.find("Recall@10") != std::string::npos);
  const auto lines = test::read_lines(csv);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "model,seed,epoch,loss,lr,seconds,map,p1,p5,p10,r1,r5,r10");
  const auto first = fields(lines[1]), last = fields(lines[3]);
  REQUIRE(last.size() == 13);
  CHECK(std::stod(last[3]) < std::stod(first[3]));  // the training loss
  CHECK(std::stod(last[6]) > 0.0);                  // a MAP was measured
}

TEST_CASE("recommend: a resumed run continues bit for bit", "[recommend]") {
  test::TempDir dir;
  const std::string ck = (dir.path / "ck.safetensors").string();
  const std::string full = (dir.path / "full.csv").string(), second = (dir.path / "second.csv").string();
  const std::string base = kSmall + "--model cosrec --seed 4";
  REQUIRE(run(base + " --epochs 3 --csv " + full).status == 0);
  REQUIRE(run(base + " --epochs 2 --checkpoint " + ck).status == 0);
  const Run resumed = run(base + " --epochs 3 --resume " + ck + " --csv " + second);
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.output.find("resumed from") != std::string::npos);
  const auto a = test::read_lines(full), b = test::read_lines(second);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 2);
  auto fa = fields(a[3]), fb = fields(b[1]);
  fa.erase(fa.begin() + 5), fb.erase(fb.begin() + 5);  // everything but the seconds
  CHECK(fa == fb);
  const Run other = run(kSmall + "--model scosrec --seed 4 --epochs 3 --resume " + ck);
  CHECK(other.status == 1);
  CHECK(other.output.find("model") != std::string::npos);
}

TEST_CASE("recommend --compare trains CosRec and SCosRec side by side, each as a single run would",
          "[recommend]") {
  test::TempDir dir;
  const std::string both = (dir.path / "both.csv").string(), one = (dir.path / "one.csv").string();
  const Run r = run(kSmall + "--epochs 2 --compare --seeds 2 --jobs 2 --csv " + both);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("CosRec (nova)") != std::string::npos);
  CHECK(r.output.find("SCosRec (nova)") != std::string::npos);
  CHECK(r.output.find("parameters") != std::string::npos);
  // SCosRec seed 1 ran beside the others: its rows are a single run's
  REQUIRE(run(kSmall + "--epochs 2 --model scosrec --seed 1 --csv " + one).status == 0);
  const auto single = test::read_lines(one);
  REQUIRE(single.size() == 3);
  int found = 0;
  for (const std::string& line : test::read_lines(both))
    for (size_t i = 1; i < single.size(); ++i) {
      auto a = fields(line), b = fields(single[i]);
      if (a.size() != b.size() || a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) continue;
      a.erase(a.begin() + 5), b.erase(b.begin() + 5);
      CHECK(a == b);
      ++found;
    }
  CHECK(found == 2);
}

TEST_CASE("recommend reads a MovieLens-1M ratings.dat and prints Table 4.1 beside its results", "[recommend]") {
  test::TempDir dir;
  const std::string path = (dir.path / "ratings.dat").string();
  {
    std::ofstream out(path);
    // 40 users rating 12 of 30 movies each, in time order: every user and movie clears Caser's 5
    for (int u = 1; u <= 40; ++u)
      for (int k = 0; k < 12; ++k) out << u << "::" << 1 + (u * 7 + k * 11) % 30 << "::4::" << 978300000 + u * 100 + k << "\n";
  }
  const Run r = run(" --data ml1m --path " + path + " --epochs 1 --batch 64");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("40 users") != std::string::npos);
  CHECK(r.output.find("SCosRec (thesis)") != std::string::npos);
  CHECK(r.output.find("0.1970") != std::string::npos);  // Table 4.1's SCosRec MAP on ML-1M

  std::ofstream(path, std::ios::app) << "41::3:4::978300000\n";
  const Run broken = run(" --data ml1m --path " + path + " --epochs 1");
  CHECK(broken.status == 1);
  CHECK(broken.output.find("line 481") != std::string::npos);
}

TEST_CASE("recommend --profile times its loop and --graph draws one step, leaving the run as it was",
          "[recommend]") {
  test::TempDir dir;
  const std::string plain = (dir.path / "plain.csv").string(), seen = (dir.path / "seen.csv").string();
  const std::string dot = (dir.path / "step.dot").string(), trace = (dir.path / "trace.json").string();
  REQUIRE(run(kSmall + "--epochs 1 --csv " + plain).status == 0);
  const Run r = run(kSmall + "--epochs 1 --csv " + seen + " --graph " + dot + " --profile " + trace);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("sym_preserving_conv2d") != std::string::npos);  // a row of the op table
  CHECK(r.output.find("evaluate") != std::string::npos);               // a scope
  CHECK(std::filesystem::exists(trace));
  const auto dot_lines = test::read_lines(dot);
  REQUIRE(!dot_lines.empty());
  CHECK(dot_lines[0].find("digraph") != std::string::npos);
  auto a = fields(test::read_lines(plain)[1]), b = fields(test::read_lines(seen)[1]);
  a.erase(a.begin() + 5), b.erase(b.begin() + 5);
  CHECK(a == b);
}

TEST_CASE("recommend refuses bad options", "[recommend]") {
  const Run model = run(" --model caser");
  CHECK(model.status == 2);
  CHECK(model.output.find("--model") != std::string::npos);
  const Run no_path = run(" --data ml1m");
  CHECK(no_path.status == 1);
  CHECK(no_path.output.find("needs --path") != std::string::npos);
  const Run ck_compare = run(kSmall + "--compare --epochs 1 --checkpoint x.safetensors");
  CHECK(ck_compare.status == 1);
  CHECK(ck_compare.output.find("single run") != std::string::npos);
  const Run missing = run(" --data gowalla --path /nonexistent/checkins.txt");
  CHECK(missing.status == 1);
  CHECK(missing.output.find("/nonexistent/checkins.txt") != std::string::npos);
}

#endif  // NOVA_RECOMMEND_EXAMPLE_PATH
