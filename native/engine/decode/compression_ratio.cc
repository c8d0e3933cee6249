// zlib size estimator (see compression_ratio.h). The LZ77 parse follows
// zlib's deflate_slow at level 6 (max chain 128, lazy matching below length
// 16, chain cut to a quarter after a match of 8, stop at 128, no length-3
// matches farther than 4096); the block cost follows RFC 1951's formats.
#include "engine/decode/compression_ratio.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace wn {
namespace {

// zlib's MAX_DIST: the window (32 KiB) less its lookahead (258 + 3 + 1).
constexpr int kMaxDist = 32768 - 262;
constexpr int kMinMatch = 3, kMaxMatch = 258;
constexpr int kMaxChain = 128, kGoodLength = 8, kMaxLazy = 16, kNiceLength = 128;
constexpr int kTooFar = 4096;
constexpr int kLitCodes = 286, kDistCodes = 30, kBitLengthCodes = 19;

constexpr std::array<int, 29> kLengthBase = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                             15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                             67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::array<int, 29> kLengthExtra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                              2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<int, 30> kDistBase = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::array<int, 30> kDistExtra = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                            6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order in which code-length code lengths are sent (HCLEN trims its tail).
constexpr std::array<int, 19> kBitLengthOrder = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                 11, 4,  12, 3, 13, 2, 14, 1, 15};

int length_code(int length) {  // index into kLengthBase
  int code = 0;
  while (code + 1 < 29 && kLengthBase[code + 1] <= length) ++code;
  return code;
}
int distance_code(int distance) {
  int code = 0;
  while (code + 1 < 30 && kDistBase[code + 1] <= distance) ++code;
  return code;
}

// Symbol statistics of the LZ77 parse: what the block cost depends on.
struct SymbolCounts {
  std::array<int64_t, kLitCodes> lit{};
  std::array<int64_t, kDistCodes> dist{};
  int64_t extra_bits = 0;
  void literal(uint8_t byte) { lit[byte]++; }
  void match(int length, int distance) {
    const int lc = length_code(length), dc = distance_code(distance);
    lit[257 + lc]++;
    dist[dc]++;
    extra_bits += kLengthExtra[lc] + kDistExtra[dc];
  }
};

// zlib's deflate_slow parse, counting symbols instead of emitting them.
SymbolCounts lz77_parse(std::string_view data) {
  const int n = static_cast<int>(data.size());
  const auto byte = [&](int i) { return static_cast<uint8_t>(data[i]); };
  constexpr int kHashBits = 15;
  std::vector<int> head(1 << kHashBits, -1), prev(static_cast<size_t>(n), -1);
  const auto hash_at = [&](int i) {
    return ((byte(i) << 10) ^ (byte(i + 1) << 5) ^ byte(i + 2)) & ((1 << kHashBits) - 1);
  };
  const auto insert = [&](int i) {
    if (i + kMinMatch > n) return;
    const int h = hash_at(i);
    prev[i] = head[h];
    head[h] = i;
  };
  // Longest earlier match at i (not yet inserted), longer than `better_than`.
  const auto find = [&](int i, int better_than, int* best_len, int* best_dist) {
    *best_len = 0;
    *best_dist = 0;
    if (i + kMinMatch > n) return;
    // zlib marks "no earlier string" with position 0 (NIL), so its search
    // never reaches the text's first byte: a candidate must lie after 0 (and
    // after the window's far end), or the estimate finds matches zlib cannot.
    int cand = head[hash_at(i)];
    if (cand <= 0 || i - cand > kMaxDist) return;
    const int far_end = std::max(0, i - kMaxDist);
    int chain = better_than >= kGoodLength ? kMaxChain / 4 : kMaxChain;
    const int limit = std::min(kMaxMatch, n - i);
    int found = better_than;
    for (;;) {  // zlib's do-while: the first candidate, then up to chain - 1 more
      int len = 0;
      while (len < limit && data[cand + len] == data[i + len]) ++len;
      if (len > found) {
        found = len;
        *best_len = len;
        *best_dist = i - cand;
        if (len >= kNiceLength || len == limit) break;
      }
      cand = prev[cand];
      if (cand <= far_end || --chain == 0) break;
    }
    if (*best_len == kMinMatch && *best_dist > kTooFar) *best_len = 0;
    if (*best_len < kMinMatch) *best_len = 0;
  };

  SymbolCounts counts;
  bool have_prev = false;
  int prev_len = 0, prev_dist = 0;
  int i = 0;
  while (i < n) {
    int len = 0, dist = 0;
    if (!have_prev || prev_len < kMaxLazy)
      find(i, have_prev ? prev_len : kMinMatch - 1, &len, &dist);
    insert(i);
    if (have_prev && prev_len >= kMinMatch && len <= prev_len) {
      counts.match(prev_len, prev_dist);  // the match that starts at i - 1
      const int end = i - 1 + prev_len;
      for (int p = i + 1; p < end; ++p) insert(p);
      i = end;
      have_prev = false;
      prev_len = 0;
      continue;
    }
    if (have_prev) counts.literal(byte(i - 1));
    have_prev = true;
    prev_len = len;
    prev_dist = dist;
    ++i;
  }
  if (have_prev) counts.literal(byte(n - 1));
  counts.lit[256] = 1;  // end of block
  return counts;
}

// Huffman code lengths for freq, at most max_bits long. When the optimal code
// is too deep, frequencies are flattened and the code rebuilt (a small loss
// next to zlib's exact limiter, and rare for short texts). As zlib, a lone
// used symbol still gets a 1-bit code.
std::vector<int> huffman_lengths(const std::vector<int64_t>& freq, int max_bits) {
  std::vector<int64_t> f = freq;
  const size_t n = f.size();
  for (;;) {
    std::vector<int> lengths(n, 0);
    std::vector<int> parent;
    using Node = std::pair<int64_t, int>;  // (weight, node index)
    std::priority_queue<Node, std::vector<Node>, std::greater<Node>> queue;
    std::vector<int> leaf_of_node;
    for (size_t s = 0; s < n; ++s) {
      if (f[s] > 0) {
        queue.push({f[s], static_cast<int>(parent.size())});
        parent.push_back(-1);
        leaf_of_node.push_back(static_cast<int>(s));
      }
    }
    if (queue.empty()) return lengths;
    if (queue.size() == 1) {
      lengths[static_cast<size_t>(leaf_of_node[0])] = 1;
      return lengths;
    }
    const size_t n_leaves = parent.size();
    while (queue.size() > 1) {
      const Node a = queue.top();
      queue.pop();
      const Node b = queue.top();
      queue.pop();
      const int joined = static_cast<int>(parent.size());
      parent.push_back(-1);
      parent[static_cast<size_t>(a.second)] = joined;
      parent[static_cast<size_t>(b.second)] = joined;
      queue.push({a.first + b.first, joined});
    }
    int deepest = 0;
    for (size_t leaf = 0; leaf < n_leaves; ++leaf) {
      int depth = 0;
      for (int node = parent[leaf]; node >= 0; node = parent[static_cast<size_t>(node)]) ++depth;
      lengths[static_cast<size_t>(leaf_of_node[leaf])] = depth;
      deepest = std::max(deepest, depth);
    }
    if (deepest <= max_bits) return lengths;
    for (int64_t& w : f) {
      if (w > 0) w = (w + 1) / 2;
    }
  }
}

// zlib's scan_tree: run-length coding of one tree's code lengths into the
// code-length alphabet (16: repeat previous 3-6, 17: zeros 3-10, 18: zeros
// 11-138). Adds symbol counts to bl_freq and their extra bits to *extra.
void count_length_runs(const std::vector<int>& lengths, int n_codes, std::vector<int64_t>* bl_freq,
                       int64_t* extra) {
  int prev_len = -1, count = 0;
  int next_len = lengths[0];
  int max_count = next_len == 0 ? 138 : 7, min_count = next_len == 0 ? 3 : 4;
  for (int i = 0; i < n_codes; ++i) {
    const int cur_len = next_len;
    next_len = i + 1 < n_codes ? lengths[static_cast<size_t>(i + 1)] : -1;
    if (++count < max_count && cur_len == next_len) continue;
    if (count < min_count) {
      (*bl_freq)[static_cast<size_t>(cur_len)] += count;
    } else if (cur_len != 0) {
      if (cur_len != prev_len) (*bl_freq)[static_cast<size_t>(cur_len)]++;
      (*bl_freq)[16]++;
      *extra += 2;
    } else if (count <= 10) {
      (*bl_freq)[17]++;
      *extra += 3;
    } else {
      (*bl_freq)[18]++;
      *extra += 7;
    }
    count = 0;
    prev_len = cur_len;
    if (next_len == 0) {
      max_count = 138, min_count = 3;
    } else if (cur_len == next_len) {
      max_count = 6, min_count = 3;
    } else {
      max_count = 7, min_count = 4;
    }
  }
}

int64_t coded_bits(const std::vector<int64_t>& freq, const std::vector<int>& lengths) {
  int64_t bits = 0;
  for (size_t s = 0; s < freq.size(); ++s) bits += freq[s] * lengths[s];
  return bits;
}

int64_t dynamic_block_bits(const SymbolCounts& c) {
  const std::vector<int64_t> lit(c.lit.begin(), c.lit.end()), dist(c.dist.begin(), c.dist.end());
  const std::vector<int> lit_len = huffman_lengths(lit, 15);
  std::vector<int> dist_len = huffman_lengths(dist, 15);
  int n_lit = kLitCodes, n_dist = kDistCodes;
  while (n_lit > 257 && lit_len[static_cast<size_t>(n_lit - 1)] == 0) --n_lit;
  while (n_dist > 1 && dist_len[static_cast<size_t>(n_dist - 1)] == 0) --n_dist;
  std::vector<int64_t> bl_freq(kBitLengthCodes, 0);
  int64_t bits = 3 + 5 + 5 + 4;  // block header, HLIT, HDIST, HCLEN
  count_length_runs(lit_len, n_lit, &bl_freq, &bits);
  count_length_runs(dist_len, n_dist, &bl_freq, &bits);
  const std::vector<int> bl_len = huffman_lengths(bl_freq, 7);
  int n_bl = kBitLengthCodes;
  while (n_bl > 4 &&
         bl_len[static_cast<size_t>(kBitLengthOrder[static_cast<size_t>(n_bl - 1)])] == 0)
    --n_bl;
  bits += 3 * n_bl + coded_bits(bl_freq, bl_len);
  return bits + coded_bits(lit, lit_len) + coded_bits(dist, dist_len) + c.extra_bits;
}

int64_t fixed_block_bits(const SymbolCounts& c) {
  int64_t bits = 3 + c.extra_bits;
  for (int s = 0; s < kLitCodes; ++s) {
    const int len = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    bits += c.lit[static_cast<size_t>(s)] * len;
  }
  for (int64_t d : c.dist) bits += d * 5;
  return bits;
}

}  // namespace

size_t estimate_zlib_size(std::string_view data) {
  constexpr size_t kHeaderAndTrailer = 2 + 4;  // zlib header, Adler-32
  const SymbolCounts counts = lz77_parse(data);
  const int64_t huffman_bits = std::min(dynamic_block_bits(counts), fixed_block_bits(counts));
  const size_t huffman_bytes = static_cast<size_t>((huffman_bits + 7) / 8);
  // Stored blocks: up to 65535 bytes each, 5 bytes of header apiece.
  const size_t stored_bytes = data.size() + 5 * std::max<size_t>(1, (data.size() + 65534) / 65535);
  return kHeaderAndTrailer + std::min(huffman_bytes, stored_bytes);
}

double compression_ratio(std::string_view text) {
  if (text.empty()) return 0;
  return static_cast<double>(text.size()) / static_cast<double>(estimate_zlib_size(text));
}

}  // namespace wn
