// tests/consumer/first_program.cpp: the README's "A first program", verbatim
// below this comment (tools/check-install.sh compares the two), built by
// tests/consumer/CMakeLists.txt against an installed nova to prove it true.

#include <iostream>

#include "core/ops.h"
#include "core/autograd.h"

using namespace nova;

int main() {
  Tensor w = randn({3, 2}).requires_grad_();       // a leaf
  Tensor x = randn({8, 3});
  Tensor loss = ops::mean(ops::tanh(ops::matmul(x, w)).pow(2.0));
  loss.backward();                                  // fills w.grad()
  std::cout << w.grad() << "\n";

  // higher order: the gradient of a gradient norm (WGAN-GP style)
  Tensor xi = randn({8, 3}).requires_grad_();
  Tensor f = ops::sum(ops::tanh(ops::matmul(xi, w)));
  Tensor gx = autograd::grad({f}, {xi}, {}, /*create_graph=*/true)[0];
  ops::mean(ops::square(gx)).backward();           // d/dw of ||df/dx||^2
}
