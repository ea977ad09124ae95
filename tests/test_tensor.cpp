// tests/test_tensor.cpp: the Tensor handle: metadata, factories, views sharing
// storage, conversions, printing.
#include "tests/test_util.h"

using namespace nova;

TEST_CASE("factories make the documented values", "[tensor]") {
  REQUIRE(zeros({2, 3}).to_vector<float>() == std::vector<float>(6, 0.f));
  REQUIRE(ones({4}, kFloat64).to_vector<double>() == std::vector<double>(4, 1.0));
  REQUIRE(full({2}, 7.5).to_vector<float>() == std::vector<float>{7.5f, 7.5f});
  REQUIRE(arange(4).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3});
  REQUIRE(arange(1.0, 2.0, 0.25).to_vector<float>() == std::vector<float>{1, 1.25, 1.5, 1.75});
  REQUIRE(linspace(0, 1, 5, kFloat64).to_vector<double>() == std::vector<double>{0, .25, .5, .75, 1});
  REQUIRE(eye(2, 3).to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0});
  Tensor v = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(v.dtype() == kFloat64);
  REQUIRE(v.shape() == Shape{2, 3});
}

TEST_CASE("item needs exactly one element", "[tensor]") {
  REQUIRE(scalar_tensor(3.0).item() == 3.0);
  REQUIRE_THROWS_NOVA(zeros({2}).item(), "item: expected a tensor with one element");
}

TEST_CASE("views share storage with their base", "[tensor][views]") {
  Tensor base = arange(0.0, 12.0, 1.0, kFloat64).reshape({3, 4});
  Tensor t = base.transpose(0, 1);
  REQUIRE(t.shape() == Shape{4, 3});
  REQUIRE_FALSE(t.is_contiguous());
  REQUIRE(t.storage() == base.storage());
  Tensor row = base.select(0, 1);
  REQUIRE(row.to_vector<double>() == std::vector<double>{4, 5, 6, 7});
  row.fill_(-1);
  REQUIRE(base.to_vector<double>()[5] == -1);
  Tensor c = t.contiguous();
  REQUIRE(c.is_contiguous());
  REQUIRE(c.storage() != base.storage());
  REQUIRE(c.to_vector<double>()[1] == -1);  // c[0][1] = t[0][1] = base[1][0]
}

TEST_CASE("to(dtype) converts values", "[tensor]") {
  Tensor x = from_vector<float>({1.5f, -2.5f, 3.f});
  REQUIRE(x.to(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  REQUIRE(x.to(kFloat64).dtype() == kFloat64);
  REQUIRE(x.to(kBool).to_vector<bool>() == std::vector<bool>{true, true, true});
}

TEST_CASE("printing shows shape, dtype, device and values", "[tensor]") {
  std::string s = from_vector<float>({1, 2, 3, 4}, {2, 2}).str();
  REQUIRE_THAT(s, Catch::Matchers::Contains("shape=[2, 2]"));
  REQUIRE_THAT(s, Catch::Matchers::Contains("dtype=float32"));
  REQUIRE_THAT(s, Catch::Matchers::Contains("device=cpu"));
  REQUIRE_THAT(s, Catch::Matchers::Contains("[[1, 2],\n [3, 4]]"));
  std::string big = zeros({5000}).str();
  REQUIRE_THAT(big, Catch::Matchers::Contains("..."));
  REQUIRE(big.size() < 200);
}

TEST_CASE("cuda tensors report a clear error without the CUDA backend", "[tensor][device]") {
  REQUIRE(Device::parse("cuda:1") == Device::cuda(1));
  REQUIRE_THROWS_NOVA(Device::parse("gpu"), "device: expected");
  if (!cuda_is_available()) REQUIRE_THROWS_AS(zeros({2}, kFloat32, Device::cuda(0)), Error);
}

TEST_CASE("set_data rebinds a tensor to other memory and keeps its autograd identity", "[tensor]") {
  Tensor p = from_vector<double>({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor handle = p;  // a second handle, as a module member and an optimizer list hold
  Tensor g = ones({2, 2}, kFloat64);
  p.set_grad(g);
  Tensor buffer = arange(0.0, 10.0, 1.0, kFloat64);
  p.set_data(buffer.narrow(0, 3, 4).view({2, 2}));
  REQUIRE(handle.storage() == buffer.storage());
  REQUIRE(handle.offset() == 3);
  REQUIRE(handle.to_vector<double>() == std::vector<double>{3, 4, 5, 6});
  REQUIRE(handle.requires_grad());
  REQUIRE(handle.is_leaf());
  REQUIRE(handle.grad().impl() == g.impl());
  {
    NoGradGuard no_grad;
    handle.fill_(-1);  // writes land in the buffer
  }
  REQUIRE(buffer.to_vector<double>()[4] == -1);
  // strides, dtype and device come with the memory: a transposed float32 source
  Tensor t = from_vector<float>({1, 2, 3, 4}, {2, 2}).t();
  p.set_data(t);
  REQUIRE(p.dtype() == kFloat32);
  REQUIRE_FALSE(p.is_contiguous());
  REQUIRE(p.to_vector<float>() == std::vector<float>{1, 3, 2, 4});
  REQUIRE_THROWS_NOVA(p.set_data(zeros({4})), "set_data: source must have this tensor's shape [2, 2], got [4]");
  REQUIRE_THROWS_NOVA(p.set_data(Tensor()), "set_data: source is an undefined tensor");
}

TEST_CASE("storage_view is a 1-D window on the storage, whatever the tensor's own view", "[tensor]") {
  Tensor base = arange(0.0, 12.0, 1.0, kFloat64);
  Tensor middle = base.narrow(0, 4, 2);  // offset 4
  Tensor w = middle.storage_view(2, 5);  // storage elements [2, 7), not middle's
  REQUIRE(w.shape() == Shape{5});
  REQUIRE(w.storage() == base.storage());
  REQUIRE(w.offset() == 2);
  REQUIRE(w.to_vector<double>() == std::vector<double>{2, 3, 4, 5, 6});
  REQUIRE_FALSE(w.requires_grad());
  REQUIRE(base.storage_view(0, 12).to_vector<double>() == base.to_vector<double>());
  REQUIRE_THROWS_NOVA(base.storage_view(8, 5), "storage_view: elements [8, 13) are outside the storage of 12");
  REQUIRE_THROWS_NOVA(base.storage_view(-1, 2), "outside the storage");
}

// add_ writes in place when that is safe (a dense target, the addend in other
// memory) and otherwise adds into a new tensor and copies back; both give
// a + b, and the in-place path keeps the target's memory.
TEST_CASE("add_ adds in place, with broadcasting, and survives an addend that overlaps the target", "[tensor]") {
  Tensor a = uniform({4, 3}, -1.0, 1.0, kFloat64);
  Tensor b = uniform({3}, -1.0, 1.0, kFloat64);
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  const void* before = a.raw_data();
  a.add_(b);  // in place, b broadcast over the rows
  REQUIRE(a.raw_data() == before);
  auto out = a.to_vector<double>();
  for (int i = 0; i < 12; ++i) REQUIRE(out[i] == av[i] + bv[i % 3]);
  a.add_(b, -2.0);
  out = a.to_vector<double>();
  for (int i = 0; i < 12; ++i) REQUIRE(out[i] == (av[i] + bv[i % 3]) + (-2.0 * bv[i % 3]));

  // the addend is the target's own memory, shifted by one row: an in-place
  // pass would read rows it has already changed
  Tensor c = arange(0.0, 12.0, 1.0, kFloat64).reshape({4, 3});
  Tensor top = c.narrow(0, 1, 3), below = c.narrow(0, 0, 3);
  top.add_(below);  // rows 1..3 += rows 0..2 as they were before
  REQUIRE(c.to_vector<double>() == std::vector<double>{0, 1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 19});

  // a strided (non-dense) target takes the copy-back path
  Tensor d = zeros({3, 4}, kFloat64);
  Tensor dt = d.t();
  dt.add_(ones({4, 3}, kFloat64));
  REQUIRE(d.sum().item<double>() == 12.0);
}
