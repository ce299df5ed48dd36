#include "routing/linear_model.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/file_write.h"

namespace triage::routing {
namespace {

constexpr char kMagic[8] = {'T', 'R', 'I', 'A', 'G', 'E', 'R', 'M'};

template <class T>
void Put(std::string* s, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  s->append(b, sizeof(T));
}

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  template <class T>
  bool Get(T* v) {
    if (pos_ + sizeof(T) > s_.size()) return false;
    std::memcpy(v, s_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  size_t pos() const { return pos_; }
  bool GetBytes(size_t n, std::string* out) {
    if (pos_ + n > s_.size()) return false;
    out->assign(s_.data() + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

// Second hash for double hashing: SplitMix64's finaliser, odd so that every probe differs.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) | 1;
}

constexpr uint32_t kFilterHashes = 7;
constexpr uint32_t kFilterBitsPerPrompt = 10;
constexpr uint32_t kMaxFilterBytes = 64u << 20;

Error Bad(const std::string& name, const std::string& why) {
  return Error::Make(ErrorKind::kInvalidRequest, "bad_model_file",
                     "model file " + name + ": " + why);
}

}  // namespace

uint64_t PromptFingerprint(std::string_view prompt_text) { return Fnv1a64(prompt_text); }

PromptFilter PromptFilter::Build(const std::vector<uint64_t>& fingerprints) {
  PromptFilter f;
  if (fingerprints.empty()) return f;
  f.hashes = kFilterHashes;
  f.count = static_cast<uint32_t>(fingerprints.size());
  const uint64_t nbits = std::max<uint64_t>(64, uint64_t{kFilterBitsPerPrompt} * f.count);
  f.bits.assign((nbits + 7) / 8, 0);
  const uint64_t m = f.bits.size() * 8;
  for (uint64_t fp : fingerprints) {
    const uint64_t step = Mix(fp);
    for (uint32_t i = 0; i < f.hashes; ++i) {
      const uint64_t b = (fp + i * step) % m;
      f.bits[b / 8] |= static_cast<uint8_t>(1u << (b % 8));
    }
  }
  return f;
}

bool PromptFilter::MayContain(uint64_t fp) const {
  if (bits.empty()) return false;
  const uint64_t m = bits.size() * 8, step = Mix(fp);
  for (uint32_t i = 0; i < hashes; ++i) {
    const uint64_t b = (fp + i * step) % m;
    if (!(bits[b / 8] & (1u << (b % 8)))) return false;
  }
  return true;
}

void LinearModel::SetHeads(uint32_t n) {
  heads = n;
  bias.fill(0.0f);
  weights.assign(static_cast<size_t>(kFeatureDim) * n, 0.0f);
}

double LinearModel::Margin(const SparseVec& x, uint32_t head) const {
  double z = bias[head];
  for (const auto& [i, v] : x) z += weights[i * heads + head] * v;
  return z;
}

double LinearModel::Probability(const SparseVec& x) const {
  auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  if (heads == 1) return sigmoid(Margin(x));
  // Both heads in one pass: their weights for an index share a cache line.
  double z0 = bias[0], z1 = bias[1];
  for (const auto& [i, v] : x) {
    z0 += weights[2 * i] * v;
    z1 += weights[2 * i + 1] * v;
  }
  return (sigmoid(z0) - sigmoid(z1) + 1.0) / 2.0;
}

double LinearModel::Score(const SparseVec& x, size_t prompt_chars) const {
  const double p = Probability(x);
  if (length_prior == 0.0f) return p;
  const double n = static_cast<double>(prompt_chars);
  return (1.0 - length_prior) * p + length_prior * n / (n + length_chars);
}

bool LinearModel::AllFinite() const {
  for (uint32_t h = 0; h < heads; ++h)
    if (!std::isfinite(bias[h])) return false;
  return std::all_of(weights.begin(), weights.end(), [](float w) { return std::isfinite(w); });
}

LinearModel CombineHeads(const LinearModel& strong, const LinearModel& cheap) {
  LinearModel m;
  m.kind = strong.kind;
  m.features = strong.features;
  m.SetHeads(2);
  m.bias[0] = strong.bias[0];
  m.bias[1] = cheap.bias[0];
  for (uint32_t i = 0; i < kFeatureDim; ++i) {
    m.Weight(i, 0) = strong.weights[i * strong.heads];
    m.Weight(i, 1) = cheap.weights[i * cheap.heads];
  }
  return m;
}

std::string SerializeModel(const LinearModel& m) {
  std::string s(kMagic, sizeof(kMagic));
  Put<uint32_t>(&s, kModelVersion);
  Put<uint32_t>(&s, static_cast<uint32_t>(m.kind));
  Put<uint32_t>(&s, kFeatureDim);
  Put<uint32_t>(&s, m.heads);
  Put<uint32_t>(&s, static_cast<uint32_t>(m.features));
  for (uint32_t h = 0; h < m.heads; ++h) Put<float>(&s, m.bias[h]);
  Put<float>(&s, m.length_prior);
  Put<float>(&s, m.length_chars);
  auto used = [&](uint32_t i) {
    for (uint32_t h = 0; h < m.heads; ++h) {
      if (std::fabs(m.weights[i * m.heads + h]) > 1e-6f) return true;
    }
    return false;
  };
  uint32_t nnz = 0;
  for (uint32_t i = 0; i < kFeatureDim; ++i) nnz += used(i);
  Put<uint32_t>(&s, nnz);
  for (uint32_t i = 0; i < kFeatureDim; ++i) {
    if (!used(i)) continue;
    Put<uint32_t>(&s, i);
    for (uint32_t h = 0; h < m.heads; ++h) Put<float>(&s, m.weights[i * m.heads + h]);
  }
  Put<uint32_t>(&s, static_cast<uint32_t>(m.note.size()));
  s += m.note;
  Put<uint32_t>(&s, m.trained_on.hashes);
  Put<uint32_t>(&s, m.trained_on.count);
  Put<uint32_t>(&s, static_cast<uint32_t>(m.trained_on.bits.size()));
  s.append(reinterpret_cast<const char*>(m.trained_on.bits.data()), m.trained_on.bits.size());
  Put<uint64_t>(&s, Fnv1a64(s));
  return s;
}

Result<LinearModel> ParseModel(const std::string& bytes, const std::string& name) {
  if (bytes.size() < sizeof(kMagic) + 8 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)))
    return Bad(name, "not a triage router model (bad magic)");
  Reader r(bytes);
  std::string magic;
  r.GetBytes(sizeof(kMagic), &magic);
  uint32_t version = 0, kind = 0, dim = 0, heads = 1, nnz = 0, note_len = 0;
  r.Get(&version);
  if (version < 1 || version > kModelVersion)
    return Bad(name, "unsupported version " + std::to_string(version) + " (this build reads 1 to " +
                         std::to_string(kModelVersion) + ")");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (stored != Fnv1a64(std::string_view(bytes).substr(0, bytes.size() - 8)))
    return Bad(name, "checksum mismatch (corrupt or truncated file)");
  LinearModel m;
  if (!r.Get(&kind) || !r.Get(&dim) || (version >= 2 && !r.Get(&heads)))
    return Bad(name, "truncated header");
  if (kind != 1 && kind != 2) return Bad(name, "unknown model kind " + std::to_string(kind));
  if (dim != kFeatureDim)
    return Bad(name, "feature dimension " + std::to_string(dim) + " does not match this build");
  if (heads < 1 || heads > kMaxHeads)
    return Bad(name, "unsupported head count " + std::to_string(heads));
  m.kind = static_cast<ModelKind>(kind);
  m.features = FeatureSet::kHead;
  if (version >= 4) {
    uint32_t set = 0;
    if (!r.Get(&set)) return Bad(name, "truncated header");
    if (set < 1 || set > kMaxFeatureSet)
      return Bad(name, "feature set " + std::to_string(set) +
                           " is not known to this build (it knows 1 to " +
                           std::to_string(kMaxFeatureSet) + "): a newer triage wrote it");
    m.features = static_cast<FeatureSet>(set);
  }
  m.SetHeads(heads);
  // Non-finite numbers pass the checksum (a diverged training wrote them) but make every score
  // NaN, which no threshold orders: refused here, so that no caller sees one.
  for (uint32_t h = 0; h < heads; ++h) {
    if (!r.Get(&m.bias[h])) return Bad(name, "truncated header");
    if (!std::isfinite(m.bias[h])) return Bad(name, "bias is not a finite number");
  }
  if (version >= 2 && (!r.Get(&m.length_prior) || !r.Get(&m.length_chars)))
    return Bad(name, "truncated header");
  if (!(m.length_prior >= 0.0f && m.length_prior <= 1.0f) ||
      !(m.length_chars > 0.0f && std::isfinite(m.length_chars)))
    return Bad(name, "length prior out of range");
  if (!r.Get(&nnz)) return Bad(name, "truncated header");
  for (uint32_t k = 0; k < nnz; ++k) {
    uint32_t i = 0;
    if (!r.Get(&i)) return Bad(name, "truncated weights");
    if (i >= dim) return Bad(name, "weight index out of range");
    for (uint32_t h = 0; h < heads; ++h) {
      if (!r.Get(&m.Weight(i, h))) return Bad(name, "truncated weights");
      if (!std::isfinite(m.Weight(i, h)))
        return Bad(name, "weight " + std::to_string(i) +
                             " is not a finite number (the training diverged?)");
    }
  }
  if (!r.Get(&note_len) || !r.GetBytes(note_len, &m.note)) return Bad(name, "truncated note");
  if (version >= 3) {
    uint32_t filter_bytes = 0;
    std::string raw;
    if (!r.Get(&m.trained_on.hashes) || !r.Get(&m.trained_on.count) || !r.Get(&filter_bytes) ||
        filter_bytes > kMaxFilterBytes || !r.GetBytes(filter_bytes, &raw))
      return Bad(name, "truncated training-prompt filter");
    if ((filter_bytes == 0) != (m.trained_on.hashes == 0) || m.trained_on.hashes > 32)
      return Bad(name, "inconsistent training-prompt filter");
    m.trained_on.bits.assign(raw.begin(), raw.end());
  }
  if (r.pos() + 8 != bytes.size()) return Bad(name, "trailing bytes");
  return m;
}

Result<LinearModel> ReadModelFile(const std::string& path) {
  // A directory opens and reads as nothing, which used to say "bad magic".
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Bad(path, "is a directory, not a model file");
  std::ifstream f(path, std::ios::binary);
  if (!f)  // errno says why: missing, a path through a file, permission
    return Error::Make(ErrorKind::kNotFound, "model_not_found",
                       "cannot open model file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  if (ss.str().empty()) return Bad(path, "the file is empty");
  return ParseModel(ss.str(), path);
}

Status WriteModelFile(const LinearModel& m, const std::string& path) {
  // Atomic: a failed write must not leave a cut model where a good one was, and a gateway
  // reloading the file must not read half of it.
  return WriteFileAtomically(path, SerializeModel(m));
}

}  // namespace triage::routing
