// tests/test_graph_dot.cpp: autograd::to_dot (core/graph_dot.h): the nodes
// and edges of a small MLP's backward graph with its parameters' names, the
// output shapes, what each backward keeps ("saves x, weight"), grad_split colours (row-local, grouped
// rule, refused), a freed graph after backward, a create_graph gradient's
// double-backward graph, write_dot's file and error, and, op by op, the
// "saves ..." line of every kind of node that keeps tensors (and none on the
// nodes that keep nothing).
#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>

#include "core/grad_split.h"
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

/// The labels of the op boxes named `op` in `dot`: the text between the
/// quotes, its lines (name, shape, "saves ...") joined by DOT's two
/// characters backslash-n.
std::vector<std::string> op_labels(const std::string& dot, const std::string& op) {
  const std::string start = "[label=\"" + op + "\\n";
  std::vector<std::string> labels;
  for (size_t at = dot.find(start); at != std::string::npos; at = dot.find(start, at + 1)) {
    const size_t begin = at + 8;  // past [label="
    labels.push_back(dot.substr(begin, dot.find('"', begin) - begin));
  }
  return labels;
}

/// What a label says its node keeps: the text after "saves ", or "" when it
/// has no such line.
std::string saves_of(const std::string& label) {
  const std::string mark = "\\nsaves ";
  const size_t at = label.find(mark);
  return at == std::string::npos ? "" : label.substr(at + mark.size());
}

Tensor int64s(const std::vector<int64_t>& values, const Shape& shape) { return from_vector(values, shape); }

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
  REQUIRE(count(dot, "label=\"tanh\\n[3, 4]\\nsaves output\"") == 1);  // 1 - y^2 needs no x
  REQUIRE(count(dot, "label=\"square\\n[3, 1]\\nsaves x\"") == 1);
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

TEST_CASE("to_dot names what each node keeps, op by op, and no saves line where it keeps nothing", "[graph_dot]") {
  // one row per node kind: a small graph holding exactly one node of that
  // name, and what its backward keeps besides the output ("output" when it
  // reads the output too), in the op's own parameter names
  struct Case {
    const char* op;
    std::function<Tensor()> build;
    const char* saves;  // "" : no saves line
  };
  auto x23 = [] { return leaf({2, 3}); };
  auto positive = [] { return leaf({2, 3}, 0.5, 2.0); };
  auto image = [] { return leaf({1, 2, 5, 5}); };
  auto filter = [] { return leaf({3, 2, 3, 3}); };
  auto ce = [] { return ops::cross_entropy(leaf({3, 4}), int64s({0, 3, 1}, {3})); };
  const std::vector<Case> cases = {
      {"matmul", [] { return ops::matmul(leaf({2, 3}), leaf({3, 4})); }, "a, b"},
      {"linear", [] { return ops::linear(leaf({2, 3}), leaf({4, 3}), leaf({4})); }, "x, weight"},
      {"conv2d", [&] { return ops::conv2d(image(), filter()); }, "x, weight"},
      {"conv2d_fused",
       [&] { return ops::conv2d(image(), filter(), Conv2dArgs().activation(ConvActivation::relu)); },
       "x, weight, output"},
      {"conv_transpose2d", [] { return ops::conv_transpose2d(leaf({1, 3, 3, 3}), leaf({3, 2, 3, 3})); },
       "x, weight"},
      {"conv2d_backward_filter", [&] { return ops::conv2d_backward_filter(image(), leaf({1, 3, 3, 3}), {3, 2, 3, 3}); },
       "x, grad_y"},
      {"mul", [&] { return x23() * x23(); }, "a, b"},
      {"mul", [] { return ops::dropout(leaf({4, 4}), 0.5, true); }, "a, b"},  // x * mask: b is the dropout mask
      {"div", [&] { return x23() / positive(); }, "a, b"},
      {"pow", [&] { return ops::pow(positive(), x23()); }, "a, b, output"},
      {"maximum", [&] { return ops::maximum(x23(), x23()); }, "a, b"},
      {"where", [&] { return ops::where(ops::gt(uniform({2, 3}, -1, 1), 0.0), x23(), x23()); }, "cond"},
      // unary: the output alone where the derivative is written from it
      {"exp", [&] { return ops::exp(x23()); }, "output"},
      {"tanh", [&] { return ops::tanh(x23()); }, "output"},
      {"sigmoid", [&] { return ops::sigmoid(x23()); }, "output"},
      {"sqrt", [&] { return ops::sqrt(positive()); }, "output"},
      {"log", [&] { return ops::log(positive()); }, "x"},
      {"relu", [&] { return ops::relu(x23()); }, "x"},
      {"pow", [&] { return ops::pow(x23(), 3.0); }, "x"},
      {"square", [&] { return ops::square(x23()); }, "x"},
      {"abs", [&] { return ops::abs(x23()); }, "x"},
      {"clamp", [&] { return ops::clamp(x23(), -0.5, 0.5); }, "x"},
      {"softmax", [&] { return ops::softmax(x23(), 1); }, "output"},
      {"log_softmax", [&] { return ops::log_softmax(x23(), 1); }, "output"},
      {"log_softmax", ce, "output"},
      {"gather", ce, "index"},
      {"gather", [] { return ops::gather(leaf({2, 4}), 1, int64s({3, 0, 1, 1}, {2, 2})); }, "index"},
      {"index_select", [] { return ops::index_select(leaf({4, 3}), 0, int64s({2, 0}, {2})); }, "index"},
      {"index_add", [] { return ops::index_add(leaf({4, 3}), 0, int64s({2, 0}, {2}), leaf({2, 3})); }, "index"},
      {"scatter_add",
       [] { return ops::scatter_add(leaf({2, 4}), 1, int64s({3, 0, 1, 1}, {2, 2}), leaf({2, 2})); }, "index"},
      {"embedding", [] { return ops::embedding(leaf({6, 3}), int64s({1, 4, 4}, {3})); }, "indices"},
      {"layer_norm", [] { return ops::layer_norm(leaf({2, 5}), {5}, leaf({5}), leaf({5})); },
       "x, weight, mean, rstd"},
      {"batch_norm", [] { return ops::batch_norm(leaf({4, 3}), {}, {}, leaf({3}), leaf({3}), true); },
       "x, weight, mean, rstd"},
      {"batch_norm", [] { return ops::batch_norm(leaf({4, 3}), {}, {}, {}, {}, true); }, "x, mean, rstd"},
      {"batch_norm",
       [] {
         autograd::RowGroupsGuard groups({2, 2});
         return ops::batch_norm(leaf({4, 3}), {}, {}, leaf({3}), leaf({3}), true);
       },
       "x, weight, mean, rstd, group counts"},
      {"max", [&] { return ops::max(x23()); }, "x, output"},
      {"max", [&] { return ops::max(x23(), 1).values; }, "indices"},
      {"var", [&] { return ops::var(x23()); }, "x"},
      {"norm", [&] { return ops::norm(x23()); }, "x, output"},
      {"logsumexp", [&] { return ops::logsumexp(x23()); }, "x, output"},
      {"max_pool2d", [] { return ops::max_pool2d(leaf({1, 1, 4, 4}), 2); }, "indices"},
      {"solve", [] { return ops::solve(leaf({3, 3}) + eye(3, -1, kFloat64) * 4.0, leaf({3, 2})); }, "a, output"},
      {"inverse", [] { return ops::inverse(leaf({3, 3}) + eye(3, -1, kFloat64) * 4.0); }, "output"},
      {"segment_outer", [] { return ops::segment_outer(leaf({4, 2}), leaf({4, 3}), {1, 3}); }, "a, b"},
      {"gru_gates", [] { return ops::gru_gates(leaf({2, 9}), leaf({2, 9}), leaf({2, 3})); }, "gi, gh, h, gates"},
      {"lstm_gates", [] { return ops::lstm_gates(leaf({2, 12}), leaf({2, 12}), leaf({2, 3})).first; },
       "gi, gh, c, gates"},
      {"gru_recurrence", [] { return ops::gru_recurrence(leaf({2, 2, 9}), leaf({2, 3}), leaf({9, 3}), leaf({9})); },
       "gi, h0, w_hh, b_hh, per-step gates, output"},
      // nodes that keep no tensor: shapes, dims and scalars only
      {"add", [&] { return x23() + x23(); }, ""},
      {"add", [&] { return x23() + 1.0; }, ""},
      {"neg", [&] { return -x23(); }, ""},
      {"reshape", [&] { return ops::reshape(x23(), {6}); }, ""},
      {"sum", [&] { return ops::sum(x23(), {1}); }, ""},
      {"cat", [&] { return ops::cat({x23(), x23()}, 0); }, ""},
  };
  for (const Case& c : cases) {
    const std::string dot = autograd::to_dot({c.build()});
    INFO(c.op << " should save \"" << c.saves << "\"\n" << dot);
    const std::vector<std::string> labels = op_labels(dot, c.op);
    REQUIRE(labels.size() == 1);
    CHECK(saves_of(labels[0]) == c.saves);
  }
}
