#pragma once
/// \file
/// tapegrad::nn: the whole public nn API.
///   functional/  losses, activations, batch_norm (seed | full), dropout and DropConnect, linear
///   layers/      Module, Linear, DropConnect, Sequential, BatchNorm1d, Dropout, activations
///   optim/       Optimizer, SGD, Adam, AdamW, RMSProp, schedules, implicit SGD
///   seed/        Network, JSON/DOT, SeedModel (a Module)
///   reference/   hand-derived backprop without the tape
///   data/        IDX reader, datasets, loader
///   io/          checkpoints, atomic file writes
#include "nn/data/dataset.hpp"
#include "nn/data/idx.hpp"
#include "nn/data/loader.hpp"
#include "nn/functional/activation.hpp"
#include "nn/functional/batch_norm.hpp"
#include "nn/functional/conv.hpp"
#include "nn/functional/conv_kernels.hpp"
#include "nn/functional/dropout.hpp"
#include "nn/functional/layer_norm.hpp"
#include "nn/functional/linear.hpp"
#include "nn/functional/loss.hpp"
#include "nn/functional/options.hpp"
#include "nn/functional/pool.hpp"
#include "nn/functional/pool_kernels.hpp"
#include "nn/functional/random.hpp"
#include "nn/functional/recurrent.hpp"
#include "nn/gradcheck.hpp"
#include "nn/higher_order.hpp"
#include "nn/io/atomic_file.hpp"
#include "nn/io/checkpoint.hpp"
#include "nn/layers/activations.hpp"
#include "nn/layers/batch_norm.hpp"
#include "nn/layers/conv.hpp"
#include "nn/layers/dropout.hpp"
#include "nn/layers/embedding.hpp"
#include "nn/layers/layer_norm.hpp"
#include "nn/layers/linear.hpp"
#include "nn/layers/module.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/recurrent.hpp"
#include "nn/layers/sequential.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/implicit_sgd.hpp"
#include "nn/optim/optimizer.hpp"
#include "nn/optim/rmsprop.hpp"
#include "nn/optim/schedule.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/reference/backprop.hpp"
#include "nn/seed/implicit_step.hpp"
#include "nn/seed/network.hpp"
#include "nn/seed/network_json.hpp"
#include "nn/seed/seed_model.hpp"
