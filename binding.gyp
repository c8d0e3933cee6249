# node-gyp build of the addon, for prebuildify (which drives node-gyp only).
# It compiles the same files as CMakeLists.txt: both read native/sources.cjs.
# Per-ISA kernel files need their own -m flags, which gyp cannot set per file,
# so each ISA group is a static library of its own that the addon links. The
# ISA groups follow gyp's target_arch (not the host's), as CMake's do: x64 gets
# AVX2 and AVX-512, arm64 NEON.
{
  'target_defaults': {
    'include_dirs': ['native'],
    # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: see CMakeLists.txt (a Worker
    # terminated with calls in flight must not abort the process).
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED',
                'NODE_ADDON_API_CPP_EXCEPTIONS_ALL', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'],
    'cflags_cc': ['-std=c++17', '-O3', '-fvisibility=hidden'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17', '-std=gnu++20'],
    'cflags!': ['-fno-exceptions'],
    'xcode_settings': {
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'GCC_ENABLE_CPP_RTTI': 'YES',
      'GCC_OPTIMIZATION_LEVEL': '3',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'MACOSX_DEPLOYMENT_TARGET': '11.0',
    },
    'msvs_settings': {
      'VCCLCompilerTool': {
        'ExceptionHandling': 1,
        'AdditionalOptions': ['/std:c++17', '/utf-8'],
      },
    },
  },
  'targets': [
    {
      'target_name': 'whisper_native',
      'sources': [
        '<!@(node native/sources.cjs list engine)',
        '<!@(node native/sources.cjs list binding)',
      ],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      'conditions': [
        ['target_arch=="x64"', {'dependencies': ['wn_kernels_avx2', 'wn_kernels_avx512']}],
        ['target_arch=="arm64"', {'dependencies': ['wn_kernels_neon']}],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'wn_kernels_avx2',
          'type': 'static_library',
          'sources': ['<!@(node native/sources.cjs list kernels_avx2)'],
          'cflags_cc': ['-mavx2', '-mfma', '-mf16c'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma', '-mf16c']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX2']}},
        },
        {
          'target_name': 'wn_kernels_avx512',
          'type': 'static_library',
          'sources': ['<!@(node native/sources.cjs list kernels_avx512)'],
          'cflags_cc': [
            '-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mavx2', '-mfma', '-mf16c',
          ],
          'xcode_settings': {
            'OTHER_CPLUSPLUSFLAGS': [
              '-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mavx2', '-mfma', '-mf16c',
            ],
          },
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX512']}},
        },
      ],
    }],
    ['target_arch=="arm64"', {
      'targets': [
        {
          'target_name': 'wn_kernels_neon',
          'type': 'static_library',
          'sources': ['<!@(node native/sources.cjs list kernels_neon)'],
        },
      ],
    }],
  ],
}
