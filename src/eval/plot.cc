#include "eval/plot.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace triage::eval {
namespace {

constexpr double kW = 640, kH = 440, kL = 60, kR = 20, kT = 40, kB = 50;

std::string Path(const std::vector<CurvePoint>& c, double qlo, double qhi) {
  std::ostringstream o;
  char buf[64];
  for (size_t i = 0; i < c.size(); ++i) {
    double x = kL + c[i].strong_fraction * (kW - kL - kR);
    double y = kH - kB - (c[i].quality - qlo) / (qhi - qlo) * (kH - kT - kB);
    std::snprintf(buf, sizeof buf, "%s%.1f,%.1f ", i ? "L" : "M", x, y);
    o << buf;
  }
  return o.str();
}

// Text for SVG content: router specs are file paths and may hold & or <.
std::string Escape(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

constexpr const char* kColours[] = {"#e76f51", "#264653", "#e9c46a", "#8338ec",
                                    "#3a86ff", "#fb5607", "#6a994e", "#bc4749"};

// The picture: axes, the random and oracle references, then each (label, report) curve with
// its deciles and a legend entry. `heading` is the title line.
std::string Svg(const std::vector<std::pair<std::string, const BenchReport*>>& curves,
                const std::vector<CurvePoint>& oracle, const std::string& heading) {
  const BenchReport& r = *curves.front().second;
  double qlo = std::min(r.q_cheap, r.q_strong), qhi = std::max(r.q_cheap, r.q_strong);
  for (const auto& c : oracle) qhi = std::max(qhi, c.quality);
  for (const auto& [label, rep] : curves)
    for (const auto& c : rep->fine) {
      qlo = std::min(qlo, c.quality);
      qhi = std::max(qhi, c.quality);
    }
  double pad = std::max(0.01, (qhi - qlo) * 0.05);
  qlo -= pad;
  qhi += pad;
  std::ostringstream o;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
                "height=\"100%%\" fill=\"white\"/>\n",
                kW, kH);
  o << buf;
  o << "<text x=\"" << kL << "\" y=\"24\" font-size=\"14\">" << Escape(heading) << "</text>\n";
  // Axes with ticks every 10% of strong calls.
  for (int k = 0; k <= 10; ++k) {
    double x = kL + k / 10.0 * (kW - kL - kR);
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d%%</text>\n",
                  x, kT, x, kH - kB, x, kH - kB + 16, k * 10);
    o << buf;
  }
  for (int k = 0; k <= 5; ++k) {
    double q = qlo + k / 5.0 * (qhi - qlo);
    double y = kH - kB - k / 5.0 * (kH - kT - kB);
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n",
                  kL, y, kW - kR, y, kL - 6, y + 4, q);
    o << buf;
  }
  o << "<text x=\"" << (kW / 2) << "\" y=\"" << (kH - 12)
    << "\" text-anchor=\"middle\">share of calls to the strong model (cost)</text>\n";
  o << "<text x=\"14\" y=\"" << (kH / 2) << "\" transform=\"rotate(-90 14 " << (kH / 2)
    << ")\" text-anchor=\"middle\">quality</text>\n";
  std::vector<CurvePoint> random{{0, r.q_cheap}, {1, r.q_strong}};
  o << "<path d=\"" << Path(random, qlo, qhi)
    << "\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"6 4\"/>\n";
  o << "<path d=\"" << Path(oracle, qlo, qhi) << "\" fill=\"none\" stroke=\"#2a9d8f\"/>\n";
  const size_t n = std::size(kColours);
  for (size_t k = 0; k < curves.size(); ++k) {
    const char* colour = kColours[k % n];
    o << "<path d=\"" << Path(curves[k].second->fine, qlo, qhi) << "\" fill=\"none\" stroke=\""
      << colour << "\" stroke-width=\"2\"/>\n";
    for (const auto& c : curves[k].second->deciles) {
      double x = kL + c.strong_fraction * (kW - kL - kR);
      double y = kH - kB - (c.quality - qlo) / (qhi - qlo) * (kH - kT - kB);
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x,
                    y, colour);
      o << buf;
    }
  }
  // Legend, bottom right: the curves, then the references.
  // Right-aligned so that long specs grow leftwards, inside the picture.
  const double lx = kW - kR - 6, ly = kH - kB - 16.0 * (curves.size() + 2) - 8;
  auto legend = [&](size_t row, const char* colour, const std::string& text) {
    o << "<text x=\"" << lx << "\" y=\"" << ly + 16.0 * row << "\" text-anchor=\"end\" fill=\""
      << colour << "\">" << Escape(text) << "</text>\n";
  };
  for (size_t k = 0; k < curves.size(); ++k) legend(k, kColours[k % n], curves[k].first);
  legend(curves.size(), "#2a9d8f", "oracle");
  legend(curves.size() + 1, "#999", "random");
  o << "</svg>\n";
  return o.str();
}

std::string Apgr(const BenchReport& r) {
  return "APGR " + (r.pgr_defined ? Fixed(true, r.apgr, 0, 3) : std::string("n/a"));
}

}  // namespace

std::vector<CurvePoint> OracleCurve(const std::vector<const Query*>& qs) {
  std::vector<double> s, cheap, strong;
  for (const Query* q : qs) {
    s.push_back(q->strong - q->cheap);
    cheap.push_back(q->cheap);
    strong.push_back(q->strong);
  }
  return FineCurve(s, cheap, strong);
}

std::string PlotSvg(const BenchReport& r, const std::vector<CurvePoint>& oracle,
                    const std::string& title) {
  return Svg({{"router (" + Apgr(r) + ")", &r}}, oracle,
             title + " \u2014 " + r.name + " (" + Apgr(r) + ")");
}

std::string PlotSvgCompare(const std::vector<std::pair<std::string, BenchReport>>& routers,
                           const std::vector<CurvePoint>& oracle) {
  std::vector<std::pair<std::string, const BenchReport*>> curves;
  for (const auto& [spec, rep] : routers) curves.emplace_back(spec + " (" + Apgr(rep) + ")", &rep);
  return Svg(curves, oracle,
             std::to_string(routers.size()) + " routers \u2014 " + routers.front().second.name +
                 " (" + std::to_string(routers.front().second.queries) + " queries)");
}

}  // namespace triage::eval
