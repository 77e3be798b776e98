#pragma once
/// \file
/// Checkpoints: a module's parameters and buffers, an optimizer's state and any extra named arrays,
/// in a versioned little-endian binary format with a CRC32 (format in docs/checkpoints.md).
/// Saving is atomic (nn/io/atomic_file.hpp). Loading checks magic, version, checksum, every
/// length, and then every name, shape and dtype against the model and optimizer, saying what does
/// not match; nothing is changed unless everything matches.
#include <string>
#include <string_view>

#include "nn/layers/module.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapegrad::nn {

using optim::NamedArrays;

/// Saves the model's parameters and buffers, the optimizer's state and `extra` arrays to `path`
/// atomically (a crash leaves the old file).
void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer& optimizer,
                     const NamedArrays& extra = {});
/// The model alone (its parameters and buffers).
void save_checkpoint(const std::string& path, const Module& model);

/// Restores model and optimizer from `path`, validating every entry's name, shape and dtype first
/// (ValueError naming the first mismatch; nothing changes unless all match). `extra`, if given, receives the extra
/// arrays that were saved.
void load_checkpoint(const std::string& path, Module& model, optim::Optimizer& optimizer, NamedArrays* extra = nullptr);
/// The model alone.
void load_checkpoint(const std::string& path, Module& model);

/// Every entry of a checkpoint file ("model/0.weight", "optim/exp_avg.0", "extra/epoch", ...),
/// fully validated.
NamedArrays read_checkpoint(const std::string& path);

/// The format itself, in memory: `checkpoint_from_bytes(checkpoint_to_bytes(e), name) == e`, and
/// any other bytes give a ValueError that starts with `name` (what the fuzzer checks).
std::string checkpoint_to_bytes(const NamedArrays& entries);
/// Parses checkpoint bytes (ValueError starting with `name` unless valid).
NamedArrays checkpoint_from_bytes(std::string_view bytes, const std::string& name);

}  // namespace tapegrad::nn
