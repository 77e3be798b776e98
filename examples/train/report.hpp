#pragma once
// What the trainer leaves behind: metrics.csv, an SVG of the curves, the confusion matrix.
#include <string>
#include <vector>

namespace trainer {

struct EpochMetrics {
  int epoch;
  double train_loss, test_loss, test_accuracy, seconds;
};

/// metrics.csv: epoch,train_loss,test_loss,test_accuracy,seconds (accuracy as a fraction).
std::string metrics_csv(const std::vector<EpochMetrics>& history);
/// Two panels: train and test loss, and test accuracy, against the epoch.
std::string curves_svg(const std::vector<EpochMetrics>& history, const std::string& title);
/// counts[true][predicted] as CSV with a header row and column.
std::string confusion_csv(const std::vector<std::vector<long>>& counts);
/// The same as aligned text for the terminal.
std::string confusion_text(const std::vector<std::vector<long>>& counts);

}  // namespace trainer
