#include <autodiff/autodiff.hpp>
#include <cstdio>
#include <nn/nn.hpp>

int main() {
  tapegrad::Tape tape;
  tapegrad::Var x = 1.5, y = -0.5;
  tapegrad::Var f = sin(x) * y + exp(x / y);
  f.backward();
  std::printf("f = %.6f dfdx = %.6f dfdy = %.6f\n", f.value(), x.grad(), y.grad());
}
