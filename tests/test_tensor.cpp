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
