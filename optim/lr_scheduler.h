// optim/lr_scheduler.h: learning-rate schedulers (PyTorch's
// torch.optim.lr_scheduler) that set the lr of every param group of an
// optimizer, stepped once per epoch (or per iteration, as the caller likes).
//
// As in PyTorch, constructing a scheduler counts as epoch 0 and already sets
// the epoch-0 rate; each step() moves to the next epoch. The usual loop:
//
//   optim::StepLR sched(opt, 30, 0.1);
//   for (int epoch = 0; epoch < n; ++epoch) { train_one_epoch(opt); sched.step(); }
//
// Rates come from the closed forms below (base_lr = each group's lr when the
// scheduler was made, e = last_epoch()); a scheduler owns the lr of its
// optimizer: one scheduler per optimizer, and no manual lr edits in between.
// The scheduler keeps a reference to the optimizer, which must outlive it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/state_dict.h"
#include "optim/optimizer.h"

namespace nova::optim {

/// Base of the epoch-indexed schedulers: lr_e = lr_at(base_lr, e).
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  /// Moves to the next epoch and sets every group's lr.
  void step();
  /// The lr of each group after the latest step (or construction).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The current epoch: 0 after construction, +1 per step().
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  /// "last_epoch" (I64 0-d), "base_lrs" and "last_lr" (F64 [groups]): with
  /// the constructor's arguments, all the closed form reads. As in PyTorch,
  /// loading does not touch the optimizer: load its state too (its lrs).
  StateDict state_dict() const;
  /// Throws what load_state_dict would throw ("LRScheduler::load_state_dict:
  /// ..."; a group count that is not the optimizer's), changing nothing.
  void check_state_dict(const StateDict& state) const;
  void load_state_dict(const StateDict& state);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  /// The closed form: the lr at epoch e of a group that started at base_lr.
  virtual double lr_at(double base_lr, int64_t epoch) const = 0;
  /// Applies epoch 0; derived constructors call it after checking their
  /// arguments (the base constructor cannot call lr_at).
  void start();

 private:
  void apply();

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
};

/// lr = base_lr * gamma^floor(e / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr = base_lr * gamma^(number of milestones <= e); milestones in any order
/// (a repeated milestone counts twice, as in PyTorch).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

/// lr = base_lr * (start + (end - start) * min(e, total_iters) / total_iters):
/// the factor moves linearly from start_factor to end_factor over total_iters
/// epochs, then stays. LinearLR(opt, 1.0, 0.0, n) is the linear decay to zero
/// of the thesis's GAN trainers.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// lr = base_lr * gamma^e.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  double gamma_;
};

/// Lowers the lr when a metric has stopped improving (PyTorch's
/// ReduceLROnPlateau). step(metric) once per epoch:
///   improved: metric < best * (1 - threshold)  (mode Min, threshold_mode Rel)
///             metric > best * (1 + threshold)  (Max, Rel)
///             metric < best - threshold        (Min, Abs)
///             metric > best + threshold        (Max, Abs)
///   improved -> best = metric, bad epochs = 0; else bad epochs += 1.
///   During cooldown (the `cooldown` epochs after a reduction) bad epochs
///   are not counted. When bad epochs > patience:
///   lr <- max(lr * factor, min_lr) per group (skipped when the change is
///   below eps), cooldown starts, bad epochs = 0.
class ReduceLROnPlateau {
 public:
  enum class Mode { Min, Max };
  enum class ThresholdMode { Rel, Abs };

  ReduceLROnPlateau(Optimizer& optimizer, Mode mode = Mode::Min, double factor = 0.1,
                    int64_t patience = 10, double threshold = 1e-4,
                    ThresholdMode threshold_mode = ThresholdMode::Rel, int64_t cooldown = 0,
                    double min_lr = 0.0, double eps = 1e-8);
  /// Same, with one min_lr per param group.
  ReduceLROnPlateau(Optimizer& optimizer, Mode mode, double factor, int64_t patience,
                    double threshold, ThresholdMode threshold_mode, int64_t cooldown,
                    std::vector<double> min_lrs, double eps = 1e-8);

  /// Records this epoch's metric and reduces the lr when it is due.
  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  /// The best metric so far (+inf in mode Min, -inf in Max before any step).
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }

  /// "last_epoch", "num_bad_epochs", "cooldown_counter" (I64 0-d), "best"
  /// (F64 0-d) and "last_lr" (F64 [groups]); mode, factor and the other
  /// constructor arguments are not saved. Loading does not touch the
  /// optimizer, whose own state holds the reduced lrs.
  StateDict state_dict() const;
  /// Throws what load_state_dict would throw ("ReduceLROnPlateau::load_state_dict: ..."),
  /// changing nothing.
  void check_state_dict(const StateDict& state) const;
  void load_state_dict(const StateDict& state);

 private:
  bool is_better(double metric) const;
  void read_lrs();

  Optimizer& optimizer_;
  Mode mode_;
  double factor_;
  int64_t patience_;
  double threshold_;
  ThresholdMode threshold_mode_;
  int64_t cooldown_;
  std::vector<double> min_lrs_;
  double eps_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace nova::optim
