// tests/test_rnn_sequence_cuda.cpp: the persistent whole-sequence CUDA
// kernels of gru_recurrence / lstm_recurrence (kernels/cuda/rnn_sequence.h),
// forward and every gradient, against the CPU and against the per-step CUDA
// path (NOVA_RNN_PERSISTENT=0), GRU and LSTM, float32 and float64: inside
// the size limit, at it and one past it (the fallback), batch 1, T 1, batch
// rows shared by several blocks and several rows per block, with and
// without b_hh; a float64 gradcheck and second order on the GPU; and a small
// case tagged [racecheck], which tools/gpu-check.sh runs under
// compute-sanitizer racecheck (the kernels' shared-memory phases). Also
// gru_layer / lstm_layer (core/rnn_layer.h) on CUDA against the CPU.
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "core/gradcheck.h"
#include "core/rnn_layer.h"
#include "kernels/cuda/rnn_sequence.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

/// Sets NOVA_RNN_PERSISTENT for a scope (unset when `value` is null) and
/// restores what was there.
class PersistentEnv {
 public:
  explicit PersistentEnv(const char* value) {
    const char* old = std::getenv("NOVA_RNN_PERSISTENT");
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv("NOVA_RNN_PERSISTENT", value, 1);
    else unsetenv("NOVA_RNN_PERSISTENT");
  }
  ~PersistentEnv() {
    if (had_) setenv("NOVA_RNN_PERSISTENT", old_.c_str(), 1);
    else unsetenv("NOVA_RNN_PERSISTENT");
  }
  PersistentEnv(const PersistentEnv&) = delete;
  PersistentEnv& operator=(const PersistentEnv&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

/// f's result and the gradients of every input (of an upstream gradient
/// `grad`) on `device`.
std::vector<Tensor> run(const Inputs& base, const Fn& f, const Tensor& grad, Device device) {
  Inputs in;
  for (const Tensor& t : base) {
    if (!t.defined()) {
      in.push_back(Tensor());
      continue;
    }
    // fresh leaves on either device (to(kCPU) of a CPU tensor is the tensor itself)
    Tensor leaf = device.is_cpu() ? t.clone() : t.to(device);
    in.push_back(leaf.requires_grad_());
  }
  Tensor y = f(in);
  y.backward(grad.to(device));
  std::vector<Tensor> r{y};
  for (const Tensor& t : in) r.push_back(t.defined() ? t.grad() : Tensor());
  return r;
}

/// The persistent path against the CPU and (with_per_step) against the
/// per-step CUDA path: the result and all gradients within 1e-4 relative in
/// float32 (cuBLAS, the CPU GEMM and the kernel's own dot products sum in
/// different orders, compounded over T steps forward and back, as
/// test_rnn_gates_cuda allows) and 1e-11 in float64.
void check(const Inputs& base, const Fn& f, bool with_per_step = true) {
  const DType dt = base[0].dtype();
  const double tol = dt == kFloat32 ? 1e-4 : 1e-11;
  Tensor y_probe;
  {
    NoGradGuard no_grad;
    y_probe = f(base);
  }
  const Tensor grad = uniform(y_probe.shape(), -1.0, 1.0, dt);
  std::vector<Tensor> cpu = run(base, f, grad, kCPU), persistent, per_step;
  {
    PersistentEnv env(nullptr);
    persistent = run(base, f, grad, gpu());
  }
  if (with_per_step) {
    PersistentEnv env("0");
    per_step = run(base, f, grad, gpu());
  }
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!cpu[i].defined()) continue;
    INFO((i == 0 ? std::string("result") : "gradient of input " + std::to_string(i - 1)));
    {
      INFO("persistent CUDA vs CPU");
      require_parity(cpu[i], persistent[i], tol);
    }
    if (with_per_step) {
      INFO("persistent CUDA vs per-step CUDA");
      require_parity(per_step[i].to(kCPU), persistent[i], tol);
    }
  }
}

Tensor gru(const Inputs& in) { return ops::gru_recurrence(in[0], in[1], in[2], in[3]); }
Tensor lstm(const Inputs& in) { return ops::lstm_recurrence(in[0], in[1], in[2], in[3], in[4]); }

Inputs gru_inputs(int64_t T, int64_t B, int64_t H, DType dt, bool bias) {
  const double s = 1.0 / std::sqrt(double(H));
  return {uniform({T, B, 3 * H}, -2, 2, dt), uniform({B, H}, -1, 1, dt), uniform({3 * H, H}, -s, s, dt),
          bias ? uniform({3 * H}, -s, s, dt) : Tensor()};
}

Inputs lstm_inputs(int64_t T, int64_t B, int64_t H, DType dt, bool bias) {
  const double s = 1.0 / std::sqrt(double(H));
  return {uniform({T, B, 4 * H}, -2, 2, dt), uniform({B, H}, -1, 1, dt), uniform({B, H}, -1, 1, dt),
          uniform({4 * H, H}, -s, s, dt), bias ? uniform({4 * H}, -s, s, dt) : Tensor()};
}

/// gru_layer / lstm_layer (core/rnn_layer.h): the input projection inside
/// the CPU kernels, the composition (linear + the recurrence) on CUDA.
Tensor gru_layer(const Inputs& in) { return ops::gru_layer(in[0], in[1], in[2], in[3], in[4], in[5]); }
Tensor lstm_layer(const Inputs& in) {
  return ops::lstm_layer(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
}

/// x [T, B, I], h0 (c0), w_ih, b_ih, w_hh, b_hh.
Inputs layer_inputs(bool lstm, int64_t T, int64_t B, int64_t I, int64_t H, DType dt, bool bias) {
  const double s = 1.0 / std::sqrt(double(H));
  const int64_t G = (lstm ? 4 : 3) * H;
  Inputs in{uniform({T, B, I}, -2, 2, dt), uniform({B, H}, -1, 1, dt)};
  if (lstm) in.push_back(uniform({B, H}, -1, 1, dt));
  for (int64_t cols : {I, H}) {
    in.push_back(uniform({G, cols}, -s, s, dt));
    in.push_back(bias ? uniform({G}, -s, s, dt) : Tensor());
  }
  return in;
}

int64_t max_hidden(int gates, DType dt) { return cuda::rnn_sequence_max_hidden(gates, dt, 0); }

}  // namespace

TEST_CASE("persistent rnn kernels: the size limit", "[rnn_sequence][cuda]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (int gates : {3, 4}) {
      const int64_t H = max_hidden(gates, dt);
      INFO(dtype_name(dt) << " gates " << gates << ": persistent up to H = " << H);
      // every GPU nova targets (48 KiB of shared memory per block and up)
      // holds the thesis's smallest layers in float32
      if (dt == kFloat32) CHECK(H >= 42);
      REQUIRE(H >= 1);
      CHECK(cuda::rnn_sequence_supported(gates, H, 1, dt, 0));
      CHECK_FALSE(cuda::rnn_sequence_supported(gates, H + 1, 1, dt, 0));
      CHECK_FALSE(cuda::rnn_sequence_supported(gates, H, 0, dt, 0));
      CHECK_FALSE(cuda::rnn_sequence_supported(gates, 0, 4, dt, 0));
    }
  }
}

TEST_CASE("persistent gru_recurrence and lstm_recurrence agree with the CPU and the per-step path",
          "[rnn_sequence][cuda]") {
  for (DType dt : {kFloat32, kFloat64}) {
    // (T, B, H): T 1, batch 1, odd sizes, the thesis's, more rows than SMs
    // (several rows per block), and H at the limit (persistent) and one past
    // it (the per-step fallback: both sides then agree trivially, and the
    // dispatch must not fail)
    for (int gates : {3, 4}) {
      const int64_t limit = max_hidden(gates, dt);
      std::vector<std::tuple<int64_t, int64_t, int64_t>> sizes{
          {1, 3, 7}, {5, 1, 13}, {1, 1, 1}, {20, 16, 50}, {9, 300, 24}, {3, 2, limit}, {2, 3, limit + 1}};
      if (dt == kFloat32) sizes.push_back({12, 128, std::min<int64_t>(100, limit)});
      for (auto [T, B, H] : sizes) {
        for (bool bias : {true, false}) {
          INFO(dtype_name(dt) << (gates == 3 ? " GRU" : " LSTM") << " T=" << T << " B=" << B << " H=" << H
                              << (bias ? " with b_hh" : " without b_hh"));
          if (H <= limit) CHECK(cuda::rnn_sequence_supported(gates, H, B, dt, 0));
          if (gates == 3) check(gru_inputs(T, B, H, dt, bias), gru);
          else check(lstm_inputs(T, B, H, dt, bias), lstm);
        }
      }
    }
  }
}

TEST_CASE("gru_layer and lstm_layer agree on CPU (projection in the loop) and CUDA", "[rnn_sequence][cuda]") {
  for (DType dt : {kFloat32, kFloat64})
    for (bool lstm : {false, true})
      for (bool bias : {true, false})
        for (auto [T, B, I, H] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
                 {1, 3, 2, 7}, {9, 19, 11, 37}, {12, 128, 10, 100}}) {
          INFO(dtype_name(dt) << (lstm ? " LSTM" : " GRU") << " T=" << T << " B=" << B << " I=" << I
                              << " H=" << H << (bias ? " with biases" : " without biases"));
          check(layer_inputs(lstm, T, B, I, H, dt, bias), lstm ? lstm_layer : gru_layer);
        }
}

TEST_CASE("persistent lstm_recurrence: only h or only c reaches the loss", "[rnn_sequence][cuda]") {
  const Inputs in = lstm_inputs(6, 5, 11, kFloat64, true);
  check(in, [](const Inputs& x) { return ops::select(lstm(x), 1, 0); });
  check(in, [](const Inputs& x) { return ops::select(lstm(x), 1, 1); });
}

TEST_CASE("persistent rnn kernels: float64 gradcheck and second order on CUDA", "[rnn_sequence][cuda][grad]") {
  PersistentEnv env(nullptr);
  for (int gates : {3, 4}) {
    INFO((gates == 3 ? "gru_recurrence" : "lstm_recurrence"));
    const int64_t T = 3, B = 2, H = 3;
    Inputs in = gates == 3 ? gru_inputs(T, B, H, kFloat64, true) : lstm_inputs(T, B, H, kFloat64, true);
    REQUIRE(cuda::rnn_sequence_supported(gates, H, B, kFloat64, 0));
    for (Tensor& t : in) t.requires_grad_();
    const Fn f = gates == 3 ? Fn(gru) : Fn(lstm);
    // gradcheck perturbs CPU leaves; the copies to the GPU are differentiable
    auto fn = [&] {
      Inputs g;
      for (const Tensor& t : in) g.push_back(t.to(gpu()));
      return f(g).to(kCPU);
    };
    const GradcheckResult first = gradcheck(fn, in);
    INFO(first.report);
    CHECK(first.ok);
    // under create_graph the node recomputes itself as per-step ops; smaller,
    // as every perturbed element costs a double backward (and the suite runs
    // under compute-sanitizer too)
    Inputs small = gates == 3 ? gru_inputs(2, 1, 2, kFloat64, true) : lstm_inputs(2, 1, 2, kFloat64, true);
    for (Tensor& t : small) t.requires_grad_();
    auto fn_small = [&] {
      Inputs g;
      for (const Tensor& t : small) g.push_back(t.to(gpu()));
      return f(g).to(kCPU);
    };
    const GradcheckResult second = gradgradcheck(fn_small, small);
    INFO(second.report);
    CHECK(second.ok);
  }
}

TEST_CASE("persistent rnn kernels under racecheck", "[rnn_sequence][cuda][racecheck]") {
  // small, so that compute-sanitizer racecheck stays quick, and the
  // persistent kernels only (against the CPU): several blocks, and B = 300
  // puts several rows into one block on any GPU with < 300 SMs
  for (auto [T, B, H] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 4, 9}, {2, 300, 8}}) {
    INFO("T=" << T << " B=" << B << " H=" << H);
    check(gru_inputs(T, B, H, kFloat32, true), gru, /*with_per_step=*/false);
    check(lstm_inputs(T, B, H, kFloat32, true), lstm, /*with_per_step=*/false);
  }
}
