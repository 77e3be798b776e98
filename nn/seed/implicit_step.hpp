#pragma once
/// \file
/// Implicit SGD (seed section 5.1) on a seed network's minibatch: the general tape solver
/// (optim::ImplicitSGD), or the closed form where the network is one linear neuron.
#include <span>

#include "autodiff/array.hpp"
#include "nn/optim/implicit_sgd.hpp"
#include "nn/seed/seed_model.hpp"

namespace tapegrad::nn::optim {

/// Implicit SGD on a seed network's minibatch (keep a drawn dropout mask fixed across the step).
/// Refuses seed-mode batch norm: its update field is not the gradient of any function, so the
/// proximal objective does not exist (NOTES-seed.md b.3). A network that is one identity neuron
/// with squared loss and no dropout takes the closed form; anything else the tape solver.
ImplicitStepReport implicit_step(SeedModel& model, const Array& x, std::span<const double> targets, LossKind kind,
                                 Reduction reduction, const ImplicitSGDOptions& options);

}  // namespace tapegrad::nn::optim
