// examples/gan_images.cpp: the image GANs of thesis section 2.1 (issue 17):
// DCGAN (the SN-GAN paper's standard CNN, models/dcgan.h), the SN-GAN ResNet
// (models/sngan.h; --conditional: conditional BN and projection D), AutoGAN
// or BigGAN (models/autogan.h, models/biggan.h; CIFAR-10's 3x32x32; BigGAN
// class-conditional; examples/labelled_net.h lets the library's GAN step
// train a conditional pair) trained on an IDX image dataset
// (Fashion-MNIST or MNIST, 28x28 padded with zeros to 32x32, one channel),
// CIFAR-10 (32x32 colour) or STL-10 (96x96 averaged down to 48x48, the SN-GAN
// models' 48x48 layout), scaled to [-1, 1], with the plain discriminator step
// (baseline) or the adaptive weighted one (aw1, aw2: Algorithms 1 and 2).
//
// Defaults: the thesis's image-GAN settings (section 2.1.4, thesis lines
// 660-665; THESIS-NOTES.md "Settings used for the image GANs"): hinge loss,
// Adam lr 2e-4 for G and D with betas (0, 0.999), lr decayed linearly to 0
// over the run, spectral norm in D only, batch 128 for G and 64 for D
// (BigGAN: 50 and 50), 3 D steps per G step for SN-GAN and 2 for AutoGAN and
// BigGAN (AutoGAN's own script runs 5, with beta2 0.9; the thesis's values are
// the defaults).
// The thesis gives no D-step ratio for its DCGAN studies (sections
// 2.1.5.1-2.1.5.2, which only look at single steps) beyond "the standard
// settings"; DCGAN here takes 1, our choice: it is the ratio of settings B
// and C of the SN-GAN paper's Table 1 (Adam beta2 0.999, the thesis's beta2;
// its settings with 5 D steps pair lr 1e-3 or beta2 0.9 with it). That table
// is cited from memory (the paper is not in /work/shared/papers); --n-dis
// changes the ratio. --steps counts G steps; the default 100,000 is a
// GPU-scale run, a CPU run takes far fewer.
//
// Where the original code keeps a moving average of G, so does this program,
// and samples and scores with it (--ema, --ema-start): AutoGAN's code
// (functions.py, train_derived.py) averages G's parameters with decay 0.999
// after every G step from the first, its BatchNorm statistics staying G's;
// BigGAN-PyTorch's CIFAR script averages G's whole state with decay 0.9999,
// copying G until G step 1000. BigGAN's weights start N(0, 0.02) as that
// script passes them (--G_init N02 --D_init N02); --biggan-init ortho gives
// utils.py's default, orthogonal.
//
// The pieces are the library's, as in examples/gan_8gaussians.cpp:
//   D step  models::GanDiscriminatorStep: one forward over the real and fake
//           rows, the split loss, a backward and Adam step (baseline) or
//           grad_split + AdaptiveWeighting over the same Adam (aw)
//   G step  nn::generator_loss of D(G(z)), gradients into G only
//           (optim::backward_into), Adam step
//   decay   optim::LinearLR(1 -> 0 over --steps) on both Adams (aw: its
//           inner Adam), stepped once per G step
//   check   optim::FiniteCheck on the losses and both networks' gradients
//   state   models::TrainCheckpoint (atomic): --resume reaches the same
//           weights bit for bit as a run that never stopped (CPU, same
//           --threads); --stop-at ends a run early as if interrupted; the
//           settings it records (loss, G's loss, model, sizes, lrs...) must
//           match, and a file without G's loss predates the minimax default
//           (bce, gn, pgn trained G non-saturating then) and is refused
//
// Randomness: the weights come from the default generator seeded with
// seed * 2654435761 + 1; real batches (drawn with replacement, uniformly) and
// z from Generator(seed); the sample sheet's z and the FID's z from their own
// generators, so looking at G never changes its training.
//
// FID and IS (--fid-every): either on a small CNN classifier that this
// program trains on the dataset (--train-classifier;
// models/image_classifier.h): the numbers rank runs of this trainer against
// each other and are never comparable with published FID or IS, and every
// line that shows them says so; or (--inception FILE) on Inception-v3's pool3
// features and 1008-way softmax (models/inception_v3.h, pytorch-fid's network)
// with the FID weights a user converts once: images mapped from [-1, 1] to
// [0, 1], grey ones repeated to 3 channels, resized to 299x299 inside the
// network; the IS logits without the fc bias, as the original IS code.
//
//   gan_images --data-dir D [--model dcgan|sngan] [--weighting none|aw1|aw2] ...
//   gan_images --train-classifier --data-dir D --classifier-out F.safetensors
//   gan_images --data-dir D --classifier F.safetensors --fid-every 1000 ...
//   gan_images --data-dir D --inception fid_inception.safetensors --fid-every 1000 ...
//   gan_images --study angles|scores [--out-dir O] [--csv F]   (gan_images_study.h)
//
// Seeing inside (README, "Seeing inside"): --graph FILE.dot draws one step's
// backward graph (G's and D's state put back after, so the run is
// unchanged), --profile FILE.json times the training loop per op.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <tuple>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/profile.h"
#include "datasets/cifar.h"
#include "datasets/data_loader.h"
#include "datasets/idx.h"
#include "datasets/image_metrics.h"
#include "datasets/stl10.h"
#include "examples/cli.h"
#include "examples/gan_images_study.h"
#include "examples/graph_picture.h"
#include "examples/image_grid_png.h"
#include "examples/labelled_net.h"
#include "examples/profile_report.h"
#include "models/autogan.h"
#include "models/biggan.h"
#include "models/dcgan.h"
#include "models/gan_discriminator_step.h"
#include "models/image_classifier.h"
#include "models/inception_v3.h"
#include "models/sngan.h"
#include "models/train_checkpoint.h"
#include "nn/checkpoint.h"
#include "nn/gan_loss.h"
#include "optim/adaptive_weighting.h"
#include "optim/check_finite.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/progress.h"

using namespace nova;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int64_t kIdxSize = 32;  // IDX images (28x28) are padded to the models' 32x32 layout
constexpr const char* kMetricLabel = "nova classifier features; not comparable with published Inception FID";
constexpr const char* kIsLabel = "nova classifier probabilities; not comparable with published Inception IS";
constexpr const char* kInceptionMetricLabel = "Inception-v3 pool3 features, pytorch-fid's network";
constexpr const char* kInceptionIsLabel = "Inception-v3 softmax of the logits without the fc bias";

// ---- data ----

/// One split of a dataset, ready for the networks.
struct ImageSet {
  Tensor images;  // [n, C, S, S] float32 in [-1, 1], on the CPU (C 1 or 3; S 32, or 48 for STL-10)
  Tensor labels;  // [n] int64
  int64_t channels() const { return images.size(1); }
  int64_t size() const { return images.size(2); }
};

/// `dir`/`base`, or `dir`/`base`.gz, whichever exists (the plain file first).
std::string idx_path(const std::string& dir, const std::string& base) {
  const std::filesystem::path plain = std::filesystem::path(dir) / base;
  if (std::filesystem::exists(plain)) return plain.string();
  const std::string gz = plain.string() + ".gz";
  NOVA_CHECK(std::filesystem::exists(gz),
             "gan_images: --data-dir {}: neither {} nor {} exists (Fashion-MNIST: apt-get install "
             "dataset-fashion-mnist, then --data-dir /usr/share/datasets/fashion-mnist; or the four IDX files "
             "of yann.lecun.com/exdb/mnist in a folder)",
             dir, plain.string(), gz);
  return gz;
}

/// split "train" or "t10k": the IDX pair, each image padded with zeros
/// (black, as the background) to 32x32 and mapped from [0, 1] to [-1, 1].
ImageSet load_idx_split(const std::string& dir, const std::string& split) {
  const std::string images = idx_path(dir, split + "-images-idx3-ubyte");  // named first when both are missing
  datasets::IdxDataset d = datasets::read_idx_dataset(images, idx_path(dir, split + "-labels-idx1-ubyte"));
  const int64_t rows = d.images.size(1), cols = d.images.size(2);
  NOVA_CHECK(rows <= kIdxSize && cols <= kIdxSize && d.images.size(0) > 0,
             "gan_images: {} images are {}x{} ({} of them); expected at least one, at most {}x{} (padded to it)",
             split, rows, cols, d.images.size(0), kIdxSize, kIdxSize);
  const int64_t top = (kIdxSize - rows) / 2, left = (kIdxSize - cols) / 2;
  Tensor x = ops::pad(d.images.unsqueeze(1), {left, kIdxSize - cols - left, top, kIdxSize - rows - top}, 0.0);
  return {(x * 2.0 - 1.0).contiguous(), d.labels};
}

/// The training (train) or test split of `dataset` in `dir`: the IDX sets
/// padded to 32x32 grey; CIFAR-10's 32x32 colour images; STL-10's labelled
/// train/test images averaged down to 48x48, the thesis's resolution (its
/// GAN runs also use the 100,000 unlabelled images: --stl10-unlabeled adds them).
ImageSet load_split(const std::string& dataset, const std::string& dir, bool train) {
  if (dataset == "cifar10") {
    datasets::ImageDataset d = datasets::read_cifar10(dir, train ? datasets::CifarSplit::Train : datasets::CifarSplit::Test);
    return {d.images, d.labels};
  }
  if (dataset == "stl10") {
    datasets::Stl10Options o;
    o.size = 48;
    datasets::ImageDataset d = datasets::read_stl10(dir, train ? datasets::Stl10Split::Train : datasets::Stl10Split::Test, o);
    return {d.images, d.labels};
  }
  return load_idx_split(dir, train ? "train" : "t10k");
}

/// STL-10's training images with the first `count` of its 100,000 unlabelled
/// ones appended (-1: all of them, 2.7 GB read, 1.4 GB kept at 48x48), as the
/// thesis trains its STL-10 GANs on them; their labels are -1, so a
/// conditional model refuses them.
ImageSet with_stl10_unlabeled(const ImageSet& train, const std::string& dir, int64_t count) {
  datasets::Stl10Options o;
  o.size = 48;
  o.limit = count;
  const Tensor extra = datasets::read_stl10(dir, datasets::Stl10Split::Unlabeled, o).images;
  return {ops::cat({train.images, extra}, 0), ops::cat({train.labels, full({extra.size(0)}, -1.0, kInt64)}, 0)};
}

/// Rows `index` ([n] int64 on the CPU) of `images`, on `device`.
Tensor rows_of(const Tensor& images, const Tensor& index, Device device) {
  return ops::index_select(images, 0, index).to(device);
}

// ---- the classifier command ----

struct ClassifierConfig {
  std::string dataset, data_dir, out;
  int64_t epochs = 5, batch = 128, width = 32, features = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  Device device = kCPU;
};

/// Fraction of `set` the classifier labels right.
double accuracy(models::ImageClassifier& net, const ImageSet& set, Device device) {
  NoGradGuard no_grad;
  const int64_t n = set.images.size(0);
  const auto labels = set.labels.to_vector<int64_t>();
  int64_t right = 0;
  for (int64_t at = 0; at < n; at += 500) {
    const int64_t len = std::min<int64_t>(500, n - at);
    const auto logits = net(set.images.narrow(0, at, len).to(device)).to(kCPU).contiguous().to_vector<float>();
    const int64_t classes = int64_t(logits.size()) / len;
    for (int64_t i = 0; i < len; ++i) {
      const float* row = logits.data() + i * classes;
      if (std::max_element(row, row + classes) - row == labels[size_t(at + i)]) ++right;
    }
  }
  return double(right) / double(n);
}

int train_classifier(const ClassifierConfig& cfg) {
  const auto start = Clock::now();
  const ImageSet train = load_split(cfg.dataset, cfg.data_dir, true), test = load_split(cfg.dataset, cfg.data_dir, false);
  const int64_t classes = std::max(ops::max(train.labels).item<int64_t>(), ops::max(test.labels).item<int64_t>()) + 1;
  NOVA_CHECK(ops::min(train.labels).item<int64_t>() >= 0 && classes >= 2,
             "gan_images: --train-classifier: labels must be 0..K-1 with K >= 2, got up to {}", classes - 1);
  models::ImageClassifierOptions o;
  o.image_channels = train.channels();
  o.image_size = train.size();
  o.num_classes = classes;
  o.width = cfg.width;
  o.feature_dim = cfg.features;
  default_generator().manual_seed(cfg.seed * 2654435761ULL + 1);
  auto net = std::make_shared<models::ImageClassifier>(o);
  net->to(cfg.device);
  optim::Adam opt(net->parameters(), optim::AdamOptions{cfg.lr});
  // epoch e's order is the e-th randperm of Generator(seed), whole batches
  // but a short last one, assembled ahead on the loader's thread
  datasets::DataLoaderOptions lo;
  lo.batch_size = cfg.batch;
  lo.seed = cfg.seed;
  datasets::DataLoader loader(train.images, train.labels, lo);
  const int64_t n = train.images.size(0);
  fmt::print("classifier for FID/IS features: {} train / {} test images, {} classes; conv {}-{}-{}, features {}; "
             "Adam lr {:g}, batch {}, {} epochs; device {}\n",
             n, test.images.size(0), classes, cfg.width, 2 * cfg.width, 4 * cfg.width, cfg.features, cfg.lr,
             cfg.batch, cfg.epochs, cfg.device.str());
  std::fflush(stdout);
  optim::Progress progress(optim::Progress::on_terminal(), 0);
  const int64_t per_epoch = loader.batches_per_epoch();
  for (int64_t epoch = 1; epoch <= cfg.epochs; ++epoch) {
    net->train();
    double loss_sum = 0;
    for (const datasets::Batch& batch : loader.epoch(epoch - 1)) {
      Tensor loss = ops::cross_entropy((*net)(batch.images.to(cfg.device)), batch.labels.to(cfg.device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item();
      progress.update(fmt::format("epoch {}/{}", epoch, cfg.epochs), batch.index + 1, per_epoch,
                      fmt::format("loss {:.4f}", loss_sum / double(batch.index + 1)), seconds_since(start));
    }
    net->eval();
    progress.print("epoch {}: train loss {:.4f}, test accuracy {:.2f}% ({:.0f}s)\n", epoch,
                   loss_sum / double(per_epoch), 100 * accuracy(*net, test, cfg.device), seconds_since(start));
  }
  progress.clear();
  net->to(kCPU);
  models::save_image_classifier(*net, cfg.out);
  fmt::print("wrote {}\n", cfg.out);
  return 0;
}

// ---- the GAN trainer ----

enum class Weighting { none, aw1, aw2 };

const char* method_name(Weighting w) { return w == Weighting::aw1 ? "aw1" : w == Weighting::aw2 ? "aw2" : "baseline"; }

const char* biggan_init_name(models::BigganInit i) {
  return i == models::BigganInit::ortho ? "ortho" : i == models::BigganInit::xavier ? "xavier" : "n02";
}

struct Config {
  std::string model = "dcgan", data_dir, dataset = "fashion-mnist";
  bool conditional = false;  // sngan --conditional, biggan: class labels in G and D
  double ema_decay = -1;     // --ema: < 0 the model's (autogan 0.999, biggan 0.9999, others off), 0 off
  int64_t ema_start = -1;    // G steps before the average starts (until then it copies G); < 0 the model's
  bool ema_buffers = true;   // the average covers BatchNorm's statistics too (false: they are G's; autogan)
  models::BigganInit biggan_init = models::BigganInit::n02;
  int64_t num_classes = 0;   // conditional: from the training labels
  int64_t width = 0;  // 0: the paper's
  models::GanDiscriminatorStepOptions d_step;
  Weighting weighting = Weighting::none;
  int64_t steps = 100000, n_dis = 0, batch_g = 0, batch_d = 0, z_dim = 128;  // n_dis, batch_*: 0 the model's
  double lr_g = 2e-4, lr_d = 2e-4, beta1 = 0.0, beta2 = 0.999;
  bool lr_decay = true;
  uint64_t seed = 0;
  Device device = kCPU;
  int64_t log_every = 100, csv_every = 10, sample_every = 1000, fid_every = 0, fid_samples = 10000;
  std::string csv, out_dir, classifier;
  std::string inception;  // --inception: the FID weights file; empty: --classifier's features
  std::string checkpoint, resume;
  int64_t checkpoint_every = 1000, stop_at = 0;
  std::string profile;  // --profile: the Chrome trace file, empty when off
  std::string graph;    // --graph: the DOT file, empty when off
  optim::OnNonFinite on_nonfinite = optim::OnNonFinite::stop;
};

/// The weights' initial distribution, for the header line.
std::string init_description(const Config& cfg) {
  if (cfg.model == "dcgan") return "N(0, 0.02)";
  if (cfg.model != "biggan") return "xavier_uniform";  // sngan, autogan: their code's
  const char* name = biggan_init_name(cfg.biggan_init);
  return fmt::format("{} (--biggan-init {})",
                     cfg.biggan_init == models::BigganInit::ortho    ? "orthogonal"
                     : cfg.biggan_init == models::BigganInit::xavier ? "xavier_uniform"
                                                                     : "N(0, 0.02)",
                     name);
}

/// The EMA of G, for the header line.
std::string ema_description(const Config& cfg) {
  if (cfg.ema_decay <= 0) return "no EMA of G";
  return fmt::format("EMA of G {:g} from step {} ({})", cfg.ema_decay, cfg.ema_start,
                     cfg.ema_buffers ? "whole state" : "parameters; BatchNorm statistics G's");
}

/// G and D as the options say, on cfg.device: the weights from the default
/// generator seeded with seed * 2654435761 + 1, so every call gives the same.
std::pair<std::shared_ptr<nn::Module>, std::shared_ptr<nn::Module>> make_models(const Config& cfg,
                                                                                const ImageSet& train) {
  std::shared_ptr<nn::Module> G, D;
  default_generator().manual_seed(cfg.seed * 2654435761ULL + 1);
  if (cfg.model == "dcgan") {
    models::DcganOptions o;
    o.z_dim = cfg.z_dim;
    o.image_channels = train.channels();
    o.image_size = train.size();
    if (cfg.width > 0) o.width = cfg.width;
    G = std::make_shared<models::DcganGenerator>(o);
    D = std::make_shared<models::DcganDiscriminator>(o);
  } else if (cfg.model == "sngan") {
    models::SnganOptions o;
    o.z_dim = cfg.z_dim;
    o.image_channels = train.channels();
    o.image_size = train.size();  // 32: the CIFAR layout; 48: the STL-10 one
    o.num_classes = cfg.conditional ? cfg.num_classes : 0;
    if (cfg.width > 0) {
      o.d_width = cfg.width;
      o.g_width = 2 * cfg.width;  // the paper's 256 : 128
    }
    auto g = std::make_shared<models::SnganGenerator>(o);
    auto d = std::make_shared<models::SnganDiscriminator>(o);
    G = g, D = d;
    if (cfg.conditional) {
      G = std::make_shared<examples::LabelledNet>(g, [](nn::Module& n, const Tensor& z, const Tensor& y) {
        return static_cast<models::SnganGenerator&>(n).forward(z, y);
      });
      D = std::make_shared<examples::LabelledNet>(d, [](nn::Module& n, const Tensor& x, const Tensor& y) {
        return static_cast<models::SnganDiscriminator&>(n).forward(x, y);
      });
    }
  } else if (cfg.model == "autogan") {
    models::AutoganOptions o;
    o.z_dim = cfg.z_dim;
    if (cfg.width > 0) {
      o.df_dim = cfg.width;
      o.gf_dim = 2 * cfg.width;  // the paper's 256 : 128
    }
    G = std::make_shared<models::AutoganGenerator>(o);
    D = std::make_shared<models::AutoganDiscriminator>(o);
  } else {  // biggan: always class-conditional
    models::BigganOptions o;
    o.z_dim = cfg.z_dim;
    o.num_classes = cfg.num_classes;
    if (cfg.width > 0) o.g_ch = o.d_ch = cfg.width;
    o.g_init = o.d_init = cfg.biggan_init;
    auto g = std::make_shared<models::BigganGenerator>(o);
    auto d = std::make_shared<models::BigganDiscriminator>(o);
    G = std::make_shared<examples::LabelledNet>(g, [](nn::Module& n, const Tensor& z, const Tensor& y) {
      return static_cast<models::BigganGenerator&>(n).forward(z, y);
    });
    D = std::make_shared<examples::LabelledNet>(d, [](nn::Module& n, const Tensor& x, const Tensor& y) {
      return static_cast<models::BigganDiscriminator&>(n).forward(x, y);
    });
  }
  G->to(cfg.device);
  D->to(cfg.device);
  return {G, D};
}

/// The FID and IS of one evaluation.
struct Scores {
  double fid = NAN, is_mean = NAN, is_std = NAN;
};

class Trainer {
 public:
  Trainer(const Config& cfg, const ImageSet& train, const ImageSet* test)
      : cfg_(cfg), train_(train), test_(test), gen_(cfg.seed),
        finite_(cfg.on_nonfinite, [this](const std::string& message) {
          progress_.clear();
          fmt::print(stderr, "warning: {} (--on-nonfinite continue: training on, the count is at the end)\n",
                     message);
        }),
        progress_(optim::Progress::on_terminal(), cfg.log_every) {
    std::tie(G_, D_) = make_models(cfg, train);
    g_labelled_ = std::dynamic_pointer_cast<examples::LabelledNet>(G_);  // null unless conditional
    d_labelled_ = std::dynamic_pointer_cast<examples::LabelledNet>(D_);
    if (cfg.ema_decay > 0) {  // G_ema starts as G's copy (make_models gives the same weights again)
      G_ema_ = make_models(cfg, train).first;
      G_ema_->load_state_dict(G_->state_dict());
    }
    g_params_ = G_->named_parameters();
    d_params_ = D_->named_parameters();
    for (const auto& [key, p] : g_params_) g_param_keys_.insert(key);
    const std::pair<double, double> betas{cfg.beta1, cfg.beta2};
    opt_g_ = std::make_unique<optim::Adam>(G_->parameters(), optim::AdamOptions{cfg.lr_g, betas});
    auto opt_d = std::make_unique<optim::Adam>(D_->parameters(), optim::AdamOptions{cfg.lr_d, betas});
    if (cfg.weighting == Weighting::none) {
      d_step_ = std::make_unique<models::GanDiscriminatorStep>(D_, std::move(opt_d), cfg.d_step);
    } else {
      optim::AdaptiveWeightingOptions aw;
      aw.normalized = cfg.weighting == Weighting::aw1;
      d_step_ = std::make_unique<models::GanDiscriminatorStep>(
          D_, std::make_unique<optim::AdaptiveWeighting>(D_->parameters(), std::move(opt_d), aw), cfg.d_step);
    }
    optim::Optimizer& d_opt = d_step_->adaptive_weighting() ? d_step_->adaptive_weighting()->inner()
                                                            : *d_step_->optimizer();
    const double end = cfg.lr_decay ? 0.0 : 1.0;
    sched_g_ = std::make_unique<optim::LinearLR>(*opt_g_, 1.0, end, cfg.steps);
    sched_d_ = std::make_unique<optim::LinearLR>(d_opt, 1.0, end, cfg.steps);

    // fixed z of the sample sheets, from a generator of its own
    Generator sample_gen(cfg.seed ^ 0x9E3779B97F4A7C15ULL);
    sample_z_ = randn({64, cfg.z_dim}, kFloat32, cfg.device, &sample_gen);

    if (G_ema_) ckpt_.add("G_ema", *G_ema_);
    ckpt_.add("G", *G_).add("D", *D_).add("opt_g", *opt_g_).add("sched_g", *sched_g_).add("sched_d", *sched_d_);
    ckpt_.add("gen", gen_).add("default_gen", default_generator());
    if (optim::AdaptiveWeighting* a = d_step_->adaptive_weighting()) ckpt_.add("aw_d", *a);
    else ckpt_.add("opt_d", *d_step_->optimizer());
    auto num = [](double v) { return fmt::format("{}", v); };
    ckpt_.setting("model", cfg.model).setting("width", std::to_string(cfg.width))
        .setting("conditional", cfg.conditional ? std::to_string(cfg.num_classes) + " classes" : "no")
        .setting("ema", cfg.ema_decay > 0 ? fmt::format("{} from step {}", cfg.ema_decay, cfg.ema_start) : "off")
        .setting("dataset", cfg.dataset).setting("method", method_name(cfg.weighting))
        .setting("seed", std::to_string(cfg.seed)).setting("loss", cfg.d_step.objective.name)
        .setting("g_loss", nn::to_string(cfg.d_step.objective.g_loss))
        .setting("steps", std::to_string(cfg.steps)).setting("n_dis", std::to_string(cfg.n_dis))
        .setting("batch_g", std::to_string(cfg.batch_g)).setting("batch_d", std::to_string(cfg.batch_d))
        .setting("z_dim", std::to_string(cfg.z_dim)).setting("lr_g", num(cfg.lr_g)).setting("lr_d", num(cfg.lr_d))
        .setting("beta1", num(cfg.beta1)).setting("beta2", num(cfg.beta2))
        .setting("lr_decay", cfg.lr_decay ? "linear" : "none");
    if (cfg.model == "biggan") ckpt_.setting("init", biggan_init_name(cfg.biggan_init));
  }

  /// --graph: one step's losses as the steps build them (D's loss in its
  /// real and fake parts on D(cat(real, G(z))), G under no-grad; G's loss on
  /// D(G(z'))), on a batch drawn from a generator of its own. Those forward
  /// passes move BatchNorm's running statistics and spectral norm's u, so
  /// G's and D's state is copied first and put back after: the run goes on
  /// as if nothing had been drawn. Returns the line to print.
  std::string write_graph(const std::string& path) {
    auto copy_of = [](const nn::Module& m) {
      StateDict copy;
      for (const auto& [key, t] : m.state_dict()) copy.insert(key, t.clone());
      return copy;
    };
    const StateDict g_state = copy_of(*G_), d_state = copy_of(*D_);
    Generator gen(cfg_.seed ^ 0x5DEECE66DULL);
    const int64_t n = cfg_.batch_d;
    const Tensor index = randint(0, train_.images.size(0), {n}, kInt64, kCPU, &gen);
    const Tensor real = rows_of(train_.images, index, cfg_.device);
    const Tensor z = randn({n, cfg_.z_dim}, kFloat32, cfg_.device, &gen);
    if (g_labelled_) {
      const Tensor fake_labels = random_labels(n, gen);
      g_labelled_->set_labels(fake_labels);
      d_labelled_->set_labels(ops::cat({rows_of(train_.labels, index, cfg_.device), fake_labels}, 0));
    }
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*G_)(z);
    }
    const std::shared_ptr<nn::Module>& scores = d_step_->discriminator();
    const Tensor out = (*scores)(ops::cat({real, fake}, 0));
    const nn::DiscriminatorLoss d_loss =
        nn::discriminator_loss(cfg_.d_step.objective.d_loss, out.narrow(0, 0, n), out.narrow(0, n, n));
    const Tensor z_g = randn({cfg_.batch_g, cfg_.z_dim}, kFloat32, cfg_.device, &gen);
    if (g_labelled_) {
      const Tensor labels = random_labels(cfg_.batch_g, gen);
      g_labelled_->set_labels(labels);
      d_labelled_->set_labels(labels);
    }
    const Tensor g_loss = nn::generator_loss(cfg_.d_step.objective.g_loss, (*scores)((*G_)(z_g)));
    const std::string line = examples::write_gan_step_graph(
        path, d_loss.real, d_loss.fake, g_loss, g_params_, d_params_, cfg_.weighting != Weighting::none,
        fmt::format("gan_images, one step: {} {}, D batch {}, G batch {}", cfg_.model, method_name(cfg_.weighting), n,
                    cfg_.batch_g));
    G_->load_state_dict(g_state);
    D_->load_state_dict(d_state);
    return line;
  }

  int run() {
    const auto start = Clock::now();
    if (!cfg_.graph.empty()) progress_.print("{}\n", write_graph(cfg_.graph));
    int64_t first = 1;
    if (!cfg_.resume.empty()) {
      first = load_resume() + 1;
      NOVA_CHECK(first - 1 <= cfg_.steps, "gan_images: --resume {}: saved after step {}, beyond --steps {}",
                 cfg_.resume, first - 1, cfg_.steps);
      progress_.print("resumed from {} after step {}\n", cfg_.resume, first - 1);
    }
    const int64_t last_step = cfg_.stop_at > 0 ? cfg_.stop_at : cfg_.steps;
    if (cfg_.fid_every > 0) {
      const auto eval_start = Clock::now();
      prepare_fid();
      eval_seconds_ += seconds_since(eval_start);
    }
    Scores scores;
    std::unique_ptr<profile::Profiler> profiler;
    if (!cfg_.profile.empty()) profiler = std::make_unique<profile::Profiler>(examples::kProfileEvents);
    for (int64_t step = first; step <= last_step; ++step) {
      const bool last = step == last_step;
      const bool fid_now = cfg_.fid_every > 0 && (step % cfg_.fid_every == 0 || last);
      const bool logged = csv_ && (step % cfg_.csv_every == 0 || last || fid_now);
      models::GanDiscriminatorStepLog log;
      double g_loss = 0;
      const double lr_g = sched_g_->get_last_lr().front();
      try {
        {
          profile::Scope scope("D steps");
          for (int64_t k = 0; k < cfg_.n_dis; ++k) log = d_step(logged && k + 1 == cfg_.n_dis);
        }
        profile::Scope scope("G step");
        g_loss = g_step();
      } catch (const Error& e) {
        fail("step {}: {}", step, e.what());
      }
      sched_g_->step();
      sched_d_->step();
      if (G_ema_) update_ema(step);
      check_finite(step, log, g_loss);
      if (fid_now) {
        const auto eval_start = Clock::now();
        scores = evaluate();
        eval_seconds_ += seconds_since(eval_start);
        progress_.print("step {}: FID {:.3f}, IS {:.3f} +- {:.3f} ({})\n", step, scores.fid, scores.is_mean,
                        scores.is_std, metric_label());
      }
      const double elapsed = seconds_since(start);
      if (logged) write_csv(step, log, g_loss, lr_g, fid_now ? scores : Scores{}, elapsed);
      progress_.update(method_name(cfg_.weighting), step, cfg_.steps, stats_of(log, g_loss), elapsed);
      if (!cfg_.out_dir.empty() && (last || (cfg_.sample_every > 0 && step % cfg_.sample_every == 0)))
        write_samples(step);
      if (!cfg_.checkpoint.empty() && (last || (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0)))
        ckpt_.save(cfg_.checkpoint, step);
    }
    progress_.clear();
    if (profiler) fmt::print("{}", examples::finish_profile(*profiler, cfg_.profile));
    const double seconds = seconds_since(start);
    const int64_t done = last_step - first + 1;
    std::string line = fmt::format("final: method={} model={} seed={} steps={}", method_name(cfg_.weighting),
                                   cfg_.model, cfg_.seed, last_step);
    if (cfg_.fid_every > 0)
      line += fmt::format(" fid={:.4f} is={:.4f} is_std={:.4f} (FID and IS: {})", scores.fid, scores.is_mean,
                          scores.is_std,
                          inception_ ? "Inception-v3, pytorch-fid's network"
                                     : "nova classifier; not comparable with published Inception FID/IS");
    if (const optim::AdaptiveWeighting* aw = d_step_->adaptive_weighting()) {
      const auto& c = aw->case_counts();
      line += fmt::format(" cases={}/{}/{}/{}/{}", c[1], c[2], c[3], c[4], c[5]);
    }
    if (finite_.bad_steps() > 0) line += fmt::format(" nonfinite_steps={}", finite_.bad_steps());
    // s_per_step: training only (FID/IS evaluations, eval_seconds, left out)
    line += fmt::format(" seconds={:.1f} eval_seconds={:.1f} s_per_step={:.3f}", seconds, eval_seconds_,
                        done > 0 ? (seconds - eval_seconds_) / double(done) : 0.0);
    fmt::print("{}\n", line);
    return 0;
  }

  /// Where the CSV rows go (null: no log).
  void set_csv(std::ofstream* csv) { csv_ = csv; }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    progress_.clear();
    throw Error(fmt::format(format, std::forward<Args>(args)...));
  }

  /// ckpt_.load(cfg_.resume), saying why when the file has no "g_loss"
  /// setting: it was saved before gan_images recorded G's loss, when bce,
  /// gn and pgn trained G with the non-saturating loss; they now train it
  /// with the minimax one (nn/gan_loss.h), so the file would resume under
  /// another G loss. TrainCheckpoint refuses it (g_loss=(not set)); the
  /// message adds why. Returns the saved step.
  int64_t load_resume() {
    try {
      return ckpt_.load(cfg_.resume);
    } catch (const Error& e) {
      safetensors::Metadata meta;
      try {
        nn::load_checkpoint(cfg_.resume, &meta);
      } catch (const Error&) {
        throw e;  // a missing or damaged file: the load's own message says so
      }
      if (meta.count("nova.train.setting.g_loss")) throw;
      fail("{} (the checkpoint predates the g_loss setting and the minimax generator default: --loss bce, gn and "
           "pgn trained G with the non-saturating loss then; train anew)", e.what());
    }
  }

  /// n class labels drawn uniformly (conditional models), on the device.
  Tensor random_labels(int64_t n, Generator& gen) {
    return randint(0, cfg_.num_classes, {n}, kInt64, kCPU, &gen).to(cfg_.device);
  }

  /// One D step on a fresh real batch and G's images of fresh z (no graph
  /// through G). Conditional: the real rows' own labels, the fake rows'
  /// drawn uniformly, D given both in the order it sees the rows.
  models::GanDiscriminatorStepLog d_step(bool measure_angles) {
    const Tensor index = randint(0, train_.images.size(0), {cfg_.batch_d}, kInt64, kCPU, &gen_);
    const Tensor real = rows_of(train_.images, index, cfg_.device);
    const Tensor z = randn({cfg_.batch_d, cfg_.z_dim}, kFloat32, cfg_.device, &gen_);
    if (g_labelled_) {
      const Tensor fake_labels = random_labels(cfg_.batch_d, gen_);
      g_labelled_->set_labels(fake_labels);
      d_labelled_->set_labels(ops::cat({rows_of(train_.labels, index, cfg_.device), fake_labels}, 0));
    }
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*G_)(z);
    }
    return d_step_->step(real, fake, gen_, measure_angles);
  }

  /// One G step on --batch-g fresh z (conditional: and labels, the same for G
  /// and D); returns the generator loss.
  double g_step() {
    const Tensor z = randn({cfg_.batch_g, cfg_.z_dim}, kFloat32, cfg_.device, &gen_);
    if (g_labelled_) {
      const Tensor labels = random_labels(cfg_.batch_g, gen_);
      g_labelled_->set_labels(labels);
      d_labelled_->set_labels(labels);
    }
    Tensor loss = nn::generator_loss(cfg_.d_step.objective.g_loss, (*d_step_->discriminator())((*G_)(z)));
    optim::backward_into(loss, G_->parameters());  // D's weight gradients would be thrown away
    opt_g_->step();
    return loss.item();
  }

  void check_finite(int64_t step, const models::GanDiscriminatorStepLog& log, double g_loss) {
    models::check_gan_step_finite(finite_, step, log, g_loss, d_params_, g_params_);
  }

  static std::string stats_of(const models::GanDiscriminatorStepLog& l, double g_loss) {
    return models::describe_gan_step(l, g_loss);
  }

  void write_csv(int64_t step, const models::GanDiscriminatorStepLog& l, double g_loss, double lr,
                 const Scores& s, double elapsed) {
    auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
    *csv_ << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f}\n", method_name(cfg_.weighting),
                         cfg_.seed, step, num(l.loss_real), num(l.loss_fake), num(g_loss), num(l.s_r), num(l.s_f),
                         l.case_id, num(l.w_r), num(l.w_f), num(l.angle_real_fake), num(l.angle_update_real),
                         num(l.angle_update_fake), num(lr), num(s.fid), num(s.is_mean), num(s.is_std), elapsed);
    csv_->flush();
  }

  /// The EMA of G after each G step: e <- d e + (1 - d) g, a plain copy
  /// (d = 0) before --ema-start. BigGAN-PyTorch's utils.ema averages every
  /// floating entry of the state (weights, spectral norm's u and v, BatchNorm
  /// statistics); AutoGAN's code (cfg.ema_buffers false) averages the
  /// parameters only and evaluates with G's own BatchNorm statistics, so
  /// every buffer is copied from G. Integer entries are always copied.
  void update_ema(int64_t step) {
    NoGradGuard no_grad;
    const double d = step < cfg_.ema_start ? 0.0 : cfg_.ema_decay;
    const StateDict source = G_->state_dict(), target = G_ema_->state_dict();
    for (const auto& [key, t] : target.items()) {
      const Tensor& g = source.at(key);
      Tensor e = t;  // a handle to G_ema's own tensor
      const bool averaged = is_floating(e.dtype()) && (cfg_.ema_buffers || g_param_keys_.count(key) > 0);
      if (averaged) e.copy_(e * d + g * (1.0 - d));
      else e.copy_(g);
    }
  }

  /// G's images of `z` (conditional: of `labels`), in eval mode (BatchNorm's
  /// running statistics), without a graph; with --ema, G_ema's.
  Tensor generate(const Tensor& z, const Tensor& labels = {}) {
    NoGradGuard no_grad;
    nn::Module& g = G_ema_ ? *G_ema_ : *G_;
    if (auto* labelled = dynamic_cast<examples::LabelledNet*>(&g)) labelled->set_labels(labels);
    g.eval();
    Tensor x = g(z);
    g.train();
    return x;
  }

  void write_samples(int64_t step) {
    const std::string path = fmt::format("{}/{}_{}_seed{}_step{:07d}.png", cfg_.out_dir, cfg_.model,
                                         method_name(cfg_.weighting), cfg_.seed, step);
    Tensor labels;  // conditional: image i of the sheet (row-major) shows class i mod K
    if (g_labelled_) {
      std::vector<int64_t> classes(64);
      for (int64_t i = 0; i < 64; ++i) classes[size_t(i)] = i % cfg_.num_classes;
      labels = from_vector<int64_t>(classes, {64}).to(cfg_.device);
    }
    examples::write_image_grid_png(path, generate(sample_z_, labels));
  }

  /// Classifier features and class probabilities of `images` [N, 1, 32, 32], in chunks.
  std::pair<Tensor, Tensor> classify(const std::function<Tensor(int64_t, int64_t)>& images, int64_t n) {
    NoGradGuard no_grad;
    std::vector<Tensor> feats, probs;
    const int64_t chunk = inception_ ? 50 : 500;  // Inception's 299x299 activations: smaller chunks
    for (int64_t at = 0; at < n; at += chunk) {
      const int64_t len = std::min<int64_t>(chunk, n - at);
      Tensor f, logits;
      if (inception_) {
        Tensor x = (images(at, len) + 1.0) * 0.5;                  // [-1, 1] -> [0, 1], pytorch-fid's input
        if (x.size(1) == 1) x = ops::cat({x, x, x}, 1);            // grey: the same image in R, G and B
        f = inception_->forward(x);
        if (inception_->fc) logits = inception_->logits_from_features(f, /*include_bias=*/false);
      } else {
        f = classifier_->features(images(at, len));
        logits = classifier_->logits_of(f);
      }
      if (logits.defined()) probs.push_back(ops::softmax(logits, 1).to(kFloat64));
      feats.push_back(f.to(kFloat64));
    }
    return {ops::cat(feats, 0), probs.empty() ? Tensor() : ops::cat(probs, 0)};
  }

  int64_t is_splits(int64_t n) const { return n >= 100 ? 10 : 1; }

  const char* metric_label() const { return inception_ ? kInceptionMetricLabel : kMetricLabel; }

  /// IS of class probabilities (NaN without any: an Inception file without its fc).
  datasets::InceptionScore inception_score_of(const Tensor& probs, int64_t n) const {
    if (!probs.defined()) return {std::nan(""), std::nan("")};
    return datasets::inception_score(probs, is_splits(n));
  }

  void prepare_fid() {
    if (!cfg_.inception.empty()) {
      inception_ = models::open_fid_inception(cfg_.inception);
      inception_->to(cfg_.device);
      inception_->eval();
    } else {
      classifier_ = models::load_image_classifier(cfg_.classifier);
      const auto& o = classifier_->options;
      NOVA_CHECK(o.image_channels == train_.channels() && o.image_size == train_.size(),
                 "gan_images: --classifier {}: made for [{}, {}, {}] images, these are [{}, {}, {}]", cfg_.classifier,
                 o.image_channels, o.image_size, o.image_size, train_.channels(), train_.size(), train_.size());
      classifier_->to(cfg_.device);
      classifier_->eval();
    }
    const int64_t n = std::min(cfg_.fid_samples, test_->images.size(0));
    auto [feats, probs] = classify(
        [&](int64_t at, int64_t len) { return test_->images.narrow(0, at, len).to(cfg_.device); }, n);
    real_stats_ = datasets::feature_statistics(feats);
    const datasets::InceptionScore is = inception_score_of(probs, n);
    progress_.print("FID reference: {} real test images; their IS {:.3f} +- {:.3f} ({}); FID against {} generated "
                    "images ({})\n",
                    n, is.mean, is.std, inception_ ? kInceptionIsLabel : kIsLabel, cfg_.fid_samples, metric_label());
  }

  Scores evaluate() {
    Generator fid_gen(cfg_.seed ^ 0xD1B54A32D192ED03ULL);  // the same z at every evaluation
    auto [feats, probs] = classify(
        [&](int64_t, int64_t len) {
          const Tensor z = randn({len, cfg_.z_dim}, kFloat32, cfg_.device, &fid_gen);
          return generate(z, g_labelled_ ? random_labels(len, fid_gen) : Tensor());
        },
        cfg_.fid_samples);
    Scores s;
    s.fid = datasets::frechet_distance(real_stats_, datasets::feature_statistics(feats));
    const datasets::InceptionScore is = inception_score_of(probs, cfg_.fid_samples);
    s.is_mean = is.mean;
    s.is_std = is.std;
    return s;
  }

  const Config& cfg_;
  const ImageSet& train_;
  const ImageSet* test_;
  Generator gen_;
  optim::FiniteCheck finite_;
  optim::Progress progress_;
  std::shared_ptr<nn::Module> G_, D_;
  std::shared_ptr<nn::Module> G_ema_;  // --ema: the average of G that samples and FID use; else null
  std::shared_ptr<examples::LabelledNet> g_labelled_, d_labelled_;  // G_ and D_ when conditional, else null
  nn::NamedTensors g_params_, d_params_;
  std::set<std::string> g_param_keys_;  // G's parameters' names (the EMA's, without its buffers)
  std::unique_ptr<optim::Adam> opt_g_;
  std::unique_ptr<models::GanDiscriminatorStep> d_step_;
  std::unique_ptr<optim::LinearLR> sched_g_, sched_d_;
  Tensor sample_z_;
  models::TrainCheckpoint ckpt_;
  std::ofstream* csv_ = nullptr;
  std::shared_ptr<models::ImageClassifier> classifier_;  // --classifier's, or null
  std::shared_ptr<models::InceptionV3> inception_;       // --inception's, or null
  datasets::FeatureStatistics real_stats_;
  double eval_seconds_ = 0;  // time spent on FID/IS
};

int run(int argc, char** argv) {
  Config cfg;
  ClassifierConfig ccfg;
  std::string loss = "hinge", weighting = "none", device = "cpu", on_nonfinite = "stop", grad_split = "auto";
  std::string study = "none", biggan_init = "n02";
  int64_t study_iterations = 50, stl10_unlabeled = 0;
  int64_t threads = 1;
  bool train_cls = false, no_decay = false;
  using examples::RealRange;
  examples::Cli cli("gan_images",
                    "train DCGAN, SN-GAN, AutoGAN or BigGAN on Fashion-MNIST or MNIST (padded to 32x32), CIFAR-10 "
                    "or STL-10 (48x48), plain or with the adaptive weighted discriminator (thesis section 2.1); or train the classifier whose "
                    "features give this program's FID and IS (--train-classifier)");
  cli.choice("model", cfg.model, {"dcgan", "sngan", "autogan", "biggan"},
             "dcgan: the SN-GAN paper's standard CNN (models/dcgan.h); sngan: the SN-GAN ResNet (models/sngan.h; "
             "--conditional: conditional BN and projection D); autogan: AutoGAN's CIFAR-10 generator and its D "
             "(models/autogan.h); biggan: BigGAN as BigGAN-PyTorch's CIFAR script, class-conditional "
             "(models/biggan.h). autogan and biggan are 3x32x32 models: --dataset cifar10");
  cli.real("ema", cfg.ema_decay,
           "keep an exponential moving average of G with this decay, updated after every G step and used for "
           "the sample sheets and FID/IS; negative: the model's (autogan 0.999 over G's parameters, its "
           "BatchNorm statistics G's, as AutoGAN's code; biggan 0.9999 over G's whole state, as BigGAN-PyTorch's "
           "CIFAR script; dcgan and sngan none, and with --ema the whole state), 0: off",
           RealRange{-1, 1, false, true});
  cli.integer("ema-start", cfg.ema_start,
              "--ema: G steps before the average starts (until then it copies G); negative: the model's (autogan "
              "0, averaging from the first step; biggan 1000, as its CIFAR script; dcgan and sngan 1000)", -1);
  cli.choice("biggan-init", biggan_init, {"n02", "ortho", "xavier"},
             "biggan only: the weight init of G and D (its convs, linears and embeddings; biases and "
             "BatchNorm keep theirs): n02 N(0, 0.02), what "
             "BigGAN-PyTorch's CIFAR script passes; ortho orthogonal, its utils.py default; xavier "
             "xavier_uniform. The other models have their code's own init");
  cli.flag("conditional", cfg.conditional,
           "sngan: class-conditional G (conditional BN) and projection D on the dataset's labels (biggan always is)");
  cli.integer("width", cfg.width,
              "channel unit; 0: the paper's (dcgan 64: G 512-256-128-64, D 64..512; sngan: G 256, D 128; autogan: "
              "G 256, D 128; biggan: G_ch = D_ch = 64); sngan and autogan take D = width, G = 2 x width, biggan "
              "G_ch = D_ch = width", 0, 4096);
  cli.choice("weighting", weighting, {"none", "aw1", "aw2"},
             "none (baseline) | aw1 (adaptive weighting, Algorithm 1, normalized) | aw2 (Algorithm 2); aw's inner "
             "optimizer is the baseline's Adam with the same lr, betas and decay");
  cli.choice("loss", loss, nn::gan_objective_names(),
             "the GAN objective (nn/gan_loss.h); the thesis's image GANs use hinge");
  cli.choice("grad-split", grad_split, {"auto", "fused", "reference"},
             "how aw gets g_r and g_f: fused (one backward over both halves), reference (two) or auto");
  cli.choice("dataset", cfg.dataset, {"fashion-mnist", "mnist", "cifar10", "stl10"},
             "fashion-mnist, mnist: the IDX files in --data-dir (train-images-idx3-ubyte[.gz], "
             "train-labels-idx1-ubyte[.gz], t10k-...), 28x28 grey images padded with zeros to 32x32; cifar10: the "
             "binary version's data_batch_1..5.bin and test_batch.bin, 32x32 colour; stl10: stl10_binary's "
             "train_X/y.bin and test_X/y.bin, 96x96 averaged down to 48x48 (the thesis's size; the SN-GAN models "
             "take their 48x48 layout). All scaled to [-1, 1]");
  cli.integer("stl10-unlabeled", stl10_unlabeled,
              "stl10: also train on the first N of the 100,000 unlabelled images (unlabeled_X.bin), as the thesis "
              "does; -1: all (2.7 GB read); unconditional models only", -1);
  cli.text("data-dir", cfg.data_dir,
           "folder of the dataset's files; default /usr/share/datasets/<dataset> (Debian's dataset-fashion-mnist "
           "puts Fashion-MNIST there; CIFAR-10 and STL-10 are not packaged: download them and name the folder)");
  cli.integer("steps", cfg.steps, "generator steps (each after --n-dis D steps); the lr decays to 0 over them", 1);
  cli.integer("n-dis", cfg.n_dis,
              "D steps per G step; 0: the model's (as the thesis: sngan 3, autogan and biggan 2; dcgan 1)", 0, 100);
  cli.integer("batch-g", cfg.batch_g, "z per G step; 0: the model's (as the thesis: biggan 50, the others 128)", 0);
  cli.integer("batch-d", cfg.batch_d,
              "real and fake images per D step, each; 0: the model's (as the thesis: biggan 50, the others 64)", 0);
  cli.integer("z-dim", cfg.z_dim, "latent size", 1);
  cli.real("lr-g", cfg.lr_g, "G's Adam learning rate", RealRange::positive());
  cli.real("lr-d", cfg.lr_d, "D's Adam learning rate (aw: its inner Adam's)", RealRange::positive());
  cli.real("beta1", cfg.beta1, "Adam beta1 (G, D, aw's inner Adam)", RealRange::unit_open_top());
  cli.real("beta2", cfg.beta2, "Adam beta2 (G, D, aw's inner Adam)", RealRange::unit_open_top());
  cli.flag("no-lr-decay", no_decay, "keep the learning rates constant (default: linear decay to 0 over --steps)");
  cli.integer("seed", cfg.seed, "random seed (initial weights, batches, noise)");
  cli.text("device", device, "cpu | cuda | cuda:N", [](const std::string& text) { Device::parse(text); });
  cli.threads("threads", threads, "CPU threads (OpenMP); 0: all cores");
  cli.integer("log-every", cfg.log_every,
              "print losses every N steps when stderr is not a terminal (a terminal gets a live bar); 0: never", 0);
  cli.text("csv", cfg.csv,
           "write a CSV log: method, seed, step, loss_d_real, loss_d_fake, loss_g, s_r, s_f, case (0: baseline), "
           "w_r, w_f, angle_real_fake, angle_update_real, angle_update_fake (degrees; the last D step of the "
           "step), lr_g, fid, is, is_std (on --fid-every steps; nova classifier features, not comparable with "
           "published Inception FID/IS), elapsed (s)");
  cli.integer("csv-every", cfg.csv_every, "steps between CSV rows (and every FID step, and the last)", 1);
  cli.text("out-dir", cfg.out_dir,
           "write 8x8 PNG sample grids of G on a fixed z here (<model>_<method>_seed<S>_step<N>.png); the folder "
           "must exist");
  cli.integer("sample-every", cfg.sample_every, "steps between sample grids (and at the end); 0: only at the end", 0);
  cli.integer("fid-every", cfg.fid_every,
              "compute FID and IS every N steps (and at the end) on the features of --classifier (nova's own "
              "classifier: not comparable with published Inception FID/IS) or of --inception; 0: never", 0);
  cli.integer("fid-samples", cfg.fid_samples, "generated images for FID and IS; real: as many test images, at most all", 2);
  cli.text("classifier", cfg.classifier, "the classifier file (--train-classifier) whose features FID and IS use");
  cli.text("inception", cfg.inception,
           "FID and IS on Inception-v3 instead (pytorch-fid's network, models/inception_v3.h) with the weights in "
           "this safetensors file: pytorch-fid's pt_inception-2015-12-05 weights converted once as that header "
           "shows (a file without the fc gives FID and no IS); images mapped to [0, 1], grey repeated to 3 "
           "channels. Slow on a CPU: 5.7 GFLOP an image");
  cli.choice("on-nonfinite", on_nonfinite, {"stop", "continue"},
             "a NaN or infinite loss or gradient: stop (error naming the step and tensor) or continue (warn once)");
  cli.text("checkpoint", cfg.checkpoint,
           "save the whole training state to this safetensors file every --checkpoint-every steps and at the end "
           "(atomically: a crash leaves the old or the new file)");
  cli.integer("checkpoint-every", cfg.checkpoint_every, "steps between checkpoints; 0: only at the end", 0);
  cli.text("profile", cfg.profile, examples::profile_option_help("'D steps' and 'G step'"));
  cli.text("graph", cfg.graph, examples::kGanGraphOptionHelp);
  cli.text("resume", cfg.resume,
           "continue from this checkpoint to --steps, bit for bit as if never stopped (same options, CPU, same "
           "--threads); --csv is appended to");
  cli.integer("stop-at", cfg.stop_at,
              "end the run after this step (checkpoint saved there) as if interrupted, the lr schedule still that "
              "of --steps; 0: run to --steps", 0);
  cli.choice("study", study, {"none", "angles", "scores"},
             "instead of training: the DCGAN studies of thesis section 2.1.5. angles (Figure 2.4): the angles "
             "between grad L_r, grad L_f and the D update per iteration, original loss and aw-loss from the same "
             "start; scores (Figure 2.5): mean D logits on each iteration's real and fake batch before the D step, "
             "after the original step and after an aw step from the same state. CSV to --csv, PNG "
             "<model>_study_<name>.png in --out-dir");
  cli.integer("study-iterations", study_iterations, "--study: iterations (thesis: 50 of the first epoch)", 1, 100000);
  cli.flag("train-classifier", train_cls,
           "instead of a GAN: train the FID/IS classifier on --data-dir and write it to --classifier-out");
  cli.text("classifier-out", ccfg.out, "--train-classifier: the safetensors file to write");
  cli.integer("classifier-epochs", ccfg.epochs, "--train-classifier: epochs over the training images", 1);
  cli.integer("classifier-width", ccfg.width, "--train-classifier: channels of its first conv (then 2x, 4x)", 1, 4096);
  cli.integer("classifier-features", ccfg.features, "--train-classifier: size of the feature layer (FID's features)",
              2, 65536);
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;

  if (cfg.data_dir.empty()) cfg.data_dir = "/usr/share/datasets/" + cfg.dataset;
  cfg.device = Device::parse(device);
  if (cfg.device.is_cuda())
    NOVA_CHECK(cfg.device.index < cuda_device_count(), "gan_images: --device {}: no such CUDA device ({} found)",
               cfg.device.str(), cuda_device_count());
  if (threads > 0) omp_set_num_threads(int(threads));
  NOVA_CHECK(std::filesystem::is_directory(cfg.data_dir), "gan_images: --data-dir {}: not a folder", cfg.data_dir);

  if (train_cls) {
    NOVA_CHECK(!ccfg.out.empty(), "gan_images: --train-classifier needs --classifier-out FILE");
    ccfg.dataset = cfg.dataset;
    ccfg.data_dir = cfg.data_dir;
    ccfg.seed = cfg.seed;
    ccfg.device = cfg.device;
    return train_classifier(ccfg);
  }
  NOVA_CHECK(ccfg.out.empty(), "gan_images: --classifier-out is for --train-classifier");

  cfg.d_step.objective = nn::parse_gan_objective(loss, "gan_images: --loss");
  using autograd::GradSplitMode;
  cfg.d_step.grad_split = grad_split == "fused"       ? GradSplitMode::fused
                          : grad_split == "reference" ? GradSplitMode::reference
                                                      : GradSplitMode::automatic;
  cfg.weighting = weighting == "aw1" ? Weighting::aw1 : weighting == "aw2" ? Weighting::aw2 : Weighting::none;
  cfg.on_nonfinite = on_nonfinite == "stop" ? optim::OnNonFinite::stop : optim::OnNonFinite::warn;
  cfg.lr_decay = !no_decay;
  // the model's defaults: the thesis's n_dis and batch sizes (section 2.1.4)
  if (cfg.n_dis == 0) cfg.n_dis = cfg.model == "sngan" ? 3 : cfg.model == "dcgan" ? 1 : 2;
  if (cfg.batch_g == 0) cfg.batch_g = cfg.model == "biggan" ? 50 : 128;
  if (cfg.batch_d == 0) cfg.batch_d = cfg.model == "biggan" ? 50 : 64;
  // the original code's EMA of G (see the top of the file)
  if (cfg.ema_decay < 0) cfg.ema_decay = cfg.model == "biggan" ? 0.9999 : cfg.model == "autogan" ? 0.999 : 0.0;
  if (cfg.ema_start < 0) cfg.ema_start = cfg.model == "autogan" ? 0 : 1000;
  cfg.ema_buffers = cfg.model != "autogan";
  NOVA_CHECK(cfg.model == "biggan" || biggan_init == "n02", "gan_images: --biggan-init is for --model biggan");
  cfg.biggan_init = biggan_init == "ortho"    ? models::BigganInit::ortho
                    : biggan_init == "xavier" ? models::BigganInit::xavier
                                              : models::BigganInit::n02;
  NOVA_CHECK(cfg.stop_at <= cfg.steps, "gan_images: --stop-at {} is beyond --steps {}", cfg.stop_at, cfg.steps);
  NOVA_CHECK(cfg.fid_every == 0 || !cfg.classifier.empty() || !cfg.inception.empty(),
             "gan_images: --fid-every needs --classifier FILE (make one with --train-classifier) or --inception FILE");
  NOVA_CHECK(cfg.classifier.empty() || cfg.inception.empty(),
             "gan_images: --classifier and --inception are two feature networks for FID; give one");
  NOVA_CHECK(cfg.out_dir.empty() || std::filesystem::is_directory(cfg.out_dir),
             "gan_images: --out-dir {}: not a folder (create it first)", cfg.out_dir);

  ImageSet train = load_split(cfg.dataset, cfg.data_dir, true);
  if (stl10_unlabeled != 0) {
    NOVA_CHECK(cfg.dataset == "stl10", "gan_images: --stl10-unlabeled is for --dataset stl10");
    train = with_stl10_unlabeled(train, cfg.data_dir, stl10_unlabeled);
  }
  if (cfg.model == "biggan") cfg.conditional = true;
  NOVA_CHECK(!cfg.conditional || cfg.model == "sngan" || cfg.model == "biggan",
             "gan_images: --conditional is for --model sngan (biggan always is; dcgan and autogan are not)");
  NOVA_CHECK((cfg.model != "autogan" && cfg.model != "biggan") || (train.channels() == 3 && train.size() == 32),
             "gan_images: --model {} is a 3x32x32 model (CIFAR-10); --dataset {} has {}x{}x{} images", cfg.model,
             cfg.dataset, train.channels(), train.size(), train.size());
  if (cfg.conditional) {
    NOVA_CHECK(stl10_unlabeled == 0, "gan_images: --stl10-unlabeled images have no labels for a conditional model");
    cfg.num_classes = 10;  // every dataset here has ten classes (labels 0-9; the readers check the range)
    NOVA_CHECK(ops::max(train.labels).item<int64_t>() < cfg.num_classes,
               "gan_images: --conditional: labels must be 0-9, got up to {}", ops::max(train.labels).item<int64_t>());
    NOVA_CHECK(cfg.d_step.objective.regularizer != nn::GanRegularizer::gradient_penalty,
               "gan_images: --loss wgan-gp pairs real and fake rows for its penalty, which a conditional D "
               "cannot label; use another loss");
    NOVA_CHECK(study == "none", "gan_images: --study runs unconditional models only");
  }
  if (study != "none") {
    NOVA_CHECK(cfg.graph.empty() && cfg.profile.empty(),
               "gan_images: --graph and --profile are for a training run, not --study");
    examples::StudySetup setup;
    setup.make_networks = [&] { return make_models(cfg, train); };
    setup.train_images = train.images;
    setup.device = cfg.device;
    setup.batch_d = cfg.batch_d;
    setup.batch_g = cfg.batch_g;
    setup.z_dim = cfg.z_dim;
    setup.iterations = study_iterations;
    setup.seed = cfg.seed;
    setup.d_step = cfg.d_step;
    setup.adam = optim::AdamOptions{cfg.lr_d, {cfg.beta1, cfg.beta2}};
    setup.csv_path = cfg.csv;
    if (!cfg.out_dir.empty())
      setup.png_path = (std::filesystem::path(cfg.out_dir) / (cfg.model + "_study_" + study + ".png")).string();
    fmt::print("study {} (thesis section 2.1.5): {} on {} ({}x{}x{}), width {}, {} iterations, loss {}, batch G {} "
               "D {}, Adam lr {:g} betas ({:g}, {:g}), seed {}\n",
               study, cfg.model, cfg.dataset, train.channels(), train.size(), train.size(),
               cfg.width == 0 ? std::string("paper's") : std::to_string(cfg.width), study_iterations, loss,
               cfg.batch_g, cfg.batch_d, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.seed);
    const int rc = study == "angles" ? examples::run_angles_study(setup) : examples::run_scores_study(setup);
    if (!setup.png_path.empty()) fmt::print("wrote {}\n", setup.png_path);
    return rc;
  }
  std::optional<ImageSet> test;
  if (cfg.fid_every > 0) test = load_split(cfg.dataset, cfg.data_dir, false);

  std::ofstream csv;
  if (!cfg.csv.empty()) {
    std::error_code no_file;
    const bool append = !cfg.resume.empty() && std::filesystem::file_size(cfg.csv, no_file) > 0 && !no_file;
    csv.open(cfg.csv, append ? std::ios::app : std::ios::trunc);
    NOVA_CHECK(csv, "gan_images: --csv: cannot write {}", cfg.csv);
    if (!append)
      csv << "method,seed,step,loss_d_real,loss_d_fake,loss_g,s_r,s_f,case,w_r,w_f,angle_real_fake,"
             "angle_update_real,angle_update_fake,lr_g,fid,is,is_std,elapsed\n";
  }

  fmt::print("{}{} on {} ({} images, {}x{}x{} in [-1, 1]), width {}, init {}; {}{}; loss {}; {} steps, {} D step(s) "
             "each, batch G {} D {}; Adam lr G {:g} D {:g}, betas ({:g}, {:g}), {}; {}; seed {}, device {}, "
             "threads {}\n",
             cfg.model, cfg.conditional ? fmt::format(" (conditional, {} classes)", cfg.num_classes) : std::string(),
             cfg.dataset, train.images.size(0), train.channels(), train.size(), train.size(), cfg.width == 0 ? std::string("paper's") : std::to_string(cfg.width),
             init_description(cfg), method_name(cfg.weighting),
             cfg.weighting == Weighting::aw1 ? " (Algorithm 1)" : cfg.weighting == Weighting::aw2 ? " (Algorithm 2)" : "",
             loss, cfg.steps, cfg.n_dis, cfg.batch_g, cfg.batch_d, cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2,
             cfg.lr_decay ? "linear decay to 0" : "no decay", ema_description(cfg), cfg.seed, cfg.device.str(),
             omp_get_max_threads());
  std::fflush(stdout);
  Trainer trainer(cfg, train, test ? &*test : nullptr);
  trainer.set_csv(cfg.csv.empty() ? nullptr : &csv);
  return trainer.run();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
