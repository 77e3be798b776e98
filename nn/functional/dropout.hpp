#pragma once
/// \file
/// Dropout of units and of connections.
///  - dropout: each element kept with probability 1 - p and scaled by 1 / (1 - p) in training
///    (inverted dropout, Srivastava et al.), so evaluation is the identity.
///  - DropConnect (seed eq. 10-14): each connection w_kl is kept with probability p_kl (r_kl ~
///    Bernoulli(p_kl), eq. 10) and psi uses w_kl r_kl (eq. 11); evaluation uses w_kl p_kl (eq. 14).
///    Note the seed's p is a keep probability and its training pass is not rescaled.
#include <random>

#include "autodiff/tensor.hpp"
#include "nn/functional/random.hpp"

namespace tapegrad::nn {

/// Inverted dropout with drop probability p in [0, 1): one fused op whose mask is drawn from rng.
Tensor dropout(const Tensor& x, double p, std::mt19937_64& rng);
/// Channel dropout (PyTorch's dropout2d): every [height, width] plane of x ([batch, channels,
/// height, width] or [channels, height, width]) zeroed with probability p, the rest scaled by
/// 1 / (1 - p).
Tensor dropout2d(const Tensor& x, double p, std::mt19937_64& rng);

/// Fills mask (its shape and dtype kept) with r ~ Bernoulli(keep) (eq. 10).
void draw_bernoulli(Array& mask, double keep, std::mt19937_64& rng);

/// linear with DropConnect (eq. 11): weight [out, in] times mask, where mask is [out, in] (one mask
/// for the minibatch, the seed's choice) or [m, out, in] (one per example, x must be [m, in]).
Tensor dropconnect_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mask);

}  // namespace tapegrad::nn
