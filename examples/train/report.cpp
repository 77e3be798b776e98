#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace trainer {

std::string metrics_csv(const std::vector<EpochMetrics>& history) {
  std::string out = "epoch,train_loss,test_loss,test_accuracy,seconds\n";
  for (const auto& m : history)
    out +=
        fmt::format("{},{:.6f},{:.6f},{:.6f},{:.3f}\n", m.epoch, m.train_loss, m.test_loss, m.test_accuracy, m.seconds);
  return out;
}

namespace {
struct Panel {
  double x0, y0, w, h;  // pixels
  double lo, hi;        // value range
  int epochs;
  double px(int epoch) const { return x0 + w * (epochs <= 1 ? 0.5 : double(epoch - 1) / double(epochs - 1)); }
  double py(double v) const { return y0 + h * (1.0 - (v - lo) / (hi - lo)); }
};

std::string polyline(const Panel& p, const std::vector<EpochMetrics>& h, double EpochMetrics::*field,
                     const char* color) {
  std::string pts;
  for (const auto& m : h) pts += fmt::format("{:.1f},{:.1f} ", p.px(m.epoch), p.py(m.*field));
  std::string out = fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)", color, pts);
  for (const auto& m : h)
    out += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)", p.px(m.epoch), p.py(m.*field), color);
  return out + "\n";
}

std::string axes(const Panel& p, const char* label, bool percent) {
  std::string out =
      fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)", p.x0, p.y0, p.w, p.h);
  for (int i = 0; i <= 4; ++i) {
    const double v = p.lo + (p.hi - p.lo) * i / 4.0;
    const double y = p.py(v);
    out += fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#eee"/>)", p.x0, y, p.x0 + p.w, y);
    out += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="11" text-anchor="end">{}</text>)", p.x0 - 4, y + 4,
                       percent ? fmt::format("{:.1f}%", 100 * v) : fmt::format("{:.3f}", v));
  }
  const int step = std::max(1, p.epochs / 10);
  for (int e = 1; e <= p.epochs; e += step)
    out += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="11" text-anchor="middle">{}</text>)", p.px(e),
                       p.y0 + p.h + 14, e);
  out += fmt::format(R"(<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>)", p.x0 + p.w / 2, p.y0 - 8,
                     label);
  out += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">epoch</text>)", p.x0 + p.w / 2,
                     p.y0 + p.h + 30);
  return out + "\n";
}

std::pair<double, double> range_of(const std::vector<EpochMetrics>& h,
                                   std::initializer_list<double EpochMetrics::*> fs) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& m : h)
    for (auto f : fs) {
      lo = std::min(lo, m.*f);
      hi = std::max(hi, m.*f);
    }
  if (!(hi > lo)) hi = lo + 1e-3;
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}
}  // namespace

std::string curves_svg(const std::vector<EpochMetrics>& history, const std::string& title) {
  const int epochs = history.empty() ? 1 : history.back().epoch;
  auto [llo, lhi] = range_of(history, {&EpochMetrics::train_loss, &EpochMetrics::test_loss});
  auto [alo, ahi] = range_of(history, {&EpochMetrics::test_accuracy});
  const Panel loss{70, 50, 360, 250, llo, lhi, epochs}, acc{530, 50, 360, 250, alo, ahi, epochs};
  std::string out = R"(<svg xmlns="http://www.w3.org/2000/svg" width="920" height="360" font-family="sans-serif">)";
  out += "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += fmt::format(R"(<text x="460" y="22" font-size="15" text-anchor="middle">{}</text>)", title) + "\n";
  out += axes(loss, "loss (cross-entropy)", false) + axes(acc, "test accuracy", true);
  out += polyline(loss, history, &EpochMetrics::train_loss, "#1f77b4");
  out += polyline(loss, history, &EpochMetrics::test_loss, "#d62728");
  out += polyline(acc, history, &EpochMetrics::test_accuracy, "#2ca02c");
  out +=
      R"(<text x="80" y="70" font-size="12" fill="#1f77b4">train</text><text x="80" y="86" font-size="12" fill="#d62728">test</text>)";
  out += "\n</svg>\n";
  return out;
}

std::string confusion_csv(const std::vector<std::vector<long>>& counts) {
  std::string out = "true\\predicted";
  for (size_t j = 0; j < counts.size(); ++j) out += fmt::format(",{}", j);
  out += "\n";
  for (size_t i = 0; i < counts.size(); ++i) {
    out += fmt::format("{}", i);
    for (long c : counts[i]) out += fmt::format(",{}", c);
    out += "\n";
  }
  return out;
}

std::string confusion_text(const std::vector<std::vector<long>>& counts) {
  std::string out = "true \\ predicted";
  for (size_t j = 0; j < counts.size(); ++j) out += fmt::format("{:>6}", j);
  out += "\n";
  for (size_t i = 0; i < counts.size(); ++i) {
    out += fmt::format("{:>16}", i);
    for (long c : counts[i]) out += fmt::format("{:>6}", c);
    out += "\n";
  }
  return out;
}

}  // namespace trainer
