// models/train_checkpoint.h: TrainCheckpoint, everything a trainer carries
// between steps (models, optimizers, the thesis optimizers, schedulers,
// random generators, the step) saved to one safetensors file and loaded back
// all or nothing, so that a run stopped at step N and resumed reaches the
// same weights, bit for bit, as one that never stopped.
//
// Why models/: the parts come from nn/ (Module) and optim/ (optimizers,
// schedulers), and models/ is the lowest floor that sees both (as for
// GanDiscriminatorStep).
//
//   models::TrainCheckpoint ckpt;
//   ckpt.add("G", *G).add("D", *D).add("opt_g", opt_g).add("aw_d", aw).add("gen", gen)
//       .setting("loss", "bce");
//   if (resume) first_step = ckpt.load(path) + 1;
//   ... every K steps: ckpt.save(path, step);
//
// The file: each part's state_dict under "<name>." (G.0.weight,
// opt_g.state.3.exp_avg, gen.offset, ...), with __metadata__
//   nova.train.step           the step the state is after (decimal)
//   nova.train.part.<name>    what the part is: Module, Adam, ...,
//                             AdaptiveWeighting/Adam, LRScheduler, Generator
//   nova.train.setting.<key>  each setting(); load refuses a file whose
//                             settings differ (another --loss, lr, seed...)
// Saving goes through nn::save_checkpoint: a temporary file, fsynced and
// renamed, so a crash leaves the old checkpoint or the new one. Loading
// reads the whole file, checks every part (kind, keys, shapes, dtypes,
// values) and only then changes anything.
//
// Integers are stored exactly (I64 tensors; the step as a decimal string).
// What is not saved is what the caller rebuilds the same way: the
// architecture, optimizer types and options (the settings catch a change),
// reports of the last step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/safetensors.h"
#include "core/state_dict.h"
#include "nn/module.h"
#include "optim/adaptive_weighting.h"
#include "optim/cayley.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/self_correcting.h"

namespace nova::models {

class TrainCheckpoint {
 public:
  /// Registers a part under `name` (non-empty, no '.', not taken; throws
  /// nova::Error otherwise). The object must outlive this checkpoint: the
  /// checkpoint keeps a reference, reads it on save and writes it on load.
  TrainCheckpoint& add(const std::string& name, nn::Module& module);
  TrainCheckpoint& add(const std::string& name, optim::Optimizer& optimizer);
  TrainCheckpoint& add(const std::string& name, optim::AdaptiveWeighting& aw);
  TrainCheckpoint& add(const std::string& name, optim::SelfCorrecting& sc);
  /// Algorithm 4's optimizer: its inner optimizer and carried inverses (the
  /// orthogonal weights' U and A are the model's: add the model too).
  TrainCheckpoint& add(const std::string& name, optim::CayleyOptimizer& cayley);
  TrainCheckpoint& add(const std::string& name, optim::LRScheduler& scheduler);
  TrainCheckpoint& add(const std::string& name, optim::ReduceLROnPlateau& scheduler);
  TrainCheckpoint& add(const std::string& name, Generator& generator);

  /// A setting the run was made with ("loss" -> "bce", "lr_d" -> "0.0001"):
  /// saved, and load() refuses a file saved with another value (or without
  /// it), naming every difference. Setting a key again replaces its value.
  TrainCheckpoint& setting(const std::string& key, const std::string& value);

  /// Writes every part's state and `step` (>= 0) to `path`, replacing an
  /// existing file only once the new one is complete. Throws nova::Error
  /// naming the file.
  void save(const std::string& path, int64_t step) const;

  /// Loads `path` into every part and returns the saved step. All or
  /// nothing: a file that is not a training checkpoint, lacks a part or has
  /// another, holds a part of another kind, other settings, or any key,
  /// shape, dtype or value a part refuses throws nova::Error
  /// "TrainCheckpoint::load: <path>: ..." and changes no part.
  int64_t load(const std::string& path);

  /// The parts' names, in the order added.
  std::vector<std::string> part_names() const;

 private:
  struct Part {
    std::string name, kind;
    std::function<StateDict()> state;
    std::function<void(const StateDict&)> check, load;
  };
  TrainCheckpoint& add_part(Part part);

  std::vector<Part> parts_;
  safetensors::Metadata settings_;
};

}  // namespace nova::models
