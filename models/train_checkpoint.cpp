// models/train_checkpoint.cpp: TrainCheckpoint (see train_checkpoint.h).
#include "models/train_checkpoint.h"

#include <cstdlib>

#include <fmt/ranges.h>

#include "nn/checkpoint.h"

namespace nova::models {

namespace {

constexpr const char* kStepKey = "nova.train.step";
const std::string kPartPrefix = "nova.train.part.";
const std::string kSettingPrefix = "nova.train.setting.";

/// The decimal step of the metadata, or a message why there is none.
int64_t parse_step(const safetensors::Metadata& meta) {
  auto it = meta.find(kStepKey);
  NOVA_CHECK(it != meta.end(),
             "not a training checkpoint (no '{}' in its metadata; a model saved with nn::save loads "
             "with nn::load)", kStepKey);
  const std::string& text = it->second;
  char* end = nullptr;
  const long long step = std::strtoll(text.c_str(), &end, 10);
  NOVA_CHECK(!text.empty() && end == text.c_str() + text.size() && step >= 0 &&
                 text.find_first_not_of("0123456789") == std::string::npos,
             "'{}' must be a step >= 0, got \"{}\"", kStepKey, text);
  return int64_t(step);
}

}  // namespace

TrainCheckpoint& TrainCheckpoint::add_part(Part part) {
  NOVA_CHECK(!part.name.empty() && part.name.find('.') == std::string::npos,
             "TrainCheckpoint::add: part name \"{}\" must be non-empty and contain no '.'", part.name);
  for (const Part& p : parts_)
    NOVA_CHECK(p.name != part.name, "TrainCheckpoint::add: part name \"{}\" is taken", part.name);
  parts_.push_back(std::move(part));
  return *this;
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, nn::Module& module) {
  return add_part({name, "Module", [&module] { return module.state_dict(); },
                   [&module](const StateDict& s) { module.check_state_dict(s); },
                   [&module](const StateDict& s) { module.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::Optimizer& optimizer) {
  return add_part({name, optimizer.name(), [&optimizer] { return optimizer.state_dict(); },
                   [&optimizer](const StateDict& s) { optimizer.check_state_dict(s); },
                   [&optimizer](const StateDict& s) { optimizer.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::AdaptiveWeighting& aw) {
  return add_part({name, fmt::format("AdaptiveWeighting/{}", aw.inner().name()), [&aw] { return aw.state_dict(); },
                   [&aw](const StateDict& s) { aw.check_state_dict(s); },
                   [&aw](const StateDict& s) { aw.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::SelfCorrecting& sc) {
  return add_part({name, fmt::format("SelfCorrecting/{}", sc.inner().name()), [&sc] { return sc.state_dict(); },
                   [&sc](const StateDict& s) { sc.check_state_dict(s); },
                   [&sc](const StateDict& s) { sc.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::CayleyOptimizer& cayley) {
  return add_part({name, fmt::format("CayleyOptimizer/{}", cayley.inner().name()),
                   [&cayley] { return cayley.state_dict(); },
                   [&cayley](const StateDict& s) { cayley.check_state_dict(s); },
                   [&cayley](const StateDict& s) { cayley.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::LRScheduler& scheduler) {
  return add_part({name, "LRScheduler", [&scheduler] { return scheduler.state_dict(); },
                   [&scheduler](const StateDict& s) { scheduler.check_state_dict(s); },
                   [&scheduler](const StateDict& s) { scheduler.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, optim::ReduceLROnPlateau& scheduler) {
  return add_part({name, "ReduceLROnPlateau", [&scheduler] { return scheduler.state_dict(); },
                   [&scheduler](const StateDict& s) { scheduler.check_state_dict(s); },
                   [&scheduler](const StateDict& s) { scheduler.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::add(const std::string& name, Generator& generator) {
  return add_part({name, "Generator", [&generator] { return generator.state_dict(); },
                   [&generator](const StateDict& s) { generator.check_state_dict(s); },
                   [&generator](const StateDict& s) { generator.load_state_dict(s); }});
}

TrainCheckpoint& TrainCheckpoint::setting(const std::string& key, const std::string& value) {
  NOVA_CHECK(!key.empty(), "TrainCheckpoint::setting: the key is empty");
  settings_[key] = value;
  return *this;
}

std::vector<std::string> TrainCheckpoint::part_names() const {
  std::vector<std::string> names;
  for (const Part& p : parts_) names.push_back(p.name);
  return names;
}

void TrainCheckpoint::save(const std::string& path, int64_t step) const {
  NOVA_CHECK(step >= 0, "TrainCheckpoint::save: {}: step must be >= 0, got {}", path, step);
  StateDict all;
  safetensors::Metadata meta;
  meta[kStepKey] = std::to_string(step);
  for (const Part& p : parts_) {
    insert_prefixed(&all, p.name, p.state());
    meta[kPartPrefix + p.name] = p.kind;
  }
  for (const auto& [key, value] : settings_) meta[kSettingPrefix + key] = value;
  nn::save_checkpoint(path, all, meta);
}

int64_t TrainCheckpoint::load(const std::string& path) {
  safetensors::Metadata meta;
  const StateDict file = nn::load_checkpoint(path, &meta);  // names the file on a damaged one
  int64_t step = 0;
  std::vector<StateDict> states;
  try {
    step = parse_step(meta);

    // the settings: every difference in one message
    std::vector<std::string> saved, now;
    for (const auto& [key, value] : settings_) {
      auto it = meta.find(kSettingPrefix + key);
      const std::string was = it == meta.end() ? "(not set)" : it->second;
      if (was == value) continue;
      saved.push_back(key + "=" + was);
      now.push_back(key + "=" + value);
    }
    for (const auto& [key, value] : meta)
      if (key.compare(0, kSettingPrefix.size(), kSettingPrefix) == 0 &&
          !settings_.count(key.substr(kSettingPrefix.size()))) {
        saved.push_back(key.substr(kSettingPrefix.size()) + "=" + value);
        now.push_back(key.substr(kSettingPrefix.size()) + "=(not set)");
      }
    NOVA_CHECK(saved.empty(), "it was saved with {}; this run has {}", fmt::join(saved, ", "),
               fmt::join(now, ", "));

    // the parts: the same names, of the same kinds
    std::vector<std::string> extra;
    for (const auto& [key, value] : meta) {
      if (key.compare(0, kPartPrefix.size(), kPartPrefix) != 0) continue;
      const std::string name = key.substr(kPartPrefix.size());
      bool known = false;
      for (const Part& p : parts_) known = known || p.name == name;
      if (!known) extra.push_back("'" + name + "' (" + value + ")");
    }
    NOVA_CHECK(extra.empty(), "it holds parts this run does not have: {}", fmt::join(extra, ", "));
    for (const Part& p : parts_) {
      auto it = meta.find(kPartPrefix + p.name);
      NOVA_CHECK(it != meta.end(), "it has no part '{}' ({})", p.name, p.kind);
      NOVA_CHECK(it->second == p.kind, "part '{}' is a {} in the file, a {} in this run", p.name, it->second,
                 p.kind);
    }
    for (const auto& [key, value] : file) {
      (void)value;
      bool owned = false;
      for (const Part& p : parts_) owned = owned || key.compare(0, p.name.size() + 1, p.name + ".") == 0;
      NOVA_CHECK(owned, "tensor '{}' belongs to no part", key);
    }

    // every part checks its own state before any is loaded
    for (const Part& p : parts_) {
      states.push_back(sub_state(file, p.name));
      try {
        p.check(states.back());
      } catch (const Error& e) {
        fail("part '{}': {}", p.name, e.what());
      }
    }
  } catch (const Error& e) {
    fail("TrainCheckpoint::load: {}: {}", path, e.what());
  }
  for (size_t i = 0; i < parts_.size(); ++i) parts_[i].load(states[i]);
  return step;
}

}  // namespace nova::models
