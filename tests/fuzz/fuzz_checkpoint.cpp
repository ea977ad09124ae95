// tests/fuzz/fuzz_checkpoint.cpp: libFuzzer harness for the checkpoint
// loader, nn::parse_checkpoint (load_checkpoint less the open and read
// calls), then what nn::load does with an accepted file: load_state_dict
// into a small model, strict and then not.
// Right answers: refused with nova::Error (the loader's messages name the
// file: "safetensors: input: " or "load_checkpoint: input: "), or loaded
// with tensors that hold no more bytes than the input. Anything else
// aborts, and libFuzzer keeps the input: another exception, a crash, a
// sanitizer report, a leak, a hang, or one allocation past the cap
// tools/fuzz.sh sets. The seed corpus is this model's checkpoints
// (tests/fuzz/make_corpus.py).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "nn/nn.h"

namespace {

using namespace nova;
using nova::nn::StateDict;

const std::string kName = "input";

[[noreturn]] void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz_checkpoint: BUG: %s\n", what.c_str());
  std::abort();
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Keys 0.weight [4, 3], 0.bias, 1.weight, 1.bias, 1.running_mean,
// 1.running_var [4], 1.num_batches_tracked (int64, 0-d), 3.weight [2, 4], 3.bias.
std::shared_ptr<nn::Sequential> make_model() {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4),
                                          std::make_shared<nn::BatchNorm1d>(4),
                                          std::make_shared<nn::Tanh>(),
                                          std::make_shared<nn::Linear>(4, 2));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // one model for all inputs: a refused load leaves it unchanged, an
  // accepted one changes values only, never which code runs
  static std::shared_ptr<nn::Sequential> model = make_model();
  StateDict state;
  try {
    state = nn::parse_checkpoint(data, size, kName);
  } catch (const Error& e) {
    if (!starts_with(e.what(), "safetensors: " + kName + ": ") &&
        !starts_with(e.what(), "load_checkpoint: " + kName + ": "))
      bug(std::string("a refusal that does not name the file: ") + e.what());
    return 0;
  } catch (const std::exception& e) {
    bug(std::string("an exception other than nova::Error: ") + e.what());
  }

  size_t total = 0;
  for (const auto& [key, tensor] : state) total += size_t(tensor.numel()) * dtype_size(tensor.dtype());
  if (total > size) bug("more tensor bytes than input bytes");

  for (bool strict : {true, false}) {
    try {
      model->load_state_dict(state, strict);
    } catch (const Error&) {
      // keys, shapes or dtypes that do not fit the model: refused, rightly
    } catch (const std::exception& e) {
      bug(std::string("load_state_dict: an exception other than nova::Error: ") + e.what());
    }
  }
  return 0;
}
