#pragma once
/// \file
/// Keeping the ranks' copies of a model the same: checked at start-up, parameters broadcast from one
/// rank, batch-norm running statistics averaged (each rank normalises with its own part of the batch
/// in training, so their running statistics drift apart: average them at the end of every epoch).
///
///   dist::check_same_model(model);      // every rank: DistError naming the first difference
///   dist::broadcast_state(model);       // rank 0's parameters and buffers everywhere
///   ... an epoch ...
///   dist::average_buffers(model);
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nn/layers/module.hpp"

namespace tapegrad::dist {

/// Collective. Raises DistError on every rank when the ranks' parameters or buffers differ in count,
/// name, dtype or shape; the message names each differing rank and its first difference.
void check_same_model(const nn::Module& model);
/// Collective. The same check for any named tensors (`what` names them in the message).
void check_same_tensors(const nn::NamedTensors& tensors, std::string_view what);
/// Collective. The same check for any description, one line per entry (data set sizes, settings).
void check_same_lines(const std::vector<std::string>& lines, std::string_view what);

/// Collective. Copies rank root's parameter and buffer values to every rank.
void broadcast_state(nn::Module& model, int root = 0);
/// Collective. Copies rank root's values of these leaves to every rank.
void broadcast(std::span<Tensor> leaves, int root = 0);

/// Collective. Replaces each buffer by its mean over the ranks.
void average_buffers(nn::Module& model);

/// Collective. Sums values over the ranks, in place (losses, counts, confusion matrices).
void allreduce_sum(std::span<double> values);

}  // namespace tapegrad::dist
