#pragma once
/// \file
/// Saving and loading a Network as JSON (format in docs/seed-networks.md, "Network files"). Loading validates
/// everything and throws ValueError saying what is wrong and where; nothing is half-loaded.
#include <string>
#include <string_view>

#include "nn/seed/network.hpp"

namespace tapegrad::nn {

/// The network as JSON text (the format load_network reads).
std::string to_json(const Network& net);
/// Parses and validates; the result is finalized.
Network network_from_json(std::string_view text);

/// Reads and parses a network file (ValueError naming the file and the problem).
Network load_network(const std::string& path);
/// Writes the network's JSON to `path` atomically.
void save_network(const Network& net, const std::string& path);

}  // namespace tapegrad::nn
