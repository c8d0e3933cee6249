// The dispatcher's table entry for one SIMD ISA, built from the functions that
// simd_kernels.inl and simd_attention.inl define. Included (inside an anonymous
// namespace) by each kernels_<isa>.cc after those two, so every ISA fills the
// table the same way.

const IsaKernels& make_table() {
  static const IsaKernels table = {
      kNr,
      pack_panel_any,
      linear_tile_simd,
      linear_tile_rows_simd,
      attention_rows_simd,
      kAttnBlockRows,
      /*wants_transposed_keys=*/true,
      attention_scratch_floats_simd,
      attention_query_simd,
      kQueryRowsAtOnce,
      layer_norm_row_simd,
      gelu_simd,
      add_simd,
      f16_to_f32_simd,
      f32_to_f16_simd,
      row_max_simd,
      sum_exp_simd,
      first_above_simd,
      exp_row_simd,
  };
  return table;
}
