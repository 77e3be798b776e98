#pragma once
/// \file
/// Image-classification data sets held in memory: images as rows of float32 or float64 values in
/// [0, 1] (optionally normalised), labels as class indices.
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/array.hpp"

namespace tapegrad::nn {

/// A labelled image data set in memory: images flattened to rows.
struct Dataset {
  Array images;                 ///< [n, features]
  std::vector<int64_t> labels;  ///< n class indices
  Shape image_shape;            ///< e.g. [28, 28]
  /// Number of examples.
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  /// Pixels per example (0 for an empty set).
  int64_t features() const { return images.rank() == 2 ? images.shape()[1] : 0; }
  /// 1 + the largest label (0 for an empty set).
  int64_t num_classes() const;
};

/// Which part of an MNIST-format data set to read.
enum class Split { train, test };

/// An MNIST-format directory (MNIST, Fashion-MNIST, KMNIST): {train,t10k}-{images-idx3,labels-idx1}-ubyte,
/// with or without .gz. ValueError naming the missing or malformed file; when the directory holds
/// no such files it says where Debian's data sets are.
Dataset load_mnist(const std::string& dir, Split split, DType dtype = DType::f32);

/// The number of classes a model trained on `train` and tested on `test` needs: the training set's
/// (its labels decide it), after checking that the two splits fit together. ValueError for a
/// training set without examples or pixels, images of different shapes, or a test label that is not
/// a training class.
int64_t check_splits(const Dataset& train, const Dataset& test);

/// Where Debian's dataset-fashion-mnist package puts the data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// x <- (x - mean) / std for every value.
void normalize(Dataset& data, double mean, double std);

}  // namespace tapegrad::nn
