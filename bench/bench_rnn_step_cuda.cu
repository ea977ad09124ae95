// bench/bench_rnn_step_cuda.cu: one GRU / LSTM training step on CUDA,
// float32 (issue 18's GPU benchmark): nova's persistent whole-sequence
// kernels (kernels/cuda/rnn_sequence.h) against nova's per-step path (one
// cuBLAS GEMM + one fused gate kernel per step, NOVA_RNN_PERSISTENT=0),
// cuDNN 9's RNN (the baseline; ALGO_STANDARD, and ALGO_PERSIST_STATIC where
// cuDNN takes the size) and PyTorch on CUDA (bench/rnn_step_torch_cuda.py;
// skipped, with a note, without torch or without CUDA in it).
//
// One step, as bench_rnn_step (the CPU one) and the torch script write it:
//   zero_grad; out = model(x) (all hidden states [T, B, H], h0 = 0);
//   loss = mean(out); backward through time (weights only: x needs no grad)
// and on cuDNN: cudnnRNNForward (training), cudnnRNNBackwardData_v8 with
// dy = 1 / (T B H) (it also forms dx, which cuDNN cannot skip),
// cudnnRNNBackwardWeights_v8 into a zeroed gradient. One layer,
// unidirectional, time-major, two biases (PyTorch's layout); cuDNN in
// CUDNN_FMA_MATH (strict float32, no TF32), nova with TF32 off (its default).
//
// Sizes (batch, T, hidden, input): the thesis's (batch 16, T 100-400, hidden
// 50-118; batch 128, T 100-200, hidden 42-100) and batch 64, T 100, hidden
// 512 (above the persistent kernels' limit: nova runs per-step there, and
// the persistent row says so).
//
// Validation, per model and size: nova persistent against nova per-step (the
// output and the flat parameter gradient, relative L2 error, bound 1e-4);
// cuDNN's output and weight gradients on nova's weights (copied into
// cuDNN's weight space through cudnnGetRNNWeightParams: linear layers 0..G-1
// are W_ih's gate blocks, G..2G-1 W_hh's, in PyTorch's gate order, which is
// cuDNN's) against nova's, bound 1e-4.
//
// Versions: v0 = cuDNN ALGO_STANDARD (the baseline), v0p = cuDNN
// PERSIST_STATIC, v1 = nova per-step, v2 = nova persistent, torch = PyTorch
// CUDA. Ratio = v0 median / v2 median (higher is better; target: > 1 at the
// thesis sizes). Without cuDNN in the build (it is optional) v1 is the
// baseline of the ratio. Command line: report.h's [--json PATH] [--iters N]
// [--warmup N]. Exit 77 when no CUDA device answers.
#include <cuda_runtime.h>

#ifdef NOVA_BENCH_HAVE_CUDNN
#include <cudnn.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/common.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/cuda/rnn_sequence.h"
#include "nn/rnn.h"

using namespace nova;
namespace b = nova::bench;

namespace {

struct Size {
  int64_t batch, steps, hidden, input;
};

std::string label(const std::string& model, const Size& s) {
  return fmt::format("{} B{} T{} H{} I{}", model, s.batch, s.steps, s.hidden, s.input);
}

std::unique_ptr<nn::RNNBase> make(bool lstm, const Size& s) {
  if (lstm) return std::make_unique<nn::LSTM>(s.input, s.hidden);
  return std::make_unique<nn::GRU>(s.input, s.hidden);
}

/// Switches nova between the persistent kernels and the per-step path (core
/// reads NOVA_RNN_PERSISTENT at every call).
void set_persistent(bool on) { setenv("NOVA_RNN_PERSISTENT", on ? "1" : "0", 1); }

/// One step: zero_grad, forward, loss = mean of all hidden states, backward.
Tensor step(nn::RNNBase& m, const Tensor& x) {
  m.zero_grad();
  Tensor out = m.forward(x);
  ops::mean(out).backward();
  return out;
}

/// nova's parameters in a fixed order: W_ih, W_hh, b_ih, b_hh.
std::vector<Tensor> params(nn::RNNBase& m) {
  return {m.weight_ih[0], m.weight_hh[0], m.bias_ih[0], m.bias_hh[0]};
}

/// The output and the flat parameter gradient of one step, as doubles.
std::pair<std::vector<double>, std::vector<double>> output_and_grad(nn::RNNBase& m, const Tensor& x) {
  const Tensor out = step(m, x);
  std::vector<double> g;
  for (const Tensor& p : params(m)) {
    std::vector<double> v = p.grad().to(kCPU).to_vector<double>();
    g.insert(g.end(), v.begin(), v.end());
  }
  return {out.to(kCPU).to_vector<double>(), g};
}

#ifdef NOVA_BENCH_HAVE_CUDNN

void cudnn_check(cudnnStatus_t st, const char* call) {
  if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(call) + ": " + cudnnGetErrorString(st));
}
#define CUDNN_CALL(expr) cudnn_check((expr), #expr)

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes) BENCH_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

/// One cuDNN RNN layer with its buffers, for one size; float32, x and y
/// time-major [T, B, .]. Throws std::runtime_error when cuDNN refuses it.
class CudnnRNN {
 public:
  CudnnRNN(cudnnHandle_t handle, bool lstm, const Size& s) : h_(handle), lstm_(lstm), s_(s), gates_(lstm ? 4 : 3) {}

  /// Descriptors and buffers for `algo` (separate from the constructor, so
  /// that the destructor frees what was made when cuDNN refuses midway).
  void init(cudnnRNNAlgo_t algo) {
    const int T = int(s_.steps), B = int(s_.batch), H = int(s_.hidden), I = int(s_.input);
    CUDNN_CALL(cudnnCreateDropoutDescriptor(&drop_));
    CUDNN_CALL(cudnnSetDropoutDescriptor(drop_, h_, 0.0f, nullptr, 0, 0));  // no dropout: no states
    CUDNN_CALL(cudnnCreateRNNDescriptor(&rnn_));
    CUDNN_CALL(cudnnSetRNNDescriptor_v8(rnn_, algo, lstm_ ? CUDNN_LSTM : CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
                                        CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
                                        CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, I, H, H, 1, drop_,
                                        CUDNN_RNN_PADDED_IO_DISABLED));
    if (algo == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) CUDNN_CALL(cudnnBuildRNNDynamic(h_, rnn_, B));
    const std::vector<int> lengths(B, T);
    CUDNN_CALL(cudnnCreateRNNDataDescriptor(&x_desc_));
    CUDNN_CALL(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                                         lengths.data(), nullptr));
    CUDNN_CALL(cudnnCreateRNNDataDescriptor(&y_desc_));
    CUDNN_CALL(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                                         lengths.data(), nullptr));
    CUDNN_CALL(cudnnCreateTensorDescriptor(&h_desc_));
    const int dims[3] = {1, B, H}, strides[3] = {B * H, H, 1};
    CUDNN_CALL(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, dims, strides));
    CUDNN_CALL(cudnnGetRNNWeightSpaceSize(h_, rnn_, &w_bytes_));
    CUDNN_CALL(cudnnGetRNNTempSpaceSizes(h_, rnn_, CUDNN_FWD_MODE_TRAINING, x_desc_, &ws_bytes_, &rs_bytes_));
    w_ = device_alloc(w_bytes_);
    dw_ = device_alloc(w_bytes_);
    ws_ = device_alloc(ws_bytes_);
    rs_ = device_alloc(rs_bytes_);
    x_ = static_cast<float*>(device_alloc(sizeof(float) * T * B * I));
    dx_ = static_cast<float*>(device_alloc(sizeof(float) * T * B * I));
    y_ = static_cast<float*>(device_alloc(sizeof(float) * T * B * H));
    dy_ = static_cast<float*>(device_alloc(sizeof(float) * T * B * H));
    seq_ = static_cast<int32_t*>(device_alloc(sizeof(int32_t) * B));
    const std::vector<float> dy(size_t(T) * B * H, 1.0f / float(double(T) * B * H));  // d mean(y) / dy
    BENCH_CUDA_CHECK(cudaMemcpy(dy_, dy.data(), sizeof(float) * dy.size(), cudaMemcpyHostToDevice));
    BENCH_CUDA_CHECK(cudaMemcpy(seq_, lengths.data(), sizeof(int32_t) * B, cudaMemcpyHostToDevice));
  }

  ~CudnnRNN() {
    for (void* p : {w_, dw_, ws_, rs_, static_cast<void*>(x_), static_cast<void*>(dx_), static_cast<void*>(y_),
                    static_cast<void*>(dy_), static_cast<void*>(seq_)})
      if (p) cudaFree(p);
    if (h_desc_) cudnnDestroyTensorDescriptor(h_desc_);
    if (x_desc_) cudnnDestroyRNNDataDescriptor(x_desc_);
    if (y_desc_) cudnnDestroyRNNDataDescriptor(y_desc_);
    if (rnn_) cudnnDestroyRNNDescriptor(rnn_);
    if (drop_) cudnnDestroyDropoutDescriptor(drop_);
  }
  CudnnRNN(const CudnnRNN&) = delete;
  CudnnRNN& operator=(const CudnnRNN&) = delete;

  /// Copies nova's weights (float32, on cuda:0) into cuDNN's weight space
  /// and x [T, B, I] into cuDNN's input.
  void load(nn::RNNBase& m, const Tensor& x) {
    // on nova's stream, behind the kernels that wrote the tensors
    cudaStream_t s = b::nova_stream(0);
    for_each_block(w_, params(m), [s](void* in_cudnn, float* in_nova, size_t n) {
      BENCH_CUDA_CHECK(cudaMemcpyAsync(in_cudnn, in_nova, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
    });
    const Tensor xc = x.contiguous();
    BENCH_CUDA_CHECK(cudaMemcpyAsync(x_, xc.raw_data(), sizeof(float) * xc.numel(), cudaMemcpyDeviceToDevice, s));
    BENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  }

  /// The training step, queued on the handle's stream.
  void train_step(cudaStream_t s) {
    const void* none = nullptr;
    CUDNN_CALL(cudnnRNNForward(h_, rnn_, CUDNN_FWD_MODE_TRAINING, seq_, x_desc_, x_, y_desc_, y_, h_desc_, none,
                               nullptr, h_desc_, none, nullptr, w_bytes_, w_, ws_bytes_, ws_, rs_bytes_, rs_));
    CUDNN_CALL(cudnnRNNBackwardData_v8(h_, rnn_, seq_, y_desc_, y_, dy_, x_desc_, dx_, h_desc_, none, none, nullptr,
                                       h_desc_, none, none, nullptr, w_bytes_, w_, ws_bytes_, ws_, rs_bytes_, rs_));
    BENCH_CUDA_CHECK(cudaMemsetAsync(dw_, 0, w_bytes_, s));  // zero_grad: cuDNN adds into dw
    CUDNN_CALL(cudnnRNNBackwardWeights_v8(h_, rnn_, CUDNN_WGRAD_MODE_ADD, seq_, x_desc_, x_, h_desc_, none, y_desc_,
                                          y_, w_bytes_, dw_, ws_bytes_, ws_, rs_bytes_, rs_));
  }

  /// The last step's output y [T, B, H].
  std::vector<double> output() const {
    std::vector<float> y(size_t(s_.steps) * s_.batch * s_.hidden);
    BENCH_CUDA_CHECK(cudaStreamSynchronize(b::nova_stream(0)));
    BENCH_CUDA_CHECK(cudaMemcpy(y.data(), y_, sizeof(float) * y.size(), cudaMemcpyDeviceToHost));
    return std::vector<double>(y.begin(), y.end());
  }

  /// The last step's weight gradients in nova's order (W_ih, W_hh, b_ih,
  /// b_hh, each in PyTorch's layout), as doubles.
  std::vector<double> weight_grad(nn::RNNBase& m) {
    std::vector<Tensor> flat;
    for (const Tensor& p : params(m)) flat.push_back(zeros(p.shape(), p.dtype(), p.device()));
    // the same walk as load(), from dw into nova-shaped tensors
    cudaStream_t s = b::nova_stream(0);
    for_each_block(dw_, flat, [s](void* in_cudnn, float* in_nova, size_t n) {
      BENCH_CUDA_CHECK(cudaMemcpyAsync(in_nova, in_cudnn, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
    });
    std::vector<double> g;
    for (const Tensor& f : flat) {
      std::vector<double> v = f.to(kCPU).to_vector<double>();
      g.insert(g.end(), v.begin(), v.end());
    }
    return g;
  }

 private:
  /// For every gate block of W_ih, W_hh, b_ih, b_hh: fn(its address in
  /// `space` (cuDNN's weight or gradient space), its address in p = {W_ih,
  /// W_hh, b_ih, b_hh} (nova's layout), elements). cuDNN's linear layer
  /// L < G is W_ih's gate L, L >= G W_hh's gate L - G, each [H, I or H]
  /// row-major with its bias [H].
  template <typename Fn>
  void for_each_block(void* space, const std::vector<Tensor>& p, Fn fn) {
    const int64_t H = s_.hidden;
    cudnnTensorDescriptor_t m_desc = nullptr, b_desc = nullptr;
    CUDNN_CALL(cudnnCreateTensorDescriptor(&m_desc));
    CUDNN_CALL(cudnnCreateTensorDescriptor(&b_desc));
    for (int L = 0; L < 2 * gates_; ++L) {
      const bool rec = L >= gates_;
      const int gate = rec ? L - gates_ : L;
      const int64_t cols = rec ? H : s_.input;
      void* m_addr = nullptr;
      void* b_addr = nullptr;
      CUDNN_CALL(cudnnGetRNNWeightParams(h_, rnn_, 0, w_bytes_, space, L, m_desc, &m_addr, b_desc, &b_addr));
      cudnnDataType_t dt;
      int nd = 0, dims[4] = {0, 0, 0, 0}, strides[4] = {0, 0, 0, 0};
      CUDNN_CALL(cudnnGetTensorNdDescriptor(m_desc, 4, &dt, &nd, dims, strides));
      int64_t n = 1;
      for (int d = 0; d < nd; ++d) n *= dims[d];
      if (n != H * cols || !m_addr || !b_addr)
        throw std::runtime_error(fmt::format("cudnnGetRNNWeightParams: linear layer {} has {} elements, expected {}",
                                             L, n, H * cols));
      float* w_nova = static_cast<float*>((rec ? p[1] : p[0]).raw_data()) + gate * H * cols;
      float* b_nova = static_cast<float*>((rec ? p[3] : p[2]).raw_data()) + gate * H;
      fn(m_addr, w_nova, size_t(H * cols));
      fn(b_addr, b_nova, size_t(H));
    }
    cudnnDestroyTensorDescriptor(m_desc);
    cudnnDestroyTensorDescriptor(b_desc);
  }

  cudnnHandle_t h_;
  bool lstm_;
  Size s_;
  int gates_;
  cudnnDropoutDescriptor_t drop_ = nullptr;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t h_desc_ = nullptr;
  size_t w_bytes_ = 0, ws_bytes_ = 0, rs_bytes_ = 0;
  void *w_ = nullptr, *dw_ = nullptr, *ws_ = nullptr, *rs_ = nullptr;
  float *x_ = nullptr, *dx_ = nullptr, *y_ = nullptr, *dy_ = nullptr;
  int32_t* seq_ = nullptr;
};

#endif  // NOVA_BENCH_HAVE_CUDNN

}  // namespace

int main(int argc, char** argv) {
  b::Args args = b::parse_args(argc, argv, "rnn_step_cuda");
  b::require_device("bench_rnn_step_cuda");
  try {
    const std::vector<Size> sizes = {
        {16, 100, 50, 1}, {16, 400, 118, 1}, {128, 100, 100, 10}, {128, 200, 42, 10}, {64, 100, 512, 10}};
    const Device dev = Device::cuda(0);
    cudaStream_t stream = b::nova_stream(0);
    b::Report rep("bench_rnn_step_cuda",
                  "GRU / LSTM training step on CUDA (forward, loss = mean(out), backward through time)",
                  "1 layer; (B, T, H, I) = (16, 100, 50, 1), (16, 400, 118, 1), (128, 100, 100, 10), "
                  "(128, 200, 42, 10), (64, 100, 512, 10)",
                  "float32", "float32, TF32 off (nova), CUDNN_FMA_MATH (cuDNN)", b::device_name());
#ifdef NOVA_BENCH_HAVE_CUDNN
    cudnnHandle_t handle = nullptr;
    CUDNN_CALL(cudnnCreate(&handle));
    CUDNN_CALL(cudnnSetStream(handle, stream));
#else
    rep.note("nova was built without cuDNN: no cuDNN rows; the ratio is per-step / persistent");
#endif
    for (const bool lstm : {false, true}) {
      const std::string model = lstm ? "lstm" : "gru";
      for (const Size& s : sizes) {
        const std::string name = label(model, s);
        auto m = make(lstm, s);
        m->to(dev);
        const Tensor x = randn({s.steps, s.batch, s.input}).to(dev);
        const bool persistent_ok =
            cuda::rnn_sequence_supported(lstm ? 4 : 3, s.hidden, s.batch, kFloat32, 0);
        nlohmann::json extra = {{"model", model}, {"batch", s.batch}, {"steps", s.steps}, {"hidden", s.hidden},
                                {"input", s.input}, {"persistent_limit_h",
                                                     cuda::rnn_sequence_max_hidden(lstm ? 4 : 3, kFloat32, 0)}};

        // ---- validate: persistent vs per-step, on the same weights and input ----
        set_persistent(false);
        const auto [out1, grad1] = output_and_grad(*m, x);
        if (persistent_ok) {
          set_persistent(true);
          const auto [out2, grad2] = output_and_grad(*m, x);
          if (!rep.validate("v2 nova persistent output " + name, b::rel_l2_error(out2, out1), 1e-4)) continue;
          if (!rep.validate("v2 nova persistent grad " + name, b::rel_l2_error(grad2, grad1), 1e-4)) continue;
        }

        // ---- v1 nova per-step ----
        set_persistent(false);
        const b::Timing t1 = b::time_cuda([&] { step(*m, x); }, args.warmup, args.iters, false);
        b::Timing t2;
        if (persistent_ok) {
          set_persistent(true);
          t2 = b::time_cuda([&] { step(*m, x); }, args.warmup, args.iters, false);
        } else {
          rep.note(name + ": H " + std::to_string(s.hidden) +
                   " is above the persistent kernels' limit: nova runs per-step (v1) there");
        }
        set_persistent(true);

        // ---- v0 cuDNN (and PERSIST_STATIC where cuDNN takes it) ----
        double baseline_ms = t1.median_ms;  // without cuDNN: per-step nova
#ifdef NOVA_BENCH_HAVE_CUDNN
        for (const bool persist : {false, true}) {
          const std::string tag = persist ? "v0p cudnn persist_static " : "v0 cudnn ";
          std::unique_ptr<CudnnRNN> c;
          try {
            c = std::make_unique<CudnnRNN>(handle, lstm, s);
            c->init(persist ? CUDNN_RNN_ALGO_PERSIST_STATIC : CUDNN_RNN_ALGO_STANDARD);
            c->load(*m, x);
            c->train_step(stream);
            BENCH_CUDA_CHECK(cudaStreamSynchronize(stream));
          } catch (const std::exception& e) {
            rep.note(tag + name + ": cuDNN refused (" + e.what() + "): no row");
            continue;
          }
          if (!rep.validate(tag + "output " + name, b::rel_l2_error(c->output(), out1), 1e-4)) continue;
          if (!rep.validate(tag + "grad " + name, b::rel_l2_error(c->weight_grad(*m), grad1), 1e-4)) continue;
          const b::Timing tc = b::time_cuda([&] { c->train_step(stream); }, args.warmup, args.iters, false);
          if (!persist) baseline_ms = tc.median_ms;
          rep.row(tag + name, tc, {{"ratio", baseline_ms / tc.median_ms}});
        }
#endif

        // ---- PyTorch on CUDA ----
        std::vector<std::string> notes;
        const nlohmann::json torch = b::run_torch_baseline(
            NOVA_BENCH_SOURCE_DIR "/rnn_step_torch_cuda.py",
            fmt::format("--model {} --batch {} --steps {} --hidden {} --input {} --iters {} --warmup {}", model,
                        s.batch, s.steps, s.hidden, s.input, args.iters, args.warmup),
            notes);
        for (const std::string& n : notes) rep.note(name + ": " + n);
        if (!torch.is_null())
          rep.row("torch cuda " + name, b::torch_timing(torch),
                  {{"torch", torch.value("torch", std::string("?"))},
                   {"ratio", baseline_ms / b::torch_timing(torch).median_ms}});

        nlohmann::json e1 = extra;
        e1["ratio"] = baseline_ms / t1.median_ms;
        rep.row("v1 nova per-step " + name, t1, e1);
        if (persistent_ok) {
          nlohmann::json e2 = extra;
          e2["ratio"] = baseline_ms / t2.median_ms;
          e2["ratio_of"] = "baseline (cuDNN standard, else nova per-step) median ms / this median ms";
          rep.row("v2 nova persistent " + name, t2, e2);
        }
      }
    }
#ifdef NOVA_BENCH_HAVE_CUDNN
    cudnnDestroy(handle);
#endif
    return rep.finish(args.json_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_rnn_step_cuda: %s\n", e.what());
    return 1;
  }
}
