#pragma once
/// \file
/// tapegrad: reverse-mode automatic differentiation on a linear tape.
///
/// \code{.cpp}
/// #include <autodiff/autodiff.hpp>
/// tapegrad::Tape tape;                          // this thread's active tape from here on
/// tapegrad::Var x = 1.5, y = -0.5;              // leaves
/// tapegrad::Var f = sin(x) * y + exp(x / y);    // one tape statement
/// f.backward();                                 // one reverse sweep
/// double dfdx = x.grad(), dfdy = y.grad();
/// tape.clear();                                 // capacity kept; f is stale now
///
/// std::mt19937_64 rng(0);
/// auto w = tapegrad::Tensor::randn({3, 2}, rng).requires_grad(true);   // a parameter (leaf)
/// tapegrad::Tensor x_batch = tapegrad::Tensor::randn({8, 3}, rng);
/// tapegrad::Tensor loss = mean(square(matmul(x_batch, w)));
/// loss.backward();                              // w.grad() now holds dloss/dw
/// w.zero_grad();
///
/// auto check = tapegrad::gradcheck([](std::span<const tapegrad::Var> v) { return v[0] * v[1]; }, {2.0, 3.0});
/// \endcode
///
/// Errors are exceptions derived from tapegrad::Error (ShapeError, TapeError, ValueError,
/// NumericError) whose messages name the op and the shapes involved.
#include "autodiff/array.hpp"
#include "autodiff/error.hpp"
#include "autodiff/grad_mode.hpp"
#include "autodiff/gradcheck.hpp"
#include "autodiff/higher_order.hpp"
#include "autodiff/op.hpp"  // OpRecord, BackwardContext: writing your own ops
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "autodiff/ops/softmax.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/print.hpp"
#include "autodiff/reverse.hpp"  // math::reverse_gradient: reverse mode over any number type (nesting)
#include "autodiff/shape.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/threads.hpp"
#include "autodiff/var.hpp"
