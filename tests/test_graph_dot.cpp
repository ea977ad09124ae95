// tests/test_graph_dot.cpp: autograd::to_dot (core/graph_dot.h): the nodes
// and edges of a small MLP's backward graph with its parameters' names, the
// output shapes, what each backward keeps ("saves x, weight"), grad_split colours (row-local, grouped
// rule, refused), a freed graph after backward, a create_graph gradient's
// double-backward graph, and write_dot's file and error.
#include <algorithm>
#include <fstream>
#include <regex>

#include "core/graph_dot.h"
#include "core/ops.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::shared_ptr<nn::Sequential> mlp() {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(2, 4), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(4, 1)});
}

}  // namespace

TEST_CASE("to_dot draws a small MLP's backward graph with named parameters and shapes", "[graph_dot]") {
  auto net = mlp();
  Tensor x = uniform({3, 2}, -1, 1);
  Tensor loss = ops::sum(ops::square((*net)(x)));
  autograd::DotOptions options;
  options.names = net->named_parameters();
  options.root_names = {"loss"};
  options.title = "an MLP";
  const std::string dot = autograd::to_dot({loss}, options);
  INFO(dot);
  REQUIRE(dot.rfind("digraph backward {", 0) == 0);
  REQUIRE(dot.back() == '\n');
  // ops: linear, tanh, linear, square, sum (a sum to [1, 1] and a reshape
  // to []), one box each; the four parameters (x needs no gradient, so it
  // is not drawn); the root
  REQUIRE(count(dot, "shape=box") == 6);
  REQUIRE(count(dot, "label=\"linear\\n[3, 4]\\nsaves x, weight\"") == 1);
  REQUIRE(count(dot, "label=\"linear\\n[3, 1]\\nsaves x, weight\"") == 1);
  REQUIRE(count(dot, "label=\"tanh\\n[3, 4]\\nsaves input, output\"") == 1);
  REQUIRE(count(dot, "label=\"square\\n[3, 1]\\nsaves input\"") == 1);
  REQUIRE(count(dot, "label=\"sum\\n[1, 1]\"") == 1);  // sum keeps nothing: its backward only expands
  REQUIRE(count(dot, "label=\"reshape\\n[]\"") == 1);
  for (const auto& [name, p] : net->named_parameters())
    REQUIRE(count(dot, "label=\"" + name + "\\n" + p.shape().str()) == 1);
  REQUIRE(count(dot, "shape=ellipse") == 4);
  REQUIRE(count(dot, "label=\"loss\\n[]\"") == 1);
  REQUIRE(count(dot, "label=\"an MLP\"") == 1);
  // edges: into the first linear its weight and bias (labelled 1 and 2; its
  // input x has none), into the second the tanh and two parameters; tanh <-
  // linear, square <- linear, sum <- square, reshape <- sum, root <- reshape: 10
  REQUIRE(count(dot, " -> ") == 10);
  REQUIRE(count(dot, "[label=\"1\"]") == 2);
  REQUIRE(count(dot, "[label=\"0\"]") == 1);  // the tanh into the second linear
  // after a backward without retain_graph the nodes are freed but still drawn
  loss.backward();
  const std::string after = autograd::to_dot({loss}, options);
  REQUIRE(count(after, "(freed)") == 6);
  REQUIRE(count(after, "saves ") == 0);
  REQUIRE(count(after, " -> ") == 10);
}

TEST_CASE("to_dot colours ops by what grad_split's fused path can do with them", "[graph_dot]") {
  Tensor w = uniform({4, 2}, -1, 1).requires_grad_();
  Tensor b = uniform({4}, -1, 1).requires_grad_();
  Tensor x = uniform({3, 2}, -1, 1);
  // linear: row-local with a grouped rule; tanh: row-local; the matmul of the
  // output with its own transpose mixes rows: refused
  Tensor h = ops::tanh(ops::linear(x, w, b));
  Tensor y = ops::sum(ops::matmul(h, h.t()));
  autograd::DotOptions options;
  options.grad_split_colours = true;
  const std::string dot = autograd::to_dot({y}, options);
  INFO(dot);
  const std::regex linear_box("label=\"linear[^;]*fillcolor=\"#b6cff4\"");
  const std::regex tanh_box("label=\"tanh[^;]*fillcolor=\"#c4ebc4\"");
  const std::regex matmul_box("label=\"matmul[^;]*fillcolor=\"#f4b6b6\"");
  REQUIRE(std::regex_search(dot, linear_box));
  REQUIRE(std::regex_search(dot, tanh_box));
  REQUIRE(std::regex_search(dot, matmul_box));
  REQUIRE(count(dot, "not row-local") >= 1);
  // without the option every op is grey
  REQUIRE(count(autograd::to_dot({y}), "#f2f2f2") == count(autograd::to_dot({y}), "shape=box"));
}

TEST_CASE("to_dot of a create_graph gradient shows the double-backward graph", "[graph_dot]") {
  Tensor x = uniform({5, 2}, -1, 1, kFloat64).requires_grad_();
  Tensor w = uniform({2, 3}, -1, 1, kFloat64).requires_grad_();
  Tensor out = ops::sum(ops::tanh(ops::matmul(x, w)));
  const Tensor gx = autograd::grad({out}, {x}, {}, /*create_graph=*/true)[0];
  Tensor penalty = ops::sum(ops::square(gx));
  autograd::DotOptions options;
  options.names = {{"x", x}, {"w", w}};
  const std::string dot = autograd::to_dot({penalty}, options);
  INFO(dot);
  // the gradient's graph is made of the backward's own ops (tanh's backward
  // multiplies by 1 - y^2, matmul's by w^T), and reaches both x and w
  REQUIRE(count(dot, "label=\"x\\n[5, 2]\"") == 1);
  REQUIRE(count(dot, "label=\"w\\n[2, 3]\"") == 1);
  REQUIRE(count(dot, "label=\"mul") >= 2);
  REQUIRE(count(dot, "label=\"matmul") >= 2);
  // a root with no graph is drawn alone
  const std::string alone = autograd::to_dot({ones({2})});
  REQUIRE(count(alone, "shape=doubleoctagon") == 1);
  REQUIRE(count(alone, " -> ") == 0);
}

TEST_CASE("write_dot writes the file and names a path it cannot write", "[graph_dot]") {
  Tensor w = uniform({2}, -1, 1).requires_grad_();
  Tensor y = ops::sum(w * 2.0);
  const std::string path = "test_graph_dot_out.dot";
  autograd::write_dot(path, {y});
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(text == autograd::to_dot({y}));
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(autograd::write_dot("/nonexistent-dir/g.dot", {y}),
                      Catch::Matchers::Contains("/nonexistent-dir/g.dot"));
}
