// Test helper: writes ggml Whisper model files in memory (REFERENCE.md §2), so
// tests can build small valid models for any hparams and then corrupt them one
// field at a time. The tensor list here is written independently of the
// loader's table on purpose: it is the test's own statement of the format.
//
// Tensor data is a deterministic pattern, or given bytes: quantize_model()
// re-writes a parsed model with its matrices quantized (a test quantizer with
// ggml's block layouts, written here apart from the engine's kernels/quant.h),
// and the same model with those matrices as the f32 values the blocks stand for.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/f16.h"
#include "engine/format/ggml_file.h"

namespace wn_test {

// The 11 header fields, in file order (index i is at byte 4 + 4 * i).
enum HeaderField {
  kNVocab,
  kNAudioCtx,
  kNAudioState,
  kNAudioHead,
  kNAudioLayer,
  kNTextCtx,
  kNTextState,
  kNTextHead,
  kNTextLayer,
  kNMels,
  kFtype,
  kHeaderFields
};
using Header = std::array<int32_t, kHeaderFields>;

inline const char* header_field_name(int i) {
  static const char* const names[kHeaderFields] = {
      "n_vocab",      "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
      "n_text_state", "n_text_head", "n_text_layer",  "n_mels",       "ftype"};
  return names[i];
}

struct TestTensor {
  std::string name;
  int32_t type;                     // ggml type id
  std::vector<int32_t> ne;          // ggml order
  int64_t data_bytes = -1;          // bytes of data to write; -1: what type and shape need
  std::vector<uint8_t> bytes = {};  // when not empty: the data, written as is
};

struct TestModel {
  Header header;
  int32_t n_mel = 80;
  int32_t n_fft = 201;
  std::vector<float> filters;  // n_mel * n_fft values; empty: one bin per row
  std::vector<std::string> tokens;
  std::vector<TestTensor> tensors;

  TestTensor* find(const std::string& name) {
    for (TestTensor& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

// Where each part landed in the written bytes, for byte-level corruption.
struct TestLayout {
  size_t mel_header = 0;        // n_mel, n_fft
  size_t filters = 0;           // the n_mel * n_fft floats
  size_t vocab = 0;             // the token count
  std::vector<size_t> records;  // start of each tensor record
  std::vector<size_t> data;     // start of each record's data
};

// A model with every tensor Whisper needs, shaped from the header. Matrices
// and convolutions are f16 unless ftype is 0 (all f32).
inline TestModel make_test_model(const Header& h) {
  TestModel m;
  m.header = h;
  m.n_mel = h[kNMels];
  const int32_t f32 = 0, wtype = h[kFtype] == 0 ? 0 : 1;
  const int32_t da = h[kNAudioState], dt = h[kNTextState];
  auto add = [&](const std::string& name, int32_t type, std::vector<int32_t> ne) {
    m.tensors.push_back({name, type, std::move(ne)});
  };
  auto linear = [&](const std::string& p, int32_t in, int32_t out, bool bias) {
    add(p + ".weight", wtype, {in, out});
    if (bias) add(p + ".bias", f32, {out});
  };
  auto norm = [&](const std::string& p, int32_t d) {
    add(p + ".weight", f32, {d});
    add(p + ".bias", f32, {d});
  };
  auto attention = [&](const std::string& p, int32_t d) {
    linear(p + ".query", d, d, true);
    linear(p + ".key", d, d, false);
    linear(p + ".value", d, d, true);
    linear(p + ".out", d, d, true);
  };
  add("encoder.positional_embedding", f32, {da, h[kNAudioCtx]});
  add("encoder.conv1.weight", wtype, {3, h[kNMels], da});
  add("encoder.conv1.bias", f32, {1, da});
  add("encoder.conv2.weight", wtype, {3, da, da});
  add("encoder.conv2.bias", f32, {1, da});
  for (int i = 0; i < h[kNAudioLayer]; ++i) {
    const std::string p = "encoder.blocks." + std::to_string(i);
    attention(p + ".attn", da);
    norm(p + ".attn_ln", da);
    linear(p + ".mlp.0", da, 4 * da, true);
    linear(p + ".mlp.2", 4 * da, da, true);
    norm(p + ".mlp_ln", da);
  }
  norm("encoder.ln_post", da);
  add("decoder.positional_embedding", f32, {dt, h[kNTextCtx]});
  add("decoder.token_embedding.weight", wtype, {dt, h[kNVocab]});
  for (int i = 0; i < h[kNTextLayer]; ++i) {
    const std::string p = "decoder.blocks." + std::to_string(i);
    attention(p + ".attn", dt);
    norm(p + ".attn_ln", dt);
    attention(p + ".cross_attn", dt);
    norm(p + ".cross_attn_ln", dt);
    linear(p + ".mlp.0", dt, 4 * dt, true);
    linear(p + ".mlp.2", 4 * dt, dt, true);
    norm(p + ".mlp_ln", dt);
  }
  norm("decoder.ln", dt);
  // Stored tokens: fewer than n_vocab, as in the real .en files.
  const int n_tokens = h[kNVocab] > 2 ? h[kNVocab] - 2 : 0;
  for (int i = 0; i < n_tokens; ++i) m.tokens.push_back(i == 0 ? " " : "tok" + std::to_string(i));
  return m;
}

// d = 8, 2 heads, one block each side, 20-token vocabulary, f16 weights. Its
// mlp.2 weights have rows of 32, so they can hold a quantized type too.
inline TestModel tiny_test_model(int32_t ftype = 1) {
  return make_test_model({20, 6, 8, 2, 1, 5, 8, 2, 1, 80, ftype});
}

inline void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back((uint8_t)(v >> (8 * i)));
}
inline void put_i32(std::vector<uint8_t>& out, int32_t v) {
  put_u32(out, (uint32_t)v);
}
// Overwrites the int32 at `offset` (little-endian).
inline void poke_i32(std::vector<uint8_t>& bytes, size_t offset, int32_t v) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = (uint8_t)((uint32_t)v >> (8 * i));
}

// Tensor data: a deterministic pattern of small values of the tensor's type.
// A shape or type made invalid on purpose gets 4 bytes per element, or none
// when the element count is not a sensible number.
inline void put_tensor_data(std::vector<uint8_t>& out, const TestTensor& t, uint32_t seed) {
  if (!t.bytes.empty()) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return;
  }
  int64_t n = 1;
  for (int32_t d : t.ne) {
    if (d < 1 || n > (int64_t(1) << 40) / d) {
      n = 0;
      break;
    }
    n *= d;
  }
  uint64_t bytes = 0;
  const wn::GgmlType type = static_cast<wn::GgmlType>(t.type);
  if (!wn::ggml_type_bytes(type, n, &bytes)) bytes = (uint64_t)n * 4;
  if (t.data_bytes >= 0) bytes = (uint64_t)t.data_bytes;
  for (uint64_t i = 0; i < bytes;) {
    const float v = (float)((int)((i * 2654435761u + seed) % 2001) - 1000) / 4000.0f;
    if (type == wn::GgmlType::kF32) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      put_u32(out, bits);
      i += 4;
    } else if (type == wn::GgmlType::kF16) {
      const uint16_t h = wn::f32_to_f16(v);
      out.push_back((uint8_t)h);
      out.push_back((uint8_t)(h >> 8));
      i += 2;
    } else {
      out.push_back((uint8_t)(i * 31 + seed));
      i += 1;
    }
  }
}

inline std::vector<uint8_t> write_test_model(const TestModel& m, TestLayout* layout = nullptr) {
  TestLayout local;
  TestLayout& at = layout ? *layout : local;
  std::vector<uint8_t> out;
  put_u32(out, 0x67676d6c);
  for (int32_t v : m.header) put_i32(out, v);
  at.mel_header = out.size();
  put_i32(out, m.n_mel);
  put_i32(out, m.n_fft);
  at.filters = out.size();
  for (int i = 0; i < m.n_mel * m.n_fft; ++i) {
    const float v = !m.filters.empty()                   ? m.filters[i]
                    : (i % m.n_fft == (i / m.n_fft) + 1) ? 0.025f  // one bin per row
                                                         : 0.0f;
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put_u32(out, bits);
  }
  at.vocab = out.size();
  put_i32(out, (int32_t)m.tokens.size());
  for (const std::string& tok : m.tokens) {
    put_u32(out, (uint32_t)tok.size());
    out.insert(out.end(), tok.begin(), tok.end());
  }
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TestTensor& t = m.tensors[i];
    at.records.push_back(out.size());
    put_i32(out, (int32_t)t.ne.size());
    put_i32(out, (int32_t)t.name.size());
    put_i32(out, t.type);
    for (int32_t d : t.ne) put_i32(out, d);
    out.insert(out.end(), t.name.begin(), t.name.end());
    at.data.push_back(out.size());
    put_tensor_data(out, t, (uint32_t)i);
  }
  return out;
}

// --- a test quantizer ---------------------------------------------------------
//
// ggml's blocks of 32 weights (REFERENCE.md §2; ggml's dequantize_row_q*):
// f16 d, [f16 m for q4_1/q5_1], [4 bytes qh for q5: bit e = the fifth bit of
// weight e], then qs: q8_0 32 int8; the others 16 bytes, byte j holding weight
// j in its low nibble and weight j + 16 in its high one. Weight = (q - 8) d
// (q4_0), (q - 16) d (q5_0), q d (q8_0), or q d + m (q4_1, q5_1).

// whisper.cpp's file type (the header's ftype) of a file whose matrices are `type`.
inline int32_t whisper_ftype(wn::GgmlType type) {
  switch (type) {
    case wn::GgmlType::kQ4_0:
      return 2;
    case wn::GgmlType::kQ4_1:
      return 3;
    case wn::GgmlType::kQ8_0:
      return 7;
    case wn::GgmlType::kQ5_0:
      return 8;
    case wn::GgmlType::kQ5_1:
      return 9;
    default:
      return 1;
  }
}

// Quantizes 32 weights x into one block appended to out (round to nearest,
// scales as ggml's reference quantizers choose them), and stores in `values`
// the weights the block stands for.
inline void quantize_block(wn::GgmlType type, const float* x, std::vector<uint8_t>& out,
                           float* values) {
  using wn::GgmlType;
  const bool has_min = type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1;
  const int bits = type == GgmlType::kQ8_0                              ? 8
                   : type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1 ? 4
                                                                        : 5;
  float lo = x[0], hi = x[0], widest = x[0];
  for (int e = 1; e < 32; ++e) {
    lo = std::min(lo, x[e]);
    hi = std::max(hi, x[e]);
    if (std::fabs(x[e]) > std::fabs(widest)) widest = x[e];
  }
  float d, m = 0.0f;
  int q_min, q_max, offset = 0;
  if (bits == 8) {
    d = std::fabs(widest) / 127.0f;
    q_min = -128;
    q_max = 127;
  } else if (has_min) {
    d = (hi - lo) / (float)((1 << bits) - 1);
    m = lo;
    q_min = 0;
    q_max = (1 << bits) - 1;
  } else {  // the widest weight gets the extreme level -2^(bits-1)
    offset = 1 << (bits - 1);
    d = widest / (float)-offset;
    q_min = 0;
    q_max = (1 << bits) - 1;
  }
  const uint16_t d_bits = wn::f32_to_f16(d), m_bits = wn::f32_to_f16(m);
  const float dd = wn::f16_to_f32(d_bits), mm = wn::f16_to_f32(m_bits);
  int q[32];
  for (int e = 0; e < 32; ++e) {
    const long level = dd != 0.0f ? std::lround((x[e] - mm) / dd) : 0;
    q[e] = (int)std::min<long>(q_max, std::max<long>(q_min, level + offset));
    values[e] = has_min ? (float)q[e] * dd + mm : (float)(q[e] - offset) * dd;
  }
  out.push_back((uint8_t)d_bits);
  out.push_back((uint8_t)(d_bits >> 8));
  if (has_min) {
    out.push_back((uint8_t)m_bits);
    out.push_back((uint8_t)(m_bits >> 8));
  }
  if (bits == 5) {
    uint32_t qh = 0;
    for (int e = 0; e < 32; ++e) qh |= (uint32_t)((q[e] >> 4) & 1) << e;
    put_u32(out, qh);
  }
  if (bits == 8) {
    for (int e = 0; e < 32; ++e) out.push_back((uint8_t)(int8_t)q[e]);
  } else {
    for (int j = 0; j < 16; ++j) out.push_back((uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4));
  }
}

// A parsed model re-written twice: `quantized` with every f16 matrix (the 2-D
// f16 tensors: Linear weights and the token embedding; the convolutions are
// 3-D and stay f16, as in whisper.cpp's files) quantized to `type` and the
// header's ftype saying so (version 2), and `dequantized` with those
// matrices as f32 holding exactly the values the blocks stand for (an f16
// file with f32 matrices). Everything else is copied.
struct QuantizedPair {
  std::vector<uint8_t> quantized, dequantized;
};

inline QuantizedPair quantize_model(const wn::ModelFile& src, wn::GgmlType type) {
  const wn::HParams& h = src.hparams;
  TestModel q;
  q.header = {h.n_vocab,
              h.n_audio_ctx,
              h.n_audio_state,
              h.n_audio_head,
              h.n_audio_layer,
              h.n_text_ctx,
              h.n_text_state,
              h.n_text_head,
              h.n_text_layer,
              h.n_mels,
              2000 + whisper_ftype(type)};
  q.n_mel = src.n_mel_filters;
  q.n_fft = src.n_fft_bins;
  q.filters = src.mel_filters;
  q.tokens = src.vocab;
  TestModel f = q;
  f.header[kFtype] = 1;
  for (const wn::TensorView& t : src.tensors) {
    TestTensor tq{t.name, (int32_t)t.type, {}};
    for (int d = 0; d < t.n_dims; ++d) tq.ne.push_back((int32_t)t.ne[d]);
    TestTensor tf = tq;
    if (t.type == wn::GgmlType::kF16 && t.n_dims == 2) {
      tq.type = (int32_t)type;
      tf.type = (int32_t)wn::GgmlType::kF32;
      const int64_t n = t.n_elements();
      std::vector<float> x(32), values(32);
      tf.bytes.reserve((size_t)n * 4);
      for (int64_t b = 0; b < n / 32; ++b) {
        for (int e = 0; e < 32; ++e) {
          uint16_t half;
          std::memcpy(&half, t.data + 2 * (b * 32 + e), 2);
          x[e] = wn::f16_to_f32(half);
        }
        quantize_block(type, x.data(), tq.bytes, values.data());
        const uint8_t* v = reinterpret_cast<const uint8_t*>(values.data());
        tf.bytes.insert(tf.bytes.end(), v, v + 32 * 4);
      }
    } else {
      tq.bytes.assign(t.data, t.data + t.nbytes);
      tf.bytes = tq.bytes;
    }
    q.tensors.push_back(std::move(tq));
    f.tensors.push_back(std::move(tf));
  }
  QuantizedPair out;
  out.quantized = write_test_model(q);
  q.tensors.clear();
  out.dequantized = write_test_model(f);
  return out;
}

}  // namespace wn_test
