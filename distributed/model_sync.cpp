#include "distributed/model_sync.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "autodiff/print.hpp"
#include "distributed/detail/mpi.hpp"
#include "distributed/environment.hpp"

namespace tapegrad::dist {

namespace {

using detail::check_mpi;

std::vector<std::string> describe(const nn::NamedTensors& tensors) {
  std::vector<std::string> lines;
  for (const auto& [name, t] : tensors)
    lines.push_back(fmt::format("'{}' {} {}", name, dtype_name(t.dtype()), t.shape()));
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + '\n';
  return text;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1)
    lines.push_back(text.substr(begin, end - begin));
  return lines;
}

/// Rank 0's text on every rank.
std::string broadcast_text(std::string text) {
  int64_t length = static_cast<int64_t>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(static_cast<size_t>(length));
  detail::for_each_chunk(length, [&](int64_t offset, int count) {
    check_mpi(MPI_Bcast(text.data() + offset, count, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  });
  return text;
}

/// Every rank's text on every rank.
std::vector<std::string> allgather_text(const std::string& mine) {
  const int n = size();
  const int length = static_cast<int>(std::min<size_t>(mine.size(), 4096));  // a short difference
  std::vector<int> lengths(static_cast<size_t>(n)), offsets(static_cast<size_t>(n));
  check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  int total = 0;
  for (int r = 0; r < n; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += lengths[static_cast<size_t>(r)];
  }
  std::string all(static_cast<size_t>(total), '\0');
  check_mpi(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                           MPI_COMM_WORLD),
            "MPI_Allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r)
    out.push_back(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]),
                             static_cast<size_t>(lengths[static_cast<size_t>(r)])));
  return out;
}

/// Every entry that differs from rank 0's (the first 8, then a count), or "" if none does.
std::string differences_from(const std::vector<std::string>& mine, const std::vector<std::string>& root) {
  if (mine.size() != root.size()) return fmt::format("{} entries there, {} on rank 0", mine.size(), root.size());
  constexpr int kShown = 8;
  std::string out;
  int found = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i] == root[i]) continue;
    if (found++ < kShown)
      out += fmt::format("{}entry {} is {} there and {} on rank 0", out.empty() ? "" : ", ", i, mine[i], root[i]);
  }
  if (found > kShown) out += fmt::format(", and {} more", found - kShown);
  return out;
}

}  // namespace

void check_same_tensors(const nn::NamedTensors& tensors, std::string_view what) {
  check_same_lines(describe(tensors), what);
}

void check_same_lines(const std::vector<std::string>& mine, std::string_view what) {
  for (const std::string& line : mine)
    if (line.find('\n') != std::string::npos)
      raise<ValueError>("check_same_lines: a line holds a newline (one entry per line): '{}'", line.substr(0, 80));
  const std::vector<std::string> root = split(broadcast_text(join(mine)));
  const std::vector<std::string> differences = allgather_text(differences_from(mine, root));
  std::string message;
  for (size_t r = 0; r < differences.size(); ++r)
    if (!differences[r].empty()) message += fmt::format("; rank {}: {}", r, differences[r]);
  if (!message.empty()) raise<DistError>("the ranks' {} differ{}", what, message);
}

void check_same_model(const nn::Module& model) {
  check_same_tensors(model.named_parameters(), "parameters (every rank must build the same model)");
  check_same_tensors(model.named_buffers(), "buffers (every rank must build the same model)");
}

void broadcast(std::span<Tensor> leaves, int root) {
  if (root < 0 || root >= size()) raise<DistError>("broadcast: rank {} does not exist ({} ranks)", root, size());
  for (Tensor& t : leaves) {
    detail::for_each_chunk(t.mutable_value(), [&](char* data, int count, MPI_Datatype type) {
      check_mpi(MPI_Bcast(data, count, type, root, MPI_COMM_WORLD), "MPI_Bcast");
    });
  }
}

void broadcast_state(nn::Module& model, int root) {
  std::vector<Tensor> parameters = model.parameters(), buffers = model.buffers();
  broadcast(parameters, root);
  broadcast(buffers, root);
}

void average_buffers(nn::Module& model) {
  const double scale = 1.0 / size();
  for (Tensor& t : model.buffers()) {
    Array& v = t.mutable_value();
    detail::for_each_chunk(v, [&](char* data, int count, MPI_Datatype type) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, count, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
    for (int64_t i = 0; i < v.numel(); ++i) v.set(i, v.at(i) * scale);
  }
}

void allreduce_sum(std::span<double> values) {
  detail::for_each_chunk(static_cast<int64_t>(values.size()), [&](int64_t offset, int count) {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + offset, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
  });
}

}  // namespace tapegrad::dist
