// Test helper: writes ggml Whisper model files in memory (REFERENCE.md §2), so
// tests can build small valid models for any hparams and then corrupt them one
// field at a time. The tensor list here is written independently of the
// loader's table on purpose: it is the test's own statement of the format.
//
// Not a model converter: tensor data is a deterministic pattern, not weights.
#pragma once

#include <array>
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
  int32_t type;             // ggml type id
  std::vector<int32_t> ne;  // ggml order
  int64_t data_bytes = -1;  // bytes of data to write; -1: what type and shape need
};

struct TestModel {
  Header header;
  int32_t n_mel = 80;
  int32_t n_fft = 201;
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
    const float v = (i % m.n_fft == (i / m.n_fft) + 1) ? 0.025f : 0.0f;  // one bin per row
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

}  // namespace wn_test
