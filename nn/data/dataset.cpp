#include "nn/data/dataset.hpp"

#include <algorithm>
#include <filesystem>

#include "autodiff/error.hpp"
#include "nn/data/idx.hpp"

namespace tapegrad::nn {

int64_t Dataset::num_classes() const {
  return labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
}

int64_t check_splits(const Dataset& train, const Dataset& test) {
  if (train.size() == 0 || train.features() == 0)
    raise<ValueError>("the training set has no {}", train.size() == 0 ? "examples" : "pixels");
  if (!(train.image_shape == test.image_shape) || train.features() != test.features())
    raise<ValueError>("the training images are {} and the test images {}: they must match", train.image_shape,
                      test.image_shape);
  const int64_t classes = train.num_classes();
  for (size_t i = 0; i < test.labels.size(); ++i)
    if (test.labels[i] < 0 || test.labels[i] >= classes)
      raise<ValueError>("test example {} has label {}, but the training set's labels are 0 to {}", i, test.labels[i],
                        classes - 1);
  return classes;
}

namespace {
std::string find_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* ext : {".gz", ""}) {
    const fs::path p = fs::path(dir) / (stem + ext);
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  if (!fs::is_directory(dir, ec))
    raise<ValueError>(
        "data directory '{}' does not exist. Fashion-MNIST: `apt-get install dataset-fashion-mnist` installs it in {}; "
        "or pass any directory holding the four MNIST-format files",
        dir, kFashionMnistDir);
  raise<ValueError>(
      "data directory '{}' has no {}(.gz): it needs train-images-idx3-ubyte, train-labels-idx1-ubyte, "
      "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (MNIST format, gzip optional). Fashion-MNIST: "
      "`apt-get install dataset-fashion-mnist` installs them in {}",
      dir, stem, kFashionMnistDir);
}
}  // namespace

Dataset load_mnist(const std::string& dir, Split split, DType dtype) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  const IdxData images = read_idx(images_path);
  const IdxData labels = read_idx(labels_path);
  if (images.dims.size() != 3)
    raise<ValueError>("IDX file '{}': images need 3 dimensions (count, rows, columns), got {}", images_path,
                      images.dims.size());
  if (labels.dims.size() != 1)
    raise<ValueError>("IDX file '{}': labels need 1 dimension, got {}", labels_path, labels.dims.size());
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    raise<ValueError>("'{}' has {} images but '{}' has {} labels", images_path, n, labels_path, labels.dims[0]);
  if (n == 0) raise<ValueError>("IDX file '{}' holds no images", images_path);
  Dataset out;
  out.image_shape = Shape{images.dims[1], images.dims[2]};
  const int64_t features = images.dims[1] * images.dims[2];
  out.images = Array(Shape{n, features}, dtype);
  visit(dtype, [&]<class T>(T) {
    T* dst = out.images.data<T>();
    for (size_t i = 0; i < images.bytes.size(); ++i) dst[i] = static_cast<T>(images.bytes[i]) / T(255);
  });
  out.labels.assign(labels.bytes.begin(), labels.bytes.end());
  return out;
}

void normalize(Dataset& data, double mean, double std) {
  if (!(std > 0.0)) raise<ValueError>("normalize: std must be positive, got {}", std);
  visit(data.images.dtype(), [&]<class T>(T) {
    T* p = data.images.data<T>();
    const T m = static_cast<T>(mean), inv = static_cast<T>(1.0 / std);
    for (int64_t i = 0; i < data.images.numel(); ++i) p[i] = (p[i] - m) * inv;
  });
}

}  // namespace tapegrad::nn
