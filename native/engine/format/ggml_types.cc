// The ggml tensor types a Whisper file may hold, and how many bytes each takes
// (REFERENCE.md §2). One table; the parser and the weight binder both read it.
// Whether a type can be *run* is not decided here (model/weights.cc).
#include <cstdint>

#include "engine/format/ggml_file.h"

namespace wn {

namespace {

struct TypeInfo {
  GgmlType type;
  const char* name;
  int64_t block_elements;  // elements per block (1 for the float types)
  uint64_t block_bytes;    // bytes per block
};

// Block sizes follow ggml's block structs: a quantized block of 32 stores an
// f16 scale (and an f16 min or sum for the _1 variants) then the packed
// values; K-quants use superblocks of 256.
constexpr TypeInfo kTypes[] = {
    {GgmlType::kF32, "f32", 1, 4},       {GgmlType::kF16, "f16", 1, 2},
    {GgmlType::kQ4_0, "q4_0", 32, 18},   {GgmlType::kQ4_1, "q4_1", 32, 20},
    {GgmlType::kQ5_0, "q5_0", 32, 22},   {GgmlType::kQ5_1, "q5_1", 32, 24},
    {GgmlType::kQ8_0, "q8_0", 32, 34},   {GgmlType::kQ8_1, "q8_1", 32, 36},
    {GgmlType::kQ2_K, "q2_K", 256, 84},  {GgmlType::kQ3_K, "q3_K", 256, 110},
    {GgmlType::kQ4_K, "q4_K", 256, 144}, {GgmlType::kQ5_K, "q5_K", 256, 176},
    {GgmlType::kQ6_K, "q6_K", 256, 210},
};

const TypeInfo* find_type(GgmlType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return &info;
  }
  return nullptr;
}

}  // namespace

const char* ggml_type_name(GgmlType type) {
  const TypeInfo* info = find_type(type);
  return info ? info->name : "unknown";
}

bool ggml_type_is_quantized(GgmlType type) {
  const TypeInfo* info = find_type(type);
  return info != nullptr && info->block_elements > 1;
}

bool ggml_type_bytes(GgmlType type, int64_t n_elements, uint64_t* bytes) {
  const TypeInfo* info = find_type(type);
  if (info == nullptr || n_elements < 0 || n_elements % info->block_elements != 0) return false;
  const uint64_t blocks = (uint64_t)(n_elements / info->block_elements);
  if (blocks != 0 && info->block_bytes > UINT64_MAX / blocks) return false;
  *bytes = blocks * info->block_bytes;
  return true;
}

}  // namespace wn
