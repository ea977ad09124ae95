// core/profile_events.h: how KernelRun (core/trace.h) and profile::Scope
// hand their events to a running profile::Profiler. Internal to core/: user
// code reads a profile through Profiler (core/profile.h).
#pragma once

#include <cstdint>
#include <string>

namespace nova::profile::detail {

/// True while a Profiler runs (one load).
bool recording();

/// One kernel call: its op, which kernel, start (trace::now_ns), duration
/// and self time (the duration less the runs nested in it) in ns, bytes
/// read and written, floating-point operations (0: unknown). The user scope
/// is the calling thread's current one.
void record_kernel(const char* op, const char* kernel, int64_t start_ns, int64_t duration_ns, int64_t self_ns,
                   double bytes, double flops);

/// A CUDA timing mark queued on `device`'s stream now (an event from the
/// profiler's pool, kernels/cuda/runtime.h). A CUDA op takes one before its
/// kernels and one after and hands both to record_cuda_span.
void* cuda_mark(int device);
/// The GPU time of op's kernels between two marks, resolved (waited for)
/// when the profiler stops, so that timing never serialises the GPU.
void record_cuda_span(const char* op, void* start, void* end);

/// One closed profile::Scope: its path ("D step/forward"), start, duration.
void record_scope(const std::string& path, int64_t start_ns, int64_t duration_ns);

}  // namespace nova::profile::detail
