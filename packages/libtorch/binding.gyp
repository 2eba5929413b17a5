{
  "targets": [
    {
      "target_name": "stcsnn_libtorch",
      "sources": [
        "src/addon.cc",
        "src/ops.cc",
        "src/stc.cc",
        "src/alloc.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/find-libtorch.js abi)",
        "STCSNN_HAS_CUDA=<!(node scripts/find-libtorch.js cuda)"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++20"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O3",
        "-fopenmp",
        "-fno-trapping-math",
        "-ffp-contract=off",
        "-fexceptions",
        "-frtti",
        "-Wno-unused-parameter",
        "-Wno-deprecated-declarations"
      ],
      "libraries": [
        "-L<!(node scripts/find-libtorch.js libdir)",
        "-Wl,-rpath,<!(node scripts/find-libtorch.js libdir)",
        "-fopenmp",
        "-ltorch",
        "-ltorch_cpu",
        "-lc10"
      ],
      "conditions": [
        [
          "'<!(node scripts/find-libtorch.js cuda)'=='1'",
          {
            "libraries": [
              "-Wl,--no-as-needed",
              "-ltorch_cuda",
              "-lc10_cuda",
              "-Wl,--as-needed"
            ]
          }
        ]
      ],
      "dependencies": [
        "stcsnn_dist"
      ]
    },
    {
      "target_name": "stcsnn_dist",
      "type": "static_library",
      "sources": [
        "src/dist.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js include)",
        "<!@(node scripts/find-libtorch.js glooinclude)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/find-libtorch.js abi)",
        "STCSNN_HAS_CUDA=<!(node scripts/find-libtorch.js cuda)",
        "STCSNN_HAS_GLOO=<!(node scripts/find-libtorch.js gloo)",
        "STCSNN_HAS_NCCL=<!(node scripts/find-libtorch.js nccl)"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++20"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O3",
        "-fno-trapping-math",
        "-ffp-contract=off",
        "-fexceptions",
        "-frtti",
        "-Wno-unused-parameter",
        "-Wno-deprecated-declarations",
        "-fPIC"
      ]
    }
  ]
}
