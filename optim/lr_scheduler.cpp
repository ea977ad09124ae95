// optim/lr_scheduler.cpp: the closed forms of the epoch schedulers and the
// bookkeeping of ReduceLROnPlateau, and their state for checkpoints (see
// lr_scheduler.h).
#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/factory.h"

namespace nova::optim {

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (const auto& group : optimizer_.param_groups()) base_lrs_.push_back(group.lr);
}

void LRScheduler::start() {
  last_epoch_ = 0;
  apply();
}

void LRScheduler::step() {
  last_epoch_ += 1;
  apply();
}

void LRScheduler::apply() {
  auto& groups = optimizer_.param_groups();
  NOVA_CHECK(groups.size() == base_lrs_.size(),
             "LRScheduler: the optimizer had {} param groups when the scheduler was made, now {}; "
             "make the scheduler after the last add_param_group", base_lrs_.size(), groups.size());
  last_lr_.clear();
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].lr = lr_at(base_lrs_[i], last_epoch_);
    last_lr_.push_back(groups[i].lr);
  }
}

StateDict LRScheduler::state_dict() const {
  StateDict out;
  out.insert("last_epoch", int64_scalar(last_epoch_));
  out.insert("base_lrs", from_vector(base_lrs_));
  out.insert("last_lr", from_vector(last_lr_));
  return out;
}

void LRScheduler::check_state_dict(const StateDict& state) const {
  const char* op = "LRScheduler::load_state_dict";
  const int64_t groups = int64_t(optimizer_.param_groups().size());
  NOVA_CHECK(read_int64(state, "last_epoch", op) >= 0, "{}: 'last_epoch' must be >= 0", op);
  read_float64_vector(state, "base_lrs", groups, op);
  read_float64_vector(state, "last_lr", groups, op);
  check_known_keys(state, {"last_epoch", "base_lrs", "last_lr"}, op);
}

void LRScheduler::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  const char* op = "LRScheduler::load_state_dict";
  const int64_t groups = int64_t(optimizer_.param_groups().size());
  last_epoch_ = read_int64(state, "last_epoch", op);
  base_lrs_ = read_float64_vector(state, "base_lrs", groups, op);
  last_lr_ = read_float64_vector(state, "last_lr", groups, op);
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  NOVA_CHECK(step_size > 0, "StepLR: step_size must be > 0, got {}", step_size);
  start();
}

double StepLR::lr_at(double base_lr, int64_t epoch) const {
  return base_lr * std::pow(gamma_, double(epoch / step_size_));
}

// ---- MultiStepLR ----

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  start();
}

double MultiStepLR::lr_at(double base_lr, int64_t epoch) const {
  // milestones passed so far: Python's bisect_right
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr * std::pow(gamma_, double(passed));
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor,
                   int64_t total_iters)
    : LRScheduler(optimizer),
      start_factor_(start_factor),
      end_factor_(end_factor),
      total_iters_(total_iters) {
  // a zero start factor would make the first epoch's lr 0 (PyTorch's rule)
  NOVA_CHECK(start_factor > 0 && start_factor <= 1,
             "LinearLR: start_factor must be in (0, 1], got {}", start_factor);
  NOVA_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR: end_factor must be in [0, 1], got {}",
             end_factor);
  NOVA_CHECK(total_iters > 0, "LinearLR: total_iters must be > 0, got {}", total_iters);
  start();
}

double LinearLR::lr_at(double base_lr, int64_t epoch) const {
  const double progress = double(std::min(epoch, total_iters_)) / double(total_iters_);
  return base_lr * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

// ---- ExponentialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer), gamma_(gamma) {
  start();
}

double ExponentialLR::lr_at(double base_lr, int64_t epoch) const {
  return base_lr * std::pow(gamma_, double(epoch));
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Mode mode, double factor,
                                     int64_t patience, double threshold,
                                     ThresholdMode threshold_mode, int64_t cooldown, double min_lr,
                                     double eps)
    : ReduceLROnPlateau(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown,
                        std::vector<double>(optimizer.param_groups().size(), min_lr), eps) {}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Mode mode, double factor,
                                     int64_t patience, double threshold,
                                     ThresholdMode threshold_mode, int64_t cooldown,
                                     std::vector<double> min_lrs, double eps)
    : optimizer_(optimizer),
      mode_(mode),
      factor_(factor),
      patience_(patience),
      threshold_(threshold),
      threshold_mode_(threshold_mode),
      cooldown_(cooldown),
      min_lrs_(std::move(min_lrs)),
      eps_(eps) {
  const char* op = "ReduceLROnPlateau";
  NOVA_CHECK(factor < 1.0 && factor >= 0, "{}: factor must be in [0, 1), got {}", op, factor);
  NOVA_CHECK(patience >= 0, "{}: patience must be >= 0, got {}", op, patience);
  NOVA_CHECK(cooldown >= 0, "{}: cooldown must be >= 0, got {}", op, cooldown);
  NOVA_CHECK(threshold >= 0, "{}: threshold must be >= 0, got {}", op, threshold);
  NOVA_CHECK(min_lrs_.size() == optimizer.param_groups().size(),
             "{}: expected {} min_lrs (one per param group), got {}", op,
             optimizer.param_groups().size(), min_lrs_.size());
  best_ = mode == Mode::Min ? std::numeric_limits<double>::infinity()
                            : -std::numeric_limits<double>::infinity();
  read_lrs();
}

bool ReduceLROnPlateau::is_better(double metric) const {
  const bool rel = threshold_mode_ == ThresholdMode::Rel;
  if (mode_ == Mode::Min) return rel ? metric < best_ * (1.0 - threshold_) : metric < best_ - threshold_;
  return rel ? metric > best_ * (1.0 + threshold_) : metric > best_ + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  last_epoch_ += 1;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (cooldown_counter_ > 0) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;  // bad epochs during cooldown do not count
  }
  if (num_bad_epochs_ > patience_) {
    auto& groups = optimizer_.param_groups();
    NOVA_CHECK(groups.size() == min_lrs_.size(),
               "ReduceLROnPlateau: the optimizer had {} param groups when the scheduler was made, "
               "now {}", min_lrs_.size(), groups.size());
    for (size_t i = 0; i < groups.size(); ++i) {
      const double new_lr = std::max(groups[i].lr * factor_, min_lrs_[i]);
      // a change below eps is not worth making (the lr is at min_lr)
      if (groups[i].lr - new_lr > eps_) groups[i].lr = new_lr;
    }
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
  read_lrs();
}

StateDict ReduceLROnPlateau::state_dict() const {
  StateDict out;
  out.insert("last_epoch", int64_scalar(last_epoch_));
  out.insert("best", float64_scalar(best_));
  out.insert("num_bad_epochs", int64_scalar(num_bad_epochs_));
  out.insert("cooldown_counter", int64_scalar(cooldown_counter_));
  out.insert("last_lr", from_vector(last_lr_));
  return out;
}

void ReduceLROnPlateau::check_state_dict(const StateDict& state) const {
  const char* op = "ReduceLROnPlateau::load_state_dict";
  for (const char* key : {"last_epoch", "num_bad_epochs", "cooldown_counter"})
    NOVA_CHECK(read_int64(state, key, op) >= 0, "{}: '{}' must be >= 0", op, key);
  NOVA_CHECK(!std::isnan(read_float64(state, "best", op)), "{}: 'best' is NaN", op);
  read_float64_vector(state, "last_lr", int64_t(optimizer_.param_groups().size()), op);
  check_known_keys(state, {"last_epoch", "best", "num_bad_epochs", "cooldown_counter", "last_lr"}, op);
}

void ReduceLROnPlateau::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  const char* op = "ReduceLROnPlateau::load_state_dict";
  last_epoch_ = read_int64(state, "last_epoch", op);
  best_ = read_float64(state, "best", op);
  num_bad_epochs_ = read_int64(state, "num_bad_epochs", op);
  cooldown_counter_ = read_int64(state, "cooldown_counter", op);
  last_lr_ = read_float64_vector(state, "last_lr", int64_t(optimizer_.param_groups().size()), op);
}

void ReduceLROnPlateau::read_lrs() {
  last_lr_.clear();
  for (const auto& group : optimizer_.param_groups()) last_lr_.push_back(group.lr);
}

}  // namespace nova::optim
