// tests/test_example_gan_images.cpp: the image-GAN trainer (examples/
// gan_images, issue 17), run as the real binary on a tiny synthetic IDX
// dataset the test writes (so no real data is needed): a few steps of each
// weighting and of SN-GAN at a tiny width, the CSV columns and aw's cases,
// the sample grid, exact resume (a run stopped halfway and resumed ends bit
// for bit where a straight run does), each model's default n_dis, batch
// sizes, EMA and init (the header line and the checkpoint's settings), the
// classifier command and the FID/IS it enables (labelled as not comparable
// with published numbers), and bad options refused. Compiled only when the examples are built.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "tests/test_util.h"

#ifdef NOVA_GAN_IMAGES_EXAMPLE_PATH

namespace {

using Run = nova::test::CommandResult;
using Catch::Matchers::Contains;

Run run(const std::string& args) {
  return nova::test::run_command(std::string(NOVA_GAN_IMAGES_EXAMPLE_PATH) + " " + args);
}

void put_u32(std::ofstream& f, uint32_t v) {
  const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  f.write(b, 4);
}

/// Writes <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte of n 28x28
/// images into dir: class c is a pattern of horizontal stripes whose phase
/// depends on c, so a classifier has something to learn.
void write_idx_split(const std::string& dir, const std::string& split, uint32_t n) {
  std::ofstream images(dir + "/" + split + "-images-idx3-ubyte", std::ios::binary);
  images.write("\0\0\x08\x03", 4);
  put_u32(images, n);
  put_u32(images, 28);
  put_u32(images, 28);
  std::ofstream labels(dir + "/" + split + "-labels-idx1-ubyte", std::ios::binary);
  labels.write("\0\0\x08\x01", 4);
  put_u32(labels, n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t c = i % 10;
    for (uint32_t r = 0; r < 28; ++r)
      for (uint32_t col = 0; col < 28; ++col)
        images.put(char((r / 3 + c) % 4 == 0 && col >= 4 && col < 24 ? 255 : 0));
    labels.put(char(c));
  }
  REQUIRE(images);
  REQUIRE(labels);
}

/// A temp folder holding the tiny dataset (40 train, 20 test images).
struct TinyData {
  nova::test::TempDir dir;
  TinyData() {
    write_idx_split(dir.path.string(), "train", 40);
    write_idx_split(dir.path.string(), "t10k", 20);
  }
  std::string args() const { return "--data-dir " + dir.path.string() + " "; }
};

/// Tiny networks and batches: the whole file runs in seconds on one core.
const char* kTiny = "--width 2 --batch-g 8 --batch-d 8 --z-dim 8 --threads 1 --log-every 0 ";

std::vector<std::string> split_csv(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream s(row);
  for (std::string field; std::getline(s, field, ',');) out.push_back(field);
  if (!row.empty() && row.back() == ',') out.emplace_back();
  return out;
}

std::string without_elapsed(const std::string& row) { return row.substr(0, row.rfind(',')); }

}  // namespace

TEST_CASE("gan_images trains 3 steps of each weighting, logging every step and writing a sample grid",
          "[example][gan_images]") {
  const char* weighting = GENERATE("none", "aw1", "aw2");
  INFO("weighting " << weighting);
  TinyData data;
  nova::test::TempDir out;
  const std::string csv = out.file("log.csv");
  Run r = run(data.args() + kTiny + "--steps 3 --csv-every 1 --sample-every 0 --weighting " + weighting +
              " --csv " + csv + " --out-dir " + out.path.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Contains("final: method="));
  const auto lines = nova::test::read_lines(csv);
  REQUIRE(lines.size() == 4);  // header + steps 1, 2, 3
  REQUIRE(lines[0] ==
          "method,seed,step,loss_d_real,loss_d_fake,loss_g,s_r,s_f,case,w_r,w_f,angle_real_fake,"
          "angle_update_real,angle_update_fake,lr_g,fid,is,is_std,elapsed");
  const bool aw = std::string(weighting) != "none";
  for (size_t i = 1; i < lines.size(); ++i) {
    INFO(lines[i]);
    const auto f = split_csv(lines[i]);
    REQUIRE(f.size() == 19);
    REQUIRE(f[0] == (aw ? std::string(weighting) : "baseline"));
    REQUIRE(f[2] == std::to_string(i));
    const int case_id = std::stoi(f[8]);
    if (aw) {
      REQUIRE(case_id >= 1);
      REQUIRE(case_id <= 5);
    } else {
      REQUIRE(case_id == 0);
    }
    for (int k : {3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) REQUIRE(!f[size_t(k)].empty());  // angles measured too
    REQUIRE(f[15].empty());  // no FID without --fid-every
    // the lr decays linearly from 2e-4 to 0 over the 3 steps
    REQUIRE(std::stod(f[14]) == Approx(2e-4 * double(4 - i) / 3));
  }
  // --sample-every 0: one grid at the end; 8x8 tiles of 32x32 at scale 2
  const std::string png = out.file(std::string("dcgan_") + (aw ? weighting : "baseline") + "_seed0_step0000003.png");
  std::ifstream f(png, std::ios::binary);
  REQUIRE(f);
  char head[8];
  f.read(head, 8);
  REQUIRE(std::string(head + 1, 3) == "PNG");
}

TEST_CASE("gan_images trains SN-GAN (3 D steps per G step) at a tiny width", "[example][gan_images]") {
  TinyData data;
  Run r = run(data.args() + kTiny + "--model sngan --steps 2 --weighting aw1");
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Contains("2 steps, 3 D step(s) each"));
  REQUIRE_THAT(r.output, Contains("final: method=aw1 model=sngan seed=0 steps=2 cases="));
}

// --profile: the per-op table with convolutions (their kernel and GFLOP/s)
// and the two scopes, 2 steps each.
TEST_CASE("gan_images --profile prints the per-op table and writes a Chrome trace", "[example][gan_images]") {
  TinyData data;
  nova::test::TempDir dir;
  const std::string json = (dir.path / "p.json").string();
  Run r = run(data.args() + kTiny + "--model sngan --steps 2 --profile " + json);
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Contains("conv2d "));
  REQUIRE_THAT(r.output, Contains("conv2d_backward_filter"));
  REQUIRE(std::regex_search(r.output, std::regex("\\nD steps +2 ")));
  REQUIRE(std::regex_search(r.output, std::regex("\\nG step +2 ")));
  REQUIRE(std::filesystem::file_size(json) > 1000);
}

// --graph: one step's three losses in DOT (a PNG when Graphviz is there),
// with BatchNorm and spectral norm's state put back: the run's CSV is the
// same as without it.
TEST_CASE("gan_images --graph draws one step and leaves the run as it was", "[example][gan_images]") {
  TinyData data;
  nova::test::TempDir dir;
  const std::string dot = (dir.path / "g.dot").string();
  const std::string with_csv = (dir.path / "with.csv").string(), without_csv = (dir.path / "without.csv").string();
  for (const char* model : {"dcgan", "sngan"}) {
    INFO(model);
    const std::string args = data.args() + kTiny + "--model " + model + " --steps 3 --weighting aw1 --csv-every 1 ";
    Run with = run(args + "--graph " + dot + " --csv " + with_csv);
    INFO(with.output);
    REQUIRE(with.status == 0);
    const auto lines = nova::test::read_lines(dot);
    REQUIRE(!lines.empty());
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    REQUIRE(text.find("G loss") != std::string::npos);
    REQUIRE(text.find("conv2d") != std::string::npos);
    REQUIRE(text.find("label=\"D.") != std::string::npos);
    REQUIRE(run(args + "--csv " + without_csv).status == 0);
    const auto a = nova::test::read_lines(with_csv), b = nova::test::read_lines(without_csv);
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() >= 4);
    for (size_t i = 1; i < a.size(); ++i) REQUIRE(a[i].substr(0, a[i].rfind(',')) == b[i].substr(0, b[i].rfind(',')));
  }
  Run study = run(data.args() + "--study angles --graph " + dot);
  REQUIRE(study.status != 0);
  REQUIRE_THAT(study.output, Contains("--graph and --profile are for a training run"));
}

/// Writes CIFAR-10's six binary files (n records each: label byte + 3072
/// pixel bytes) into dir.
void write_cifar10(const std::string& dir, int n) {
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    std::ofstream f(dir + "/" + name, std::ios::binary);
    for (int i = 0; i < n; ++i) {
      f.put(char(i % 10));
      for (int p = 0; p < 3072; ++p) f.put(char((p * 7 + i * 13) % 256));
    }
    REQUIRE(f);
  }
}

/// Writes STL-10's train/test image and label files (n images each, 96x96x3).
void write_stl10(const std::string& dir, int n) {
  for (const char* split : {"train", "test"}) {
    std::ofstream x(dir + "/" + split + "_X.bin", std::ios::binary), y(dir + "/" + split + "_y.bin", std::ios::binary);
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < 3 * 96 * 96; ++p) x.put(char((p * 5 + i * 11) % 256));
      y.put(char(1 + i % 10));
    }
    REQUIRE(x);
    REQUIRE(y);
  }
  std::ofstream u(dir + "/unlabeled_X.bin", std::ios::binary);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < 3 * 96 * 96; ++p) u.put(char((p * 3 + i * 17) % 256));
  REQUIRE(u);
}

TEST_CASE("gan_images trains on CIFAR-10 (3x32x32) and STL-10 (3x48x48) files", "[example][gan_images]") {
  nova::test::TempDir cifar, stl;
  write_cifar10(cifar.path.string(), 4);
  write_stl10(stl.path.string(), 12);
  Run c = run("--dataset cifar10 --data-dir " + cifar.path.string() + " " + kTiny + "--steps 2 --weighting aw1");
  INFO(c.output);
  REQUIRE(c.status == 0);
  REQUIRE_THAT(c.output, Contains("dcgan on cifar10 (20 images, 3x32x32 in [-1, 1])"));
  Run s = run("--dataset stl10 --data-dir " + stl.path.string() + " " + kTiny + "--model sngan --steps 1");
  INFO(s.output);
  REQUIRE(s.status == 0);
  REQUIRE_THAT(s.output, Contains("sngan on stl10 (12 images, 3x48x48 in [-1, 1])"));
  Run u = run("--dataset stl10 --data-dir " + stl.path.string() + " " + kTiny + "--steps 1 --stl10-unlabeled 5");
  INFO(u.output);
  REQUIRE(u.status == 0);
  REQUIRE_THAT(u.output, Contains("dcgan on stl10 (17 images, 3x48x48"));
  Run u_cond = run("--dataset stl10 --data-dir " + stl.path.string() + " " + kTiny +
                   "--model sngan --conditional --steps 1 --stl10-unlabeled 5");
  REQUIRE(u_cond.status != 0);
  REQUIRE_THAT(u_cond.output, Contains("--stl10-unlabeled images have no labels"));
  Run missing = run("--dataset cifar10 --data-dir " + stl.path.string() + " " + kTiny + "--steps 1");
  REQUIRE(missing.status != 0);
  REQUIRE_THAT(missing.output, Contains("data_batch_1.bin"));
}

TEST_CASE("gan_images trains conditional SN-GAN, BigGAN and AutoGAN on CIFAR-10 files", "[example][gan_images]") {
  nova::test::TempDir cifar, out;
  write_cifar10(cifar.path.string(), 4);
  const std::string data = "--dataset cifar10 --data-dir " + cifar.path.string() + " " + kTiny;
  // --grad-split fused: aw's one grouped backward must take every one of these
  // discriminators (projection, spectral norm everywhere); it refuses, never guesses
  Run c = run(data + "--model sngan --conditional --steps 2 --weighting aw1 --grad-split fused --out-dir " +
              out.path.string());
  INFO(c.output);
  REQUIRE(c.status == 0);
  REQUIRE_THAT(c.output, Contains("sngan (conditional, 10 classes) on cifar10"));
  REQUIRE(std::ifstream(out.file("sngan_aw1_seed0_step0000002.png"), std::ios::binary).good());
  Run b = run(data + "--model biggan --steps 1 --weighting aw1 --grad-split fused");
  INFO(b.output);
  REQUIRE(b.status == 0);
  REQUIRE_THAT(b.output, Contains("biggan (conditional, 10 classes) on cifar10"));
  Run a = run(data + "--model autogan --steps 1 --weighting aw2 --grad-split fused");
  INFO(a.output);
  REQUIRE(a.status == 0);
  REQUIRE_THAT(a.output, Contains("autogan on cifar10"));
  TinyData grey;
  Run refused = run(grey.args() + kTiny + "--model biggan --steps 1");
  REQUIRE(refused.status != 0);
  REQUIRE_THAT(refused.output, Contains("--model biggan is a 3x32x32 model (CIFAR-10)"));
  Run no_cond = run(grey.args() + kTiny + "--model dcgan --conditional --steps 1");
  REQUIRE(no_cond.status != 0);
  REQUIRE_THAT(no_cond.output, Contains("--conditional is for --model sngan"));
}

// Each model's defaults as the run resolves them: the thesis's D steps per G
// step and batch sizes (section 2.1.4), the original code's EMA of G and
// init. One step at width 2 on CIFAR-shaped files, without any of the
// options, so the model's values are what the header line prints and the
// checkpoint's settings hold.
TEST_CASE("gan_images resolves each model's n_dis, batch sizes, EMA and init", "[example][gan_images]") {
  nova::test::TempDir cifar, dir;
  write_cifar10(cifar.path.string(), 4);
  const std::string data = "--dataset cifar10 --data-dir " + cifar.path.string() +
                           " --width 2 --z-dim 8 --threads 1 --log-every 0 ";
  struct Want {
    const char* model;
    const char* n_dis;
    const char* batch_g;
    const char* batch_d;
    const char* ema_setting;  // the checkpoint's "ema"
    const char* ema_line;     // what the header line says
    const char* init_line;
  };
  const Want wants[] = {
      {"dcgan", "1", "128", "64", "off", "no EMA of G", "init N(0, 0.02);"},
      {"sngan", "3", "128", "64", "off", "no EMA of G", "init xavier_uniform;"},
      {"autogan", "2", "128", "64", "0.999 from step 0",
       "EMA of G 0.999 from step 0 (parameters; BatchNorm statistics G's)", "init xavier_uniform;"},
      {"biggan", "2", "50", "50", "0.9999 from step 1000", "EMA of G 0.9999 from step 1000 (whole state)",
       "init N(0, 0.02) (--biggan-init n02);"},
  };
  for (const Want& w : wants) {
    INFO("model " << w.model);
    const std::string ckpt = dir.file(std::string(w.model) + ".safetensors");
    Run r = run(data + "--steps 1 --model " + w.model + " --checkpoint " + ckpt);
    INFO(r.output);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.output, Contains(std::string(w.n_dis) + " D step(s) each, batch G " + w.batch_g + " D " + w.batch_d +
                                    ";"));
    REQUIRE_THAT(r.output, Contains(w.ema_line));
    REQUIRE_THAT(r.output, Contains(w.init_line));
    nova::safetensors::Metadata meta;
    nova::nn::load_checkpoint(ckpt, &meta);
    REQUIRE(meta.at("nova.train.setting.n_dis") == w.n_dis);
    REQUIRE(meta.at("nova.train.setting.batch_g") == w.batch_g);
    REQUIRE(meta.at("nova.train.setting.batch_d") == w.batch_d);
    REQUIRE(meta.at("nova.train.setting.ema") == w.ema_setting);
    if (std::string(w.model) == "biggan") REQUIRE(meta.at("nova.train.setting.init") == "n02");
    else REQUIRE(meta.count("nova.train.setting.init") == 0);
  }

  // given options win over the model's
  const std::string ortho = dir.file("ortho.safetensors");
  Run given = run(data + "--steps 1 --model biggan --n-dis 1 --batch-g 6 --batch-d 5 --ema 0.5 --ema-start 3 "
                         "--biggan-init ortho --checkpoint " + ortho);
  INFO(given.output);
  REQUIRE(given.status == 0);
  REQUIRE_THAT(given.output, Contains("1 D step(s) each, batch G 6 D 5;"));
  REQUIRE_THAT(given.output, Contains("EMA of G 0.5 from step 3 (whole state)"));
  REQUIRE_THAT(given.output, Contains("init orthogonal (--biggan-init ortho);"));
  nova::safetensors::Metadata meta;
  const nova::StateDict state = nova::nn::load_checkpoint(ortho, &meta);
  REQUIRE(meta.at("nova.train.setting.init") == "ortho");
  // --biggan-init reaches the weights: G's 3x3 convs [8, 8, 3, 3] start with
  // orthonormal rows (W W^T = I for W [8, 72]); one Adam step of lr 2e-4
  // moves each entry by at most about 2e-4. N(0, 0.02) rows have squared
  // norms near 72 * 0.02^2 = 0.03.
  auto gram = [](const nova::Tensor& w) {
    const nova::Tensor m = w.reshape({w.size(0), -1});
    return nova::ops::matmul(m, m.transpose(0, 1));
  };
  const nova::Tensor eye = nova::eye(8);
  REQUIRE(nova::test::max_abs_diff(gram(state.at("G.net.blocks.0.conv1.weight_orig")), eye) < 0.01);
  const nova::StateDict n02 = nova::nn::load_checkpoint(dir.file("biggan.safetensors"));
  REQUIRE(nova::test::max_abs_diff(gram(n02.at("G.net.blocks.0.conv1.weight_orig")), eye) > 0.9);

  // a checkpoint resumes under the same resolved values (here the defaults
  // given by hand) and refuses others
  const std::string half = dir.file("half.safetensors");
  const std::string two = data + "--model biggan --steps 2 ";
  REQUIRE(run(two + "--stop-at 1 --checkpoint " + half).status == 0);
  Run same = run(two + "--batch-g 50 --batch-d 50 --n-dis 2 --biggan-init n02 --resume " + half);
  INFO(same.output);
  REQUIRE(same.status == 0);
  REQUIRE_THAT(same.output, Contains("resumed from " + half + " after step 1"));
  Run other = run(two + "--biggan-init ortho --batch-g 128 --resume " + half);
  REQUIRE(other.status == 1);
  REQUIRE_THAT(other.output, Contains("batch_g=50"));
  REQUIRE_THAT(other.output, Contains("init=n02"));

  Run refused = run(data + "--steps 1 --model dcgan --biggan-init ortho");
  REQUIRE(refused.status == 1);
  REQUIRE_THAT(refused.output, Contains("--biggan-init is for --model biggan"));
}

// AutoGAN's EMA (its functions.py) averages G's parameters only; G_ema's
// BatchNorm statistics are G's. BigGAN-PyTorch's averages the whole state.
TEST_CASE("gan_images: AutoGAN's EMA averages G's parameters from step 1, BigGAN's the whole state",
          "[example][gan_images]") {
  nova::test::TempDir cifar, dir;
  write_cifar10(cifar.path.string(), 4);
  const std::string data = "--dataset cifar10 --data-dir " + cifar.path.string() + " " + kTiny + "--steps 2 ";
  // the largest |G_ema - G| over the parameters, and over the floating buffers
  auto ema_gaps = [&](const std::string& extra) {
    const std::string ckpt = dir.file("ema.safetensors");
    Run r = run(data + extra + " --checkpoint " + ckpt);
    INFO(r.output);
    REQUIRE(r.status == 0);
    const nova::StateDict state = nova::nn::load_checkpoint(ckpt);
    double params = 0, buffers = 0;
    int running = 0;
    for (const auto& [key, t] : state.items()) {
      if (key.rfind("G_ema.", 0) != 0 || !nova::is_floating(t.dtype())) continue;
      const double gap = nova::test::max_abs_diff(t, state.at("G." + key.substr(6)));
      const bool bn = key.find(".running_") != std::string::npos;
      const bool sn = key.find(".weight_u") != std::string::npos || key.find(".weight_v") != std::string::npos;
      running += bn;
      double& most = bn || sn ? buffers : params;
      most = std::max(most, gap);
    }
    REQUIRE(running > 0);  // the models have BatchNorm
    return std::pair<double, double>{params, buffers};
  };
  const auto [a_params, a_buffers] = ema_gaps("--model autogan");
  REQUIRE(a_params > 0);     // averaging from the first step: lags G
  REQUIRE(a_buffers == 0);   // BatchNorm statistics copied from G
  const auto [b_params, b_buffers] = ema_gaps("--model biggan --ema-start 0");
  REQUIRE(b_params > 0);
  REQUIRE(b_buffers > 0);    // the whole state averaged
  const auto [c_params, c_buffers] = ema_gaps("--model biggan");
  REQUIRE(c_params == 0);    // before step 1000: a copy of G
  REQUIRE(c_buffers == 0);
}

TEST_CASE("gan_images keeps an EMA of G: a copy before --ema-start, an average after", "[example][gan_images]") {
  TinyData data;
  nova::test::TempDir dir;
  auto g_and_ema = [&](const std::string& extra) {
    const std::string ckpt = dir.file("ema.safetensors");
    Run r = run(data.args() + kTiny + "--steps 3 --checkpoint " + ckpt + " " + extra);
    INFO(r.output);
    REQUIRE(r.status == 0);
    const nova::StateDict state = nova::nn::load_checkpoint(ckpt);
    double most = 0;  // the largest |G - G_ema| over G's floating tensors
    int compared = 0;
    for (const auto& [key, t] : state.items()) {
      if (key.rfind("G_ema.", 0) != 0 || !nova::is_floating(t.dtype())) continue;
      const nova::Tensor& g = state.at("G." + key.substr(6));
      most = std::max(most, nova::test::max_abs_diff(t, g));
      ++compared;
    }
    REQUIRE(compared > 0);
    return most;
  };
  REQUIRE(g_and_ema("--ema 0.9 --ema-start 100") == 0);  // still copying G
  REQUIRE(g_and_ema("--ema 0.9 --ema-start 0") > 0);     // averaging: lags behind G
}

TEST_CASE("gan_images --study angles and scores write their CSV and figure", "[example][gan_images]") {
  TinyData data;
  nova::test::TempDir out;
  Run a = run(data.args() + kTiny + "--study angles --study-iterations 4 --out-dir " + out.path.string() +
              " --csv " + out.file("angles.csv"));
  INFO(a.output);
  REQUIRE(a.status == 0);
  REQUIRE_THAT(a.output, Contains("angles, original loss, mean over 4 iterations: (grad L_r, grad L_f) "));
  REQUIRE_THAT(a.output, Contains("angles, aw loss, mean over 4 iterations"));
  auto lines = nova::test::read_lines(out.file("angles.csv"));
  REQUIRE(lines.size() == 9);  // header + 4 iterations x 2 losses
  REQUIRE(lines[0] == "loss,iteration,angle_real_fake,angle_update_real,angle_update_fake");
  REQUIRE(split_csv(lines[8])[0] == "aw");
  for (size_t i = 1; i < lines.size(); ++i)
    for (size_t k = 2; k < 5; ++k) {
      const double angle = std::stod(split_csv(lines[i])[k]);
      REQUIRE(angle >= 0);
      REQUIRE(angle <= 180);
    }
  REQUIRE(std::ifstream(out.file("dcgan_study_angles.png"), std::ios::binary).good());

  Run sc = run(data.args() + kTiny + "--study scores --study-iterations 3 --out-dir " + out.path.string() +
               " --csv " + out.file("scores.csv"));
  INFO(sc.output);
  REQUIRE(sc.status == 0);
  REQUIRE_THAT(sc.output, Contains("gaps real - fake: before "));
  lines = nova::test::read_lines(out.file("scores.csv"));
  REQUIRE(lines.size() == 4);
  REQUIRE(lines[0] == "iteration,real_before,fake_before,real_original,fake_original,real_aw,fake_aw");
  // the aw step starts from the state the original step starts from: a
  // different step, so different scores after it
  const auto row = split_csv(lines[3]);
  REQUIRE(row[3] != row[5]);
  REQUIRE(std::ifstream(out.file("dcgan_study_scores.png"), std::ios::binary).good());
}

TEST_CASE("a gan_images run stopped halfway and resumed ends bit for bit where a straight run does",
          "[example][gan_images][resume]") {
  // the EMA case starts the average at step 2, before the stop: the
  // checkpoint must carry G_ema, not rebuild it
  const std::string options = GENERATE("--weighting none", "--weighting aw1", "--weighting none --ema 0.9 --ema-start 2");
  INFO(options);
  TinyData data;
  nova::test::TempDir dir;
  const std::string common = data.args() + kTiny + "--steps 6 --csv-every 1 " + options + " ";
  const std::string straight = dir.file("straight.safetensors"), half = dir.file("half.safetensors"),
                    resumed = dir.file("resumed.safetensors");
  Run a = run(common + "--checkpoint " + straight + " --csv " + dir.file("a.csv"));
  INFO(a.output);
  REQUIRE(a.status == 0);
  Run b = run(common + "--stop-at 3 --checkpoint " + half + " --csv " + dir.file("c.csv"));
  INFO(b.output);
  REQUIRE(b.status == 0);
  Run c = run(common + "--resume " + half + " --checkpoint " + resumed + " --csv " + dir.file("c.csv"));
  INFO(c.output);
  REQUIRE(c.status == 0);
  REQUIRE_THAT(c.output, Contains("resumed from " + half + " after step 3"));

  nova::safetensors::Metadata meta_a, meta_b, meta_c;
  const nova::StateDict state_a = nova::nn::load_checkpoint(straight, &meta_a);
  nova::nn::load_checkpoint(half, &meta_b);
  const nova::StateDict state_c = nova::nn::load_checkpoint(resumed, &meta_c);
  REQUIRE(meta_b.at("nova.train.step") == "3");
  REQUIRE(state_a.contains("sched_g.last_epoch"));
  REQUIRE(state_a.contains("gen.offset"));
  if (options.find("--ema") != std::string::npos) {
    bool has_ema = false;
    for (const auto& [key, value] : state_a) has_ema = has_ema || key.rfind("G_ema.", 0) == 0;
    REQUIRE(has_ema);
  }
  nova::test::require_identical(state_c, state_a);
  REQUIRE(meta_c == meta_a);
  // the resumed log continues the stopped one with the straight run's rows
  const auto la = nova::test::read_lines(dir.file("a.csv")), lc = nova::test::read_lines(dir.file("c.csv"));
  REQUIRE(la.size() == 7);
  REQUIRE(lc.size() == la.size());
  for (size_t i = 0; i < la.size(); ++i) REQUIRE(without_elapsed(lc[i]) == without_elapsed(la[i]));

  // a resume that could not be exact is refused
  Run other = run(common + "--resume " + half + " --loss bce");
  REQUIRE(other.status == 1);
  REQUIRE_THAT(other.output, Contains("it was saved with g_loss=hinge, loss=hinge; this run has g_loss=minimax, "
                                      "loss=bce"));
}

// bce, gn and pgn once trained G with the non-saturating loss and now train
// it with the minimax one: a checkpoint records G's loss, and one saved
// before it did (no "g_loss" setting; made here by deleting the key) is
// refused, saying why, instead of resuming under the other G loss.
TEST_CASE("gan_images checkpoints record G's loss; one without it predates the minimax default and is refused",
          "[example][gan_images][resume]") {
  TinyData data;
  nova::test::TempDir dir;
  const std::string common = data.args() + kTiny + "--steps 2 --loss bce ";
  const std::string ckpt = dir.file("half.safetensors"), old = dir.file("old.safetensors"),
                    other = dir.file("other.safetensors");
  Run a = run(common + "--stop-at 1 --checkpoint " + ckpt);
  INFO(a.output);
  REQUIRE(a.status == 0);
  nova::safetensors::Metadata meta;
  const nova::StateDict state = nova::nn::load_checkpoint(ckpt, &meta);
  REQUIRE(meta.at("nova.train.setting.g_loss") == "minimax");
  Run same = run(common + "--resume " + ckpt);
  INFO(same.output);
  REQUIRE(same.status == 0);

  nova::safetensors::Metadata before = meta;
  before.erase("nova.train.setting.g_loss");
  nova::nn::save_checkpoint(old, state, before);
  Run r = run(common + "--resume " + old);
  INFO(r.output);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.output, Contains("it was saved with g_loss=(not set); this run has g_loss=minimax"));
  REQUIRE_THAT(r.output, Contains("predates the g_loss setting and the minimax generator default"));

  meta["nova.train.setting.g_loss"] = "non_saturating";  // a file of another G loss: the plain refusal
  nova::nn::save_checkpoint(other, state, meta);
  Run o = run(common + "--resume " + other);
  INFO(o.output);
  REQUIRE(o.status == 1);
  REQUIRE_THAT(o.output, Contains("it was saved with g_loss=non_saturating; this run has g_loss=minimax"));
  REQUIRE(o.output.find("predates") == std::string::npos);
}

TEST_CASE("gan_images trains its FID classifier, then reports FID and IS labelled as not comparable",
          "[example][gan_images]") {
  TinyData data;
  nova::test::TempDir dir;
  const std::string cls = dir.file("cls.safetensors"), csv = dir.file("log.csv");
  Run t = run(data.args() + "--train-classifier --classifier-out " + cls +
              " --classifier-epochs 2 --classifier-width 2 --classifier-features 8 --threads 1");
  INFO(t.output);
  REQUIRE(t.status == 0);
  REQUIRE_THAT(t.output, Contains("epoch 2: train loss"));
  REQUIRE_THAT(t.output, Contains("wrote " + cls));
  nova::safetensors::Metadata meta;
  nova::nn::load_checkpoint(cls, &meta);
  REQUIRE(meta.at("nova.classifier.feature_dim") == "8");
  REQUIRE(meta.at("nova.classifier.num_classes") == "10");

  Run r = run(data.args() + kTiny + "--steps 2 --fid-every 1 --fid-samples 16 --csv " + csv + " --classifier " + cls);
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Contains("FID reference: 16 real test images"));
  REQUIRE_THAT(r.output, Contains("(nova classifier features; not comparable with published Inception FID)"));
  REQUIRE_THAT(r.output, Contains("not comparable with published Inception FID/IS"));
  const auto lines = nova::test::read_lines(csv);
  REQUIRE(lines.size() == 3);  // header + steps 1 and 2 (FID steps are logged)
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = split_csv(lines[i]);
    REQUIRE(f.size() == 19);
    REQUIRE(std::stod(f[15]) >= 0);  // FID
    REQUIRE(std::stod(f[16]) >= 1);  // IS
  }
  Run bad = run(data.args() + kTiny + "--steps 1 --fid-every 1 --classifier " + dir.file("none.safetensors"));
  REQUIRE(bad.status == 1);
  REQUIRE_THAT(bad.output, Contains(dir.file("none.safetensors")));
}

// --inception: FID and IS on Inception-v3 loaded from a file. The
// committed divisor-16 reference network (tests/reference/
// inception_div16.safetensors, random weights) stands in for the real FID
// weights, which are 95 MB and not redistributable here; the code path is
// the same.
TEST_CASE("gan_images --inception reports FID and IS on Inception-v3 features", "[example][gan_images][inception]") {
  TinyData data;
  nova::test::TempDir dir;
  const nova::StateDict ref = nova::nn::load_checkpoint(std::string(NOVA_REFERENCE_DIR) + "/inception_div16.safetensors");
  nova::StateDict weights;
  for (const auto& [key, value] : ref)
    if (key.rfind("model.", 0) == 0) weights.insert(key.substr(6), value);
  const std::string net = dir.file("inception.safetensors"), csv = dir.file("log.csv");
  nova::nn::save_checkpoint(net, weights);
  Run r = run(data.args() + kTiny + "--steps 2 --fid-every 2 --fid-samples 12 --csv " + csv + " --inception " + net);
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.output, Contains("FID reference: 12 real test images"));
  REQUIRE_THAT(r.output, Contains("(Inception-v3 pool3 features, pytorch-fid's network)"));
  REQUIRE(r.output.find("nova classifier") == std::string::npos);
  const auto lines = nova::test::read_lines(csv);
  const auto f = split_csv(lines.back());
  REQUIRE(std::stod(f[15]) >= 0);  // FID
  REQUIRE(std::stod(f[16]) >= 1);  // IS, from the fc's 63 classes at this divisor

  Run both = run(data.args() + kTiny + "--steps 1 --fid-every 1 --inception " + net + " --classifier " + net);
  REQUIRE(both.status == 1);
  REQUIRE_THAT(both.output, Contains("--classifier and --inception are two feature networks"));
  Run missing = run(data.args() + kTiny + "--steps 1 --fid-every 1 --inception " + dir.file("none.safetensors"));
  REQUIRE(missing.status == 1);
  REQUIRE_THAT(missing.output, Contains(dir.file("none.safetensors")));
}

TEST_CASE("gan_images refuses bad options with a clear message", "[example][gan_images]") {
  TinyData data;
  Run help = run("--help");
  REQUIRE(help.status == 0);
  for (const char* option : {"--model", "--width", "--weighting", "--loss", "--dataset", "--data-dir", "--steps",
                             "--n-dis", "--batch-g", "--batch-d", "--lr-g", "--lr-d", "--beta1", "--beta2", "--seed",
                             "--device", "--threads", "--csv", "--csv-every", "--out-dir", "--sample-every",
                             "--fid-every", "--fid-samples", "--classifier", "--checkpoint", "--resume",
                             "--stop-at", "--train-classifier", "--classifier-out", "--conditional", "--study", "--ema",
                             "--ema-start", "--biggan-init", "--inception"})
    REQUIRE_THAT(help.output, Contains(option));

  Run model = run(data.args() + "--model stylegan");
  REQUIRE(model.status == 2);
  REQUIRE_THAT(model.output, Contains("--model"));
  Run width = run(data.args() + "--width -1");
  REQUIRE(width.status == 2);
  REQUIRE_THAT(width.output, Contains("--width"));
  Run loss = run(data.args() + "--loss hingee");
  REQUIRE(loss.status == 2);
  Run fid = run(data.args() + "--fid-every 5");
  REQUIRE(fid.status == 1);
  REQUIRE_THAT(fid.output, Contains("--fid-every needs --classifier"));
  Run stop = run(data.args() + "--steps 5 --stop-at 6");
  REQUIRE(stop.status == 1);
  REQUIRE_THAT(stop.output, Contains("--stop-at 6 is beyond --steps 5"));
  Run dir = run("--data-dir /nonexistent/nova");
  REQUIRE(dir.status == 1);
  REQUIRE_THAT(dir.output, Contains("--data-dir /nonexistent/nova: not a folder"));
  nova::test::TempDir empty;
  Run files = run("--data-dir " + empty.path.string() + " --steps 1");
  REQUIRE(files.status == 1);
  REQUIRE_THAT(files.output, Contains("train-images-idx3-ubyte.gz exists"));
  Run cls = run(data.args() + "--train-classifier");
  REQUIRE(cls.status == 1);
  REQUIRE_THAT(cls.output, Contains("--train-classifier needs --classifier-out"));
  Run out = run(data.args() + "--out-dir /nonexistent/nova");
  REQUIRE(out.status == 1);
  REQUIRE_THAT(out.output, Contains("--out-dir /nonexistent/nova: not a folder"));
}

#endif  // NOVA_GAN_IMAGES_EXAMPLE_PATH
