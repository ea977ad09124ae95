// datasets/synthetic_interactions.cpp: the generator of
// synthetic_interactions.h (its process is written there). A draw within a
// theme walks the theme's ~I/M items once, so a default dataset (4000 users,
// ~160k interactions, 25 items a theme) takes about 10 ms.
#include "datasets/synthetic_interactions.h"

#include <cmath>
#include <random>

#include "core/base/error.h"

namespace nova::datasets {

namespace {

// A double uniform in [0, 1) from the top 53 bits of one draw.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// An item of `members` (one theme, in dealing order) drawn by weight among
// those `had` does not mark; from all of them when it marks every one.
int64_t draw_from_theme(const std::vector<int64_t>& members, const std::vector<double>& weight,
                        const std::vector<char>& had, std::mt19937_64& rng) {
  double total = 0;
  for (int64_t item : members)
    if (!had[size_t(item)]) total += weight[size_t(item)];
  const bool all = total == 0;
  if (all)
    for (int64_t item : members) total += weight[size_t(item)];
  double x = uniform01(rng) * total;
  int64_t last = members.front();
  for (int64_t item : members) {
    if (!all && had[size_t(item)]) continue;
    last = item;
    x -= weight[size_t(item)];
    if (x < 0) return item;
  }
  return last;  // x landed on the rounding error at the very end
}

}  // namespace

SyntheticInteractions synthetic_interactions(const SyntheticInteractionOptions& o) {
  const char* op = "synthetic_interactions";
  NOVA_CHECK(o.users >= 1, "{}: users must be >= 1, got {}", op, o.users);
  NOVA_CHECK(o.themes >= 1 && o.items >= o.themes, "{}: need themes >= 1 and items >= themes, got {} items, {} themes",
             op, o.items, o.themes);
  NOVA_CHECK(2 <= o.min_length && o.min_length <= o.max_length,
             "{}: need 2 <= min_length <= max_length, got {} and {}", op, o.min_length, o.max_length);
  NOVA_CHECK(o.noise >= 0 && o.noise <= 1, "{}: noise must be in [0, 1], got {}", op, o.noise);
  NOVA_CHECK(o.zipf_exponent >= 0, "{}: zipf_exponent must be >= 0, got {}", op, o.zipf_exponent);

  std::mt19937_64 rng(o.seed);
  SyntheticInteractions d;
  const int64_t M = o.themes, num_items = o.items + 1;
  d.themes = M;
  d.theme.assign(size_t(num_items), -1);
  d.weight.assign(size_t(num_items), 0.0);

  // items dealt to themes in a random order; the j-th of a theme weighs (j+1)^-s
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(M));
  const std::vector<int64_t> deal = shuffled_order(o.items, rng);
  for (size_t p = 0; p < deal.size(); ++p) {
    const int64_t item = deal[p] + 1;
    std::vector<int64_t>& theme = members[p % size_t(M)];
    d.theme[size_t(item)] = static_cast<int64_t>(p % size_t(M));
    d.weight[size_t(item)] = std::pow(static_cast<double>(theme.size() + 1), -o.zipf_exponent);
    theme.push_back(item);
  }
  for (const std::vector<int64_t>& theme : members) {
    double total = 0;
    for (int64_t item : theme) total += d.weight[size_t(item)];
    for (int64_t item : theme) d.weight[size_t(item)] /= total;
  }

  UserHistories& h = d.histories;
  h.num_items = num_items;
  h.items.resize(size_t(o.users));
  std::vector<char> had(size_t(num_items), 0);
  for (int64_t u = 0; u < o.users; ++u) {
    h.user_ids.push_back(u);
    const int64_t n = o.min_length + static_cast<int64_t>(uniform_below(rng, uint64_t(o.max_length - o.min_length + 1)));
    std::vector<int64_t>& seq = h.items[size_t(u)];
    for (int64_t t = 0; t < n; ++t) {
      const bool background = t < 2 || uniform01(rng) < o.noise;
      const int64_t theme = background ? static_cast<int64_t>(uniform_below(rng, uint64_t(M)))
                                       : synthetic_next_theme(d, seq[size_t(t - 2)], seq[size_t(t - 1)]);
      const int64_t item = draw_from_theme(members[size_t(theme)], d.weight, had, rng);
      had[size_t(item)] = 1;
      seq.push_back(item);
    }
    for (int64_t item : seq) had[size_t(item)] = 0;
  }
  h.item_ids.resize(size_t(num_items));
  for (int64_t i = 0; i < num_items; ++i) h.item_ids[size_t(i)] = i == 0 ? -1 : i;
  return d;
}

int64_t synthetic_next_theme(const SyntheticInteractions& d, int64_t a, int64_t b) {
  const auto n = static_cast<int64_t>(d.theme.size());
  NOVA_CHECK(a >= 1 && a < n && b >= 1 && b < n, "synthetic_next_theme: items must be in 1..{}, got {} and {}", n - 1,
             a, b);
  const int64_t M = d.themes;
  return ((2 * d.theme[size_t(b)] - d.theme[size_t(a)]) % M + M) % M;
}

}  // namespace nova::datasets
