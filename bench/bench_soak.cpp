// bench/bench_soak.cpp: a long run of the 8-Gaussian GAN's training step
// (models::MixtureGanTraining, the aw D step and the G step) with memory
// sampled along the way: a leak, a cache that keeps growing or a per-step
// allocation that is never returned shows as a curve that climbs, long
// before a user's overnight run dies of it (issue 15, "Soak").
//
// Sampled every --sample-every steps: the resident set (VmRSS, from
// /proc/self/statm) and the CPU caching allocator's counters
// (kernels/cpu/allocator.h: bytes in use, bytes cached, blocks taken from
// the system). Pass: after the warm-up (the first 10% of the steps) the
// resident set stays within 5% of its first post-warm-up sample, and the
// allocator holds no more bytes in use or in its cache than it did then
// (a steady step reuses its blocks). The first and last samples are printed
// and every sample goes to the JSON.
//
// Command line: [--steps N] (100000) [--sample-every N] (steps / 100)
//   [--threads N] (1) [--aw 0|1|2] (1: Algorithm 1; 0: plain D step)
//   [--batch N] (64) [--json PATH] (bench-bench_soak.json)
// Exit codes: 0 pass, 1 a bound was broken or an error was thrown, 2 usage.
#include <omp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench/report.h"
#include "kernels/cpu/allocator.h"
#include "models/mixture_gan_training.h"

namespace b = nova::bench;
using namespace nova;

namespace {

struct Options {
  int64_t steps = 100000, sample_every = 0, threads = 1, batch = 64;
  int aw = 1;
  std::string json = "bench-bench_soak.json";
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_soak: %s\nusage: bench_soak [--steps N] [--sample-every N] [--threads N] [--aw 0|1|2] "
               "[--batch N] [--json PATH]\n",
               why);
  std::exit(2);
}

int64_t positive(const char* flag, const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) usage((std::string(flag) + " needs a positive integer").c_str());
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage((flag + " needs a value").c_str());
    const char* value = argv[++i];
    if (flag == "--steps") o.steps = positive("--steps", value);
    else if (flag == "--sample-every") o.sample_every = positive("--sample-every", value);
    else if (flag == "--threads") o.threads = positive("--threads", value);
    else if (flag == "--batch") o.batch = positive("--batch", value);
    else if (flag == "--json") o.json = value;
    else if (flag == "--aw") {
      const std::string v = value;
      if (v != "0" && v != "1" && v != "2") usage("--aw is 0, 1 or 2");
      o.aw = std::stoi(v);
    } else usage(("unknown option " + flag).c_str());
  }
  if (o.sample_every == 0) o.sample_every = std::max<int64_t>(1, o.steps / 100);
  return o;
}

struct Sample {
  int64_t step;
  double seconds;
  size_t rss, allocated, cached, system_allocs;
};

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * size_t(::sysconf(_SC_PAGESIZE));
}

Sample sample(int64_t step, double seconds) {
  const cpu::MemoryStats m = cpu::memory_stats();
  return {step, seconds, resident_bytes(), m.allocated, m.cached, m.system_allocs};
}

void print(const Sample& s) {
  std::printf("step %8lld  %8.1f s  rss %8.2f MiB  allocated %8.2f MiB  cached %8.2f MiB  system blocks %zu\n",
              static_cast<long long>(s.step), s.seconds, s.rss / 1048576.0, s.allocated / 1048576.0,
              s.cached / 1048576.0, s.system_allocs);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  omp_set_num_threads(int(o.threads));
  b::Report report("bench_soak", "8-Gaussian GAN training step (models::MixtureGanTraining)",
                   fmt::format("batch {}, {} steps", o.batch, o.steps), "float32", "default",
                   b::cpu_name() + fmt::format(", {} OpenMP threads", o.threads));
  models::MixtureGanTrainingOptions options;
  options.d_step.objective = nn::parse_gan_objective("bce");
  options.aw_algorithm = o.aw;
  options.batch = o.batch;
  models::MixtureGanTraining training(options, 0);

  const int64_t warmup = std::max<int64_t>(1, o.steps / 10);
  std::vector<Sample> samples;
  std::vector<double> ms_per_step;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  double last_t = 0;
  int64_t last_step = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    training.step();
    if (step % o.sample_every == 0 || step == o.steps || step == warmup) {
      const double t = seconds();
      samples.push_back(sample(step, t));
      if (step > warmup) ms_per_step.push_back((t - last_t) * 1000 / double(step - last_step));
      last_t = t;
      last_step = step;
    }
  }

  // the first sample at or after the warm-up is the reference
  const Sample* ref = nullptr;
  for (const Sample& s : samples)
    if (s.step >= warmup) {
      ref = &s;
      break;
    }
  const Sample& last = samples.back();
  print(samples.front());
  if (ref != &samples.front()) print(*ref);
  if (&last != ref) print(last);
  size_t max_rss = 0;
  for (const Sample& s : samples)
    if (s.step >= ref->step) max_rss = std::max(max_rss, s.rss);
  const double rss_growth = double(max_rss) / double(ref->rss) - 1;
  const bool rss_ok = rss_growth <= 0.05;
  // Blocks under the allocator's caching size go to malloc every time (by
  // design, kernels/cpu/allocator.h), so system_allocs counts up at a steady
  // rate; what must not grow is what is held: bytes in use and bytes cached.
  const bool cache_ok = last.allocated <= ref->allocated && last.cached <= ref->cached;
  const double allocs_per_step = double(last.system_allocs - ref->system_allocs) / double(last.step - ref->step);
  report.note(fmt::format("after warm-up (step {}): resident set max {:.2f} MiB vs {:.2f} MiB at step {} "
                          "({:+.2f}%, bound +5%): {}",
                          warmup, max_rss / 1048576.0, ref->rss / 1048576.0, ref->step, 100 * rss_growth,
                          rss_ok ? "flat" : "GREW"));
  report.note(fmt::format("allocator: in use {:.2f} -> {:.2f} MiB, cached {:.2f} -> {:.2f} MiB: {}; "
                          "{:.1f} uncached small blocks from malloc per step",
                          ref->allocated / 1048576.0, last.allocated / 1048576.0, ref->cached / 1048576.0,
                          last.cached / 1048576.0, cache_ok ? "no growth" : "GREW",
                          last.step > ref->step ? allocs_per_step : 0.0));
  if (!rss_ok || !cache_ok) report.set_failed();
  if (!ms_per_step.empty()) report.row("step (after warm-up)", b::summarize(ms_per_step, false));

  nlohmann::json js = nlohmann::json::array();
  for (const Sample& s : samples)
    js.push_back({{"step", s.step},
                  {"seconds", s.seconds},
                  {"rss_bytes", s.rss},
                  {"allocated_bytes", s.allocated},
                  {"cached_bytes", s.cached},
                  {"system_allocs", s.system_allocs}});
  report.doc()["samples"] = js;
  report.doc()["warmup_steps"] = warmup;
  return report.finish(o.json);
}
